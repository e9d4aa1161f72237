//! Fault: a handshake that never completes. The proxy accepts every new TCP
//! connection and never answers it, so the socket neither opens nor fails:
//! only the client's connect timeout ends the attempt. (Own file: its failed
//! attempts count towards Chromium's WebSocket throttling of the page.)
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const CONNECT_TIMEOUT_MS: f64 = 500.0;

/// Each stalled attempt is aborted at `connectTimeoutMs` (status
/// `lastError: "connect timeout"`, attempt counter growing, each retry a new
/// TCP connection); once the proxy passes, the next attempt opens and the
/// counter resets.
#[wasm_bindgen_test]
async fn stalled_handshake_is_aborted_at_the_connect_timeout_and_retried() {
    start_server("stall-s", "").await;
    let ws = start_proxy("stall-p", "stall-s").await;
    proxy_mode("stall-p", "stall_new").await;
    let accepted_before = proxy_accepted("stall-p").await;
    let options = json(&format!(
        r#"{{"autoConnect":false,"connectTimeoutMs":{CONNECT_TIMEOUT_MS},
            "backoff":{{"initialMs":100,"maxMs":200,"jitter":"none"}}}}"#
    ));
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    let statuses = Recorder::new();
    client.on_status(statuses.function());
    client.connect();

    wait_for("retry 2 under way", 10_000.0, || {
        statuses.numbers(&["attempt"]).iter().any(|a| *a >= 2.0)
    })
    .await;
    let line = timeline(&statuses);
    let first_connecting = line
        .iter()
        .find(|s| s.state == "connecting")
        .unwrap_or_else(|| panic!("no connecting status: {line:?}"));
    let first_reconnecting = line
        .iter()
        .find(|s| s.state == "reconnecting")
        .unwrap_or_else(|| panic!("no reconnecting status: {line:?}"));
    let aborted_after = first_reconnecting.since - first_connecting.since;
    assert!(
        (CONNECT_TIMEOUT_MS - 20.0..=CONNECT_TIMEOUT_MS + 700.0).contains(&aborted_after),
        "the stalled attempt must end at the connect timeout ({CONNECT_TIMEOUT_MS} ms); it ended after {aborted_after} ms: {line:?}"
    );
    assert_eq!(
        first_reconnecting.last_error.as_deref(),
        Some("connect timeout"),
        "lastError names the cause: {line:?}"
    );
    let attempts: Vec<f64> = line.iter().map(|s| s.attempt).collect();
    assert!(
        attempts.windows(2).all(|w| w[1] >= w[0]),
        "the attempt counter only grows while every attempt stalls: {attempts:?}"
    );
    let accepted = proxy_accepted("stall-p").await - accepted_before;
    assert!(
        accepted >= 2.0,
        "every attempt is a new TCP connection: the proxy saw {accepted}"
    );

    proxy_mode("stall-p", "pass").await;
    wait_for("open once the proxy passes", 10_000.0, || {
        client.state() == "open"
    })
    .await;
    assert_eq!(status_number(&client.status(), &["attempt"]), Some(0.0));
    client.close(None, None).expect("close");
    assert_eq!(client.state(), "closed");
}
