// Shared by the SDK tests: the testkit control server (started here
// unless TETHER_CONTROL_URL names one), a static server for the built SDK
// and the test pages, and Chromium through playwright-core.
// Env: TETHER_SDK_DIR (build_sdk output), TETHER_TESTKIT_BIN,
// TETHER_SERVER_BIN, PLAYWRIGHT_CORE.
import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
export const SDK_DIR = resolve(process.env.TETHER_SDK_DIR ?? join(ROOT, "out/sdk"));
const TESTKIT = process.env.TETHER_TESTKIT_BIN ?? join(ROOT, "target/debug/tether-testkit");
export const SERVER_BIN = process.env.TETHER_SERVER_BIN ?? join(ROOT, "target/debug/tether-server");

/** The control server's URL; starts one (stopped by the returned function) if none is given. */
export async function startControl() {
  if (process.env.TETHER_CONTROL_URL) return { url: process.env.TETHER_CONTROL_URL, stop() {} };
  // Server logs go to a file (TETHER_TEST_OUT/control.log), not the report.
  const out = process.env.TETHER_TEST_OUT ?? join(ROOT, "out/test/sdk");
  mkdirSync(out, { recursive: true });
  const log = openSync(join(out, "control.log"), "a");
  const proc = spawn(TESTKIT, ["control", "--server-bin", SERVER_BIN], { stdio: ["ignore", "pipe", log] });
  const line = await new Promise((res, rej) => {
    createInterface({ input: proc.stdout }).once("line", res);
    proc.once("exit", (code) => rej(new Error(`tether-testkit exited with ${code}`)));
  });
  const url = /^listening on (.*)$/.exec(line)?.[1];
  if (!url) throw new Error(`tether-testkit said ${line}`);
  return {
    url,
    stop: () => new Promise((res) => {
      proc.once("exit", res);
      proc.kill("SIGTERM");
    }),
  };
}

/** POST to the control server from Node (no Origin: for servers Node clients use). */
export async function control(controlUrl, path, body = "") {
  const r = await fetch(controlUrl + path, { method: "POST", body });
  const json = await r.json();
  if (!r.ok) throw new Error(`control ${path}: ${JSON.stringify(json)}`);
  return json;
}

const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };

/** Serves the test pages (js/test) over the built SDK (TETHER_SDK_DIR). */
export async function startStatic(pages = {}) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/favicon.ico") return res.writeHead(204).end();
    // Extra pages a test file navigates to (HTML by path).
    if (pages[path]) return res.writeHead(200, { "content-type": "text/html" }).end(pages[path]);
    const file = path === "/" ? join(HERE, "page.html")
      : ["/page.js", "/matrix.js"].includes(path) ? join(HERE, path) : join(SDK_DIR, path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", () => r(null)));
  return { url: `http://127.0.0.1:${/** @type {import("node:net").AddressInfo} */ (server.address()).port}`, close: () => new Promise((r) => server.close(r)) };
}

const CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** Headless Chromium; `options` go to Playwright's launch (e.g.
 * `ignoreDefaultArgs` to let the back/forward cache work). */
export async function launch(options = {}) {
  const { chromium } = await import(process.env.PLAYWRIGHT_CORE ?? join(ROOT, "tools/node_modules/playwright-core/index.mjs"));
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS, ...options });
}

/** A fresh page on the test page, recording console errors and warnings. */
export async function openPage(browser, staticUrl, controlUrl) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${staticUrl}/?control=${encodeURIComponent(controlUrl)}`);
  await page.waitForFunction(() => window.sdk !== undefined);
  await page.evaluate(() => window.sdk.ready);
  return { page, problems, close: () => context.close() };
}

/** Chromium's console lines for a handshake that failed (a dead server) or
 * was abandoned (a connect timeout): expected wherever a test causes one. */
export const FAILED_HANDSHAKE = /WebSocket connection to .* failed|WebSocket is closed before the connection is established/;

/** Registers `before`/`after` for one test file's control server, static
 * server (`pages`: extra HTML by path) and Chromium (`launchOptions`);
 * returns the object they fill in: `ctl`, `web`, `browser`. */
export function startSuite({ pages = {}, launchOptions = {} } = {}) {
  const suite = {};
  before(async () => {
    suite.ctl = await startControl();
    suite.web = await startStatic(pages);
    suite.browser = await launch(launchOptions);
  });
  after(async () => {
    await suite.browser?.close();
    await suite.web?.close();
    await suite.ctl?.stop();
  });
  return suite;
}

/**
 * One test file's control server, static server and Chromium, started in
 * `before` and stopped in `after`. `run(fn, arg, prelude?)` evaluates
 * `prelude()` (a file's page-side helpers), then `fn(arg)`, in a fresh
 * page (its own renderer: Chromium throttles a renderer's failed
 * handshakes) and returns `{ r, problems }`: its result and the console
 * errors and warnings it printed.
 */
export function browserSuite() {
  const suite = startSuite();
  suite.run = async (fn, arg, prelude) => {
    const { page, problems, close } = await openPage(suite.browser, suite.web.url, suite.ctl.url);
    try {
      if (prelude) await page.evaluate(prelude);
      return { r: await page.evaluate(fn, arg), problems };
    } finally {
      await close();
    }
  };
  return suite;
}
