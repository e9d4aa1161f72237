// Heap snapshots of a page some other tool drives (here: the leak test on
// wasm-bindgen-test-runner's page), over raw CDP: Chromium started with
// --remote-debugging-port=PORT. Takes a snapshot when the tool's log (a
// file) shows each marker line, and prints the objects new between
// consecutive snapshots of the same run (see heap.mjs).
//
// node --experimental-websocket tests/soak/attach.mjs --port 9339 --log FILE
//   --at "SDK cycle 900:,SDK cycle 2700:,baseline cycle 900:,baseline cycle 2700:"
import { readFile } from "node:fs/promises";
import { formatNew, newObjects, summary, summaryDiff, takeSnapshot } from "./heap.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A minimal CDP client over one target's WebSocket. */
class Cdp {
  constructor(url) {
    this.ws = new WebSocket(url);
    this.next = 0;
    this.pending = new Map();
    this.listeners = new Map();
    this.ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.id !== undefined) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        m.error ? p.reject(new Error(JSON.stringify(m.error))) : p.resolve(m.result);
      } else {
        for (const f of this.listeners.get(m.method) ?? []) f(m.params);
      }
    };
    this.opened = new Promise((resolve) => (this.ws.onopen = resolve));
  }
  send(method, params = {}) {
    const id = ++this.next;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }
  on(method, f) {
    this.listeners.set(method, [...(this.listeners.get(method) ?? []), f]);
  }
  off(method, f) {
    this.listeners.set(method, (this.listeners.get(method) ?? []).filter((g) => g !== f));
  }
}

const markers = args.at.split(",");
let target;
while (!target) {
  try {
    const list = await (await fetch(`http://127.0.0.1:${args.port}/json/list`)).json();
    target = list.find((t) => t.type === "page" && t.url.startsWith("http://127.0.0.1"));
  } catch {}
  if (!target) await sleep(500);
}
console.log(`attach: ${target.url}`);
const cdp = new Cdp(target.webSocketDebuggerUrl);
await cdp.opened;
const taken = [];
for (const marker of markers) {
  while (!(await readFile(args.log, "utf8").catch(() => "")).includes(marker)) await sleep(200);
  const { usedSize } = await cdp.send("Runtime.getHeapUsage");
  taken.push({ marker, snapshot: await takeSnapshot(cdp) });
  console.log(`attach: snapshot at "${marker}" (heap used ${usedSize} before it)`);
}
for (let i = 1; i < taken.length; i++) {
  const [a, b] = [taken[i - 1], taken[i]];
  if (a.marker.split(" ")[0] !== b.marker.split(" ")[0]) continue;
  console.log(formatNew(`attach: objects alive at "${b.marker}" and new since "${a.marker}"`,
    newObjects(a.snapshot, b.snapshot, 30)));
  console.log(`attach: growth by group from "${a.marker}" to "${b.marker}":`);
  for (const r of summaryDiff(summary(a.snapshot), summary(b.snapshot), 30)) {
    console.log(`  ${String(r.size).padStart(9)} B ${String(r.count).padStart(7)}x  ${r.group}`);
  }
}
process.exit(0);
