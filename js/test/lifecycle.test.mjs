// Page lifecycle (issue 14) in Chromium, against the real server through
// the testkit's fault proxy: the back/forward cache, frozen and hidden
// tabs, sleep, network changes, and an explicit close() that none of them
// undoes. The "mechanism_" tests check, with a plain WebSocket and no SDK,
// that each way this file puts a page through a lifecycle event does what
// the SDK tests rely on (lifecycle.mjs says which are real and which are
// emulated, and why). Each test has its own page and server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE } from "./harness.mjs";
import { lifecycleSuite, metrics, poll } from "./lifecycle.mjs";

const suite = lifecycleSuite();
/** Timer, event-loop and CDP slack on top of "at once" or a deadline. */
const SLACK_MS = 500;

/** A plain WebSocket in the page (`window.raw.socket`); resolves once open.
 * `raw.message(type)`: resolves with the first message of that type
 * (`{at, data}`); `raw.closed`: resolves with its close code. */
const openRaw = (page, url) => page.evaluate((url) => new Promise((resolve, reject) => {
  const s = new WebSocket(url);
  const messages = [];
  const waits = new Set();
  s.onmessage = (e) => {
    messages.push({ at: performance.now(), data: JSON.parse(e.data) });
    for (const w of [...waits]) w();
  };
  const message = (type) => new Promise((done) => {
    const check = () => {
      const m = messages.find((x) => x.data.type === type);
      if (m) {
        waits.delete(check);
        done(m);
      }
    };
    waits.add(check);
    check();
  });
  window.raw = { socket: s, message, closed: new Promise((r) => s.addEventListener("close", (e) => r(e.code))) };
  s.onopen = () => resolve(null);
  s.onerror = () => reject(new Error("raw socket failed"));
}), url);

const connections = async (ws) => (await metrics(ws)).tether_connections;

test("mechanism_back_forward_cache", async () => {
  const ws = await suite.kit.startServer("m-bf-s");
  const p = await suite.open();
  try {
    // A page that closes its socket on pagehide enters the cache: the
    // server sees the socket go while the page is away, and the page
    // comes back from the cache.
    await openRaw(p.page, ws);
    await p.page.evaluate(() => addEventListener("pagehide", () => window.raw.socket.close(1000), { once: true }));
    await poll("the raw socket counted", async () => (await connections(ws)) === 1);
    await p.away();
    await poll("the socket closed while the page is away", async () => (await connections(ws)) === 0);
    const shown = await p.back();
    assert.equal(shown.persisted, true, `restored from the cache: ${JSON.stringify(shown)}`);
    assert.deepEqual(p.notCached, []);
    // The cache hides and freezes the page for real: the one way to get
    // real `freeze` / `resume` and a hidden document in headless Chromium
    // (while the page runs nothing).
    const seen = await p.page.evaluate(() =>
      window.life.events.map((e) => `${e.type}${e.persisted === undefined ? "" : `(${e.persisted})`}:${e.visibility}`));
    assert.deepEqual(seen, ["pagehide(true):visible", "visibilitychange:hidden", "freeze:hidden",
      "resume:hidden", "visibilitychange:visible", "pageshow(true):visible"]);

    // A page with a socket left open enters the cache too (this Chromium
    // does not refuse it), but keeps the socket while away and loses it
    // when it comes back (1006): a client that leaves its socket open
    // comes back to a dead link it must notice and replace.
    await openRaw(p.page, ws);
    await poll("the second raw socket counted", async () => (await connections(ws)) === 1);
    await p.away();
    const away = [];
    for (let i = 0; i < 10; i++) {
      away.push(await connections(ws));
      await new Promise((r) => setTimeout(r, 100)); // sampling while away, an observation
    }
    assert.ok(away.every((n) => n === 1), `an open socket stays connected while the page is cached: ${away}`);
    const again = await p.back();
    assert.equal(again.persisted, true, `an open socket does not keep the page out of the cache: ${JSON.stringify(again)}`);
    assert.equal(await p.page.evaluate(() => window.raw.closed), 1006, "the kept socket is closed on restore");
    await poll("the server sees it go", async () => (await connections(ws)) === 0);

    // And CDP tells why a page did not use the cache: an unload handler.
    await p.page.evaluate(() => addEventListener("unload", () => {}));
    await p.away();
    const reloaded = await p.back();
    assert.equal(reloaded.reloaded, true, `a page with an unload handler is loaded afresh: ${JSON.stringify(reloaded)}`);
    assert.ok(p.notCached.flat().includes("UnloadHandlerExistsInMainFrame"), `CDP's reasons: ${JSON.stringify(p.notCached)}`);
    // Chromium's word for the kept socket (the page sees it fail on restore).
    assert.deepEqual(p.problems.filter((x) => !/WebSocket connection to .* failed: Page entered Back-Forward Cache/.test(x)), []);
    assert.equal(p.problems.length, 1, `the kept socket's failure is reported once: ${p.problems}`);
  } finally {
    await p.close();
  }
});

