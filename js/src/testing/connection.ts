// One link as the FakeServer sees it: what the client asked for in its URL,
// what it sent, what it is subscribed to, and controls for this link only.

/** A frame a client sent, parsed (JSON objects only). */
export type ReceivedFrame = { readonly [field: string]: unknown };

/** How a link ended: who closed it, with what code and reason (`cut`: no close frame, 1006). */
export interface Ended {
  readonly by: "client" | "server" | "cut";
  readonly code: number;
  readonly reason: string;
}

/** What the server does for a connection's controls. */
interface Link {
  send(text: string): void;
  close(code: number, reason: string): void;
  drop(): void;
  open(): boolean;
}

/** One client link of a FakeServer. */
export class FakeConnection {
  /** The welcome's `client_id`. */
  readonly clientId: string;
  /** The URL the client connected to, query included. */
  readonly url: string;
  /** The `token` query parameter (the SDK's `tokenProvider`), or null. */
  readonly token: string | null;
  /** The `sdk` query parameter (cut to 64 characters), or null. */
  readonly sdk: string | null;
  #link: Link;
  #subs = new Set<string>();
  #received: ReceivedFrame[] = [];
  #connectedAt = new Date().toISOString();
  #lastActivity = this.#connectedAt;
  #in = 0;
  #out = 0;
  #ended: Ended | null = null;

  /** @internal made by FakeServer. */
  constructor(clientId: string, url: string, token: string | null, sdk: string | null, link: Link) {
    this.clientId = clientId;
    this.url = url;
    this.token = token;
    this.sdk = sdk;
    this.#link = link;
  }

  /** Whether the link is still open on the server's side. */
  get open(): boolean {
    return this.#link.open();
  }

  /** How the link ended; null while open. */
  get ended(): Ended | null {
    return this.#ended;
  }

  /** Topics this link is subscribed to, sorted. */
  get subscriptions(): readonly string[] {
    return [...this.#subs].sort();
  }

  /** The JSON-object frames this link sent, in order (the last `maxReceived`). */
  get received(): readonly ReceivedFrame[] {
    return this.#received;
  }

  /** Sends any frame to this client (an object is JSON-encoded): a server `ping`, a malformed frame, ... */
  send(frame: object | string): void {
    this.#link.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Closes this link with a close frame. */
  close(code = 1000, reason = ""): void {
    if (!Number.isInteger(code) || code < 1000 || code > 4999 || [1004, 1005, 1006, 1015].includes(code)) {
      throw new RangeError(`FakeServer: ${code} cannot be sent in a close frame`);
    }
    if (new TextEncoder().encode(reason).length > 123) throw new RangeError("FakeServer: a close reason is at most 123 bytes");
    this.#link.close(code, reason);
  }

  /** Cuts this link without a close frame (the client sees 1006). */
  drop(): void {
    this.#link.drop();
  }

  /** @internal */
  _end(ended: Ended): void {
    this.#ended = Object.freeze(ended);
  }

  /** @internal */
  _subscribed(topic: string): boolean {
    return this.#subs.has(topic);
  }

  /** @internal */
  _subscribe(topic: string, on: boolean): void {
    if (on) this.#subs.add(topic);
    else this.#subs.delete(topic);
  }

  /** @internal a text frame was sent to the client. */
  _sent(): void {
    this.#out += 1;
  }

  /** @internal */
  _activity(): void {
    this.#in += 1;
    this.#lastActivity = new Date().toISOString();
  }

  /** @internal */
  _received(frame: ReceivedFrame, max: number): void {
    this.#received.push(frame);
    if (this.#received.length > max) this.#received.shift();
  }

  /** @internal the fields of a `status` reply. */
  _status(): Record<string, unknown> {
    return {
      client_id: this.clientId,
      connected_at: this.#connectedAt,
      last_activity: this.#lastActivity,
      subscriptions: this.subscriptions,
      messages_in: this.#in,
      messages_out: this.#out,
    };
  }
}
