// The page lifecycle tests' harness (lifecycle.test.mjs): Chromium with the
// back/forward cache on, and the means of putting a page through what
// browsers do to tabs, as far as headless Chromium allows (every finding
// below is checked by a "mechanism_" test):
// - back/forward cache: real. Playwright's `--disable-back-forward-cache`
//   is dropped; `goBack` waits for the commit only (a page restored from
//   the cache fires `pageshow`, not `load`). The cache hides and freezes
//   the page for real (pagehide, visibilitychange, freeze ... resume,
//   visibilitychange, pageshow), the only real freeze headless gives.
// - hidden and frozen: emulated. Headless Chromium keeps every page
//   visible (a minimized window, a tab behind another, CDP
//   `Page.setWebLifecycleState` "frozen" all leave `visibilityState`
//   "visible", no `freeze` event, timers running), so the page's
//   `visibilityState` is overridden and `visibilitychange` / `freeze` /
//   `resume` dispatched, and freezing is a stall.
// - a stall (a frozen page, late timers, sleep): CDP `Debugger.pause` stops
//   the page's JS; timers and socket events wait and run on resume, late.
// - network: `context.setOffline` fires `offline` / `online`; CDP
//   `Network.emulateNetworkConditions` fires `navigator.connection`'s
//   `change`.
// Socket traffic is watched from outside the page, on CDP's Network
// events: what the page really sent and when.
import { control, startSuite } from "./harness.mjs";

/** Another same-origin page to navigate to. */
const AWAY = "<!doctype html><meta charset=utf-8><title>away</title><p>away</p>";

