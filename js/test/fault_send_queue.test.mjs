// Ported from the first SDK's (wasm-bindgen, retired) tests/fault_send_queue.rs. The send queue across an
// outage: frames sent while the server is down are queued and reach the
// new server in order, right after the resubscribe. Observable end to end:
// they are client `publish` frames on a topic that allows them, so the
// server numbers them and fans them out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE, browserSuite } from "./harness.mjs";

const suite = browserSuite();
const N = 5;

// Subscribed to `chat`; the server is SIGKILLed; five `publish` frames are
// sent while reconnecting (each `send` returns true, `status.queued` counts
// them); the server comes back: the queue is flushed after the resubscribe,
// so the server assigns offsets 1..5 to payloads 1..5, answers `published`
// for ids 1001..1005 in order, and the queue is empty.
test("queued_sends_are_flushed_in_order_after_a_reconnect", async () => {
  const { r, problems } = await suite.run(async (N) => {
    const { Tether, kit, until, untilSub, recorder } = window.sdk;
    const topics = await kit.writeFile("send-queue-topics.json",
      '[{"name":"chat","description":"client publish allowed","client_publish":true}]');
    const args = `--topics,${encodeURIComponent(topics)}`;
    const ws = await kit.startServer("queue-s", args);
    const t = new Tether(ws, { backoff: { initialMs: 100, maxMs: 300 } });
    const received = recorder();
    const sub = t.subscribe("chat", received.fn);
    const replies = recorder();
    t.on("published", replies.fn);
    await untilSub(sub, "subscribed", "subscribed");

    await kit.killServer("queue-s");
    await until(t, "reconnecting", (s) => s.state === "reconnecting");
    const sent = [];
    for (let n = 1; n <= N; n++) {
      sent.push(t.send({ type: "publish", id: 1000 + n, topic: "chat", event: "line", data: { n } }));
    }
    const queued = t.status.queued;

    await kit.startServer("queue-s", args);
    await until(t, "open again", (s) => s.state === "open", 15_000);
    await received.until("the queued publications", (s) => s.length >= N);
    await replies.until("the published replies", (s) => s.length >= N);
    const out = {
      sent, queued,
      n: received.seen.map((p) => p.data.n),
      offsets: received.seen.map((p) => p.offset),
      ids: replies.seen.map((m) => m.id),
      queuedAfter: t.status.queued,
    };
    t.close();
    return out;
  }, N);
  const expected = [1, 2, 3, 4, 5];
  assert.deepEqual(r.sent, [true, true, true, true, true], "each message was queued");
  assert.equal(r.queued, N);
  assert.deepEqual(r.n, expected, "payload order");
  assert.deepEqual(r.offsets, expected, "server order");
  assert.deepEqual(r.ids, expected.map((n) => 1000 + n), "replies in send order");
  assert.equal(r.queuedAfter, 0);
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});
