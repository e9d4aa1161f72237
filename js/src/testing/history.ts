// One topic's log, as the reference server's in-memory hub keeps it
// (server/src/log.rs, MemoryLog): an epoch, the latest offset, and the last
// `historySize` publications; and the two decisions it makes on a
// `subscribe`: recovery (docs/PROTOCOL.md, "Recovery") and `rewind`.

/** A publication frame, as every subscriber receives it. */
export interface PublicationFrame {
  readonly type: "publication";
  readonly topic: string;
  readonly event: string;
  readonly epoch: string;
  readonly offset: number;
  readonly broadcast_id: string;
  readonly timestamp: string;
  readonly data: unknown;
}

/** A kept publication: its frame and the frame's text (serialized once). */
export interface Kept {
  readonly frame: PublicationFrame;
  readonly text: string;
  /** UTF-8 bytes of `text` (the replay cap counts bytes, as the server). */
  readonly bytes: number;
}

/** What follows `subscribed`. */
export interface Replay {
  /** `subscribed.recovered`: null when no `recover` was sent. */
  readonly recovered: boolean | null;
  /** The publications that follow `subscribed`, oldest first (`missed`). */
  readonly replay: readonly Kept[];
}

const encoder = new TextEncoder();

/** `e` + 8 random hex digits, as the server draws them. */
export const newEpoch = (): string => "e" + Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, "0");

export class TopicLog {
  epoch = newEpoch();
  offset = 0;
  #kept: Kept[] = [];

  constructor(readonly topic: string, readonly historySize: number, readonly replayBytes: number) {}

  /** Appends a publication; returns it (kept only while `historySize` allows). */
  append(data: unknown, event: string | undefined): Kept {
    this.offset += 1;
    const frame: PublicationFrame = {
      type: "publication",
      topic: this.topic,
      event: event ?? `${this.topic}_update`,
      epoch: this.epoch,
      offset: this.offset,
      broadcast_id: `${this.topic}_${this.epoch}_${this.offset}`,
      timestamp: new Date().toISOString(),
      // `null` when absent, as the server's `data` field.
      data: data === undefined ? null : data,
    };
    const text = JSON.stringify(frame);
    const kept = { frame, text, bytes: encoder.encode(text).length };
    this.#kept.push(kept);
    if (this.#kept.length > this.historySize) this.#kept.shift();
    return kept;
  }

  /** History lost: a new epoch, offsets from 1 again. */
  reset(): void {
    this.epoch = newEpoch();
    this.offset = 0;
    this.#kept = [];
  }

  /** How many publications are kept now. */
  get kept(): number {
    return this.#kept.length;
  }

  /**
   * The answer to a `subscribe`: with `recover`, the server's rules
   * (same epoch, not ahead, every later publication kept, replay within
   * `replayBytes` -> recovered true and exactly those); when that was not
   * asked or failed, `rewind` gives the newest min(rewind, kept) of the
   * current epoch (within `replayBytes` too).
   */
  answer(recover: { epoch: string; offset: number } | undefined, rewind: number | undefined): Replay {
    if (recover) {
      const n = this.offset - recover.offset;
      const ok =
        recover.epoch === this.epoch && n >= 0 &&
        // Offsets are contiguous: the newest n kept are exactly those after it.
        (n === 0 || this.#fitting(n) === n);
      if (ok) return { recovered: true, replay: this.#last(n) };
    }
    const recovered = recover ? false : null;
    return { recovered, replay: this.#last(this.#fitting(rewind ?? 0)) };
  }

  /** How many of the newest (at most `n`) kept frames fit in `replayBytes`. */
  #fitting(n: number): number {
    let bytes = 0;
    let count = 0;
    for (let i = this.#kept.length - 1; i >= 0 && count < n; i--) {
      bytes += this.#kept[i].bytes;
      if (bytes > this.replayBytes) break;
      count += 1;
    }
    return count;
  }

  #last(n: number): Kept[] {
    return n === 0 ? [] : this.#kept.slice(-n);
  }
}
