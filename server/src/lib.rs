//! Tether reference server: an axum WebSocket hub speaking protocol v1.
//!
//! Library first so tests can run it in-process: build an [`AppState`] from
//! a [`Config`], [`bind`] a listener, and [`serve`] it (or mount [`app`] in
//! your own axum server, served with connect info for per-IP limits). The
//! `tether-server` binary is a thin wrapper over the same calls.
//!
//! Modules: [`config`] (flags), [`auth`] (tokens), [`hub`] (registry, fan-out),
//! [`log`] (a topic's log and its recovery rules), [`outbox`] (a connection's send queue),
//! [`publish`] (the publish path: in memory or through the broker),
//! [`broker`] (`--broker`: scale-out over Redis),
//! [`conn`] (one connection's tasks), [`http`] (routes), [`listen`] (the
//! accept loop and its limits), [`limit`] (rate limit), [`metrics`] (counters, Prometheus text), [`demo`] (demo data),
//! [`ws`] (the WebSocket protocol itself).
#![deny(missing_docs)]

pub mod auth;
pub mod broker;
pub mod config;
pub mod conn;
pub mod demo;
pub mod http;
pub mod hub;
pub mod limit;
pub mod listen;
pub mod log;
pub mod metrics;
pub mod outbox;
pub mod publish;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tether_protocol::frames::{GoawayReason, ServerFrame, Stats};
use tokio::net::{TcpListener, TcpSocket};

pub use config::Config;
pub use http::app;
use hub::{Hub, HubSettings};
pub use publish::PublishError;
use publish::{Local, Publisher};
use serde_json::Value;

/// How long a shutdown waits for connections to finish their close.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Shared server state: configuration, hub, start time. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: Config,
    hub: Arc<Hub>,
    publisher: Publisher,
    verifier: Option<auth::Verifier>,
    body_budget: tokio::sync::Semaphore,
    started: Instant,
}

impl AppState {
    /// Builds the state: reads the `--topics` file if any and creates the
    /// hub. With `--broker`, also starts following the broker in the
    /// background (this then needs a tokio runtime); connections are
    /// refused until the broker's logs were read once.
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
                retention: log::Retention {
                    count: config.history_size,
                    bytes: config.history_bytes,
                    ttl: config.history_ttl,
                    replay_bytes: config.replay_bytes,
                },
                mirror: config.broker.is_some(),
            },
        );
        let hub = Arc::new(hub);
        let publisher = match &config.broker {
            Some(url) => Publisher::Broker {
                broker: broker::Broker::start(url, hub.clone(), hub.retention()).map_err(|e| {
                    config::ConfigError::Broker {
                        url: url.clone(),
                        message: e.to_string(),
                    }
                })?,
                hub: hub.clone(),
            },
            None => Publisher::Local(Local::new(hub.clone())),
        };
        let verifier = config
            .token_secret
            .as_deref()
            .map(|secret| auth::Verifier::new(secret, config.max_token_lifetime.as_secs()));
        Ok(AppState(Arc::new(Inner {
            config,
            hub,
            publisher,
            verifier,
            body_budget: tokio::sync::Semaphore::new(http::PUBLISH_BODY_BUDGET),
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

    /// The publish path this configuration chose.
    pub fn publisher(&self) -> &Publisher {
        &self.0.publisher
    }

    /// The in-memory publish path; `None` with a broker (`--broker`).
    pub fn local(&self) -> Option<&Local> {
        self.0.publisher.local()
    }

    /// Whether the server is healthy: always without a broker; with one,
    /// while the broker link is up.
    pub fn is_healthy(&self) -> bool {
        self.0.publisher.is_healthy()
    }

    /// Publishes on a topic (in memory, or through the broker); returns
    /// `(epoch, offset)`.
    pub async fn publish(
        &self,
        topic: &str,
        event: Option<String>,
        data: Value,
    ) -> Result<(String, u64), PublishError> {
        self.0.publisher.publish(topic, event, data).await
    }

    /// The token check, when `--token-secret` is set.
    pub fn verifier(&self) -> Option<&auth::Verifier> {
        self.0.verifier.as_ref()
    }

    /// Bytes of `POST /publish` bodies that may be read at once.
    pub fn body_budget(&self) -> &tokio::sync::Semaphore {
        &self.0.body_budget
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
        let connections = self.hub().connection_count();
        let spread_ms = goaway_spread_ms(
            config.shutdown_spread_ms,
            connections,
            config.reconnect_rate,
        );
        tracing::info!(connections, spread_ms, "shutting down");
        self.hub().shutdown(ServerFrame::Goaway {
            reason: GoawayReason::Shutdown,
            retry_after_ms: config.shutdown_retry_after_ms,
            spread_ms,
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

/// The `goaway.spread_ms` for a shutdown: the configured spread, or longer
/// so that `connections` clients come back at no more than `rate` per second
/// (the reconnect-storm simulation in BENCHMARKS.md shows why).
pub fn goaway_spread_ms(configured: u64, connections: usize, rate: u64) -> u64 {
    let needed = (connections as u64).saturating_mul(1000) / rate.max(1);
    configured.max(needed)
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
/// gracefully (see [`AppState::shutdown`]; new connections are still
/// answered, with 503, until the WebSockets are gone) and returns.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(state.clone());
    let drain = {
        let state = state.clone();
        async move {
            shutdown.await;
            state.shutdown().await;
        }
    };
    listen::run(listener, router, state, drain).await
}

/// Locks a mutex, ignoring poisoning: every critical section in this crate
/// leaves its data consistent before any call that could panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Now, RFC 3339 UTC with milliseconds (`2026-11-22T10:00:00.000Z`).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod spread_tests {
    use super::goaway_spread_ms;

    #[test]
    fn spread_grows_with_the_connection_count() {
        assert_eq!(goaway_spread_ms(5000, 100, 1000), 5000);
        assert_eq!(goaway_spread_ms(5000, 10_000, 1000), 10_000);
        assert_eq!(goaway_spread_ms(5000, 100_000, 2000), 50_000);
        assert_eq!(goaway_spread_ms(0, 0, 1), 0);
    }
}
