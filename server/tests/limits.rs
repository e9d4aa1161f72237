//! Production limits: connection caps, rate limit, slow consumers, graceful
//! shutdown.

mod common;

use std::sync::atomic::Ordering;

use common::*;
use futures_util::future::join_all;
use serde_json::{json, Value};
use tether_protocol::close::{code, retry_after_ms};
use tokio_tungstenite::tungstenite::Error as WsError;

#[tokio::test]
async fn over_max_connections_accepts_then_closes_4429() {
    let mut cfg = config();
    cfg.max_connections = 2;
    let server = start(cfg).await;
    let (_a, _) = connect_welcomed(&server).await;
    let (_b, _) = connect_welcomed(&server).await;
    let mut c = connect(&server).await;
    // No welcome: the refused connection gets only the close.
    match next_event(&mut c).await {
        Event::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), code::TOO_MANY);
            assert!(retry_after_ms(&frame.reason).is_some(), "{}", frame.reason);
        }
        other => panic!("expected close 4429, got {other:?}"),
    }
    server.wait_connections(2).await;
    let refused = &server.state.hub().metrics().refused_limit;
    assert_eq!(refused.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn over_max_connections_per_ip_closes_4429() {
    let mut cfg = config();
    cfg.max_connections_per_ip = 1;
    let server = start(cfg).await;
    let (_a, _) = connect_welcomed(&server).await;
    let mut b = connect(&server).await;
    assert_eq!(recv_close(&mut b).await.0, code::TOO_MANY);
    drop(_a);
    server.wait_connections(0).await;
    // The slot is free again.
    connect_welcomed(&server).await;
}

#[tokio::test]
async fn rate_limit_answers_rate_limited_then_closes_4429() {
    let mut cfg = config();
    cfg.rate_limit = 5;
    let server = start(cfg).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    // The bucket holds 10; the 11th frame is dropped with one error; more
    // than 10 dropped frames close the connection.
    for id in 1..=25u64 {
        send(&mut ws, json!({"type":"ping","id":id})).await;
    }
    let mut pongs = 0;
    let mut limited = 0;
    let close = loop {
        match next_event(&mut ws).await {
            Event::Json(v) if v["type"] == "pong" => pongs += 1,
            Event::Json(v) if v["code"] == "rate_limited" => limited += 1,
            Event::Json(v) => panic!("unexpected {v}"),
            Event::Close(c) => break c,
            Event::Gone(e) => panic!("no close frame: {e}"),
        }
    };
    assert_eq!(pongs, 10);
    assert_eq!(limited, 1);
    let close = close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), code::TOO_MANY);
    assert!(retry_after_ms(&close.reason).is_some());
    server.wait_connections(0).await;
    let dropped = &server.state.hub().metrics().dropped_rate_limited;
    assert_eq!(dropped.load(Ordering::Relaxed), 11);
}

#[tokio::test]
async fn one_stalled_client_among_200_is_disconnected_and_the_rest_keep_receiving() {
    let mut cfg = config();
    cfg.send_queue = 16;
    cfg.history_size = 4;
    let server = start(cfg).await;
    let mut clients = join_all((0..200).map(|_| async {
        let (mut ws, _) = connect_welcomed(&server).await;
        subscribe(&mut ws, 1, "metrics").await;
        ws
    }))
    .await;
    let mut stalled = clients.remove(0);
    subscribe(&mut stalled, 2, "miners").await;
    server.wait_connections(200).await;
    // From here on `stalled` reads nothing. Bulk publications on `miners`
    // fill its socket buffers, then its queue.
    let hub = server.state.hub();
    let local = server.state.local().expect("in memory");
    let bulk = Value::String("x".repeat(256 * 1024));
    let mut count = hub.watch_connections();
    let mut bulk_sent = 0;
    let kicked = tokio::time::timeout(WAIT, async {
        loop {
            local.publish("miners", None, bulk.clone()).unwrap();
            bulk_sent += 1;
            if bulk_sent == 8 {
                // While the stall builds up, the others are served.
                local.publish("metrics", None, json!(1)).unwrap();
            }
            tokio::select! {
                _ = count.wait_for(|n| *n == 199) => break,
                _ = tokio::task::yield_now() => {}
            }
        }
    })
    .await;
    assert!(kicked.is_ok(), "the stalled client was not disconnected");
    let metrics = hub.metrics();
    assert_eq!(metrics.slow_consumer_disconnects.load(Ordering::Relaxed), 1);
    assert!(metrics.dropped_slow_consumer.load(Ordering::Relaxed) >= 1);
    local.publish("metrics", None, json!(2)).unwrap();
    let got = join_all(clients.iter_mut().map(|ws| async move {
        (
            recv(ws).await["data"].clone(),
            recv(ws).await["data"].clone(),
        )
    }))
    .await;
    assert!(got.iter().all(|g| *g == (json!(1), json!(2))), "{got:?}");
    assert_eq!(hub.subscription_counts()[0], ("miners".to_owned(), 0));
}

#[tokio::test]
async fn graceful_shutdown_sends_goaway_then_1012_and_refuses_new_upgrades() {
    let mut cfg = config();
    cfg.shutdown_retry_after_ms = 1500;
    cfg.shutdown_spread_ms = 700;
    let mut server = start(cfg).await;
    let (mut a, _) = connect_welcomed(&server).await;
    let (mut b, _) = connect_welcomed(&server).await;
    // `lazy` reads nothing, so its connection lingers for the close reply
    // and the server is still draining when the next upgrade comes.
    let (_lazy, _) = connect_welcomed(&server).await;
    server.wait_connections(3).await;
    server.stop();
    for ws in [&mut a, &mut b] {
        let goaway = recv(ws).await;
        assert_eq!(
            goaway,
            json!({"type":"goaway","reason":"shutdown","retry_after_ms":1500,"spread_ms":700})
        );
        assert_eq!(recv_close(ws).await.0, code::SERVICE_RESTART);
    }
    match tokio_tungstenite::connect_async(server.ws_url()).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status().as_u16(), 503),
        Ok(_) => panic!("upgrade accepted during shutdown"),
        Err(e) => panic!("unexpected error {e}"),
    }
    let done = tokio::time::timeout(WAIT, &mut server.task).await;
    assert!(matches!(done, Ok(Ok(Ok(())))), "{done:?}");
}
