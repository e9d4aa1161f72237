// Loaded by the browser tests (browser.test.mjs) into a page served next
// to the built SDK: helpers that drive real clients against the real
// server through the testkit control server, event-driven (every wait is
// a listener; timeouts only bound a wait that failed).
// @ts-expect-error: the built SDK, served beside this file (TETHER_SDK_DIR); not here for tsc
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

export const publish = (server, topic, data, event) =>
  control(`/server/publish?name=${server}`, JSON.stringify({ topic, data, ...(event ? { event } : {}) }));

/** Resolves once `sub.state` is `state` (now or on a later onState event). */
export function untilSub(sub, what, state, ms) {
  return first(what, (done) => {
    if (sub.state === state) return done();
    const off = sub.onState((e) => {
      if (e.state === state) {
        off();
        done();
      }
    });
  }, ms);
}

/** A listener that records what it is called with (`rec.seen`), and wakes
 * `rec.until(what, pred)` waits when `pred(seen)` holds. */
export function recorder() {
  const seen = [];
  const waits = new Set();
  const fn = (v) => {
    seen.push(v);
    for (const w of [...waits]) w();
  };
  const until = (what, pred, ms) => first(what, (done) => {
    const check = () => pred(seen) && (waits.delete(check), done(seen));
    waits.add(check);
    check();
  }, ms);
  // Shows that `pred(seen)` keeps holding for `ms`: fails at the first
  // recording that breaks it (an observation period, never a barrier).
  const holds = (what, ms, pred) => new Promise((resolve, reject) => {
    const check = () => {
      if (pred(seen)) return;
      waits.delete(check);
      clearTimeout(timer);
      reject(new Error(`${what} stopped holding: ${JSON.stringify(seen)}`));
    };
    const timer = setTimeout(() => {
      waits.delete(check);
      resolve(seen);
    }, ms);
    waits.add(check);
    check();
  });
  return { seen, fn, until, holds };
}

/** Polls `cond` (async) every 10 ms until it holds; only for state outside
 * the page that sends no events (the testkit's counters). */
export async function poll(what, cond, ms = 5_000) {
  const end = performance.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Shows that something does NOT happen for `ms`: fails at the first status
 * of `t` that breaks `pred`, and unless `pred(t.status)` and `check()` (a
 * promise or value; e.g. a proxy's counter) hold at the end. An observation
 * period, never a barrier. */
export function holds(t, what, ms, pred, check = () => true) {
  return new Promise((resolve, reject) => {
    let off = () => {};
    let timer;
    const fail = (s) => {
      clearTimeout(timer);
      off();
      reject(new Error(`${what} stopped holding: ${JSON.stringify(s)}`));
    };
    if (!pred(t.status)) return fail(t.status);
    off = t.onStatus((s) => pred(s) || fail(s));
    timer = setTimeout(async () => {
      off();
      if (!pred(t.status)) return fail(t.status);
      try {
        if (!(await check())) return reject(new Error(`${what}: the check failed after ${ms} ms`));
      } catch (e) {
        return reject(e);
      }
      resolve();
    }, ms);
  });
}

/** The testkit (tests/testkit), as the first SDK's tests/support/mod.rs wrapped it. */
export const kit = {
  startServer: async (name, args = "") => (await control(`/server/start?name=${name}&args=${args}`)).ws,
  killServer: (name) => control(`/server/kill?name=${name}`),
  stopServer: (name) => control(`/server/stop?name=${name}`),
  startProxy: async (name, server) => (await control(`/proxy/start?name=${name}&server=${server}`)).ws,
  proxyMode: (name, mode) => control(`/proxy/mode?name=${name}&mode=${mode}`),
  proxyCut: (name) => control(`/proxy/cut?name=${name}`),
  proxyStats: (name) => control(`/proxy/stats?name=${name}`),
  proxyAccepted: async (name) => (await control(`/proxy/stats?name=${name}`)).accepted,
  startEcho: async (name) => (await control(`/echo/start?name=${name}`)).ws,
  echoStats: (name) => control(`/echo/stats?name=${name}`),
  writeFile: async (name, body) => (await control(`/file?name=${name}`, body)).path,
  startRedis: async (name) => (await control(`/redis/start?name=${name}`)).url,
  killRedis: (name) => control(`/redis/kill?name=${name}`),
  startKick: async (name) => (await control(`/kick?name=${name}`)).ws,
  kickConnections: async (name) => (await control(`/kick?name=${name}`)).connections,
};

export { Tether, ready };
window.sdk = { Tether, ready, control, first, until, untilSub, publish, recorder, holds, poll, kit };
