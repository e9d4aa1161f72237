// The API users code against (README "API"): `Tether` and `Subscription`.
// It holds listeners and makes the objects they receive, validates, and
// performs; every decision is the wasm's (tether-core). Listener lists are
// replaced, never changed in place, so a call from inside any callback
// (removing itself or another listener, close, free, ...) never disturbs
// a delivery under way; a removed listener is not called again.
import { about, answer, codes, hosts, ready, str, x, type Contract, type Host } from "./wasm.js";
import { fail, parse, type Parsed } from "./options.js";
import { RequestError } from "./errors.js";
import type {
  Frame, LogLevel, Position, Publication, Remover, RequestOptions, State, Status,
  SubscribeOptions, SubscriptionEvent, SubscriptionState, TetherOptions,
} from "./types.js";

type Entry<A> = { fn: (arg: A) => void; live: boolean };
type List<A> = { items: Entry<A>[] };

function listen<A>(list: List<A>, fn: (arg: A) => void): Remover {
  if (typeof fn !== "function") fail("listener must be a function");
  const entry = { fn, live: true };
  list.items = [...list.items, entry];
  return () => {
    entry.live = false;
    list.items = list.items.filter((e) => e !== entry);
  };
}

function emit<A>(list: List<A>, arg: A): void {
  for (const e of list.items) {
    if (!e.live) continue;
    try {
      e.fn(arg);
    } catch (err) {
      console.error("tether-ws: a listener threw", err);
    }
  }
}

const describe = (e: unknown) => (e instanceof Error ? e.message : typeof e === "string" ? e : "unknown error");

const requestError = (message: string, code: string | null, reply: Frame | null) => new RequestError(message, code, reply);

/** Calls made before the wasm is ready, in order. */
let loaded = false;
let loadError: unknown;
const held: (() => void)[] = [];
ready.then(
  () => {
    loaded = true;
    for (const f of held.splice(0)) f();
  },
  (e) => {
    loadError = e;
    for (const f of held.splice(0)) f();
  },
);

const browser =
  typeof window !== "undefined" || typeof (globalThis as { importScripts?: unknown }).importScripts === "function";

type PageCode = Extract<keyof Contract, `PAGE_${string}`>;

// Page events reach every live client (the core ignores them where they
// mean nothing: closed, failed, idle).
let pageListening = false;
function listenToPage() {
  if (pageListening || typeof addEventListener !== "function") return;
  pageListening = true;
  const each = (f: (c: number) => void) => () => {
    if (loaded) for (const c of [...hosts.keys()]) f(c);
  };
  addEventListener("online", each((c) => x.online(c, 1)));
  addEventListener("offline", each((c) => x.online(c, 0)));
  // README "Tabs, sleep and the back/forward cache": the core decides.
  const page = (name: string, code: PageCode) => each((c) => {
    hosts.get(c)?.log("info", `page: ${name}`);
    x.page(c, codes[code]);
  });
  addEventListener("pagehide", (e) => (e as PageTransitionEvent).persisted && page("cached", "PAGE_CACHED")());
  addEventListener("pageshow", (e) =>
    (e as PageTransitionEvent).persisted
      ? page("restored", "PAGE_RESTORED")()
      : page("shown", "PAGE_VISIBLE")());
  if (typeof document !== "undefined") {
    document.addEventListener("resume", page("resumed", "PAGE_RESUMED"));
    document.addEventListener("visibilitychange", () =>
      document.visibilityState === "visible"
        ? page("visible", "PAGE_VISIBLE")()
        : page("hidden", "PAGE_HIDDEN")());
  }
  const connection = (globalThis.navigator as { connection?: EventTarget } | undefined)?.connection;
  connection?.addEventListener?.("change", page("network changed", "PAGE_NETWORK_CHANGED"));
}

/** One topic with at least one live `Subscription`. */
interface Topic {
  subs: Subscription[];
  cursor?: number;
  epoch?: string;
}

const UNSUBSCRIBED: SubscriptionEvent = Object.freeze({ state: "unsubscribed", recovered: null, missed: 0, error: null });

/** A Tether client: one resilient connection. See the README. */
export class Tether {
  #c = -1;
  /** `free()` was called. */
  #freed = false;
  /** No WebSocket here (server-side rendering): nothing ever connects. */
  #inert: boolean;
  #o: Parsed;
  #status: Status;
  /** The last status the listeners heard: what the log's transitions are
   * from (the getter may have seen a newer one in between). */
  #heard: Status;
  #statusText = "";
  #statusL: List<Status> = { items: [] };
  #messageL: List<unknown> = { items: [] };
  #typeL = new Map<string, List<Frame>>();
  #topics = new Map<string, Topic>();
  #requests = new Map<number, [(f: never) => void, (e: RequestError) => void]>();
  #lastId = 0;

