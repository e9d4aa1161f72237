// Ported from the first SDK's (wasm-bindgen, retired) tests/hardening.rs. Callbacks that call back into the
// client: a listener that socket and page events or the timer run may call
// any API method, removers included, and must see the same client as the
// app does: no throw, the call takes effect, and listeners hear about
// states in the order they happened. Also removers after `free()`, and
// `maxAttempts` against a server that accepts then closes at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAILED_HANDSHAKE, browserSuite } from "./harness.mjs";

const suite = browserSuite();

/** The page-side probes (the first SDK's inline JS, as an app writes listeners):
 * each registers listeners and returns an object the test reads. */
function installProbes() {
  // `const off = t.onStatus(s => { if (s.state === state) { off(); resolve(); } })`
  function resolveOn(t, state) {
    const probe = { resolved: false };
    probe.done = new Promise((resolve) => {
      const off = t.onStatus((s) => {
        if (s.state === state) {
          off();
          resolve();
        }
      });
    }).then(() => {
      probe.resolved = true;
    });
    return probe;
  }

  // A status listener that records every state and removes itself the
  // first time it sees `state`.
  function removeOn(t, state) {
    const probe = { states: [], error: null };
    const off = t.onStatus((s) => {
      probe.states.push(s.state);
      if (s.state !== state) return;
      try {
        off();
      } catch (e) {
        probe.error = String(e);
      }
    });
    return probe;
  }

  // A once-listener: `onMessage` (type null) or `on(type)`.
  function onceMessage(t, type) {
    const probe = { calls: 0, error: null };
    const listener = () => {
      probe.calls++;
      try {
        off();
      } catch (e) {
        probe.error = String(e);
      }
    };
    const off = type === null ? t.onMessage(listener) : t.on(type, listener);
    return probe;
  }

  // Removers called from a subscription's callbacks: the onState listener
  // removes itself on "subscribed"; the first publication removes a status
  // and a message listener, then unsubscribes (a once-subscription).
  function subscriptionRemovers(t, topic) {
    const probe = { states: [], publications: 0, statusCalls: 0, statusAtRemoval: null, errors: [] };
    const offStatus = t.onStatus(() => {
      probe.statusCalls++;
    });
    const offMessage = t.onMessage(() => {});
    const sub = t.subscribe(topic, () => {
      probe.publications++;
      try {
        offMessage();
        offStatus();
        probe.statusAtRemoval = probe.statusCalls;
        sub.unsubscribe();
      } catch (e) {
        probe.errors.push("publication callback: " + e);
      }
    });
    const offState = sub.onState((e) => {
      probe.states.push(e.state);
      if (e.state !== "subscribed") return;
      try {
        offState();
      } catch (e2) {
        probe.errors.push("onState: " + e2);
      }
    });
    return probe;
  }

  // The removers of every kind of listener, called after `free()`.
  function removersAfterFree(t) {
    const removers = [t.onStatus(() => {}), t.onMessage(() => {}), t.on("note", () => {})];
    const sub = t.subscribe("miners", () => {});
    removers.push(sub.onState(() => {}));
    t.free();
    const errors = [];
    for (const remove of removers) {
      try {
        remove();
        remove();
      } catch (e) {
        errors.push(String(e));
      }
    }
    try {
      sub.unsubscribe();
    } catch (e) {
      errors.push("unsubscribe: " + e);
    }
    return errors;
  }

  // `free()` from the status listener the socket's "open" runs; the probe
  // keeps the listener's remover to call later.
  function freeOnOpen(t) {
    const probe = { states: [], error: null, off: null };
    probe.off = t.onStatus((s) => {
      probe.states.push(s.state);
      if (s.state !== "open") return;
      try {
        t.free();
      } catch (e) {
        probe.error = String(e);
      }
    });
    return probe;
  }

  const calls = (probe) => (name, f) => {
    try {
      return f();
    } catch (e) {
      probe.errors.push(name + ": " + e);
    }
  };
  // `probe.request` settles to "resolved" or the rejection's code;
  // `probe.settled` resolves then.
  const request = (probe, t) => {
    probe.settled = t.request({ type: "nope" }).then(
      () => {
        probe.request = "resolved";
      },
      (e) => {
        probe.request = e.code;
      });
  };

  // API calls from status listeners that socket events run
  // (`connection_established` -> "open"). First open: getters, a subscribe
  // and an unsubscribe, send, a remover, then reconnect(). Second open: a
  // request, a subscribe whose onState listener (run by the socket's
  // `subscribed`) closes the client.
  function apiOnOpen(t) {
    const probe = { errors: [], opens: 0, getters: null, sent: null, request: "pending", sub: null };
    const call = calls(probe);
    t.onStatus((s) => {
      if (s.state !== "open") return;
      probe.opens++;
      if (probe.opens === 1) {
        probe.getters = call("getters", () => t.state + " " + t.status.state);
        const other = call("subscribe", () => t.subscribe("alerts", () => {}));
        call("unsubscribe", () => other.unsubscribe());
        probe.sent = call("send", () => t.send({ type: "hello" }));
        call("remover", () => t.onStatus(() => {})());
        call("reconnect", () => t.reconnect());
      } else if (probe.opens === 2) {
        call("request", () => request(probe, t));
        probe.sub = call("subscribe", () => t.subscribe("miners", () => {}));
        call("onState", () => probe.sub.onState((e) => {
          if (e.state === "subscribed") call("close", () => t.close());
        }));
      }
    });
    return probe;
  }

  // API calls from the status listener the retry timer runs ("connecting"
  // after "reconnecting"): getters, close(), reconnect(), then a subscribe
  // and an unsubscribe, send and request (queued for the new attempt), a
  // remover. `probe.ran` resolves once it ran.
  function apiOnRetry(t) {
    const probe = { errors: [], ran: false, getters: null, sent: null, request: "pending", sub: null };
    let ran;
    probe.hasRun = new Promise((r) => (ran = r));
    const call = calls(probe);
    let previous = null;
    t.onStatus((s) => {
      const retry = s.state === "connecting" && previous === "reconnecting";
      previous = s.state;
      if (!retry || probe.ran) return;
      probe.ran = true;
      probe.getters = call("getters", () => t.state + " " + t.status.state);
      call("close", () => t.close());
      call("reconnect", () => t.reconnect());
      probe.sub = call("subscribe", () => t.subscribe("miners", () => {}));
      const other = call("subscribe", () => t.subscribe("alerts", () => {}));
      call("unsubscribe", () => other.unsubscribe());
      probe.sent = call("send", () => t.send({ type: "hello" }));
      call("request", () => request(probe, t));
      call("remover", () => t.onStatus(() => {})());
      ran();
    });
    return probe;
  }

  // The recorded states, with repeats (an rtt change) folded.
  const states = (statuses) => statuses.filter((s, i) => i === 0 || s !== statuses[i - 1]);

  window.probes = {
    resolveOn, removeOn, onceMessage, subscriptionRemovers, removersAfterFree, freeOnOpen, apiOnOpen, apiOnRetry, states,
  };
}

