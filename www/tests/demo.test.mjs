// The dashboard demo in real Chromium against the real tether-server.
// Run by scripts/test.sh: node --test www/tests/
// Env: TETHER_SERVER_BIN (the server binary), TETHER_WWW_DIST (production
// build), TETHER_WWW_DIST_DEV (development build: StrictMode double-mounts),
// TETHER_TEST_OUT (screenshots), PLAYWRIGHT_CORE (path to playwright-core).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";

const { chromium } = await import(process.env.PLAYWRIGHT_CORE ?? "playwright-core");
const SERVER_BIN = process.env.TETHER_SERVER_BIN ?? "target/debug/tether-server";
const DIST = process.env.TETHER_WWW_DIST ?? "www/dist";
const DIST_DEV = process.env.TETHER_WWW_DIST_DEV ?? "www/dist-dev";
const PLAIN = process.env.TETHER_WWW_PLAIN ?? "www/plain";
const OUT = process.env.TETHER_TEST_OUT ?? "out/test/www";
mkdirSync(OUT, { recursive: true });

const CHROMIUM_ARGS = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic",
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/** A real tether-server on a fixed port, restartable on the same port. */
class Server {
  constructor(port, dist) {
    this.port = port;
    this.dist = dist;
    this.url = `http://127.0.0.1:${port}`;
  }

  async start() {
    const args = ["--listen", `127.0.0.1:${this.port}`, "--demo", "--static", this.dist];
    this.proc = spawn(SERVER_BIN, args, { stdio: ["ignore", "pipe", "inherit"] });
    const lines = createInterface({ input: this.proc.stdout });
    const first = await new Promise((resolve, reject) => {
      lines.once("line", resolve);
      this.proc.once("exit", (code) => reject(new Error(`tether-server exited with ${code}`)));
    });
    assert.match(first, /^listening on http:\/\//);
  }

  async kill() {
    const exited = new Promise((resolve) => this.proc.once("exit", resolve));
    this.proc.kill("SIGKILL");
    await exited;
  }

  async metrics() {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const values = {};
    for (const line of text.split("\n")) {
      const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
      if (m) values[m[1]] = Number(m[2]);
    }
    return values;
  }
}

let browser;
before(async () => {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
});

/** A page that fails the test on any console error or warning. */
async function openPage(server) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(server.url + "/");
  return { context, page, problems };
}

const indicator = (page) => page.locator(".status");
const waitState = (page, state, timeout = 15_000) =>
  page.waitForSelector(`.status[data-state="${state}"]`, { timeout });

/** Offsets per panel must be unique: no duplicated rows. */
/** Each panel lists its topic's publications newest first, none skipped
 * (useTopicLog keeps every one, even several between two renders). */
async function assertConsecutiveRows(page) {
  const panels = await page.$$eval(".panel", (els) =>
    els.map((el) => ({
      topic: el.getAttribute("data-topic"),
      offsets: [...el.querySelectorAll("li")].map((li) => Number(li.getAttribute("data-offset"))),
    })),
  );
  for (const { topic, offsets } of panels) {
    assert.ok(offsets.every((o, i) => i === 0 || o === offsets[i - 1] - 1), `${topic}: rows skip or repeat: ${offsets}`);
  }
}

async function assertNoDuplicateRows(page) {
  const panels = await page.$$eval(".panel", (els) =>
    els.map((el) => ({
      topic: el.dataset.topic,
      rows: [...el.querySelectorAll("li")].map((li) => li.textContent),
    })),
  );
  for (const { topic, rows } of panels) {
    assert.equal(new Set(rows).size, rows.length, `duplicated rows in ${topic}: ${rows}`);
  }
}

/** A bound on each test: a page that stops answering fails it, never hangs the test command. */
const TEST_MS = 120_000;

test("loads without console errors, survives a server restart, shows each state", { timeout: TEST_MS }, async () => {
  const server = new Server(await freePort(), DIST);
  await server.start();
  const { context, page, problems } = await openPage(server);
  try {
    await waitState(page, "open");
    await page.waitForSelector('.panel[data-topic="miners"] li');
    await page.waitForFunction(() => document.querySelectorAll('.panel[data-topic="miners"] li').length >= 3, null, {
      timeout: 15_000,
    });
    await assertConsecutiveRows(page);
    await page.screenshot({ path: `${OUT}/open.png` });
    assert.deepEqual(problems, [], "a clean load logs nothing");

    await server.kill();
    await waitState(page, "reconnecting");
    await page.waitForFunction(() => Number(document.querySelector(".status").getAttribute("data-attempt")) >= 2, null, {
      timeout: 20_000,
    });
    const label = await indicator(page).textContent();
    assert.match(label, /reconnecting in \d+ s \(attempt \d+\)/);
    await page.screenshot({ path: `${OUT}/reconnecting.png` });

    await server.start();
    await waitState(page, "open", 20_000);
    // Panels resume: a new epoch (the server lost its history) arrives.
    await page.waitForFunction(
      () => document.querySelector('.panel[data-topic="miners"] .reloaded') !== null,
      null,
      { timeout: 15_000 },
    );
    const before = await page.locator('.panel[data-topic="miners"] li').first().textContent();
    await page.waitForFunction(
      (b) => document.querySelector('.panel[data-topic="miners"] li')?.textContent !== b,
      before,
      { timeout: 15_000 },
    );
    await assertNoDuplicateRows(page);
    await page.screenshot({ path: `${OUT}/recovered.png` });
    // While the server is down Chromium itself logs each refused handshake;
    // anything else (from the SDK or the app) is a failure.
    const refused = /^error: WebSocket connection to '.*' failed: .*ERR_CONNECTION_REFUSED$/;
    assert.deepEqual(problems.filter((p) => !refused.test(p)), []);
  } finally {
    await context.close();
    await server.kill();
  }
});

test("browser offline -> offline; online -> open", { timeout: TEST_MS }, async () => {
  const server = new Server(await freePort(), DIST);
  await server.start();
  const { context, page, problems } = await openPage(server);
  try {
    await waitState(page, "open");
    await context.setOffline(true);
    await waitState(page, "offline");
    await page.screenshot({ path: `${OUT}/offline.png` });
    await context.setOffline(false);
    await waitState(page, "open");
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.kill();
  }
});

test("StrictMode (development build): one socket and one subscribe per topic", { timeout: TEST_MS }, async () => {
  const server = new Server(await freePort(), DIST_DEV);
  await server.start();
  const { context, page, problems } = await openPage(server);
  try {
    await waitState(page, "open");
    for (const topic of ["miners", "alerts", "system", "metrics"]) {
      await page.waitForSelector(`.panel[data-topic="${topic}"][data-state="subscribed"]`);
    }
    const m = await server.metrics();
    assert.equal(m["tether_connections_accepted_total"], 1, "sockets accepted");
    assert.equal(m["tether_connections"], 1, "live sockets");
    for (const topic of ["miners", "alerts", "system", "metrics"]) {
      assert.equal(m[`tether_subscribes_total{topic="${topic}"}`], 1, `subscribes to ${topic}`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.kill();
  }
});

test("plain page importing the package's entry file, no bundler: open and receiving", { timeout: TEST_MS }, async () => {
  const server = new Server(await freePort(), PLAIN);
  await server.start();
  const { context, page, problems } = await openPage(server);
  try {
    await page.waitForFunction(() => document.getElementById("state").textContent === "open");
    await page.waitForFunction(() => Number(document.getElementById("offset").textContent) >= 1, null, {
      timeout: 15_000,
    });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.kill();
  }
});
