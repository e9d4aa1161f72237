//! Tether reference server: an axum WebSocket hub speaking protocol v1.
//!
//! Library first so tests can run it in-process: build an [`AppState`] from
//! a [`Config`], [`bind`] a listener, and [`serve`] it (or mount [`app`] in
//! your own axum server, served with connect info for per-IP limits). The
//! `tether-server` binary is a thin wrapper over the same calls.
//!
//! Modules: [`config`] (flags), [`auth`] (tokens), [`hub`] (registry, topic logs, fan-out),
//! [`conn`] (one connection's tasks), [`http`] (routes), [`limit`] (rate
//! limit), [`metrics`] (counters, Prometheus text), [`demo`] (demo data).
#![deny(missing_docs)]

pub mod auth;
pub mod config;
pub mod conn;
pub mod demo;
pub mod http;
pub mod hub;
pub mod limit;
pub mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_protocol::frames::{GoawayReason, ServerFrame, Stats};
use tokio::net::{TcpListener, TcpSocket};

pub use config::Config;
pub use http::app;
use hub::{Hub, HubSettings};

/// How long a shutdown waits for connections to finish their close.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Shared server state: configuration, hub, start time. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: Config,
    hub: Hub,
    verifier: Option<auth::Verifier>,
    started: Instant,
}

impl AppState {
    /// Builds the state: reads the `--topics` file if any and creates the hub.
    pub fn new(config: Config) -> Result<Self, config::ConfigError> {
        let topics = match &config.topics {
            Some(path) => config::load_topics(path)?,
            None => config::default_topics(),
        };
        let hub = Hub::new(
            topics,
            HubSettings {
                send_queue: config.send_queue as usize,
                max_connections: config.max_connections,
                max_connections_per_ip: config.max_connections_per_ip,
                history_size: config.history_size,
                history_ttl: config.history_ttl,
            },
        );
        let verifier = config.token_secret.as_deref().map(auth::Verifier::new);
        Ok(AppState(Arc::new(Inner {
            config,
            hub,
            verifier,
            started: Instant::now(),
        })))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The hub.
    pub fn hub(&self) -> &Hub {
        &self.0.hub
    }

    /// The token check, when `--token-secret` is set.
    pub fn verifier(&self) -> Option<&auth::Verifier> {
        self.0.verifier.as_ref()
    }

    /// When the state was built.
    pub fn started(&self) -> Instant {
        self.0.started
    }

    /// Server-wide statistics (`pong.stats`).
    pub fn stats(&self) -> Stats {
        use std::sync::atomic::Ordering::Relaxed;
        let m = self.hub().metrics();
        Stats {
            connections: self.hub().connection_count() as u64,
            uptime_s: self.started().elapsed().as_secs(),
            messages_in: m.messages_in.load(Relaxed),
            messages_out: m.messages_out.load(Relaxed),
        }
    }

    /// Starts a graceful shutdown: new upgrades get 503, every connection
    /// gets `goaway` then close 1012. Completes when all connections are
    /// gone or after a few seconds.
    pub async fn shutdown(&self) {
        let config = self.config();
        tracing::info!(connections = self.hub().connection_count(), "shutting down");
        self.hub().shutdown(ServerFrame::Goaway {
            reason: GoawayReason::Shutdown,
            retry_after_ms: config.shutdown_retry_after_ms,
            spread_ms: config.shutdown_spread_ms,
        });
        let mut count = self.hub().watch_connections();
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, count.wait_for(|n| *n == 0)).await;
        if drained.is_err() {
            tracing::warn!(
                connections = self.hub().connection_count(),
                "connections still open after the drain timeout"
            );
        }
    }
}

/// Binds a listener with `SO_REUSEADDR`, so a restarted server can take the
/// same port at once.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves the app on `listener` until `shutdown` completes, then shuts down
/// gracefully (see [`AppState::shutdown`]) and returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(state.clone());
    let drain = async move {
        shutdown.await;
        state.shutdown().await;
    };
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(drain)
    .await
}

/// Now, RFC 3339 UTC with milliseconds (`2026-11-22T10:00:00.000Z`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
