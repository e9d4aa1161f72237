// Where a receive path's time goes (BENCHMARKS.md section 2): the
// micro benchmark of page/bench.js for one variant, under the V8 sampling
// profiler (CDP Profiler, 20 us interval), then the self time by function
// (name, file and line) over the timed runs, and the total per message.
//
//   node bench/browser/profile.mjs --sdk DIR --rws FILE [--variant tether] [--runs 15]
//
// The same page and files as run.mjs (its --sdk, --rws); no server.
// Variants: tether (the SDK), raw, rws.
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { startPageServer } from "./page-server.mjs";

const { values: args } = parseArgs({
  options: {
    sdk: { type: "string" },
    rws: { type: "string" },
    variant: { type: "string", default: "tether" },
    runs: { type: "string", default: "15" },
  },
});
for (const k of ["sdk", "rws"]) if (!args[k]) throw new Error(`--${k} is required`);

const { server, url } = await startPageServer(args);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  await page.goto(`${url}/`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 20000 });
  const variants = [args.variant];
  // Warm-up outside the profile (the JIT settles), then the profiled runs.
  await page.evaluate((v) => window.bench.micro({ variants: v, runs: 3, warmup: 3 }), variants);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 20 });
  await cdp.send("Profiler.start");
  const r = await page.evaluate(([v, runs]) => window.bench.micro({ variants: v, runs, warmup: 0 }), [variants, Number(args.runs)]);
  const { profile } = await cdp.send("Profiler.stop");
  const ms = r.run_ms[args.variant];
  const perMsg = (ms.reduce((a, b) => a + b, 0) * 1e6) / (ms.length * r.messages_per_run);
  // Self time per function, from the samples (time deltas between them).
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const f = byId.get(id).callFrame;
    const file = f.url ? f.url.replace(/^.*\//, "") : "";
    const name = `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  });
  const messages = ms.length * r.messages_per_run;
  console.log(`${args.variant}: ${perMsg.toFixed(0)} ns/message (mean over ${ms.length} profiled runs; the profiler adds its own cost)`);
  console.log(`self time by function, ns per message (${messages} messages; all samples ${(total / 1000).toFixed(0)} ms):`);
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${((us * 1000) / messages).toFixed(0).padStart(6)}  ${(100 * us / total).toFixed(1).padStart(5)}%  ${name}`);
  }
} finally {
  await browser.close();
  server.close();
}
