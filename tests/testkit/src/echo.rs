//! A plain JSON WebSocket echo server: the kind of third-party server the
//! SDK's raw mode is for. It speaks no Tether frames: every text frame comes
//! back as it was, except `{"type":"ping"}`, answered with `{"type":"pong"}`
//! (with the ping's `id`, if any).

use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// What the echo server has seen, for tests to assert on.
#[derive(Default)]
pub struct Counts {
    /// WebSocket connections accepted.
    pub connections: AtomicU64,
    /// Text frames received, pings included.
    pub texts: AtomicU64,
    /// `{"type":"ping"}` frames received.
    pub pings: AtomicU64,
}

/// One running echo server; dropping it stops accepting.
pub struct Echo {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Its counters.
    pub counts: Arc<Counts>,
    accept_task: JoinHandle<()>,
}

impl Echo {
    /// Listens on a free port.
    pub async fn start() -> std::io::Result<Echo> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        let accept_task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, c.clone()));
            }
        });
        Ok(Echo {
            port,
            counts,
            accept_task,
        })
    }

    /// The counters as a JSON object.
    pub fn counts_json(&self) -> String {
        let c = &self.counts;
        serde_json::json!({
            "connections": c.connections.load(Ordering::Relaxed),
            "texts": c.texts.load(Ordering::Relaxed),
            "pings": c.pings.load(Ordering::Relaxed),
        })
        .to_string()
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn serve(stream: TcpStream, counts: Arc<Counts>) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    counts.connections.fetch_add(1, Ordering::Relaxed);
    while let Some(Ok(message)) = ws.next().await {
        let reply = match message {
            Message::Text(text) => {
                counts.texts.fetch_add(1, Ordering::Relaxed);
                match pong_for(&text) {
                    Some(pong) => {
                        counts.pings.fetch_add(1, Ordering::Relaxed);
                        Message::text(pong)
                    }
                    None => Message::Text(text),
                }
            }
            Message::Close(_) => break,
            // Pings are answered by tungstenite itself; binary is not JSON.
            _ => continue,
        };
        if ws.send(reply).await.is_err() {
            break;
        }
    }
}

/// `{"type":"pong"}` (plus the `id`) when `text` is a `ping` object.
fn pong_for(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    if value.get("type")?.as_str()? != "ping" {
        return None;
    }
    let mut pong = serde_json::json!({"type": "pong"});
    if let Some(id) = value.get("id") {
        pong["id"] = id.clone();
    }
    Some(pong.to_string())
}
