// Drives the browser benchmarks (BENCHMARKS.md section 2, and the peer table
// of section 1): run by scripts/bench-browser.sh, which builds what this
// needs. Needs Node's WebSocket: run with `node --experimental-websocket`
// on Node 20 (the end-to-end publisher).
//
//   node --experimental-websocket run.mjs --pkg DIR --rws FILE \
//        --server-bin FILE --size FILE --out DIR
//
// Serves page/ (plus the SDK's web-target pkg and the reconnecting-websocket
// bundle) on 127.0.0.1 with COOP/COEP (cross-origin isolation: 5 us
// performance.now instead of 100 us), starts tether-server on 127.0.0.1:0,
// drives Debian's Chromium with playwright-core, writes browser.json and
// browser.md to --out and prints the tables. Everything is bounded: counts,
// windows and a global deadline.

import { createServer } from "node:http";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import os from "node:os";
import { chromium } from "playwright-core";
import { messages } from "./page/messages.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    pkg: { type: "string" },
    rws: { type: "string" },
    "server-bin": { type: "string" },
    size: { type: "string" },
    out: { type: "string" },
  },
});
for (const k of ["pkg", "rws", "server-bin", "out"]) {
  if (!args[k]) throw new Error(`--${k} is required`);
}
const env = (name, dflt) => (process.env[name] ? Number(process.env[name]) : dflt);
const DO_MICRO = process.env.BENCH_MICRO !== "0";
const DO_E2E = process.env.BENCH_E2E !== "0";
const MICRO = { reps: env("BENCH_MICRO_REPS", 10), runs: env("BENCH_MICRO_RUNS", 15), warmup: 3 };
const E2E = {
  reps: env("BENCH_E2E_REPS", 5),
  windowMs: env("BENCH_E2E_WINDOW_MS", 3000),
  warmupMs: 700,
  aheadOfSubscriber: 20000, // publications sent but not yet counted by the page
  unacked: 2000, // publish frames the server has not answered yet
};
const DEADLINE = Date.now() + env("BENCH_DEADLINE_S", 280) * 1000;
const VARIANTS = ["sdk", "raw", "rws"];
const LABEL = {
  sdk: "tether-ws (SDK)",
  raw: "raw WebSocket + JSON.parse + Map",
  rws: "reconnecting-websocket + JSON.parse + Map",
};
const CHROMIUM_ARGS = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run",
];

