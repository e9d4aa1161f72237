// SPIKE: a rough but realistic thin facade (the README's API) over the
// wasm, for measuring its minified gzip size. It performs, never decides:
// listener sets, the objects handed to callbacks, option validation,
// request promises, holding calls until the wasm is ready. "bridge" is
// aliased at bundle time to the binding style's glue.
import init, * as w from "bridge";
import { R } from "registry";

const STATES = ["idle", "connecting", "open", "reconnecting", "offline", "closed", "failed"];
const SUB_STATES = ["pending", "subscribed", "unsubscribed", "failed"];
const ERRORS = [
  ["timeout", "request timed out"],
  ["link_lost", "connection lost before the reply"],
  ["closed", "client closed"],
  ["queue_full", "send queue full"],
  ["not_an_object", "request() takes a JSON object"],
];
const SHAPE = {
  autoConnect: "b", mode: ["tether", "raw"], protocols: 0, tokenProvider: "f",
  connectTimeoutMs: "ms", stableAfterMs: "ms0", WebSocket: "f", logger: "f",
  backoff: { initialMs: "ms0", maxMs: "ms0", factor: "factor", jitter: ["full", "equal", "none"], maxAttempts: "n?" },
  heartbeat: { intervalMs: "ms?", timeoutMs: "ms" },
  queue: { maxMessages: "n", maxBytes: "n" },
  raw: { pingMessage: 0, pongType: "s" },
};
const browser = typeof window !== "undefined" && typeof WebSocket !== "undefined";
const fail = (m) => {
  throw new TypeError(m);
};

// Checks `o` against `shape`; copies what the wasm needs into `flat`.
function check(o, shape, prefix, flat) {
  if (o == null) return;
  if (typeof o !== "object" || Array.isArray(o)) fail(`${prefix || "options "}must be an object`);
  for (const [k, v] of Object.entries(o)) {
    const kind = shape[k];
    const name = prefix + k;
    if (kind === undefined) fail(`unknown option ${name}`);
    if (v === undefined) continue;
    if (Array.isArray(kind)) {
      if (!kind.includes(v)) fail(`${name} must be one of ${kind.join(", ")}`);
    } else if (typeof kind === "object") {
      if (k === "heartbeat" && v === false) flat.heartbeat = false;
      else check(v, kind, k + ".", flat);
      continue;
    } else if (kind === "b" && typeof v !== "boolean") fail(`${name} must be a boolean`);
    else if (kind === "f" && typeof v !== "function") fail(`${name} must be a function`);
    else if (kind === "s" && typeof v !== "string") fail(`${name} must be a string`);
    else if (kind === "factor" && !(Number.isFinite(v) && v >= 1)) fail(`${name} must be a finite number >= 1`);
    else if (kind.startsWith("ms") && !(v === null && kind === "ms?")) {
      if (typeof v !== "number" || !Number.isFinite(v) || !(v > 0 || (kind === "ms0" && v === 0))) {
        fail(`${name} must be a finite number of milliseconds ${kind === "ms0" ? ">=" : ">"} 0`);
      }
    } else if (kind.startsWith("n") && !(v === null && kind === "n?") && !(Number.isSafeInteger(v) && v >= 0)) {
      fail(`${name} must be a non-negative integer`);
    }
    if (typeof v !== "function" && kind) flat[k] = typeof v === "number" ? Math.round(v * 1000) / 1000 : v;
  }
}

