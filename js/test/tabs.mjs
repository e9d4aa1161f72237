// The many-tabs mechanism tests' harness (tabs.test.mjs, issue 15): plain
// pages of one origin in one browser context (no SDK), Chromium with the
// back/forward cache on, and the means of measuring what N tabs cost the
// browser and the server. docs/spikes/tabs.md has the findings.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { after, before } from "node:test";
import { SERVER_BIN, launch, startStatic } from "./harness.mjs";

/**
 * Page-side (`window.tab`), run before the page's own script would:
 * `now()` (epoch ms, comparable across processes), `events` (pagehide /
 * pageshow), `lock(name, options)` (a Web Lock held until
 * `release()`), `listen(name)` (a BroadcastChannel recorder).
 */
function installTab() {
  const now = () => performance.timeOrigin + performance.now();
  const events = [];
  for (const type of ["pagehide", "pageshow"]) {
    addEventListener(type, (e) => events.push({ type, persisted: /** @type {PageTransitionEvent} */ (e).persisted, at: now() }));
  }
  const tab = {
    now,
    events,
    /** What the app saw at load: the features it would detect. */
    features: { broadcastChannel: typeof BroadcastChannel === "function", locks: typeof navigator.locks?.request === "function" },
    /**
     * Asks for the lock `name`; `tab.acquired` resolves with when the
     * callback ran (`now()`), `tab.lost` with the request's rejection
     * (`AbortError` when stolen), `tab.release()` ends the hold. Resolves
     * with `navigator.locks.query()` made after the request (same page, so
     * it sees the request registered, held or pending).
     */
    lock(name, options = {}) {
      let acquired;
      tab.acquired = new Promise((r) => (acquired = r));
      tab.lost = navigator.locks.request(name, options, (lock) => {
        acquired(lock ? now() : null);
        return new Promise((r) => (tab.release = r));
      }).then(() => null, (e) => ({ name: e.name, at: now() }));
      return navigator.locks.query();
    },
    /** Records every message of channel `name` (`{at, data}`) in `tab.got`; `tab.until(n)` waits for `n`. */
    listen(name) {
      const waits = new Set();
      tab.got = [];
      tab.channel = new BroadcastChannel(name);
      tab.channel.onmessage = (e) => {
        tab.got.push({ at: now(), data: e.data });
        for (const w of [...waits]) w();
      };
      tab.until = (n) => new Promise((resolve) => {
        const check = () => {
          if (tab.got.length >= n) {
            waits.delete(check);
            resolve(tab.got.length);
          }
        };
        waits.add(check);
        check();
      });
    },
  };
  window.tab = tab;
}

const page = (head = "") => `<!doctype html><meta charset=utf-8><title>tab</title>${head}<script>(${installTab})()</script><p>tab`;

/** Another page of the same origin to navigate to. */
const AWAY = "<!doctype html><meta charset=utf-8><title>away</title><p>away";

/** Node's clock on the pages' scale (epoch ms). */
export const now = () => performance.timeOrigin + performance.now();

/**
 * One test file's static server (`/tab`, `/away`) and Chromium with the
 * back/forward cache on. `tabs(n)`: a fresh browser context with `n` tabs
 * on `/tab`, each `{ page, cdp, notCached }` (CDP Page domain on;
 * `notCached`: CDP's reasons a navigation did not use the cache), `open()`
 * for one more, and `close()`.
 */
export function tabsSuite() {
  const suite = {};
  before(async () => {
    suite.web = await startStatic({ "/tab": page(), "/away": AWAY });
    // Playwright turns the back/forward cache off by default.
    suite.browser = await launch({ ignoreDefaultArgs: ["--disable-back-forward-cache"] });
  });
  after(async () => {
    await suite.browser?.close();
    await suite.web?.close();
  });
  suite.tabs = async (n) => {
    const context = await suite.browser.newContext();
    /** A tab on `/tab`; `init`: a script run before the page's own (page.addInitScript). */
    const open = async (init) => {
      const p = await context.newPage();
      if (init) await p.addInitScript(init);
      const cdp = await context.newCDPSession(p);
      const notCached = [];
      cdp.on("Page.backForwardCacheNotUsed", (e) => notCached.push(...e.notRestoredExplanations.map((x) => x.reason)));
      await cdp.send("Page.enable");
      await p.goto(`${suite.web.url}/tab`);
      return { page: p, cdp, notCached };
    };
    const tabs = [];
    for (let i = 0; i < n; i++) tabs.push(await open());
    return { tabs, context, open, close: () => context.close() };
  };
  return suite;
}

/**
 * A tether-server of its own (its pid is needed for its memory): `ws`,
 * `http`, `pid`, `rssKiB()`, `publish(topic, data)`, `stop()`.
 */
export async function startServer(origin) {
  const proc = spawn(SERVER_BIN, ["--listen", "127.0.0.1:0", "--allowed-origins", origin], { stdio: ["ignore", "pipe", "ignore"] });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).once("line", resolve);
    proc.once("exit", (code) => reject(new Error(`tether-server exited with ${code}`)));
  });
  const http = /^listening on (.*)$/.exec(line)?.[1];
  if (!http) throw new Error(`tether-server said ${line}`);
  return {
    http,
    ws: `${http.replace(/^http/, "ws")}/ws`,
    pid: proc.pid,
    rssKiB: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))[1]),
    publish: async (topic, data) => {
      const r = await fetch(`${http}/publish`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ topic, data }) });
      if (!r.ok) throw new Error(`publish: ${r.status} ${await r.text()}`);
      return (await r.json()).offset;
    },
    stop: () => new Promise((r) => {
      proc.once("exit", r);
      proc.kill("SIGTERM");
    }),
  };
}

/** CPU time of a process, every thread, in ns (Linux schedstat: finer
 * than /proc/PID/stat's or CDP SystemInfo's 10 ms ticks); 0 once gone. */
export function cpuNs(pid) {
  let sum = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        sum += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    // The process ended.
  }
  return sum;
}

/**
 * CPU time (ns) of every Chromium process by type ("browser", "renderer",
 * "GPU", "network.mojom.NetworkService", ...), summed; the processes come
 * from CDP `SystemInfo.getProcessInfo` on a browser session.
 */
export async function browserCpuNs(browserCdp) {
  const { processInfo } = await browserCdp.send("SystemInfo.getProcessInfo");
  const byType = {};
  for (const p of processInfo) byType[p.type] = (byType[p.type] ?? 0) + cpuNs(p.id);
  return byType;
}

/**
 * Stops the tab's JS (CDP `Debugger.pause`, the stand-in for a frozen tab:
 * headless Chromium does not freeze pages, see lifecycle.mjs); resolves
 * once paused with the function that resumes it.
 */
export async function stall(cdp) {
  await cdp.send("Debugger.enable");
  const paused = new Promise((r) => cdp.once("Debugger.paused", r));
  await cdp.send("Debugger.pause");
  // The pause takes hold when script next runs: run some (its answer
  // comes after the resume).
  cdp.send("Runtime.evaluate", { expression: "0" }).catch(() => {});
  await paused;
  return async () => {
    await cdp.send("Debugger.resume");
    await cdp.send("Debugger.disable");
  };
}
