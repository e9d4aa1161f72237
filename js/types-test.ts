// Compile-only test of the published declarations (tsc --noEmit): correct
// usage type-checks, and each @ts-expect-error line must fail to.
import { RequestError, Tether, ready, type Publication, type RequestErrorCode, type State, type Status, type SubscriptionEvent } from "tether-ws";
import {
  TetherProvider,
  useConnectionStatus,
  useRetryCountdown,
  useSubscription,
  useTether,
  useTopic,
  useTopicLog,
} from "tether-ws/react";

const t = new Tether("ws://127.0.0.1:8787/ws", {
  autoConnect: false,
  mode: "tether",
  tokenProvider: async () => "token",
  backoff: { maxMs: 5000, jitter: "equal", maxAttempts: null },
  heartbeat: { intervalMs: null, timeoutMs: 5000 },
  queue: { maxMessages: 10 },
});
new Tether("ws://127.0.0.1:8787/ws");
new Tether(["ws://a.example/ws", "ws://b.example/ws"]);
new Tether("ws://127.0.0.1:8787/ws", { heartbeat: false, raw: { pingMessage: { type: "ping" } } });

const state: State = t.state;
const status: Status = t.status;
const retryAt: number | null = status.nextRetryAt;
const code: number | undefined = status.lastClose?.code;
const removeStatus: () => void = t.onStatus((s: Status) => s.attempt + 1);
removeStatus();
t.onMessage((m: unknown) => m);
t.on("alert", (m) => m.type.toUpperCase());

const sub = t.subscribe("miners", (p: Publication) => p.offset + String(p.data).length);
sub.onState((e: SubscriptionEvent) => (e.recovered === false ? e.missed : e.error));
const subState: "pending" | "subscribed" | "unsubscribed" | "failed" = sub.state;
sub.unsubscribe();
t.subscribe("alerts", () => {}, { recover: false });

const queued: boolean = t.send({ type: "hello" }) && t.send("text");
async function requests() {
  const reply = await t.request({ type: "get_topics" }, { timeoutMs: 1000 });
  const kind: string = reply.type;
  const typed = await t.request<{ type: "topics"; topics: { name: string }[] }>({ type: "get_topics" });
  const names: string[] = typed.topics.map((x) => x.name);
  try {
    await t.request({ type: "get_status" });
  } catch (e) {
    if (e instanceof RequestError) {
      const code: RequestErrorCode | null = e.code;
      if (code === "timeout" || code === "unknown_topic") return [kind, names, e.reply?.type];
    }
  }
  // @ts-expect-error: R must be a frame (an object with a string type)
  await t.request<{ topics: string[] }>({ type: "get_topics" });
  return kind;
}
const hist = t.subscribe<{ n: number }>("alerts", (p) => p.data.n.toFixed(), { rewind: 50 });
const pos: { readonly epoch: string; readonly offset: number } | null = hist.position;
if (pos) t.subscribe("alerts", () => {}, { since: pos });
// @ts-expect-error: since is a position
t.subscribe("alerts", () => {}, { since: 5 });
// @ts-expect-error: the payload type follows the subscription's
t.subscribe<{ n: number }>("alerts", (p) => p.data.m);
t.reconnect();
const loaded: Promise<void> = ready;
new Tether("ws://x", { logger: (level, message, data) => console.log(level.toUpperCase(), message, data) });
// @ts-expect-error: the log level is a known union
new Tether("ws://x", { logger: (level: "trace") => level });
// @ts-expect-error: the WebSocket option is a constructor
new Tether("ws://x", { WebSocket: () => null });
t.close(1000, "bye");
t.close();

// @ts-expect-error: unknown option name (excess property)
new Tether("ws://x", { heartBeat: false });
// @ts-expect-error: wrong option type
new Tether("ws://x", { backoff: { jitter: "sometimes" } });
// @ts-expect-error: wrong option type
new Tether("ws://x", { connectTimeoutMs: "10s" });
// @ts-expect-error: status listener receives a Status, not a string
t.onStatus((s: string) => s);
// @ts-expect-error: publication callback gets a Publication
t.subscribe("miners", (p: number) => p);
// @ts-expect-error: state is a known union
const bad: "connected" = t.state;
// @ts-expect-error: request needs an object with a type
t.request("get_topics");

function Hooks() {
  const client: Tether = useTether();
  const s: Status = useConnectionStatus();
  const { last, event } = useTopic<{ hashrate: number }>("miners");
  const rate: number | undefined = last?.data.hashrate;
  // @ts-expect-error: typed payload
  const wrong: string | undefined = last?.data.hashrate;
  const log: readonly Publication<{ n: number }>[] = useTopicLog<{ n: number }>("alerts", { limit: 20 });
  const n: number | undefined = log[0]?.data.n;
  // @ts-expect-error: the log is read-only
  log.push(log[0]);
  const retryIn: number | null = useRetryCountdown();
  useSubscription<{ n: number }>("alerts", (p) => p.data.n.toFixed());
  return [client, s, rate, event, wrong, n, retryIn];
}
const provider = TetherProvider({ url: "ws://x", options: { backoff: { maxMs: 1 } } });
// @ts-expect-error: url (or client) is required
TetherProvider({ options: {} });
TetherProvider({ url: ["ws://a/ws", "ws://b/ws"] });
TetherProvider({ client: t });
// @ts-expect-error: a client, or a url with options, not both
TetherProvider({ client: t, url: "ws://x" });

export { loaded, state, retryAt, code, subState, queued, requests, bad, Hooks, provider };
