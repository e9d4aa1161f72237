//! Helpers shared by the integration tests: an in-process server on port 0,
//! a WebSocket client that reads JSON frames, and a tiny HTTP client.
#![allow(dead_code)]

pub mod pipe;
pub mod raw;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tether_server::{AppState, Config};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound for any single wait: a failure bound, never a synchroniser.
pub const WAIT: Duration = Duration::from_secs(10);

/// A client socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server running in this process.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Triggers the graceful shutdown (as SIGTERM would).
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Waits until the hub counts exactly `n` connections.
    pub async fn wait_connections(&self, n: usize) {
        let mut rx = self.state.hub().watch_connections();
        let waited = tokio::time::timeout(WAIT, rx.wait_for(|c| *c == n)).await;
        assert!(
            waited.is_ok(),
            "expected {n} connections, hub has {}",
            self.state.hub().connection_count()
        );
    }
}

/// Default test configuration: port 0 on loopback.
pub fn config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    }
}

/// A folder of its own under the system temp dir, removed when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("tether-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.0.clone()
    }

    /// Writes `contents` to `name` in this folder; returns the file's path.
    pub fn write(&self, name: &str, contents: &str) -> std::path::PathBuf {
        let file = self.0.join(name);
        std::fs::write(&file, contents).unwrap();
        file
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts a server in-process.
pub async fn start(config: Config) -> TestServer {
    let state = AppState::new(config).expect("valid config");
    let listener = tether_server::bind(state.config().listen).expect("bind");
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(tether_server::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        state,
        stop: Some(stop),
        task,
    }
}

/// Connects a client (no Origin header).
pub async fn connect(server: &TestServer) -> Ws {
    connect_url(&server.ws_url()).await
}

pub async fn connect_url(url: &str) -> Ws {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect timed out")
        .expect("connect failed");
    ws
}

/// Connects and reads the welcome; returns it too.
pub async fn connect_welcomed(server: &TestServer) -> (Ws, Value) {
    let mut ws = connect(server).await;
    let welcome = recv(&mut ws).await;
    assert_eq!(welcome["type"], "connection_established", "{welcome}");
    (ws, welcome)
}

/// What arrived next, skipping protocol pings and pongs.
#[derive(Debug)]
pub enum Event {
    Json(Value),
    Close(Option<CloseFrame>),
    /// The stream ended or failed without a close frame.
    Gone(String),
}

pub async fn next_event<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> Event {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no frame within the wait bound");
        match msg {
            Some(Ok(Message::Text(t))) => {
                return Event::Json(serde_json::from_str(t.as_str()).expect("server sent JSON"))
            }
            Some(Ok(Message::Close(c))) => return Event::Close(c),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
            Some(Err(e)) => return Event::Gone(e.to_string()),
            None => return Event::Gone("end of stream".into()),
        }
    }
}

/// The next JSON frame (panics on anything else).
pub async fn recv<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> Value {
    match next_event(ws).await {
        Event::Json(v) => v,
        other => panic!("expected a JSON frame, got {other:?}"),
    }
}

/// The close code the server sent next, skipping any JSON frames (within
/// the wait bound in all: pings alone must not keep it waiting).
pub async fn recv_close<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
) -> (u16, String) {
    let close = async {
        loop {
            match next_event(ws).await {
                Event::Json(_) => continue,
                Event::Close(Some(c)) => return (u16::from(c.code), c.reason.to_string()),
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(WAIT, close)
        .await
        .expect("a close frame within the wait bound")
}

pub async fn send<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>, v: Value) {
    send_text(ws, &v.to_string()).await;
}

pub async fn send_text<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>, text: &str) {
    ws.send(Message::text(text)).await.expect("send");
}

/// Subscribes and returns the `subscribed` reply.
pub async fn subscribe<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    id: u64,
    topic: &str,
) -> Value {
    send(
        ws,
        serde_json::json!({"type":"subscribe","id":id,"topic":topic}),
    )
    .await;
    let reply = recv(ws).await;
    assert_eq!(reply["type"], "subscribed", "{reply}");
    assert_eq!(reply["id"], id);
    reply
}

/// An HS256 JWT signed with `secret` carrying `claims`.
pub fn jwt(secret: &str, claims: Value) -> String {
    jwt_alg(jsonwebtoken::Algorithm::HS256, secret, claims)
}

/// A JWT with another algorithm of the HMAC family.
pub fn jwt_alg(alg: jsonwebtoken::Algorithm, secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode a JWT")
}

/// Unix time in seconds, offset by `delta`.
pub fn unix_in(delta: i64) -> i64 {
    chrono::Utc::now().timestamp() + delta
}

/// A minimal HTTP/1.1 request; returns (status, body).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("http response timed out")
        .expect("http read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad response: {text}"));
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// `POST /publish` with a JSON body; returns (status, parsed body or Null).
pub async fn publish(addr: SocketAddr, body: Value) -> (u16, Value) {
    let (status, text) = http(addr, "POST", "/publish", &[], &body.to_string()).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}
