// Page lifecycle (issue 14) in Chromium, against the real server through
// the testkit's fault proxy: the back/forward cache, frozen and hidden
// tabs, sleep, network changes, and an explicit close() that none of them
// undoes. The "mechanism_" tests check, with a plain WebSocket and no SDK,
// that each way this file puts a page through a lifecycle event does what
// the SDK tests rely on (lifecycle.mjs says which are real and which are
// emulated, and why). Each test has its own page and server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { lifecycleSuite, metrics, poll } from "./lifecycle.mjs";

const suite = lifecycleSuite();

/** A plain WebSocket in the page (`window.raw.socket`); resolves once open.
 * `raw.messages`: what it received; `raw.closed`: resolves with its close code. */
const openRaw = (page, url) => page.evaluate((url) => new Promise((resolve, reject) => {
  const s = new WebSocket(url);
  const messages = [];
  s.onmessage = (e) => messages.push({ at: performance.now(), data: JSON.parse(e.data) });
  window.raw = { socket: s, messages, closed: new Promise((r) => s.addEventListener("close", (e) => r(e.code))) };
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
// page's timers and socket events wait for the resume, then run late; the
// browser receives the frame meanwhile.
test("mechanism_stall_holds_timers_and_socket_events", async () => {
  const ws = await suite.kit.startServer("m-stall-s");
  const p = await suite.open();
  const STALL_MS = 1000;
  try {
    await openRaw(p.page, ws);
    await p.page.evaluate(() => new Promise((resolve) => {
      window.raw.socket.send(JSON.stringify({ type: "subscribe", id: 1, topic: "miners" }));
      const check = () => window.raw.messages.some((m) => m.data.type === "subscribed") ? resolve(null) : setTimeout(check, 10);
      check();
    }));
    const armedAt = await p.page.evaluate(() => {
      window.probes = { timerAt: null };
      const at = performance.now();
      setTimeout(() => (window.probes.timerAt = performance.now()), 100);
      return at;
    });
    const before = p.ws.frames.length;
    // The server has sent it when publish answers.
    const resumedAt = await p.stall(STALL_MS, () => suite.kit.publish("m-stall-s", "miners", { n: 1 }));
    // CDP's socket events come from the page's renderer: they wait too.
    const frame = await p.ws.until("the publication in CDP", () => p.ws.frames.slice(before).find((f) => f.data.type === "publication"));
    const r = await p.page.evaluate(() => new Promise((resolve) => {
      const check = () => {
        const m = window.raw.messages.find((x) => x.data.type === "publication");
        if (m && window.probes.timerAt !== null) resolve({ messageAt: m.at, timerAt: window.probes.timerAt });
        else setTimeout(check, 10);
      };
      check();
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
