//! The page's wall clock moves (`Date.now()` an hour back or forward, as a
//! user or NTP changing the system time does): the client's deadlines do
//! not. The retry, the connect timeout and the heartbeat run on time, and
//! the status's epoch fields (`nextRetryAt`, `since`) agree with the moved
//! `Date.now()`. Every wait here is measured with `performance.now()`.
//! (Own file: it replaces `Date.now` for the whole page.)
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const realNow = Date.now;
let offset = 0;
export function move_date_now(ms) {
  offset += ms;
  Date.now = () => realNow.call(Date) + offset;
}
export function restore_date_now() {
  offset = 0;
  Date.now = realNow;
}
export function mono_now() {
  return performance.now();
}
// A status listener that moves Date.now by `ms` when it first sees `state`
// (so the move lands while the client waits in that state); `probe.at`:
// when, on performance.now().
export function date_mover(state, ms) {
  const probe = { at: null };
  probe.listener = (s) => {
    if (s.state === state && probe.at === null) {
      move_date_now(ms);
      probe.at = performance.now();
    }
  };
  return probe;
}
"#)]
extern "C" {
    fn move_date_now(ms: f64);
    fn restore_date_now();
    fn mono_now() -> f64;
    fn date_mover(state: &str, ms: f64) -> JsValue;
}

const HOUR: f64 = 3_600_000.0;
/// Timer and event-loop slack on top of a deadline.
const SLACK_MS: f64 = 1_000.0;

/// [`wait_for`] on `performance.now()`; returns the ms it took.
async fn wait_mono(what: &str, timeout_ms: f64, mut cond: impl FnMut() -> bool) -> f64 {
    let start = mono_now();
    while !cond() {
        let waited = mono_now() - start;
        assert!(
            waited < timeout_ms,
            "timed out after {waited} ms waiting for {what}"
        );
        tick(10).await;
    }
    mono_now() - start
}

fn direction(shift: f64) -> &'static str {
    if shift < 0.0 {
        "back"
    } else {
        "forward"
    }
}

/// Reconnecting with a 1000 ms step; `Date.now()` moves by an hour at that
/// moment: the retry still comes after 1000 ms, and `nextRetryAt` and
/// `since`, read now, agree with the moved `Date.now()`.
#[wasm_bindgen_test]
async fn retry_and_status_times_follow_a_moved_clock() {
    for shift in [-HOUR, HOUR] {
        restore_date_now();
        let dir = direction(shift);
        start_server(&format!("clock-retry-{dir}-s"), "").await;
        let proxy = format!("clock-retry-{dir}-p");
        let ws = start_proxy(&proxy, &format!("clock-retry-{dir}-s")).await;
        let options = json(r#"{"backoff":{"initialMs":1000,"maxMs":1000,"jitter":"none"}}"#);
        let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
        wait_mono(&format!("{dir}: open"), 10_000.0, || {
            client.state() == "open"
        })
        .await;
        let moved = date_mover("reconnecting", shift);
        client.on_status(get(&moved, "listener").into());
        proxy_cut(&proxy).await;
        wait_mono(&format!("{dir}: reconnecting"), 10_000.0, || {
            get(&moved, "at").is_truthy()
        })
        .await;
        let status = client.status();
        let now = js_sys::Date::now();
        let retry_in = status_number(&status, &["nextRetryAt"]).unwrap_or(f64::NAN) - now;
        let age = now - status_number(&status, &["since"]).unwrap_or(f64::NAN);
        let moved_at = get(&moved, "at").as_f64().expect("at");
        wait_mono(&format!("{dir}: the retry"), 1_000.0 + SLACK_MS, || {
            client.state() != "reconnecting"
        })
        .await;
        let retried_after = mono_now() - moved_at;
        assert!(
            retried_after >= 900.0,
            "{dir}: retried after {retried_after} ms, before the 1000 ms step"
        );
        assert!(
            (0.0..=1_000.0).contains(&retry_in),
            "{dir}: nextRetryAt - Date.now() = {retry_in} ms, not within the 1000 ms step"
        );
        assert!(
            (0.0..=SLACK_MS).contains(&age),
            "{dir}: Date.now() - since = {age} ms"
        );
        wait_mono(&format!("{dir}: open again"), 10_000.0, || {
            client.state() == "open"
        })
        .await;
        client.close(None, None).expect("close");
    }
    restore_date_now();
}

/// A stalled handshake with `connectTimeoutMs: 1500`; `Date.now()` moves
/// by an hour as the attempt starts: the attempt still ends at 1500 ms with
/// `connect timeout`.
#[wasm_bindgen_test]
async fn connect_timeout_fires_on_time_after_the_clock_moved() {
    for shift in [-HOUR, HOUR] {
        restore_date_now();
        let dir = direction(shift);
        let proxy = format!("clock-stall-{dir}-p");
        start_server(&format!("clock-stall-{dir}-s"), "").await;
        let ws = start_proxy(&proxy, &format!("clock-stall-{dir}-s")).await;
        proxy_mode(&proxy, "stall_new").await;
        // A long backoff: no second stalled handshake before close().
        let options =
            json(r#"{"autoConnect":false,"connectTimeoutMs":1500,"backoff":{"initialMs":30000}}"#);
        let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
        let moved = date_mover("connecting", shift);
        client.on_status(get(&moved, "listener").into());
        client.connect();
        assert!(get(&moved, "at").is_truthy(), "moved on connecting");
        let took = wait_mono(
            &format!("{dir}: the connect timeout"),
            1_500.0 + SLACK_MS,
            || client.state() != "connecting",
        )
        .await;
        assert!(took >= 1_400.0, "{dir}: the attempt ended after {took} ms");
        assert_eq!(
            get(&client.status(), "lastError").as_string().as_deref(),
            Some("connect timeout"),
            "{dir}"
        );
        client.close(None, None).expect("close");
    }
    restore_date_now();
}

/// Open with a 500 ms heartbeat (500 ms timeout); `Date.now()` moves by an
/// hour, then the link goes half-open: the heartbeat still finds it dead
/// within interval + timeout.
#[wasm_bindgen_test]
async fn heartbeat_keeps_running_after_the_clock_moved() {
    for shift in [-HOUR, HOUR] {
        restore_date_now();
        let dir = direction(shift);
        let proxy = format!("clock-hb-{dir}-p");
        start_server(&format!("clock-hb-{dir}-s"), "").await;
        let ws = start_proxy(&proxy, &format!("clock-hb-{dir}-s")).await;
        let options = json(
            r#"{"heartbeat":{"intervalMs":500,"timeoutMs":500},"backoff":{"initialMs":30000}}"#,
        );
        let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
        wait_mono(&format!("{dir}: open"), 10_000.0, || {
            client.state() == "open"
        })
        .await;
        wait_mono(&format!("{dir}: a heartbeat round trip"), 5_000.0, || {
            status_number(&client.status(), &["rttMs"]).is_some()
        })
        .await;
        move_date_now(shift);
        proxy_mode(&proxy, "blackhole").await;
        let took = wait_mono(
            &format!("{dir}: the dead link to be noticed"),
            1_000.0 + SLACK_MS,
            || client.state() != "open",
        )
        .await;
        assert_eq!(
            get(&client.status(), "lastError").as_string().as_deref(),
            Some("heartbeat timeout"),
            "{dir}: noticed after {took} ms"
        );
        client.close(None, None).expect("close");
    }
    restore_date_now();
}
