// Drives the browser benchmarks (BENCHMARKS.md section 2, and the peer table
// of section 1): run by scripts/bench-browser.sh, which builds what this
// needs. Needs Node's WebSocket: run with `node --experimental-websocket`
// on Node 20 (the end-to-end publisher).
//
//   node --experimental-websocket run.mjs --sdk DIR --rws FILE \
//        --server-bin FILE --size FILE --out DIR
//
// Serves page/ (plus the SDK's build_sdk folder under /sdk/, and the
// reconnecting-websocket bundle) on 127.0.0.1 with COOP/COEP (cross-origin
// isolation: 5 us performance.now instead of 100 us), starts tether-server on 127.0.0.1:0,
// drives Debian's Chromium with playwright-core, writes browser.json and
// browser.md to --out and prints the tables (--size: the peer sizes from
// scripts/bench-browser.sh, merged into both). Micro: a Playwright page.
// End to end: pages opened through raw CDP in a context Playwright does not
// manage (see runE2EOnce), flooding then paced, with /proc CPU time per
// process over each window. Everything is bounded: counts, windows and a
// global deadline (BENCH_DEADLINE_S, 420 s).

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import os from "node:os";
import { startPageServer } from "./page-server.mjs";
import { chromium } from "playwright-core";
import { messages } from "./page/messages.js";

const { values: args } = parseArgs({
  options: {
    sdk: { type: "string" },
    rws: { type: "string" },
    "server-bin": { type: "string" },
    size: { type: "string" },
    out: { type: "string" },
  },
});
for (const k of ["sdk", "rws", "server-bin", "out"]) {
  if (!args[k]) throw new Error(`--${k} is required`);
}
const env = (name, dflt) => (process.env[name] ? Number(process.env[name]) : dflt);
const DO_MICRO = process.env.BENCH_MICRO !== "0";
const DO_E2E = process.env.BENCH_E2E !== "0";
const MICRO = { reps: env("BENCH_MICRO_REPS", 10), runs: env("BENCH_MICRO_RUNS", 41), warmup: 3 };
const E2E = {
  reps: env("BENCH_E2E_REPS", 9),
  windowMs: env("BENCH_E2E_WINDOW_MS", 2500),
  warmupMs: 700,
  aheadOfSubscriber: env("BENCH_E2E_AHEAD", 8000), // publications sent but not yet counted by the page
  unacked: 2000, // publish frames the server has not answered yet
  // Paced: a fixed publication rate well under what the machine sustains, so
  // the CPU cost per message is measured without saturating the cores.
  pacedRate: env("BENCH_E2E_PACED_RATE", 5000),
  pacedReps: env("BENCH_E2E_PACED_REPS", 5),
};
const DEADLINE = Date.now() + env("BENCH_DEADLINE_S", 420) * 1000;
const VARIANTS = ["tether", "raw", "rws"];
const LABEL = {
  tether: "tether-ws (SDK)",
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

// Reports of the unattended end-to-end pages, by run id.
const pending = new Map();

// The end-to-end pages report by POST /e2e/<what>?run=<id>.
function onReport(u, req, res) {
  const path = u.pathname;
  if (!path.startsWith("/e2e/")) return res.writeHead(404).end();
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (d) => { body += d; });
  req.on("end", () => {
    try {
      pending.get(u.searchParams.get("run"))?.[path.slice(5)]?.(JSON.parse(body || "{}"));
    } catch (e) {
      console.error(`bad report from the page: ${e}`);
    }
    res.writeHead(204).end();
  });
}
const startStatic = () => startPageServer(args, onReport);

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
    // Paced: no more than rate x elapsed publications so far.
    const cap = this.rate ? Math.floor(((performance.now() - this.t0) * this.rate) / 1000) : Infinity;
    let batch = 0;
    while (batch < 512 && this.sent < cap && this.sent - this.acked < E2E.unacked
      && this.sent - this.received() < E2E.aheadOfSubscriber) {
      const f = frames[this.sent % frames.length];
      this.sent++;
      this.ws.send(f[0] + this.sent + f[1]);
      batch++;
    }
    if (batch === 512) this.wake(); // else: an ack or a progress report wakes it
    else if (this.sent >= cap) setTimeout(() => this.wake(), 1);
  }
  start(received, rate = 0) {
    this.received = received;
    this.rate = rate;
    this.t0 = performance.now();
    this.running = true;
    this.wake();
  }
  stop() { this.running = false; }
  close() { try { this.ws.close(); } catch { /* closed */ } }
}

