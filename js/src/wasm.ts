// The glue: loads tether.wasm (next to this file), gives it its imports
// (module `tether`: src/host.rs) and wraps its exports
// with the string ABI: strings cross as (pointer, length) of UTF-8 in the
// wasm's memory, written into a buffer from `alloc` and given back with
// `dealloc` after the call. It performs what the wasm asks (sockets, one
// timer per client) and routes events back; it decides nothing.
import type { LogLevel, WebSocketLike } from "./types.js";

/** What a client (the facade) gives the glue. */
export interface Host {
  /** A new socket for `url` (the `WebSocket` option or the global one). */
  socket(url: string): WebSocketLike;
  /** A socket's `message` event (the facade's receive path). */
  receive(socket: number, data: unknown): void;
  /** A notice for the listeners (JSON; src/notice.rs). */
  notice(json: string): void;
  /** A topic's cursor and epoch (the receive fast path). */
  cursor(topic: string, cursor: number, epoch: string): void;
  log(level: LogLevel, message: string, data?: unknown): void;
}

/** The codes of src/contract.rs, by name. */
export interface Contract {
  DROP: number;
  TOPIC: number;
  APP: number;
  RESOLVE: number;
  REJECT: number;
  STALE: number;
  KEY_SHIFT: number;
  KIND_MASK: number;
  PAGE_CACHED: number;
  PAGE_RESTORED: number;
  PAGE_RESUMED: number;
  PAGE_NETWORK_CHANGED: number;
  PAGE_VISIBLE: number;
  PAGE_HIDDEN: number;
}

/** The wasm's exports (src/exports.rs); a string is
 * always the last parameter, as (pointer, length): see [`str`]. */
export interface Exports {
  memory: WebAssembly.Memory;
  alloc(len: number): number;
  dealloc(ptr: number, len: number): void;
  contract(): void;
  create(): number;
  free(c: number): void;
  connect(c: number): void;
  reconnect(c: number): void;
  close(c: number, code: number, p: number, l: number): void;
  /** The subject: `{ topic, recover, rewind?, "since.epoch"?, "since.offset"? }`. */
  subscribe(c: number): void;
  unsubscribe(c: number, p: number, l: number): void;
  send(c: number, p: number, l: number): number;
  request(c: number, id: number, timeoutMs: number, p: number, l: number): void;
  status(c: number): void;
  sub_state(c: number, p: number, l: number): void;
  online(c: number, on: number): void;
  /** A page or device event: a `PAGE_*` code. */
  page(c: number, event: number): void;
  timer(c: number): void;
  token(c: number, socket: number, p: number, l: number): void;
  token_failed(c: number, socket: number, p: number, l: number): void;
  opened(c: number, socket: number): void;
  closed(c: number, socket: number, code: number, clean: number, p: number, l: number): void;
  errored(c: number, socket: number, p: number, l: number): void;
  message(c: number, socket: number): number;
  next(c: number, socket: number, cursor: number, offset: number): number;
}

/** Live clients by number. */
export const hosts = new Map<number, Host>();
/** The exports; valid once `ready` resolved. */
export let x: Exports;
/** The last answer of a getter export (`text` import). */
export let answer = "";
const sockets = new Map<string, WebSocketLike>();
const timers = new Map<number, ReturnType<typeof setTimeout>>();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const read = (p: number, l: number) => decoder.decode(new Uint8Array(x.memory.buffer, p, l));

/** Calls export `f` with the numbers `a`, then `s` as (pointer, length) in
 * wasm memory (views are made anew: memory may grow). */
export function str<A extends number[], R>(f: (...args: [...A, number, number]) => R, s: string, ...a: A): R {
  const bytes = encoder.encode(s);
  const p = x.alloc(bytes.length);
  new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
  try {
    return f(...a, p, bytes.length);
  } finally {
    x.dealloc(p, bytes.length);
  }
}

const key = (c: number, socket: number) => c + "/" + socket;

/** What `create` and `message` read, field by field (imports `kind`, `num`,
 * `string`; src/subject.rs): the options bag, a frame. */
let subject: Record<string, unknown> | undefined;
/** Calls `f` with `o` as the subject. */
export function about<R>(o: Record<string, unknown> | undefined, f: () => R): R {
  subject = o;
  try {
    return f();
  } finally {
    subject = undefined;
  }
}
const field = (p: number, l: number) => subject?.[read(p, l)];
const TYPES = ["undefined", "boolean", "number", "string"];
const redact = (url: string) => url.replace(/([?&]token=)[^&]*/, "$1…");
/** The URL as the app gave it: without the token and the SDK's `sdk=`. */
const shown = (url: string) => url.replace(/[?&](token|sdk)=[^&]*/g, "").replace(/^([^?]*)&/, "$1?");

/** What failed and where, for `lastError`: a browser says nothing more
 * than that; Node's `ws` names an HTTP refusal ("Unexpected server
 * response: 403"). */
function socketError(e: unknown, opened: boolean, url: string): string {
  const refused = /server response: (\d{3})/.exec(String((e as { message?: unknown })?.message ?? ""));
  if (refused) return `refused: ${refused[1]} (${shown(url)})`;
  return `${opened ? "connection error" : "handshake failed"}: ${shown(url)}`;
}

