//! The connection handler (`conn::run`) driven over in-memory pipes: no
//! HTTP, no TCP. The server half is a tungstenite WebSocket over one end of
//! a `tokio::io::duplex`, adapted to axum's message types; the client is a
//! tokio-tungstenite WebSocket over the other end. Heartbeat tests run on
//! tokio's paused clock, so minutes of protocol time take no real time.

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::pipe::*;
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tether_protocol::close::code;
use tether_server::auth::{Grant, Rejection};
use tether_server::conn::Peer;
use tether_server::AppState;
use tokio_tungstenite::tungstenite::Message as Ts;

/// Waits (bounded by `limit` of the tokio clock) for `n` registered
/// connections.
async fn connections(state: &AppState, n: usize, limit: Duration) {
    let mut rx = state.hub().watch_connections();
    let waited = tokio::time::timeout(limit, rx.wait_for(|c| *c == n)).await;
    assert!(
        waited.is_ok(),
        "expected {n}, have {}",
        state.hub().connection_count()
    );
}

#[tokio::test]
async fn welcome_first_then_replies_in_order() {
    let state = state(config());
    let (mut ws, _task) = pipe(&state, Peer::anonymous()).await;
    let w = recv(&mut ws).await;
    assert_eq!(w["type"], "connection_established", "{w}");
    assert_eq!(state.hub().connection_count(), 1);
    // Three requests written back to back are answered in order.
    send_text(&mut ws, r#"{"type":"ping","id":1}"#).await;
    send_text(&mut ws, "{nope").await;
    send_text(&mut ws, r#"{"type":"subscribe","id":2,"topic":"metrics"}"#).await;
    assert_eq!(recv(&mut ws).await["type"], "pong");
    assert_eq!(recv(&mut ws).await["code"], "bad_json");
    let sub = recv(&mut ws).await;
    assert_eq!(
        (sub["type"].as_str(), sub["id"].as_u64()),
        (Some("subscribed"), Some(2))
    );
    ws.send(Ts::binary(vec![0u8; 3])).await.unwrap();
    assert_eq!(recv(&mut ws).await["code"], "bad_frame");
    let local = state.local().expect("in memory");
    local.publish("metrics", None, json!(5)).unwrap();
    assert_eq!(recv(&mut ws).await["data"], 5);
}

#[tokio::test]
async fn client_close_unregisters_and_frees_subscriptions() {
    let state = state(config());
    let (mut ws, task) = pipe(&state, Peer::anonymous()).await;
    recv(&mut ws).await;
    subscribe(&mut ws, 1, "alerts").await;
    assert_eq!(
        state.hub().subscription_counts()[1],
        ("alerts".to_owned(), 1)
    );
    ws.close(None).await.unwrap();
    tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    assert_eq!(state.hub().connection_count(), 0);
    assert_eq!(
        state.hub().subscription_counts()[1],
        ("alerts".to_owned(), 0)
    );
}

#[tokio::test]
async fn refused_token_gets_only_the_close() {
    let state = state(config());
    for (rejection, want) in [
        (Rejection::Missing, code::TOKEN_EXPIRED),
        (Rejection::Expired, code::TOKEN_EXPIRED),
        (Rejection::Invalid, code::FORBIDDEN),
    ] {
        let peer = Peer {
            auth: Err(rejection),
            ..Peer::anonymous()
        };
        let (mut ws, task) = pipe(&state, peer).await;
        match next_event(&mut ws).await {
            Event::Close(Some(c)) => assert_eq!(u16::from(c.code), want),
            other => panic!("{rejection:?}: expected close {want}, got {other:?}"),
        }
        // The client's close reply ends the handler at once.
        drop(ws);
        tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    }
    assert_eq!(state.hub().connection_count(), 0);
    let rejected = &state.hub().metrics().auth_rejections;
    assert_eq!(rejected.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn granted_topics_only() {
    let state = state(config());
    let peer = Peer {
        auth: Ok(Grant {
            sub: Some("ann".into()),
            topics: Some(vec!["alerts".into()]),
            expires: None,
        }),
        ..Peer::anonymous()
    };
    let (mut ws, _task) = pipe(&state, peer).await;
    assert_eq!(recv(&mut ws).await["available_topics"], json!(["alerts"]));
    send_text(&mut ws, r#"{"type":"subscribe","id":1,"topic":"miners"}"#).await;
    let e = recv(&mut ws).await;
    assert_eq!(
        (e["code"].as_str(), e["id"].as_u64()),
        (Some("forbidden"), Some(1))
    );
    subscribe(&mut ws, 2, "alerts").await;
}

#[tokio::test(start_paused = true)]
async fn silent_client_is_removed_after_two_and_a_half_intervals() {
    // Default heartbeat: 25 s, so stale after 62.5 s; checked on the ticks.
    let state = state(config());
    let (mut ws, _task) = pipe(&state, Peer::anonymous()).await;
    recv(&mut ws).await;
    let t0 = tokio::time::Instant::now();
    // From here on the client reads nothing, so it never answers a Ping.
    connections(&state, 0, Duration::from_secs(3600)).await;
    let after = t0.elapsed();
    assert!(
        after >= Duration::from_millis(62_500) && after <= Duration::from_secs(76),
        "removed after {after:?}"
    );
    let stale = &state.hub().metrics().stale_disconnects;
    assert_eq!(stale.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn client_answering_pings_stays_for_an_hour() {
    let state = state(config());
    let (mut ws, _task) = pipe(&state, Peer::anonymous()).await;
    recv(&mut ws).await;
    let pings = Arc::new(Mutex::new(0u32));
    let counter = pings.clone();
    // Reading is enough: tungstenite answers each Ping with a Pong.
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if msg.is_ping() {
                *counter.lock().unwrap() += 1;
            }
        }
    });
    // The paused clock jumps from timer to timer: this is an hour of
    // protocol time with 144 heartbeats (25 s apart; the last at 3600 s),
    // taking no real time.
    tokio::time::sleep(Duration::from_millis(3_612_500)).await;
    assert_eq!(state.hub().connection_count(), 1);
    assert_eq!(*pings.lock().unwrap(), 144);
    reader.abort();
}

#[tokio::test]
async fn aborted_handler_still_unregisters() {
    let state = state(config());
    let (mut ws, task) = pipe(&state, Peer::anonymous()).await;
    recv(&mut ws).await;
    subscribe(&mut ws, 1, "system").await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(state.hub().connection_count(), 0);
    assert_eq!(
        state.hub().subscription_counts()[2],
        ("system".to_owned(), 0)
    );
    // The writer task went with it: the socket is dropped, not leaked.
    assert!(matches!(next_event(&mut ws).await, Event::Gone(_)));
}
