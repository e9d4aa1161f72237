// `new Tether(url, options)`: validation in JS (every bad option throws a
// TypeError naming it; the messages of the first SDK's options.js), and the one
// object the wasm reads (docs/DESIGN.md, "The SDK"): the README's option
// names, nested ones dotted, the URLs as `urls.0`, `urls.1`, ..., absent
// when not given so the core's `Config::default()` stays the one source of
// defaults.
//
// One rule per option name (a table: each kind of check is written once);
// a rule checks the value and answers what the wasm gets (undefined: none).
import type { Logger, TetherOptions, WebSocketConstructor } from "./types.js";

export const fail = (message: string): never => {
  throw new TypeError(message);
};

type Bag = Record<string, unknown>;
// `any`: each rule narrows the value itself.
type Rule = (v: any, name: string) => unknown;

const must = (ok: unknown, name: string, what: string) => ok || fail(`${name} must be ${what}`);
/** A duration: finite, > 0 (or >= 0 when `zero`), rounded; null where `nul`. */
const ms = (zero: boolean, nul?: boolean): Rule => (v, name) =>
  v === null && nul
    ? null
    : (must(typeof v === "number" && Number.isFinite(v) && (v > 0 || (zero && v === 0)), name,
        `a finite number of milliseconds ${zero ? ">=" : ">"} 0`), Math.round(v));
const count = (nul?: boolean): Rule => (v, name) =>
  v === null && nul ? null : (must(Number.isSafeInteger(v) && v >= 0, name, "a non-negative integer"), v);
const oneOf = (names: string[], what: string): Rule => (v, name) => (must(names.includes(v), name, what), v);
/** Functions stay in JS: the wasm hears nothing of them. null is "none",
 * as in v1 (README "Options": tokenProvider defaults to none). */
const fn: Rule = (v, name) => void (v === null || must(typeof v === "function", name, "a function"));

const RULES: Record<string, Rule> = {
  autoConnect: (v, name) => void must(typeof v === "boolean", name, "a boolean"),
  mode: oneOf(["tether", "raw"], '"tether" or "raw"'),
  protocols: (v, name) =>
    void must(typeof v === "string" || (Array.isArray(v) && v.every((p) => typeof p === "string")), name,
      "an array of strings"),
  tokenProvider: (v, name) => (fn(v, name), v !== null || undefined),
  WebSocket: fn,
  logger: fn,
  connectTimeoutMs: ms(false),
  stableAfterMs: ms(true),
  "backoff.initialMs": ms(true),
  "backoff.maxMs": ms(true),
  "backoff.factor": (v, name) =>
    (must(typeof v === "number" && Number.isFinite(v) && v >= 1, name, "a finite number >= 1"), v),
  "backoff.jitter": oneOf(["full", "equal", "none"], '"full", "equal" or "none"'),
  "backoff.maxAttempts": count(true),
  "heartbeat.intervalMs": ms(false, true),
  "heartbeat.timeoutMs": ms(false),
  "heartbeat.hiddenIntervalMs": ms(false),
  "queue.maxMessages": count(),
  "queue.maxBytes": count(),
  "raw.pingMessage": (v, name) => {
    if (typeof v === "string") return v;
    must(v !== null && typeof v === "object", name, "an object or a string");
    let text: unknown;
    try {
      text = JSON.stringify(v);
    } catch {
      // Below.
    }
    must(typeof text === "string", name, "JSON-serialisable");
    return text;
  },
  "raw.pongType": (v, name) => (must(typeof v === "string", name, "a string"), v),
};
const GROUPS = ["backoff", "heartbeat", "queue", "raw"];
// Only for the one check that spans two options when just one is given
// (README "Options": backoff.initialMs 1000, backoff.maxMs 30000).
const DEFAULT_INITIAL_MS = 1000;
const DEFAULT_MAX_MS = 30_000;

/** Checks each option of `value` (a group when `prefix` is "backoff." ...)
 * into `out`; an unknown name throws. */
function check(value: unknown, prefix: string, out: Bag): Bag {
  if (value === undefined || value === null) return {};
  must(typeof value === "object" && !Array.isArray(value), prefix.slice(0, -1) || "options", "an object");
  for (const [key, v] of Object.entries(value as Bag)) {
    const name = prefix + key;
    if (v === undefined) continue;
    if (!prefix && GROUPS.includes(key)) {
      if (key === "heartbeat" && v === false) out.heartbeat = false;
      else check(v, name + ".", out);
      continue;
    }
    const rule = RULES[name] ?? fail(`unknown option ${name}`);
    const sent = rule(v, name);
    if (sent !== undefined) out[name] = sent;
  }
  return value as Bag;
}

export interface Parsed {
  /** The options for the wasm's `create` (its subject). */
  bag: Record<string, unknown>;
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
  const out: Bag = { online };
  // The wasm reads strings, not arrays.
  urls.forEach((u, i) => (out["urls." + i] = u));
  const top = check(options, "", out) as TetherOptions;
  if (((out["backoff.maxMs"] as number) ?? DEFAULT_MAX_MS) < ((out["backoff.initialMs"] as number) ?? DEFAULT_INITIAL_MS)) {
    fail("backoff.maxMs must not be less than backoff.initialMs");
  }
  const protocols = top.protocols ?? [];
  return {
    bag: out,
    autoConnect: top.autoConnect !== false,
    raw: top.mode === "raw",
    protocols: typeof protocols === "string" ? [protocols] : protocols,
    tokenProvider: top.tokenProvider ?? undefined,
    WebSocket: top.WebSocket ?? undefined,
    logger: top.logger ?? undefined,
  };
}
