//! "Only the first device connects": many devices, rapid reconnects and
//! several tabs of one browser must all be served, every time.

mod common;

use common::*;
use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_clients_at_once_all_get_welcome_and_a_broadcast() {
    const N: usize = 1000;
    let mut cfg = config();
    // One IP for all devices here: raise both per-IP limits.
    cfg.max_connections_per_ip = 10_000;
    cfg.max_pending_per_ip = 10_000;
    let server = start(cfg).await;
    let clients = join_all((0..N).map(|i| {
        let url = server.ws_url();
        async move {
            let mut ws = connect_url(&url).await;
            let w = recv(&mut ws).await;
            assert_eq!(w["type"], "connection_established", "client {i}: {w}");
            subscribe(&mut ws, 1, "alerts").await;
            ws
        }
    }))
    .await;
    server.wait_connections(N).await;
    let (status, _) = publish(server.addr, json!({"topic":"alerts","data":{"n":1}})).await;
    assert_eq!(status, 200);
    let got = join_all(clients.into_iter().map(|mut ws| async move {
        let p = recv(&mut ws).await;
        (p["type"].clone(), p["offset"].clone(), p["data"].clone())
    }))
    .await;
    assert_eq!(got.len(), N);
    assert!(
        got.iter()
            .all(|g| *g == (json!("publication"), json!(1), json!({"n":1}))),
        "every client got the broadcast"
    );
}

#[tokio::test]
async fn five_rapid_reconnects_from_one_client_all_succeed() {
    let server = start(config()).await;
    let mut ids = Vec::new();
    for cycle in 0..5 {
        let (mut ws, welcome) = connect_welcomed(&server).await;
        ids.push(welcome["client_id"].as_str().unwrap().to_owned());
        let sub = subscribe(&mut ws, 1, "miners").await;
        assert_eq!(sub["type"], "subscribed", "cycle {cycle}: {sub}");
        // Alternate polite closes and vanishing sockets.
        if cycle % 2 == 0 {
            ws.close(None).await.unwrap();
            while let Some(Ok(_)) = ws.next().await {}
        } else {
            drop(ws);
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "a fresh client id each time");
    server.wait_connections(0).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    subscribe(&mut ws, 1, "miners").await;
    publish(server.addr, json!({"topic":"miners"})).await;
    assert_eq!(recv(&mut ws).await["type"], "publication");
}

#[tokio::test]
async fn three_tabs_of_one_browser_are_independent_connections() {
    let server = start(config()).await;
    let mut tabs = Vec::new();
    for _ in 0..3 {
        let (mut ws, _) = connect_welcomed(&server).await;
        subscribe(&mut ws, 1, "system").await;
        tabs.push(ws);
    }
    server.wait_connections(3).await;
    publish(server.addr, json!({"topic":"system","data":{"t":1}})).await;
    for ws in &mut tabs {
        assert_eq!(recv(ws).await["data"], json!({"t":1}));
    }
    // Closing one tab leaves the others working.
    let mut closed = tabs.remove(0);
    closed
        .send(tokio_tungstenite::tungstenite::Message::Close(None))
        .await
        .unwrap();
    server.wait_connections(2).await;
    publish(server.addr, json!({"topic":"system","data":{"t":2}})).await;
    for ws in &mut tabs {
        assert_eq!(recv(ws).await["data"], json!({"t":2}));
    }
}

#[tokio::test]
async fn a_huge_or_odd_topic_name_gets_a_short_error_and_the_connection_stays() {
    let server = start(config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    let huge = "x".repeat(60_000);
    for (id, topic) in [(1, huge.as_str()), (2, "no/such topic"), (3, "nosuch")] {
        send(&mut ws, json!({"type":"subscribe","id":id,"topic":topic})).await;
        let err = recv(&mut ws).await;
        assert_eq!(err["type"], "error", "{err}");
        assert_eq!(err["code"], "unknown_topic");
        assert_eq!(err["id"], id);
        let message = err["message"].as_str().unwrap_or_default();
        assert!(
            message.len() < 200,
            "no echo of the name: {} bytes",
            message.len()
        );
    }
    let sub = subscribe(&mut ws, 4, "miners").await;
    assert_eq!(sub["type"], "subscribed");
}
