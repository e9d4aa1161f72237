// Ported from the first SDK's (wasm-bindgen, retired) tests/fault_stalled_handshake.rs. A handshake that
// never completes: the proxy accepts every new TCP connection and never
// answers it, so the socket neither opens nor fails: only the client's
// connect timeout ends the attempt.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE, browserSuite } from "./harness.mjs";

const suite = browserSuite();
const CONNECT_TIMEOUT_MS = 500;

// Each stalled attempt is aborted at `connectTimeoutMs` (status `lastError:
// "connect timeout"`, attempt counter growing, each retry a new TCP
// connection); once the proxy passes, the next attempt opens and the
// counter resets.
test("stalled_handshake_is_aborted_at_the_connect_timeout_and_retried", async () => {
  const { r, problems } = await suite.run(async (CONNECT_TIMEOUT_MS) => {
    const { Tether, kit, until, recorder } = window.sdk;
    await kit.startServer("stall-s");
    const ws = await kit.startProxy("stall-p", "stall-s");
    await kit.proxyMode("stall-p", "stall_new");
    const acceptedBefore = await kit.proxyAccepted("stall-p");
    const t = new Tether(ws, {
      autoConnect: false,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      backoff: { initialMs: 100, maxMs: 200, jitter: "none" },
    });
    const statuses = recorder();
    t.onStatus(statuses.fn);
    t.connect();
    await statuses.until("retry 2 under way", (s) => s.some((x) => x.attempt >= 2));
    const line = [...statuses.seen];
    const accepted = (await kit.proxyAccepted("stall-p")) - acceptedBefore;
    await kit.proxyMode("stall-p", "pass");
    await until(t, "open once the proxy passes", (s) => s.state === "open");
    const out = { line, accepted, attempt: t.status.attempt };
    t.close();
    out.closed = t.state;
    return out;
  }, CONNECT_TIMEOUT_MS);
  const { line } = r;
  const dump = JSON.stringify(line);
  const firstConnecting = line.find((s) => s.state === "connecting");
  assert.ok(firstConnecting, `no connecting status: ${dump}`);
  const firstReconnecting = line.find((s) => s.state === "reconnecting");
  assert.ok(firstReconnecting, `no reconnecting status: ${dump}`);
  const abortedAfter = firstReconnecting.since - firstConnecting.since;
  assert.ok(abortedAfter >= CONNECT_TIMEOUT_MS - 20 && abortedAfter <= CONNECT_TIMEOUT_MS + 700,
    `the stalled attempt must end at the connect timeout (${CONNECT_TIMEOUT_MS} ms); it ended after ${abortedAfter} ms: ${dump}`);
  assert.equal(firstReconnecting.lastError, `connect timeout after ${CONNECT_TIMEOUT_MS} ms`, `lastError names the cause: ${dump}`);
  assert.ok(firstReconnecting.lastErrorAt >= firstConnecting.since, `lastErrorAt: ${dump}`);
  const attempts = line.map((s) => s.attempt);
  assert.ok(attempts.every((a, i) => i === 0 || a >= attempts[i - 1]),
    `the attempt counter only grows while every attempt stalls: ${attempts}`);
  assert.ok(r.accepted >= 2, `every attempt is a new TCP connection: the proxy saw ${r.accepted}`);
  assert.equal(r.attempt, 0);
  assert.equal(r.closed, "closed");
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});
