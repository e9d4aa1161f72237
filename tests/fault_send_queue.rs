//! The send queue across an outage: frames sent while the server is down
//! are queued and reach the new server in order, right after the
//! resubscribe. Observable end to end: they are client `publish` frames on a
//! topic that allows them, so the server numbers them and fans them out.
//! (Own file: the outage costs failed handshakes.)
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const N: usize = 5;

/// Subscribed to `chat`; the server is SIGKILLed; five `publish` frames are
/// sent while reconnecting (each `send` returns true, `status.queued` counts
/// them); the server comes back: the queue is flushed after the resubscribe,
/// so the server assigns offsets 1..5 to payloads 1..5, answers
/// `published` for ids 1001..1005 in order, and the queue is empty.
#[wasm_bindgen_test]
async fn queued_sends_are_flushed_in_order_after_a_reconnect() {
    let topics = write_file(
        "send-queue-topics.json",
        r#"[{"name":"chat","description":"client publish allowed","client_publish":true}]"#,
    )
    .await;
    let args = format!("--topics,{}", enc(&topics));
    let ws = start_server("queue-s", &args).await;
    let options = json(r#"{"backoff":{"initialMs":100,"maxMs":300}}"#);
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    let received = Recorder::new();
    let sub = client
        .subscribe("chat".into(), received.function(), None)
        .expect("subscribe");
    let replies = Recorder::new();
    client.on("published".into(), replies.function());
    wait_for("subscribed", 10_000.0, || sub.state() == "subscribed").await;

    kill_server("queue-s").await;
    wait_for("reconnecting", 10_000.0, || {
        client.state() == "reconnecting"
    })
    .await;
    for n in 1..=N {
        let frame = json(&format!(
            r#"{{"type":"publish","id":{},"topic":"chat","event":"line","data":{{"n":{n}}}}}"#,
            1000 + n
        ));
        assert!(client.send(frame).expect("send"), "message {n} was queued");
    }
    assert_eq!(
        status_number(&client.status(), &["queued"]),
        Some(N as f64),
        "{:?}",
        client.status()
    );

    start_server("queue-s", &args).await;
    wait_for("open again", 15_000.0, || client.state() == "open").await;
    wait_for("the queued publications", 10_000.0, || received.len() >= N).await;
    wait_for("the published replies", 10_000.0, || replies.len() >= N).await;

    let expected: Vec<f64> = (1..=N).map(|n| n as f64).collect();
    assert_eq!(received.numbers(&["data", "n"]), expected, "payload order");
    assert_eq!(received.numbers(&["offset"]), expected, "server order");
    let ids: Vec<f64> = (1..=N).map(|n| (1000 + n) as f64).collect();
    assert_eq!(replies.numbers(&["id"]), ids, "replies in send order");
    assert_eq!(status_number(&client.status(), &["queued"]), Some(0.0));
    client.close(None, None).expect("close");
}
