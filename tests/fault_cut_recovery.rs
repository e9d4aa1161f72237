//! Fault: the link is reset abruptly (TCP RST, no close frame) and stays
//! unreachable while publications go on; then the network comes back. The
//! subscription must be re-sent exactly once and recover what it missed,
//! in order, with no duplicate.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const MISSED: usize = 4;

async fn publish_n(server: &str, from: usize, to: usize) {
    for n in from..=to {
        let body = format!(r#"{{"topic":"miners","event":"tick","data":{{"n":{n}}}}}"#);
        let answer = publish(server, &body).await;
        assert_eq!(
            get(&answer, "offset").as_f64(),
            Some(n as f64),
            "the server numbers publication {n}: {answer:?}"
        );
    }
}

/// Open + subscribed, two publications; the proxy resets the connection
/// and stalls new ones while four more are published; then it passes. The
/// client reconnects, resubscribes once (one `subscribed` onState event, and
/// the server sees exactly one frame besides our `get_status` on the new
/// connection), the subscription reports `{recovered: true, missed: 4}`, and
/// the callback has seen offsets 1..6 exactly once each, in order.
#[wasm_bindgen_test]
async fn abrupt_cut_then_resubscribe_once_and_replay_in_order() {
    start_server("cut-s", "").await;
    let ws = start_proxy("cut-p", "cut-s").await;
    // No heartbeat: the server's frame count on the new connection is then
    // exactly what the SDK chose to send.
    let options = json(
        r#"{"heartbeat":false,"connectTimeoutMs":1000,
            "backoff":{"initialMs":100,"maxMs":300}}"#,
    );
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    let received = Recorder::new();
    let sub = client
        .subscribe("miners".into(), received.function(), None)
        .expect("subscribe");
    let sub_events = Recorder::new();
    sub.on_state(sub_events.function());
    wait_for("subscribed", 10_000.0, || sub.state() == "subscribed").await;
    publish_n("cut-s", 1, 2).await;
    wait_for("the first two publications", 10_000.0, || {
        received.len() == 2
    })
    .await;

    proxy_mode("cut-p", "stall_new").await;
    proxy_cut("cut-p").await;
    wait_for("the cut to be noticed", 10_000.0, || {
        client.state() != "open"
    })
    .await;
    assert_eq!(
        sub.state(),
        "pending",
        "a cut link puts the subscription back to pending"
    );
    let events_before = sub_events.len();
    publish_n("cut-s", 3, 2 + MISSED).await;

    proxy_mode("cut-p", "pass").await;
    wait_for("open again", 15_000.0, || client.state() == "open").await;
    wait_for("resubscribed", 10_000.0, || sub.state() == "subscribed").await;
    wait_for("the replay", 10_000.0, || received.len() >= 2 + MISSED).await;
    // Nothing more may trickle in: no duplicate replay, no second subscribe.
    holds_for("no duplicate publication", 1_000.0, || {
        received.len() == 2 + MISSED
    })
    .await;

    let offsets = received.numbers(&["offset"]);
    let expected: Vec<f64> = (1..=2 + MISSED).map(|n| n as f64).collect();
    assert_eq!(offsets, expected, "offsets seen by the callback");
    assert_eq!(received.numbers(&["data", "n"]), expected, "payloads seen");
    let epochs = received.strings("epoch");
    assert!(
        epochs.iter().all(|e| *e == epochs[0]),
        "one epoch: {epochs:?}"
    );

    let after_cut: Vec<JsValue> = sub_events.seen.borrow()[events_before..].to_vec();
    let subscribed: Vec<&JsValue> = after_cut
        .iter()
        .filter(|e| get(e, "state").as_string().as_deref() == Some("subscribed"))
        .collect();
    assert_eq!(
        subscribed.len(),
        1,
        "exactly one resubscribe after the reconnect: {after_cut:?}"
    );
    assert_eq!(get(subscribed[0], "recovered").as_bool(), Some(true));
    assert_eq!(get(subscribed[0], "missed").as_f64(), Some(MISSED as f64));

    // The server's view of the new connection.
    let reply = client
        .request(json(r#"{"type":"get_status"}"#), None)
        .expect("request");
    let status = JsFuture::from(reply).await.expect("status reply");
    let subs = js_sys::Array::from(&get(&status, "subscriptions"));
    assert_eq!(subs.length(), 1, "server-side subscriptions: {status:?}");
    assert_eq!(subs.get(0).as_string().as_deref(), Some("miners"));
    assert_eq!(
        get(&status, "messages_in").as_f64(),
        Some(2.0),
        "the new connection carried one subscribe plus this get_status: {status:?}"
    );
    client.close(None, None).expect("close");
}
