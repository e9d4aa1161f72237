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
        "tether_connections_accepted_total 1",
        "tether_subscribes_total{topic=\"alerts\"} 1",
        "tether_subscribes_total{topic=\"miners\"} 0",
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
    let dir = TempDir::new("static");
    dir.write("index.html", "<h1>dash</h1>");
    let mut cfg = config();
    cfg.static_dir = Some(dir.path());
    let server = start(cfg).await;
    let (status, body) = http(server.addr, "GET", "/", &[], "").await;
    assert_eq!((status, body.as_str()), (200, "<h1>dash</h1>"));
    assert_eq!(
        http(server.addr, "GET", "/missing.js", &[], "").await.0,
        404
    );
    assert_eq!(http(server.addr, "GET", "/healthz", &[], "").await.0, 200);
    connect_welcomed(&server).await;
}

#[tokio::test]
async fn metrics_count_accepted_connections_and_subscribes() {
    let server = start(config()).await;
    for _ in 0..2 {
        let (mut ws, _) = connect_welcomed(&server).await;
        subscribe(&mut ws, 1, "miners").await;
        // A second subscribe to the same topic counts too; an unknown
        // topic does not.
        subscribe(&mut ws, 2, "miners").await;
        send(&mut ws, json!({"type":"subscribe","id":3,"topic":"nope"})).await;
        assert_eq!(recv(&mut ws).await["code"], "unknown_topic");
    }
    let (_, text) = http(server.addr, "GET", "/metrics", &[], "").await;
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        "# TYPE tether_connections_accepted_total counter",
        "tether_connections_accepted_total 2",
        "# TYPE tether_subscribes_total counter",
        "tether_subscribes_total{topic=\"miners\"} 4",
        "tether_subscribes_total{topic=\"alerts\"} 0",
    ] {
        assert!(lines.contains(&want), "missing `{want}` in:\n{text}");
    }
}

#[tokio::test]
async fn latest_returns_the_latest_publication_frame() {
    let server = start(config()).await;
    assert_eq!(
        http(server.addr, "GET", "/topics/nope/latest", &[], "")
            .await
            .0,
        404
    );
    assert_eq!(
        http(server.addr, "GET", "/topics/alerts/latest", &[], "").await,
        (204, String::new())
    );
    let (mut ws, _) = connect_welcomed(&server).await;
    subscribe(&mut ws, 1, "alerts").await;
    for n in 1..=2 {
        publish(
            server.addr,
            json!({"topic":"alerts","event":"alert","data":{"n":n}}),
        )
        .await;
    }
    recv(&mut ws).await;
    let live = recv(&mut ws).await;
    let (status, body) = http(server.addr, "GET", "/topics/alerts/latest", &[], "").await;
    assert_eq!(status, 200);
    let latest: serde_json::Value = serde_json::from_str(&body).unwrap();
    // Exactly what the subscriber received.
    assert_eq!(latest, live);
    assert_eq!(latest["offset"], 2);
    assert_eq!(latest["data"]["n"], 2);
}

#[tokio::test]
async fn latest_needs_a_token_under_token_secret() {
    let mut cfg = config();
    cfg.token_secret = Some("k".into());
    let server = start(cfg).await;
    let path = "/topics/alerts/latest";
    assert_eq!(http(server.addr, "GET", path, &[], "").await.0, 401);
    let bad = [("Authorization", "Bearer not.a.jwt")];
    assert_eq!(http(server.addr, "GET", path, &bad, "").await.0, 401);
    let expired = format!("Bearer {}", jwt("k", json!({"exp": unix_in(-3600)})));
    let expired = [("Authorization", expired.as_str())];
    assert_eq!(http(server.addr, "GET", path, &expired, "").await.0, 401);
    let narrow = format!(
        "Bearer {}",
        jwt("k", json!({"exp": unix_in(600), "topics": ["miners"]}))
    );
    let narrow = [("Authorization", narrow.as_str())];
    assert_eq!(http(server.addr, "GET", path, &narrow, "").await.0, 403);
    let good = format!("Bearer {}", jwt("k", json!({"exp": unix_in(600)})));
    let good = [("Authorization", good.as_str())];
    assert_eq!(http(server.addr, "GET", path, &good, "").await.0, 204);
}

