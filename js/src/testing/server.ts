// FakeServer: an in-process protocol-v1 server with no network
// (docs/PROTOCOL.md; README "Testing with FakeServer"). Links come from its
// `WebSocket` class (./socket.ts); frames are read as the reference server
// reads them (./decode.ts) and answered as it answers them
// (./requests.ts); topics keep their history as it does (./history.ts).
// Test controls cut, close, restart and refuse links.
import { TopicLog } from "./history.js";
import { answer, TOPIC_NAME, type Host, type Topic } from "./requests.js";
import { makeWebSocket, type ClientEnd, type FakeWebSocketConstructor, type ServerEnd } from "./socket.js";
import { FakeConnection, type Ended, type ReceivedFrame } from "./connection.js";

/** One topic: a name, or a name with options. */
export interface TopicOptions {
  /** 1-64 characters of `A-Z a-z 0-9 _ - . :`, as the server's `--topics`. */
  name: string;
  description?: string;
  /** Clients may `publish` on it (else `error` `forbidden`). Default false. */
  clientPublish?: boolean;
}

export interface FakeServerOptions {
  /** The topics, in the order the welcome and `get_topics` list them. */
  topics: readonly (string | TopicOptions)[];
  /** Publications kept per topic for `recover` and `rewind` (the server's `--history-size`). Default 1000. */
  historySize?: number;
  /** Most bytes of publication frames one `subscribe` replays (`--replay-bytes`). Default 1 MiB. */
  replayBytes?: number;
  /** Largest client message in UTF-8 bytes; larger: close 1009 (`--max-frame-bytes`). Default 65536. */
  maxFrameBytes?: number;
  /** Frames kept in `received` (the oldest go first). Default 10,000. */
  maxReceived?: number;
  /** `heartbeat_interval` of the welcome, in seconds: the SDK pings at this period. Default 25. */
  heartbeatInterval?: number;
  /** The URL its sockets accept (query ignored). Default `ws://fake-N.tether.test/ws`. */
  url?: string;
}

export interface GoawayOptions {
  /** `retry_after_ms`. Default 1000. */
  retryAfterMs?: number;
  /** `spread_ms`. Default 0 (the server's default is 5000; 0 keeps tests short). */
  spreadMs?: number;
  /** Close 1012 "server shutting down" right after, as the server does. Default true. */
  close?: boolean;
}

const FEATURES = ["topics", "recovery", "heartbeat", "rpc"];
let servers = 0;

const integer = (v: number | undefined, fallback: number, name: string, zero = false): number => {
  const n = v ?? fallback;
  if (!Number.isSafeInteger(n) || n < (zero ? 0 : 1)) throw new RangeError(`FakeServer: ${name} must be an integer >= ${zero ? 0 : 1}`);
  return n;
};

/** An in-process protocol-v1 server for tests: pass `.WebSocket` as the client's `WebSocket` option. */
export class FakeServer {
  /** The URL to give the client. */
  readonly url: string;
  /** The constructor to pass as the `WebSocket` option; its sockets connect only to this server. */
  readonly WebSocket: FakeWebSocketConstructor;
  #topics = new Map<string, Topic>();
  /** Open links and their client ends. */
  #links = new Map<FakeConnection, ClientEnd>();
  #received: ReceivedFrame[] = [];
  #refuse = 0;
  #made = 0;
  #started = Date.now();
  #in = 0;
  #out = 0;
  #onConnection = new Set<(c: FakeConnection) => void>();
  #onFrame = new Set<(frame: ReceivedFrame, c: FakeConnection) => void>();
  #onDisconnect = new Set<(c: FakeConnection) => void>();
  readonly #o: Required<Omit<FakeServerOptions, "topics" | "url">>;

