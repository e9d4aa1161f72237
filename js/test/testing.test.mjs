// tether-ws/testing: the real facade (out/sdk) against FakeServer, in Node
// with no network and no Chromium; and the fake's protocol answers read by
// a bare socket of its own. Every wait is on an event: a listener calls
// `check`, which re-tests the pending conditions.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { SDK_DIR } from "./harness.mjs";

const { Tether, ready } = await import(join(SDK_DIR, "index.js"));
const { FakeServer } = await import(join(SDK_DIR, "testing.js"));
await ready;

const waiters = new Set();
/** Re-tests every pending condition (called by every listener below). */
const check = () => {
  for (const w of [...waiters]) w();
};
/** Resolves once `pred()` holds, re-tested on each `check`; fails after 10 s. */
function until(what, pred) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (waiters.delete(w), reject(new Error(`timed out waiting for ${what}`))), 10_000);
    const w = () => {
      let ok;
      try {
        ok = pred();
      } catch (e) {
        ok = e;
      }
      if (!ok) return;
      waiters.delete(w);
      clearTimeout(timer);
      ok instanceof Error ? reject(ok) : resolve(ok);
    };
    waiters.add(w);
    w();
  });
}

/** A server whose every frame from a client and every new link runs `check`. */
function fake(options) {
  const server = new FakeServer({ topics: ["miners", "alerts", { name: "chat", clientPublish: true }], ...options });
  server.onFrame(check);
  server.onConnection(() => queueMicrotask(check));
  server.onDisconnect(check);
  return server;
}

/** A facade client of `server` whose status listener runs `check`; `statuses` records every status. */
function client(server, options = {}) {
  const t = new Tether(server.url, { WebSocket: server.WebSocket, ...options });
  const statuses = [];
  t.onStatus((s) => (statuses.push(s), check()));
  return { t, statuses };
}

