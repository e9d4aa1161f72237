// Ported from the first SDK's (wasm-bindgen, retired) tests/fault_half_open.rs. A half-open link: the proxy
// stops forwarding in both directions while both TCP connections stay
// open, so no close event ever comes: only the client's heartbeat can tell
// the link is dead.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE, browserSuite } from "./harness.mjs";

const suite = browserSuite();
const INTERVAL_MS = 500;
const TIMEOUT_MS = 500;
/** Timer and event-loop slack allowed on top of interval + timeout. */
const SLACK_MS = 500;

// Open through the proxy, then blackhole it: the client declares the link
// dead (`heartbeat timeout`) within heartbeat interval + timeout of the
// blackhole, without any close from the network; once the proxy passes
// again it reconnects over a new TCP connection and its pings are answered.
test("half_open_link_is_detected_by_the_heartbeat_then_reconnects", async () => {
  const { r, problems } = await suite.run(async ({ INTERVAL_MS, TIMEOUT_MS }) => {
    const { Tether, kit, until, holds, recorder } = window.sdk;
    await kit.startServer("halfopen-s");
    const ws = await kit.startProxy("halfopen-p", "halfopen-s");
    const t = new Tether(ws, {
      heartbeat: { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS },
      connectTimeoutMs: 3000,
      backoff: { initialMs: 100, maxMs: 300 },
    });
    const statuses = recorder();
    t.onStatus(statuses.fn);
    await until(t, "open", (s) => s.state === "open");
    await until(t, "a first heartbeat round trip", (s) => s.rttMs !== null, 5000);
    const acceptedBefore = await kit.proxyAccepted("halfopen-p");

    await kit.proxyMode("halfopen-p", "blackhole");
    const blackholedAt = Date.now();
    const seenBefore = statuses.seen.length;
    // The retry may start within milliseconds: judge the recorded statuses.
    const [status] = (await statuses.until("the dead link to be noticed",
      (s) => s.slice(seenBefore).some((x) => x.state !== "open"))).slice(seenBefore).filter((x) => x.state !== "open");

    await kit.proxyMode("halfopen-p", "pass");
    await until(t, "open again through the proxy", (s) => s.state === "open", 15_000);
    const acceptedAfter = await kit.proxyAccepted("halfopen-p");
    // The new link's heartbeat is answered: it stays open over several
    // interval + timeout periods.
    await holds(t, "the new link staying open", 3 * (INTERVAL_MS + TIMEOUT_MS), (s) => s.state === "open");
    const out = { status, blackholedAt, acceptedBefore, acceptedAfter, attempt: t.status.attempt };
    t.close();
    return out;
  }, { INTERVAL_MS, TIMEOUT_MS });
  const { status } = r;
  const dump = JSON.stringify(status);
  assert.equal(status.state, "reconnecting", `a dead link leads to reconnecting: ${dump}`);
  assert.match(status.lastError, /^heartbeat timeout: no answer to a ping within \d+ ms$/, `the heartbeat, not the network, found the dead link: ${dump}`);
  const took = status.since - r.blackholedAt;
  assert.ok(took <= INTERVAL_MS + TIMEOUT_MS + SLACK_MS,
    `a half-open link must be noticed within interval + timeout (${INTERVAL_MS + TIMEOUT_MS} ms, + ${SLACK_MS} ms slack); took ${took} ms`);
  assert.equal(status.lastClose?.code, 4000, `the client closes a dead link itself with 4000: ${dump}`);
  assert.ok(r.acceptedAfter > r.acceptedBefore,
    `the reconnect must use a new TCP connection (${r.acceptedBefore} -> ${r.acceptedAfter})`);
  assert.equal(r.attempt, 0);
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});
