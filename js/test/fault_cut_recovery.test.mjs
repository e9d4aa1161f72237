// Ported from the first SDK's (wasm-bindgen, retired) tests/fault_cut_recovery.rs. The link is reset abruptly
// (TCP RST, no close frame) and stays unreachable while publications go
// on; then the network comes back. The subscription must be re-sent
// exactly once and recover what it missed, in order, with no duplicate.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE, browserSuite } from "./harness.mjs";

const suite = browserSuite();
const MISSED = 4;

test("abrupt_cut_then_resubscribe_once_and_replay_in_order", async () => {
  const { r, problems } = await suite.run(async (MISSED) => {
    const { Tether, kit, until, untilSub, publish, recorder } = window.sdk;
    const publishN = async (from, to) => {
      const offsets = [];
      for (let n = from; n <= to; n++) offsets.push([n, (await publish("cut-s", "miners", { n }, "tick")).offset]);
      return offsets;
    };
    await kit.startServer("cut-s");
    const ws = await kit.startProxy("cut-p", "cut-s");
    // No heartbeat: the server's frame count on the new connection is then
    // exactly what the SDK chose to send.
    const t = new Tether(ws, { heartbeat: false, connectTimeoutMs: 1000, backoff: { initialMs: 100, maxMs: 300 } });
    const received = recorder();
    const sub = t.subscribe("miners", received.fn);
    const subEvents = recorder();
    sub.onState(subEvents.fn);
    await untilSub(sub, "subscribed", "subscribed");
    const numbered = await publishN(1, 2);
    await received.until("the first two publications", (s) => s.length === 2);

    await kit.proxyMode("cut-p", "stall_new");
    await kit.proxyCut("cut-p");
    await until(t, "the cut to be noticed", (s) => s.state !== "open");
    const subAfterCut = sub.state;
    const eventsBefore = subEvents.seen.length;
    numbered.push(...(await publishN(3, 2 + MISSED)));

    await kit.proxyMode("cut-p", "pass");
    await until(t, "open again", (s) => s.state === "open", 15_000);
    await untilSub(sub, "resubscribed", "subscribed");
    await received.until("the replay", (s) => s.length >= 2 + MISSED);
    // Nothing more may trickle in: no duplicate replay, no second subscribe.
    await received.holds("no duplicate publication", 1000, (s) => s.length === 2 + MISSED);

    // The server's view of the new connection.
    const status = await t.request({ type: "get_status" });
    t.close();
    return {
      numbered, subAfterCut,
      offsets: received.seen.map((p) => p.offset),
      n: received.seen.map((p) => p.data.n),
      epochs: received.seen.map((p) => p.epoch),
      afterCut: subEvents.seen.slice(eventsBefore),
      status,
    };
  }, MISSED);
  for (const [n, offset] of r.numbered) assert.equal(offset, n, `the server numbers publication ${n}`);
  assert.equal(r.subAfterCut, "pending", "a cut link puts the subscription back to pending");
  const expected = Array.from({ length: 2 + MISSED }, (_, i) => i + 1);
  assert.deepEqual(r.offsets, expected, "offsets seen by the callback");
  assert.deepEqual(r.n, expected, "payloads seen");
  assert.ok(r.epochs.every((e) => e === r.epochs[0]), `one epoch: ${r.epochs}`);
  const subscribed = r.afterCut.filter((e) => e.state === "subscribed");
  assert.equal(subscribed.length, 1, `exactly one resubscribe after the reconnect: ${JSON.stringify(r.afterCut)}`);
  assert.equal(subscribed[0].recovered, true);
  assert.equal(subscribed[0].missed, MISSED);
  assert.deepEqual(r.status.subscriptions, ["miners"], `server-side subscriptions: ${JSON.stringify(r.status)}`);
  assert.equal(r.status.messages_in, 2, `the new connection carried one subscribe plus this get_status: ${JSON.stringify(r.status)}`);
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});
