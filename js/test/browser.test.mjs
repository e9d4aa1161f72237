// SDK v2 in headless Chromium against the real tether-server (started
// and cut through the testkit control server). Run by scripts/test.sh:
//   node --test js/test/*.test.mjs
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launch, openPage, startControl, startStatic } from "./harness.mjs";

let browser, ctl, web;
before(async () => {
  ctl = await startControl();
  web = await startStatic();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await web?.close();
  await ctl?.stop();
});

test("connects: status transitions and fields, frozen objects, send and request", async () => {
  const { page, problems, close } = await openPage(browser, web.url, ctl.url);
  const r = await page.evaluate(async () => {
    const { Tether, control, first, until } = window.v2;
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
  const { page, problems, close } = await openPage(browser, web.url, ctl.url);
  const r = await page.evaluate(async () => {
    const { Tether, control, first, until, publish } = window.v2;
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
  assert.deepEqual(problems.filter((p) => !/WebSocket connection to .* failed/.test(p)), []);
  await close();
});

test("requests time out; close rejects pending requests; free makes removers harmless", async () => {
  const { page, problems, close } = await openPage(browser, web.url, ctl.url);
  const r = await page.evaluate(async () => {
    const { Tether, control, until } = window.v2;
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
  const { page, problems, close } = await openPage(browser, web.url, ctl.url);
  const r = await page.evaluate(async () => {
    const { Tether, control, first } = window.v2;
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
  const { page, problems, close } = await openPage(browser, web.url, ctl.url);
  const results = await page.evaluate(async () => {
    const { KINDS, ACTIONS, runCase } = await import("/matrix.js");
    const { ws } = await window.v2.control("/server/start?name=v2-matrix");
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
