// The client's end of a fake link: the part of the browser's WebSocket
// that the facade uses (js/src/wasm.ts: constructor(url, protocols),
// binaryType, onopen/onmessage/onerror/onclose, send, close, readyState and
// the constants). Every event is delivered a microtask later, never inside
// the call that caused it, as a browser delivers them in later tasks. The
// microtasks are promise reactions: fake timers (Vitest's, Jest's, which
// also fake queueMicrotask) cannot hold them back.
import type { WebSocketConstructor, WebSocketLike } from "../types.js";

/** What the server does for a link; given by [`FakeServer`]. */
export interface Acceptor {
  /** The handshake: the server's end of a new link, or null if refused. */
  accept(url: string, protocols: string[], client: ClientEnd): ServerEnd | null;
}

/** What the server calls on the client's end. */
export interface ClientEnd {
  /** A text frame to the client. */
  message(text: string): void;
  /** A close frame from the server (clean close). */
  closed(code: number, reason: string): void;
  /** The link is cut without a close frame: undelivered frames are lost, close 1006. */
  cut(): void;
}

/** What the client's end calls on the server's. */
export interface ServerEnd {
  /** A message from the client (a string, or binary data). */
  receive(data: string | ArrayBuffer | ArrayBufferView): void;
  /** The client sent a close frame. */
  closing(code: number | undefined, reason: string): void;
}

const resolved = Promise.resolve();
/** Runs `f` in a later microtask (an exception in it is an unhandled rejection, reported by test runners). */
const later = (f: () => void): void => void resolved.then(f);

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

function domError(message: string, name: string): Error {
  return typeof DOMException === "function" ? new DOMException(message, name) : Object.assign(new Error(message), { name });
}

/** The constructor a FakeServer hands out as `.WebSocket`. */
export interface FakeWebSocketConstructor {
  new (url: string, protocols?: string | string[]): FakeWebSocket;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
}

/** A fake socket: the browser WebSocket's subset that tether-ws uses. */
export interface FakeWebSocket extends WebSocketLike {
  readonly url: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
}

/** A WebSocket class whose links all go to `acceptor`. */
export function makeWebSocket(acceptor: Acceptor): FakeWebSocketConstructor {
  class Socket implements FakeWebSocket {
    static readonly CONNECTING = CONNECTING;
    static readonly OPEN = OPEN;
    static readonly CLOSING = CLOSING;
    static readonly CLOSED = CLOSED;
    readonly CONNECTING = CONNECTING;
    readonly OPEN = OPEN;
    readonly CLOSING = CLOSING;
    readonly CLOSED = CLOSED;
    readonly url: string;
    binaryType = "blob";
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    #state: number = CONNECTING;
    #server: ServerEnd | null = null;
    /** Cut: frames still on their way are lost. */
    #cut = false;

    constructor(url: string, protocols?: string | string[]) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw domError(`The URL '${url}' is invalid.`, "SyntaxError");
      }
      if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
        throw domError(`The URL's scheme must be either 'ws' or 'wss'. '${parsed.protocol}' is not allowed.`, "SyntaxError");
      }
      this.url = parsed.href;
      const list = protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : [...protocols];
      later(() => this.#handshake(list));
    }

    get readyState(): number {
      return this.#state;
    }

    #handshake(protocols: string[]) {
      // close() while connecting fails the connection, as in a browser.
      const server = this.#state === CONNECTING ? acceptor.accept(this.url, protocols, this.#end()) : null;
      if (!server) return this.#fail();
      this.#server = server;
      this.#state = OPEN;
      this.onopen?.({ type: "open", target: this });
    }

    /** A refused or failed connection: error, then close 1006. */
    #fail() {
      this.#state = CLOSED;
      this.onerror?.({ type: "error", target: this });
      const event = { type: "close", target: this, code: 1006, reason: "", wasClean: false };
      this.onclose?.(event);
    }

    #end(): ClientEnd {
      const finish = (code: number, reason: string, wasClean: boolean) => {
        if (this.#state === CLOSED) return;
        this.#state = CLOSED;
        const event = { type: "close", target: this, code, reason, wasClean };
        this.onclose?.(event);
      };
      return {
        message: (text) =>
          later(() => {
            // A browser drops what arrives once close() was called.
            const event = { type: "message", target: this, data: text };
            if (this.#state === OPEN && !this.#cut) this.onmessage?.(event);
          }),
        closed: (code, reason) => later(() => this.#cut || finish(code, reason, true)),
        cut: () => {
          this.#cut = true;
          later(() => finish(1006, "", false));
        },
      };
    }

    send(data: string | ArrayBuffer | ArrayBufferView): void {
      if (this.#state === CONNECTING) throw domError("Still in CONNECTING state.", "InvalidStateError");
      // A closing or closed socket discards, as a browser does.
      if (this.#state !== OPEN || this.#cut) return;
      const server = this.#server!;
      later(() => server.receive(data));
    }

    close(code?: number, reason = ""): void {
      if (code !== undefined && code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
        throw domError(`The close code must be either 1000, or between 3000 and 4999. ${code} is neither.`, "InvalidAccessError");
      }
      if (new TextEncoder().encode(reason).length > 123) {
        throw domError("The close reason must not be greater than 123 UTF-8 bytes.", "SyntaxError");
      }
      if (this.#state === CLOSING || this.#state === CLOSED) return;
      const wasOpen = this.#state === OPEN;
      this.#state = CLOSING;
      const server = this.#server;
      if (wasOpen && server && !this.#cut) later(() => server.closing(code, reason));
    }
  }
  // Checked here: what the client's `WebSocket` option accepts.
  return Socket satisfies WebSocketConstructor;
}