// ---------------------------------------------------------------- runs

async function newBenchPage(context) {
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
  const page = await newBenchPage(context);
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
    goal: "tether-ws <= 1.3x raw (issue 12)",
  };
}

// CPU time (clock ticks: utime + stime) of every process under this one,
// by kind: the subscriber's renderer, Chromium's other processes,
// tether-server. Read from /proc at the page's window marks.
const TICK_US = 1e6 / 100; // CLK_TCK is 100 on Linux
async function cpuTicks() {
  const { readdir } = await import("node:fs/promises");
  const procs = new Map();
  for (const d of await readdir("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = await readFile(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      procs.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch { /* gone */ }
  }
  const mine = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of procs) {
      if (!mine.has(pid) && mine.has(p.ppid)) { mine.add(pid); grew = true; }
    }
  }
  const out = new Map();
  for (const pid of mine) {
    if (pid === process.pid) continue;
    let cmd = "";
    try { cmd = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" "); } catch { continue; }
    const kind = cmd.includes("tether-server") ? "server"
      : cmd.includes("--type=renderer") ? "renderer"
      : /chrom/.test(cmd) ? "chromium" : "other";
    out.set(pid, { kind, ticks: procs.get(pid).ticks });
  }
  const self = process.cpuUsage();
  out.set(process.pid, { kind: "node", ticks: (self.user + self.system) / TICK_US });
  return out;
}

// CPU us per message over the window: the subscriber's renderer (the renderer
// that used the most), the rest of Chromium (browser process, network
// service), tether-server, and this Node process (the publisher).
function cpuPerMessage(a, b, n) {
  const by = { renderer: 0, chromium: 0, server: 0, node: 0 };
  let top = 0;
  for (const [pid, p] of b) {
    const d = p.ticks - (a.get(pid)?.ticks ?? p.ticks);
    if (p.kind === "renderer") {
      by.chromium += d;
      top = Math.max(top, d);
    } else if (p.kind in by) {
      by[p.kind] += d;
    }
  }
  by.chromium -= top;
  by.renderer = top;
  return Object.fromEntries(Object.entries(by).map(([k, t]) => [k, (t * TICK_US) / Math.max(1, n)]));
}

// Whole-machine CPU use (all processes, not only the bench) from /proc/stat.
async function machineTicks() {
  const f = (await readFile("/proc/stat", "utf8")).split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + f[4], total: f.reduce((x, y) => x + y, 0) };
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

