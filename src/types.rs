//! TypeScript declarations for the values the JS API passes around. The
//! class methods refer to these names through `unchecked_*_type`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Connection state; see the README's state diagram. */
export type State = "idle" | "connecting" | "open" | "reconnecting" | "offline" | "closed" | "failed";
/** State of one subscription. */
export type SubscriptionState = "pending" | "subscribed" | "unsubscribed" | "failed";
/** How the last link ended. */
export interface CloseInfo { code: number; reason: string; wasClean: boolean }
/** The status snapshot (`Tether.status`, `onStatus`). */
export interface Status {
  state: State;
  /** 0 while open; n while connecting for, or waiting for, retry n. */
  attempt: number;
  /** Epoch ms of the next retry while reconnecting, else null. */
  nextRetryAt: number | null;
  lastClose: CloseInfo | null;
  lastError: string | null;
  rttMs: number | null;
  clientId: string | null;
  /** Frames waiting in the offline send queue. */
  queued: number;
  /** Epoch ms of the last state change. */
  since: number;
}
export interface BackoffOptions {
  initialMs?: number; maxMs?: number; factor?: number;
  jitter?: "full" | "equal" | "none";
  /** Failed retries before `failed` (a link that dies before `stableAfterMs` is a failed attempt); null = never give up. */
  maxAttempts?: number | null;
}
export interface HeartbeatOptions {
  /** null = the server's heartbeat_interval, else 25000. */
  intervalMs?: number | null;
  timeoutMs?: number;
}
export interface QueueOptions { maxMessages?: number; maxBytes?: number }
export interface RawOptions { pingMessage?: object | string; pongType?: string }
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
/** What `Subscription.onState` listeners receive. */
export interface SubscriptionEvent {
  state: SubscriptionState;
  /** null: no recovery asked; false: missed messages cannot be replayed (reload over REST). */
  recovered: boolean | null;
  missed: number;
  error: string | null;
}
export interface SubscribeOptions { recover?: boolean }
export interface RequestOptions { timeoutMs?: number }
/** A server frame: an object with a string `type`. */
export interface Frame { type: string; [field: string]: unknown }
/** Rejection of `request()`: `code` is the server's error code or
 * "timeout" | "link_lost" | "closed" | "queue_full" | "not_an_object". */
export interface RequestError extends Error { code: string | null; reply: Frame | null }
/** Removes the listener it was returned for. */
export type Remover = () => void;
"#;