/** Resolves once `pred()` holds, checked now and after every `wake()`; rejects after `ms`. */
function waiter() {
  const waits = new Set();
  const wake = () => {
    for (const w of [...waits]) w();
  };
  const until = (what, pred, ms = 10_000) => new Promise((resolve, reject) => {
    const check = () => {
      const v = pred();
      if (v) {
        waits.delete(check);
        clearTimeout(timer);
        resolve(v);
      }
    };
    const timer = setTimeout(() => {
      waits.delete(check);
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    waits.add(check);
    check();
  });
  return { wake, until };
}

/**
 * The page's WebSocket traffic as CDP reports it: `sockets` (created,
 * closed) and `frames` (`{ dir: "sent" | "received", at, data }`, `at` on
 * the Node side's `performance.now()`, `data` parsed when JSON).
 */
function watchSockets(cdp) {
  const w = waiter();
  const log = { sockets: [], frames: [], until: w.until };
  const parse = (s) => {
    try {
      return JSON.parse(s);
    } catch {
      return s;
    }
  };
  cdp.on("Network.webSocketCreated", (e) => {
    log.sockets.push({ id: e.requestId, url: e.url, createdAt: performance.now(), closedAt: null });
    w.wake();
  });
  cdp.on("Network.webSocketClosed", (e) => {
    const s = log.sockets.find((x) => x.id === e.requestId);
    if (s) s.closedAt = performance.now();
    w.wake();
  });
  for (const [event, dir] of [["Network.webSocketFrameSent", "sent"], ["Network.webSocketFrameReceived", "received"]]) {
    cdp.on(event, (e) => {
      log.frames.push({ dir, socket: e.requestId, at: performance.now(), data: parse(e.response.payloadData) });
      w.wake();
    });
  }
  return log;
}

/** Page-side helpers (`window.life`): records lifecycle events, emulates hidden/visible. */
function installLife() {
  const events = [];
  const waits = new Set();
  const record = (type, extra = {}) => {
    events.push({ type, at: performance.now(), visibility: document.visibilityState, ...extra });
    for (const w of [...waits]) w();
  };
  addEventListener("pageshow", (e) => record("pageshow", { persisted: e.persisted }));
  addEventListener("pagehide", (e) => record("pagehide", { persisted: e.persisted }));
  addEventListener("online", () => record("online"));
  addEventListener("offline", () => record("offline"));
  for (const type of ["visibilitychange", "freeze", "resume"]) document.addEventListener(type, () => record(type));
  /** @type {any} */ (navigator).connection?.addEventListener("change", () => record("connection"));
  // Emulated hidden overrides the real state; otherwise the real one shows
  // (the cache's own visibilitychange events stay true).
  const real = Object.getOwnPropertyDescriptor(Document.prototype, "visibilityState").get;
  let hidden = false;
  const state = () => (hidden ? "hidden" : real.call(document));
  Object.defineProperty(document, "visibilityState", { configurable: true, get: state });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => state() === "hidden" });
  const setHidden = (h) => {
    hidden = h;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  const until = (what, pred, ms = 10_000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waits.delete(check);
      reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(events)}`));
    }, ms);
    const check = () => {
      const v = pred(events);
      if (v) {
        waits.delete(check);
        clearTimeout(timer);
        resolve(v);
      }
    };
    waits.add(check);
    check();
  });
  window.life = {
    events,
    until,
    hide: () => setHidden(true),
    show: () => setHidden(false),
    freeze: () => document.dispatchEvent(new Event("freeze")),
  };
}
/** What the stalled page runs as it is resumed, before anything that
 * waited: notes when (`life.resumedAt`, the page's clock). (An event
 * dispatched there reaches no listener: `resume` is fired just after.) */
const ON_RESUME = "window.life.resumedAt = performance.now();";

/** The server's /metrics (from Node, no Origin) as `{name: value}`. */
export async function metrics(wsUrl) {
  const url = new URL(wsUrl);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  url.pathname = "/metrics";
  const text = await (await fetch(url)).text();
  const values = {};
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
    if (m) values[m[1]] = Number(m[2]);
  }
  return values;
}

/** Polls `cond` (async) every 20 ms until it holds: only for state outside
 * the page that sends no events (a server's /metrics, a proxy's counters). */
export async function poll(what, cond, ms = 10_000) {
  const end = performance.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * One test file's control server, static server and Chromium (cache on).
 * `open()` gives a fresh page (its own context and renderer) on the test
 * page, with `window.sdk` (page.js) and `window.life` ready, and:
 * `page`, `cdp`, `ws` (watchSockets), `problems` (console errors and
 * warnings), `notCached` (CDP's reasons a navigation did not use the
 * cache), `away()`, `back()`, `stall(...)`, `close()`.
 */
export function lifecycleSuite() {
  // Playwright turns the back/forward cache off by default.
  const suite = startSuite({ pages: { "/away": AWAY }, launchOptions: { ignoreDefaultArgs: ["--disable-back-forward-cache"] } });
  /** POST to the control server. */
  suite.control = (path, body = "") => control(suite.ctl.url, path, body);
  suite.kit = {
    // Started from Node, which sends no Origin: the test page's is allowed
    // by name (the control server allows the caller's).
    startServer: async (name) =>
      (await suite.control(`/server/start?name=${name}&args=${encodeURIComponent(`--allowed-origins,${suite.web.url}`)}`)).ws,
    startProxy: async (name, server) => (await suite.control(`/proxy/start?name=${name}&server=${server}`)).ws,
    proxyMode: (name, mode) => suite.control(`/proxy/mode?name=${name}&mode=${mode}`),
    proxyCut: (name) => suite.control(`/proxy/cut?name=${name}`),
    proxyAccepted: async (name) => (await suite.control(`/proxy/stats?name=${name}`)).accepted,
    publish: async (server, topic, data) =>
      (await suite.control(`/server/publish?name=${server}`, JSON.stringify({ topic, data }))).offset,
  };
  suite.open = async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const problems = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    const cdp = await context.newCDPSession(page);
    const ws = watchSockets(cdp);
    const notCached = [];
    cdp.on("Page.backForwardCacheNotUsed", (e) => notCached.push(e.notRestoredExplanations.map((x) => x.reason)));
    await cdp.send("Network.enable");
    await cdp.send("Page.enable");
    await page.goto(`${suite.web.url}/?control=${encodeURIComponent(suite.ctl.url)}`);
    await page.waitForFunction(() => window.sdk !== undefined);
    await page.evaluate(() => window.sdk.ready);
    await page.evaluate(installLife);
    const p = {
      page, cdp, ws, problems, notCached,
      close: () => context.close(),
      /** Navigates to another page of the same origin. */
      away: async () => {
        await page.goto(`${suite.web.url}/away`);
      },
      /**
       * Back to the test page; resolves with its `pageshow` (`persisted`:
       * restored from the cache) or, when the page was loaded afresh
       * (no `window.life`), with `{ reloaded: true }`.
       */
      back: async () => {
        await page.goBack({ waitUntil: "commit" });
        return page.evaluate(() => new Promise((resolve) => {
          if (!window.life) {
            if (document.readyState === "complete") resolve({ reloaded: true });
            else addEventListener("load", () => resolve({ reloaded: true }));
            return;
          }
          // Restored: the last of pagehide / pageshow is the restore's pageshow.
          const last = () => window.life.events.filter((e) => e.type === "pageshow" || e.type === "pagehide").at(-1);
          window.life.until("pageshow", () => last()?.type === "pageshow" && last()).then(resolve);
        }));
      },
      /**
       * Stalls the page's JS (CDP Debugger.pause) for at least `ms`, runs
       * `during()` (from Node) meanwhile, then resumes it; `frozen`: the
       * page hears `freeze` before and `resume` right after. Resolves
       * with when it resumed (Node's performance.now(); the page's own
       * clock: `life.resumedAt`). `run`: script to stall
       * in, at its `debugger;` statement (e.g. right after a call),
       * instead of wherever the page is.
       */
      stall: async (ms, during = async () => {}, { frozen = false, run = null } = {}) => {
        if (frozen) await page.evaluate(() => window.life.freeze());
        await cdp.send("Debugger.enable");
        const paused = new Promise((r) => cdp.once("Debugger.paused", r));
        if (run) {
          // `run` stops at its own `debugger;` statement.
          cdp.send("Runtime.evaluate", { expression: run }).catch(() => {});
        } else {
          await cdp.send("Debugger.pause");
          // The pause takes hold when script next runs: run some (its
          // answer comes after the resume).
          cdp.send("Runtime.evaluate", { expression: "0" }).catch(() => {});
        }
        const { callFrames } = await paused;
        const start = performance.now();
        await during();
        const left = ms - (performance.now() - start);
        // The stall's length is the fault being injected, not a wait for anything.
        if (left > 0) await new Promise((r) => setTimeout(r, left));
        await cdp.send("Debugger.evaluateOnCallFrame", { callFrameId: callFrames[0].callFrameId, expression: ON_RESUME });
        const resumedAt = performance.now();
        await cdp.send("Debugger.resume");
        await cdp.send("Debugger.disable");
        if (frozen) await page.evaluate(() => document.dispatchEvent(new Event("resume")));
        return resumedAt;
      },
    };
    return p;
  };
  return suite;
}
