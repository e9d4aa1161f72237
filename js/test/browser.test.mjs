// The SDK in headless Chromium against the real tether-server (started
// and cut through the testkit control server). Run by scripts/test.sh:
//   node --test js/test/*.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE, browserSuite, openPage } from "./harness.mjs";

const suite = browserSuite();
const open = () => openPage(suite.browser, suite.web.url, suite.ctl.url);

test("connects: status transitions and fields, frozen objects, send and request", async () => {
  const { page, problems, close } = await open();
  const r = await page.evaluate(async () => {
    const { Tether, control, first, until } = window.sdk;
    const { ws } = await control("/server/start?name=v2-basic");
    const t = new Tether(ws, { autoConnect: false });
    const seen = [t.status];
    t.onStatus((s) => seen.push(s));
    t.connect();
    const open = await until(t, "open", (s) => s.state === "open");
    const reply = await t.request({ type: "get_topics", id: 999 });
    const echoed = await first("app message", (d) => {
      t.onMessage((m) => m?.id === 4242 && d(m.type));
      t.send({ type: "get_topics", id: 4242 });
    });
    open.state = "x"; // sloppy-mode code: ignored on a frozen object
    const out = {
      states: seen.map((s) => s.state),
      open: { ...open },
      frozen: Object.isFrozen(open) && open.state === "open",
      same: t.status === t.status,
      reply: [reply.type, typeof reply.id],
      echoed,
    };
    t.free();
    return out;
  });
  assert.deepEqual(r.states, ["idle", "connecting", "open"]);
  assert.equal(r.open.attempt, 0);
  assert.match(r.open.clientId, /^c_/);
  assert.equal(r.open.nextRetryAt, null);
  assert.ok(Math.abs(r.open.since - Date.now()) < 60_000, `since ${r.open.since} is epoch ms`);
  assert.equal(r.open.queued, 0);
  assert.ok(r.frozen, "status objects are frozen");
  assert.ok(r.same, "the status getter returns the same object until it changes");
  assert.deepEqual(r.reply, ["topics", "number"]);
  assert.equal(r.echoed, "topics");
  assert.deepEqual(problems, []);
  await close();
});

test("subscribes, receives, recovers exactly what it missed after a cut", async () => {
  const { page, problems, close } = await open();
  const r = await page.evaluate(async () => {
    const { Tether, control, first, until, publish } = window.sdk;
    await control("/server/start?name=v2-rec");
    const { ws } = await control("/proxy/start?name=v2-recp&server=v2-rec");
    const t = new Tether(ws, { backoff: { initialMs: 50, maxMs: 100 }, connectTimeoutMs: 300 });
    const got = [];
    const events = [];
    let wake = () => {};
    const sub = t.subscribe("miners", (p) => {
      got.push(p.data.n);
      wake();
    });
    sub.onState((e) => events.push(e));
    await first("subscribed", (d) => sub.onState((e) => e.state === "subscribed" && d()));
    const arrived = (n) => first(`publication ${n}`, (d) => {
      wake = () => got.includes(n) && d();
      wake();
    });
    await publish("v2-rec", "miners", { n: 1 });
    await arrived(1);
    // New connections stall; the live one is cut: the client retries
    // while two publications go out, then gets through.
    await control("/proxy/mode?name=v2-recp&mode=stall_new");
    await control("/proxy/cut?name=v2-recp");
    await until(t, "reconnecting", (s) => s.state === "reconnecting");
    await publish("v2-rec", "miners", { n: 2 });
    await publish("v2-rec", "miners", { n: 3 });
    await control("/proxy/mode?name=v2-recp&mode=pass");
    await arrived(3);
    const out = { got, events: events.map((e) => [e.state, e.recovered, e.missed]), state: sub.state };
    t.free();
    return out;
  });
  assert.deepEqual(r.got, [1, 2, 3], "each publication once, in order");
  assert.deepEqual(r.events[0], ["subscribed", null, 0]);
  assert.deepEqual(r.events.at(-1), ["subscribed", true, 2], "recovered the two it missed");
  assert.equal(r.state, "subscribed");
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
  await close();
});