  constructor(options: FakeServerOptions) {
    this.#o = {
      historySize: integer(options.historySize, 1000, "historySize"),
      replayBytes: integer(options.replayBytes, 1024 * 1024, "replayBytes", true),
      maxFrameBytes: integer(options.maxFrameBytes, 65_536, "maxFrameBytes"),
      maxReceived: integer(options.maxReceived, 10_000, "maxReceived", true),
      heartbeatInterval: options.heartbeatInterval ?? 25,
    };
    if (!(this.#o.heartbeatInterval > 0)) throw new RangeError("FakeServer: heartbeatInterval must be > 0 (seconds)");
    for (const t of options.topics) {
      const o = typeof t === "string" ? { name: t } : t;
      if (!TOPIC_NAME.test(o.name)) throw new RangeError(`FakeServer: invalid topic name ${JSON.stringify(o.name)}`);
      if (this.#topics.has(o.name)) throw new RangeError(`FakeServer: topic ${o.name} given twice`);
      const info = { name: o.name, description: o.description ?? "", client_publish: o.clientPublish === true };
      this.#topics.set(o.name, { info, log: new TopicLog(o.name, this.#o.historySize, this.#o.replayBytes) });
    }
    servers += 1;
    this.url = options.url ?? `ws://fake-${servers}.tether.test/ws`;
    const base = new URL(this.url);
    const home = base.origin + base.pathname;
    this.WebSocket = makeWebSocket({
      accept: (url, protocols, client) => {
        const u = new URL(url);
        // Another server's URL, or a subprotocol the server would not pick
        // (it negotiates none: a browser then fails the connection).
        if (u.origin + u.pathname !== home || protocols.length > 0) return null;
        if (this.#refuse > 0) {
          this.#refuse -= 1;
          return null;
        }
        return this.#accept(u, client);
      },
    });
  }

  /** Open links (welcomed and not closed). */
  get connections(): number {
    return this.#links.size;
  }

  /** The open links, oldest first: each with its `token`, `sdk`, `received`, ... */
  get clients(): readonly FakeConnection[] {
    return [...this.#links.keys()];
  }

  /** Every JSON-object frame clients sent, in arrival order (the last `maxReceived`). */
  get received(): readonly ReceivedFrame[] {
    return this.#received;
  }

  /** Calls `cb` with each new link before its welcome (close it there to refuse it); returns a remover. */
  onConnection(cb: (connection: FakeConnection) => void): () => void {
    this.#onConnection.add(cb);
    return () => void this.#onConnection.delete(cb);
  }

  /** Calls `cb` with each JSON-object frame a client sends, after the server answered it; returns a remover. */
  onFrame(cb: (frame: ReceivedFrame, connection: FakeConnection) => void): () => void {
    this.#onFrame.add(cb);
    return () => void this.#onFrame.delete(cb);
  }

  /** Calls `cb` with each link that ended (see its `ended`), however it ended; returns a remover. */
  onDisconnect(cb: (connection: FakeConnection) => void): () => void {
    this.#onDisconnect.add(cb);
    return () => void this.#onDisconnect.delete(cb);
  }

  /** Publishes on `topic` (as `POST /publish`): kept, sent to its subscribers. */
  publish(topic: string, data?: unknown, event?: string): { epoch: string; offset: number } {
    const t = this.#topics.get(topic);
    if (!t) throw new RangeError(`FakeServer: unknown topic ${topic}`);
    const kept = t.log.append(data, event);
    for (const c of this.#links.keys()) if (c._subscribed(topic)) this.#send(c, kept.text);
    return { epoch: kept.frame.epoch, offset: kept.frame.offset };
  }

  /** A topic's epoch, latest offset and how many publications it keeps. */
  topic(name: string): { epoch: string; offset: number; kept: number } {
    const t = this.#topics.get(name);
    if (!t) throw new RangeError(`FakeServer: unknown topic ${name}`);
    return { epoch: t.log.epoch, offset: t.log.offset, kept: t.log.kept };
  }

  /** Cuts every link without a close frame (the client sees 1006; frames on their way are lost). */
  drop(): void {
    for (const c of this.clients) c.drop();
  }

  /** Closes every link with a close frame. */
  close(code = 1000, reason = ""): void {
    for (const c of this.clients) c.close(code, reason);
  }

  /** `goaway` to every link, then (unless `close: false`) close 1012 "server shutting down". */
  goaway({ retryAfterMs = 1000, spreadMs = 0, close = true }: GoawayOptions = {}): void {
    const frame = JSON.stringify({
      type: "goaway",
      reason: "shutdown",
      retry_after_ms: integer(retryAfterMs, 0, "retryAfterMs", true),
      spread_ms: integer(spreadMs, 0, "spreadMs", true),
    });
    for (const c of this.clients) {
      c.send(frame);
      if (close) c.close(1012, "server shutting down");
    }
  }

  /** A crash and restart of an in-memory server: every topic gets a new epoch (history lost), every link is closed 1012 "simulated restart". */
  restart(): void {
    for (const t of this.#topics.values()) t.log.reset();
    this.close(1012, "simulated restart");
  }

  /**
   * The next `n` handshakes fail (error, then close 1006: what a browser
   * reports for a refused connection). `Infinity`: every one until
   * `refuse(0)` (a server that stays down). Replaces the previous count.
   */
  refuse(n = 1): void {
    this.#refuse = n === Infinity ? n : integer(n, 1, "refuse(n)", true);
  }

  #accept(url: URL, client: ClientEnd): ServerEnd {
    this.#made += 1;
    const id = "c_" + Math.floor(Math.random() * 0x100_0000).toString(16).padStart(6, "0") + this.#made.toString(16);
    const q = url.searchParams;
    const c: FakeConnection = new FakeConnection(id, url.href, q.get("token"), q.get("sdk")?.slice(0, 64) ?? null, {
      send: (text) => this.#send(c, text),
      close: (code, reason) => this.#end(c, { by: "server", code, reason }) && client.closed(code, reason),
      drop: () => this.#end(c, { by: "cut", code: 1006, reason: "" }) && client.cut(),
      open: () => this.#links.has(c),
    });
    this.#links.set(c, client);
    for (const cb of [...this.#onConnection]) cb(c);
    if (this.#links.has(c)) {
      this.#send(c, JSON.stringify({
        type: "connection_established",
        protocol: 1,
        client_id: id,
        timestamp: new Date().toISOString(),
        heartbeat_interval: this.#o.heartbeatInterval,
        available_topics: [...this.#topics.keys()],
        server_info: { name: "tether-ws/testing", version: "fake", features: FEATURES },
      }));
    }
    return {
      receive: (data) => this.#receive(c, data),
      // The client's close: echoed with its code, as the server does.
      closing: (code, reason) => this.#end(c, { by: "client", code: code ?? 1005, reason }) && client.closed(code ?? 1000, ""),
    };
  }

  /** Unregisters `c`; false if it already was. */
  #end(c: FakeConnection, ended: Ended): boolean {
    if (!this.#links.delete(c)) return false;
    c._end(ended);
    for (const cb of [...this.#onDisconnect]) cb(c);
    return true;
  }

  #send(c: FakeConnection, text: string): void {
    const client = this.#links.get(c);
    if (!client) return;
    this.#out += 1;
    c._sent();
    client.message(text);
  }

  #reply(c: FakeConnection, frame: Record<string, unknown>): void {
    this.#send(c, JSON.stringify(frame));
  }

  /** What the request handling (./requests.ts) uses. */
  #host: Host = {
    topics: this.#topics,
    send: (c, text) => this.#send(c, text),
    publish: (topic, data, event) => this.publish(topic, data, event),
    stats: () => ({
      connections: this.#links.size,
      uptime_s: Math.floor((Date.now() - this.#started) / 1000),
      messages_in: this.#in,
      messages_out: this.#out,
    }),
  };

  #receive(c: FakeConnection, data: string | ArrayBuffer | ArrayBufferView): void {
    if (!this.#links.has(c)) return;
    const bytes = typeof data === "string" ? new TextEncoder().encode(data).length : data.byteLength;
    if (bytes > this.#o.maxFrameBytes) return c.close(1009, "message too large");
    this.#in += 1;
    c._activity();
    if (typeof data !== "string") {
      return this.#reply(c, { type: "error", code: "bad_frame", message: "binary frames are not supported; send JSON text" });
    }
    const record = answer(this.#host, c, data);
    if (!record) return;
    this.#received.push(record);
    if (this.#received.length > this.#o.maxReceived) this.#received.shift();
    c._received(record, this.#o.maxReceived);
    for (const cb of [...this.#onFrame]) cb(record, c);
  }
}
