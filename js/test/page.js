// Loaded by the browser tests (browser.test.mjs) into a page served next
// to the built SDK v2: helpers that drive real clients against the real
// server through the testkit control server, event-driven (every wait is
// a listener; timeouts only bound a wait that failed).
import { Tether, ready } from "./index.js";

const params = new URLSearchParams(location.search);
const CONTROL = params.get("control");

export async function control(path, body = "") {
  const r = await fetch(CONTROL + path, { method: "POST", body });
  const json = await r.json();
  if (!r.ok) throw new Error(`control ${path}: ${JSON.stringify(json)}`);
  return json;
}

/** Resolves with the first value `register(resolve)` hands its callback; rejects after `ms`. */
export function first(what, register, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    register((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/** Resolves once `t.status` satisfies `pred` (now or on a later change). */
export function until(t, what, pred, ms) {
  return first(what, (done) => {
    if (pred(t.status)) return done(t.status);
    const off = t.onStatus((s) => {
      if (pred(s)) {
        off();
        done(s);
      }
    });
  }, ms);
}

export const publish = (server, topic, data) =>
  control(`/server/publish?name=${server}`, JSON.stringify({ topic, data }));

export { Tether, ready };
window.v2 = { Tether, ready, control, first, until, publish };