// One end-to-end run. The subscriber page is opened through a raw CDP
// session in a browser context Playwright does not manage, so no DevTools
// session is attached to it: Playwright enables the Network domain on the
// pages it drives, and Chromium then reports every WebSocket frame to it,
// which costs the renderer far more than any client's dispatch. The page
// runs unattended (bench.js e2eUnattended) and reports by POST.
let runSeq = 0;
async function runE2EOnce(cdp, base, wsUrl, msgs, variant, rate) {
  const id = `r${++runSeq}`;
  const ready = deferred();
  const result = deferred();
  let progress = 0;
  let pub = null;
  const marks = {};
  pending.set(id, {
    mark: ({ which }) => {
      marks[which] = Promise.all([cpuTicks(), machineTicks(), { sent: pub?.sent ?? 0, t: performance.now() }]);
    },
    progress: ({ n }) => {
      if (n > progress) progress = n;
      pub?.wake();
    },
    ready: ready.resolve,
    result: result.resolve,
  });
  const { browserContextId } = await cdp.send("Target.createBrowserContext", {});
  let targetId = null;
  try {
    const q = new URLSearchParams({
      run: id, variant, ws: wsUrl, warmup: String(E2E.warmupMs), window: String(E2E.windowMs),
      count_timers: process.env.BENCH_COUNT_TIMERS === "1" ? "1" : "0",
    });
    ({ targetId } = await cdp.send("Target.createTarget", { url: `${base}/?${q}`, browserContextId }));
    const info = await withTimeout(Promise.race([ready.promise, result.promise]), 30000,
      `${variant}: page load, connect and subscribe`);
    if (info.error) throw new Error(`${variant}: ${info.error}`);
    pub = new Publisher(wsUrl, msgs);
    await pub.open();
    pub.start(() => progress, rate);
    const r = await withTimeout(result.promise, E2E.warmupMs + E2E.windowMs + 30000, `${variant}: window`);
    pub.stop();
    if (r.error) throw new Error(`${variant}: ${r.error}`);
    const { a, b } = r;
    const seconds = (b.now - a.now) / 1000;
    const n = b.delivered - a.delivered;
    let cpu = null;
    let machineBusy = null;
    let published = null;
    if (marks.a && marks.b) {
      const [[ca, ma, pa], [cb, mb, pb]] = await Promise.all([marks.a, marks.b]);
      cpu = cpuPerMessage(ca, cb, n);
      machineBusy = 1 - (mb.idle - ma.idle) / Math.max(1, mb.total - ma.total);
      published = (pb.sent - pa.sent) / ((pb.t - pa.t) / 1000);
    }
    return {
      variant,
      per_second: n / seconds,
      published_per_second: published,
      received: n,
      window_s: seconds,
      handler_busy_us_per_message: ((b.busyMs - a.busyMs) * 1000) / Math.max(1, b.handled - a.handled),
      handler_busy_fraction: (b.busyMs - a.busyMs) / (b.now - a.now),
      cpu_us_per_message: cpu,
      timer_calls_per_1000_messages: process.env.BENCH_COUNT_TIMERS === "1"
        ? { set: (1000 * (b.timers.set - a.timers.set)) / n, clear: (1000 * (b.timers.clear - a.timers.clear)) / n }
        : undefined,
      machine_cpu_busy: machineBusy,
      cross_origin_isolated: info.crossOriginIsolated,
      publisher_errors: pub.errors,
    };
  } finally {
    pub?.stop();
    pub?.close();
    pending.delete(id);
    if (targetId) await cdp.send("Target.closeTarget", { targetId }).catch(() => {});
    await cdp.send("Target.disposeBrowserContext", { browserContextId }).catch(() => {});
  }
}

