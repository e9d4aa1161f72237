// (b) The socket and timer imports of the wasm (hand-written, no web-sys):
// the wasm decides, this performs and reports each event back.
import { R, deliver } from "registry";
export { status, sub, failed, token } from "registry";
const socks = new Map();
const timers = new Map();
export const now = () => performance.now();
export const random = Math.random;
export function ws_open(c, sid, url) {
  const W = R.c.get(c)?.WebSocket ?? globalThis.WebSocket;
  let ws;
  try {
    ws = new W(url);
  } catch {
    return false;
  }
  const k = c + "/" + sid;
  socks.set(k, ws);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => R.w.on_open(c, sid);
  ws.onmessage = (e) => {
    const v = R.w.on_message(c, sid, typeof e.data === "string" ? e.data : "");
    if (v) deliver(c, v, e.data);
  };
  ws.onclose = (e) => {
    socks.delete(k);
    R.w.on_close(c, sid, e.code, e.reason, e.wasClean);
  };
  ws.onerror = () => R.w.on_error(c, sid);
  return true;
}
export const ws_send = (c, sid, text) => socks.get(c + "/" + sid)?.send(text);
export function ws_close(c, sid, code, reason) {
  const k = c + "/" + sid;
  const ws = socks.get(k);
  if (!ws) return;
  socks.delete(k);
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
  try {
    ws.close(code, reason);
  } catch {}
}
export function timer(c, delay) {
  clearTimeout(timers.get(c));
  if (delay >= 0) timers.set(c, setTimeout(() => R.w.on_timer(c), delay));
}
