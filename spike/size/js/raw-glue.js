// (c) No wasm-bindgen: instantiates the module itself, passes strings as
// (pointer, length) UTF-8, and offers the facade the same functions as
// wasm-bindgen's glue does.
import { R, status, sub, failed, token, deliver } from "registry";
let x;
const enc = new TextEncoder();
const dec = new TextDecoder();
const str = (p, l) => dec.decode(new Uint8Array(x.memory.buffer, p, l));
// Copies `s` into a buffer the wasm export takes over: [pointer, length].
function put(s) {
  const b = enc.encode(s);
  const p = x.alloc(b.length);
  new Uint8Array(x.memory.buffer, p, b.length).set(b);
  return [p, b.length];
}
const socks = new Map();
const timers = new Map();
const t = {
  now: () => performance.now(),
  random: Math.random,
  ws_open(c, sid, p, l) {
    const W = R.c.get(c)?.WebSocket ?? globalThis.WebSocket;
    let ws;
    try {
      ws = new W(str(p, l));
    } catch {
      return 0;
    }
    const k = c + "/" + sid;
    socks.set(k, ws);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => x.on_open(c, sid);
    ws.onmessage = (e) => {
      const v = x.on_message(c, sid, ...put(typeof e.data === "string" ? e.data : ""));
      if (v) deliver(c, v, e.data);
    };
    ws.onclose = (e) => {
      socks.delete(k);
      x.on_close(c, sid, e.code, ...put(e.reason), e.wasClean);
    };
    ws.onerror = () => x.on_error(c, sid);
    return 1;
  },
  ws_send: (c, sid, p, l) => socks.get(c + "/" + sid)?.send(str(p, l)),
  ws_close(c, sid, code, p, l) {
    const k = c + "/" + sid;
    const ws = socks.get(k);
    if (!ws) return;
    socks.delete(k);
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, str(p, l));
    } catch {}
  },
  timer(c, delay) {
    clearTimeout(timers.get(c));
    if (delay >= 0) timers.set(c, setTimeout(() => x.on_timer(c), delay));
  },
  status: (c, s, a, n, r, q, since, code, rp, rl, clean, ep, el, ip, il) =>
    status(c, s, a, n, r, q, since, code, str(rp, rl), !!clean, str(ep, el), str(ip, il)),
  sub: (c, tp, tl, s, rec, missed, ep, el) => sub(c, str(tp, tl), s, rec, missed, str(ep, el)),
  failed,
  token,
};
export default async function init() {
  const url = new URL("spike_bg.wasm", import.meta.url);
  const bytes =
    url.protocol === "file:"
      ? await (await import("node:fs/promises")).readFile(url)
      : await (await fetch(url)).arrayBuffer();
  x = (await WebAssembly.instantiate(bytes, { t })).instance.exports;
}
export const create = (o) => x.create(...put(o));
export const free = (c) => x.free(c);
export const connect = (c) => x.connect(c);
export const reconnect = (c) => x.reconnect(c);
export const close = (c, code, reason) => x.close(c, code, ...put(reason));
export const subscribe = (c, topic, rec) => x.subscribe(c, ...put(topic), rec);
export const unsubscribe = (c, topic) => x.unsubscribe(c, ...put(topic));
export const send = (c, text) => !!x.send(c, ...put(text));
export const request = (c, body, ms) => x.request(c, ...put(body), ms);
export const online = (c, on) => x.online(c, on);
export const visible = (c) => x.visible(c);
export const token_ok = (c, sid, tok) => x.token_ok(c, sid, ...put(tok));
export const token_err = (c, sid) => x.token_err(c, sid);