if (typeof WebSocket === "undefined") {
  throw new Error("no global WebSocket: run with `node --experimental-websocket` (Node 20)");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- static files

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
function route(path) {
  if (path === "/" || path === "/index.html") return join(HERE, "page/index.html");
  if (path === "/peers/reconnecting-websocket.js") return resolve(args.rws);
  if (path.startsWith("/pkg/")) return join(resolve(args.pkg), path.slice(5));
  return join(HERE, "page", path.slice(1));
}
async function startStatic() {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path.includes("..")) return res.writeHead(400).end();
    try {
      const body = await readFile(route(path));
      res.writeHead(200, {
        "content-type": TYPES[extname(path) || ".html"] ?? "application/octet-stream",
        "cache-control": "no-store",
        // Cross-origin isolated page: performance.now() at 5 us, not 100 us.
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

// ---------------------------------------------------------------- tether-server

async function startServer(out) {
  const topicsFile = join(out, "browser-topics.json");
  const { TOPICS } = await import("./page/messages.js");
  await writeFile(topicsFile, JSON.stringify(
    TOPICS.map((name) => ({ name, description: `bench topic ${name}`, client_publish: true })), null, 1));
  const flags = [
    "--listen", "127.0.0.1:0", "--topics", topicsFile, "--rate-limit", "0",
    "--allowed-origins", "*", "--send-queue", "65536", "--send-timeout", "30",
    "--max-frame-bytes", "65536",
  ];
  const proc = spawn(args["server-bin"], flags, { stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  proc.stderr.on("data", (d) => { if (log.length < 200) log.push(String(d)); });
  const lines = createInterface({ input: proc.stdout });
  const first = await withTimeout(new Promise((res, rej) => {
    lines.once("line", res);
    proc.once("exit", (c) => rej(new Error(`tether-server exited (${c}): ${log.join("")}`)));
  }), 30000, "tether-server start");
  const m = /^listening on http:\/\/(\S+)/.exec(first);
  if (!m) throw new Error(`tether-server printed ${first}`);
  return { proc, addr: m[1], flags, log };
}

// ---------------------------------------------------------------- publisher

// Floods publish frames over one WebSocket from Node, with two bounds: at
// most `unacked` frames not yet answered by the server (`published`), and at
// most `aheadOfSubscriber` publications not yet counted by the page (its
// progress reports), so the server's per-connection queue never fills and
// the subscriber always has a backlog when it is the slowest part.
class Publisher {
  constructor(url, msgs) {
    this.url = url;
    this.frames = msgs.map((m) => [
      '{"type":"publish","id":',
      `,"topic":${JSON.stringify(m.topic)},"event":${JSON.stringify(m.event)},"data":${JSON.stringify(m.data)}}`,
    ]);
    this.sent = 0;
    this.acked = 0;
    this.errors = 0;
    this.received = () => 0;
    this.running = false;
    this.scheduled = false;
  }
  async open() {
    this.ws = new WebSocket(this.url);
    this.ws.onmessage = (e) => {
      const d = e.data;
      if (d.startsWith('{"type":"published"')) this.acked++;
      else if (d.includes('"published"')) this.acked++;
      else if (d.includes('"error"')) {
        if (this.errors++ < 3) console.error(`publisher got: ${d}`);
      }
      this.wake();
    };
    await withTimeout(new Promise((res, rej) => {
      this.ws.onopen = res;
      this.ws.onerror = () => rej(new Error("publisher could not connect"));
    }), 10000, "publisher connect");
  }
  wake() {
    if (this.running && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.pump());
    }
  }
  pump() {
    this.scheduled = false;
    if (!this.running) return;
    const frames = this.frames;
    let batch = 0;
    while (batch < 512 && this.sent - this.acked < E2E.unacked
      && this.sent - this.received() < E2E.aheadOfSubscriber) {
      const f = frames[this.sent % frames.length];
      this.sent++;
      this.ws.send(f[0] + this.sent + f[1]);
      batch++;
    }
    if (batch === 512) this.wake(); // else: an ack or a progress report wakes it
  }
  start(received) {
    this.received = received;
    this.running = true;
    this.wake();
  }
  stop() { this.running = false; }
  close() { try { this.ws.close(); } catch { /* closed */ } }
}

// ---------------------------------------------------------------- runs

async function newBenchPage(context, base) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") console.error(`page console: ${m.text()}`); });
  return page;
}

async function loadBench(page, base) {
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 20000 });
}

async function runMicro(context, base) {
  const page = await newBenchPage(context, base);
  await loadBench(page, base);
  const r = await withTimeout(page.evaluate((o) => window.bench.micro(o), MICRO), 180000, "micro bench");
  await page.close();
  const ns = {};
  for (const v of VARIANTS) ns[v] = r.run_ms[v].map((ms) => (ms * 1e6) / r.messages_per_run);
  const med = Object.fromEntries(VARIANTS.map((v) => [v, median(ns[v])]));
  // Paired ratios: run k of a variant against run k of the baseline.
  const paired = (v) => median(ns[v].map((x, k) => x / ns.raw[k]));
  return {
    method: "same page, fake WebSocket; per run every variant handles the same "
      + `${r.messages_per_run} publication texts (${r.distinct_messages} distinct messages on ${r.topics} topics `
      + `x ${MICRO.reps}, offsets increasing; a fresh client per variant and run), one {data} event per call to the handler the client installed, variants interleaved by chunks of 1000 (order alternating); `
      + `${MICRO.warmup} warm-up runs, ${r.run_ms.raw.length} timed runs`,
    messages_per_run: r.messages_per_run,
    avg_text_bytes: r.avg_text_bytes,
    sample_text: r.sample_text,
    cross_origin_isolated: r.cross_origin_isolated,
    ns_per_message: ns,
    median_ns_per_message: med,
    ratio_vs_raw: Object.fromEntries(VARIANTS.map((v) => [v, med[v] / med.raw])),
    paired_ratio_vs_raw_median: Object.fromEntries(VARIANTS.map((v) => [v, paired(v)])),
    goal: "sdk <= 1.5x raw",
  };
}

async function runE2EOnce(context, base, wsUrl, msgs, variant) {
  const page = await newBenchPage(context, base);
  let progress = 0;
  let pub = null;
  await page.exposeFunction("__progress", (n) => {
    progress = n;
    pub?.wake();
  });
  try {
    await loadBench(page, base);
    await withTimeout(page.evaluate(([u, v]) => window.bench.e2eConnect(u, v), [wsUrl, variant]),
      20000, `${variant}: connect and subscribe`);
    pub = new Publisher(wsUrl, msgs);
    await pub.open();
    pub.start(() => progress);
    await sleep(E2E.warmupMs);
    const a = await page.evaluate(() => window.bench.snap());
    const pa = { sent: pub.sent, t: performance.now() };
    await sleep(E2E.windowMs);
    const b = await page.evaluate(() => window.bench.snap());
    const pb = { sent: pub.sent, t: performance.now() };
    pub.stop();
    const seconds = (b.now - a.now) / 1000;
    const n = b.delivered - a.delivered;
    return {
      variant,
      per_second: n / seconds,
      published_per_second: (pb.sent - pa.sent) / ((pb.t - pa.t) / 1000),
      received: n,
      window_s: seconds,
      handler_busy_us_per_message: ((b.busyMs - a.busyMs) * 1000) / Math.max(1, b.handled - a.handled),
      handler_busy_fraction: (b.busyMs - a.busyMs) / (b.now - a.now),
      publisher_errors: pub.errors,
    };
  } finally {
    pub?.stop();
    pub?.close();
    await page.evaluate(() => window.bench?.e2eClose()).catch(() => {});
    await page.close();
  }
}

async function runE2E(context, base, wsUrl) {
  const msgs = messages(1000);
  const runs = [];
  for (let rep = 0; rep < E2E.reps; rep++) {
    if (Date.now() > DEADLINE - 3 * (E2E.windowMs + 3000)) {
      console.log(`  (time budget reached: ${rep} repetitions)`);
      break;
    }
    // Rotate the order so each variant takes each position.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + rep) % VARIANTS.length]);
    for (const v of order) {
      const r = await runE2EOnce(context, base, wsUrl, msgs, v);
      r.rep = rep;
      runs.push(r);
      console.log(`  rep ${rep + 1}/${E2E.reps} ${v.padEnd(3)}: ${Math.round(r.per_second)} msg/s, `
        + `handler ${fmt(r.handler_busy_us_per_message)} us/msg, busy ${fmt(100 * r.handler_busy_fraction, 0)}% `
        + `(publisher ${Math.round(r.published_per_second)} msg/s)`);
    }
  }
  const of = (v, k) => runs.filter((r) => r.variant === v).map((r) => r[k]);
  const med = (k) => Object.fromEntries(VARIANTS.map((v) => [v, median(of(v, k))]));
  const rate = med("per_second");
  const busy = med("handler_busy_us_per_message");
  const frac = med("handler_busy_fraction");
  const spread = Math.max(...VARIANTS.map((v) => rate[v])) / Math.min(...VARIANTS.map((v) => rate[v]));
  const subscriberBound = Math.max(...VARIANTS.map((v) => frac[v])) > 0.5;
  return {
    method: "publications/s counted in the app's callback, one subscriber page per run (10 topics), "
      + `a Node publisher flooding publish frames over one WebSocket to the same tether-server `
      + `(at most ${E2E.unacked} unanswered, at most ${E2E.aheadOfSubscriber} ahead of the page); `
      + `${E2E.warmupMs} ms warm-up then a ${E2E.windowMs} ms window; variants rotate; medians over repetitions. `
      + "Handler busy time: performance.now() around the socket's message handler (installed by the SDK, by "
      + "reconnecting-websocket or by the raw code), per message",
    runs,
    median_per_second: rate,
    ratio_vs_raw: Object.fromEntries(VARIANTS.map((v) => [v, rate[v] / rate.raw])),
    median_handler_busy_us_per_message: busy,
    handler_busy_ratio_vs_raw: Object.fromEntries(VARIANTS.map((v) => [v, busy[v] / busy.raw])),
    median_handler_busy_fraction: frac,
    subscriber_bound: subscriberBound,
    note: subscriberBound
      ? "the subscriber page's main thread is busy most of the window: the rates compare the clients"
      : `the subscriber page's main thread is idle most of the window (rates within ${fmt((spread - 1) * 100, 1)}% `
        + "of each other): the server, the publisher or the browser's network process (all on the same cores) "
        + "set the pace, so the rate ratio says little; compare the handler busy time per message",
    goal: "sdk >= 95% of raw",
  };
}

// ---------------------------------------------------------------- report

function table(header, rows) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(w[i])).join(" | ")} |`;
  return [line(header), `|${w.map((x) => "-".repeat(x + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

function report(res) {
  const parts = [];
  if (res.size) {
    const s = res.size;
    const t = s.tether.wasm_gzip + s.tether.glue_gzip;
    const rows = [[
      "**tether-ws** (wasm + glue)", `${s.tether.wasm_raw + s.tether.glue_raw}`, `**${t}**`, "1.00",
    ]];
    for (const p of s.peers) {
      rows.push([`${p.name} ${p.version} (\`${p.entry}\`)`, `${p.raw}`, `${p.gzip}`, fmt(t / p.gzip)]);
    }
    parts.push("### Size: tether-ws next to peers (bytes; gzip -9)\n\n"
      + table(["package", "minified", "gzip -9", "tether / package"], rows)
      + `\n\ntether-ws: wasm ${s.tether.wasm_raw} B (${s.tether.wasm_gzip} gzip) + glue ${s.tether.glue_raw} B `
      + `(${s.tether.glue_gzip} gzip); built with \`${s.tether.features || "(no cargo flags)"}\`. `
      + "Peers: an entry importing the client, `esbuild --bundle --minify --format=esm`.");
  }
  if (res.micro) {
    const m = res.micro;
    const rows = VARIANTS.map((v) => [LABEL[v], fmt(m.median_ns_per_message[v], 0),
      `${fmt(m.ratio_vs_raw[v])}x`, `${fmt(m.paired_ratio_vs_raw_median[v])}x`]);
    parts.push("### Dispatch, micro: ns per publication (median over runs; same page)\n\n"
      + table(["receive path", "ns/message", "vs raw", "vs raw (paired runs)"], rows)
      + `\n\n${m.messages_per_run} messages per run, ${m.avg_text_bytes} B average; `
      + `cross-origin isolated: ${m.cross_origin_isolated}. Goal: SDK <= 1.5x raw.`);
  }
  if (res.e2e) {
    const e = res.e2e;
    const rows = VARIANTS.map((v) => [LABEL[v], Math.round(e.median_per_second[v]),
      `${fmt(100 * e.ratio_vs_raw[v], 1)}%`, fmt(e.median_handler_busy_us_per_message[v]),
      `${fmt(e.handler_busy_ratio_vs_raw[v])}x`, `${fmt(100 * e.median_handler_busy_fraction[v], 0)}%`]);
    parts.push("### Dispatch, end to end: publications/s from tether-server (median over repetitions)\n\n"
      + table(["subscriber", "msg/s", "vs raw", "handler us/msg", "vs raw", "handler busy"], rows)
      + `\n\n${e.note}. Goal: SDK >= 95% of raw.`);
  }
  return parts.join("\n\n");
}

// ---------------------------------------------------------------- main

async function main() {
  const out = resolve(args.out);
  await mkdir(out, { recursive: true });
  if (!existsSync(join(resolve(args.pkg), "tether_ws.js"))) throw new Error(`${args.pkg}: no web-target build`);
  const res = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
  };
  if (args.size) res.size = JSON.parse(await readFile(args.size, "utf8"));
  const stat = await startStatic();
  const server = DO_E2E ? await startServer(out) : null;
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  res.machine.chromium = browser.version();
  try {
    const context = await browser.newContext();
    if (DO_MICRO) {
      console.log("micro: receive path against a fake socket ...");
      res.micro = await runMicro(context, stat.url);
    }
    if (DO_E2E) {
      res.server = { flags: server.flags };
      console.log(`end to end: tether-server on ${server.addr} ...`);
      res.e2e = await runE2E(context, stat.url, `ws://${server.addr}/ws`);
    }
  } finally {
    await browser.close();
    server?.proc.kill("SIGTERM");
    stat.server.close();
  }
  const md = report(res);
  await writeFile(join(out, "browser.json"), JSON.stringify(res, null, 2) + "\n");
  await writeFile(join(out, "browser.md"), md + "\n");
  console.log(`\n${md}\n`);
}

main().catch((e) => {
  console.error(`bench failed: ${e.stack ?? e}`);
  process.exit(1);
});