// Why hidden and frozen are emulated: headless Chromium keeps a page
// visible and running whatever CDP asks. If this starts failing, the
// real thing has become reachable: use it in the tests below.
test("mechanism_headless_chromium_neither_hides_nor_freezes_a_page", async () => {
  const p = await suite.open();
  try {
    const real = () => p.page.evaluate(() => ({
      visibility: Object.getOwnPropertyDescriptor(Document.prototype, "visibilityState").get.call(document),
      events: window.life.events.map((e) => e.type),
    }));
    await p.page.evaluate(() => {
      window.probes = { ticks: 0 };
      setInterval(() => window.probes.ticks++, 20);
    });
    await p.cdp.send("Page.setWebLifecycleState", { state: "frozen" });
    const ticks = await p.page.evaluate(() => window.probes.ticks);
    // Timers run on in a "frozen" page (the wait fails if they stop).
    await p.page.waitForFunction((t) => window.probes.ticks >= t + 5, ticks, { timeout: 5000 });
    const frozen = await real();
    await p.cdp.send("Page.setWebLifecycleState", { state: "active" });
    assert.deepEqual(frozen, { visibility: "visible", events: [] }, "no freeze, no visibilitychange");

    const { windowId } = await p.cdp.send("Browser.getWindowForTarget");
    await p.cdp.send("Browser.setWindowBounds", { windowId, bounds: { windowState: "minimized" } });
    const other = await p.page.context().newPage();
    await other.bringToFront();
    const minimized = await real();
    await other.close();
    assert.deepEqual(minimized, { visibility: "visible", events: [] }, "a minimized window behind another page is still visible");
    assert.deepEqual(p.problems, []);
  } finally {
    await p.close();
  }
});

// The stall that stands for a frozen page, late timers and sleep: the
// page's timers and socket events wait for the resume, then run late (CDP's
// socket events, which come from the page's renderer, too).
test("mechanism_stall_holds_timers_and_socket_events", async () => {
  const ws = await suite.kit.startServer("m-stall-s");
  const p = await suite.open();
  const STALL_MS = 1000;
  try {
    await openRaw(p.page, ws);
    await p.page.evaluate(() => {
      window.raw.socket.send(JSON.stringify({ type: "subscribe", id: 1, topic: "miners" }));
      return window.raw.message("subscribed");
    });
    const armedAt = await p.page.evaluate(() => {
      window.probes = { timer: new Promise((r) => setTimeout(() => r(performance.now()), 100)) };
      return performance.now();
    });
    const before = p.ws.frames.length;
    // The server has sent it when publish answers.
    const resumedAt = await p.stall(STALL_MS, () => suite.kit.publish("m-stall-s", "miners", { n: 1 }));
    const frame = await p.ws.until("the publication in CDP", () => p.ws.frames.slice(before).find((f) => f.data.type === "publication"));
    const r = await p.page.evaluate(async () => ({
      messageAt: (await window.raw.message("publication")).at,
      timerAt: await window.probes.timer,
    }));
    assert.ok(frame.at >= resumedAt, "CDP reports the frame once the page runs again");
    assert.ok(r.timerAt - armedAt >= STALL_MS - 50, `a 100 ms timer fired ${Math.round(r.timerAt - armedAt)} ms after it was armed`);
    assert.ok(r.messageAt - armedAt >= STALL_MS - 50, `the page handled the frame ${Math.round(r.messageAt - armedAt)} ms after the stall began`);
    assert.deepEqual(p.problems, []);
  } finally {
    await p.close();
  }
});

test("mechanism_network_events", async () => {
  const p = await suite.open();
  try {
    const count = (type) => p.page.evaluate((type) => window.life.events.filter((e) => e.type === type).length, type);
    const waitFor = (type, n) => p.page.evaluate(([type, n]) =>
      window.life.until(type, (ev) => ev.filter((e) => e.type === type).length >= n), [type, n]);
    const changes = await count("connection");
    await p.cdp.send("Network.emulateNetworkConditions", {
      offline: false, latency: 400, downloadThroughput: 50_000, uploadThroughput: 50_000, connectionType: "cellular3g",
    });
    await waitFor("connection", changes + 1);
    await p.page.context().setOffline(true);
    await waitFor("offline", 1);
    await p.page.context().setOffline(false);
    await waitFor("online", 1);
    assert.deepEqual(p.problems, []);
  } finally {
    await p.close();
  }
});

// ---------------------------------------------------------------------------
// The SDK (issue 14, "Behaviour").

/**
 * Page-side: `window.c`, one client on `url` with `options` and a
 * subscription to "miners", every step recorded with the page's
 * `performance.now()`: `statuses`, `log` (the logger), `received`
 * (publications), `subEvents`.
 */