const imports = {
  tether: {
    now: () => performance.now(),
    random: Math.random,
    open(c: number, socket: number, p: number, l: number): number {
      const host = hosts.get(c);
      if (!host) return 0;
      const url = read(p, l);
      host.log("info", "attempt", { url: redact(url) });
      let ws: WebSocketLike;
      try {
        ws = host.socket(url);
      } catch (e) {
        host.log("error", "the WebSocket constructor threw", e);
        return 0;
      }
      const k = key(c, socket);
      sockets.set(k, ws);
      ws.binaryType = "arraybuffer";
      let opened = false;
      ws.onopen = () => {
        opened = true;
        x.opened(c, socket);
      };
      ws.onmessage = (e) => host.receive(socket, e.data);
      ws.onerror = (e) => {
        const why = socketError(e, opened, url);
        host.log("warn", why);
        str(x.errored, why, c, socket);
      };
      ws.onclose = (e) => {
        sockets.delete(k);
        host.log("info", "closed", { code: e.code, reason: e.reason, wasClean: e.wasClean });
        str(x.closed, e.reason ?? "", c, socket, e.code, e.wasClean ? 1 : 0);
      };
      return 1;
    },
    send(c: number, socket: number, p: number, l: number) {
      try {
        sockets.get(key(c, socket))?.send(read(p, l));
      } catch {
        // The link just died: its close event follows.
      }
    },
    close(c: number, socket: number, code: number, p: number, l: number) {
      const k = key(c, socket);
      const ws = sockets.get(k);
      if (!ws) return;
      sockets.delete(k);
      // The core has let go of it: none of its events may reach it.
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      hosts.get(c)?.log("info", "closing", { code, reason: read(p, l) });
      try {
        ws.close(code, read(p, l));
      } catch {
        // Already closed.
      }
    },
    arm(c: number, ms: number) {
      clearTimeout(timers.get(c));
      timers.set(c, setTimeout(() => {
        timers.delete(c);
        x.timer(c);
      }, ms));
    },
    disarm(c: number) {
      clearTimeout(timers.get(c));
      timers.delete(c);
    },
    notice(c: number, p: number, l: number) {
      const host = hosts.get(c);
      if (!host) return;
      const json = read(p, l);
      try {
        host.notice(json);
      } catch (e) {
        // Never into the wasm: it is delivering notices.
        console.error("tether-ws: internal error", e);
      }
    },
    cursor(c: number, tp: number, tl: number, cursor: number, ep: number, el: number) {
      hosts.get(c)?.cursor(read(tp, tl), cursor, read(ep, el));
    },
    text(p: number, l: number) {
      answer = read(p, l);
    },
    kind(p: number, l: number): number {
      const v = field(p, l);
      return v === null ? 4 : TYPES.indexOf(typeof v);
    },
    num: (p: number, l: number) => Number(field(p, l)),
    string(p: number, l: number, out: number) {
      const bytes = encoder.encode(field(p, l) as string);
      const at = x.alloc(bytes.length);
      new Uint8Array(x.memory.buffer, at, bytes.length).set(bytes);
      // The wasm owns the buffer now (a String of it).
      new Uint32Array(x.memory.buffer, out, 2).set([at, bytes.length]);
    },
  },
};

/** The codes, read from the wasm once it is loaded. */
export let codes: Contract;

let provided: Uint8Array | undefined;
/** `tether-ws/inline` hands over the module's bytes (before loading starts:
 * it runs while the app's modules are evaluated, loading a microtask later). */
export function provide(bytes: Uint8Array): void {
  provided = bytes;
}

async function instantiate(): Promise<void> {
  await null;
  if (provided) return use(await WebAssembly.instantiate(provided as BufferSource, imports));
  let url = new URL("./tether.wasm", import.meta.url);
  // Vite 7's dev server pre-bundles this file into node_modules/.vite/deps/
  // without the wasm (vitejs/vite#8427); the package's own copy is served.
  if (url.pathname.includes("/.vite/deps/")) url = new URL("../../tether-ws/tether.wasm", url);
  let made: WebAssembly.WebAssemblyInstantiatedSource;
  if (url.protocol === "file:") {
    // Node (and Vitest, SSR): a dynamic import with a computed name, so
    // bundlers leave it alone in browser builds.
    const fs = "node:fs/promises";
    const { readFile } = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fs)) as {
      readFile(u: URL): Promise<Uint8Array>;
    };
    made = await WebAssembly.instantiate((await readFile(url)) as BufferSource, imports);
  } else {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`tether-ws: ${url} answered ${response.status}`);
    made = response.headers.get("content-type")?.startsWith("application/wasm")
      ? await WebAssembly.instantiateStreaming(response, imports)
      : await WebAssembly.instantiate(await response.arrayBuffer(), imports);
  }
  use(made);
}

function use(made: WebAssembly.WebAssemblyInstantiatedSource): void {
  x = made.instance.exports as unknown as Exports;
  x.contract();
  codes = JSON.parse(answer) as Contract;
}

/** Resolves once the wasm is usable; rejects if it cannot be loaded. */
export const ready: Promise<void> = instantiate();
// Handled here (clients report the failure in their status); `await ready`
// still sees the rejection. Without this an SSR import would crash Node.
ready.catch(() => {});
