// The dashboard demo through a back/forward navigation (issue 14), in
// Chromium with its back/forward cache on (Playwright turns it off by
// default), against the real tether-server: the page is restored from the
// cache, its socket was closed while away, and on return its panels catch
// up with what was published meanwhile, no row skipped or repeated.
// Run by scripts/test.sh with the demo tests: node --test www/tests/
// Env: TETHER_SERVER_BIN, TETHER_WWW_DIST (production build), PLAYWRIGHT_CORE.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";

const { chromium } = await import(process.env.PLAYWRIGHT_CORE ?? "playwright-core");
const SERVER_BIN = process.env.TETHER_SERVER_BIN ?? "target/debug/tether-server";
const DIST = process.env.TETHER_WWW_DIST ?? "www/dist";

const CHROMIUM_ARGS = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic",
];

/** The demo server on a port of its own choosing (`--listen 127.0.0.1:0`). */
async function startServer() {
  const proc = spawn(SERVER_BIN, ["--listen", "127.0.0.1:0", "--demo", "--static", DIST], { stdio: ["ignore", "pipe", "inherit"] });
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).once("line", resolve);
    proc.once("exit", (code) => reject(new Error(`tether-server exited with ${code}`)));
  });
  const url = /^listening on (http:\/\/\S+)/.exec(first)?.[1];
  assert.ok(url, `tether-server said ${first}`);
  return {
    url,
    async metrics() {
      const values = {};
      for (const line of (await (await fetch(`${url}/metrics`)).text()).split("\n")) {
        const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
        if (m) values[m[1]] = Number(m[2]);
      }
      return values;
    },
    async latest(topic) {
      return (await (await fetch(`${url}/topics/${topic}/history?limit=1`)).json()).offset;
    },
    kill: () => new Promise((resolve) => {
      proc.once("exit", resolve);
      proc.kill("SIGKILL");
    }),
  };
}

/** Polls `cond` (async) every 50 ms: for the server's state, which sends no events. */
async function poll(what, cond, ms = 15_000) {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let browser;
let away;
before(async () => {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    ignoreDefaultArgs: ["--disable-back-forward-cache"],
  });
  // Somewhere else to go.
  away = createServer((_, res) => res.writeHead(200, { "content-type": "text/html" }).end("<title>away</title>away"));
  await new Promise((r) => away.listen(0, "127.0.0.1", () => r(null)));
});
after(async () => {
  await browser?.close();
  await new Promise((r) => away?.close(r));
});

/** The miners panel's offsets, newest first. */
const minerOffsets = (page) =>
  page.$$eval('.panel[data-topic="miners"] li', (els) => els.map((li) => Number(li.getAttribute("data-offset"))));

/** A bound on each test: a page that stops answering fails it, never hangs the test command. */
const TEST_MS = 120_000;

test("dashboard survives back/forward: cached, its socket closed while away, panels current on return", { timeout: TEST_MS }, async () => {
  const server = await startServer();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  try {
    await page.goto(server.url + "/");
    await page.waitForSelector('.status[data-state="open"]');
    await page.waitForFunction(() => document.querySelectorAll('.panel[data-topic="miners"] li').length >= 2, null, { timeout: 15_000 });
    await page.evaluate(() => {
      window.probes = { shows: [] };
      addEventListener("pageshow", (e) => window.probes.shows.push(e.persisted));
    });
    const [newestBefore] = await minerOffsets(page);

    const { port } = /** @type {import("node:net").AddressInfo} */ (away.address());
    await page.goto(`http://127.0.0.1:${port}/`);
    await poll("the cached dashboard's socket to close", async () => (await server.metrics()).tether_connections === 0);
    // Publications the page misses while away (the demo publishes every second).
    await poll("two publications on miners while away", async () => (await server.latest("miners")) >= newestBefore + 2);
    const latestAway = await server.latest("miners");

    await page.goBack({ waitUntil: "commit" });
    await page.waitForFunction(() => window.probes?.shows.length > 0, null, { timeout: 10_000 });
    const shows = await page.evaluate(() => window.probes.shows);
    assert.deepEqual(shows, [true], "restored from the back/forward cache");
    await page.waitForSelector('.status[data-state="open"]', { timeout: 10_000 });
    await page.waitForFunction((o) => Number(document.querySelector('.panel[data-topic="miners"] li')?.getAttribute("data-offset")) > o,
      latestAway, { timeout: 15_000 });
    const offsets = await minerOffsets(page);
    assert.ok(offsets.every((o, i) => i === 0 || o === offsets[i - 1] - 1), `miners rows skip or repeat: ${offsets}`);
    assert.ok(offsets.includes(newestBefore) && offsets.includes(latestAway), `the rows span the time away (${newestBefore}..${latestAway}): ${offsets}`);
    assert.equal(await page.locator('.panel[data-topic="miners"] .reloaded').count(), 0, "recovered over the socket, not reloaded over REST");
    const m = await server.metrics();
    assert.equal(m.tether_connections, 1, "one live socket");
    assert.equal(m.tether_connections_accepted_total, 2, "the first, and one on return");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.kill();
  }
});