const run = (fn, arg) => suite.run(fn, arg, installProbes);

// Status listeners that remove themselves while a socket event runs them:
// the app's `off(); resolve()` on "open" resolves, and a listener that
// removes itself on "reconnecting" is called for that state once, though
// the client goes through it again.
test("status_listeners_remove_themselves_during_socket_events", async () => {
  const { r, problems } = await run(async () => {
    const { Tether, kit, until, recorder } = window.sdk;
    const { resolveOn, removeOn, states } = window.probes;
    await kit.startServer("hard-self-s");
    const ws = await kit.startProxy("hard-self-p", "hard-self-s");
    const t = new Tether(ws, { autoConnect: false, backoff: { initialMs: 100, maxMs: 100, jitter: "none" } });
    const resolved = resolveOn(t, "open");
    const onOpen = removeOn(t, "open");
    const onReconnecting = removeOn(t, "reconnecting");
    const statuses = recorder();
    t.onStatus(statuses.fn);
    t.connect();
    await until(t, "open", (s) => s.state === "open");
    await window.sdk.first("the open listener to remove itself and resolve", (d) => resolved.done.then(d), 5000);
    for (let cut = 1; cut <= 2; cut++) {
      await kit.proxyCut("hard-self-p");
      await statuses.until("open again after the cut", (s) => s.filter((x) => x.state === "open").length > cut);
    }
    const out = { states: states(statuses.seen.map((s) => s.state)), onOpen, onReconnecting };
    t.close();
    return out;
  });
  assert.deepEqual(r.states, ["connecting", "open", "reconnecting", "connecting", "open", "reconnecting", "connecting", "open"]);
  assert.equal(r.onOpen.error, null, "the remover threw");
  assert.deepEqual(r.onOpen.states, ["connecting", "open"]);
  assert.equal(r.onReconnecting.error, null, "the remover threw");
  assert.deepEqual(r.onReconnecting.states, ["connecting", "open", "reconnecting"], "removed itself on the first reconnecting");
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});