#[tokio::test]
async fn demo_controls_need_demo() {
    let server = start(config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    for path in ["/demo/drop", "/demo/restart"] {
        assert_eq!(http(server.addr, "POST", path, &[], "").await.0, 404);
    }
    // Nothing was closed.
    send(&mut ws, json!({"type":"ping","id":1})).await;
    assert_eq!(recv(&mut ws).await["type"], "pong");
}

fn demo_config() -> tether_server::Config {
    let mut cfg = config();
    cfg.demo = true;
    cfg
}

#[tokio::test]
async fn demo_drop_closes_every_connection_and_recovery_works() {
    let server = start(demo_config()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let (mut ws, _) = connect_welcomed(&server).await;
        subscribe(&mut ws, 1, "alerts").await;
        clients.push(ws);
    }
    let (_, first) = publish(server.addr, json!({"topic":"alerts"})).await;
    let (status, body) = http(server.addr, "POST", "/demo/drop", &[], "").await;
    assert_eq!((status, body.as_str()), (200, r#"{"closed":3}"#));
    for ws in &mut clients {
        assert_eq!(recv_close(ws).await.0, 1011);
    }
    server.wait_connections(0).await;
    publish(server.addr, json!({"topic":"alerts"})).await;
    // Reconnecting at once works, and the history is intact.
    let (mut ws, _) = connect_welcomed(&server).await;
    send(
        &mut ws,
        json!({"type":"subscribe","id":1,"topic":"alerts",
               "recover":{"epoch": first["epoch"], "offset": 1}}),
    )
    .await;
    let sub = recv(&mut ws).await;
    assert_eq!(
        (sub["recovered"].as_bool(), sub["missed"].as_u64()),
        (Some(true), Some(1))
    );
    assert_eq!(recv(&mut ws).await["offset"], 2);
}

/// Upgrades until one is accepted (bounded by [`WAIT`]); returns how many
/// were refused with HTTP 503 first.
async fn upgrade_until_accepted(server: &TestServer) -> (Ws, u32) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut refused = 0;
    loop {
        match tokio_tungstenite::connect_async(server.ws_url()).await {
            Ok((ws, _)) => return (ws, refused),
            Err(WsError::Http(resp)) => {
                assert_eq!(resp.status().as_u16(), 503);
                refused += 1;
            }
            Err(e) => panic!("unexpected error {e}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "still refused");
        // Polling interval of a bounded retry loop, not a synchroniser.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn demo_restart_loses_history_and_refuses_upgrades_for_a_while() {
    let server = start(demo_config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    subscribe(&mut ws, 1, "alerts").await;
    let (_, before) = publish(server.addr, json!({"topic":"alerts"})).await;
    publish(server.addr, json!({"topic":"alerts"})).await;
    assert_eq!(
        http(server.addr, "POST", "/demo/restart?down_ms=x", &[], "")
            .await
            .0,
        400
    );
    let (status, body) = http(server.addr, "POST", "/demo/restart?down_ms=400", &[], "").await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"closed":1,"down_ms":400}"#)
    );
    assert_eq!(recv_close(&mut ws).await.0, 1012);
    // Right after: refused with 503 (what a browser sees as a failed attempt).
    match tokio_tungstenite::connect_async(server.ws_url()).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status().as_u16(), 503),
        other => panic!("expected a 503, got {:?}", other.map(|_| ())),
    }
    assert_eq!(
        http(server.addr, "GET", "/topics/alerts/latest", &[], "")
            .await
            .0,
        204
    );
    let (mut ws, refused) = upgrade_until_accepted(&server).await;
    assert!(refused >= 1);
    assert_eq!(recv(&mut ws).await["type"], "connection_established");
    send(
        &mut ws,
        json!({"type":"subscribe","id":1,"topic":"alerts",
               "recover":{"epoch": before["epoch"], "offset": 2}}),
    )
    .await;
    let sub = recv(&mut ws).await;
    assert_eq!(sub["recovered"], false, "{sub}");
    assert_eq!(sub["offset"], 0);
    assert_ne!(sub["epoch"], before["epoch"]);
    let (_, after) = publish(server.addr, json!({"topic":"alerts"})).await;
    assert_eq!(after["offset"], 1);
    assert_eq!(recv(&mut ws).await["offset"], 1);
}