function installClient({ url, options }) {
  const { Tether, recorder } = window.sdk;
  const at = () => performance.now();
  const log = recorder();
  const statuses = recorder();
  const received = recorder();
  const subEvents = recorder();
  const t = new Tether(url, { ...options, logger: (level, message, data) => log.fn({ at: at(), level, message, data }) });
  t.onStatus((s) => statuses.fn({ ...s, at: at() }));
  const sub = t.subscribe("miners", received.fn);
  sub.onState((e) => subEvents.fn({ ...e, at: at() }));
  window.c = { t, sub, log, statuses, received, subEvents };
}

/** Starts a client in the page and waits for its subscription. */
async function client(p, url, options) {
  await p.page.evaluate(installClient, { url, options });
  await p.page.evaluate(() => window.sdk.untilSub(window.c.sub, "subscribed", "subscribed"));
}

/** Publishes `from..=to` as `{n}` on "miners"; the offsets. */
async function publish(server, from, to) {
  const offsets = [];
  for (let n = from; n <= to; n++) offsets.push(await suite.kit.publish(server, "miners", { n }));
  return offsets;
}

/** Page-side: waits until the client received `n` publications. */
const receivedN = (p, n) => p.page.evaluate((n) => window.c.received.until(`${n} publications`, (s) => s.length >= n), n);

/** Page-side: the publications received, and no more for `ms` (no duplicate, no late replay). */
const receivedExactly = (p, n, ms = 1000) => p.page.evaluate(async ([n, ms]) => {
  const seen = await window.c.received.holds("no more publications", ms, (s) => s.length === n);
  return { offsets: seen.map((x) => x.offset), n: seen.map((x) => x.data.n), epochs: seen.map((x) => x.epoch) };
}, [n, ms]);

const untilState = (p, what, state, ms = 10_000) =>
  p.page.evaluate(([what, state, ms]) => window.sdk.until(window.c.t, what, (s) => s.state === state, ms), [what, state, ms]);

/** Console lines a test accepts: Chromium's own for failed or abandoned handshakes. */
const unexpected = (problems) => problems.filter((x) => !FAILED_HANDSHAKE.test(x));

// On pagehide (persisted) the client closes its socket, so the server sees
// it go while the page is cached (Chromium would keep it open otherwise:
// mechanism_back_forward_cache); on pageshow (persisted) it connects at
// once, not after a backoff step, and recovers what was published while
// away, in order, once.
test("bfcache_closes_the_socket_while_cached_then_reconnects_at_once_and_recovers", async (t) => {
  const ws = await suite.kit.startServer("bf-s");
  const p = await suite.open();
  try {
    // A 10 s backoff step: a reconnection "at once" cannot be a retry.
    await client(p, ws, { backoff: { initialMs: 10_000, maxMs: 10_000, jitter: "none" } });
    const first = await publish("bf-s", 1, 2);
    await receivedN(p, 2);
    assert.equal(await connections(ws), 1);

    await p.away();
    await poll("the cached page's socket to close at the server", async () => (await connections(ws)) === 0);
    const missed = await publish("bf-s", 3, 5);
    const shown = await p.back();
    assert.equal(shown.persisted, true, `restored from the cache: ${JSON.stringify(shown)} (not cached: ${JSON.stringify(p.notCached)})`);
    await untilState(p, "open again", "open", 5000);
    await receivedN(p, 5);
    const got = await receivedExactly(p, 5);
    const r = await p.page.evaluate(() => {
      const hide = window.life.events.filter((e) => e.type === "pagehide").at(-1);
      const show = window.life.events.filter((e) => e.type === "pageshow").at(-1);
      const { statuses, subEvents, log } = window.c;
      const since = (rec) => rec.seen.filter((x) => x.at >= hide.at);
      const opened = since(statuses).find((s) => s.state === "open");
      return {
        states: since(statuses).map((s) => s.state),
        openedAfterShowMs: opened.at - show.at,
        subEvents: since(subEvents),
        log: since(log).map((l) => `${l.level} ${l.message}`),
      };
    });
    t.diagnostic(`open ${Math.round(r.openedAfterShowMs)} ms after pageshow; log after pagehide: ${r.log.join(", ")}`);
    assert.deepEqual([...first, ...missed], [1, 2, 3, 4, 5], "the server numbers the publications");
    assert.deepEqual(got.offsets, [1, 2, 3, 4, 5], `in order, none missed or repeated: ${JSON.stringify(got)}`);
    assert.deepEqual(got.n, [1, 2, 3, 4, 5]);
    assert.ok(got.epochs.every((e) => e === got.epochs[0]), "one epoch");
    assert.ok(!r.states.includes("reconnecting") && !r.states.includes("failed"),
      `no retry scheduled while cached: ${JSON.stringify(r.states)} (log: ${JSON.stringify(r.log)})`);
    assert.ok(r.openedAfterShowMs <= 1000 + SLACK_MS, `open ${Math.round(r.openedAfterShowMs)} ms after pageshow (log: ${JSON.stringify(r.log)})`);
    const subscribed = r.subEvents.filter((e) => e.state === "subscribed");
    assert.equal(subscribed.length, 1, `one resubscribe: ${JSON.stringify(r.subEvents)}`);
    assert.equal(subscribed[0].recovered, true);
    assert.equal(subscribed[0].missed, 3);
    assert.equal(await connections(ws), 1, "one connection again");
    assert.deepEqual(unexpected(p.problems), []);
  } finally {
    await p.close();
  }
});