test("requests time out; close rejects pending requests; free makes removers harmless", async () => {
  const { page, problems, close } = await open();
  const r = await page.evaluate(async () => {
    const { Tether, control, until } = window.sdk;
    await control("/server/start?name=v2-req");
    const { ws } = await control("/proxy/start?name=v2-reqp&server=v2-req");
    const t = new Tether(ws, { heartbeat: false });
    await until(t, "open", (s) => s.state === "open");
    await control("/proxy/mode?name=v2-reqp&mode=blackhole");
    const timedOut = await t.request({ type: "get_topics" }, { timeoutMs: 200 }).catch((e) => [e.code, e.message]);
    const pending = t.request({ type: "get_topics" }, { timeoutMs: 60_000 }).catch((e) => e.code);
    const off = t.onStatus(() => {});
    t.close(4001, "done");
    const closed = { state: t.state, lastClose: t.status.lastClose, rejected: await pending };
    t.close();
    const sendAfterClose = t.send("x");
    const sub = t.subscribe("miners", () => {});
    t.free();
    off();
    off();
    sub.unsubscribe();
    t.free();
    await control("/proxy/mode?name=v2-reqp&mode=pass");
    return { timedOut, closed, sendAfterClose, freedRequest: await t.request({ type: "x" }).catch((e) => e.code) };
  });
  assert.deepEqual(r.timedOut, ["timeout", "request timed out"]);
  assert.equal(r.closed.state, "closed");
  assert.deepEqual(r.closed.lastClose, { code: 4001, reason: "done", wasClean: true });
  assert.equal(r.closed.rejected, "closed");
  assert.equal(r.sendAfterClose, false);
  assert.equal(r.freedRequest, "closed");
  assert.deepEqual(problems, []);
  await close();
});

test("offline queue: sends made before connect() go out once, in order, on open", async () => {
  const { page, problems, close } = await open();
  const r = await page.evaluate(async () => {
    const { Tether, control, first } = window.sdk;
    const { ws } = await control("/server/start?name=v2-queue");
    const t = new Tether(ws, { autoConnect: false, queue: { maxMessages: 3 } });
    const idle = t.state;
    const sent = [1, 2, 3, 4].map((i) => t.send({ type: "get_topics", id: 100 + i }));
    const queued = t.status.queued;
    const replies = [];
    const all = first("three replies", (d) => t.onMessage((m) => {
      replies.push(m.id);
      if (replies.length === 3) d();
    }));
    t.connect();
    await all;
    t.free();
    return { idle, sent, queued, replies };
  });
  assert.equal(r.idle, "idle");
  assert.deepEqual(r.sent, [true, true, true, false], "the fourth is over queue.maxMessages");
  assert.equal(r.queued, 3);
  assert.deepEqual(r.replies, [101, 102, 103]);
  assert.deepEqual(problems, []);
  await close();
});

test("re-entrancy matrix: every API call from inside every kind of callback", async () => {
  const { page, problems, close } = await open();
  const results = await page.evaluate(async () => {
    // @ts-expect-error: a page URL (js/test/matrix.js as the test server serves it), not a module path
    const { KINDS, ACTIONS, runCase } = await import("/matrix.js");
    const { ws } = await window.sdk.control("/server/start?name=v2-matrix");
    const out = [];
    for (const kind of KINDS) {
      for (const action of ACTIONS) {
        try {
          out.push({ kind, action, ...(await runCase("v2-matrix", ws, kind, action)) });
        } catch (e) {
          out.push({ kind, action, failed: String(e) });
        }
      }
    }
    return out;
  });
  assert.equal(results.length, 60);
  for (const r of results) {
    const name = `${r.kind} / ${r.action}`;
    assert.equal(r.failed, undefined, `${name}: ${r.failed}`);
    assert.deepEqual(r.errors, [], `${name}: the call threw`);
    // A reconnect from a status or subscription listener makes its change
    // (open, subscribed) once more: the listener hears it once more.
    const again = r.action === "reconnect" && (r.kind === "status" || r.kind === "subscription");
    assert.equal(r.calls, again ? 2 : 1, `${name}: the callback ran ${r.calls} times`);
    if (r.action === "removeOther" && r.kind !== "settle") {
      assert.equal(r.otherCalls, 0, `${name}: a listener removed during the delivery still ran`);
    }
    if (r.action === "close") assert.deepEqual(r.after, { state: "closed", rejected: "closed", otherCallsAtEnd: r.otherCalls }, name);
    else if (r.action === "free") assert.equal(r.after.rejected, "closed", name);
    else {
      assert.equal(r.after.reply, "topics", `${name}: the client works after the call`);
      if (r.action === "send") assert.equal(r.after.sent, true, name);
      if (r.action === "request") assert.equal(r.after.requested, "topics", name);
      if (r.action === "subscribe") assert.equal(r.after.subscribed, true, name);
      if (r.action === "unsubscribe") assert.equal(r.after.side, "unsubscribed", name);
    }
  }
  // The only console output: the listeners that threw on purpose, reported.
  const thrown = problems.filter((p) => p.includes("tether-ws: a listener threw") && p.includes("boom (expected)"));
  assert.equal(thrown.length, 5, problems.join("\n"));
  assert.equal(results.find((r) => r.kind === "settle" && r.action === "throw").settleThrew, "Error: boom (expected)");
  assert.deepEqual(problems.filter((p) => !thrown.includes(p)), []);
  await close();
});

