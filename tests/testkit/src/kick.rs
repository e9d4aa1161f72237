//! A WebSocket server that accepts every connection and closes it at once:
//! it completes the handshake, sends `connection_established` (so a Tether
//! client counts the link as open; a raw client opened on the socket's
//! `open` already) and closes with 1011. What a crash-looping backend
//! behind a healthy proxy looks like to the client.
//!
//! `POST /kick?name=K` starts K on a free port if it is not running, and
//! answers `{"ws","connections"}`: its URL and the handshakes it completed.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// One running kick server: its port and completed handshakes. Runs until
/// the testkit exits.
struct Kick {
    port: u16,
    connections: Arc<AtomicU64>,
}

/// The kick servers by name (their own registry, so the control server's
/// state stays as it is).
static KICKS: Mutex<Option<HashMap<String, Kick>>> = Mutex::new(None);

/// `POST /kick?name=K`.
pub async fn handle(Query(q): Query<HashMap<String, String>>) -> Response {
    let name = crate::name_of(&q);
    let known = with_kicks(|k| k.get(&name).map(|k| (k.port, k.connections.clone())));
    let (port, connections) = match known {
        Some(known) => known,
        None => match start().await {
            Ok(kick) => {
                let answer = (kick.port, kick.connections.clone());
                with_kicks(|k| k.insert(name, kick));
                answer
            }
            Err(e) => return crate::error_reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
    };
    let count = connections.load(Ordering::Relaxed);
    crate::reply(
        StatusCode::OK,
        format!("{{\"ws\":\"ws://127.0.0.1:{port}/ws\",\"connections\":{count}}}"),
    )
}

fn with_kicks<T>(f: impl FnOnce(&mut HashMap<String, Kick>) -> T) -> T {
    let mut guard = KICKS.lock().unwrap_or_else(|e| e.into_inner());
    f(guard.get_or_insert_with(HashMap::new))
}

async fn start() -> std::io::Result<Kick> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let connections = Arc::new(AtomicU64::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(kick(stream, counter.clone()));
        }
    });
    Ok(Kick { port, connections })
}

async fn kick(stream: TcpStream, connections: Arc<AtomicU64>) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    connections.fetch_add(1, Ordering::Relaxed);
    let established =
        r#"{"type":"connection_established","client_id":"kick","heartbeat_interval":25}"#;
    let _ = ws.send(Message::text(established)).await;
    let close = CloseFrame {
        code: CloseCode::Error,
        reason: "kick".into(),
    };
    let _ = ws.close(Some(close)).await;
    // Wait for the client's close reply, so the close is clean.
    while let Some(Ok(_)) = ws.next().await {}
}
