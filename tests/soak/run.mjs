// The SDK soak on a plain page: the SDK (a `build_sdk` folder) on a page
// served by a static server here, in headless Chromium driven by
// Playwright, against the real tether-server through the testkit's fault
// proxy. Reconnect cycles (tests/soak/cycles.js): half forced by
// `reconnect()`, half by the network (the proxy resets the link), a
// publication recovered on each. Then the same cycles on a plain WebSocket
// doing by hand what the client does (the baseline). Each run in its own
// fresh page (a new browser context, so its own renderer), the SDK first,
// the baseline last; both pages are the same. Memory is read over CDP
// (`HeapProfiler.collectGarbage`, then `Runtime.getHeapUsage`) after the
// warm-up and every tenth of the run, and printed (`soak-page:` lines).
// Bounds: wasm memory grows by at most one 64 KiB page; live clients (the
// glue's exported `hosts`) stay 1 and live sockets (made through the
// `WebSocket` option, minus those that fired `close`) at most 2 (the one
// open, and the one a `reconnect()` just closed whose `close` event may
// still be due); the JS heap grows by at most 256 KiB more than the
// baseline's.
//
// node tests/soak/run.mjs --sdk DIR --control URL [--cycles 10000]
//   [--snapshots 1000,3000]: heap snapshots at those cycles of each run,
//   and the objects new in the second (DevTools' "Comparison") printed.
// Env: PLAYWRIGHT_CORE (path to playwright-core's index.mjs).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { formatNew, newObjects, summary, summaryDiff, takeSnapshot } from "./heap.mjs";

const { chromium } = await import(process.env.PLAYWRIGHT_CORE ?? "playwright-core");
const HERE = fileURLToPath(new URL(".", import.meta.url));

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const SDK = args.sdk ?? die("--sdk DIR (a build_sdk folder) is required");
const CONTROL = args.control ?? die("--control URL (tether-testkit control) is required");
const CYCLES = Number(args.cycles ?? 10000);
const SNAPSHOTS = (args.snapshots ?? "").split(",").filter(Boolean).map(Number);
/** Cycles before the first record. */
const WARM_UP = 100;
const WASM_BOUND = 64 * 1024;
const JS_HEAP_BOUND = 256 * 1024;
const SOCKETS_BOUND = 2;

function die(message) {
  console.error(`soak-page: ${message}`);
  process.exit(2);
}

// The page: the SDK's module and the cycles; `window.soak` drives a run
// (kind "SDK" or "baseline").
const PAGE = `<!doctype html><meta charset="utf-8"><title>tether soak</title>
<script type="module">
import * as c from "/cycles.js";
// The glue keeps its wasm instance to itself: the instance is caught as
// it is made, for its memory.
let instance = null;
for (const f of ["instantiate", "instantiateStreaming"]) {
  const made = WebAssembly[f];
  WebAssembly[f] = async function (...a) {
    const r = await made.apply(this, a);
    if (typeof r.instance?.exports.contract === "function") instance = r.instance;
    return r;
  };
}
const sdk = await import("/sdk/index.js");
const hosts = (await import("/sdk/wasm.js")).hosts;
await sdk.ready;
// The SDK's sockets: made through the WebSocket option, alive until "close".
let sockets = 0;
class CountedWebSocket extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    sockets++;
    this.addEventListener("close", () => sockets--, { once: true });
  }
}
let kind, state;
const control = (url, path) =>
  fetch(url + path, { method: "POST", body: "" }).then((r) => r.json());
// A constant, short backoff.
const OPTIONS = { heartbeat: false, stableAfterMs: 0, backoff: { initialMs: 20, maxMs: 20, jitter: "none" } };
window.soak = {
  async start(k, url) {
    kind = k;
    await control(url, "/server/start?name=soak-s&args=");
    const ws = (await control(url, "/proxy/start?name=soak-p&server=soak-s")).ws;
    if (kind === "SDK") {
      state = await c.soak_start(new sdk.Tether(ws, { ...OPTIONS, WebSocket: CountedWebSocket }), url, "soak-s", "soak-p");
    } else {
      state = await c.raw_start(ws, url, "soak-s", "soak-p");
    }
  },
  async cycles(from, to) {
    for (let n = from; n < to; n++) {
      await (kind === "baseline" ? c.raw_cycle(state, n) : c.soak_cycle(state, n));
    }
  },
  stop() {
    return kind === "baseline" ? c.raw_stop(state) : c.soak_stop(state);
  },
  // The wasm memory, live clients and live sockets (the baseline: none).
  memory() {
    if (kind !== "SDK") return { wasm: 0, clients: 0, sockets: 0 };
    return { wasm: instance.exports.memory.buffer.byteLength, clients: hosts.size, sockets };
  },
};
window.soakReady = true;
</script>`;

const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
const files = createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  let file;
  if (path === "/") file = null;
  else if (path === "/cycles.js") file = join(HERE, "cycles.js");
  else if (path.startsWith("/sdk/")) file = join(SDK, normalize(path.slice(5)).replace(/^(\.\.[/\\])+/, ""));
  try {
    const body = file ? await readFile(file) : PAGE;
    res.writeHead(200, { "content-type": TYPES[file ? extname(file) : ".html"] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => files.listen(0, "127.0.0.1", () => resolve(null)));
const origin = `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (files.address()).port}`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
  ],
});

