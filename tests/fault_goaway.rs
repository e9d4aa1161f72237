//! A planned server restart: on SIGTERM the server sends `goaway` with
//! `retry_after_ms` and `spread_ms`, then closes with 1012. The client must
//! wait the server's delay instead of its own (much shorter) backoff.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const RETRY_AFTER_MS: f64 = 1500.0;
const SPREAD_MS: f64 = 500.0;
/// Timer slack allowed past retry_after + spread.
const SLACK_MS: f64 = 500.0;

/// The server is stopped gracefully and restarted at once on the same port.
/// The client's own backoff would retry after at most 100 ms; it reconnects
/// no sooner than `retry_after_ms` after the stop request (the goaway
/// cannot arrive before it) and no later than retry_after + spread after
/// its link closed; the wait is not a failed attempt.
#[wasm_bindgen_test]
async fn goaway_delay_and_spread_are_honoured() {
    let args =
        format!("--shutdown-retry-after-ms,{RETRY_AFTER_MS},--shutdown-spread-ms,{SPREAD_MS}");
    let ws = start_server("goaway-s", &args).await;
    let options = json(r#"{"backoff":{"initialMs":100,"maxMs":100}}"#);
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    wait_for("open", 10_000.0, || client.state() == "open").await;
    let statuses = Recorder::new();
    client.on_status(statuses.function());

    let stop_requested_at = js_sys::Date::now();
    let stopped = stop_server("goaway-s").await;
    assert_eq!(
        get(&stopped, "exit").as_f64(),
        Some(0.0),
        "SIGTERM is a clean exit"
    );
    start_server("goaway-s", &args).await;
    wait_for("open after the restart", 15_000.0, || {
        client.state() == "open"
    })
    .await;

    let line = timeline(&statuses);
    let down = line
        .iter()
        .find(|s| s.state == "reconnecting")
        .unwrap_or_else(|| panic!("the client never waited: {line:?}"));
    let retry = line
        .iter()
        .find(|s| s.state == "connecting")
        .unwrap_or_else(|| panic!("no reconnect attempt: {line:?}"));
    let status = client.status();
    let last_close = get(&status, "lastClose");
    let down_status = statuses
        .seen
        .borrow()
        .iter()
        .find(|s| get(s, "state").as_string().as_deref() == Some("reconnecting"))
        .cloned()
        .expect("reconnecting status");
    assert_eq!(
        get(&get(&down_status, "lastClose"), "code").as_f64(),
        Some(1012.0),
        "a graceful shutdown closes with 1012: {down_status:?} (now {last_close:?})"
    );
    let after_stop = retry.since - stop_requested_at;
    assert!(
        after_stop >= RETRY_AFTER_MS,
        "reconnected {after_stop} ms after the stop request; the goaway asked for at least {RETRY_AFTER_MS} ms: {line:?}"
    );
    let waited = retry.since - down.since;
    assert!(
        waited <= RETRY_AFTER_MS + SPREAD_MS + SLACK_MS,
        "waited {waited} ms after the close; goaway allows {RETRY_AFTER_MS} + {SPREAD_MS}: {line:?}"
    );
    let next_retry = down.next_retry_at.expect("nextRetryAt while waiting");
    assert!(
        next_retry - down.since <= RETRY_AFTER_MS + SPREAD_MS,
        "nextRetryAt {next_retry} is past goaway's window from {}",
        down.since
    );
    assert_eq!(
        down.attempt, 1.0,
        "a goaway is not a failed attempt: the wait is retry 1: {line:?}"
    );
    assert_eq!(status_number(&status, &["attempt"]), Some(0.0));
    client.close(None, None).expect("close");
}