function parseOptions(url, options = {}) {
  const urls = Array.isArray(url) ? url : [url];
  if (!urls.length || urls.some((u) => typeof u !== "string" || !/^wss?:\/\//.test(u))) {
    fail("url must be a ws:// or wss:// URL string, or an array of them");
  }
  const flat = {};
  check(options, SHAPE, "", flat);
  let protocols = options.protocols ?? [];
  if (typeof protocols === "string") protocols = [protocols];
  if (!Array.isArray(protocols) || protocols.some((p) => typeof p !== "string")) fail("protocols must be an array of strings");
  let ping = options.raw?.pingMessage;
  if (ping !== undefined && typeof ping !== "string") ping = JSON.stringify(ping);
  // Named fields for the wasm; repeated "url" keys keep their order.
  let json = JSON.stringify({ ...flat, url: undefined, mode: undefined, raw: options.mode === "raw" || undefined,
    token: options.tokenProvider ? true : undefined, offline: browser && !navigator.onLine ? true : undefined,
    pingMessage: ping, autoConnect: browser ? flat.autoConnect ?? true : false });
  json = json.slice(0, -1) + urls.map((u) => `,"url":${JSON.stringify(u)}`).join("") + "}";
  return { json, protocols };
}

const listen = (set, fn) => {
  if (typeof fn !== "function") fail("listener must be a function");
  const entry = { fn };
  set.add(entry);
  return () => void set.delete(entry);
};

export let ready;
let loaded = false;
const waiting = [];
function load() {
  ready ??= init().then(() => {
    R.w = w;
    loaded = true;
    for (const f of waiting.splice(0)) f();
  });
  return ready;
}

export class Tether {
  #c = -1;
  #status;
  #statusL = new Set();
  #messageL = new Set();
  #typeL = new Map();
  #topics = new Map();
  #requests = new Map();
  #logger;
  #options;
  #freed = false;

  constructor(url, options) {
    const parsed = parseOptions(url, options);
    this.#options = options ?? {};
    this.#logger = this.#options.logger;
    this.WebSocket = this.#options.WebSocket;
    this.#status = this.#makeStatus(parsed.json.includes('"autoConnect":true') ? 1 : 0, 0, -1, -1, 0, performance.now(), -1, "", false, "", "");
    if (!browser && !this.WebSocket) return;
    load();
    this.#call(() => {
      this.#c = w.create(parsed.json);
      R.c.set(this.#c, this);
    });
  }

  // Runs `f` now if the wasm is ready, else once it is.
  #call(f) {
    if (this.#freed) return;
    if (loaded) f();
    else waiting.push(() => this.#freed || f());
  }

  #log(level, message, data) {
    try {
      this.#logger?.(level, message, data);
    } catch {}
  }

  #emit(set, ...args) {
    for (const { fn } of [...set]) {
      try {
        fn(...args);
      } catch (e) {
        console.error("tether-ws: a listener threw", e);
      }
    }
  }

  #makeStatus(s, attempt, next, rtt, queued, since, code, reason, clean, error, clientId) {
    const epoch = Date.now() - performance.now();
    return Object.freeze({
      state: STATES[s],
      attempt,
      nextRetryAt: next < 0 ? null : Math.round(epoch + next),
      lastClose: code < 0 ? null : { code, reason, wasClean: clean },
      lastError: error || null,
      rttMs: rtt < 0 ? null : rtt,
      clientId: clientId || null,
      queued,
      since: Math.round(epoch + since),
    });
  }

  _status(...a) {
    const prev = this.#status;
    this.#status = this.#makeStatus(...a);
    if (prev.state !== this.#status.state) this.#log("info", this.#status.state, this.#status);
    this.#emit(this.#statusL, this.#status);
  }

  _sub(topic, state, recovered, missed, error) {
    const t = this.#topics.get(topic);
    if (!t) return;
    t.event = Object.freeze({ state: SUB_STATES[state], recovered: recovered === 2 ? null : !!recovered, missed, error: error || null });
    this.#emit(t.stateL, t.event);
  }

  _failed(key, e) {
    const r = this.#requests.get(key);
    if (!r) return;
    this.#requests.delete(key);
    const err = Object.assign(new Error(ERRORS[e][1]), { code: ERRORS[e][0], reply: null });
    this.#log("warn", "request failed", err);
    r[1](err);
  }

  _token(sid) {
    Promise.resolve()
      .then(() => this.#options.tokenProvider())
      .then(
        (t) => this.#c >= 0 && w.token_ok(this.#c, sid, String(t)),
        (e) => {
          this.#log("warn", "token provider failed", e);
          if (this.#c >= 0) w.token_err(this.#c, sid);
        },
      );
  }

  _deliver(verdict, data) {
    let frame = data;
    if (typeof data === "string") {
      try {
        frame = JSON.parse(data);
      } catch {}
    }
    const kind = verdict % 8;
    if (kind === 1) {
      const t = this.#topics.get(frame.topic);
      if (t) this.#emit(t.callbacks, frame);
    } else if (kind === 2) {
      this.#emit(this.#messageL, frame);
      const set = frame && this.#typeL.get(frame.type);
      if (set) this.#emit(set, frame);
    } else {
      const key = (verdict - kind) / 8;
      const r = this.#requests.get(key);
      if (!r) return;
      this.#requests.delete(key);
      if (kind === 3) r[0](frame);
      else r[1](Object.assign(new Error(frame.message ?? "error reply"), { code: frame.code ?? null, reply: frame }));
    }
  }

  get status() {
    return this.#status;
  }
  get state() {
    return this.#status.state;
  }
  connect() {
    this.#call(() => w.connect(this.#c));
  }
  reconnect() {
    this.#call(() => w.reconnect(this.#c));
  }
  close(code = 1000, reason = "") {
    this.#call(() => w.close(this.#c, code, String(reason)));
  }
  send(msg) {
    const text = typeof msg === "string" ? msg : JSON.stringify(msg);
    if (!loaded) return this.#call(() => w.send(this.#c, text)), true;
    return w.send(this.#c, text);
  }
  request(msg, { timeoutMs = 10000 } = {}) {
    return new Promise((resolve, reject) => {
      this.#call(() => {
        const key = w.request(this.#c, JSON.stringify(msg), timeoutMs);
        if (key < 0) {
          const [code, message] = ERRORS[-key - 1];
          reject(Object.assign(new Error(message), { code, reply: null }));
        } else this.#requests.set(key, [resolve, reject]);
      });
    });
  }
  onStatus(fn) {
    return listen(this.#statusL, fn);
  }
  onMessage(fn) {
    return listen(this.#messageL, fn);
  }
  on(type, fn) {
    let set = this.#typeL.get(type);
    if (!set) this.#typeL.set(type, (set = new Set()));
    return listen(set, fn);
  }
  subscribe(topic, fn, { recover = true } = {}) {
    if (typeof topic !== "string" || !topic) fail("topic must be a non-empty string");
    let t = this.#topics.get(topic);
    if (!t) {
      this.#topics.set(topic, (t = { callbacks: new Set(), stateL: new Set(), event: null }));
      this.#call(() => w.subscribe(this.#c, topic, recover));
    }
    const off = listen(t.callbacks, fn);
    return new Subscription(topic, t, () => {
      off();
      if (t.callbacks.size === 0 && this.#topics.get(topic) === t) {
        this.#topics.delete(topic);
        this.#call(() => w.unsubscribe(this.#c, topic));
      }
    });
  }
  free() {
    if (this.#freed) return;
    if (this.#c >= 0) {
      w.free(this.#c);
      R.c.delete(this.#c);
    }
    this.#freed = true;
  }
  [Symbol.dispose]() {
    this.free();
  }
}

export class Subscription {
  #t;
  #off;
  constructor(topic, t, off) {
    this.topic = topic;
    this.#t = t;
    this.#off = off;
  }
  get state() {
    return this.#t.event?.state ?? "pending";
  }
  onState(fn) {
    return listen(this.#t.stateL, fn);
  }
  unsubscribe() {
    this.#off();
    this.#off = () => {};
  }
}

if (browser) {
  const each = (f) => () => R.w && R.c.forEach((_, c) => f(c));
  addEventListener("online", each((c) => w.online(c, true)));
  addEventListener("offline", each((c) => w.online(c, false)));
  addEventListener("pageshow", each((c) => w.visible(c)));
  document.addEventListener("visibilitychange", each((c) => document.visibilityState === "visible" && w.visible(c)));
}
