//! One WebSocket connection: register, welcome, read requests, heartbeat.
//!
//! Each connection has two tasks. This one reads the socket, answers
//! requests and runs the heartbeat; [`writer`] owns the socket's sending
//! half and drains the connection's bounded queue. Everything sent to a
//! client goes through that queue, so frames leave in the order they were
//! queued, and nothing here ever waits on a slow client.

use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tether_protocol::close::{self, code};
use tether_protocol::frames::{decode_client, ClientFrame, ErrorCode, ServerFrame, ServerInfo};
use tokio::sync::mpsc;

use crate::hub::{Conn, Outbound, Queued, Refusal};
use crate::limit::{RateLimiter, Verdict};
use crate::{now_rfc3339, AppState};

/// How many queued frames the writer batches into one flush.
const MAX_BATCH: usize = 64;
/// How long a connection closed by the server keeps reading for the
/// client's close reply (so unread input does not turn into a TCP reset
/// that would destroy the close frame in flight).
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Runs a freshly upgraded socket until it closes.
pub async fn run(socket: WebSocket, state: AppState, ip: Option<IpAddr>, sdk: Option<String>) {
    let hub = state.hub();
    let (conn, rx) = hub.new_conn(ip);
    let (sink, stream) = socket.split();
    let welcome = welcome(&state, &conn);
    if let Err(refusal) = hub.register(&conn, welcome) {
        refuse(sink, stream, refusal, &state).await;
        return;
    }
    tracing::debug!(client_id = %conn.client_id, ?ip, sdk = sdk.as_deref(), "connected");
    // From here on the connection is registered; the guard unregisters it
    // however this task ends (including a panic or cancellation).
    let _registered = Registered {
        state: &state,
        conn: &conn,
    };
    let send_timeout = state.config().send_timeout;
    let mut writer = tokio::spawn(writer(sink, rx, conn.clone(), send_timeout));
    let reason = read_loop(stream, &state, &conn, &mut writer).await;
    tracing::debug!(client_id = %conn.client_id, ?reason, "disconnected");
    if !writer.is_finished() {
        writer.abort();
    }
}

/// Unregisters the connection when dropped.
struct Registered<'a> {
    state: &'a AppState,
    conn: &'a Arc<Conn>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.state.hub().unregister(self.conn);
    }
}

/// Why a connection ended (for logs).
#[derive(Debug)]
enum End {
    ClientClosed,
    SocketError,
    TooLarge,
    InvalidUtf8,
    Stale,
    SlowConsumer,
    RateLimited,
    WriterDone,
}

/// Reads until the connection ends; returns why.
async fn read_loop(
    mut stream: SplitStream<WebSocket>,
    state: &AppState,
    conn: &Arc<Conn>,
    writer: &mut tokio::task::JoinHandle<WriterEnd>,
) -> End {
    let config = state.config();
    let interval = config.heartbeat_interval;
    let stale_after = interval.mul_f64(2.5);
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();
    let mut limiter =
        (config.rate_limit > 0).then(|| RateLimiter::new(config.rate_limit, last_seen));
    loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > stale_after {
                    state.hub().metrics().stale_disconnects.fetch_add(1, Relaxed);
                    return End::Stale;
                }
                conn.send(Outbound::Ping);
                continue;
            }
            _ = conn.kicked() => return End::SlowConsumer,
            end = &mut *writer => {
                // After a close the server sent (shutdown), read until the
                // client's close reply, as after any server close.
                if matches!(end, Ok(WriterEnd::Closed)) {
                    linger(&mut stream).await;
                }
                return End::WriterDone;
            }
        };
        last_seen = Instant::now();
        let msg = match msg {
            None => return End::ClientClosed,
            Some(Ok(msg)) => msg,
            Some(Err(err)) => {
                let end = match classify_error(err) {
                    Some(end) => end,
                    None => return End::SocketError,
                };
                let (c, reason) = match end {
                    End::TooLarge => (code::TOO_LARGE, "message too large"),
                    _ => (code::INVALID_PAYLOAD, "invalid UTF-8"),
                };
                close_and_linger(conn, c, reason.into(), &mut stream, writer).await;
                return end;
            }
        };
        let text = match msg {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
            // Pings are answered by the WebSocket layer; both prove liveness.
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return End::ClientClosed,
        };
        conn.note_in();
        if let Some(limiter) = limiter.as_mut() {
            match limiter.check(last_seen) {
                Verdict::Allow => {}
                Verdict::Drop { notify } => {
                    state
                        .hub()
                        .metrics()
                        .dropped_rate_limited
                        .fetch_add(1, Relaxed);
                    if notify {
                        reply(
                            conn,
                            &ServerFrame::error(
                                None,
                                ErrorCode::RateLimited,
                                format!(
                                    "over {} frames per second; frames are being dropped",
                                    config.rate_limit
                                ),
                            ),
                        );
                    }
                    continue;
                }
                Verdict::Close => {
                    state
                        .hub()
                        .metrics()
                        .dropped_rate_limited
                        .fetch_add(1, Relaxed);
                    let reason = close::retry_after_reason(1000);
                    close_and_linger(conn, code::TOO_MANY, reason, &mut stream, writer).await;
                    return End::RateLimited;
                }
            }
        }
        match text {
            Some(text) => handle_text(state, conn, text.as_str()),
            None => reply(
                conn,
                &ServerFrame::error(
                    None,
                    ErrorCode::BadFrame,
                    "binary frames are not supported; send JSON text",
                ),
            ),
        }
    }
}

