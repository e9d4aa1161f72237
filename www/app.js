// The demo dashboard: one Tether client, a status indicator and a live panel
// per demo topic. Built against the web-target SDK in ./pkg.
import init, { Tether } from "./pkg/tether_ws.js";

const TOPICS = ["miners", "alerts", "system", "metrics"];

await init();
const wsUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
const client = new Tether(wsUrl, { backoff: { initialMs: 500, maxMs: 8000 } });
window.tether = client; // for poking at it from the console

const el = (id) => document.getElementById(id);
let status = client.status;

function describe(s) {
  switch (s.state) {
    case "open": return s.rttMs == null ? "" : `rtt ${s.rttMs} ms`;
    case "reconnecting": {
      const secs = s.nextRetryAt == null ? 0 : Math.max(0, Math.ceil((s.nextRetryAt - Date.now()) / 1000));
      return `attempt ${s.attempt}, next try in ${secs} s`;
    }
    case "connecting": return s.attempt > 0 ? `attempt ${s.attempt}` : "";
    case "failed": return s.lastError ?? (s.lastClose ? `closed ${s.lastClose.code} ${s.lastClose.reason}` : "");
    default: return "";
  }
}

function render() {
  el("status").dataset.state = status.state;
  el("state").textContent = status.state;
  el("detail").textContent = describe(status);
}

client.onStatus((s) => { status = s; render(); });
setInterval(render, 250); // the countdown moves between status events
render();
el("retry").addEventListener("click", () => client.reconnect());

for (const topic of TOPICS) {
  const panel = document.createElement("section");
  panel.className = "panel";
  panel.innerHTML = `<h2>${topic} <small data-role="meta">waiting…</small></h2><pre data-role="data"></pre>`;
  el("panels").append(panel);
  const sub = client.subscribe(topic, (p) => {
    panel.querySelector("[data-role=meta]").textContent = `#${p.offset} ${p.timestamp.slice(11, 19)}`;
    panel.querySelector("[data-role=data]").textContent = JSON.stringify(p.data, null, 1);
  });
  sub.onState((e) => {
    if (e.state !== "subscribed") panel.querySelector("[data-role=meta]").textContent = e.state;
  });
}