// rate 0: flood (as fast as the path takes); else publications per second.
async function runE2E(cdp, base, wsUrl, reps, rate, deadline) {
  const msgs = messages(1000);
  const runs = [];
  for (let rep = 0; rep < reps; rep++) {
    if (Date.now() > deadline - 3 * (E2E.windowMs + 3000)) {
      console.log(`  (time budget reached: ${rep} repetitions)`);
      break;
    }
    // Rotate the order so each variant takes each position.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + rep) % VARIANTS.length]);
    for (const v of order) {
      const r = await runE2EOnce(cdp, base, wsUrl, msgs, v, rate);
      r.rep = rep;
      runs.push(r);
      console.log(`  rep ${rep + 1}/${reps} ${v.padEnd(6)}: ${Math.round(r.per_second)} msg/s, `
        + `handler ${fmt(r.handler_busy_us_per_message)} us/msg, busy ${fmt(100 * r.handler_busy_fraction, 0)}% `
        + `(publisher ${Math.round(r.published_per_second)} msg/s); CPU us/msg: renderer `
        + `${fmt(r.cpu_us_per_message?.renderer, 1)}, rest of Chromium ${fmt(r.cpu_us_per_message?.chromium, 1)}, `
        + `server ${fmt(r.cpu_us_per_message?.server, 1)}, publisher ${fmt(r.cpu_us_per_message?.node, 1)}; `
        + `machine ${fmt(100 * r.machine_cpu_busy, 0)}% busy`);
    }
  }
  const of = (v, f) => runs.filter((r) => r.variant === v).map(f).filter(Number.isFinite);
  const med = (f) => Object.fromEntries(VARIANTS.map((v) => [v, median(of(v, f))]));
  const vsRaw = (m) => Object.fromEntries(VARIANTS.map((v) => [v, m[v] / m.raw]));
  const rate_ = med((r) => r.per_second);
  // Paired: repetition k of a variant against repetition k of raw.
  const pairedRate = Object.fromEntries(VARIANTS.map((v) => [v, median(runs.filter((r) => r.variant === v)
    .map((r) => r.per_second / runs.find((x) => x.variant === "raw" && x.rep === r.rep)?.per_second)
    .filter(Number.isFinite))]));
  const busy = med((r) => r.handler_busy_us_per_message);
  const frac = med((r) => r.handler_busy_fraction);
  const renderer = med((r) => r.cpu_us_per_message?.renderer);
  const total = med((r) => r.cpu_us_per_message
    && Object.values(r.cpu_us_per_message).reduce((x, y) => x + y, 0));
  const machine = median(runs.map((r) => r.machine_cpu_busy).filter(Number.isFinite));
  // Cores the subscriber's renderer used: near 1 means its main thread set the pace.
  const rendererCores = med((r) => (r.cpu_us_per_message?.renderer * r.per_second) / 1e6);
  const subscriberBound = Math.max(...VARIANTS.map((v) => rendererCores[v])) > 0.85;
  const spread = Math.max(...VARIANTS.map((v) => rate_[v])) / Math.min(...VARIANTS.map((v) => rate_[v]));
  let note;
  if (rate) {
    note = `paced at ${rate} publications/s (every variant received ${Math.round(Math.min(...VARIANTS.map((v) => rate_[v])))}`
      + `-${Math.round(Math.max(...VARIANTS.map((v) => rate_[v])))}/s): compare the CPU time per message`;
  } else if (subscriberBound) {
    note = "the subscriber's renderer used about a full core: its main thread set the pace, so the rates compare the clients";
  } else if (machine > 0.9) {
    note = `the machine's CPUs were ${fmt(100 * machine, 0)}% busy (server, publisher, Chromium's processes and `
      + "anything else running share the cores) while the subscriber's renderer used "
      + `${fmt(Math.max(...VARIANTS.map((v) => rendererCores[v])), 2)} core at most: the rate is a whole-machine figure `
      + `(variants within ${fmt((spread - 1) * 100, 1)}% of each other); the renderer CPU time per message is the `
      + "client's own cost";
  } else {
    note = "neither the subscriber's renderer nor the machine was saturated: the publisher or the server set the pace "
      + `(variants within ${fmt((spread - 1) * 100, 1)}% of each other), so the rate ratio says little; `
      + "compare the renderer CPU time and the handler time per message";
  }
  return {
    method: "publications/s counted in the app's callback, one subscriber page per run (10 topics), "
      + "opened without a DevTools session (Playwright's Network domain reports every WebSocket frame and "
      + `would dominate the renderer's cost), a Node publisher ${rate ? `sending ${rate}/s` : "flooding"} `
      + "publish frames over one WebSocket to the "
      + `same tether-server (at most ${E2E.unacked} unanswered, at most ${E2E.aheadOfSubscriber} ahead of the page); `
      + `${E2E.warmupMs} ms warm-up then a ${E2E.windowMs} ms window; variants rotate; medians over repetitions. `
      + "Renderer CPU: /proc utime+stime of the subscriber's renderer process over the window, per message. "
      + "Handler: performance.now() around the socket's message handler (installed by the SDK, by "
      + "reconnecting-websocket or by the raw code), wall time per message",
    runs,
    publication_rate: rate || "flood",
    median_per_second: rate_,
    ratio_vs_raw: vsRaw(rate_),
    paired_ratio_vs_raw_median: pairedRate,
    median_renderer_cpu_us_per_message: renderer,
    renderer_cpu_ratio_vs_raw: vsRaw(renderer),
    median_total_cpu_us_per_message: total,
    median_handler_busy_us_per_message: busy,
    handler_busy_ratio_vs_raw: vsRaw(busy),
    median_handler_busy_fraction: frac,
    median_renderer_cores: rendererCores,
    median_machine_cpu_busy: machine,
    subscriber_bound: subscriberBound,
    note,
    goal: "tether-ws >= 95% of raw",
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
    const t = s.tether;
    const total = t.wasm_gzip + t.js_gzip;
    const rows = [[`**tether-ws ${t.version}** (wasm + user entry)`, `${t.wasm_raw + t.js_raw}`, `**${total}**`, "1.00"]];
    for (const p of s.peers) {
      rows.push([`${p.name} ${p.version} (\`${p.entry}\`)`, `${p.raw}`, `${p.gzip}`, fmt(total / p.gzip)]);
    }
    parts.push("### Size: tether-ws next to peers (bytes; gzip -9)\n\n"
      + table(["package", "minified", "gzip -9", "tether-ws / package"], rows)
      + `\n\ntether-ws: wasm ${t.wasm_raw} B (${t.wasm_gzip} gzip) + user entry bundled ${t.js_raw} B `
      + `(${t.js_gzip} gzip); ${t.method}. `
      + "Peers: an entry importing the client, `esbuild --bundle --minify --format=esm`.");
  }
  if (res.micro) {
    const m = res.micro;
    const rows = VARIANTS.map((v) => [LABEL[v], fmt(m.median_ns_per_message[v], 0),
      `${fmt(m.ratio_vs_raw[v])}x`, `${fmt(m.paired_ratio_vs_raw_median[v])}x`,
      v === "raw" ? "" : `${m.median_ns_per_message[v] >= m.median_ns_per_message.raw ? "+" : ""}`
        + fmt(m.median_ns_per_message[v] - m.median_ns_per_message.raw, 0)]);
    parts.push("### Dispatch, micro: ns per publication (median over runs; same page)\n\n"
      + table(["receive path", "ns/message", "vs raw", "vs raw (paired runs)", "extra ns/message"], rows)
      + `\n\n${m.messages_per_run} messages per run, ${m.avg_text_bytes} B average; `
      + `cross-origin isolated: ${m.cross_origin_isolated}. Goal: SDK <= 1.3x raw (issue 12).`);
  }
  for (const [key, title] of [["e2e", "publications/s from tether-server, publisher flooding"],
    ["e2e_paced", `CPU per publication at a fixed ${res.e2e_paced?.publication_rate} publications/s`]]) {
    const e = res[key];
    if (!e) continue;
    const rows = VARIANTS.map((v) => [LABEL[v], Math.round(e.median_per_second[v]),
      `${fmt(100 * e.ratio_vs_raw[v], 1)}%`,
      fmt(e.median_renderer_cpu_us_per_message[v], 1), `${fmt(e.renderer_cpu_ratio_vs_raw[v])}x`,
      fmt(e.median_handler_busy_us_per_message[v], 1), `${fmt(e.handler_busy_ratio_vs_raw[v])}x`,
      fmt(e.median_total_cpu_us_per_message[v], 1)]);
    const reps = e.runs.filter((r) => r.variant === "raw").length;
    parts.push(`### Dispatch, end to end: ${title} (median of ${reps} repetitions)\n\n`
      + table(["subscriber", "msg/s", "vs raw", "renderer CPU us/msg", "vs raw", "handler wall us/msg",
        "vs raw", "all CPU us/msg"], rows)
      + `\n\nRenderer CPU: the subscriber page's renderer process (Blink's WebSocket delivery + the handler). `
      + "All CPU: renderer + rest of Chromium + tether-server + publisher. "
      + `Note: ${e.note}.${key === "e2e" ? " Goal: SDK >= 95% of raw." : ""}`);
  }
  return parts.join("\n\n");
}

