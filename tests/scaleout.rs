//! Scale-out in the browser: three real servers sharing one real Redis.
//! A client on A, whose instance is SIGKILLed while publications keep
//! flowing through C, fails over to B and sees every publication exactly
//! once and in order.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn client_fails_over_to_another_instance_and_misses_nothing() {
    let redis = start_redis("scale").await;
    let args = format!("--broker,{}", enc(&redis));
    let a = start_server("scale-a", &args).await;
    let b = start_server("scale-b", &args).await;
    start_server("scale-c", &args).await;

    let urls = js_sys::Array::of2(&JsValue::from_str(&a), &JsValue::from_str(&b));
    let options = json(r#"{"backoff":{"initialMs":100,"maxMs":400}}"#);
    let client = Tether::new(urls.into(), Some(options)).expect("client");
    let received = Recorder::new();
    let sub = client
        .subscribe("alerts".into(), received.function(), None)
        .expect("subscribe");
    wait_for("subscribed on A", 15_000.0, || sub.state() == "subscribed").await;

    let total: u32 = 30;
    for n in 1..=total {
        if n == 11 {
            kill_server("scale-a").await;
        }
        let body = format!(r#"{{"topic":"alerts","event":"t","data":{{"n":{n}}}}}"#);
        publish("scale-c", &body).await;
        tick(30).await;
    }
    wait_for("every publication", 20_000.0, || {
        received.len() >= total as usize
    })
    .await;
    holds_for("no duplicate arrives", 500.0, || {
        received.len() == total as usize
    })
    .await;
    let expected: Vec<f64> = (1..=total).map(f64::from).collect();
    assert_eq!(
        received.numbers(&["data", "n"]),
        expected,
        "each once, in order"
    );
    let offsets = received.numbers(&["offset"]);
    assert!(
        offsets.windows(2).all(|w| w[1] == w[0] + 1.0),
        "global offsets without gap: {offsets:?}"
    );
    assert_eq!(client.state(), "open", "connected to B");
    client.close(None, None).expect("close");
    kill_server("scale-b").await;
    kill_server("scale-c").await;
    kill_redis("scale").await;
}
