//! In-memory connections: the connection handler (`conn::run`) over a
//! `tokio::io::duplex` pipe, no HTTP, no TCP. The client half is a
//! tokio-tungstenite WebSocket.

use tether_server::conn::{self, Peer};
use tether_server::AppState;
use tokio::io::DuplexStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

/// The client end of an in-memory connection.
pub type Client = WebSocketStream<DuplexStream>;

/// Runs the handler for `peer` on a new in-memory connection.
pub async fn pipe(state: &AppState, peer: Peer) -> (Client, JoinHandle<()>) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let task = tokio::spawn(conn::run(server_io, state.clone(), peer));
    let client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
    (client, task)
}

pub fn state(config: tether_server::Config) -> AppState {
    AppState::new(config).expect("valid config")
}
