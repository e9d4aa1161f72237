//! The browser's `offline` / `online` events (dispatched on `window` by the
//! test): while offline the client burns no attempts; `online` connects at
//! once. The proxy counts TCP connections, i.e. attempts on the wire.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// While retrying against a dead server: `offline` cancels the retry timer
/// (state `offline`, attempt 0, no nextRetryAt) and no connection is tried
/// for as long as it lasts, though the backoff would retry every 200 ms;
/// `online` connects at once and opens.
#[wasm_bindgen_test]
async fn offline_while_reconnecting_burns_no_attempts_and_online_reconnects() {
    start_server("offline-a-s", "").await;
    let ws = start_proxy("offline-a-p", "offline-a-s").await;
    let options = json(r#"{"backoff":{"initialMs":200,"maxMs":200,"jitter":"none"}}"#);
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    wait_for("open", 10_000.0, || client.state() == "open").await;

    kill_server("offline-a-s").await;
    wait_for("reconnecting", 10_000.0, || {
        client.state() == "reconnecting"
    })
    .await;
    dispatch_window_event("offline");
    assert_eq!(client.state(), "offline", "offline applies at once");
    let status = client.status();
    assert_eq!(
        status_number(&status, &["attempt"]),
        Some(0.0),
        "{status:?}"
    );
    assert_eq!(get(&status, "nextRetryAt"), JsValue::NULL, "{status:?}");
    let accepted = proxy_accepted("offline-a-p").await;
    // Five backoff periods: a client ignoring `offline` would try 5 times.
    holds_for("offline, with no attempt", 1_000.0, || {
        client.state() == "offline"
    })
    .await;
    assert_eq!(
        proxy_accepted("offline-a-p").await,
        accepted,
        "no connection attempt while offline"
    );

    start_server("offline-a-s", "").await;
    let online_at = js_sys::Date::now();
    dispatch_window_event("online");
    assert_eq!(client.state(), "connecting", "online connects at once");
    wait_for("open after online", 10_000.0, || client.state() == "open").await;
    let took = js_sys::Date::now() - online_at;
    assert!(took < 2_000.0, "online reconnects at once; took {took} ms");
    assert_eq!(
        proxy_accepted("offline-a-p").await,
        accepted + 1.0,
        "one attempt after online, and it opened"
    );
    client.close(None, None).expect("close");
}

/// Open over a link that has silently died (proxy blackhole): `offline`
/// pings at once, the ping goes unanswered within `timeoutMs`, and the
/// client goes `offline` instead of retrying; `online` (network back) opens
/// again. A live link stays open through an `offline` event whose ping is
/// answered.
#[wasm_bindgen_test]
async fn offline_while_open_probes_the_link() {
    start_server("offline-b-s", "").await;
    let ws = start_proxy("offline-b-p", "offline-b-s").await;
    // The periodic ping is far away: only the `offline` probe can fire.
    let options = json(
        r#"{"heartbeat":{"intervalMs":60000,"timeoutMs":500},
            "backoff":{"initialMs":100,"maxMs":100}}"#,
    );
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    wait_for("open", 10_000.0, || client.state() == "open").await;
    assert_eq!(get(&client.status(), "rttMs"), JsValue::NULL);

    // A live link: the probe is answered, the link stays.
    dispatch_window_event("offline");
    wait_for("the probe's pong", 5_000.0, || {
        status_number(&client.status(), &["rttMs"]).is_some()
    })
    .await;
    holds_for("open over a live link", 1_000.0, || {
        client.state() == "open"
    })
    .await;
    dispatch_window_event("online");

    // A dead link: the probe goes unanswered.
    proxy_mode("offline-b-p", "blackhole").await;
    let accepted = proxy_accepted("offline-b-p").await;
    dispatch_window_event("offline");
    wait_for("offline after the unanswered probe", 5_000.0, || {
        client.state() != "open"
    })
    .await;
    assert_eq!(client.state(), "offline", "{:?}", client.status());
    assert_eq!(status_number(&client.status(), &["attempt"]), Some(0.0));
    holds_for("offline, with no attempt", 1_000.0, || {
        client.state() == "offline"
    })
    .await;
    assert_eq!(proxy_accepted("offline-b-p").await, accepted);

    proxy_mode("offline-b-p", "pass").await;
    dispatch_window_event("online");
    wait_for("open after online", 10_000.0, || client.state() == "open").await;
    assert_eq!(status_number(&client.status(), &["attempt"]), Some(0.0));
    client.close(None, None).expect("close");
}
