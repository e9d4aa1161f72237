// The bench page: run.mjs drives it through `window.bench` (Playwright).
//
// micro(opts): the receive path with no network. The SDK (served under
//   /sdk/) gets a fake WebSocket through its `WebSocket` option; the fake
//   answers the handshake, then the timed loop calls the handler the client
//   installed (`fake.onmessage`) with `{data: text}` for every publication
//   text. Baseline on the same texts: JSON.parse + Map.get(topic) +
//   callback.
// e2eConnect(url, variant) / snap(): publications from the real server,
//   counted in the app's callback; the socket's message handler is timed
//   (whoever installs it: the SDK, reconnecting-websocket or the raw code).

import { ReconnectingWebSocket } from "/peers/reconnecting-websocket.js";
import { TOPICS, EPOCH, messages, publicationTexts } from "/messages.js";
import { Tether, ready } from "/sdk/index.js";

await ready;
const RealWebSocket = globalThis.WebSocket;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- app side

// What the app does with a publication, identical in every variant: one
// callback per topic, counting and touching the message.
let delivered = 0;
let sink = 0;
let onCount = null; // e2e: progress report every 1024 messages
function topicCallback(topic) {
  return (p) => {
    delivered++;
    sink += p.offset;
    if (onCount !== null && (delivered & 1023) === 0) onCount(delivered);
  };
}

// The hand-written alternative: JSON.parse, Map lookup by topic, callback.
// `send` is only used for the handshake of the end-to-end variants.
function rawHandler(handlers, onControl) {
  return (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "publication") {
      const cb = handlers.get(m.topic);
      if (cb !== undefined) cb(m);
    } else if (onControl !== undefined) {
      onControl(m);
    }
  };
}

async function until(what, cond, ms = 10000) {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

// ---------------------------------------------------------------- fake socket

const ESTABLISHED = JSON.stringify({
  type: "connection_established", protocol: 1, client_id: "c_bench",
  timestamp: "2026-11-22T10:00:00.000Z", heartbeat_interval: 3600.0,
  available_topics: TOPICS,
  server_info: { name: "fake", version: "0", features: ["topics", "recovery", "heartbeat", "rpc"] },
});

class FakeWebSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static last = null;
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.protocol = "";
    this.extensions = "";
    this.binaryType = "blob";
    this.bufferedAmount = 0;
    this.readyState = 0;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    this.listeners = { open: [], message: [], close: [], error: [] };
    FakeWebSocket.last = this;
    setTimeout(() => {
      this.readyState = 1;
      this.emit("open", { type: "open" });
      this.emit("message", { type: "message", data: ESTABLISHED });
    }, 0);
  }
  emit(type, event) {
    const on = this["on" + type];
    if (on) on.call(this, event);
    for (const l of this.listeners[type]) l.call(this, event);
  }
  addEventListener(type, l) { this.listeners[type]?.push(l); }
  removeEventListener(type, l) {
    const ls = this.listeners[type];
    if (ls && ls.includes(l)) ls.splice(ls.indexOf(l), 1);
  }
  // Answers later, never from inside the client's own call.
  send(text) {
    const m = JSON.parse(text);
    let reply = null;
    if (m.type === "subscribe") {
      reply = { type: "subscribed", id: m.id, topic: m.topic, epoch: EPOCH, offset: 0,
        recovered: m.recover ? false : null, missed: 0 };
    } else if (m.type === "ping") {
      reply = { type: "pong", id: m.id, server_time: new Date().toISOString() };
    } else if (m.type === "unsubscribe") {
      reply = { type: "unsubscribed", id: m.id, topic: m.topic };
    }
    if (reply) setTimeout(() => this.emit("message", { type: "message", data: JSON.stringify(reply) }), 0);
  }
  close(code = 1000, reason = "") {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.emit("close", { type: "close", code, reason, wasClean: true }), 0);
  }
}

// ---------------------------------------------------------------- micro

