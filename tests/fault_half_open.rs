//! Fault: a half-open link. The proxy stops forwarding in both directions
//! while both TCP connections stay open, so no close event ever comes: only
//! the client's heartbeat can tell the link is dead.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const INTERVAL_MS: f64 = 500.0;
const TIMEOUT_MS: f64 = 500.0;
/// Timer and event-loop slack allowed on top of interval + timeout.
const SLACK_MS: f64 = 500.0;

/// Open through the proxy, then blackhole it: the client declares the link
/// dead (`heartbeat timeout`) within heartbeat interval + timeout of the
/// blackhole, without any close from the network; once the proxy passes
/// again it reconnects over a new TCP connection and its pings are answered.
#[wasm_bindgen_test]
async fn half_open_link_is_detected_by_the_heartbeat_then_reconnects() {
    start_server("halfopen-s", "").await;
    let ws = start_proxy("halfopen-p", "halfopen-s").await;
    let options = json(&format!(
        r#"{{"heartbeat":{{"intervalMs":{INTERVAL_MS},"timeoutMs":{TIMEOUT_MS}}},
            "connectTimeoutMs":3000,"backoff":{{"initialMs":100,"maxMs":300}}}}"#
    ));
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    let statuses = Recorder::new();
    client.on_status(statuses.function());
    wait_for("open", 10_000.0, || client.state() == "open").await;
    wait_for("a first heartbeat round trip", 5_000.0, || {
        status_number(&client.status(), &["rttMs"]).is_some()
    })
    .await;
    let accepted_before = proxy_accepted("halfopen-p").await;

    proxy_mode("halfopen-p", "blackhole").await;
    let blackholed_at = js_sys::Date::now();
    let seen_before = statuses.len();
    // The retry may start within milliseconds: judge the recorded statuses,
    // not a poll of the current state.
    wait_for("the dead link to be noticed", 10_000.0, || {
        statuses.seen.borrow()[seen_before..]
            .iter()
            .any(|s| get(s, "state").as_string().as_deref() != Some("open"))
    })
    .await;
    let status = statuses.seen.borrow()[seen_before..]
        .iter()
        .find(|s| get(s, "state").as_string().as_deref() != Some("open"))
        .cloned()
        .expect("a status after open");
    let noticed_at = get(&status, "since").as_f64().expect("since");
    assert_eq!(
        get(&status, "state").as_string().as_deref(),
        Some("reconnecting"),
        "a dead link leads to reconnecting: {status:?}"
    );
    assert_eq!(
        get(&status, "lastError").as_string().as_deref(),
        Some("heartbeat timeout"),
        "the heartbeat, not the network, found the dead link: {status:?}"
    );
    let took = noticed_at - blackholed_at;
    assert!(
        took <= INTERVAL_MS + TIMEOUT_MS + SLACK_MS,
        "a half-open link must be noticed within interval + timeout ({} ms, + {SLACK_MS} ms \
         slack); took {took} ms",
        INTERVAL_MS + TIMEOUT_MS
    );
    assert_eq!(
        status_number(&status, &["lastClose", "code"]),
        Some(4000.0),
        "the client closes a dead link itself with 4000: {status:?}"
    );

    proxy_mode("halfopen-p", "pass").await;
    wait_for("open again through the proxy", 15_000.0, || {
        client.state() == "open"
    })
    .await;
    let accepted_after = proxy_accepted("halfopen-p").await;
    assert!(
        accepted_after > accepted_before,
        "the reconnect must use a new TCP connection ({accepted_before} -> {accepted_after})"
    );
    // The new link's heartbeat is answered: it stays open over several
    // interval + timeout periods.
    holds_for(
        "the new link staying open",
        3.0 * (INTERVAL_MS + TIMEOUT_MS),
        || client.state() == "open",
    )
    .await;
    assert_eq!(status_number(&client.status(), &["attempt"]), Some(0.0));
    client.close(None, None).expect("close");
}