// Once-listeners on `onMessage` and `on(type)`: three messages arrive (raw
// mode, echo server), each once-listener is called exactly once.
test("once_message_listeners_are_called_once", async () => {
  const { r, problems } = await run(async () => {
    const { Tether, kit, until, recorder } = window.sdk;
    const { onceMessage } = window.probes;
    const ws = await kit.startEcho("hard-echo");
    const t = new Tether(ws, { mode: "raw" });
    const any = onceMessage(t, null);
    const typed = onceMessage(t, "note");
    const messages = recorder();
    t.onMessage(messages.fn);
    await until(t, "open", (s) => s.state === "open");
    for (let n = 1; n <= 3; n++) t.send({ type: "note", n });
    await messages.until("three echoes", (s) => s.length === 3, 5000);
    t.close();
    return { onMessage: any, 'on("note")': typed };
  });
  for (const [name, probe] of Object.entries(r)) {
    assert.equal(probe.error, null, `${name}: the remover threw`);
    assert.equal(probe.calls, 1, `${name}: called once`);
  }
  assert.deepEqual(problems, []);
});

// Removers from a subscription's callbacks: an `onState` listener removes
// itself on `subscribed`; a publication callback removes a status and a
// message listener and unsubscribes: it gets one of three publications, and
// the removed listeners hear nothing more.
test("removers_work_from_subscription_callbacks", async () => {
  const { r, problems } = await run(async () => {
    const { Tether, kit, untilSub, publish, recorder } = window.sdk;
    const ws = await kit.startServer("hard-sub-s");
    const t = new Tether(ws, {});
    const probe = window.probes.subscriptionRemovers(t, "miners");
    const all = recorder();
    const sub = t.subscribe("miners", all.fn);
    await untilSub(sub, "subscribed", "subscribed");
    for (let n = 1; n <= 3; n++) await publish("hard-sub-s", "miners", { n }, "t");
    await all.until("three publications", (s) => s.length === 3);
    const before = { ...probe, states: [...probe.states], errors: [...probe.errors] };
    t.close();
    return { before, statusCalls: probe.statusCalls, statusAtRemoval: probe.statusAtRemoval };
  });
  assert.deepEqual(r.before.errors, []);
  assert.equal(r.before.publications, 1, "a once-subscription");
  assert.deepEqual(r.before.states, ["subscribed"]);
  assert.equal(r.statusCalls, r.statusAtRemoval, "a removed status listener heard the close");
  assert.deepEqual(problems, []);
});

// After `free()` every remover (and `unsubscribe()`) is a harmless no-op.
test("removers_after_free_do_nothing", async () => {
  const { r, problems } = await run(async () => {
    const { Tether, kit, until } = window.sdk;
    const ws = await kit.startServer("hard-free-s");
    const t = new Tether(ws, {});
    await until(t, "open", (s) => s.state === "open");
    return window.probes.removersAfterFree(t);
  });
  assert.deepEqual(r, [], "a remover threw after free()");
  assert.deepEqual(problems, []);
});

// `free()` from the status listener a socket event runs: no throw, the
// socket is closed, the listener hears nothing more and its remover is a
// no-op.
test("free_from_a_socket_event_listener", async () => {
  const { r, problems } = await run(async () => {
    const { Tether, kit, first, poll } = window.sdk;
    await kit.startServer("hard-freecb-s");
    const ws = await kit.startProxy("hard-freecb-p", "hard-freecb-s");
    const t = new Tether(ws, { autoConnect: false });
    const probe = window.probes.freeOnOpen(t);
    const opened = first("open, then free()", (d) => t.onStatus((s) => s.state === "open" && queueMicrotask(d)));
    t.connect();
    await opened;
    let open;
    // The proxy sends no event: its count of open connections is polled.
    await poll("free() to close the socket", async () => (open = (await kit.proxyStats("hard-freecb-p")).open) === 0)
      .catch(() => {});
    let offError = null;
    try {
      probe.off();
    } catch (e) {
      offError = String(e);
    }
    return { error: probe.error, open, offError, states: probe.states };
  });
  assert.equal(r.error, null, "free() threw");
  assert.equal(r.open, 0, "free() closes the socket");
  assert.equal(r.offError, null, "the remover threw after free()");
  assert.deepEqual(r.states, ["connecting", "open"]);
  assert.deepEqual(problems, []);
});