// Each returns the handler to time, and a cleanup.
const microSetup = {
  async tether() {
    FakeWebSocket.last = null;
    const t = new Tether("ws://fake.invalid/ws", { WebSocket: FakeWebSocket });
    const subs = TOPICS.map((topic) => t.subscribe(topic, topicCallback(topic)));
    await until("the SDK's subscriptions (fake socket)", () => subs.every((s) => s.state === "subscribed"));
    const fake = FakeWebSocket.last;
    if (typeof fake?.onmessage !== "function") throw new Error("the SDK installed no onmessage on the fake socket");
    return { handler: fake.onmessage, done: () => t.free() };
  },
  async raw() {
    const handlers = new Map(TOPICS.map((topic) => [topic, topicCallback(topic)]));
    return { handler: rawHandler(handlers), done: () => {} };
  },
  async rws() {
    const handlers = new Map(TOPICS.map((topic) => [topic, topicCallback(topic)]));
    FakeWebSocket.last = null;
    const rws = new ReconnectingWebSocket("ws://fake.invalid/ws", [], {
      WebSocket: FakeWebSocket, maxRetries: 0, startClosed: false,
    });
    rws.addEventListener("message", rawHandler(handlers, () => {}));
    await until("reconnecting-websocket open (fake socket)", () => rws.readyState === 1);
    const fake = FakeWebSocket.last;
    const handler = fake.listeners.message[0];
    if (typeof handler !== "function") throw new Error("reconnecting-websocket installed no message listener");
    return { handler, done: () => rws.close() };
  },
};

// One run: a fresh client per variant, then the texts in chunks of 1000,
// variants interleaved chunk by chunk (order alternating), so a slow phase of
// the machine hits every variant alike. Returns ms per variant.
async function microRun(variants, texts, chunk, k) {
  const clients = {};
  for (const v of variants) clients[v] = await microSetup[v]();
  const ms = Object.fromEntries(variants.map((v) => [v, 0]));
  try {
    for (let c = 0, from = 0; from < texts.length; c++, from += chunk) {
      const to = Math.min(texts.length, from + chunk);
      const order = (c + k) % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        const handler = clients[v].handler;
        const before = delivered;
        const t0 = performance.now();
        for (let i = from; i < to; i++) handler({ data: texts[i] });
        ms[v] += performance.now() - t0;
        if (delivered - before !== to - from) {
          throw new Error(`${v}: ${delivered - before} of ${to - from} publications reached the callback`);
        }
      }
    }
  } finally {
    for (const v of variants) clients[v].done();
  }
  return ms;
}

/**
 * The receive path: every variant handles the same reps x 1000 publication
 * texts per run (each variant its own fresh client), interleaved by chunks
 * of 1000; medians over runs.
 */
async function micro({ reps = 10, runs = 15, warmup = 3, variants = ["tether", "raw", "rws"] } = {}) {
  const msgs = messages(1000);
  const texts = publicationTexts(msgs, reps);
  const bytes = texts.reduce((a, t) => a + t.length, 0) / texts.length;
  for (let w = 0; w < warmup; w++) await microRun(variants, texts, msgs.length, w);
  const ms = Object.fromEntries(variants.map((v) => [v, []]));
  const deadline = performance.now() + 120000;
  for (let k = 0; k < runs && performance.now() < deadline; k++) {
    await sleep(10);
    const r = await microRun(variants, texts, msgs.length, k);
    for (const v of variants) ms[v].push(r[v]);
  }
  return {
    messages_per_run: texts.length, distinct_messages: msgs.length, topics: TOPICS.length,
    avg_text_bytes: Math.round(bytes), sample_text: texts[0], run_ms: ms,
    cross_origin_isolated: globalThis.crossOriginIsolated === true, sink,
  };
}

// ---------------------------------------------------------------- end to end

let busyMs = 0;
let handled = 0;
function timed(f) {
  return function (e) {
    const t0 = performance.now();
    try {
      return f.call(this, e);
    } finally {
      busyMs += performance.now() - t0;
      handled++;
    }
  };
}