// ---------------------------------------------------------------- main

async function main() {
  const out = resolve(args.out);
  await mkdir(out, { recursive: true });
  for (const f of ["index.js", "tether.wasm"]) {
    if (!existsSync(join(resolve(args.sdk), f))) throw new Error(`${args.sdk}: no ${f} (not a build_sdk output)`);
  }
  const res = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version,
      loadavg_at_start: os.loadavg() },
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
      const cdp = await browser.newBrowserCDPSession();
      const ws = `ws://${server.addr}/ws`;
      // Leave the paced part its share of the time budget.
      const pacedShare = E2E.pacedReps * 3 * (E2E.warmupMs + E2E.windowMs + 1500);
      res.e2e = await runE2E(cdp, stat.url, ws, E2E.reps, 0, DEADLINE - pacedShare);
      if (E2E.pacedReps > 0) {
        console.log(`end to end, paced at ${E2E.pacedRate} publications/s ...`);
        res.e2e_paced = await runE2E(cdp, stat.url, ws, E2E.pacedReps, E2E.pacedRate, DEADLINE);
      }
    }
  } finally {
    await browser.close();
    server?.proc.kill("SIGTERM");
    stat.server.close();
  }
  res.machine.loadavg_at_end = os.loadavg();
  const md = report(res) + `\n\nMachine: ${res.machine.cpus} CPUs (${res.machine.cpu}), Chromium `
    + `${res.machine.chromium}, Node ${res.machine.node}; load average ${res.machine.loadavg_at_start[0].toFixed(1)} `
    + `at start, ${res.machine.loadavg_at_end[0].toFixed(1)} at end.`;
  await writeFile(join(out, "browser.json"), JSON.stringify(res, null, 2) + "\n");
  await writeFile(join(out, "browser.md"), md + "\n");
  console.log(`\n${md}\n`);
}

main().catch((e) => {
  console.error(`bench failed: ${e.stack ?? e}`);
  process.exit(1);
});
