//! Callbacks that call back into the client. Every JS callback of a client
//! (socket and page events, the timer) enters one Rust closure; a listener
//! it runs may call any API method, removers included, and must see the
//! same client as the app does: no throw, the call takes effect, and
//! listeners hear about states in the order they happened. Also removers
//! after `free()`, and `maxAttempts` against a server that accepts then
//! closes at once. (Own file: own page.)
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
// Each helper registers listeners written the way an app writes them and
// returns a probe object the test reads.

// `const off = t.onStatus(s => { if (s.state === state) { off(); resolve(); } })`
export function resolve_on(t, state) {
  const probe = { resolved: false };
  new Promise((resolve) => {
    const off = t.onStatus((s) => {
      if (s.state === state) {
        off();
        resolve();
      }
    });
  }).then(() => { probe.resolved = true; });
  return probe;
}

// A status listener that records every state and removes itself the first
// time it sees `state`.
export function remove_on(t, state) {
  const probe = { states: [], error: null };
  const off = t.onStatus((s) => {
    probe.states.push(s.state);
    if (s.state !== state) return;
    try { off(); } catch (e) { probe.error = String(e); }
  });
  return probe;
}

// A once-listener: `onMessage` (type null) or `on(type)`.
export function once_message(t, type) {
  const probe = { calls: 0, error: null };
  const listener = () => {
    probe.calls++;
    try { off(); } catch (e) { probe.error = String(e); }
  };
  const off = type === null ? t.onMessage(listener) : t.on(type, listener);
  return probe;
}

// Removers called from a subscription's callbacks: the onState listener
// removes itself on "subscribed"; the first publication removes a status and
// a message listener, then unsubscribes (a once-subscription).
export function subscription_removers(t, topic) {
  const probe = { states: [], publications: 0, statusCalls: 0, statusAtRemoval: null, errors: [] };
  const offStatus = t.onStatus(() => { probe.statusCalls++; });
  const offMessage = t.onMessage(() => {});
  const sub = t.subscribe(topic, () => {
    probe.publications++;
    try {
      offMessage();
      offStatus();
      probe.statusAtRemoval = probe.statusCalls;
      sub.unsubscribe();
    } catch (e) { probe.errors.push("publication callback: " + e); }
  });
  const offState = sub.onState((e) => {
    probe.states.push(e.state);
    if (e.state !== "subscribed") return;
    try { offState(); } catch (e2) { probe.errors.push("onState: " + e2); }
  });
  return probe;
}

// The removers of every kind of listener, called after `free()`.
export function removers_after_free(t) {
  const removers = [t.onStatus(() => {}), t.onMessage(() => {}), t.on("note", () => {})];
  const sub = t.subscribe("miners", () => {});
  removers.push(sub.onState(() => {}));
  t.free();
  const errors = [];
  for (const remove of removers) {
    try { remove(); remove(); } catch (e) { errors.push(String(e)); }
  }
  try { sub.unsubscribe(); } catch (e) { errors.push("unsubscribe: " + e); }
  return errors;
}

// `free()` from the status listener the socket's "open" runs; the probe
// keeps the listener's remover to call later.
export function free_on_open(t) {
  const probe = { states: [], error: null, off: null };
  probe.off = t.onStatus((s) => {
    probe.states.push(s.state);
    if (s.state !== "open") return;
    try { t.free(); } catch (e) { probe.error = String(e); }
  });
  return probe;
}

function calls(probe) {
  return (name, f) => {
    try { return f(); } catch (e) { probe.errors.push(name + ": " + e); }
  };
}

// API calls from status listeners that socket events run
// (`connection_established` -> "open"). First open: getters, a subscribe
// and an unsubscribe, send, a remover, then reconnect(). Second open: a
// request, a subscribe whose onState listener (run by the socket's
// `subscribed`) closes the client.
export function api_on_open(t) {
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
      call("request", () => t.request({ type: "nope" }).then(
        () => { probe.request = "resolved"; },
        (e) => { probe.request = e.code; }));
      probe.sub = call("subscribe", () => t.subscribe("miners", () => {}));
      call("onState", () => probe.sub.onState((e) => {
        if (e.state === "subscribed") call("close", () => t.close());
      }));
    }
  });
  return probe;
}