  constructor(url: string | string[], options?: TetherOptions) {
    const online = browser && typeof navigator !== "undefined" ? navigator.onLine !== false : true;
    this.#o = parse(url, options, online);
    this.#inert = !this.#o.WebSocket && !(browser && typeof WebSocket === "function");
    this.#heard = this.#status = makeStatus({ state: this.#o.autoConnect && !this.#inert ? "connecting" : "idle" });
    if (this.#inert) return;
    if (browser) listenToPage();
    this.#call(() => {
      this.#c = about(this.#o.bag, x.create);
      hosts.set(this.#c, this.#host());
      if (this.#o.autoConnect) x.connect(this.#c);
    });
  }

  /** Runs `f` now when the wasm is ready, else once it is (in order). */
  #call(f: () => void) {
    if (this.#freed || this.#inert) return;
    if (loadError !== undefined) return this.#loadFailed();
    if (loaded) f();
    else held.push(() => this.#call(f));
  }

  #loadFailed() {
    if (this.#status.state === "failed") return;
    this.#log("error", "could not load tether.wasm", loadError);
    this.#setStatus(makeStatus({ state: "failed", lastError: `could not load tether.wasm: ${describe(loadError)}` }));
  }

  #log(level: LogLevel, message: string, data?: unknown) {
    try {
      this.#o.logger?.(level, message, data);
    } catch (e) {
      console.error("tether-ws: the logger threw", e);
    }
  }

  #setStatus(next: Status) {
    const prev = this.#heard;
    this.#heard = this.#status = next;
    if (prev.state !== next.state) {
      const level = next.state === "failed" ? "error" : "info";
      const data =
        next.state === "reconnecting"
          ? { attempt: next.attempt, inMs: (next.nextRetryAt ?? 0) - Date.now() }
          : { attempt: next.attempt, clientId: next.clientId, lastClose: next.lastClose, lastError: next.lastError };
      this.#log(level, next.state === "reconnecting" ? "retry scheduled" : next.state, data);
    }
    if (next.lastError !== prev.lastError && next.lastError?.includes("timeout")) this.#log("warn", next.lastError);
    emit(this.#statusL, next);
  }

  /** What the glue calls for this client. */
  #host(): Host {
    return {
      socket: (url) => {
        const W = this.#o.WebSocket ?? WebSocket;
        return new W(url, this.#o.protocols) as never;
      },
      receive: (socket, data) => this.#receive(socket, data),
      notice: (json) => this.#notice(JSON.parse(json)),
      cursor: (topic, cursor, epoch) => {
        const t = this.#topics.get(topic);
        if (t) {
          t.cursor = cursor;
          t.epoch = epoch;
        }
      },
      log: (level, message, data) => this.#log(level, message, data),
    };
  }

  #notice(n: {
    status?: Record<string, unknown>;
    sub?: { topic: string } & SubscriptionEvent;
    failed?: { id: number; code: string; message: string };
    token?: { socket: number };
  }) {
    if (n.status) {
      this.#setStatus(makeStatus(n.status));
    } else if (n.sub) {
      const { topic, ...event } = n.sub;
      const frozen = Object.freeze(event);
      for (const s of this.#topics.get(topic)?.subs ?? []) s._emit(frozen);
    } else if (n.failed) {
      const { id, code, message } = n.failed;
      this.#log("warn", "request failed", { code });
      this.#settle(id)?.[1](requestError(message, code, null));
    } else if (n.token) {
      this.#token(n.token.socket);
    }
  }

  #settle(id: number) {
    const r = this.#requests.get(id);
    this.#requests.delete(id);
    return r;
  }

  #token(socket: number) {
    const answer = (token: unknown) => {
      if (this.#freed) return;
      if (typeof token === "string") str(x.token, token, this.#c, socket);
      else failed("tokenProvider must resolve to a string");
    };
    const failed = (why: string) => {
      if (this.#freed) return;
      this.#log("warn", why);
      str(x.token_failed, why, this.#c, socket);
    };
    let token: unknown;
    try {
      token = this.#o.tokenProvider!();
    } catch (e) {
      return failed("tokenProvider threw: " + describe(e));
    }
    if (typeof token === "string") return answer(token);
    if (token !== null && typeof (token as Promise<unknown>)?.then === "function") {
      (token as Promise<unknown>).then(answer, (e) => failed("tokenProvider rejected: " + describe(e)));
    } else failed("tokenProvider must return a string or a Promise of one");
  }

  /** The receive path: parse once; a publication matching its topic's
   * cursor crosses as two numbers; anything else as its text. */
  #receive(socket: number, data: unknown) {
    let frame = data;
    if (typeof data === "string") {
      try {
        frame = JSON.parse(data);
      } catch {
        // Not JSON: the app gets the text.
      }
    }
    const object = frame !== null && typeof frame === "object" && !Array.isArray(frame) && typeof data === "string";
    const f = frame as Frame;
    let verdict = codes.STALE;
    if (object && f.type === "publication") {
      const t = this.#topics.get(f.topic as string);
      const offset = f.offset as number;
      if (t?.epoch !== undefined && f.epoch === t.epoch && Number.isSafeInteger(offset) && offset >= 0) {
        verdict = x.next(this.#c, socket, t.cursor!, offset);
      }
    }
    if (verdict === codes.STALE) verdict = about(object ? f : undefined, () => x.message(this.#c, socket));
    const kind = verdict & codes.KIND_MASK;
    if (kind === codes.TOPIC) {
      for (const s of this.#topics.get(f.topic as string)?.subs ?? []) s._deliver(f as never);
    } else if (kind === codes.APP) {
      emit(this.#messageL, frame);
      const typed = object && typeof f.type === "string" ? this.#typeL.get(f.type) : undefined;
      if (typed) emit(typed, f);
    } else if (kind === codes.RESOLVE || kind === codes.REJECT) {
      const r = this.#settle(verdict >>> codes.KEY_SHIFT);
      if (kind === codes.RESOLVE) r?.[0](f as never);
      else {
        const message = typeof f.message === "string" ? f.message : "error reply";
        r?.[1](requestError(message, typeof f.code === "string" ? f.code : null, f));
      }
    }
  }

  /** The state string. */
  get state(): State {
    return this.status.state;
  }

  /** The status snapshot (frozen; the same object until it changes). */
  get status(): Status {
    if (!loaded || this.#c < 0 || this.#freed) return this.#status;
    x.status(this.#c);
    const text = answer;
    if (text !== this.#statusText) {
      this.#statusText = text;
      this.#status = makeStatus(JSON.parse(text).status);
    }
    return this.#status;
  }

  onStatus(callback: (status: Status) => void): Remover {
    return listen(this.#statusL, callback);
  }

  onMessage(callback: (message: unknown) => void): Remover {
    return listen(this.#messageL, callback);
  }

  on(type: string, callback: (message: Frame) => void): Remover {
    if (typeof type !== "string") fail("type must be a string");
    let list = this.#typeL.get(type);
    if (!list) this.#typeL.set(type, (list = { items: [] }));
    return listen(list, callback);
  }

  subscribe<T = unknown>(topic: string, callback: (publication: Publication<T>) => void, opts?: SubscribeOptions): Subscription {
    if (typeof topic !== "string" || topic === "") fail("topic must be a non-empty string");
    if (typeof callback !== "function") fail("callback must be a function");
    const recover = opts?.recover ?? true;
    if (typeof recover !== "boolean") fail("opts.recover must be a boolean");
    const rewind = opts?.rewind;
    if (rewind !== undefined && !(Number.isInteger(rewind) && rewind >= 0 && rewind <= 0xffffffff)) {
      fail("opts.rewind must be a whole number of publications >= 0");
    }
    const since = opts?.since;
    if (since !== undefined) {
      if (typeof since?.epoch !== "string" || !Number.isSafeInteger(since.offset) || since.offset < 0) {
        fail("opts.since must be { epoch: string, offset: whole number >= 0 } (a Subscription.position)");
      }
      if (!recover) fail("opts.since needs recovery: drop opts.recover: false");
    }
    if (this.#o.raw) throw new Error("subscribe() is not available in raw mode: use on(type)");
    let t = this.#topics.get(topic);
    if (!t) {
      this.#topics.set(topic, (t = { subs: [] }));
      const bag = { topic, recover, rewind, "since.epoch": since?.epoch, "since.offset": since?.offset };
      this.#call(() => about(bag, () => x.subscribe(this.#c)));
    }
    const topicRef = t;
    const sub: Subscription = new Subscription(topic, callback as never, {
      state: () => (this.#freed || !loaded || this.#c < 0 ? "pending" : (str(x.sub_state, topic, this.#c), answer as SubscriptionState)),
      leave: () => {
        topicRef.subs = topicRef.subs.filter((s) => s !== sub);
        if (topicRef.subs.length === 0 && this.#topics.get(topic) === topicRef) {
          this.#topics.delete(topic);
          this.#call(() => str(x.unsubscribe, topic, this.#c));
        }
      },
    }, since);
    t.subs = [...t.subs, sub];
    return sub;
  }

  send(msg: unknown): boolean {
    let text: string | undefined;
    try {
      text = typeof msg === "string" ? msg : JSON.stringify(msg);
    } catch {
      // Below.
    }
    if (typeof text !== "string") fail("send() takes a string or a JSON-serialisable value");
    let sent = !this.#freed && !this.#inert && loadError === undefined;
    if (sent && loaded) sent = str(x.send, text!, this.#c) !== 0;
    else if (sent) this.#call(() => str(x.send, text!, this.#c) || this.#log("warn", "dropped message", { bytes: text!.length }));
    if (!sent) this.#log("warn", "dropped message", { bytes: text!.length });
    return sent;
  }

  /** Sends `msg` with an id; resolves with the reply of that id (typed as
   * `R`: what the app expects the server to answer), rejects with a
   * `RequestError`. */
  request<R extends Frame = Frame>(msg: Record<string, unknown>, opts?: RequestOptions): Promise<R> {
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) fail("request() takes a JSON object");
    const timeoutMs = opts?.timeoutMs ?? 10_000;
    if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || !(timeoutMs > 0)) {
      fail("opts.timeoutMs must be a finite number of milliseconds > 0");
    }
    // The id is the client's: a copy without the app's.
    const { id: _ignored, ...copy } = msg;
    let body: string | undefined;
    try {
      body = JSON.stringify(copy);
    } catch {
      // Below.
    }
    if (typeof body !== "string") fail("request() takes a JSON-serialisable object");
    return new Promise<R>((resolve, reject) => {
      if (this.#freed || this.#inert || loadError !== undefined) {
        return reject(requestError("client closed", "closed", null));
      }
      const id = ++this.#lastId;
      this.#requests.set(id, [resolve, reject]);
      this.#call(() => str(x.request, body!, this.#c, id, Math.round(timeoutMs)));
    });
  }

  connect(): void {
    this.#call(() => x.connect(this.#c));
  }

  reconnect(): void {
    this.#call(() => x.reconnect(this.#c));
  }

  close(code = 1000, reason = ""): void {
    if (code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
      fail("close code must be 1000 or in 3000-4999");
    }
    this.#call(() => str(x.close, String(reason), this.#c, code));
  }

  /** Closes the socket and releases the client; listeners hear nothing
   * more, pending requests reject with `closed`. Harmless to repeat. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    if (this.#c >= 0) {
      hosts.delete(this.#c);
      x.free(this.#c);
    }
    const pending = [...this.#requests.values()];
    this.#requests.clear();
    for (const [, reject] of pending) reject(requestError("client closed", "closed", null));
  }

  [Symbol.dispose](): void {
    this.free();
  }
}

/** One `subscribe()` call; publications reach its callback until `unsubscribe()`. */
export class Subscription {
  readonly topic: string;
  #callback: (p: Publication) => void;
  #position: Position | null = null;
  #link: { state(): SubscriptionState; leave(): void };
  #stateL: List<SubscriptionEvent> = { items: [] };
  #live = true;

  /** @internal made by `Tether.subscribe`. */
  constructor(
    topic: string,
    callback: (p: Publication) => void,
    link: { state(): SubscriptionState; leave(): void },
    since?: Position,
  ) {
    this.topic = topic;
    if (since) this.#position = Object.freeze({ epoch: since.epoch, offset: since.offset });
    this.#callback = callback;
    this.#link = link;
  }

  get state(): SubscriptionState {
    return this.#live ? this.#link.state() : "unsubscribed";
  }

  /** The last publication delivered to this subscription's callback
   * (`since` until then, else null): save it to continue later with
   * `subscribe(topic, cb, { since })`. */
  get position(): Position | null {
    return this.#position;
  }

  onState(callback: (event: SubscriptionEvent) => void): Remover {
    return listen(this.#stateL, callback);
  }

  unsubscribe(): void {
    if (!this.#live) return;
    this.#live = false;
    this.#link.leave();
    emit(this.#stateL, UNSUBSCRIBED);
  }

  /** @internal */
  _deliver(p: Publication) {
    if (!this.#live) return;
    this.#position = Object.freeze({ epoch: p.epoch, offset: p.offset });
    try {
      this.#callback(p);
    } catch (err) {
      console.error("tether-ws: a listener threw", err);
    }
  }

  /** @internal */
  _emit(event: SubscriptionEvent) {
    if (this.#live) emit(this.#stateL, event);
  }
}

/** A frozen status from the wasm's fields (monotonic times made epoch ms). */
function makeStatus(s: Record<string, unknown>): Status {
  const toEpoch = (t: unknown) => (typeof t === "number" ? Math.round(Date.now() - performance.now() + t) : null);
  const close = s.lastClose as Status["lastClose"] | undefined;
  return Object.freeze({
    state: s.state as State,
    attempt: (s.attempt as number) ?? 0,
    nextRetryAt: toEpoch(s.nextRetryAt),
    lastClose: close ? Object.freeze({ ...close }) : null,
    lastError: (s.lastError as string) ?? null,
    lastErrorAt: toEpoch(s.lastErrorAt),
    rttMs: (s.rttMs as number) ?? null,
    clientId: (s.clientId as string) ?? null,
    queued: (s.queued as number) ?? 0,
    since: toEpoch(s.since ?? performance.now())!,
  });
}
