// `new Tether(url, options)`: validation, on the JS side of the wasm
// boundary. Checking a JS object from Rust costs a crossing per property
// and a copy per string, and its code was a tenth of the SDK's size; here it
// is a few lines. Every bad option throws a TypeError that names it.
//
// `parse` returns what `src/options.rs` turns into the core's `Config`:
// `n` holds the numbers in the order of `options.rs`'s `N_*` constants, NaN
// for an option not given (the core's default applies).

const TOP = ["autoConnect", "mode", "protocols", "tokenProvider", "connectTimeoutMs",
  "stableAfterMs", "backoff", "heartbeat", "queue", "raw"];
const BACKOFF = ["initialMs", "maxMs", "factor", "jitter", "maxAttempts"];
const HEARTBEAT = ["intervalMs", "timeoutMs"];
const QUEUE = ["maxMessages", "maxBytes"];
const RAW = ["pingMessage", "pongType"];
const MODES = ["tether", "raw"];
const JITTERS = ["full", "equal", "none"];

const fail = (message) => {
  throw new TypeError(message);
};

// One options object (top level or nested): `{}` when absent; its unknown
// keys are errors. `prefix` names its options in errors ("backoff.").
function group(value, prefix, known) {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    fail(`${prefix ? prefix.slice(0, -1) : "options"} must be an object`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) fail(`unknown option ${prefix}${key}`);
  }
  return value;
}

// A duration in ms: a finite number, >= 0 when `zeroOk`, else > 0; rounded.
function ms(obj, prefix, key, zeroOk) {
  const v = obj[key];
  if (v === undefined) return NaN;
  if (typeof v !== "number" || !Number.isFinite(v) || !(v > 0 || (zeroOk && v === 0))) {
    fail(`${prefix}${key} must be a finite number of milliseconds ${zeroOk ? ">=" : ">"} 0`);
  }
  return Math.round(v);
}

// A count: a non-negative integer.
function count(obj, prefix, key) {
  const v = obj[key];
  if (v === undefined) return NaN;
  if (!Number.isSafeInteger(v) || v < 0) fail(`${prefix}${key} must be a non-negative integer`);
  return v;
}

// The index of a string option in `names`, NaN when absent.
function oneOf(obj, key, names, message) {
  const v = obj[key];
  if (v === undefined) return NaN;
  const at = names.indexOf(v);
  if (at < 0) fail(message);
  return at;
}

function urls(url) {
  const list = Array.isArray(url) ? url : [url];
  if (list.length === 0) fail("url must not be an empty array");
  for (const u of list) {
    if (typeof u !== "string" || !(u.startsWith("ws://") || u.startsWith("wss://"))) {
      fail("url must be a ws:// or wss:// URL string, or an array of them");
    }
  }
  return list;
}

export function parse(url, options) {
  const parsedUrls = urls(url);
  const top = group(options, "", TOP);
  if (top.autoConnect !== undefined && typeof top.autoConnect !== "boolean") {
    fail("autoConnect must be a boolean");
  }
  let protocols = top.protocols === undefined ? [] : top.protocols;
  if (typeof protocols === "string") protocols = [protocols];
  if (!Array.isArray(protocols) || protocols.some((p) => typeof p !== "string")) {
    fail("protocols must be an array of strings");
  }
  const tokenProvider = top.tokenProvider ?? undefined;
  if (tokenProvider !== undefined && typeof tokenProvider !== "function") {
    fail("tokenProvider must be a function");
  }
  const backoff = group(top.backoff, "backoff.", BACKOFF);
  const factor = backoff.factor;
  if (factor !== undefined && !(typeof factor === "number" && Number.isFinite(factor) && factor >= 1)) {
    fail("backoff.factor must be a finite number >= 1");
  }
  const heartbeat = top.heartbeat === false ? {} : group(top.heartbeat, "heartbeat.", HEARTBEAT);
  const queue = group(top.queue, "queue.", QUEUE);
  const raw = group(top.raw, "raw.", RAW);
  let ping = raw.pingMessage;
  if (ping !== undefined && typeof ping !== "string") {
    if (ping === null || typeof ping !== "object") fail("raw.pingMessage must be an object or a string");
    try {
      ping = JSON.stringify(ping);
    } catch {
      ping = undefined;
    }
    if (typeof ping !== "string") fail("raw.pingMessage must be JSON-serialisable");
  }
  if (raw.pongType !== undefined && typeof raw.pongType !== "string") {
    fail("raw.pongType must be a string");
  }
  const n = [
    top.autoConnect === undefined ? NaN : +top.autoConnect,
    oneOf(top, "mode", MODES, 'mode must be "tether" or "raw"'),
    ms(top, "", "connectTimeoutMs", false),
    ms(top, "", "stableAfterMs", true),
    ms(backoff, "backoff.", "initialMs", true),
    ms(backoff, "backoff.", "maxMs", true),
    factor ?? NaN,
    oneOf(backoff, "jitter", JITTERS, 'backoff.jitter must be "full", "equal" or "none"'),
    backoff.maxAttempts === null ? -1 : count(backoff, "backoff.", "maxAttempts"),
    top.heartbeat === false ? 0 : top.heartbeat === undefined ? NaN : 1,
    heartbeat.intervalMs === null ? -1 : ms(heartbeat, "heartbeat.", "intervalMs", false),
    ms(heartbeat, "heartbeat.", "timeoutMs", false),
    count(queue, "queue.", "maxMessages"),
    count(queue, "queue.", "maxBytes"),
  ];
  return { urls: parsedUrls, protocols, tokenProvider, ping, pong: raw.pongType ?? "pong", n };
}