// A frozen tab (emulated: hidden, freeze, a stall, resume) whose link died
// half-open meanwhile, with publications it missed: on resume the client
// pings at once, finds no answer within the heartbeat timeout (the
// interval, 30 s, plays no part), reconnects and recovers.
test("frozen_then_resumed_checks_liveness_at_once_and_recovers", async (t) => {
  await suite.kit.startServer("frozen-s");
  const ws = await suite.kit.startProxy("frozen-p", "frozen-s");
  const p = await suite.open();
  const TIMEOUT_MS = 1000;
  try {
    await client(p, ws, {
      heartbeat: { intervalMs: 30_000, timeoutMs: TIMEOUT_MS },
      backoff: { initialMs: 500, maxMs: 500, jitter: "none" },
      connectTimeoutMs: 3000,
    });
    await publish("frozen-s", 1, 2);
    await receivedN(p, 2);
    const acceptedBefore = await suite.kit.proxyAccepted("frozen-p");
    await p.page.evaluate(() => window.life.hide());
    const framesBefore = p.ws.frames.length;
    const resumedAt = await p.stall(500, async () => {
      await suite.kit.proxyMode("frozen-p", "blackhole");
      await publish("frozen-s", 3, 5);
    }, { frozen: true });
    const ping = await p.ws.until("a ping after the resume",
      () => p.ws.frames.slice(framesBefore).find((f) => f.dir === "sent" && f.data?.type === "ping"), 5000);
    const dead = await p.page.evaluate((ms) => window.sdk.until(window.c.t, "the dead link noticed", (s) => s.state !== "open", ms), TIMEOUT_MS + 3000);
    const noticedAfterMs = await p.page.evaluate(() =>
      window.c.statuses.seen.find((s) => s.at >= window.life.resumedAt && s.state !== "open").at - window.life.resumedAt);
    await suite.kit.proxyMode("frozen-p", "pass");
    await untilState(p, "open again", "open", 10_000);
    await receivedN(p, 5);
    const got = await receivedExactly(p, 5);
    const subscribed = await p.page.evaluate(() =>
      window.c.subEvents.seen.filter((e) => e.at >= window.life.resumedAt && e.state === "subscribed"));
    await p.page.evaluate(() => window.life.show());
    t.diagnostic(`liveness ping ${Math.round(ping.at - resumedAt)} ms after the resume, dead link noticed after ${Math.round(noticedAfterMs)} ms`);
    assert.ok(ping.at - resumedAt <= SLACK_MS, `the liveness ping went ${Math.round(ping.at - resumedAt)} ms after the resume`);
    assert.match(dead.lastError ?? "", /^heartbeat timeout/, `the unanswered ping found the dead link: ${JSON.stringify(dead)}`);
    assert.ok(noticedAfterMs <= TIMEOUT_MS + SLACK_MS, `dead link noticed ${Math.round(noticedAfterMs)} ms after the resume`);
    assert.deepEqual(got.offsets, [1, 2, 3, 4, 5], `recovered in order, once: ${JSON.stringify(got)}`);
    assert.equal(subscribed.length, 1, `one resubscribe: ${JSON.stringify(subscribed)}`);
    assert.equal(subscribed[0].recovered, true);
    assert.equal(subscribed[0].missed, 3);
    assert.ok(await suite.kit.proxyAccepted("frozen-p") > acceptedBefore, "a new TCP connection");
    assert.deepEqual(unexpected(p.problems), []);
  } finally {
    await p.close();
  }
});

// Resumed while waiting to retry: the wait ends at once (README "Tabs,
// sleep and the back/forward cache"), not after the 30 s step.
test("frozen_while_reconnecting_resume_attempts_at_once", async (t) => {
  await suite.kit.startServer("frozen-retry-s");
  const ws = await suite.kit.startProxy("frozen-retry-p", "frozen-retry-s");
  const p = await suite.open();
  try {
    await client(p, ws, { backoff: { initialMs: 30_000, maxMs: 30_000, jitter: "none" } });
    await suite.kit.proxyCut("frozen-retry-p");
    await untilState(p, "reconnecting", "reconnecting");
    await p.page.evaluate(() => window.life.hide());
    const socketsBefore = p.ws.sockets.length;
    const resumedAt = await p.stall(500, async () => {}, { frozen: true });
    const socket = await p.ws.until("the attempt after the resume", () => p.ws.sockets[socketsBefore], 5000);
    await untilState(p, "open again", "open", 5000);
    await p.page.evaluate(() => window.life.show());
    t.diagnostic(`attempt ${Math.round(socket.createdAt - resumedAt)} ms after the resume`);
    assert.ok(socket.createdAt - resumedAt <= SLACK_MS, `the attempt ran ${Math.round(socket.createdAt - resumedAt)} ms after the resume`);
    assert.deepEqual(unexpected(p.problems), []);
  } finally {
    await p.close();
  }
});

