//! Raw mode against a plain JSON WebSocket echo server (no Tether frames):
//! open on the socket's `open`, application messages both ways, heartbeat
//! with `raw.pingMessage` / `raw.pongType`, no topic protocol.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn echo_count(name: &str, key: &str) -> f64 {
    get(&echo_stats(name).await, key).as_f64().expect("count")
}

/// Open as soon as the socket opens (no `connection_established` exists
/// here, so no clientId); objects and strings go out and come back to
/// `onMessage` and `on(type)`; the default heartbeat pings `{"type":"ping"}`,
/// the server's `{"type":"pong"}` proves liveness (rttMs) and is never
/// delivered; `subscribe()` throws.
#[wasm_bindgen_test]
async fn raw_mode_echo_heartbeat_and_no_subscribe() {
    let ws = start_echo("raw-echo").await;
    let options = json(r#"{"mode":"raw","heartbeat":{"intervalMs":200,"timeoutMs":1000}}"#);
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    let messages = Recorder::new();
    client.on_message(messages.function());
    let hellos = Recorder::new();
    client.on("hello".into(), hellos.function());
    wait_for("open", 10_000.0, || client.state() == "open").await;
    assert_eq!(get(&client.status(), "clientId"), JsValue::NULL);

    let err = match client.subscribe("miners".into(), messages.function(), None) {
        Ok(_) => panic!("subscribe() must throw in raw mode"),
        Err(e) => e,
    };
    let text = get(&err, "message").as_string().unwrap_or_default();
    assert!(text.contains("raw"), "the error explains why: {text:?}");

    assert!(client
        .send(json(r#"{"type":"hello","n":1}"#))
        .expect("send"));
    assert!(client.send("not json".into()).expect("send"));
    wait_for("both echoes", 5_000.0, || messages.len() >= 2).await;
    assert_eq!(hellos.len(), 1, "on(type) gets the echoed object");
    assert_eq!(get(&hellos.seen.borrow()[0], "n").as_f64(), Some(1.0));
    let plain = messages.seen.borrow()[1].clone();
    assert_eq!(
        plain.as_string().as_deref(),
        Some("not json"),
        "text that is not JSON arrives as the string"
    );

    let pings_before = echo_count("raw-echo", "pings").await;
    wait_for("heartbeat round trips", 5_000.0, || {
        status_number(&client.status(), &["rttMs"]).is_some()
    })
    .await;
    // Five intervals: the link stays open on pongs alone.
    holds_for("open on the heartbeat", 1_000.0, || {
        client.state() == "open"
    })
    .await;
    let pings = echo_count("raw-echo", "pings").await - pings_before;
    assert!(pings >= 3.0, "a ping every 200 ms; the server saw {pings}");
    let types = messages.strings("type");
    assert!(
        !types.iter().any(|t| t == "pong"),
        "pongs are not application messages: {types:?}"
    );
    assert_eq!(messages.len(), 2);
    client.close(None, None).expect("close");
}

/// Custom `pingMessage` and `pongType`: the echo server returns the ping
/// itself, which is then the pong; it is sent verbatim, proves liveness and
/// is not delivered. Behind a blackholed proxy the same heartbeat finds the
/// dead link, and the client reconnects once the proxy passes.
#[wasm_bindgen_test]
async fn raw_mode_custom_ping_and_dead_link() {
    start_echo("raw-echo-2").await;
    let ws = start_proxy("raw-p", "raw-echo-2").await;
    let options = json(
        r#"{"mode":"raw","heartbeat":{"intervalMs":200,"timeoutMs":400},
            "raw":{"pingMessage":{"type":"beat","v":7},"pongType":"beat"},
            "backoff":{"initialMs":100,"maxMs":100},"connectTimeoutMs":2000}"#,
    );
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    let messages = Recorder::new();
    client.on_message(messages.function());
    wait_for("open", 10_000.0, || client.state() == "open").await;
    let texts_before = echo_count("raw-echo-2", "texts").await;
    holds_for("open on custom beats", 1_000.0, || client.state() == "open").await;
    assert!(status_number(&client.status(), &["rttMs"]).is_some());
    let beats = echo_count("raw-echo-2", "texts").await - texts_before;
    assert!(beats >= 3.0, "beats reach the server: {beats}");
    assert_eq!(
        echo_count("raw-echo-2", "pings").await,
        0.0,
        "the default ping is not sent when pingMessage is set"
    );
    assert_eq!(
        messages.len(),
        0,
        "beats are not delivered: {:?}",
        messages.seen.borrow()
    );

    proxy_mode("raw-p", "blackhole").await;
    wait_for("the dead link to be noticed", 5_000.0, || {
        client.state() != "open"
    })
    .await;
    assert_eq!(
        get(&client.status(), "lastError").as_string().as_deref(),
        Some("heartbeat timeout")
    );
    proxy_mode("raw-p", "pass").await;
    wait_for("open again", 15_000.0, || client.state() == "open").await;
    client.close(None, None).expect("close");
}
