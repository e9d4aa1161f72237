// The re-entrancy matrix (issue 12): each API call from inside each kind
// of callback, each callback run by a socket-driven change. See
// browser.test.mjs for what is asserted.
import { Tether, first, until, publish } from "./page.js";

export const KINDS = ["status", "message", "typed", "publication", "subscription", "settle"];
export const ACTIONS = ["removeSelf", "removeOther", "close", "reconnect", "send", "subscribe",
  "unsubscribe", "request", "throw", "free"];
const OPTIONS = { backoff: { initialMs: 20, maxMs: 50 } };
const ID = 777;

export async function runCase(server, ws, kind, action) {
  const t = new Tether(ws, OPTIONS);
  const out = { calls: 0, otherCalls: 0, errors: [], after: {} };
  let offSelf = () => {};
  let offOther = () => {};
  /** @type {any} */
  let result;
  const side = t.subscribe("alerts", () => {});
  let done;
  const acted = new Promise((r) => (done = r));
  const act = () => {
    try {
      switch (action) {
        case "removeSelf": offSelf(); break;
        case "removeOther": offOther(); break;
        case "close": t.close(); break;
        case "reconnect": t.reconnect(); break;
        case "send": result = t.send({ type: "get_topics", id: 4242 }); break;
        case "subscribe": result = t.subscribe("system", () => {}); break;
        case "unsubscribe": side.unsubscribe(); break;
        case "request": result = t.request({ type: "get_topics" }); break;
        case "free": t.free(); break;
        case "throw": throw new Error("boom (expected)");
      }
    } catch (e) {
      if (action === "throw") throw e;
      out.errors.push(String(e));
    } finally {
      done();
    }
  };
  const cb = () => {
    out.calls += 1;
    if (out.calls === 1) act();
  };
  const other = () => (out.otherCalls += 1);
  const isReply = (m) => m !== null && typeof m === "object" && m.id === ID;
  // The trigger makes the socket-driven change that runs the callback.
  let trigger = async () => {};
  switch (kind) {
    case "status":
      offSelf = t.onStatus((s) => s.state === "open" && cb());
      offOther = t.onStatus((s) => s.state === "open" && other());
      trigger = async () => {};
      break;
    case "message":
    case "typed": {
      const on = (f) => (kind === "message" ? t.onMessage((m) => isReply(m) && f()) : t.on("topics", (m) => isReply(m) && f()));
      offSelf = on(cb);
      offOther = on(other);
      trigger = async () => {
        await until(t, "open", (s) => s.state === "open");
        t.send({ type: "get_topics", id: ID });
      };
      break;
    }
    case "publication": {
      const s1 = t.subscribe("miners", cb);
      const s2 = t.subscribe("miners", other);
      offSelf = () => s1.unsubscribe();
      offOther = () => s2.unsubscribe();
      trigger = async () => {
        await first("subscribed", (d) => s1.onState((e) => e.state === "subscribed" && d()));
        await publish(server, "miners", { n: 1 });
      };
      break;
    }
    case "subscription": {
      const s = t.subscribe("miners", () => {});
      offSelf = s.onState((e) => e.state === "subscribed" && cb());
      offOther = s.onState((e) => e.state === "subscribed" && other());
      break;
    }
    case "settle":
      offSelf = t.onStatus(() => {});
      offOther = t.onStatus(() => {});
      trigger = async () => {
        // A throw here is the app's own promise chain's, not the SDK's.
        t.request({ type: "get_topics" }).then(cb).catch((e) => (out.settleThrew = String(e)));
      };
      break;
  }
  await trigger();
  await first("the callback", (d) => acted.then(d));

  // What must hold after the call, per action.
  if (action === "close") {
    out.after.state = t.state;
    out.after.rejected = await t.request({ type: "get_topics" }).then(() => "resolved", (e) => e.code);
  } else if (action === "free") {
    offSelf();
    offOther();
    side.unsubscribe();
    t.free();
    out.after.state = t.state;
    out.after.rejected = await t.request({ type: "get_topics" }).then(() => "resolved", (e) => e.code);
  } else {
    await until(t, "open again", (s) => s.state === "open");
    out.after.reply = (await t.request({ type: "get_topics" })).type;
    if (action === "send") out.after.sent = result;
    if (action === "request") out.after.requested = (await result).type;
    if (action === "subscribe") {
      out.after.subscribed = await first("system subscribed", (d) => {
        if (result.state === "subscribed") return d(true);
        result.onState((e) => e.state === "subscribed" && d(true));
      });
    }
    if (action === "unsubscribe") out.after.side = side.state;
    if (action === "removeSelf" && kind !== "settle") {
      // The same change again: the removed callback must not run.
      await retrigger(t, server, kind);
    }
  }
  out.after.otherCallsAtEnd = out.otherCalls;
  t.free();
  return out;
}

/** Makes the callback's kind of change once more, waiting for it through a new listener. */
async function retrigger(t, server, kind) {
  switch (kind) {
    case "status":
      t.reconnect();
      await until(t, "reopened", (s) => s.state === "open" && s.attempt === 0);
      break;
    case "message":
    case "typed":
      await first("second reply", (d) => {
        const off = t.onMessage((m) => m?.id === ID && (off(), d()));
        t.send({ type: "get_topics", id: ID });
      });
      break;
    case "publication":
      await first("second publication", (d) => {
        const s = t.subscribe("miners", () => (s.unsubscribe(), d()));
        publish(server, "miners", { n: 2 });
      });
      break;
    case "subscription":
      await first("resubscribed", (d) => {
        const s = t.subscribe("miners", () => {});
        s.onState((e) => e.state === "subscribed" && d());
        t.reconnect();
      });
      break;
  }
}