// A hidden tab whose timers run late (a stall: Chromium's intensive
// throttling cannot be reached headless, see lifecycle.mjs). The link is
// healthy but a ping is outstanding when the page stalls, and its answer
// is held until after the resume: the pong deadline is observed seconds
// late, with no pong yet. A late deadline is not a dead link: the client
// pings again, the answer comes, and the link is kept (same TCP
// connection, never out of `open`).
test("hidden_late_heartbeat_deadline_is_not_a_dead_link", async () => {
  await suite.kit.startServer("hidden-hb-s");
  const ws = await suite.kit.startProxy("hidden-hb-p", "hidden-hb-s");
  const p = await suite.open();
  const INTERVAL_MS = 1000;
  const TIMEOUT_MS = 1000;
  try {
    await client(p, ws, { heartbeat: { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS }, backoff: { initialMs: 30_000 } });
    await p.page.evaluate(() => window.sdk.until(window.c.t, "a first heartbeat round trip", (s) => s.rttMs !== null, 5000));
    const accepted = await suite.kit.proxyAccepted("hidden-hb-p");
    await p.page.evaluate(() => window.life.hide());
    const statusesBefore = await p.page.evaluate(() => window.c.statuses.seen.length);
    await suite.kit.proxyMode("hidden-hb-p", "blackhole");
    const framesBefore = p.ws.frames.length;
    await p.ws.until("a ping into the blackhole",
      () => p.ws.frames.slice(framesBefore).find((f) => f.dir === "sent" && f.data?.type === "ping"), INTERVAL_MS + 2000);
    // Stalled past the deadline by more than a whole timeout.
    const resumedAt = await p.stall(INTERVAL_MS + 2 * TIMEOUT_MS + 500);
    await suite.kit.proxyMode("hidden-hb-p", "pass");
    // A pong on the wire after the resume (not a status event: the status
    // changes only if the round trip differs from the last one).
    const rtt = await p.ws.until("a pong after the resume",
      () => p.ws.frames.slice(framesBefore).find((f) => f.dir === "received" && f.data?.type === "pong" && f.at > resumedAt), 5000);
    await p.page.evaluate((ms) => window.sdk.holds(window.c.t, "the link staying open", ms, (s) => s.state === "open"), 2 * (INTERVAL_MS + TIMEOUT_MS));
    const states = await p.page.evaluate((n) => window.c.statuses.seen.slice(n).map((s) => s.state), statusesBefore);
    await p.page.evaluate(() => window.life.show());
    assert.ok(rtt, "answered");
    assert.ok(states.every((s) => s === "open"), `never left open: ${JSON.stringify(states)}`);
    assert.equal(await suite.kit.proxyAccepted("hidden-hb-p"), accepted, "the same TCP connection");
    assert.deepEqual(unexpected(p.problems), []);
  } finally {
    await p.close();
  }
});

// A retry that falls due while the tab is hidden and its timers late
// still happens, late, without the tab becoming visible.
test("hidden_retry_due_while_hidden_happens", async (t) => {
  await suite.kit.startServer("hidden-retry-s");
  const ws = await suite.kit.startProxy("hidden-retry-p", "hidden-retry-s");
  const p = await suite.open();
  const STEP_MS = 1000;
  try {
    await client(p, ws, { backoff: { initialMs: STEP_MS, maxMs: STEP_MS, jitter: "none" } });
    const accepted = await suite.kit.proxyAccepted("hidden-retry-p");
    await p.page.evaluate(() => window.life.hide());
    await suite.kit.proxyCut("hidden-retry-p");
    await untilState(p, "reconnecting", "reconnecting");
    await p.stall(STEP_MS + 1500);
    await untilState(p, "open again", "open", 10_000);
    const r = await p.page.evaluate(() => ({
      attemptAfterResumeMs: window.c.statuses.seen.find((s) => s.at >= window.life.resumedAt && s.state === "connecting")?.at - window.life.resumedAt,
      visibility: document.visibilityState,
      events: window.life.events.map((e) => e.type),
    }));
    await p.page.evaluate(() => window.life.show());
    t.diagnostic(`the overdue retry ran ${Math.round(r.attemptAfterResumeMs)} ms after the resume`);
    assert.equal(r.visibility, "hidden", "reopened while still hidden");
    assert.deepEqual(r.events, ["visibilitychange"], "the only page event was the hide");
    assert.ok(r.attemptAfterResumeMs <= SLACK_MS, `the overdue retry ran ${Math.round(r.attemptAfterResumeMs)} ms after the resume`);
    assert.equal(await suite.kit.proxyAccepted("hidden-retry-p"), accepted + 1, "one new TCP connection");
    assert.deepEqual(unexpected(p.problems), []);
  } finally {
    await p.close();
  }
});

