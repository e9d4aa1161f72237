//! `--token-secret` over real sockets: the upgrade is always accepted, then
//! a missing or expired token closes 4401 and an invalid one 4503, before
//! any frame; a `topics` claim limits subscribe and publish.

mod common;

use std::sync::atomic::Ordering;

use common::*;
use serde_json::{json, Value};
use tether_protocol::close::code;

const SECRET: &str = "test-secret";

async fn auth_server() -> TestServer {
    let mut cfg = config();
    cfg.token_secret = Some(SECRET.into());
    start(cfg).await
}

fn url_with(server: &TestServer, query: &str) -> String {
    format!("{}?{query}", server.ws_url())
}

/// Connects with `query` and expects a close with `want` as the very first
/// thing the server sends (no `connection_established`).
async fn expect_refused(server: &TestServer, query: &str, want: u16) {
    let mut ws = connect_url(&url_with(server, query)).await;
    match next_event(&mut ws).await {
        Event::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), want, "{query}: {frame:?}");
            assert!(!frame.reason.is_empty());
        }
        other => panic!("{query}: expected close {want} first, got {other:?}"),
    }
}

#[tokio::test]
async fn valid_token_connects_and_works() {
    let server = auth_server().await;
    let token = jwt(SECRET, json!({"sub":"ann","exp":unix_in(3600)}));
    let mut ws = connect_url(&url_with(
        &server,
        &format!("token={token}&sdk=tether-ws%2F0.1.0"),
    ))
    .await;
    let w = recv(&mut ws).await;
    assert_eq!(w["type"], "connection_established", "{w}");
    assert_eq!(
        w["available_topics"],
        json!(["miners", "alerts", "system", "metrics"])
    );
    subscribe(&mut ws, 1, "alerts").await;
    publish(server.addr, json!({"topic":"alerts","data":1})).await;
    assert_eq!(recv(&mut ws).await["data"], 1);
    server.wait_connections(1).await;
}

#[tokio::test]
async fn expired_token_closes_4401_without_welcome() {
    let server = auth_server().await;
    let token = jwt(SECRET, json!({"sub":"ann","exp":unix_in(-3600)}));
    expect_refused(&server, &format!("token={token}"), code::TOKEN_EXPIRED).await;
    assert_eq!(server.state.hub().connection_count(), 0);
}

#[tokio::test]
async fn missing_token_closes_4401() {
    let server = auth_server().await;
    let mut ws = connect(&server).await;
    match next_event(&mut ws).await {
        Event::Close(Some(frame)) => assert_eq!(u16::from(frame.code), code::TOKEN_EXPIRED),
        other => panic!("expected close 4401, got {other:?}"),
    }
    expect_refused(&server, "token=", code::TOKEN_EXPIRED).await;
    expect_refused(&server, "sdk=x", code::TOKEN_EXPIRED).await;
    let rejected = &server.state.hub().metrics().auth_rejections;
    assert_eq!(rejected.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn bad_signature_closes_4503() {
    let server = auth_server().await;
    let token = jwt("not-the-secret", json!({"exp":unix_in(3600)}));
    expect_refused(&server, &format!("token={token}"), code::FORBIDDEN).await;
}

#[tokio::test]
async fn invalid_tokens_close_4503() {
    let server = auth_server().await;
    let exp = unix_in(3600);
    let tokens = [
        "garbage".to_owned(),
        "a.b.c".to_owned(),
        // No `exp`.
        jwt(SECRET, json!({"sub":"ann"})),
        // `exp` of the wrong type.
        jwt(SECRET, json!({"exp":"tomorrow"})),
        // Another algorithm, even with the right secret.
        jwt_alg(jsonwebtoken::Algorithm::HS512, SECRET, json!({"exp":exp})),
        // `topics` not a list of strings.
        jwt(SECRET, json!({"exp":exp,"topics":[1,2]})),
        // alg "none", unsigned.
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJleHAiOjk5OTk5OTk5OTl9.".to_owned(),
    ];
    for token in tokens {
        expect_refused(&server, &format!("token={token}"), code::FORBIDDEN).await;
    }
    // An expired token with a bad signature is invalid, not expired.
    let token = jwt("other", json!({"exp":unix_in(-3600)}));
    expect_refused(&server, &format!("token={token}"), code::FORBIDDEN).await;
    assert_eq!(server.state.hub().connection_count(), 0);
}

#[tokio::test]
async fn topics_claim_limits_subscribe_and_publish() {
    let mut cfg = config();
    cfg.token_secret = Some(SECRET.into());
    let dir = TempDir::new("auth-topics");
    cfg.topics = Some(dir.write("topics.json", r#"[{"name":"chat","client_publish":true},{"name":"news","client_publish":true},{"name":"ops"}]"#));
    let server = start(cfg).await;
    let token = jwt(
        SECRET,
        json!({"sub":"bob","exp":unix_in(600),"topics":["chat","ops","gone"]}),
    );
    let mut ws = connect_url(&url_with(&server, &format!("token={token}"))).await;
    let w = recv(&mut ws).await;
    assert_eq!(w["type"], "connection_established");
    // Only the granted topics that exist are offered.
    assert_eq!(w["available_topics"], json!(["chat", "ops"]));

    subscribe(&mut ws, 1, "chat").await;
    send(&mut ws, json!({"type":"subscribe","id":2,"topic":"news"})).await;
    let e = recv(&mut ws).await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str(), e["id"].as_u64()),
        (Some("error"), Some("forbidden"), Some(2)),
        "{e}"
    );
    send(
        &mut ws,
        json!({"type":"publish","id":3,"topic":"news","data":1}),
    )
    .await;
    let e = recv(&mut ws).await;
    assert_eq!(
        (e["code"].as_str(), e["id"].as_u64()),
        (Some("forbidden"), Some(3))
    );
    // Granted but not a topic: unknown, listing only what may be used.
    send(&mut ws, json!({"type":"subscribe","id":4,"topic":"gone"})).await;
    let e = recv(&mut ws).await;
    assert_eq!(e["code"], "unknown_topic");
    assert_eq!(e["available_topics"], json!(["chat", "ops"]));
    send(&mut ws, json!({"type":"get_topics","id":5})).await;
    let names: Vec<Value> = recv(&mut ws).await["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("chat"), json!("ops")]);

    // The connection stays: publishing on a granted topic works.
    send(
        &mut ws,
        json!({"type":"publish","id":6,"topic":"chat","data":"hi"}),
    )
    .await;
    assert_eq!(recv(&mut ws).await["type"], "publication");
    assert_eq!(recv(&mut ws).await["type"], "published");
    send(&mut ws, json!({"type":"get_status","id":7})).await;
    assert_eq!(recv(&mut ws).await["subscriptions"], json!(["chat"]));
    server.wait_connections(1).await;
}