// A real WebSocket whose message handler, whoever installs it and however
// (onmessage or addEventListener), is timed.
class TimedWebSocket extends RealWebSocket {
  #wrapped = new Map();
  set onmessage(f) { super.onmessage = typeof f === "function" ? timed(f) : f; }
  get onmessage() { return super.onmessage; }
  addEventListener(type, f, o) {
    if (type === "message" && typeof f === "function") {
      const w = timed(f);
      this.#wrapped.set(f, w);
      return super.addEventListener(type, w, o);
    }
    return super.addEventListener(type, f, o);
  }
  removeEventListener(type, f, o) {
    return super.removeEventListener(type, this.#wrapped.get(f) ?? f, o);
  }
}

let live = null;

async function e2eConnect(url, variant) {
  delivered = 0;
  onCount = (n) => globalThis.__progress?.(n);
  const handlers = new Map(TOPICS.map((topic) => [topic, topicCallback(topic)]));
  if (variant === "tether") {
    const t = new Tether(url, { WebSocket: TimedWebSocket });
    const subs = TOPICS.map((topic) => t.subscribe(topic, handlers.get(topic)));
    await until("the SDK's subscriptions", () => subs.every((s) => s.state === "subscribed"));
    live = { close: () => t.free() };
  } else {
    let subscribed = 0;
    let sock;
    const onControl = (m) => {
      if (m.type === "connection_established") {
        TOPICS.forEach((topic, i) => sock.send(JSON.stringify({ type: "subscribe", id: i + 1, topic })));
      } else if (m.type === "subscribed") {
        subscribed++;
      } else if (m.type === "error") {
        console.error("server error", m);
      }
    };
    if (variant === "raw") {
      sock = new TimedWebSocket(url);
      sock.onmessage = rawHandler(handlers, onControl);
    } else if (variant === "rws") {
      sock = new ReconnectingWebSocket(url, [], { WebSocket: TimedWebSocket, maxRetries: 0 });
      sock.addEventListener("message", rawHandler(handlers, onControl));
    } else {
      throw new Error(`unknown variant ${variant}`);
    }
    await until(`${variant}: subscriptions`, () => subscribed === TOPICS.length);
    live = { close: () => sock.close() };
  }
  busyMs = 0;
  handled = 0;
  return { crossOriginIsolated: globalThis.crossOriginIsolated === true };
}

function snap() {
  return { now: performance.now(), delivered, busyMs, handled };
}

function e2eClose() {
  onCount = null;
  live?.close();
  live = null;
}

// Unattended end-to-end run (no DevTools session on this page, see run.mjs):
// the query says what to do, results go back to run.mjs by POST.
async function e2eUnattended(q) {
  const run = q.get("run");
  // Diagnostics (BENCH_COUNT_TIMERS=1): count the timer calls made while the
  // window runs (the bench's own two sleeps included).
  const timers = { set: 0, clear: 0 };
  if (q.get("count_timers") === "1") {
    const st = globalThis.setTimeout;
    const ct = globalThis.clearTimeout;
    globalThis.setTimeout = function (...a) { timers.set++; return st.apply(this, a); };
    globalThis.clearTimeout = function (...a) { timers.clear++; return ct.apply(this, a); };
  }
  const post = (what, body) => fetch(`/e2e/${what}?run=${run}`, { method: "POST", body: JSON.stringify(body) });
  try {
    globalThis.__progress = (n) => { post("progress", { n }).catch(() => {}); };
    const info = await e2eConnect(q.get("ws"), q.get("variant"));
    await post("ready", info);
    await sleep(Number(q.get("warmup")));
    const a = { ...snap(), timers: { ...timers } };
    post("mark", { which: "a" }).catch(() => {});
    await sleep(Number(q.get("window")));
    const b = { ...snap(), timers: { ...timers } };
    await post("mark", { which: "b" }).catch(() => {});
    e2eClose();
    await post("result", { a, b });
  } catch (e) {
    await post("result", { error: String(e?.stack ?? e) }).catch(() => {});
  }
}

window.bench = { micro, e2eConnect, snap, e2eClose };
window.benchReady = true;
const query = new URLSearchParams(location.search);
if (query.has("run")) e2eUnattended(query);