// API calls from the status listener the retry timer runs ("connecting"
// after "reconnecting"): getters, close(), reconnect(), then a subscribe and
// an unsubscribe, send and request (queued for the new attempt), a remover.
export function api_on_retry(t) {
  const probe = { errors: [], ran: false, getters: null, sent: null, request: "pending", sub: null };
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
    call("request", () => t.request({ type: "nope" }).then(
      () => { probe.request = "resolved"; },
      (e) => { probe.request = e.code; }));
    call("remover", () => t.onStatus(() => {})());
  });
  return probe;
}
"#)]
extern "C" {
    fn resolve_on(t: &JsValue, state: &str) -> JsValue;
    fn remove_on(t: &JsValue, state: &str) -> JsValue;
    fn once_message(t: &JsValue, r#type: JsValue) -> JsValue;
    fn subscription_removers(t: &JsValue, topic: &str) -> JsValue;
    fn removers_after_free(t: &JsValue) -> js_sys::Array;
    fn free_on_open(t: &JsValue) -> JsValue;
    fn api_on_open(t: &JsValue) -> JsValue;
    fn api_on_retry(t: &JsValue) -> JsValue;
}

/// A client as the app holds it: a JS object.
fn client(ws: &str, options: &str) -> JsValue {
    Tether::new(JsValue::from_str(ws), Some(json(options)))
        .expect("client")
        .into()
}

fn call(t: &JsValue, method: &str) {
    let f: js_sys::Function = get(t, method).into();
    f.call0(t)
        .unwrap_or_else(|e| panic!("{method}() threw: {e:?}"));
}

fn state(t: &JsValue) -> String {
    get(t, "state").as_string().expect("state")
}

/// `probe[key]` as a list of strings.
fn strings(probe: &JsValue, key: &str) -> Vec<String> {
    js_sys::Array::from(&get(probe, key))
        .iter()
        .map(|v| v.as_string().unwrap_or_default())
        .collect()
}

fn number(probe: &JsValue, key: &str) -> f64 {
    get(probe, key).as_f64().unwrap_or(f64::NAN)
}

/// The recorded states, with repeats (an rtt change) folded.
fn states(statuses: &Recorder) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in statuses.strings("state") {
        if out.last() != Some(&s) {
            out.push(s);
        }
    }
    out
}

fn listen(t: &JsValue, method: &str, recorder: &Recorder) {
    let f: js_sys::Function = get(t, method).into();
    f.call1(t, &recorder.function()).expect("listen");
}

/// Status listeners that remove themselves while a socket event runs them:
/// the app's `off(); resolve()` on "open" resolves, and a listener that
/// removes itself on "reconnecting" is called for that state once, though
/// the client goes through it again.
#[wasm_bindgen_test]
async fn status_listeners_remove_themselves_during_socket_events() {
    start_server("hard-self-s", "").await;
    let ws = start_proxy("hard-self-p", "hard-self-s").await;
    let t = client(
        &ws,
        r#"{"autoConnect":false,"backoff":{"initialMs":100,"maxMs":100,"jitter":"none"}}"#,
    );
    let resolved = resolve_on(&t, "open");
    let on_open = remove_on(&t, "open");
    let on_reconnecting = remove_on(&t, "reconnecting");
    let statuses = Recorder::new();
    listen(&t, "onStatus", &statuses);
    call(&t, "connect");

    wait_for("open", 10_000.0, || state(&t) == "open").await;
    wait_for(
        "the open listener to remove itself and resolve",
        5_000.0,
        || get(&resolved, "resolved").is_truthy(),
    )
    .await;
    for cut in 1..=2 {
        proxy_cut("hard-self-p").await;
        wait_for("open again after the cut", 10_000.0, || {
            statuses
                .strings("state")
                .iter()
                .filter(|s| *s == "open")
                .count()
                > cut
        })
        .await;
    }
    assert_eq!(
        states(&statuses),
        [
            "connecting",
            "open",
            "reconnecting",
            "connecting",
            "open",
            "reconnecting",
            "connecting",
            "open"
        ]
    );
    assert_eq!(get(&on_open, "error"), JsValue::NULL, "the remover threw");
    assert_eq!(strings(&on_open, "states"), ["connecting", "open"]);
    assert_eq!(
        get(&on_reconnecting, "error"),
        JsValue::NULL,
        "the remover threw"
    );
    assert_eq!(
        strings(&on_reconnecting, "states"),
        ["connecting", "open", "reconnecting"],
        "removed itself on the first reconnecting"
    );
    call(&t, "close");
}