// The same for a connect deadline: the page stalls right after connect(),
// while the handshake completes; the connect timeout is observed late, with
// the open and the welcome still queued. That is not a failed attempt: the
// attempt opens.
test("hidden_late_connect_deadline_is_not_a_failed_attempt", async () => {
  await suite.kit.startServer("hidden-connect-s");
  const ws = await suite.kit.startProxy("hidden-connect-p", "hidden-connect-s");
  const p = await suite.open();
  const CONNECT_MS = 1000;
  try {
    await p.page.evaluate(installClient, { url: ws, options: { autoConnect: false, connectTimeoutMs: CONNECT_MS, backoff: { initialMs: 30_000 } } });
    await p.page.evaluate(() => window.life.hide());
    await p.stall(CONNECT_MS + 2000, async () => {}, { run: "window.c.t.connect(); debugger;" });
    await p.page.evaluate(() => window.sdk.until(window.c.t, "the attempt to end", (s) => s.state !== "connecting", 5000));
    const r = await p.page.evaluate(() => ({
      states: window.c.statuses.seen.map((s) => s.state),
      log: window.c.log.seen.map((l) => `${l.level} ${l.message}`),
    }));
    await p.page.evaluate(() => window.life.show());
    assert.deepEqual(r.states.filter((s) => s !== "connecting"), ["open"], `one attempt, opened: ${JSON.stringify(r)}`);
    assert.ok(!r.log.some((l) => /timeout/.test(l)), `no timeout: ${JSON.stringify(r.log)}`);
    // One WebSocket made by the page (CDP): the attempt was not abandoned
    // and retried. (Not the proxy's TCP count: in one run under load it
    // counted 3 for this test's one WebSocket and one attempt; why is not
    // known.)
    assert.equal(p.ws.sockets.length, 1, `one WebSocket: ${JSON.stringify(p.ws.sockets.map((x) => x.url))}`);
    assert.deepEqual(unexpected(p.problems), []);
  } finally {
    await p.close();
  }
});

// Sleep, the shell's part: the page's timers stall far past their time.
// Open: a liveness ping goes at once on the resume and the healthy link is
// kept. Reconnecting: the overdue attempt runs at once on the resume.
// (The 10-minute clock jump is the core's fake-clock test.)
test("sleep_stalled_timers_check_liveness_at_once_and_retry_at_once", async (t) => {
  await suite.kit.startServer("sleep-s");
  const ws = await suite.kit.startProxy("sleep-p", "sleep-s");
  const p = await suite.open();
  const INTERVAL_MS = 1000;
  const STEP_MS = 1000;
  try {
    await client(p, ws, {
      heartbeat: { intervalMs: INTERVAL_MS, timeoutMs: 5000 },
      backoff: { initialMs: STEP_MS, maxMs: STEP_MS, jitter: "none" },
    });
    await p.page.evaluate(() => window.sdk.until(window.c.t, "a first heartbeat round trip", (s) => s.rttMs !== null, 5000));
    const accepted = await suite.kit.proxyAccepted("sleep-p");
    let framesBefore = p.ws.frames.length;
    const resumedAt = await p.stall(4 * INTERVAL_MS);
    const ping = await p.ws.until("a ping after the wake",
      () => p.ws.frames.slice(framesBefore).find((f) => f.dir === "sent" && f.data?.type === "ping"), 5000);
    // Its pong, on the wire (a status event need not come: the status
    // changes only if the round trip differs from the last one).
    await p.ws.until("the pong after the wake",
      () => p.ws.frames.slice(framesBefore).find((f) => f.dir === "received" && f.data?.type === "pong" && f.data.id === ping.data.id), 5000);
    assert.equal(await p.page.evaluate(() => window.c.t.state), "open", "open after the pong");
    const openStates = await p.page.evaluate(() => window.c.statuses.seen.filter((s) => s.at >= window.life.resumedAt).map((s) => s.state));
    assert.ok(ping.at - resumedAt <= SLACK_MS, `open: the liveness ping went ${Math.round(ping.at - resumedAt)} ms after the wake`);
    assert.ok(openStates.every((s) => s === "open"), `open: the link was kept: ${JSON.stringify(openStates)}`);
    assert.equal(await suite.kit.proxyAccepted("sleep-p"), accepted, "open: the same TCP connection");

    await suite.kit.proxyCut("sleep-p");
    await untilState(p, "reconnecting", "reconnecting");
    framesBefore = p.ws.frames.length;
    const socketsBefore = p.ws.sockets.length;
    const wokeAt = await p.stall(STEP_MS + 4000);
    const socket = await p.ws.until("the attempt after the wake", () => p.ws.sockets[socketsBefore], 5000);
    await untilState(p, "open again", "open", 10_000);
    t.diagnostic(`open: ping ${Math.round(ping.at - resumedAt)} ms after the wake; reconnecting: attempt ${Math.round(socket.createdAt - wokeAt)} ms after the wake`);
    assert.ok(socket.createdAt - wokeAt <= SLACK_MS, `reconnecting: the attempt ran ${Math.round(socket.createdAt - wokeAt)} ms after the wake`);
    assert.equal(p.ws.sockets.length, socketsBefore + 1, "one attempt, not one per missed step");
    assert.deepEqual(unexpected(p.problems), []);
  } finally {
    await p.close();
  }
});