/// Maps a read error to a close the server should send, if any.
fn classify_error(err: axum::Error) -> Option<End> {
    let inner = err.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => Some(End::TooLarge),
        Some(tungstenite::Error::Utf8(_)) => Some(End::InvalidUtf8),
        _ => None,
    }
}

/// Queues a close, waits for the writer to send it, then [`linger`]s.
async fn close_and_linger(
    conn: &Conn,
    code: u16,
    reason: String,
    stream: &mut SplitStream<WebSocket>,
    writer: &mut tokio::task::JoinHandle<WriterEnd>,
) {
    conn.send(Outbound::Close(code, reason));
    if let Ok(Ok(WriterEnd::Closed)) = tokio::time::timeout(CLOSE_LINGER, &mut *writer).await {
        linger(stream).await;
    }
}

/// After the server sent a close: keeps reading (discarding) until the
/// client's close reply, the end of the stream, or [`CLOSE_LINGER`].
async fn linger(stream: &mut SplitStream<WebSocket>) {
    let drain = async {
        while let Some(Ok(msg)) = stream.next().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_LINGER, drain).await;
}

/// Queues a reply frame.
fn reply(conn: &Conn, frame: &ServerFrame) {
    conn.send(Outbound::Text(Utf8Bytes::from(frame.encode())));
}

/// Handles one text frame.
fn handle_text(state: &AppState, conn: &Arc<Conn>, text: &str) {
    let frame = match decode_client(text) {
        Ok(frame) => frame,
        Err(err) => return reply(conn, &err.to_frame()),
    };
    let hub = state.hub();
    let unknown_topic = |id: u64, topic: &str| ServerFrame::Error {
        id: Some(id),
        code: ErrorCode::UnknownTopic,
        message: format!("unknown topic `{topic}`"),
        available_topics: Some(hub.topic_names()),
    };
    match frame {
        ClientFrame::Subscribe(s) => {
            // On success the hub queues `subscribed` (+ replay) itself.
            if hub
                .subscribe(conn, s.id, &s.topic, s.recover.as_ref())
                .is_err()
            {
                reply(conn, &unknown_topic(s.id, &s.topic));
            }
        }
        ClientFrame::Unsubscribe(u) => match hub.unsubscribe(conn, &u.topic) {
            Ok(()) => reply(
                conn,
                &ServerFrame::Unsubscribed {
                    id: u.id,
                    topic: u.topic,
                },
            ),
            Err(_) => reply(conn, &unknown_topic(u.id, &u.topic)),
        },
        ClientFrame::Ping(p) => {
            let stats = p.include_stats.then(|| state.stats());
            reply(
                conn,
                &ServerFrame::Pong {
                    id: p.id,
                    server_time: now_rfc3339(),
                    stats,
                },
            );
        }
        ClientFrame::Publish(p) => {
            let Some(info) = hub.topic_info(&p.topic) else {
                return reply(conn, &unknown_topic(p.id, &p.topic));
            };
            if !info.client_publish {
                return reply(
                    conn,
                    &ServerFrame::error(
                        Some(p.id),
                        ErrorCode::Forbidden,
                        format!("clients may not publish on `{}`", p.topic),
                    ),
                );
            }
            match hub.publish(&p.topic, p.event, p.data) {
                Ok((epoch, offset)) => reply(
                    conn,
                    &ServerFrame::Published {
                        id: p.id,
                        epoch,
                        offset,
                    },
                ),
                Err(_) => reply(conn, &unknown_topic(p.id, &p.topic)),
            }
        }
        ClientFrame::GetStatus(g) => reply(conn, &conn.status(g.id)),
        ClientFrame::GetTopics(g) => reply(
            conn,
            &ServerFrame::Topics {
                id: g.id,
                topics: hub.topic_infos(),
            },
        ),
        ClientFrame::Pong(_) => {}
    }
}

