// Reads one client text frame the way the reference server does
// (crates/tether-protocol/src/frames.rs, decode_client): every failure is
// sorted into the error code and message the server answers with, and the
// request's `id` is kept whenever it can be read.

/** A client frame the fake serves, its fields checked. */
export type ClientFrame =
  | { type: "subscribe"; id: number; topic: string; recover?: { epoch: string; offset: number }; rewind?: number }
  | { type: "unsubscribe"; id: number; topic: string }
  | { type: "ping"; id: number; include_stats: boolean }
  | { type: "publish"; id: number; topic: string; event?: string; data: unknown }
  | { type: "get_status"; id: number }
  | { type: "get_topics"; id: number }
  | { type: "pong"; id?: number };

/** An `error` frame's code. */
export type ErrorCode = "bad_json" | "bad_frame" | "unknown_type" | "unknown_topic" | "forbidden";

export interface DecodeError {
  code: ErrorCode;
  id?: number;
  message: string;
}

/** Longest `error.message`, in UTF-8 bytes (MAX_ERROR_MESSAGE). */
export const MAX_ERROR_MESSAGE = 200;
/** Longest name quoted from a client's frame (MAX_QUOTED). */
const MAX_QUOTED = 64;

const encoder = new TextEncoder();

/** Cuts `text` to at most `max` UTF-8 bytes at a character boundary, ending with `…` when cut. */
export function truncate(text: string, max: number): string {
  if (encoder.encode(text).length <= max) return text;
  let out = "";
  let bytes = 3; // the ellipsis
  for (const ch of text) {
    const n = encoder.encode(ch).length;
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out + "\u2026";
}

type Obj = Record<string, unknown>;

/** A request id as the server reads it: a JSON integer in 0 ..= 2^64-1. */
const u64 = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** How serde names a value it did not expect. */
function unexpected(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return `boolean \`${v}\``;
  if (typeof v === "string") return `string ${JSON.stringify(v)}`;
  if (typeof v === "number") return Number.isInteger(v) ? `integer \`${v}\`` : `floating point \`${v}\``;
  return Array.isArray(v) ? "sequence" : "map";
}

class Bad {
  constructor(readonly field: string, readonly message: string) {}
}

type Check<T> = (v: unknown, path: string) => T;
const wrong = (v: unknown, path: string, expected: string): never => {
  throw new Bad(path, `invalid type: ${unexpected(v)}, expected ${expected}`);
};
const int: Check<number> = (v, path) => {
  if (u64(v)) return v;
  // serde: a negative integer is the right type with a wrong value.
  if (typeof v === "number" && Number.isInteger(v)) throw new Bad(path, `invalid value: ${unexpected(v)}, expected u64`);
  return wrong(v, path, "u64");
};
const str: Check<string> = (v, path) => (typeof v === "string" ? v : wrong(v, path, "a string"));
const bool: Check<boolean> = (v, path) => (typeof v === "boolean" ? v : wrong(v, path, "a boolean"));

/** A required field (serde: "missing field `x`" at its parent). */
function need<T>(o: Obj, name: string, check: Check<T>, parent = ""): T {
  if (!(name in o)) throw new Bad(parent + name, `missing field \`${name}\``);
  return check(o[name], parent + name);
}
/** An optional field: absent or null is none (serde `Option`). */
function maybe<T>(o: Obj, name: string, check: Check<T>): T | undefined {
  return o[name] === undefined || o[name] === null ? undefined : check(o[name], name);
}

const recover: Check<{ epoch: string; offset: number }> = (v, path) => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return wrong(v, path, "struct Recover");
  const o = v as Obj;
  return { epoch: need(o, "epoch", str, path + "."), offset: need(o, "offset", int, path + ".") };
};

const BODIES: Record<string, (o: Obj) => ClientFrame> = {
  subscribe: (o) => {
    const f: ClientFrame = { type: "subscribe", id: need(o, "id", int), topic: need(o, "topic", str) };
    const r = maybe(o, "recover", recover);
    const rewind = maybe(o, "rewind", int);
    return { ...f, ...(r && { recover: r }), ...(rewind !== undefined && { rewind }) };
  },
  unsubscribe: (o) => ({ type: "unsubscribe", id: need(o, "id", int), topic: need(o, "topic", str) }),
  ping: (o) => ({
    type: "ping",
    id: need(o, "id", int),
    // `#[serde(default)] bool`: absent is false, null is a type error.
    include_stats: "include_stats" in o ? bool(o.include_stats, "include_stats") : false,
  }),
  publish: (o) => {
    const event = maybe(o, "event", str);
    return {
      type: "publish",
      id: need(o, "id", int),
      topic: need(o, "topic", str),
      ...(event !== undefined && { event }),
      data: o.data === undefined ? null : o.data,
    };
  },
  get_status: (o) => ({ type: "get_status", id: need(o, "id", int) }),
  get_topics: (o) => ({ type: "get_topics", id: need(o, "id", int) }),
  pong: (o) => {
    const id = maybe(o, "id", int);
    return id === undefined ? { type: "pong" } : { type: "pong", id };
  },
};

/** The parsed JSON (for `received`) and the frame, or the error to answer. */
export function decode(text: string): { parsed: unknown; frame?: ClientFrame; error?: DecodeError } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { parsed: undefined, error: { code: "bad_json", message: truncate(`not JSON: ${why}`, MAX_ERROR_MESSAGE) } };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { parsed, error: { code: "bad_frame", message: "a frame must be a JSON object" } };
  }
  const o = parsed as Obj;
  const id = u64(o.id) ? o.id : undefined;
  const withId = (e: Omit<DecodeError, "id">): DecodeError => (id === undefined ? e : { ...e, id });
  if (typeof o.type !== "string") {
    return { parsed, error: withId({ code: "bad_frame", message: "missing or non-string field `type`" }) };
  }
  const body = Object.hasOwn(BODIES, o.type) ? BODIES[o.type] : undefined;
  if (!body) {
    const message = `unknown frame type \`${truncate(o.type, MAX_QUOTED)}\``;
    return { parsed, error: withId({ code: "unknown_type", message }) };
  }
  try {
    return { parsed, frame: body(o) };
  } catch (e) {
    if (!(e instanceof Bad)) throw e;
    const message = `invalid \`${o.type}\` frame: field \`${truncate(e.field, MAX_QUOTED)}\`: ${e.message}`;
    return { parsed, error: withId({ code: "bad_frame", message: truncate(message, MAX_ERROR_MESSAGE) }) };
  }
}
