// `new Tether(url, options)`: validation in JS (every bad option throws a
// TypeError naming it; the messages of v1's src/options.js), and the one
// JSON object the wasm reads (docs/DESIGN.md, "SDK v2"): the README's
// option names, nested ones dotted, absent when not given so the core's
// `Config::default()` stays the one source of defaults.
import type { Logger, TetherOptions, WebSocketConstructor } from "./types.js";

const TOP = ["autoConnect", "mode", "protocols", "tokenProvider", "connectTimeoutMs",
  "stableAfterMs", "backoff", "heartbeat", "queue", "raw", "WebSocket", "logger"];
const GROUPS: Record<string, string[]> = {
  backoff: ["initialMs", "maxMs", "factor", "jitter", "maxAttempts"],
  heartbeat: ["intervalMs", "timeoutMs"],
  queue: ["maxMessages", "maxBytes"],
  raw: ["pingMessage", "pongType"],
};
// Only for the one check that spans two options when just one is given
// (README "Options": backoff.initialMs 1000, backoff.maxMs 30000).
const DEFAULT_INITIAL_MS = 1000;
const DEFAULT_MAX_MS = 30_000;

export const fail = (message: string): never => {
  throw new TypeError(message);
};

type Bag = Record<string, unknown>;

function group(value: unknown, name: string, known: string[]): Bag {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) fail(`${name || "options"} must be an object`);
  for (const key of Object.keys(value as Bag)) {
    if (!known.includes(key)) fail(`unknown option ${name ? name + "." : ""}${key}`);
  }
  return value as Bag;
}

export interface Parsed {
  /** The options text for the wasm's `create`. */
  json: string;
  autoConnect: boolean;
  raw: boolean;
  protocols: string[];
  tokenProvider?: () => unknown;
  WebSocket?: WebSocketConstructor;
  logger?: Logger;
}

export function parse(url: unknown, options: unknown, online: boolean): Parsed {
  const urls = Array.isArray(url) ? url : [url];
  if (urls.length === 0) fail("url must not be an empty array");
  for (const u of urls) {
    if (typeof u !== "string" || !(u.startsWith("ws://") || u.startsWith("wss://"))) {
      fail("url must be a ws:// or wss:// URL string, or an array of them");
    }
  }
  const top = group(options, "", TOP);
  const out: Bag = { urls, online };
  // A duration in ms: finite, > 0 (or >= 0 when `zeroOk`), rounded; null
  // passes where `nullOk`.
  const ms = (obj: Bag, prefix: string, key: string, zeroOk: boolean, nullOk = false) => {
    const v = obj[key];
    if (v === undefined) return;
    const name = prefix + key;
    if (v === null && nullOk) return void (out[name] = null);
    if (typeof v !== "number" || !Number.isFinite(v) || !(v > 0 || (zeroOk && v === 0))) {
      fail(`${name} must be a finite number of milliseconds ${zeroOk ? ">=" : ">"} 0`);
    }
    out[name] = Math.round(v as number);
  };
  const count = (obj: Bag, prefix: string, key: string, nullOk = false) => {
    const v = obj[key];
    if (v === undefined) return;
    const name = prefix + key;
    if (v === null && nullOk) return void (out[name] = null);
    if (!Number.isSafeInteger(v) || (v as number) < 0) fail(`${name} must be a non-negative integer`);
    out[name] = v;
  };
  const fn = (key: string) => {
    // null is "none", as in v1 (README "Options": tokenProvider defaults to none).
    const v = top[key] ?? undefined;
    if (v !== undefined && typeof v !== "function") fail(`${key} must be a function`);
    return v as never;
  };
  if (top.autoConnect !== undefined && typeof top.autoConnect !== "boolean") fail("autoConnect must be a boolean");
  if (top.mode !== undefined && top.mode !== "tether" && top.mode !== "raw") fail('mode must be "tether" or "raw"');
  if (top.mode !== undefined) out.mode = top.mode;
  let protocols = top.protocols === undefined ? [] : top.protocols;
  if (typeof protocols === "string") protocols = [protocols];
  if (!Array.isArray(protocols) || protocols.some((p) => typeof p !== "string")) fail("protocols must be an array of strings");
  const tokenProvider = fn("tokenProvider");
  if (tokenProvider) out.tokenProvider = true;
  ms(top, "", "connectTimeoutMs", false);
  ms(top, "", "stableAfterMs", true);
  const backoff = group(top.backoff, "backoff", GROUPS.backoff);
  ms(backoff, "backoff.", "initialMs", true);
  ms(backoff, "backoff.", "maxMs", true);
  const initial = (out["backoff.initialMs"] as number | undefined) ?? DEFAULT_INITIAL_MS;
  if (((out["backoff.maxMs"] as number | undefined) ?? DEFAULT_MAX_MS) < initial) {
    fail("backoff.maxMs must not be less than backoff.initialMs");
  }
  const factor = backoff.factor;
  if (factor !== undefined) {
    if (!(typeof factor === "number" && Number.isFinite(factor) && factor >= 1)) fail("backoff.factor must be a finite number >= 1");
    out["backoff.factor"] = factor;
  }
  const jitter = backoff.jitter;
  if (jitter !== undefined) {
    if (jitter !== "full" && jitter !== "equal" && jitter !== "none") fail('backoff.jitter must be "full", "equal" or "none"');
    out["backoff.jitter"] = jitter;
  }
  count(backoff, "backoff.", "maxAttempts", true);
  if (top.heartbeat === false) out.heartbeat = false;
  else {
    const heartbeat = group(top.heartbeat, "heartbeat", GROUPS.heartbeat);
    ms(heartbeat, "heartbeat.", "intervalMs", false, true);
    ms(heartbeat, "heartbeat.", "timeoutMs", false);
  }
  const queue = group(top.queue, "queue", GROUPS.queue);
  count(queue, "queue.", "maxMessages");
  count(queue, "queue.", "maxBytes");
  const raw = group(top.raw, "raw", GROUPS.raw);
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
  if (ping !== undefined) out["raw.pingMessage"] = ping;
  if (raw.pongType !== undefined) {
    if (typeof raw.pongType !== "string") fail("raw.pongType must be a string");
    out["raw.pongType"] = raw.pongType;
  }
  return {
    json: JSON.stringify(out),
    autoConnect: top.autoConnect !== false,
    raw: top.mode === "raw",
    protocols: protocols as string[],
    tokenProvider,
    WebSocket: fn("WebSocket"),
    logger: fn("logger"),
  };
}