/// Once-listeners on `onMessage` and `on(type)`: three messages arrive
/// (raw mode, echo server), each once-listener is called exactly once.
#[wasm_bindgen_test]
async fn once_message_listeners_are_called_once() {
    let ws = start_echo("hard-echo").await;
    let t = client(&ws, r#"{"mode":"raw"}"#);
    let any = once_message(&t, JsValue::NULL);
    let typed = once_message(&t, JsValue::from_str("note"));
    let messages = Recorder::new();
    listen(&t, "onMessage", &messages);
    wait_for("open", 10_000.0, || state(&t) == "open").await;
    let send: js_sys::Function = get(&t, "send").into();
    for n in 1..=3 {
        let message = json(&format!(r#"{{"type":"note","n":{n}}}"#));
        send.call1(&t, &message).expect("send");
    }
    wait_for("three echoes", 5_000.0, || messages.len() == 3).await;
    for (name, probe) in [("onMessage", &any), ("on(\"note\")", &typed)] {
        assert_eq!(
            get(probe, "error"),
            JsValue::NULL,
            "{name}: the remover threw"
        );
        assert_eq!(number(probe, "calls"), 1.0, "{name}: called once");
    }
    call(&t, "close");
}

/// Removers from a subscription's callbacks: an `onState` listener removes
/// itself on `subscribed`; a publication callback removes a status and a
/// message listener and unsubscribes: it gets one of three publications,
/// and the removed listeners hear nothing more.
#[wasm_bindgen_test]
async fn removers_work_from_subscription_callbacks() {
    let ws = start_server("hard-sub-s", "").await;
    let t = client(&ws, "{}");
    let probe = subscription_removers(&t, "miners");
    let all = Recorder::new();
    let subscribe: js_sys::Function = get(&t, "subscribe").into();
    let sub = subscribe
        .call2(&t, &"miners".into(), &all.function())
        .expect("subscribe");
    wait_for("subscribed", 10_000.0, || {
        get(&sub, "state").as_string().as_deref() == Some("subscribed")
    })
    .await;
    for n in 1..=3 {
        let body = format!(r#"{{"topic":"miners","event":"t","data":{{"n":{n}}}}}"#);
        publish("hard-sub-s", &body).await;
    }
    wait_for("three publications", 10_000.0, || all.len() == 3).await;
    assert_eq!(strings(&probe, "errors"), Vec::<String>::new());
    assert_eq!(number(&probe, "publications"), 1.0, "a once-subscription");
    assert_eq!(strings(&probe, "states"), ["subscribed"]);
    call(&t, "close");
    assert_eq!(
        number(&probe, "statusCalls"),
        number(&probe, "statusAtRemoval"),
        "a removed status listener heard the close"
    );
}

/// After `free()` every remover (and `unsubscribe()`) is a harmless no-op.
#[wasm_bindgen_test]
async fn removers_after_free_do_nothing() {
    let ws = start_server("hard-free-s", "").await;
    let t = client(&ws, "{}");
    wait_for("open", 10_000.0, || state(&t) == "open").await;
    let errors: Vec<String> = removers_after_free(&t)
        .iter()
        .map(|e| e.as_string().unwrap_or_default())
        .collect();
    assert_eq!(errors, Vec::<String>::new(), "a remover threw after free()");
}

/// `free()` from the status listener a socket event runs: no throw, the
/// socket is closed, the listener hears nothing more and its remover is a
/// no-op.
#[wasm_bindgen_test]
async fn free_from_a_socket_event_listener() {
    start_server("hard-freecb-s", "").await;
    let ws = start_proxy("hard-freecb-p", "hard-freecb-s").await;
    let t = client(&ws, r#"{"autoConnect":false}"#);
    let probe = free_on_open(&t);
    call(&t, "connect");
    wait_for("open, then free()", 10_000.0, || {
        strings(&probe, "states").contains(&"open".to_owned())
    })
    .await;
    assert_eq!(get(&probe, "error"), JsValue::NULL, "free() threw");
    let mut open = f64::NAN;
    for _ in 0..500 {
        let stats = control("/proxy/stats?name=hard-freecb-p", "").await;
        open = get(&stats, "open").as_f64().expect("open");
        if open == 0.0 {
            break;
        }
        tick(10).await;
    }
    assert_eq!(open, 0.0, "free() closes the socket");
    let off: js_sys::Function = get(&probe, "off").into();
    off.call0(&JsValue::NULL)
        .unwrap_or_else(|e| panic!("the remover threw after free(): {e:?}"));
    assert_eq!(strings(&probe, "states"), ["connecting", "open"]);
}

/// API calls from listeners that socket events run: the first "open"
/// subscribes, unsubscribes, sends, removes a listener and reconnects; the
/// second requests and subscribes, and that subscription's `subscribed`
/// closes the client. Nothing throws, every call takes effect, and a later
/// listener hears the states in the order they happened.
#[wasm_bindgen_test]
async fn api_calls_from_socket_event_listeners() {
    let ws = start_server("hard-api-s", "").await;
    let t = client(&ws, r#"{"autoConnect":false}"#);
    let probe = api_on_open(&t);
    let statuses = Recorder::new();
    listen(&t, "onStatus", &statuses);
    call(&t, "connect");
    wait_for("closed by the onState listener", 10_000.0, || {
        state(&t) == "closed"
    })
    .await;
    wait_for("the request to settle", 5_000.0, || {
        get(&probe, "request").as_string().as_deref() != Some("pending")
    })
    .await;
    assert_eq!(strings(&probe, "errors"), Vec::<String>::new());
    assert_eq!(
        get(&probe, "getters").as_string().as_deref(),
        Some("open open")
    );
    assert_eq!(get(&probe, "sent"), JsValue::TRUE);
    assert_eq!(
        get(&probe, "request").as_string().as_deref(),
        Some("unknown_type"),
        "the request went out and the server's error reply came back"
    );
    assert_eq!(
        states(&statuses),
        ["connecting", "open", "connecting", "open", "closed"]
    );
    assert_eq!(number(&probe, "opens"), 2.0);
}

/// API calls from the listener the retry timer runs ("connecting" after
/// "reconnecting"): close(), reconnect(), subscribe, unsubscribe, a queued
/// send and request, a remover. Nothing throws; the new attempt opens, the
/// subscription is confirmed, the request is answered by the server.
#[wasm_bindgen_test]
async fn api_calls_from_a_timer_listener() {
    start_server("hard-timer-s", "").await;
    let ws = start_proxy("hard-timer-p", "hard-timer-s").await;
    let t = client(
        &ws,
        r#"{"backoff":{"initialMs":100,"maxMs":100,"jitter":"none"}}"#,
    );
    let probe = api_on_retry(&t);
    let statuses = Recorder::new();
    listen(&t, "onStatus", &statuses);
    wait_for("open", 10_000.0, || state(&t) == "open").await;
    proxy_cut("hard-timer-p").await;
    wait_for("the retry listener to run", 10_000.0, || {
        get(&probe, "ran").is_truthy()
    })
    .await;
    wait_for("open again", 10_000.0, || state(&t) == "open").await;
    let sub = get(&probe, "sub");
    wait_for("subscribed", 10_000.0, || {
        get(&sub, "state").as_string().as_deref() == Some("subscribed")
    })
    .await;
    wait_for("the request to settle", 5_000.0, || {
        get(&probe, "request").as_string().as_deref() != Some("pending")
    })
    .await;
    assert_eq!(strings(&probe, "errors"), Vec::<String>::new());
    assert_eq!(
        get(&probe, "getters").as_string().as_deref(),
        Some("connecting connecting")
    );
    assert_eq!(get(&probe, "sent"), JsValue::TRUE, "queued");
    assert_eq!(
        get(&probe, "request").as_string().as_deref(),
        Some("unknown_type"),
        "the queued request went out on the new link and was answered"
    );
    assert_eq!(
        states(&statuses),
        [
            "open",
            "reconnecting",
            "connecting",
            "closed",
            "connecting",
            "open"
        ]
    );
    call(&t, "close");
}

/// `maxAttempts: 2` against a server that accepts, establishes and closes
/// at once (faster than `stableAfterMs`): 3 connections, then `failed`, in
/// Tether and in raw mode.
#[wasm_bindgen_test]
async fn max_attempts_counts_links_that_die_at_once() {
    for mode in ["tether", "raw"] {
        let name = format!("hard-kick-{mode}");
        let ws = start_kick(&name).await;
        let before = kick_connections(&name).await;
        let options = format!(
            r#"{{"mode":"{mode}","backoff":{{"initialMs":50,"maxMs":100,"jitter":"none","maxAttempts":2}}}}"#
        );
        let t = client(&ws, &options);
        for _ in 0..500 {
            if state(&t) == "failed" {
                break;
            }
            tick(10).await;
        }
        let connections = kick_connections(&name).await - before;
        assert_eq!(
            (state(&t).as_str(), connections),
            ("failed", 3.0),
            "{mode}: maxAttempts 2 allows 3 connections, then failed"
        );
        holds_for("failed, with no new connection", 1_000.0, || {
            state(&t) == "failed"
        })
        .await;
        assert_eq!(kick_connections(&name).await - before, 3.0, "{mode}");
        let status = get(&t, "status");
        assert_eq!(status_number(&status, &["lastClose", "code"]), Some(1011.0));
        call(&t, "free");
    }
}