// API calls from listeners that socket events run: the first "open"
// subscribes, unsubscribes, sends, removes a listener and reconnects; the
// second requests and subscribes, and that subscription's `subscribed`
// closes the client. Nothing throws, every call takes effect, and a later
// listener hears the states in the order they happened.
test("api_calls_from_socket_event_listeners", async () => {
  const { r, problems } = await run(async () => {
    const { Tether, kit, until, first, recorder } = window.sdk;
    const ws = await kit.startServer("hard-api-s");
    const t = new Tether(ws, { autoConnect: false });
    const probe = window.probes.apiOnOpen(t);
    const statuses = recorder();
    t.onStatus(statuses.fn);
    t.connect();
    await until(t, "closed by the onState listener", (s) => s.state === "closed");
    await first("the request to settle", (d) => (probe.settled ?? Promise.reject(new Error("no request"))).then(d, d), 5000);
    return { ...probe, sub: undefined, settled: undefined, states: window.probes.states(statuses.seen.map((s) => s.state)) };
  });
  assert.deepEqual(r.errors, []);
  assert.equal(r.getters, "open open");
  assert.equal(r.sent, true);
  assert.equal(r.request, "unknown_type", "the request went out and the server's error reply came back");
  assert.deepEqual(r.states, ["connecting", "open", "connecting", "open", "closed"]);
  assert.equal(r.opens, 2);
  assert.deepEqual(problems, []);
});

// API calls from the listener the retry timer runs ("connecting" after
// "reconnecting"): close(), reconnect(), subscribe, unsubscribe, a queued
// send and request, a remover. Nothing throws; the new attempt opens, the
// subscription is confirmed, the request is answered by the server.
test("api_calls_from_a_timer_listener", async () => {
  const { r, problems } = await run(async () => {
    const { Tether, kit, until, untilSub, first, recorder } = window.sdk;
    await kit.startServer("hard-timer-s");
    const ws = await kit.startProxy("hard-timer-p", "hard-timer-s");
    const t = new Tether(ws, { backoff: { initialMs: 100, maxMs: 100, jitter: "none" } });
    const probe = window.probes.apiOnRetry(t);
    const statuses = recorder();
    t.onStatus(statuses.fn);
    await until(t, "open", (s) => s.state === "open");
    await kit.proxyCut("hard-timer-p");
    await first("the retry listener to run", (d) => probe.hasRun.then(d));
    await until(t, "open again", (s) => s.state === "open");
    await untilSub(probe.sub, "subscribed", "subscribed");
    await first("the request to settle", (d) => probe.settled.then(d), 5000);
    const out = { ...probe, sub: undefined, settled: undefined, hasRun: undefined, states: window.probes.states(statuses.seen.map((s) => s.state)) };
    t.close();
    return out;
  });
  assert.deepEqual(r.errors, []);
  assert.equal(r.getters, "connecting connecting");
  assert.equal(r.sent, true, "queued");
  assert.equal(r.request, "unknown_type", "the queued request went out on the new link and was answered");
  assert.deepEqual(r.states, ["open", "reconnecting", "connecting", "closed", "connecting", "open"]);
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});

// `maxAttempts: 2` against a server that accepts, establishes and closes at
// once (faster than `stableAfterMs`): 3 connections, then `failed`, in
// Tether and in raw mode.
test("max_attempts_counts_links_that_die_at_once", async () => {
  const { r, problems } = await run(async () => {
    const { Tether, kit, until, holds } = window.sdk;
    const out = [];
    for (const mode of ["tether", "raw"]) {
      const name = `hard-kick-${mode}`;
      const ws = await kit.startKick(name);
      const before = await kit.kickConnections(name);
      const t = new Tether(ws, { mode, backoff: { initialMs: 50, maxMs: 100, jitter: "none", maxAttempts: 2 } });
      const state = await until(t, `${mode}: failed`, (s) => s.state === "failed", 5000).then((s) => s.state, (e) => String(e));
      const connections = (await kit.kickConnections(name)) - before;
      let held = true;
      await holds(t, "failed, with no new connection", 1000, (s) => s.state === "failed").catch(() => (held = false));
      out.push({ mode, state, connections, held, later: (await kit.kickConnections(name)) - before, code: t.status.lastClose?.code });
      t.free();
    }
    return out;
  });
  assert.equal(r.length, 2);
  for (const { mode, state, connections, held, later, code } of r) {
    assert.deepEqual([state, connections], ["failed", 3], `${mode}: maxAttempts 2 allows 3 connections, then failed`);
    assert.ok(held, `${mode}: failed, with no new connection`);
    assert.equal(later, 3, mode);
    assert.equal(code, 1011, mode);
  }
  assert.deepEqual(problems.filter((p) => !FAILED_HANDSHAKE.test(p)), []);
});
