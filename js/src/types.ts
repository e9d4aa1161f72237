// The public types of the package (README "API", "Status fields",
// "Options"). The published .d.ts is compiled from these.

/** Connection state; see the README's state diagram. */
export type State = "idle" | "connecting" | "open" | "reconnecting" | "offline" | "closed" | "failed";
/** State of one subscription. */
export type SubscriptionState = "pending" | "subscribed" | "unsubscribed" | "failed";
/** How the last link ended. */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}
/** The status snapshot (`Tether.status`, `onStatus`); frozen. */
export interface Status {
  readonly state: State;
  /** 0 while open; n while connecting for, or waiting for, retry n. */
  readonly attempt: number;
  /** Epoch ms of the next retry while reconnecting, else null. */
  readonly nextRetryAt: number | null;
  readonly lastClose: CloseInfo | null;
  /** What failed last and where (`handshake failed: ws://host/ws`,
   * `connect timeout after 10000 ms`, `refused: 403 (...)` where the
   * runtime tells); cleared when a link opens. */
  readonly lastError: string | null;
  /** Epoch ms when `lastError` was set. */
  readonly lastErrorAt: number | null;
  readonly rttMs: number | null;
  readonly clientId: string | null;
  /** Frames waiting in the offline send queue. */
  readonly queued: number;
  /** Epoch ms of the last state change. */
  readonly since: number;
}
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  jitter?: "full" | "equal" | "none";
  /** Failed retries before `failed`; null = never give up. */
  maxAttempts?: number | null;
}
export interface HeartbeatOptions {
  /** null = the server's heartbeat_interval, else 25000. */
  intervalMs?: number | null;
  timeoutMs?: number;
  /** Ping period while the page is hidden (default: the same as visible). */
  hiddenIntervalMs?: number;
}
export interface QueueOptions {
  maxMessages?: number;
  maxBytes?: number;
}
export interface RawOptions {
  pingMessage?: object | string;
  pongType?: string;
}
/** What the `WebSocket` option must construct (the browser's, Node's `ws`, a test fake). */
export interface WebSocketLike {
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;
export type LogLevel = "debug" | "info" | "warn" | "error";
/** Receives every attempt, open, close, retry schedule, timeout and dropped message. */
export type Logger = (level: LogLevel, message: string, data?: unknown) => void;
/** Every option is optional; defaults in the README. */
export interface TetherOptions {
  autoConnect?: boolean;
  mode?: "tether" | "raw";
  protocols?: string | string[];
  /** Called before every attempt; the token goes in the `token` query parameter. */
  tokenProvider?: () => string | Promise<string>;
  connectTimeoutMs?: number;
  stableAfterMs?: number;
  backoff?: BackoffOptions;
  heartbeat?: HeartbeatOptions | false;
  queue?: QueueOptions;
  raw?: RawOptions;
  /** Used instead of `globalThis.WebSocket` (Node's `ws` package, test fakes). */
  WebSocket?: WebSocketConstructor;
  logger?: Logger;
}
/** A publication frame as received. */
export interface Publication<T = unknown> {
  type: "publication";
  topic: string;
  event: string;
  epoch: string;
  offset: number;
  broadcast_id: string;
  timestamp: string;
  data: T;
}
/** What `Subscription.onState` listeners receive; frozen. */
export interface SubscriptionEvent {
  readonly state: SubscriptionState;
  /** null: no recovery asked; false: missed messages cannot be replayed (reload over REST). */
  readonly recovered: boolean | null;
  readonly missed: number;
  readonly error: string | null;
}
/** Where a subscription is: the last publication delivered. */
export interface Position {
  readonly epoch: string;
  readonly offset: number;
}
export interface SubscribeOptions {
  /** false: never ask the server to replay what was missed (default true). */
  recover?: boolean;
  /** History on load: up to this many of the latest kept publications are
   * delivered first, then live ones; asked again on every resubscribe the
   * server cannot recover (after a restart: the new history). */
  rewind?: number;
  /** Continue exactly after a position the app saved (`Subscription.position`,
   * or a `GET /topics/{name}/history` answer): what was published since is
   * replayed if the server still keeps it (`recovered` says). */
  since?: Position;
}
export interface RequestOptions {
  timeoutMs?: number;
}
/** A server frame: an object with a string `type`. */
export interface Frame {
  type: string;
  [field: string]: unknown;
}
/** Removes the listener it was returned for; harmless to call again, and after close()/free(). */
export type Remover = () => void;
