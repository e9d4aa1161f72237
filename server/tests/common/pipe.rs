//! In-memory connections: the connection handler (`conn::run`) over a
//! `tokio::io::duplex` pipe, no HTTP, no TCP. The server half is a
//! tungstenite WebSocket adapted to axum's message types; the client half a
//! tokio-tungstenite WebSocket.

use axum::extract::ws::{CloseFrame as AxClose, Message as Ax};
use futures_util::{future, SinkExt, StreamExt};
use tether_server::conn::{self, Peer, Socket};
use tether_server::AppState;
use tokio::io::DuplexStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message as Ts;
use tokio_tungstenite::WebSocketStream;

/// The client end of an in-memory connection.
pub type Client = WebSocketStream<DuplexStream>;

fn to_axum(m: Ts) -> Ax {
    match m {
        Ts::Text(t) => Ax::Text(t.as_str().into()),
        Ts::Binary(b) => Ax::Binary(b),
        Ts::Ping(b) => Ax::Ping(b),
        Ts::Pong(b) => Ax::Pong(b),
        Ts::Close(c) => Ax::Close(c.map(|c| AxClose {
            code: c.code.into(),
            reason: c.reason.as_str().into(),
        })),
        // Never produced by reading.
        Ts::Frame(_) => Ax::Binary(Default::default()),
    }
}

fn to_tungstenite(m: Ax) -> Ts {
    match m {
        Ax::Text(t) => Ts::text(t.as_str()),
        Ax::Binary(b) => Ts::Binary(b),
        Ax::Ping(b) => Ts::Ping(b),
        Ax::Pong(b) => Ts::Pong(b),
        Ax::Close(c) => Ts::Close(c.map(|c| CloseFrame {
            code: CloseCode::from(c.code),
            reason: c.reason.as_str().into(),
        })),
    }
}

/// The server half: a WebSocket over `io` with axum's message types.
async fn server_socket(io: DuplexStream) -> impl Socket {
    WebSocketStream::from_raw_socket(io, Role::Server, None)
        .await
        .sink_map_err(axum::Error::new)
        .with(|m: Ax| future::ready(Ok::<_, axum::Error>(to_tungstenite(m))))
        .map(|r| r.map(to_axum).map_err(axum::Error::new))
}

/// Runs the handler for `peer` on a new in-memory connection.
pub async fn pipe(state: &AppState, peer: Peer) -> (Client, JoinHandle<()>) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let socket = server_socket(server_io).await;
    let task = tokio::spawn(conn::run(socket, state.clone(), peer));
    let client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
    (client, task)
}

pub fn state(config: tether_server::Config) -> AppState {
    AppState::new(config).expect("valid config")
}
