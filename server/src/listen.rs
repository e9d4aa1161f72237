//! The accept loop: HTTP/1.1 over each accepted TCP socket, with the
//! limits that protect the server before a connection is a WebSocket.
//!
//! - **Header-read timeout** (`--header-timeout`): a connection that does
//!   not deliver a request's headers in time (silent, or sending them
//!   slowly, or idle between keep-alive requests) is closed. (`axum::serve`
//!   sets up hyper without a timer, which turns this timeout off.)
//! - **Connections per IP still in HTTP** (`--max-pending-per-ip`): a
//!   socket over it is closed at once, before anything is read, so one
//!   address holding many silent sockets cannot use up the descriptors
//!   other clients need. A socket stops counting when it becomes a
//!   WebSocket (those count against `--max-connections-per-ip`) or closes.
//!
//! Upgraded sockets leave hyper and are served by [`crate::conn`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::lock;
use crate::AppState;

/// How long a shutdown waits for HTTP requests in flight to finish, after
/// the WebSockets were drained.
const HTTP_DRAIN: Duration = Duration::from_secs(2);
/// Pause after an accept error such as running out of descriptors, so the
/// loop does not spin while connections close.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `drain` completes (it should start
/// the server's shutdown and wait for the WebSockets to go), then waits a
/// little for HTTP requests in flight.
pub async fn run(
    listener: TcpListener,
    router: Router,
    state: AppState,
    drain: impl Future<Output = ()>,
) -> io::Result<()> {
    let config = state.config();
    let pending = Arc::new(Pending::new(config.max_pending_per_ip as usize));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    // Set once draining; each HTTP connection holds a receiver, so the
    // sender sees when they are all gone.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::pin!(drain);
    loop {
        let (tcp, addr) = tokio::select! {
            biased;
            () = &mut drain => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    if !is_per_connection(&e) {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                    continue;
                }
            },
        };
        let Some(slot) = Pending::take(&pending, addr.ip()) else {
            state.hub().metrics().refused_pending.fetch_add(1, Relaxed);
            tracing::debug!(ip = %addr.ip(), "connection refused: too many in HTTP from this IP");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(addr));
            let mut router = router.clone();
            async move {
                let response = tower_service::Service::call(&mut router, req).await;
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        });
        let conn = http
            .serve_connection(TokioIo::new(tcp), service)
            .with_upgrades();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            // Ends when the client leaves, a timeout closes it, or it was
            // upgraded (the WebSocket then runs in a task of its own).
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                _ = async { stopping.wait_for(|s| *s).await.is_ok() } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "http connection ended");
            }
            drop(slot);
        });
    }
    drop((listener, stopping));
    stop.send_replace(true);
    let _ = tokio::time::timeout(HTTP_DRAIN, stop.closed()).await;
    Ok(())
}

/// Errors that concern one connection only (the next accept may succeed).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Sockets per IP that are still in HTTP.
struct Pending {
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    max: usize,
}

/// One counted socket; uncounted when dropped.
struct Slot {
    pending: Arc<Pending>,
    ip: IpAddr,
}

impl Pending {
    fn new(max: usize) -> Self {
        Pending {
            per_ip: Mutex::default(),
            max,
        }
    }

    /// Counts a socket from `ip`, unless `ip` has `max` already.
    fn take(this: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut per_ip = lock(&this.per_ip);
        let n = per_ip.entry(ip).or_default();
        if *n >= this.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            pending: this.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_ip = lock(&self.pending.per_ip);
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

/// Raises this process's open-file limit to its hard limit (each
/// connection is a descriptor; many systems start processes at 1024).
/// Returns the limit in effect.
#[cfg(unix)]
pub fn raise_fd_limit() -> io::Result<libc::rlim_t> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_slots_are_bounded_per_ip_and_given_back() {
        let p = Arc::new(Pending::new(2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let s1 = Pending::take(&p, a).unwrap();
        let _s2 = Pending::take(&p, a).unwrap();
        assert!(Pending::take(&p, a).is_none());
        assert!(Pending::take(&p, b).is_some());
        drop(s1);
        assert!(Pending::take(&p, a).is_some());
    }
}
