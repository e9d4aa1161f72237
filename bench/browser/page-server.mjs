// The bench page's static server (run.mjs, profile.mjs): the page, the SDK
// (a build_sdk folder, under /sdk/) and the bundled peer, cross-origin
// isolated so performance.now() ticks at 5 us, not 100 us.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, join, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

/** The file for a request path: `sdk` (the SDK's folder), `rws` (the peer's bundle). */
function route(path, { sdk, rws }) {
  if (path === "/" || path === "/index.html") return join(HERE, "page/index.html");
  if (path === "/peers/reconnecting-websocket.js") return resolve(rws);
  if (path.startsWith("/sdk/")) return join(resolve(sdk), path.slice(5));
  return join(HERE, "page", path.slice(1));
}

/** Serves the page on 127.0.0.1; `post(url, req, res)` answers POSTs.
 * Resolves with `{ server, url }`. */
export async function startPageServer(dirs, post) {
  const server = createServer(async (req, res) => {
    const u = new URL(req.url, "http://x");
    const path = u.pathname;
    if (path.includes("..")) return res.writeHead(400).end();
    if (req.method === "POST" && post) return post(u, req, res);
    try {
      const body = await readFile(route(path, dirs));
      res.writeHead(200, {
        "content-type": TYPES[extname(path) || ".html"] ?? "application/octet-stream",
        "cache-control": "no-store",
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