test("tether-ws/testing in the browser: FakeServer drives the client with no network (drop, recovery, restart)", async () => {
  const { page, problems, close } = await open();
  const r = await page.evaluate(async () => {
    const { Tether, until } = window.sdk;
    // @ts-expect-error: a page URL (the built SDK's testing.js), not a module path
    const { FakeServer } = await import("/testing.js");
    const server = new FakeServer({ topics: ["miners"] });
    const t = new Tether(server.url, { WebSocket: server.WebSocket, backoff: { initialMs: 1, maxMs: 5 } });
    // Every wait is on the listeners below (they re-test the pending ones).
    const waiters = [];
    const check = () => waiters.splice(0).forEach((w) => w() || waiters.push(w));
    const wait = (pred) => new Promise((res) => (pred() ? res() : waiters.push(() => pred() && (res(), true))));
    const got = [];
    const answers = [];
    const sub = t.subscribe("miners", (p) => (got.push(p.offset), check()));
    sub.onState((e) => e.state === "subscribed" && (answers.push([e.recovered, e.missed]), check()));
    await wait(() => answers.length === 1);
    server.publish("miners", 1);
    await wait(() => got.length === 1);
    server.refuse(Infinity);
    server.drop();
    server.publish("miners", 2);
    await until(t, "reconnecting", (s) => s.state === "reconnecting");
    server.refuse(0);
    await wait(() => got.length === 2);
    server.restart();
    await wait(() => answers.length === 3);
    const out = { got, answers, connections: server.connections, kinds: server.received.map((f) => f.type) };
    t.free();
    return out;
  });
  assert.deepEqual(r.got, [1, 2], "the publication made while down is replayed");
  assert.deepEqual(r.answers, [[null, 0], [true, 1], [false, 0]]);
  assert.equal(r.connections, 1);
  assert.deepEqual(r.kinds.filter((k) => k === "subscribe").length, 3);
  assert.deepEqual(problems, []);
  await close();
});

// Ported from the first SDK's (wasm-bindgen, retired) tests/browser.rs (issue 12: same names, same assertions).

test("recovers_from_a_server_restart_with_its_subscription", async () => {
  const { r, problems } = await suite.run(async () => {
    const { Tether, kit, until, untilSub, publish, recorder } = window.sdk;
    const ws = await kit.startServer("restart");
    const t = new Tether(ws, { backoff: { initialMs: 100, maxMs: 400 } });
    // A listener that throws must not break the client or later listeners.
    t.onStatus(() => {
      throw new Error("listener boom");
    });
    const statuses = recorder();
    t.onStatus(statuses.fn);
    const app = recorder();
    t.onMessage(app.fn);
    const received = recorder();
    const sub = t.subscribe("miners", received.fn);
    await until(t, "open", (s) => s.state === "open");
    const clientId = t.status.clientId;
    await untilSub(sub, "subscribed", "subscribed");
    await publish("restart", "miners", { n: 1 }, "t");
    await received.until("first publication", (s) => s.length === 1);

    await kit.killServer("restart");
    await until(t, "reconnecting", (s) => s.state === "reconnecting");
    await statuses.until("attempt 3", (s) => s.some((x) => x.attempt >= 3), 15_000);
    const attempts = statuses.seen.map((s) => s.attempt).filter((a) => a > 0);
    const subWhileDown = sub.state;

    await kit.startServer("restart");
    await until(t, "open again", (s) => s.state === "open", 15_000);
    await untilSub(sub, "resubscribed", "subscribed");
    await publish("restart", "miners", { n: 2 }, "t");
    await received.until("second publication", (s) => s.length === 2);
    const out = {
      clientId, attempts, subWhileDown,
      n: received.seen.map((p) => p.data.n),
      topics: received.seen.map((p) => p.topic),
      attempt: t.status.attempt,
      statuses: statuses.seen.length,
      frames: app.seen.map((m) => m?.type),
    };
    t.close();
    out.closed = t.state;
    return out;
  });
  assert.ok(typeof r.clientId === "string" && r.clientId !== "", `clientId ${r.clientId}`);
  assert.ok(r.attempts.every((a, i) => i === 0 || a >= r.attempts[i - 1]),
    `attempt count must grow while the server is down: ${r.attempts}`);
  assert.equal(r.subWhileDown, "pending", "a subscription waits while the link is down");
  assert.deepEqual(r.n, [1, 2]);
  assert.deepEqual(r.topics, ["miners", "miners"]);
  assert.equal(r.attempt, 0);
  assert.ok(r.statuses >= 4, "status listeners kept running after a throw");
  assert.deepEqual(r.frames, [], "protocol frames reached onMessage");
  assert.equal(r.closed, "closed");
  // The throwing listener is reported on the console, and nothing else.
  assert.ok(problems.some((p) => p.includes("tether-ws: a listener threw") && p.includes("listener boom")), problems.join("\n"));
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p) && !p.includes("listener boom")), []);
});

