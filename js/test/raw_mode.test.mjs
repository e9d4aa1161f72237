// Ported from the first SDK's (wasm-bindgen, retired) tests/raw_mode.rs. Raw mode against a plain JSON
// WebSocket echo server (no Tether frames): open on the socket's `open`,
// application messages both ways, heartbeat with `raw.pingMessage` /
// `raw.pongType`, no topic protocol.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE, browserSuite } from "./harness.mjs";

const suite = browserSuite();

// Open as soon as the socket opens (no `connection_established` exists
// here, so no clientId); objects and strings go out and come back to
// `onMessage` and `on(type)`; the default heartbeat pings `{"type":"ping"}`,
// the server's `{"type":"pong"}` proves liveness (rttMs) and is never
// delivered; `subscribe()` throws.
test("raw_mode_echo_heartbeat_and_no_subscribe", async () => {
  const { r, problems } = await suite.run(async () => {
    const { Tether, kit, until, holds, recorder } = window.sdk;
    const ws = await kit.startEcho("raw-echo");
    const t = new Tether(ws, { mode: "raw", heartbeat: { intervalMs: 200, timeoutMs: 1000 } });
    const messages = recorder();
    t.onMessage(messages.fn);
    const hellos = recorder();
    t.on("hello", hellos.fn);
    await until(t, "open", (s) => s.state === "open");
    const out = { clientId: t.status.clientId };
    try {
      t.subscribe("miners", messages.fn);
      out.subscribeError = null;
    } catch (e) {
      out.subscribeError = String(e?.message);
    }
    out.sent = [t.send({ type: "hello", n: 1 }), t.send("not json")];
    await messages.until("both echoes", (s) => s.length >= 2, 5000);
    out.hellos = hellos.seen.map((m) => m.n);
    out.plain = messages.seen[1];
    const pingsBefore = (await kit.echoStats("raw-echo")).pings;
    await until(t, "heartbeat round trips", (s) => s.rttMs !== null, 5000);
    // Five intervals: the link stays open on pongs alone.
    await holds(t, "open on the heartbeat", 1000, (s) => s.state === "open");
    out.pings = (await kit.echoStats("raw-echo")).pings - pingsBefore;
    out.types = messages.seen.map((m) => m?.type);
    out.messages = messages.seen.length;
    t.close();
    return out;
  });
  assert.equal(r.clientId, null);
  assert.notEqual(r.subscribeError, null, "subscribe() must throw in raw mode");
  assert.ok(r.subscribeError.includes("raw"), `the error explains why: ${r.subscribeError}`);
  assert.deepEqual(r.sent, [true, true]);
  assert.deepEqual(r.hellos, [1], "on(type) gets the echoed object");
  assert.equal(r.plain, "not json", "text that is not JSON arrives as the string");
  assert.ok(r.pings >= 3, `a ping every 200 ms; the server saw ${r.pings}`);
  assert.ok(!r.types.includes("pong"), `pongs are not application messages: ${r.types}`);
  assert.equal(r.messages, 2);
  assert.deepEqual(problems, []);
});

// Custom `pingMessage` and `pongType`: the echo server returns the ping
// itself, which is then the pong; it is sent verbatim, proves liveness and
// is not delivered. Behind a blackholed proxy the same heartbeat finds the
// dead link, and the client reconnects once the proxy passes.
test("raw_mode_custom_ping_and_dead_link", async () => {
  const { r, problems } = await suite.run(async () => {
    const { Tether, kit, until, holds, recorder } = window.sdk;
    await kit.startEcho("raw-echo-2");
    const ws = await kit.startProxy("raw-p", "raw-echo-2");
    const t = new Tether(ws, {
      mode: "raw",
      heartbeat: { intervalMs: 200, timeoutMs: 400 },
      raw: { pingMessage: { type: "beat", v: 7 }, pongType: "beat" },
      backoff: { initialMs: 100, maxMs: 100 },
      connectTimeoutMs: 2000,
    });
    const messages = recorder();
    t.onMessage(messages.fn);
    await until(t, "open", (s) => s.state === "open");
    const textsBefore = (await kit.echoStats("raw-echo-2")).texts;
    await holds(t, "open on custom beats", 1000, (s) => s.state === "open");
    const out = { rttMs: t.status.rttMs };
    const stats = await kit.echoStats("raw-echo-2");
    out.beats = stats.texts - textsBefore;
    out.pings = stats.pings;
    out.messages = [...messages.seen];

    await kit.proxyMode("raw-p", "blackhole");
    await until(t, "the dead link to be noticed", (s) => s.state !== "open", 5000);
    out.lastError = t.status.lastError;
    await kit.proxyMode("raw-p", "pass");
    await until(t, "open again", (s) => s.state === "open", 15_000);
    t.close();
    return out;
  });
  assert.notEqual(r.rttMs, null);
  assert.ok(r.beats >= 3, `beats reach the server: ${r.beats}`);
  assert.equal(r.pings, 0, "the default ping is not sent when pingMessage is set");
  assert.deepEqual(r.messages, [], "beats are not delivered");
  assert.match(r.lastError, /^heartbeat timeout: no answer to a ping within \d+ ms$/);
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});
