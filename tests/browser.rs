//! Browser tests: the real SDK in headless Chromium against the real
//! `tether-server` binary, which the test drives through the control server
//! started by scripts/test.sh.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Connect, subscribe, receive; the server is SIGKILLed: the SDK reports
/// `reconnecting` with a growing attempt count; the server comes back on the
/// same port: the SDK is open again and the old subscription receives a new
/// publication without the app doing anything.
#[wasm_bindgen_test]
async fn recovers_from_a_server_restart_with_its_subscription() {
    let ws = start_server("restart", "").await;
    let options = json(r#"{"backoff":{"initialMs":100,"maxMs":400}}"#);
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    // A listener that throws must not break the client or later listeners.
    client.on_status(js_sys::Function::new_no_args(
        "throw new Error('listener boom')",
    ));
    let statuses = Recorder::new();
    client.on_status(statuses.function());
    let app_messages = Recorder::new();
    client.on_message(app_messages.function());
    let received = Recorder::new();
    let sub = client
        .subscribe("miners".into(), received.function(), None)
        .expect("subscribe");

    wait_for("open", 10_000.0, || client.state() == "open").await;
    assert!(get(&client.status(), "clientId")
        .as_string()
        .is_some_and(|id| !id.is_empty()));
    wait_for("subscribed", 10_000.0, || sub.state() == "subscribed").await;
    publish(
        "restart",
        r#"{"topic":"miners","event":"t","data":{"n":1}}"#,
    )
    .await;
    wait_for("first publication", 10_000.0, || received.len() == 1).await;

    kill_server("restart").await;
    wait_for("reconnecting", 10_000.0, || {
        client.state() == "reconnecting"
    })
    .await;
    wait_for("attempt 3", 15_000.0, || {
        statuses.numbers(&["attempt"]).iter().any(|a| *a >= 3.0)
    })
    .await;
    let attempts: Vec<f64> = statuses
        .numbers(&["attempt"])
        .into_iter()
        .filter(|a| *a > 0.0)
        .collect();
    assert!(
        attempts.windows(2).all(|w| w[1] >= w[0]),
        "attempt count must grow while the server is down: {attempts:?}"
    );
    assert_eq!(
        sub.state(),
        "pending",
        "a subscription waits while the link is down"
    );

    start_server("restart", "").await;
    wait_for("open again", 15_000.0, || client.state() == "open").await;
    wait_for("resubscribed", 10_000.0, || sub.state() == "subscribed").await;
    publish(
        "restart",
        r#"{"topic":"miners","event":"t","data":{"n":2}}"#,
    )
    .await;
    wait_for("second publication", 10_000.0, || received.len() == 2).await;
    assert_eq!(received.numbers(&["data", "n"]), vec![1.0, 2.0]);
    assert_eq!(received.strings("topic"), vec!["miners", "miners"]);
    assert_eq!(get(&client.status(), "attempt").as_f64(), Some(0.0));
    assert!(
        statuses.len() >= 4,
        "status listeners kept running after a throw"
    );
    let frames: Vec<String> = app_messages.strings("type");
    assert!(
        frames.is_empty(),
        "protocol frames reached onMessage: {frames:?}"
    );
    client.close(None, None).expect("close");
    assert_eq!(client.state(), "closed");
}

/// Bad options throw a TypeError that names the option.
#[wasm_bindgen_test]
fn bad_options_throw_type_errors_naming_the_option() {
    let cases = [
        (r#"{"backoff":{"initialMs":-1}}"#, "backoff.initialMs"),
        (r#"{"backoff":{"jitter":"sometimes"}}"#, "backoff.jitter"),
        (
            r#"{"backoff":{"initialMs":5000,"maxMs":100}}"#,
            "backoff.maxMs",
        ),
        (r#"{"connectTimeoutMs":"soon"}"#, "connectTimeoutMs"),
        (r#"{"heartBeat":{}}"#, "heartBeat"),
        (r#"{"queue":{"maxMessages":1.5}}"#, "queue.maxMessages"),
        (r#"{"mode":"binary"}"#, "mode"),
        (r#"{"mode":null}"#, "mode"),
        (r#"{"autoConnect":1}"#, "autoConnect"),
        (r#"{"stableAfterMs":-5}"#, "stableAfterMs"),
        (r#"{"protocols":[1]}"#, "protocols"),
        (r#"{"protocols":null}"#, "protocols"),
        (r#"{"tokenProvider":"abc"}"#, "tokenProvider"),
        (r#"{"backoff":{"factor":0.5}}"#, "backoff.factor"),
        (r#"{"backoff":{"maxAttempts":-1}}"#, "backoff.maxAttempts"),
        (r#"{"backoff":{"initial":1}}"#, "backoff.initial"),
        (r#"{"backoff":[]}"#, "backoff"),
        (r#"{"heartbeat":true}"#, "heartbeat"),
        (r#"{"heartbeat":{"intervalMs":0}}"#, "heartbeat.intervalMs"),
        (r#"{"heartbeat":{"timeoutMs":"1s"}}"#, "heartbeat.timeoutMs"),
        (r#"{"queue":{"maxBytes":-1}}"#, "queue.maxBytes"),
        (r#"{"raw":{"pingMessage":5}}"#, "raw.pingMessage"),
        (r#"{"raw":{"pongType":{}}}"#, "raw.pongType"),
        (r#"{"raw":{"pong":"x"}}"#, "raw.pong"),
        (r#"[]"#, "options"),
    ];
    for (options, name) in cases {
        let err = match Tether::new("ws://127.0.0.1:9/ws".into(), Some(json(options))) {
            Ok(_) => panic!("{options} was accepted"),
            Err(e) => e,
        };
        assert!(
            err.is_instance_of::<js_sys::TypeError>(),
            "{options}: not a TypeError"
        );
        let message = get(&err, "message").as_string().unwrap_or_default();
        assert!(
            message.contains(name),
            "{options}: message {message:?} does not name {name}"
        );
    }
    for url in [
        JsValue::from_str("http://example.invalid"),
        js_sys::Array::new().into(),
        js_sys::Array::of2(&"ws://a.invalid/ws".into(), &JsValue::from(5)).into(),
    ] {
        let bad_url = Tether::new(url, None);
        assert!(bad_url.is_err_and(|e| e.is_instance_of::<js_sys::TypeError>()));
    }
    // Every option at once, valid: accepted (and not connecting).
    let all = r#"{"autoConnect":false,"mode":"tether","protocols":"p1",
        "tokenProvider":null,"connectTimeoutMs":2500.4,"stableAfterMs":0,
        "backoff":{"initialMs":10,"maxMs":10,"factor":1,"jitter":"none","maxAttempts":null},
        "heartbeat":{"intervalMs":null,"timeoutMs":1000},
        "queue":{"maxMessages":0,"maxBytes":0},
        "raw":{"pingMessage":{"type":"ping"},"pongType":"pong"}}"#;
    let client = Tether::new("ws://127.0.0.1:9/ws".into(), Some(json(all))).expect("valid");
    assert_eq!(client.state(), "idle");
    let off = Tether::new(
        "wss://a.invalid/ws".into(),
        Some(json(r#"{"heartbeat":false,"autoConnect":false}"#)),
    );
    assert_eq!(off.expect("valid").state(), "idle");
}

/// `request()` resolves with the reply of its id and rejects with the
/// server's error code; after `close()` it rejects at once.
#[wasm_bindgen_test]
async fn requests_resolve_with_their_reply_and_reject_on_error() {
    let ws = start_server("requests", "").await;
    let client = Tether::new(JsValue::from_str(&ws), None).expect("client");
    // Sent before open: waits in the queue, gets its id on the wire.
    let early = client
        .request(json(r#"{"type":"get_topics"}"#), None)
        .expect("request");
    let reply = wasm_bindgen_futures::JsFuture::from(early)
        .await
        .expect("reply");
    assert_eq!(get(&reply, "type").as_string().as_deref(), Some("topics"));
    let topics = get(&reply, "topics");
    assert!(js_sys::Array::is_array(&topics), "topics list: {reply:?}");

    let forbidden = json(r#"{"type":"publish","topic":"miners","data":{}}"#);
    let denied = client.request(forbidden, None).expect("request");
    let err = wasm_bindgen_futures::JsFuture::from(denied)
        .await
        .expect_err("rejected");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("forbidden"));

    client.close(None, None).expect("close");
    let late = client
        .request(json(r#"{"type":"get_topics"}"#), None)
        .expect("request");
    let err = wasm_bindgen_futures::JsFuture::from(late)
        .await
        .expect_err("rejected when closed");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("closed"));
    assert!(
        client.request(JsValue::from_str("text"), None).is_err(),
        "not an object"
    );
}

/// The receive path keeps each topic's callbacks: every subscription on a
/// topic gets each publication once, in order; a callback that throws does
/// not stop the others; one that unsubscribes itself mid-delivery gets
/// nothing after, while the delivery in progress still reaches the rest;
/// after the last unsubscribe the topic starts over cleanly.
#[wasm_bindgen_test]
async fn each_subscription_gets_each_publication_once_through_unsubscribes() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;

    let ws = start_server("callbacks", "").await;
    let client = Tether::new(JsValue::from_str(&ws), None).expect("client");
    let (first, last) = (Recorder::new(), Recorder::new());
    let sub_first = client
        .subscribe("alerts".into(), first.function(), None)
        .expect("subscribe");
    let thrower = js_sys::Function::new_with_args("p", "throw new Error('callback boom')");
    let sub_thrower = client
        .subscribe("alerts".into(), thrower, None)
        .expect("subscribe");
    // Unsubscribes itself on its second publication; `last` follows it, so
    // a list changed under the delivery in progress would skip `last`.
    let quitter_seen = Recorder::new();
    let quitter: Rc<RefCell<Option<tether_ws::Subscription>>> = Rc::default();
    let (q, record) = (quitter.clone(), quitter_seen.function());
    let quit = Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| {
        let _ = record.call1(&JsValue::NULL, &p);
        if get(&get(&p, "data"), "n").as_f64() == Some(2.0) {
            if let Some(sub) = q.borrow_mut().take() {
                sub.unsubscribe();
            }
        }
    });
    let callback: &js_sys::Function = quit.as_ref().unchecked_ref();
    *quitter.borrow_mut() = Some(
        client
            .subscribe("alerts".into(), callback.clone(), None)
            .expect("subscribe"),
    );
    let sub_last = client
        .subscribe("alerts".into(), last.function(), None)
        .expect("subscribe");
    wait_for("subscribed", 10_000.0, || sub_last.state() == "subscribed").await;

    for n in 1..=5 {
        publish(
            "callbacks",
            &format!(r#"{{"topic":"alerts","data":{{"n":{n}}}}}"#),
        )
        .await;
    }
    wait_for("five publications", 10_000.0, || {
        first.len() == 5 && last.len() == 5
    })
    .await;
    let all = vec![1.0, 2.0, 3.0, 4.0, 5.0];
    assert_eq!(first.numbers(&["data", "n"]), all);
    assert_eq!(last.numbers(&["data", "n"]), all, "after a throw, in order");
    assert_eq!(quitter_seen.numbers(&["data", "n"]), vec![1.0, 2.0]);
    let offsets = first.numbers(&["offset"]);
    assert!(
        offsets.windows(2).all(|w| w[1] == w[0] + 1.0),
        "{offsets:?}"
    );

    // The last two go: the wire subscription ends; a new one starts over.
    sub_first.unsubscribe();
    sub_first.unsubscribe();
    sub_thrower.unsubscribe();
    sub_last.unsubscribe();
    assert_eq!(sub_last.state(), "unsubscribed");
    let again = Recorder::new();
    let sub_again = client
        .subscribe("alerts".into(), again.function(), None)
        .expect("subscribe");
    wait_for("subscribed again", 10_000.0, || {
        sub_again.state() == "subscribed"
    })
    .await;
    publish("callbacks", r#"{"topic":"alerts","data":{"n":6}}"#).await;
    wait_for("the sixth publication", 10_000.0, || again.len() == 1).await;
    assert_eq!(again.numbers(&["data", "n"]), vec![6.0]);
    assert_eq!((first.len(), last.len(), quitter_seen.len()), (5, 5, 2));
    client.close(None, None).expect("close");
}