async function run(kind) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`soak-page: ${kind} page error: ${e}`));
  const cdp = await context.newCDPSession(page);
  await page.goto(origin);
  await page.waitForFunction(() => window.soakReady === true);
  await page.evaluate(([k, url]) => window.soak.start(k, url), [kind, CONTROL]);
  await page.evaluate((n) => window.soak.cycles(0, n), WARM_UP);
  const started = Date.now();
  const records = [];
  const snapshots = [];
  const record = async (n) => {
    const m = await page.evaluate(() => window.soak.memory());
    await cdp.send("HeapProfiler.collectGarbage");
    const { usedSize } = await cdp.send("Runtime.getHeapUsage");
    const r = { n, heap: usedSize, ...m, ms: Date.now() - started };
    const live = kind === "SDK" ? `${r.clients} live clients, ${r.sockets} live sockets` : "";
    console.log(`soak-page: ${kind} cycle ${n}: wasm memory ${r.wasm} bytes, JS heap ${r.heap} bytes, ` +
      `${live}${live ? ", " : ""}${r.ms} ms`);
    records.push(r);
    if (SNAPSHOTS.includes(n)) snapshots.push({ n, snapshot: await takeSnapshot(cdp) });
  };
  await record(0);
  const every = Math.max(1, Math.floor(CYCLES / 10));
  for (let n = 0; n < CYCLES;) {
    const to = Math.min(CYCLES, n + every);
    const next = [...SNAPSHOTS.filter((s) => s > n && s < to), to][0];
    await page.evaluate(([a, b]) => window.soak.cycles(a, b), [WARM_UP + n + 1, WARM_UP + next + 1]);
    n = next;
    if (n % every === 0 || n === CYCLES || SNAPSHOTS.includes(n)) await record(n);
  }
  const seen = await page.evaluate(() => window.soak.stop());
  await context.close();
  for (let i = 1; i < snapshots.length; i++) {
    const [a, b] = [snapshots[i - 1], snapshots[i]];
    console.log(formatNew(`soak-page: ${kind}, objects alive at cycle ${b.n} and new since cycle ${a.n}`,
      newObjects(a.snapshot, b.snapshot)));
    console.log(`soak-page: ${kind}, growth by group from cycle ${a.n} to ${b.n}:`);
    for (const r of summaryDiff(summary(a.snapshot), summary(b.snapshot))) {
      console.log(`  ${String(r.size).padStart(9)} B ${String(r.count).padStart(7)}x  ${r.group}`);
    }
  }
  return { records, seen, took: Date.now() - started };
}

const failures = [];
const check = (ok, message) => {
  if (!ok) failures.push(message);
};
const kinds = ["SDK"];
const runs = {};
try {
  for (const kind of kinds) runs[kind] = await run(kind);
  runs.baseline = await run("baseline");
} finally {
  await browser.close();
  files.close();
}
const base = runs.baseline;
const published = WARM_UP + CYCLES;
const growth = (rs, f) => rs[rs.length - 1][f] - rs[0][f];
const baseHeap = growth(base.records, "heap");
const perCycle = (rs) => {
  // After the first tenth: the steady rate.
  const from = rs.find((r) => r.n >= CYCLES / 10) ?? rs[0];
  const to = rs[rs.length - 1];
  return to.n > from.n ? ((to.heap - from.heap) / (to.n - from.n)).toFixed(1) : "n/a";
};
check(base.seen.got === published, `baseline: ${base.seen.got} publications received, expected ${published}`);
for (const kind of kinds) {
  const sdk = runs[kind];
  const rs = sdk.records;
  const sdkHeap = growth(rs, "heap");
  const live = `live clients ${Math.min(...rs.map((r) => r.clients))}-${Math.max(...rs.map((r) => r.clients))}, ` +
      `live sockets ${Math.min(...rs.map((r) => r.sockets))}-${Math.max(...rs.map((r) => r.sockets))}`;
  console.log(`soak-page: ${kind}: ${CYCLES} reconnect cycles (half by the network) in ${sdk.took} ms (baseline ` +
    `${base.took} ms), ${sdk.seen.got} publications received, ${sdk.seen.replays} recovered by replay; ` +
    `wasm memory ${rs[0].wasm} -> ${rs.at(-1).wasm}; ${live}; JS heap growth: ${kind} ${sdkHeap} ` +
    `(${perCycle(rs)} B/cycle after cycle ${CYCLES / 10}), baseline ${baseHeap} ` +
    `(${perCycle(base.records)} B/cycle) bytes; excess ${sdkHeap - Math.max(0, baseHeap)} (bound ${JS_HEAP_BOUND})`);
  check(sdk.seen.disorder === "", `${kind}: publications out of order: ${sdk.seen.disorder}`);
  check(sdk.seen.got === published && sdk.seen.last === published,
    `${kind}: ${sdk.seen.got} publications received, last ${sdk.seen.last}, expected ${published} once each`);
  check(sdk.seen.replays > 0, `${kind}: no publication recovered by replay`);
  check(growth(rs, "wasm") <= WASM_BOUND, `${kind}: wasm memory grew by ${growth(rs, "wasm")} bytes`);
  check(rs.every((r) => r.clients === 1), `${kind}: live clients ${rs.map((r) => r.clients)}, expected 1 throughout`);
  check(rs.every((r) => r.sockets >= 1 && r.sockets <= SOCKETS_BOUND),
    `${kind}: live sockets ${rs.map((r) => r.sockets)}, expected 1-${SOCKETS_BOUND}: a socket kept per cycle?`);
  check(sdkHeap - Math.max(0, baseHeap) <= JS_HEAP_BOUND,
    `${kind}: JS heap grew by ${sdkHeap} bytes over ${CYCLES} reconnects, the baseline's by ${baseHeap}`);
}
for (const f of failures) console.error(`soak-page: FAILED: ${f}`);
process.exit(failures.length ? 1 : 0);
