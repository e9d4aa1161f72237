// Ported from the first SDK's (wasm-bindgen, retired) tests/clock_jump.rs. The page's wall clock moves
// (`Date.now()` an hour back or forward, as a user or NTP changing the
// system time does): the client's deadlines do not. The retry, the connect
// timeout and the heartbeat run on time, and the status's epoch fields
// (`nextRetryAt`, `since`) agree with the moved `Date.now()`. Every wait
// is measured with `performance.now()`; each test has its own page, whose
// `Date.now` it replaces.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE, browserSuite } from "./harness.mjs";

const suite = browserSuite();
const HOUR = 3_600_000;
/** Timer and event-loop slack on top of a deadline. */
const SLACK_MS = 1_000;

/** Installs `window.clock` in the page: move / restore Date.now. */
function installClock() {
  const realNow = Date.now;
  let offset = 0;
  window.clock = {
    move(ms) {
      offset += ms;
      Date.now = () => realNow.call(Date) + offset;
    },
    restore() {
      offset = 0;
      Date.now = realNow;
    },
    // A status listener that moves Date.now by `ms` when it first sees
    // `state` (so the move lands while the client waits in that state);
    // `probe.at`: when, on performance.now().
    mover(state, ms) {
      const probe = { at: null };
      probe.listener = (s) => {
        if (s.state === state && probe.at === null) {
          window.clock.move(ms);
          probe.at = performance.now();
          probe.wake?.();
        }
      };
      return probe;
    },
  };
}

const run = (fn, arg) => suite.run(fn, arg, installClock);

test("retry_and_status_times_follow_a_moved_clock", async () => {
  const { r, problems } = await run(async ({ HOUR, SLACK_MS }) => {
    const { Tether, kit, first, until } = window.sdk;
    const out = [];
    for (const shift of [-HOUR, HOUR]) {
      window.clock.restore();
      const dir = shift < 0 ? "back" : "forward";
      await kit.startServer(`clock-retry-${dir}-s`);
      const proxy = `clock-retry-${dir}-p`;
      const ws = await kit.startProxy(proxy, `clock-retry-${dir}-s`);
      const t = new Tether(ws, { backoff: { initialMs: 1000, maxMs: 1000, jitter: "none" } });
      await until(t, `${dir}: open`, (s) => s.state === "open");
      const moved = window.clock.mover("reconnecting", shift);
      t.onStatus(moved.listener);
      const reconnecting = first(`${dir}: reconnecting`, (done) => (moved.wake = done));
      await kit.proxyCut(proxy);
      await reconnecting;
      const status = t.status;
      const now = Date.now();
      const retryIn = status.nextRetryAt - now;
      const age = now - status.since;
      await until(t, `${dir}: the retry`, (s) => s.state !== "reconnecting", 1000 + SLACK_MS);
      const retriedAfter = performance.now() - moved.at;
      await until(t, `${dir}: open again`, (s) => s.state === "open");
      t.close();
      out.push({ dir, retryIn, age, retriedAfter });
    }
    window.clock.restore();
    return out;
  }, { HOUR, SLACK_MS });
  assert.equal(r.length, 2);
  for (const { dir, retryIn, age, retriedAfter } of r) {
    assert.ok(retriedAfter >= 900, `${dir}: retried after ${retriedAfter} ms, before the 1000 ms step`);
    assert.ok(retryIn >= 0 && retryIn <= 1000, `${dir}: nextRetryAt - Date.now() = ${retryIn} ms, not within the 1000 ms step`);
    assert.ok(age >= 0 && age <= SLACK_MS, `${dir}: Date.now() - since = ${age} ms`);
  }
  assert.deepEqual(problems, []);
});

test("connect_timeout_fires_on_time_after_the_clock_moved", async () => {
  const { r, problems } = await run(async ({ HOUR, SLACK_MS }) => {
    const { Tether, kit, until } = window.sdk;
    const out = [];
    for (const shift of [-HOUR, HOUR]) {
      window.clock.restore();
      const dir = shift < 0 ? "back" : "forward";
      const proxy = `clock-stall-${dir}-p`;
      await kit.startServer(`clock-stall-${dir}-s`);
      const ws = await kit.startProxy(proxy, `clock-stall-${dir}-s`);
      await kit.proxyMode(proxy, "stall_new");
      // A long backoff: no second stalled handshake before close().
      const t = new Tether(ws, { autoConnect: false, connectTimeoutMs: 1500, backoff: { initialMs: 30000 } });
      const moved = window.clock.mover("connecting", shift);
      t.onStatus(moved.listener);
      const start = performance.now();
      t.connect();
      const movedOnConnecting = moved.at !== null;
      await until(t, `${dir}: the connect timeout`, (s) => s.state !== "connecting", 1500 + SLACK_MS);
      const took = performance.now() - start;
      out.push({ dir, movedOnConnecting, took, lastError: t.status.lastError });
      t.close();
    }
    window.clock.restore();
    return out;
  }, { HOUR, SLACK_MS });
  assert.equal(r.length, 2);
  for (const { dir, movedOnConnecting, took, lastError } of r) {
    assert.ok(movedOnConnecting, `${dir}: moved on connecting`);
    assert.ok(took >= 1400, `${dir}: the attempt ended after ${took} ms`);
    assert.match(lastError, /^connect timeout after \d+ ms$/, dir);
  }
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});

test("heartbeat_keeps_running_after_the_clock_moved", async () => {
  const { r, problems } = await run(async ({ HOUR, SLACK_MS }) => {
    const { Tether, kit, until } = window.sdk;
    const out = [];
    for (const shift of [-HOUR, HOUR]) {
      window.clock.restore();
      const dir = shift < 0 ? "back" : "forward";
      const proxy = `clock-hb-${dir}-p`;
      await kit.startServer(`clock-hb-${dir}-s`);
      const ws = await kit.startProxy(proxy, `clock-hb-${dir}-s`);
      const t = new Tether(ws, { heartbeat: { intervalMs: 500, timeoutMs: 500 }, backoff: { initialMs: 30000 } });
      await until(t, `${dir}: open`, (s) => s.state === "open");
      await until(t, `${dir}: a heartbeat round trip`, (s) => s.rttMs !== null, 5000);
      window.clock.move(shift);
      await kit.proxyMode(proxy, "blackhole");
      const start = performance.now();
      await until(t, `${dir}: the dead link to be noticed`, (s) => s.state !== "open", 1000 + SLACK_MS);
      out.push({ dir, took: performance.now() - start, lastError: t.status.lastError });
      t.close();
    }
    window.clock.restore();
    return out;
  }, { HOUR, SLACK_MS });
  assert.equal(r.length, 2);
  for (const { dir, took, lastError } of r) assert.match(lastError, /^heartbeat timeout: no answer to a ping within \d+ ms$/, `${dir}: noticed after ${took} ms`);
  assert.deepEqual(problems, []);
});