/** A subscription recording data and offsets (`got`) and state events (`events`). */
function subscribe(t, topic, opts) {
  const got = [];
  const events = [];
  const sub = t.subscribe(topic, (p) => (got.push(p), check()), opts);
  sub.onState((e) => (events.push(e), check()));
  // What each `subscribed` said (the link's loss makes it `pending` in between).
  const answers = () => events.filter((e) => e.state === "subscribed").map((e) => [e.recovered, e.missed]);
  return { sub, got, events, answers, offsets: () => got.map((p) => p.offset) };
}

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** A bare socket of the fake (no SDK): `frames` is every parsed message; `next(pred)` waits for one. */
function bare(server, url = server.url) {
  const ws = new server.WebSocket(url);
  const s = { ws, frames: [], events: [], close: null };
  ws.onopen = () => (s.events.push("open"), check());
  ws.onerror = () => (s.events.push("error"), check());
  ws.onmessage = (e) => (s.frames.push(JSON.parse(e.data)), check());
  ws.onclose = (e) => ((s.close = { code: e.code, reason: e.reason, wasClean: e.wasClean }), s.events.push("close"), check());
  let seen = 0;
  /** @type {(what: string, pred?: (frame: any) => boolean) => Promise<any>} */
  s.next = (what, pred = () => true) =>
    until(what, () => {
      while (seen < s.frames.length) {
        const f = s.frames[seen++];
        if (pred(f)) return f;
      }
      return false;
    });
  s.send = (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  return s;
}

test("connects: status open, the welcome's client id, token and sdk in the URL", async () => {
  const server = fake();
  const { t } = client(server, { tokenProvider: () => "tok en" });
  try {
    assert.equal(t.state, "connecting");
    await until("open", () => t.state === "open");
    assert.equal(server.connections, 1);
    const [c] = server.clients;
    assert.equal(t.status.clientId, c.clientId);
    assert.match(c.clientId, /^c_[0-9a-f]{6}1$/);
    assert.equal(c.token, "tok en");
    assert.match(c.sdk, /^tether-ws\/\d+\.\d+\.\d+/);
    assert.ok(c.url.startsWith(server.url + "?"), c.url);
  } finally {
    t.free();
  }
  await until("the link closed by free()", () => server.connections === 0);
  assert.equal(server.clients.length, 0);
});

test("onConnection sees the token before the welcome: closing there refuses the link as the server's auth does (4401)", async () => {
  const server = fake();
  server.onConnection((c) => c.token !== "good" && c.close(4401, "token expired"));
  const tokens = ["old", "good"];
  const { t, statuses } = client(server, { tokenProvider: () => tokens.shift(), backoff: { initialMs: 1, maxMs: 5 } });
  try {
    await until("open", () => t.state === "open");
    const refused = statuses.find((s) => s.lastClose?.code === 4401);
    assert.deepEqual(refused.lastClose, { code: 4401, reason: "token expired", wasClean: true });
    assert.equal(server.clients[0].token, "good");
    assert.equal(statuses.filter((s) => s.state === "open").length, 1, "no welcome on the refused link");
  } finally {
    t.free();
  }
});

test("subscribes and receives every publication in order, with the server's fields", async () => {
  const server = fake();
  const { t } = client(server);
  const s = subscribe(t, "miners");
  try {
    await until("subscribed", () => s.sub.state === "subscribed");
    assert.deepEqual(server.clients[0].subscriptions, ["miners"]);
    const positions = range(1, 100).map((n) => server.publish("miners", { n }));
    server.publish("alerts", { not: "subscribed" });
    await until("100 publications", () => s.got.length === 100);
    assert.deepEqual(s.offsets(), range(1, 100));
    assert.deepEqual(s.got.map((p) => p.data.n), range(1, 100));
    const { epoch } = positions[0];
    assert.match(epoch, /^e[0-9a-f]{8}$/);
    assert.deepEqual(positions.at(-1), { epoch, offset: 100 });
    const p = s.got[41];
    assert.deepEqual({ ...p, timestamp: "" }, {
      type: "publication", topic: "miners", event: "miners_update", epoch, offset: 42,
      broadcast_id: `miners_${epoch}_42`, timestamp: "", data: { n: 42 },
    });
    assert.match(p.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(s.events.map((e) => [e.state, e.recovered, e.missed]), [["subscribed", null, 0]]);
  } finally {
    t.free();
  }
});

test("drop: reconnects and recovers with an exact replay (no gap, no duplicate), frames in flight included", async () => {
  const server = fake();
  const { t } = client(server, { backoff: { initialMs: 1, maxMs: 5 } });
  const s = subscribe(t, "miners");
  try {
    await until("subscribed", () => s.sub.state === "subscribed");
    for (const n of range(1, 3)) server.publish("miners", { n });
    await until("1..3", () => s.got.length === 3);
    // 4 is on its way when the link is cut: lost with it, replayed later.
    server.publish("miners", { n: 4 });
    server.drop();
    await until("reconnecting", () => t.state === "reconnecting");
    assert.equal(t.status.lastClose.code, 1006);
    assert.equal(t.status.lastClose.wasClean, false);
    for (const n of range(5, 6)) server.publish("miners", { n });
    await until("resubscribed", () => s.answers().length === 2);
    assert.deepEqual(s.answers(), [[null, 0], [true, 3]]);
    const recover = server.received.filter((f) => f.type === "subscribe").map((f) => f.recover);
    assert.deepEqual(recover, [undefined, { epoch: server.topic("miners").epoch, offset: 3 }]);
    server.publish("miners", { n: 7 });
    await until("7, live", () => s.got.length === 7);
    assert.deepEqual(s.offsets(), range(1, 7));
    assert.deepEqual(s.got.map((p) => p.data.n), range(1, 7));
    assert.equal(server.connections, 1);
  } finally {
    t.free();
  }
});

test("restart: new epoch, history lost: the resubscription reports recovered false, then the new epoch is live", async () => {
  const server = fake();
  const { t } = client(server, { backoff: { initialMs: 1, maxMs: 5 } });
  const s = subscribe(t, "miners");
  try {
    await until("subscribed", () => s.sub.state === "subscribed");
    const before = server.publish("miners", { n: 1 });
    await until("1", () => s.got.length === 1);
    server.restart();
    await until("resubscribed", () => s.answers().length === 2);
    assert.equal(t.status.lastClose.code, 1012);
    assert.equal(t.status.lastClose.reason, "simulated restart");
    assert.deepEqual(s.answers(), [[null, 0], [false, 0]]);
    const after = server.publish("miners", { n: 2 });
    assert.notEqual(after.epoch, before.epoch);
    assert.equal(after.offset, 1);
    await until("the new epoch's first", () => s.got.length === 2);
    assert.deepEqual(s.got.map((p) => [p.epoch, p.offset]), [[before.epoch, 1], [after.epoch, 1]]);
  } finally {
    t.free();
  }
});

test("refuse(2): two failed attempts (error, close 1006), then open; refuse(Infinity) until refuse(0)", async () => {
  const server = fake();
  server.refuse(2);
  let attempts = 0;
  const warnings = [];
  const { t, statuses } = client(server, {
    backoff: { initialMs: 1, maxMs: 5, jitter: "none" },
    logger: (level, message) => {
      if (message === "attempt") attempts += 1;
      if (level === "warn") warnings.push(message);
    },
  });
  try {
    await until("open", () => t.state === "open");
    assert.equal(attempts, 3);
    const retries = statuses.filter((s) => s.state === "reconnecting");
    assert.deepEqual(retries.map((s) => [s.attempt, s.lastClose?.code, s.lastClose?.wasClean]), [[1, 1006, false], [2, 1006, false]]);
    // lastError names what failed and where (without the SDK's own query), with its time; an open link clears it.
    assert.ok(retries.every((s) => s.lastError === `handshake failed: ${server.url}` && s.lastErrorAt >= s.since - 1000),
      JSON.stringify(retries));
    assert.deepEqual([t.status.lastError, t.status.lastErrorAt], [null, null]);
    assert.deepEqual(warnings.filter((w) => w.startsWith("handshake failed")), Array(2).fill(`handshake failed: ${server.url}`),
      "the logger sees each failure");
    assert.equal(server.connections, 1);
    assert.match(server.clients[0].clientId, /^c_[0-9a-f]{6}1$/, "refused handshakes make no connection");
    // Down until told otherwise: refuse(Infinity) ... refuse(0).
    server.refuse(Infinity);
    server.drop();
    await until("three more failed attempts", () => t.status.attempt >= 3 && t.state === "reconnecting");
    assert.equal(server.connections, 0);
    server.refuse(0);
    await until("open again", () => t.state === "open");
    assert.equal(server.connections, 1);
  } finally {
    t.free();
  }
});

test("goaway: the client reconnects at the server's time (retry_after_ms), not its backoff", async () => {
  const server = fake();
  // A backoff of a minute: only the goaway time brings it back within the test.
  const { t, statuses } = client(server, { backoff: { initialMs: 60_000, maxMs: 60_000, jitter: "none" } });
  try {
    await until("open", () => t.state === "open");
    const first = server.clients[0];
    server.goaway({ retryAfterMs: 20, spreadMs: 0 });
    await until("reconnecting", () => t.state === "reconnecting");
    const waiting = statuses.at(-1);
    assert.equal(waiting.lastClose.code, 1012);
    assert.equal(waiting.lastClose.reason, "server shutting down");
    assert.ok(waiting.nextRetryAt - Date.now() < 5_000, `next retry in ${waiting.nextRetryAt - Date.now()} ms`);
    await until("open again", () => t.state === "open");
    assert.deepEqual(first.ended, { by: "server", code: 1012, reason: "server shutting down" });
    assert.notEqual(server.clients[0], first);

    // Without the server's close, the client closes itself (4000 "goaway") at that time.
    const second = server.clients[0];
    server.goaway({ retryAfterMs: 20, close: false });
    await until("the client's close", () => second.ended !== null);
    assert.deepEqual(second.ended, { by: "client", code: 4000, reason: "goaway" });
    await until("open a third time", () => t.state === "open" && server.connections === 1 && server.clients[0] !== second);
  } finally {
    t.free();
  }
});

test("subscribe({ rewind }): the last N, then live; across a cut recovered exactly; after a restart the new epoch's history", async () => {
  const server = fake();
  for (const n of range(1, 10)) server.publish("alerts", { n });
  const { t } = client(server, { backoff: { initialMs: 1, maxMs: 5 } });
  const s = subscribe(t, "alerts", { rewind: 3 });
  try {
    await until("the last 3", () => s.got.length === 3);
    assert.deepEqual(s.offsets(), [8, 9, 10]);
    assert.deepEqual(s.answers(), [[null, 3]]);
    assert.equal(server.received.find((f) => f.type === "subscribe").rewind, 3);
    server.publish("alerts", { n: 11 });
    await until("11 live", () => s.got.length === 4);
    assert.deepEqual(s.sub.position, { epoch: server.topic("alerts").epoch, offset: 11 });

    // A cut with publications missed meanwhile: recovered, the rewind unused.
    server.refuse(Infinity);
    server.drop();
    await until("reconnecting", () => t.state === "reconnecting");
    server.publish("alerts", { n: 12 });
    server.refuse(0);
    await until("12 recovered", () => s.got.length === 5);
    assert.deepEqual(s.answers().at(-1), [true, 1]);

    // A restart (history lost) while down: the new epoch's last N, once each.
    server.refuse(Infinity);
    server.restart();
    await until("down", () => t.state === "reconnecting");
    const e2 = [server.publish("alerts", { n: 1 }), server.publish("alerts", { n: 2 })];
    server.refuse(0);
    await until("the new epoch's two", () => s.got.length === 7);
    assert.deepEqual(s.answers().at(-1), [false, 2]);
    assert.deepEqual(s.got.slice(5).map((p) => [p.epoch, p.offset]), e2.map((p) => [p.epoch, p.offset]));
    server.publish("alerts", { n: 3 });
    await until("then live", () => s.got.length === 8);
    assert.deepEqual(s.offsets(), [8, 9, 10, 11, 12, 1, 2, 3]);
  } finally {
    t.free();
  }
});

test("subscribe({ since: position }): a second client continues exactly after what the first delivered", async () => {
  const server = fake();
  const a = client(server);
  const first = subscribe(a.t, "alerts");
  try {
    await until("subscribed", () => first.sub.state === "subscribed");
    for (const n of range(1, 5)) server.publish("alerts", { n });
    await until("5", () => first.got.length === 5);
    const saved = first.sub.position;
    assert.deepEqual(saved, { epoch: server.topic("alerts").epoch, offset: 5 });
    a.t.free();
    for (const n of range(6, 8)) server.publish("alerts", { n });

    const b = client(server);
    const next = subscribe(b.t, "alerts", { since: saved });
    assert.deepEqual(next.sub.position, saved, "the saved position until something is delivered");
    try {
      await until("6..8", () => next.got.length === 3);
      assert.deepEqual(next.offsets(), [6, 7, 8]);
      assert.deepEqual(next.answers(), [[true, 3]]);
      // A position from another epoch (a restart): not recovered, nothing replayed.
      const c = subscribe(b.t, "miners", { since: { epoch: "e-gone", offset: 3 } });
      await until("miners answered", () => c.answers().length === 1);
      assert.deepEqual(c.answers(), [[false, 0]]);
      assert.throws(() => b.t.subscribe("chat", () => {}, { since: { epoch: "e", offset: -1 } }), TypeError);
      assert.throws(() => b.t.subscribe("chat", () => {}, { since: saved, recover: false }), TypeError);
      assert.throws(() => b.t.subscribe("chat", () => {}, { rewind: 1.5 }), TypeError);
    } finally {
      b.t.free();
    }
  } finally {
    a.t.free();
  }
});

test("rewind and recover: the server's rules (recover wins when it succeeds; else min(N, kept) of this epoch)", async () => {
  const server = fake({ historySize: 5 });
  for (const n of range(1, 8)) server.publish("alerts", { n });
  const { epoch } = server.topic("alerts");
  const s = bare(server);
  try {
    await s.next("welcome", (f) => f.type === "connection_established");
    const ask = async (id, extra) => {
      s.send({ type: "subscribe", id, topic: "alerts", ...extra });
      const sub = await s.next(`subscribed ${id}`, (f) => f.id === id);
      const replay = [];
      for (let i = 0; i < sub.missed; i++) replay.push((await s.next("replay")).offset);
      return [sub.recovered, sub.missed, replay];
    };
    assert.deepEqual(await ask(1, { rewind: 0 }), [null, 0, []]);
    assert.deepEqual(await ask(2, { rewind: 2 }), [null, 2, [7, 8]]);
    // Kept: 4..8 (historySize 5).
    assert.deepEqual(await ask(3, { rewind: 100 }), [null, 5, [4, 5, 6, 7, 8]]);
    assert.deepEqual(await ask(4, { recover: { epoch, offset: 6 }, rewind: 100 }), [true, 2, [7, 8]]);
    assert.deepEqual(await ask(5, { recover: { epoch, offset: 8 }, rewind: 3 }), [true, 0, []]);
    assert.deepEqual(await ask(6, { recover: { epoch, offset: 3 }, rewind: 1 }), [true, 5, [4, 5, 6, 7, 8]]);
    assert.deepEqual(await ask(7, { recover: { epoch, offset: 2 }, rewind: 1 }), [false, 1, [8]], "6 to replay, 5 kept");
    assert.deepEqual(await ask(8, { recover: { epoch: "e00000000", offset: 8 }, rewind: 2 }), [false, 2, [7, 8]]);
    assert.deepEqual(await ask(9, { recover: { epoch, offset: 9 } }), [false, 0, []], "ahead of the latest");
  } finally {
    s.ws.close();
  }
});

test("replayBytes bounds what one subscribe replays: recovery fails over it, rewind gives the newest that fit", async () => {
  const probe = fake();
  probe.publish("alerts", { n: 1 });
  // Every frame below has this length (one-digit offsets, same data size).
  const one = new TextEncoder().encode(JSON.stringify(await firstReplay(probe))).length;
  const server = fake({ replayBytes: 2 * one + 10 });
  for (const n of range(1, 5)) server.publish("alerts", { n });
  const { epoch } = server.topic("alerts");
  const s = bare(server);
  try {
    await s.next("welcome");
    s.send({ type: "subscribe", id: 1, topic: "alerts", rewind: 5 });
    const a = await s.next("subscribed 1", (f) => f.id === 1);
    assert.deepEqual([a.recovered, a.missed], [null, 2]);
    assert.deepEqual([(await s.next("r")).offset, (await s.next("r")).offset], [4, 5]);
    s.send({ type: "subscribe", id: 2, topic: "alerts", recover: { epoch, offset: 2 } });
    const b = await s.next("subscribed 2", (f) => f.id === 2);
    assert.deepEqual([b.recovered, b.missed], [false, 0], "3 to replay, 2 fit");
    s.send({ type: "subscribe", id: 3, topic: "alerts", recover: { epoch, offset: 3 } });
    const c = await s.next("subscribed 3", (f) => f.id === 3);
    assert.deepEqual([c.recovered, c.missed], [true, 2]);
  } finally {
    s.ws.close();
  }
});

/** The first publication a `rewind: 1` subscribe to alerts replays, as sent. */
async function firstReplay(server) {
  const s = bare(server);
  await s.next("welcome");
  s.send({ type: "subscribe", id: 1, topic: "alerts", rewind: 1 });
  const p = await s.next("the replay", (f) => f.type === "publication");
  s.ws.close();
  return p;
}

test("the history bound: a client that missed more than historySize publications gets recovered false", async () => {
  const server = fake({ historySize: 3 });
  const { t } = client(server, { backoff: { initialMs: 1, maxMs: 5 } });
  const s = subscribe(t, "miners");
  try {
    await until("subscribed", () => s.sub.state === "subscribed");
    server.publish("miners", { n: 1 });
    await until("1", () => s.got.length === 1);
    // Exactly the bound: 3 missed, 3 kept.
    server.drop();
    await until("reconnecting", () => t.state === "reconnecting");
    for (const n of range(2, 4)) server.publish("miners", { n });
    await until("recovered", () => s.answers().length === 2);
    assert.deepEqual(s.answers()[1], [true, 3]);
    await until("2..4", () => s.got.length === 4);
    // One over: 4 missed, 3 kept.
    server.drop();
    await until("reconnecting", () => t.state === "reconnecting");
    for (const n of range(5, 8)) server.publish("miners", { n });
    await until("not recovered", () => s.answers().length === 3);
    assert.deepEqual(s.answers()[2], [false, 0]);
    assert.deepEqual(server.topic("miners"), { epoch: s.got[0].epoch, offset: 8, kept: 3 });
    assert.deepEqual(s.offsets(), [1, 2, 3, 4]);
  } finally {
    t.free();
  }
});

test("requests and pings: status, topics, client publish, forbidden, unknown type; heartbeat pong and a server ping", async () => {
  const server = fake();
  const { t } = client(server, { heartbeat: { intervalMs: 20, timeoutMs: 5_000 } });
  const chat = subscribe(t, "chat");
  try {
    await until("subscribed", () => chat.sub.state === "subscribed");
    const [c] = server.clients;
    const status = await t.request({ type: "get_status" });
    assert.equal(status.type, "status");
    assert.equal(status.client_id, c.clientId);
    assert.deepEqual(status.subscriptions, ["chat"]);
    assert.ok(status.messages_in >= 2 && status.messages_out >= 2, JSON.stringify(status));
    const topics = await t.request({ type: "get_topics" });
    assert.deepEqual(topics.topics.map((x) => [x.name, x.client_publish]), [["miners", false], ["alerts", false], ["chat", true]]);
    const published = await t.request({ type: "publish", topic: "chat", event: "said", data: { text: "hi" } });
    assert.deepEqual({ ...published, id: 0 }, { type: "published", id: 0, epoch: server.topic("chat").epoch, offset: 1 });
    // The publisher is subscribed: its publication came before the reply.
    assert.deepEqual(chat.got.map((p) => [p.event, p.data.text]), [["said", "hi"]]);
    await assert.rejects(t.request({ type: "publish", topic: "miners", data: 1 }),
      { code: "forbidden", message: "clients may not publish on `miners`" });
    await assert.rejects(t.request({ type: "nope" }), { code: "unknown_type", message: "unknown frame type `nope`" });
    await assert.rejects(t.request({ type: "unsubscribe", topic: "gone" }),
      (/** @type {any} */ e) => e.code === "unknown_topic" && e.reply.available_topics.length === 3 && e.message === "unknown topic `gone`");
    // The SDK's heartbeat: a ping with an id, answered by a pong it measures.
    await until("a heartbeat ping and its rtt", () => c.received.some((f) => f.type === "ping") && t.status.rttMs !== null);
    const ping = c.received.find((f) => f.type === "ping");
    assert.ok(Number.isInteger(ping.id) && ping.include_stats === undefined, JSON.stringify(ping));
    // A server application ping: the SDK answers it, echoing the id.
    c.send({ type: "ping", id: 77 });
    await until("the pong", () => c.received.some((f) => f.type === "pong"));
    assert.deepEqual(c.received.find((f) => f.type === "pong"), { type: "pong", id: 77 });
  } finally {
    t.free();
  }
});

test("received: every frame the client sent, parsed, in order", async () => {
  const server = fake();
  const { t } = client(server, { heartbeat: false, backoff: { initialMs: 1, maxMs: 5 } });
  const s = subscribe(t, "miners");
  try {
    t.send({ type: "hello", n: 1 });
    await until("subscribed", () => s.sub.state === "subscribed");
    server.publish("miners", 1);
    await until("1", () => s.got.length === 1);
    s.sub.unsubscribe();
    await until("unsubscribe received", () => server.received.length === 3);
    server.drop();
    t.subscribe("alerts", () => {});
    await until("open again, alerts subscribed", () => server.received.length === 4);
    assert.deepEqual(server.received, [
      { type: "subscribe", id: 1, topic: "miners" },
      { type: "hello", n: 1 },
      { type: "unsubscribe", id: 2, topic: "miners" },
      { type: "subscribe", id: 1, topic: "alerts" },
    ]);
    assert.deepEqual(server.clients[0].received, [server.received[3]]);
  } finally {
    t.free();
  }
});

test("errors as the server answers them, and the frame size bound (close 1009)", async () => {
  const server = fake({ maxFrameBytes: 1000 });
  const s = bare(server);
  try {
    await s.next("welcome");
    const reply = async (frame) => (s.send(frame), s.next(`a reply to ${frame}`));
    assert.equal((await reply("nope")).code, "bad_json");
    assert.deepEqual(await reply("[1]"), { type: "error", code: "bad_frame", message: "a frame must be a JSON object" });
    assert.deepEqual(await reply({ id: 4 }), { type: "error", id: 4, code: "bad_frame", message: "missing or non-string field `type`" });
    assert.deepEqual(await reply({ type: "subscribe", id: 5 }),
      { type: "error", id: 5, code: "bad_frame", message: "invalid `subscribe` frame: field `topic`: missing field `topic`" });
    assert.deepEqual(await reply({ type: "subscribe", id: 6, topic: "miners", recover: { epoch: "e1", offset: "x" } }),
      { type: "error", id: 6, code: "bad_frame", message: 'invalid `subscribe` frame: field `recover.offset`: invalid type: string "x", expected u64' });
    assert.deepEqual(await reply({ type: "subscribe", id: 7, topic: "no such" }), {
      type: "error", id: 7, code: "unknown_topic", message: "invalid topic name: use 1-64 characters of A-Z a-z 0-9 _ - . :",
      available_topics: ["miners", "alerts", "chat"],
    });
    const long = await reply({ type: "x".repeat(300), id: 8 });
    assert.equal(long.code, "unknown_type");
    assert.equal(long.message, "unknown frame type `" + "x".repeat(61) + "\u2026`");
    s.ws.send(new Uint8Array([1, 2]));
    assert.deepEqual(await s.next("binary"), { type: "error", code: "bad_frame", message: "binary frames are not supported; send JSON text" });
    const pong = await reply({ type: "ping", id: 9, include_stats: true });
    assert.deepEqual(Object.keys(pong), ["type", "id", "server_time", "stats"]);
    // In: the 8 frames above and this ping; out: the welcome and 8 replies.
    assert.ok(Number.isInteger(pong.stats.uptime_s) && pong.stats.uptime_s >= 0, JSON.stringify(pong));
    assert.deepEqual({ ...pong.stats, uptime_s: 0 }, { connections: 1, uptime_s: 0, messages_in: 9, messages_out: 9 });
    assert.deepEqual(server.received.map((f) => f.id), [4, 5, 6, 7, 8, 9], "only JSON objects are recorded");
    s.send({ type: "publish", id: 10, topic: "chat", data: "y".repeat(1000) });
    await until("closed", () => s.close);
    assert.deepEqual(s.close, { code: 1009, reason: "message too large", wasClean: true });
    assert.equal(server.connections, 0);
  } finally {
    s.ws.close();
  }
});

test("the socket: events come later, never inside the call; browser rules for send and close; other URLs refused", async () => {
  const server = fake();
  const s = bare(server);
  assert.equal(s.ws.readyState, 0);
  assert.throws(() => s.ws.send("x"), { name: "InvalidStateError" });
  assert.deepEqual(s.events, []);
  await until("open", () => s.events.includes("open"));
  assert.equal(s.ws.readyState, server.WebSocket.OPEN);
  await s.next("welcome");
  assert.deepEqual(s.events, ["open"], "open before the welcome");
  s.send({ type: "ping", id: 1 });
  assert.equal(s.frames.length, 1, "no reply inside send()");
  await s.next("pong", (f) => f.type === "pong");
  assert.throws(() => s.ws.close(1001), { name: "InvalidAccessError" });
  s.ws.close(4321, "bye");
  assert.equal(s.ws.readyState, 2);
  assert.equal(s.close, null, "no close event inside close()");
  await until("closed", () => s.close);
  assert.deepEqual(s.close, { code: 4321, reason: "", wasClean: true });
  assert.equal(s.ws.readyState, 3);
  assert.deepEqual(server.received, [{ type: "ping", id: 1 }]);

  const other = bare(server, "ws://elsewhere.test/ws");
  const early = bare(server);
  early.ws.close();
  await until("refused and failed", () => other.close && early.close);
  for (const x of [other, early]) {
    assert.deepEqual(x.events, ["error", "close"]);
    assert.deepEqual(x.close, { code: 1006, reason: "", wasClean: false });
  }
  assert.equal(server.connections, 0);
});
