// Ported from the first SDK's (wasm-bindgen, retired) tests/fault_goaway.rs. A planned server restart: on
// SIGTERM the server sends `goaway` with `retry_after_ms` and `spread_ms`,
// then closes with 1012. The client must wait the server's delay instead
// of its own (much shorter) backoff.
import assert from "node:assert/strict";
import { test } from "node:test";
import { browserSuite } from "./harness.mjs";

const suite = browserSuite();
const RETRY_AFTER_MS = 1500;
const SPREAD_MS = 500;
/** Timer slack allowed past retry_after + spread. */
const SLACK_MS = 500;

// The server is stopped gracefully and restarted at once on the same port.
// The client's own backoff would retry after at most 100 ms; it reconnects
// no sooner than `retry_after_ms` after the stop request (the goaway cannot
// arrive before it) and no later than retry_after + spread after its link
// closed; the wait is not a failed attempt.
test("goaway_delay_and_spread_are_honoured", async () => {
  const { r, problems } = await suite.run(async (args) => {
    const { Tether, kit, until, recorder } = window.sdk;
    const ws = await kit.startServer("goaway-s", args);
    const t = new Tether(ws, { backoff: { initialMs: 100, maxMs: 100 } });
    await until(t, "open", (s) => s.state === "open");
    const statuses = recorder();
    t.onStatus(statuses.fn);
    const stopRequestedAt = Date.now();
    const stopped = await kit.stopServer("goaway-s");
    await kit.startServer("goaway-s", args);
    await until(t, "open after the restart", (s) => s.state === "open", 15_000);
    const out = { stopRequestedAt, stopped, line: statuses.seen, status: t.status };
    t.close();
    return out;
  }, `--shutdown-retry-after-ms,${RETRY_AFTER_MS},--shutdown-spread-ms,${SPREAD_MS}`);
  const { line, status } = r;
  const dump = JSON.stringify(line);
  assert.equal(r.stopped.exit, 0, "SIGTERM is a clean exit");
  const down = line.find((s) => s.state === "reconnecting");
  assert.ok(down, `the client never waited: ${dump}`);
  const retry = line.find((s) => s.state === "connecting");
  assert.ok(retry, `no reconnect attempt: ${dump}`);
  assert.equal(down.lastClose?.code, 1012, `a graceful shutdown closes with 1012: ${JSON.stringify(down)} (now ${JSON.stringify(status.lastClose)})`);
  const afterStop = retry.since - r.stopRequestedAt;
  assert.ok(afterStop >= RETRY_AFTER_MS,
    `reconnected ${afterStop} ms after the stop request; the goaway asked for at least ${RETRY_AFTER_MS} ms: ${dump}`);
  const waited = retry.since - down.since;
  assert.ok(waited <= RETRY_AFTER_MS + SPREAD_MS + SLACK_MS,
    `waited ${waited} ms after the close; goaway allows ${RETRY_AFTER_MS} + ${SPREAD_MS}: ${dump}`);
  assert.notEqual(down.nextRetryAt, null, "nextRetryAt while waiting");
  assert.ok(down.nextRetryAt - down.since <= RETRY_AFTER_MS + SPREAD_MS,
    `nextRetryAt ${down.nextRetryAt} is past goaway's window from ${down.since}`);
  assert.equal(down.attempt, 1, `a goaway is not a failed attempt: the wait is retry 1: ${dump}`);
  assert.equal(status.attempt, 0);
  assert.deepEqual(problems, []);
});