/// The `connection_established` frame for `conn`.
fn welcome(state: &AppState, conn: &Conn) -> Utf8Bytes {
    let frame = ServerFrame::ConnectionEstablished {
        protocol: tether_protocol::PROTOCOL_VERSION,
        client_id: conn.client_id.clone(),
        timestamp: now_rfc3339(),
        heartbeat_interval: state.config().heartbeat_interval.as_secs_f64(),
        available_topics: state.hub().topic_names(),
        server_info: ServerInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            features: ["topics", "recovery", "heartbeat", "rpc"]
                .map(String::from)
                .to_vec(),
        },
    };
    Utf8Bytes::from(frame.encode())
}

/// Closes a connection that could not be registered; nothing else is sent.
async fn refuse(
    mut sink: SplitSink<WebSocket, Message>,
    mut stream: SplitStream<WebSocket>,
    refusal: Refusal,
    state: &AppState,
) {
    let (code, reason) = match refusal {
        Refusal::ShuttingDown => (code::SERVICE_RESTART, "server shutting down".to_owned()),
        Refusal::TooManyConnections | Refusal::TooManyForIp => {
            state
                .hub()
                .metrics()
                .refused_connections
                .fetch_add(1, Relaxed);
            (
                code::TOO_MANY,
                close::retry_after_reason(1000 + fastrand::u64(..4000)),
            )
        }
    };
    tracing::debug!(?refusal, "connection refused");
    let close = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let linger = async {
        if sink.send(close).await.is_ok() {
            while let Some(Ok(msg)) = stream.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_LINGER, linger).await;
}

/// How a [`writer`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterEnd {
    /// It sent a close frame.
    Closed,
    /// The queue closed (the connection is being dropped) or the socket failed.
    Gone,
    /// A frame waited longer than `--send-timeout`: slow consumer, kicked.
    Slow,
}

/// Drains the connection's queue into the socket. Ends after a close frame,
/// when the queue closes, on a socket error, or when a frame waited longer
/// than `send_timeout` (the client is a slow consumer).
pub async fn writer(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Queued>,
    conn: Arc<Conn>,
    send_timeout: Duration,
) -> WriterEnd {
    while let Some(first) = rx.recv().await {
        // Feed what is queued (up to MAX_BATCH items), then flush once.
        let mut next = Some(first);
        let mut closing = false;
        let mut items = 0;
        let write = async {
            while let Some(q) = next.take() {
                if q.at.elapsed() > send_timeout {
                    return Err(true);
                }
                match q.item {
                    // Counted before the bytes can reach the client, so a
                    // client that saw a frame also sees it in the counters.
                    Outbound::Text(t) => {
                        conn.note_out(1);
                        sink.feed(Message::Text(t)).await.map_err(|_| false)?;
                    }
                    Outbound::Batch(frames) => {
                        conn.note_out(frames.len() as u64);
                        for t in frames {
                            sink.feed(Message::Text(t)).await.map_err(|_| false)?;
                        }
                    }
                    Outbound::Ping => sink
                        .feed(Message::Ping(Default::default()))
                        .await
                        .map_err(|_| false)?,
                    Outbound::Close(code, reason) => {
                        closing = true;
                        let frame = CloseFrame {
                            code,
                            reason: reason.into(),
                        };
                        sink.feed(Message::Close(Some(frame)))
                            .await
                            .map_err(|_| false)?;
                        break;
                    }
                }
                items += 1;
                if items < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            sink.flush().await.map_err(|_| false)
        };
        let result = tokio::time::timeout(send_timeout, write).await;
        match result {
            Ok(Ok(())) if closing => return WriterEnd::Closed,
            Ok(Ok(())) => {}
            Ok(Err(false)) => return WriterEnd::Gone,
            Ok(Err(true)) | Err(_) => {
                conn.kick_slow_consumer();
                return WriterEnd::Slow;
            }
        }
    }
    let _ = tokio::time::timeout(send_timeout, sink.close()).await;
    WriterEnd::Gone
}
