// The server's answers to client frames (server/src/conn.rs, handle_text):
// a frame is read (./decode.ts), then answered with the reply, or the
// error, the reference server sends; the frame, if a JSON object, is
// returned for the record (`received`).
import type { FakeConnection, ReceivedFrame } from "./connection.js";
import { decode, MAX_ERROR_MESSAGE, truncate, type ClientFrame } from "./decode.js";
import type { TopicLog } from "./history.js";

/** A topic name the server accepts in `--topics`. */
export const TOPIC_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface Topic {
  info: { name: string; description: string; client_publish: boolean };
  log: TopicLog;
}

/** What the answers need of the server. */
export interface Host {
  readonly topics: ReadonlyMap<string, Topic>;
  /** Sends a text frame to `c` (if it is still open). */
  send(c: FakeConnection, text: string): void;
  publish(topic: string, data: unknown, event: string | undefined): { epoch: string; offset: number };
  /** `pong.stats`. */
  stats(): { connections: number; uptime_s: number; messages_in: number; messages_out: number };
}

const reply = (host: Host, c: FakeConnection, frame: Record<string, unknown>) => host.send(c, JSON.stringify(frame));

/** Answers one text frame from `c`; returns it parsed when it is a JSON object (frozen: it is shared). */
export function answer(host: Host, c: FakeConnection, text: string): ReceivedFrame | undefined {
  const { parsed, frame, error } = decode(text);
  if (error) reply(host, c, { type: "error", ...(error.id !== undefined && { id: error.id }), code: error.code, message: error.message });
  else if (frame) handle(host, c, frame);
  return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? Object.freeze(parsed as ReceivedFrame) : undefined;
}

function unknownTopic(host: Host, c: FakeConnection, id: number, topic: string): void {
  const message = TOPIC_NAME.test(topic)
    ? truncate(`unknown topic \`${topic}\``, MAX_ERROR_MESSAGE)
    : "invalid topic name: use 1-64 characters of A-Z a-z 0-9 _ - . :";
  reply(host, c, { type: "error", id, code: "unknown_topic", message, available_topics: [...host.topics.keys()] });
}

function handle(host: Host, c: FakeConnection, f: ClientFrame): void {
  const now = () => new Date().toISOString();
  switch (f.type) {
    case "subscribe": {
      const t = host.topics.get(f.topic);
      if (!t) return unknownTopic(host, c, f.id, f.topic);
      const { recovered, replay } = t.log.answer(f.recover, f.rewind);
      const { epoch, offset } = t.log;
      reply(host, c, { type: "subscribed", id: f.id, topic: f.topic, epoch, offset, recovered, missed: replay.length });
      for (const k of replay) host.send(c, k.text);
      c._subscribe(f.topic, true);
      return;
    }
    case "unsubscribe":
      if (!host.topics.has(f.topic)) return unknownTopic(host, c, f.id, f.topic);
      c._subscribe(f.topic, false);
      return reply(host, c, { type: "unsubscribed", id: f.id, topic: f.topic });
    case "ping":
      return reply(host, c, { type: "pong", id: f.id, server_time: now(), ...(f.include_stats && { stats: host.stats() }) });
    case "publish": {
      const t = host.topics.get(f.topic);
      if (!t) return unknownTopic(host, c, f.id, f.topic);
      if (!t.info.client_publish) {
        const message = truncate(`clients may not publish on \`${f.topic}\``, MAX_ERROR_MESSAGE);
        return reply(host, c, { type: "error", id: f.id, code: "forbidden", message });
      }
      // Delivered (to the publisher too, if subscribed) before the reply.
      const { epoch, offset } = host.publish(f.topic, f.data, f.event);
      return reply(host, c, { type: "published", id: f.id, epoch, offset });
    }
    case "get_status":
      return reply(host, c, { type: "status", id: f.id, ...c._status() });
    case "get_topics":
      return reply(host, c, { type: "topics", id: f.id, topics: [...host.topics.values()].map((t) => ({ ...t.info })) });
    case "pong":
      return;
  }
}