// `heartbeat.hiddenIntervalMs`: a hidden page pings at that period, not
// at `intervalMs`; visible again, it pings at once.
test("hidden_interval_spaces_pings_then_visible_pings_at_once", async (t) => {
  await suite.kit.startServer("hidden-iv-s");
  const ws = await suite.kit.startProxy("hidden-iv-p", "hidden-iv-s");
  const p = await suite.open();
  const INTERVAL_MS = 200;
  const WINDOW_MS = 2000;
  try {
    await client(p, ws, { heartbeat: { intervalMs: INTERVAL_MS, hiddenIntervalMs: 60_000, timeoutMs: 1000 } });
    const pings = (from) => p.ws.frames.slice(from).filter((f) => f.dir === "sent" && f.data?.type === "ping");
    let from = p.ws.frames.length;
    await p.ws.until("visible pings at intervalMs", () => pings(from).length >= 3, 5000);
    await p.page.evaluate(() => window.life.hide());
    from = p.ws.frames.length;
    // An observation period: how many pings a hidden page sends.
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const hiddenPings = pings(from).length;
    from = p.ws.frames.length;
    const shownAt = performance.now();
    await p.page.evaluate(() => window.life.show());
    const ping = await p.ws.until("a ping on visible", () => pings(from)[0], 5000);
    t.diagnostic(`${hiddenPings} pings in ${WINDOW_MS} ms hidden (${WINDOW_MS / INTERVAL_MS} due visible); visible: ping after ${Math.round(ping.at - shownAt)} ms`);
    assert.ok(hiddenPings <= 1, `${hiddenPings} pings in ${WINDOW_MS} ms while hidden`);
    assert.ok(ping.at - shownAt <= SLACK_MS, `visible: a ping ${Math.round(ping.at - shownAt)} ms after`);
    assert.equal(await p.page.evaluate(() => window.c.t.state), "open");
    assert.deepEqual(unexpected(p.problems), []);
  } finally {
    await p.close();
  }
});

