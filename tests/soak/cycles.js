// The reconnect cycles of the SDK soak on a plain page (tests/soak/run.mjs,
// Playwright: the client and the baseline): the same cycles on the same
// code. Driven by events rather than by polling timers (each timer leaves
// a few bytes of heap): a state `s` per client (SDK) or per plain
// WebSocket (baseline); waits resolve on the events that satisfy them.
function until(s, what, cond) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 10000);
    const check = () => {
      if (cond()) { clearTimeout(timer); resolve(); } else s.waiters.push(check);
    };
    check();
  });
}
function wake(s) { const w = s.waiters; s.waiters = []; for (const f of w) f(); }
async function post(url, body) {
  const r = await fetch(url, { method: "POST", body });
  const answer = await r.json();
  if (!r.ok) throw new Error(`${url}: ${r.status} ${JSON.stringify(answer)}`);
  return answer;
}
// Cycle n: odd ones cut by the network side (the proxy resets the link),
// even ones by the client (`leave`); then a publication, made while the
// client is away or coming back; then wait until it is open again,
// resubscribed, and has the publication. `s` counts opens, departures,
// `subscribed` frames and the last offset received.
async function cycle(s, n, leave) {
  const [opens, left, subscribed] = [s.opens, s.left, s.subscribed];
  if (n % 2 === 1) {
    await post(`${s.control}/proxy/cut?name=${s.proxy}`, "");
    await until(s, `cut ${n} noticed`, () => s.left > left);
  } else {
    leave();
  }
  const body = `{"topic":"miners","data":{"n":${n}}}`;
  const offset = (await post(`${s.control}/server/publish?name=${s.server}`, body)).offset;
  await until(s, `open, resubscribed and publication ${offset} after cycle ${n}`,
    () => s.opens > opens && s.subscribed > subscribed && s.last >= offset);
}
export function soak_start(client, control, server, proxy) {
  const s = { client, control, server, proxy, waiters: [], opens: 0, left: 0,
    subscribed: 0, replays: 0, got: 0, last: 0, disorder: [] };
  s.offStatus = client.onStatus((st) => { if (st.state === "open") s.opens++; else s.left++; wake(s); });
  s.sub = client.subscribe("miners", (p) => {
    if (p.offset !== s.last + 1 && s.disorder.length < 10) s.disorder.push(`${p.offset} after ${s.last}`);
    s.last = p.offset;
    s.got++;
    wake(s);
  });
  s.sub.onState((e) => {
    if (e.state === "subscribed") {
      s.subscribed++;
      if (e.recovered === true && e.missed >= 1) s.replays++;
    }
    wake(s);
  });
  return until(s, "open and subscribed", () => s.opens > 0 && s.subscribed > 0).then(() => s);
}
export function soak_cycle(s, n) { return cycle(s, n, () => s.client.reconnect()); }
export function soak_stop(s) {
  s.offStatus();
  s.client.close();
  return { got: s.got, last: s.last, replays: s.replays, disorder: s.disorder.join(", ") };
}
// The baseline: a plain WebSocket doing by hand what the client does in a
// cycle (the protocol in docs/PROTOCOL.md): the same sockets, backoff,
// frames, fetches and waits, so what Chromium keeps for those shows in both
// runs alike.
// On open it subscribes, recovering from the last position it saw; a link
// cut by the network is retried after the client's backoff (a constant 20
// ms); a client-forced cycle drops the link and opens the next at once.
function rawOpen(r) {
  const ws = new WebSocket(r.url);
  r.ws = ws;
  ws.onmessage = (e) => {
    const f = JSON.parse(e.data);
    if (f.type === "connection_established") {
      r.opens++;
      const from = r.epoch === undefined ? "" : `,"recover":{"epoch":"${r.epoch}","offset":${r.last}}`;
      ws.send(`{"type":"subscribe","id":${++r.ids},"topic":"miners"${from}}`);
    } else if (f.type === "subscribed") {
      r.epoch = f.epoch;
      r.last = Math.max(r.last, f.offset - f.missed);
      r.subscribed++;
    } else if (f.type === "publication") {
      r.last = f.offset;
      r.got++;
    }
    wake(r);
  };
  ws.onclose = () => {
    r.left++;
    wake(r);
    setTimeout(() => rawOpen(r), 20);
  };
}
function rawReconnect(r) {
  const ws = r.ws;
  ws.onmessage = ws.onclose = null;
  ws.close();
  r.left++;
  rawOpen(r);
}
export function raw_start(url, control, server, proxy) {
  const r = { url, control, server, proxy, waiters: [], opens: 0, left: 0, subscribed: 0,
    got: 0, last: 0, ids: 0, epoch: undefined };
  rawOpen(r);
  return until(r, "open and subscribed", () => r.opens > 0 && r.subscribed > 0).then(() => r);
}
export function raw_cycle(r, n) { return cycle(r, n, () => rawReconnect(r)); }
export function raw_stop(r) {
  r.ws.onmessage = r.ws.onclose = null;
  r.ws.close();
  return { got: r.got };
}
