// The SDK in Node >= 20: the built entry imports without flags (and is
// inert without a WebSocket: server-side rendering), and a live client
// using the `ws` package through the `WebSocket` option survives a
// server restart. Run by scripts/test.sh: node --test js/test/*.test.mjs
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import WebSocket from "ws";
import { SDK_DIR, control, startControl } from "./harness.mjs";

const entry = join(SDK_DIR, "index.js");
let ctl;
before(async () => {
  ctl = await startControl();
});
after(async () => {
  await ctl?.stop();
});

test("imports in plain Node without flags; without a WebSocket it is inert (SSR)", async () => {
  const script = `
    const m = await import(${JSON.stringify(entry)});
    await m.ready;
    const t = new m.Tether("ws://127.0.0.1:9/ws");
    const sub = t.subscribe("miners", () => {});
    console.log(JSON.stringify({ exports: Object.keys(m).sort(), state: t.state, sub: sub.state, sent: t.send("x") }));
  `;
  // The process must also exit by itself: no socket, no timer left.
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { timeout: 20_000 });
  assert.equal(stderr, "");
  assert.deepEqual(JSON.parse(stdout), { exports: ["RequestError", "Subscription", "Tether", "ready"], state: "idle", sub: "pending", sent: false });
});

test("a live Node client (ws) subscribes, receives and survives a server restart", async () => {
  const { Tether, ready } = await import(entry);
  await ready;
  const { ws } = await control(ctl.url, "/server/start?name=v2-node");
  const logs = [];
  const t = new Tether(ws, { WebSocket, backoff: { initialMs: 100, maxMs: 300 }, logger: (level, message) => logs.push(`${level} ${message}`) });
  const got = [];
  const events = [];
  const waiters = [];
  let resubscribed;
  const check = () => waiters.splice(0).forEach((w) => (w() ? null : waiters.push(w)));
  const until = (what, pred) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 20_000);
    const w = () => pred() && (clearTimeout(timer), resolve(), true);
    if (!w()) waiters.push(w);
  });
  t.onStatus(check);
  const sub = t.subscribe("miners", (p) => (got.push(p.data.n), check()));
  sub.onState((e) => (events.push([e.state, e.recovered]), check()));
  try {
    await until("subscribed", () => sub.state === "subscribed");
    await control(ctl.url, "/server/publish?name=v2-node", JSON.stringify({ topic: "miners", data: { n: 1 } }));
    await until("publication 1", () => got.includes(1));
    await control(ctl.url, "/server/kill?name=v2-node");
    await until("reconnecting", () => t.state === "reconnecting");
    await control(ctl.url, "/server/start?name=v2-node");
    await until("open again, resubscribed", () => t.state === "open" && events.length >= 3 && events.at(-1)[0] === "subscribed");
    resubscribed = events.at(-1);
    await control(ctl.url, "/server/publish?name=v2-node", JSON.stringify({ topic: "miners", data: { n: 2 } }));
    await until("publication 2", () => got.includes(2));
  } finally {
    t.close();
    t.free();
  }
  assert.deepEqual(got, [1, 2]);
  // The restarted server lost its history: recovery is reported impossible.
  assert.deepEqual(resubscribed, ["subscribed", false]);
  assert.ok(logs.includes("info attempt") && logs.includes("info open") && logs.includes("info retry scheduled"), logs.join("\n"));
  assert.ok(logs.some((l) => l === "info closed"), logs.join("\n"));
});

test("history on load against the real server: rewind gives the last N then live; since continues from a saved position", async () => {
  const { Tether, ready } = await import(entry);
  await ready;
  const { ws } = await control(ctl.url, "/server/start?name=node-history");
  const publish = (n) => control(ctl.url, "/server/publish?name=node-history", JSON.stringify({ topic: "alerts", data: { n } }));
  for (let n = 1; n <= 6; n++) await publish(n);
  const waiters = [];
  const check = () => waiters.splice(0).forEach((w) => (w() ? null : waiters.push(w)));
  const until = (what, pred) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 20_000);
    const w = () => pred() && (clearTimeout(timer), resolve(), true);
    if (!w()) waiters.push(w);
  });
  const a = new Tether(ws, { WebSocket });
  const b = new Tether(ws, { WebSocket });
  try {
    const got = [];
    const sub = a.subscribe("alerts", (p) => (got.push(p.offset), check()), { rewind: 2 });
    await until("the last 2", () => got.length === 2);
    await publish(7);
    await until("7 live", () => got.length === 3);
    assert.deepEqual(got, [5, 6, 7]);
    const saved = sub.position;
    await publish(8);
    await until("8", () => got.length === 4);
    const later = [];
    b.subscribe("alerts", (p) => (later.push(p.offset), check()), { since: saved });
    await until("8 replayed", () => later.length === 1);
    assert.deepEqual(later, [8]);
  } finally {
    a.free();
    b.free();
    await control(ctl.url, "/server/kill?name=node-history");
  }
});

test("lastError names an HTTP refusal where the runtime tells it (Node's ws: the status), and the URL", async () => {
  const { Tether, ready } = await import(entry);
  await ready;
  const { ws } = await control(ctl.url, "/server/start?name=node-refused");
  const wrong = ws.replace(/\/ws$/, "/nope");
  const statuses = [];
  let settled;
  const failed = new Promise((resolve) => (settled = resolve));
  const t = new Tether(wrong, { WebSocket, backoff: { maxAttempts: 0 } });
  t.onStatus((st) => (statuses.push(st), st.state === "failed" && settled()));
  try {
    let timer;
    await Promise.race([failed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("no failed status")), 20_000)))]);
    clearTimeout(timer);
    const last = statuses.at(-1);
    assert.equal(last.lastError, `refused: 404 (${wrong})`, JSON.stringify(statuses));
    assert.equal(typeof last.lastErrorAt, "number");
  } finally {
    t.free();
    await control(ctl.url, "/server/kill?name=node-refused");
  }
});
