// The error `request()` rejects with: a class, so `instanceof RequestError`
// works, with a code the app can switch on.
import type { Frame } from "./types.js";

/** Codes the reference server answers with (docs/PROTOCOL.md, "Errors"). */
export type ServerErrorCode =
  | "bad_json"
  | "bad_frame"
  | "unknown_type"
  | "unknown_topic"
  | "forbidden"
  | "rate_limited"
  | "unavailable";

/** The client's own: no reply in time, the link went before one came, the
 * client was closed or freed, the offline queue was full, the request was
 * not a JSON object. */
export type ClientErrorCode = "timeout" | "link_lost" | "closed" | "queue_full" | "not_an_object";

/** Every code `RequestError.code` can hold; a foreign server's codes too
 * (any string), `null` for an error reply without one. */
// `string & {}` keeps the named codes in editors' completion.
export type RequestErrorCode = ClientErrorCode | ServerErrorCode | (string & {});

/** Why a `request()` failed. `reply` is the server's error frame, if any. */
export class RequestError extends Error {
  override readonly name = "RequestError";
  readonly code: RequestErrorCode | null;
  readonly reply: Frame | null;

  constructor(message: string, code: RequestErrorCode | null, reply: Frame | null) {
    super(message);
    this.code = code;
    this.reply = reply;
  }
}