// A network change (`navigator.connection` `change`): a ping at once. A
// link that survived is kept; a dead one is replaced within the heartbeat
// timeout, not at the next scheduled ping (30 s); and while waiting to
// retry (30 s step), a change means an attempt at once.
test("network_change_checks_liveness_at_once", async (t) => {
  await suite.kit.startServer("net-s");
  const ws = await suite.kit.startProxy("net-p", "net-s");
  const p = await suite.open();
  const TIMEOUT_MS = 1000;
  let type = 0;
  const change = async () => {
    const before = await p.page.evaluate(() => window.life.events.filter((e) => e.type === "connection").length);
    type += 1;
    // The event needs a change in what the page can see (downlink, rtt,
    // effectiveType): connectionType alone is not shown on desktop.
    const bytesPerS = type % 2 ? 500_000 : 1_000_000;
    const at = performance.now();
    await p.cdp.send("Network.emulateNetworkConditions", {
      offline: false, latency: 0, downloadThroughput: bytesPerS, uploadThroughput: bytesPerS, connectionType: type % 2 ? "cellular4g" : "wifi",
    });
    await p.page.evaluate((n) => window.life.until("a connection change", (ev) => ev.filter((e) => e.type === "connection").length > n), before);
    return at;
  };
  try {
    await client(p, ws, {
      heartbeat: { intervalMs: 30_000, timeoutMs: TIMEOUT_MS },
      backoff: { initialMs: 30_000, maxMs: 30_000, jitter: "none" },
    });
    const accepted = await suite.kit.proxyAccepted("net-p");
    const pingAfter = (from) => p.ws.until("a ping after the change",
      () => p.ws.frames.slice(from).find((f) => f.dir === "sent" && f.data?.type === "ping"), 5000);

    let from = p.ws.frames.length;
    const changedAt = await change();
    const kept = await pingAfter(from);
    await p.ws.until("its answer",
      () => p.ws.frames.slice(from).find((f) => f.dir === "received" && f.data?.type === "pong" && f.data.id === kept.data.id), 5000);
    assert.ok(kept.at - changedAt <= SLACK_MS, `survived: ping ${Math.round(kept.at - changedAt)} ms after the change`);
    assert.equal(await p.page.evaluate(() => window.c.t.state), "open");
    assert.equal(await suite.kit.proxyAccepted("net-p"), accepted, "survived: the same TCP connection");

    await suite.kit.proxyMode("net-p", "blackhole");
    from = p.ws.frames.length;
    const changedDeadAt = await change();
    const probe = await pingAfter(from);
    const dead = await p.page.evaluate((ms) => window.sdk.until(window.c.t, "the dead link replaced", (s) => s.state !== "open", ms), TIMEOUT_MS + 3000);
    const deadAfterMs = performance.now() - changedDeadAt;
    assert.ok(probe.at - changedDeadAt <= SLACK_MS, `dead: ping ${Math.round(probe.at - changedDeadAt)} ms after the change`);
    assert.match(dead.lastError ?? "", /^heartbeat timeout/);
    assert.ok(deadAfterMs <= TIMEOUT_MS + SLACK_MS, `dead: noticed ${Math.round(deadAfterMs)} ms after the change`);

    await untilState(p, "waiting to retry", "reconnecting");
    await suite.kit.proxyMode("net-p", "pass");
    const socketsBefore = p.ws.sockets.length;
    const changedRetryAt = await change();
    const socket = await p.ws.until("the attempt after the change", () => p.ws.sockets[socketsBefore], 5000);
    await untilState(p, "open again", "open", 5000);
    const attemptMs = socket.createdAt - changedRetryAt;
    t.diagnostic(`survived: ping ${Math.round(kept.at - changedAt)} ms after the change; dead: ping ${Math.round(probe.at - changedDeadAt)} ms, replaced ${Math.round(deadAfterMs)} ms after; reconnecting: attempt ${Math.round(attemptMs)} ms after`);
    assert.ok(attemptMs <= SLACK_MS, `reconnecting: attempt ${Math.round(attemptMs)} ms after the change`);
    assert.deepEqual(unexpected(p.problems), []);
  } finally {
    await p.close();
  }
});

// An explicit close() is never undone: after it, every lifecycle event
// (hidden / visible, freeze / resume with a stall, offline / online, a
// network change, the back/forward cache) leaves the client closed, and
// no socket is opened.
test("explicit_close_stays_closed_through_every_event", async () => {
  await suite.kit.startServer("closed-s");
  const ws = await suite.kit.startProxy("closed-p", "closed-s");
  const p = await suite.open();
  try {
    await client(p, ws, { backoff: { initialMs: 100, maxMs: 100 } });
    await p.page.evaluate(() => window.c.t.close());
    await untilState(p, "closed", "closed");
    const accepted = await suite.kit.proxyAccepted("closed-p");
    const sockets = p.ws.sockets.length;
    const statuses = await p.page.evaluate(() => window.c.statuses.seen.length);
    const count = (type) => p.page.evaluate((type) => window.life.events.filter((e) => e.type === type).length, type);
    const waitFor = (type, n) => p.page.evaluate(([type, n]) =>
      window.life.until(type, (ev) => ev.filter((e) => e.type === type).length >= n), [type, n]);

    await p.page.evaluate(() => window.life.hide());
    await p.page.evaluate(() => window.life.show());
    await p.stall(1000, async () => {}, { frozen: true });
    await p.page.context().setOffline(true);
    await waitFor("offline", 1);
    await p.page.context().setOffline(false);
    await waitFor("online", 1);
    const changes = await count("connection");
    await p.cdp.send("Network.emulateNetworkConditions", {
      offline: false, latency: 400, downloadThroughput: 50_000, uploadThroughput: 50_000, connectionType: "cellular3g",
    });
    await waitFor("connection", changes + 1);
    await p.away();
    const shown = await p.back();
    assert.equal(shown.persisted, true, `restored from the cache: ${JSON.stringify(shown)}`);
    // Anything the events set off would start within this.
    await p.page.evaluate(() => window.sdk.holds(window.c.t, "closed", 1000, (s) => s.state === "closed"));
    const after = await p.page.evaluate((n) => window.c.statuses.seen.slice(n).map((s) => s.state), statuses);
    const events = await p.page.evaluate(() => window.life.events.map((e) => e.type));
    assert.deepEqual(after, [], "no status change after close()");
    assert.equal(p.ws.sockets.length, sockets, "no socket opened");
    assert.equal(await suite.kit.proxyAccepted("closed-p"), accepted, "no connection at the proxy");
    for (const e of ["visibilitychange", "freeze", "resume", "offline", "online", "connection", "pagehide", "pageshow"]) {
      assert.ok(events.includes(e), `the page saw ${e}: ${events}`);
    }
    assert.deepEqual(unexpected(p.problems), []);
  } finally {
    await p.close();
  }
});
