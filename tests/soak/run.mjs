// The SDK soak on a plain page: the shipped SDK (a `build_sdk web` build)
// on a page served by a static server here, in headless Chromium driven by
// Playwright, against the real tether-server through the testkit's fault
// proxy. The same cycles as tests/leak.rs (tests/soak/cycles.js): half
// forced by `reconnect()`, half by the network (the proxy resets the
// link), a publication recovered on each. Then the same cycles on a plain
// WebSocket doing by hand what the client does (the baseline). Each run in
// its own fresh page (a new browser context, so its own renderer), SDK
// first; the SDK's module is loaded in both pages. Memory is read over CDP
// (`HeapProfiler.collectGarbage`, then `Runtime.getHeapUsage`) after the
// warm-up and every tenth of the run, and printed (`soak-page:` lines).
// Bounds as in tests/leak.rs: wasm memory grows by at most one 64 KiB
// page; the live JsValues (slots in use in the wasm's externref table) by
// at most 16; the JS heap by at most 256 KiB more than the baseline's.
//
// node tests/soak/run.mjs --pkg DIR --control URL [--cycles 10000]
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
const PKG = args.pkg ?? die("--pkg DIR (a wasm-pack --target web build) is required");
const CONTROL = args.control ?? die("--control URL (tether-testkit control) is required");
const CYCLES = Number(args.cycles ?? 10000);
const SNAPSHOTS = (args.snapshots ?? "").split(",").filter(Boolean).map(Number);
/** Cycles before the first record (tests/leak.rs: WARM_UP). */
const WARM_UP = 100;
const WASM_BOUND = 64 * 1024;
const JS_HEAP_BOUND = 256 * 1024;
const EXTERNREF_BOUND = 16;

function die(message) {
  console.error(`soak-page: ${message}`);
  process.exit(2);
}

// The page: the SDK's module and the cycles; `window.soak` drives a run.
const PAGE = `<!doctype html><meta charset="utf-8"><title>tether soak</title>
<script type="module">
import init, { Tether } from "/pkg/tether_ws.js";
import * as c from "/cycles.js";
const wasm = await init();
let kind, state;
const control = (url, path) =>
  fetch(url + path, { method: "POST", body: "" }).then((r) => r.json());
window.soak = {
  async start(k, url) {
    kind = k;
    await control(url, "/server/start?name=soak-s&args=");
    const ws = (await control(url, "/proxy/start?name=soak-p&server=soak-s")).ws;
    if (kind === "SDK") {
      // tests/leak.rs's options: a constant, short backoff.
      const client = new Tether(ws, { heartbeat: false, stableAfterMs: 0,
        backoff: { initialMs: 20, maxMs: 20, jitter: "none" } });
      state = await c.soak_start(client, url, "soak-s", "soak-p");
    } else {
      state = await c.raw_start(ws, url, "soak-s", "soak-p");
    }
  },
  async cycles(from, to) {
    for (let n = from; n < to; n++) {
      await (kind === "SDK" ? c.soak_cycle(state, n) : c.raw_cycle(state, n));
    }
  },
  stop() {
    return kind === "SDK" ? c.soak_stop(state) : c.raw_stop(state);
  },
  // The wasm linear memory, and the externref table's slots holding a
  // value (freed slots are set to null; the four constants included).
  memory() {
    const table = wasm.__wbindgen_externrefs;
    let externrefs = 0;
    for (let i = 0; i < table.length; i++) {
      const v = table.get(i);
      if (v !== undefined && v !== null) externrefs++;
    }
    return { wasm: wasm.memory.buffer.byteLength, externrefs, table: table.length };
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
  else if (path.startsWith("/pkg/")) file = join(PKG, normalize(path.slice(5)).replace(/^(\.\.[/\\])+/, ""));
  try {
    const body = file ? await readFile(file) : PAGE;
    res.writeHead(200, { "content-type": TYPES[file ? extname(file) : ".html"] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => files.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${files.address().port}`;

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
    console.log(`soak-page: ${kind} cycle ${n}: wasm memory ${r.wasm} bytes, JS heap ${r.heap} bytes, ` +
      `${r.externrefs} live JsValues (table ${r.table}), ${r.ms} ms`);
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
let sdk, base;
try {
  sdk = await run("SDK");
  base = await run("baseline");
} finally {
  await browser.close();
  files.close();
}
const published = WARM_UP + CYCLES;
const growth = (rs, f) => rs[rs.length - 1][f] - rs[0][f];
const [sdkHeap, baseHeap] = [growth(sdk.records, "heap"), growth(base.records, "heap")];
const perCycle = (rs) => {
  // After the first tenth: the steady rate.
  const from = rs.find((r) => r.n >= CYCLES / 10) ?? rs[0];
  const to = rs[rs.length - 1];
  return to.n > from.n ? ((to.heap - from.heap) / (to.n - from.n)).toFixed(1) : "n/a";
};
console.log(`soak-page: ${CYCLES} reconnect cycles (half by the network) in ${sdk.took} ms (baseline ` +
  `${base.took} ms), ${sdk.seen.got} publications received, ${sdk.seen.replays} recovered by replay; ` +
  `wasm memory ${sdk.records[0].wasm} -> ${sdk.records.at(-1).wasm}; live JsValues ` +
  `${sdk.records[0].externrefs} -> ${sdk.records.at(-1).externrefs}; JS heap growth: SDK ${sdkHeap} ` +
  `(${perCycle(sdk.records)} B/cycle after cycle ${CYCLES / 10}), baseline ${baseHeap} ` +
  `(${perCycle(base.records)} B/cycle) bytes; excess ${sdkHeap - Math.max(0, baseHeap)} (bound ${JS_HEAP_BOUND})`);
check(sdk.seen.disorder === "", `SDK: publications out of order: ${sdk.seen.disorder}`);
check(sdk.seen.got === published && sdk.seen.last === published, `SDK: ${sdk.seen.got} publications received, last ${sdk.seen.last}, expected ${published} once each`);
check(sdk.seen.replays > 0, "SDK: no publication recovered by replay");
check(base.seen.got === published, `baseline: ${base.seen.got} publications received, expected ${published}`);
check(growth(sdk.records, "wasm") <= WASM_BOUND, `wasm memory grew by ${growth(sdk.records, "wasm")} bytes`);
check(growth(sdk.records, "externrefs") <= EXTERNREF_BOUND,
  `live JsValues went from ${sdk.records[0].externrefs} to ${sdk.records.at(-1).externrefs}: one kept per cycle?`);
check(sdkHeap - Math.max(0, baseHeap) <= JS_HEAP_BOUND,
  `JS heap grew by ${sdkHeap} bytes over ${CYCLES} reconnects, the baseline's by ${baseHeap}`);
for (const f of failures) console.error(`soak-page: FAILED: ${f}`);
process.exit(failures.length ? 1 : 0);
