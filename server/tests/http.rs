//! HTTP endpoints: /publish, /healthz, /metrics, Origin checks, static files.

mod common;

use common::*;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;

#[tokio::test]
async fn publish_endpoint_statuses() {
    let server = start(config()).await;
    let (status, body) = publish(server.addr, json!({"topic":"nope"})).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["available_topics"],
        json!(["miners", "alerts", "system", "metrics"])
    );
    let (status, _) = http(server.addr, "POST", "/publish", &[], "{not json").await;
    assert_eq!(status, 400);
    let (status, _) = http(server.addr, "POST", "/publish", &[], r#"{"data":1}"#).await;
    assert_eq!(status, 400);
    let (status, _) = http(server.addr, "POST", "/publish", &[], r#"{"topic":5}"#).await;
    assert_eq!(status, 400);
    // A body one byte over 2 MiB (all of it read, so no reset).
    let big = "x".repeat(2 * 1024 * 1024 + 1);
    let (status, _) = http(server.addr, "POST", "/publish", &[], &big).await;
    assert_eq!(status, 413);
    let (status, body) = publish(server.addr, json!({"topic":"system"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["offset"], 1);
    assert!(body["epoch"].as_str().unwrap().starts_with('e'));
}

#[tokio::test]
async fn publish_key_is_required_when_configured() {
    let mut cfg = config();
    cfg.publish_key = Some("s3cret".into());
    let server = start(cfg).await;
    let body = r#"{"topic":"alerts"}"#;
    let (status, _) = http(server.addr, "POST", "/publish", &[], body).await;
    assert_eq!(status, 401);
    let wrong = [("Authorization", "Bearer nope")];
    assert_eq!(
        http(server.addr, "POST", "/publish", &wrong, body).await.0,
        401
    );
    let right = [("Authorization", "Bearer s3cret")];
    assert_eq!(
        http(server.addr, "POST", "/publish", &right, body).await.0,
        200
    );
}

#[tokio::test]
async fn healthz_and_metrics() {
    let server = start(config()).await;
    assert_eq!(
        http(server.addr, "GET", "/healthz", &[], "").await,
        (200, "ok".to_owned())
    );
    let (mut ws, _) = connect_welcomed(&server).await;
    subscribe(&mut ws, 1, "alerts").await;
    publish(server.addr, json!({"topic":"alerts"})).await;
    recv(&mut ws).await;
    let (status, text) = http(server.addr, "GET", "/metrics", &[], "").await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        "tether_connections 1",
        "tether_subscriptions{topic=\"alerts\"} 1",
        "tether_subscriptions{topic=\"miners\"} 0",
        "tether_messages_in_total 1",
        "tether_messages_out_total 3",
        "tether_dropped_total{reason=\"slow_consumer\"} 0",
        "tether_dropped_total{reason=\"rate_limited\"} 0",
        "tether_slow_consumer_disconnects_total 0",
    ] {
        assert!(lines.contains(&want), "missing `{want}` in:\n{text}");
    }
}

async fn upgrade_with_origin(server: &TestServer, origin: &str) -> Result<(), u16> {
    let mut req = server.ws_url().into_client_request().unwrap();
    req.headers_mut().insert("Origin", origin.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((mut ws, _)) => {
            assert_eq!(recv(&mut ws).await["type"], "connection_established");
            Ok(())
        }
        Err(WsError::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[tokio::test]
async fn origin_defaults_to_own_host_and_honours_the_allow_list() {
    let server = start(config()).await;
    let own = format!("http://{}", server.addr);
    assert_eq!(upgrade_with_origin(&server, &own).await, Ok(()));
    assert_eq!(
        upgrade_with_origin(&server, "http://evil.example").await,
        Err(403)
    );

    let mut cfg = config();
    cfg.allowed_origins = vec!["https://app.example".into()];
    let listed = start(cfg).await;
    assert_eq!(
        upgrade_with_origin(&listed, "https://APP.example/").await,
        Ok(())
    );
    let own = format!("http://{}", listed.addr);
    assert_eq!(upgrade_with_origin(&listed, &own).await, Err(403));
    // No Origin (not a browser): allowed.
    connect_welcomed(&listed).await;
}

#[tokio::test]
async fn static_folder_is_served_at_root() {
    let dir = std::env::temp_dir().join(format!("tether-static-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>dash</h1>").unwrap();
    let mut cfg = config();
    cfg.static_dir = Some(dir.clone());
    let server = start(cfg).await;
    let (status, body) = http(server.addr, "GET", "/", &[], "").await;
    assert_eq!((status, body.as_str()), (200, "<h1>dash</h1>"));
    assert_eq!(
        http(server.addr, "GET", "/missing.js", &[], "").await.0,
        404
    );
    assert_eq!(http(server.addr, "GET", "/healthz", &[], "").await.0, 200);
    connect_welcomed(&server).await;
    let _ = std::fs::remove_dir_all(dir);
}
