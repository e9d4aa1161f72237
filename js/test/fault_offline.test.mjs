// Ported from the first SDK's (wasm-bindgen, retired) tests/fault_offline.rs. The browser's `offline` /
// `online` events (dispatched on `window` by the test): while offline the
// client burns no attempts; `online` connects at once. The proxy counts TCP
// connections, i.e. attempts on the wire.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE, browserSuite } from "./harness.mjs";

const suite = browserSuite();

// While retrying against a dead server: `offline` cancels the retry timer
// (state `offline`, attempt 0, no nextRetryAt) and no connection is tried
// for as long as it lasts, though the backoff would retry every 200 ms;
// `online` connects at once and opens.
test("offline_while_reconnecting_burns_no_attempts_and_online_reconnects", async () => {
  const { r, problems } = await suite.run(async () => {
    const { Tether, kit, until, holds } = window.sdk;
    const dispatch = (kind) => window.dispatchEvent(new Event(kind));
    await kit.startServer("offline-a-s");
    const ws = await kit.startProxy("offline-a-p", "offline-a-s");
    const t = new Tether(ws, { backoff: { initialMs: 200, maxMs: 200, jitter: "none" } });
    await until(t, "open", (s) => s.state === "open");

    await kit.killServer("offline-a-s");
    await until(t, "reconnecting", (s) => s.state === "reconnecting");
    dispatch("offline");
    const out = { offlineState: t.state, offlineStatus: t.status };
    const accepted = await kit.proxyAccepted("offline-a-p");
    // Five backoff periods: a client ignoring `offline` would try 5 times.
    await holds(t, "offline, with no attempt", 1000, (s) => s.state === "offline");
    out.acceptedWhileOffline = (await kit.proxyAccepted("offline-a-p")) - accepted;

    await kit.startServer("offline-a-s");
    const onlineAt = Date.now();
    dispatch("online");
    out.onlineState = t.state;
    await until(t, "open after online", (s) => s.state === "open");
    out.took = Date.now() - onlineAt;
    out.acceptedAfterOnline = (await kit.proxyAccepted("offline-a-p")) - accepted;
    t.close();
    return out;
  });
  assert.equal(r.offlineState, "offline", "offline applies at once");
  assert.equal(r.offlineStatus.attempt, 0, JSON.stringify(r.offlineStatus));
  assert.equal(r.offlineStatus.nextRetryAt, null, JSON.stringify(r.offlineStatus));
  assert.equal(r.acceptedWhileOffline, 0, "no connection attempt while offline");
  assert.equal(r.onlineState, "connecting", "online connects at once");
  assert.ok(r.took < 2000, `online reconnects at once; took ${r.took} ms`);
  assert.equal(r.acceptedAfterOnline, 1, "one attempt after online, and it opened");
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});

// Open over a link that has silently died (proxy blackhole): `offline`
// pings at once, the ping goes unanswered within `timeoutMs`, and the
// client goes `offline` instead of retrying; `online` (network back) opens
// again. A live link stays open through an `offline` event whose ping is
// answered.
test("offline_while_open_probes_the_link", async () => {
  const { r, problems } = await suite.run(async () => {
    const { Tether, kit, until, holds } = window.sdk;
    const dispatch = (kind) => window.dispatchEvent(new Event(kind));
    await kit.startServer("offline-b-s");
    const ws = await kit.startProxy("offline-b-p", "offline-b-s");
    // The periodic ping is far away: only the `offline` probe can fire.
    const t = new Tether(ws, { heartbeat: { intervalMs: 60000, timeoutMs: 500 }, backoff: { initialMs: 100, maxMs: 100 } });
    await until(t, "open", (s) => s.state === "open");
    const out = { rttAtOpen: t.status.rttMs };

    // A live link: the probe is answered, the link stays.
    dispatch("offline");
    await until(t, "the probe's pong", (s) => s.rttMs !== null, 5000);
    await holds(t, "open over a live link", 1000, (s) => s.state === "open");
    dispatch("online");

    // A dead link: the probe goes unanswered.
    await kit.proxyMode("offline-b-p", "blackhole");
    const accepted = await kit.proxyAccepted("offline-b-p");
    dispatch("offline");
    await until(t, "offline after the unanswered probe", (s) => s.state !== "open", 5000);
    out.afterProbe = t.status;
    await holds(t, "offline, with no attempt", 1000, (s) => s.state === "offline");
    out.acceptedWhileOffline = (await kit.proxyAccepted("offline-b-p")) - accepted;

    await kit.proxyMode("offline-b-p", "pass");
    dispatch("online");
    await until(t, "open after online", (s) => s.state === "open");
    out.attempt = t.status.attempt;
    t.close();
    return out;
  });
  assert.equal(r.rttAtOpen, null);
  assert.equal(r.afterProbe.state, "offline", JSON.stringify(r.afterProbe));
  assert.equal(r.afterProbe.attempt, 0);
  assert.equal(r.acceptedWhileOffline, 0);
  assert.equal(r.attempt, 0);
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});