test("bad_options_throw_type_errors_naming_the_option", async () => {
  const { r, problems } = await suite.run(() => {
    const { Tether } = window.sdk;
    const cases = [
      [{ backoff: { initialMs: -1 } }, "backoff.initialMs"],
      [{ backoff: { jitter: "sometimes" } }, "backoff.jitter"],
      [{ backoff: { initialMs: 5000, maxMs: 100 } }, "backoff.maxMs"],
      [{ connectTimeoutMs: "soon" }, "connectTimeoutMs"],
      [{ heartBeat: {} }, "heartBeat"],
      [{ queue: { maxMessages: 1.5 } }, "queue.maxMessages"],
      [{ mode: "binary" }, "mode"],
      [{ mode: null }, "mode"],
      [{ autoConnect: 1 }, "autoConnect"],
      [{ stableAfterMs: -5 }, "stableAfterMs"],
      [{ protocols: [1] }, "protocols"],
      [{ protocols: null }, "protocols"],
      [{ tokenProvider: "abc" }, "tokenProvider"],
      [{ backoff: { factor: 0.5 } }, "backoff.factor"],
      [{ backoff: { maxAttempts: -1 } }, "backoff.maxAttempts"],
      [{ backoff: { initial: 1 } }, "backoff.initial"],
      [{ backoff: [] }, "backoff"],
      [{ heartbeat: true }, "heartbeat"],
      [{ heartbeat: { intervalMs: 0 } }, "heartbeat.intervalMs"],
      [{ heartbeat: { timeoutMs: "1s" } }, "heartbeat.timeoutMs"],
      [{ queue: { maxBytes: -1 } }, "queue.maxBytes"],
      [{ raw: { pingMessage: 5 } }, "raw.pingMessage"],
      [{ raw: { pongType: {} } }, "raw.pongType"],
      [{ raw: { pong: "x" } }, "raw.pong"],
      [[], "options"],
    ];
    const verdict = (f) => {
      try {
        f();
        return { accepted: true };
      } catch (e) {
        return { typeError: e instanceof TypeError, message: String(e?.message) };
      }
    };
    const bad = cases.map(([options, name]) => ({
      options: JSON.stringify(options), name, ...verdict(() => new Tether("ws://127.0.0.1:9/ws", options)),
    }));
    const badUrls = ["http://example.invalid", [], ["ws://a.invalid/ws", 5]].map((url) => verdict(() => new Tether(url)));
    // Every option at once, valid: accepted (and not connecting).
    const all = {
      autoConnect: false, mode: "tether", protocols: "p1", tokenProvider: null, connectTimeoutMs: 2500.4,
      stableAfterMs: 0,
      backoff: { initialMs: 10, maxMs: 10, factor: 1, jitter: "none", maxAttempts: null },
      heartbeat: { intervalMs: null, timeoutMs: 1000 },
      queue: { maxMessages: 0, maxBytes: 0 },
      raw: { pingMessage: { type: "ping" }, pongType: "pong" },
    };
    let allState;
    try {
      allState = new Tether("ws://127.0.0.1:9/ws", all).state;
    } catch (e) {
      allState = `threw: ${e.message}`;
    }
    const off = new Tether("wss://a.invalid/ws", { heartbeat: false, autoConnect: false }).state;
    return { bad, badUrls, allState, off };
  });
  for (const c of r.bad) {
    assert.ok(!c.accepted, `${c.options} was accepted`);
    assert.ok(c.typeError, `${c.options}: not a TypeError`);
    assert.ok(c.message.includes(c.name), `${c.options}: message ${JSON.stringify(c.message)} does not name ${c.name}`);
  }
  for (const v of r.badUrls) assert.ok(v.typeError, `a bad url: ${JSON.stringify(v)}`);
  assert.equal(r.allState, "idle");
  assert.equal(r.off, "idle");
  assert.deepEqual(problems, []);
});

