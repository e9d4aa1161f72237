//! Token auth against a server started with `--token-secret`: an invalid
//! token is terminal (4503 -> `failed`), an expired one makes the client ask
//! its `tokenProvider` again (4401 -> new token -> open). Tokens are HS256
//! JWTs minted here, in the page.
#![cfg(target_arch = "wasm32")]

mod support;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::cell::RefCell;
use std::rc::Rc;
use support::*;
use tether_ws::Tether;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const SECRET: &str = "browser-test-secret";

/// base64url without padding (RFC 7515).
fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// An HS256 JWT with `sub` and `exp` (seconds from now; negative: expired).
fn jwt(secret: &str, exp_in_s: i64) -> String {
    let now_s = (js_sys::Date::now() / 1000.0) as i64;
    jwt_with_exp(secret, now_s + exp_in_s)
}

/// An HS256 JWT with `sub` and an absolute `exp` (Unix seconds).
fn jwt_with_exp(secret: &str, exp: i64) -> String {
    let header = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = format!(r#"{{"sub":"browser-test","exp":{exp}}}"#);
    let signing_input = format!("{header}.{}", b64url(claims.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(signing_input.as_bytes());
    let signature = b64url(&mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

#[wasm_bindgen_test]
fn b64url_matches_rfc4648_vectors() {
    assert_eq!(b64url(b""), "");
    assert_eq!(b64url(b"f"), "Zg");
    assert_eq!(b64url(b"fo"), "Zm8");
    assert_eq!(b64url(b"foo"), "Zm9v");
    assert_eq!(b64url(b"foobar"), "Zm9vYmFy");
    assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
}

/// Checked against Python's `hmac` + `base64.urlsafe_b64encode`.
#[wasm_bindgen_test]
fn jwt_matches_a_reference_signature() {
    assert_eq!(
        jwt_with_exp(SECRET, 2_000_000_000),
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
         eyJzdWIiOiJicm93c2VyLXRlc3QiLCJleHAiOjIwMDAwMDAwMDB9.\
         4i3eVPg7-9zQylTfjMtDdYzSmm_4sNQnhxwfx4iejGs"
    );
}

/// A `tokenProvider` that returns the tokens of `tokens` in turn (the last
/// one again when they run out) and counts its calls.
struct Provider {
    calls: Rc<RefCell<usize>>,
    closure: Closure<dyn FnMut() -> JsValue>,
}

impl Provider {
    fn new(tokens: Vec<String>) -> Provider {
        let calls = Rc::new(RefCell::new(0));
        let counter = calls.clone();
        let closure = Closure::<dyn FnMut() -> JsValue>::new(move || {
            let mut n = counter.borrow_mut();
            let token = tokens[(*n).min(tokens.len() - 1)].clone();
            *n += 1;
            JsValue::from_str(&token)
        });
        Provider { calls, closure }
    }

    fn calls(&self) -> usize {
        *self.calls.borrow()
    }

    /// Options with this provider and `extra` (a JSON object's fields).
    fn options(&self, extra: &str) -> JsValue {
        let options = json(&format!("{{{extra}}}"));
        js_sys::Reflect::set(&options, &"tokenProvider".into(), self.closure.as_ref())
            .expect("set tokenProvider");
        options
    }
}

async fn start_auth_server(name: &str) -> String {
    let args = format!("--token-secret,{SECRET}");
    let answer = try_control(&format!("/server/start?name={name}&args={args}"), "")
        .await
        .unwrap_or_else(|e| {
            panic!("tether-server must support --token-secret (server-cli.md) for this test: {e}")
        });
    get(&answer, "ws").as_string().expect("ws url")
}

/// A token that is not a valid JWT for the secret: the server accepts the
/// upgrade and closes 4503; the client goes `failed` after one attempt and
/// never asks for a token or connects again.
#[wasm_bindgen_test]
async fn invalid_token_is_terminal_4503_failed() {
    let ws = start_auth_server("auth-4503").await;
    let provider = Provider::new(vec![jwt("not-the-secret", 3600)]);
    let options = provider.options(r#""backoff":{"initialMs":100,"maxMs":100}"#);
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    wait_for("failed", 10_000.0, || client.state() == "failed").await;
    let status = client.status();
    assert_eq!(
        status_number(&status, &["lastClose", "code"]),
        Some(4503.0),
        "{status:?}"
    );
    assert_eq!(provider.calls(), 1);
    holds_for("failed, with no further attempt", 1_000.0, || {
        client.state() == "failed" && provider.calls() == 1
    })
    .await;
    assert_eq!(get(&client.status(), "nextRetryAt"), JsValue::NULL);
    client.close(None, None).expect("close");
}

/// The first token has expired: the server closes 4401; the client calls the
/// provider again before the next attempt and opens with the fresh token.
#[wasm_bindgen_test]
async fn expired_token_4401_asks_the_provider_again_and_opens() {
    let ws = start_auth_server("auth-4401").await;
    let provider = Provider::new(vec![jwt(SECRET, -3600), jwt(SECRET, 3600)]);
    let options = provider.options(r#""backoff":{"initialMs":100,"maxMs":100}"#);
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    let statuses = Recorder::new();
    client.on_status(statuses.function());
    wait_for("open with the second token", 10_000.0, || {
        client.state() == "open"
    })
    .await;
    assert_eq!(
        provider.calls(),
        2,
        "one call per attempt: the expired token, then the fresh one"
    );
    let codes = statuses.numbers(&["lastClose", "code"]);
    assert!(
        codes.contains(&4401.0),
        "the first attempt was closed 4401: {:?}",
        timeline(&statuses)
    );
    let id = get(&client.status(), "clientId");
    assert!(id.is_string(), "opened: {:?}", client.status());
    client.close(None, None).expect("close");
}