test("requests_resolve_with_their_reply_and_reject_on_error", async () => {
  const { r, problems } = await suite.run(async () => {
    const { Tether, kit } = window.sdk;
    const ws = await kit.startServer("requests");
    const t = new Tether(ws);
    // Sent before open: waits in the queue, gets its id on the wire.
    const reply = await t.request({ type: "get_topics" });
    const denied = await t.request({ type: "publish", topic: "miners", data: {} }).then(() => null, (e) => e.code);
    t.close();
    const late = await t.request({ type: "get_topics" }).then(() => null, (e) => e.code);
    let notObject;
    try {
      t.request("text");
      notObject = "accepted";
    } catch (e) {
      notObject = e instanceof TypeError ? "TypeError" : String(e);
    }
    return { type: reply.type, topicsIsArray: Array.isArray(reply.topics), denied, late, notObject };
  });
  assert.equal(r.type, "topics");
  assert.ok(r.topicsIsArray, "topics list");
  assert.equal(r.denied, "forbidden");
  assert.equal(r.late, "closed", "rejected when closed");
  assert.equal(r.notObject, "TypeError", "not an object");
  assert.deepEqual(problems, []);
});

test("each_subscription_gets_each_publication_once_through_unsubscribes", async () => {
  const { r, problems } = await suite.run(async () => {
    const { Tether, kit, untilSub, publish, recorder } = window.sdk;
    const ws = await kit.startServer("callbacks");
    const t = new Tether(ws);
    const first = recorder();
    const last = recorder();
    const subFirst = t.subscribe("alerts", first.fn);
    const subThrower = t.subscribe("alerts", () => {
      throw new Error("callback boom");
    });
    // Unsubscribes itself on its second publication; `last` follows it, so
    // a list changed under the delivery in progress would skip `last`.
    const quitter = recorder();
    const subQuitter = t.subscribe("alerts", (p) => {
      quitter.fn(p);
      if (p.data.n === 2) subQuitter.unsubscribe();
    });
    const subLast = t.subscribe("alerts", last.fn);
    await untilSub(subLast, "subscribed", "subscribed");
    for (let n = 1; n <= 5; n++) await publish("callbacks", "alerts", { n });
    await Promise.all([first, last].map((rec) => rec.until("five publications", (s) => s.length === 5)));
    const out = {
      first: first.seen.map((p) => p.data.n),
      last: last.seen.map((p) => p.data.n),
      quitter: quitter.seen.map((p) => p.data.n),
      offsets: first.seen.map((p) => p.offset),
    };
    // The last two go: the wire subscription ends; a new one starts over.
    subFirst.unsubscribe();
    subFirst.unsubscribe();
    subThrower.unsubscribe();
    subLast.unsubscribe();
    out.lastState = subLast.state;
    const again = recorder();
    const subAgain = t.subscribe("alerts", again.fn);
    await untilSub(subAgain, "subscribed again", "subscribed");
    await publish("callbacks", "alerts", { n: 6 });
    await again.until("the sixth publication", (s) => s.length === 1);
    out.again = again.seen.map((p) => p.data.n);
    out.counts = [first.seen.length, last.seen.length, quitter.seen.length];
    t.close();
    return out;
  });
  const all = [1, 2, 3, 4, 5];
  assert.deepEqual(r.first, all);
  assert.deepEqual(r.last, all, "after a throw, in order");
  assert.deepEqual(r.quitter, [1, 2]);
  assert.ok(r.offsets.every((o, i) => i === 0 || o === r.offsets[i - 1] + 1), `${r.offsets}`);
  assert.equal(r.lastState, "unsubscribed");
  assert.deepEqual(r.again, [6]);
  assert.deepEqual(r.counts, [5, 5, 2]);
  // The throwing callback is reported once per publication it got, and nothing else.
  const thrown = problems.filter((p) => p.includes("tether-ws: a listener threw") && p.includes("callback boom"));
  assert.equal(thrown.length, 5, problems.join("\n"));
  assert.deepEqual(problems.filter((p) => !thrown.includes(p)), []);
});
