//! One WebSocket connection: token check, register, welcome, read
//! requests, heartbeat.
//!
//! Each connection has two tasks. This one reads the socket, answers
//! requests and runs the heartbeat; [`writer`] owns the socket's sending
//! half and drains the connection's bounded queue. Everything sent to a
//! client goes through that queue, so frames leave in the order they were
//! queued, and nothing here ever waits on a slow client.
//!
//! The handler is generic over the byte stream ([`Io`]) and speaks
//! WebSocket over it itself ([`crate::ws`]): the server hands it the
//! upgraded socket, tests an in-memory pipe.
//!
//! Memory: an idle connection costs about 3.1 KiB at 2000 connections
//! (`examples/idle_rss.rs`), 3.15 KiB at 10k with 101 topics (the load
//! bench). What it holds for its whole life is kept small: the two futures
//! (a few hundred bytes each, checked by a test; rare paths such as closing
//! are boxed so they do not widen them), the WebSocket's 256-byte read
//! buffer, the hub's [`Conn`] and a queue that holds no storage while
//! empty. Nothing grows with the traffic a connection had: a large message
//! costs its size while it is read or written, and nothing after.

use std::future::{poll_fn, Future};
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::Either;
use tether_protocol::close::{self, code};
use tether_protocol::frames::{decode_client, ClientFrame, ErrorCode, ServerFrame, ServerInfo};
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::time::Instant;
use tracing::Instrument;

use crate::auth::{Grant, Rejection};
use crate::hub::{Conn, Refusal, Subscribe};
use crate::limit::{RateLimiter, Verdict};
use crate::outbox::{Outbound, Queued};
use crate::ws::{self, Message, OpCode};
use crate::{now_rfc3339, AppState};

/// Read buffer of each connection, allocated for its whole life: the
/// largest single cost of an idle connection, so small. Client frames are
/// small requests (a `subscribe` with `recover` is ~120 bytes); a larger
/// message is read straight into a buffer of its own size. 1 KiB -> 256 B
/// took 0.75 KiB off each idle connection (BENCHMARKS.md, section 3).
pub const READ_BUFFER: usize = 256;

/// How many queued frames the writer batches into one flush.
const MAX_BATCH: usize = 64;
/// How long a connection closed by the server keeps reading for the
/// client's close reply (so unread input does not turn into a TCP reset
/// that would destroy the close frame in flight).
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// A byte stream a WebSocket runs over, after its handshake: the upgraded
/// TCP socket, or an in-memory pipe in tests.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T> Io for T where T: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

type Reader<S> = ws::Reader<ReadHalf<S>>;
type Writer<S> = ws::Writer<WriteHalf<S>>;

/// What the upgrade request told about the client.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client's IP, when known (per-IP limits, logs).
    pub ip: Option<IpAddr>,
    /// The `sdk` query parameter (client name/version), for logs.
    pub sdk: Option<String>,
    /// The token check: what the connection may do, or why it is refused.
    pub auth: Result<Grant, Rejection>,
}

impl Peer {
    /// A peer of unknown address, without `sdk`, allowed every topic.
    pub fn anonymous() -> Self {
        Peer {
            ip: None,
            sdk: None,
            auth: Ok(Grant::default()),
        }
    }
}

/// Runs a freshly upgraded socket until it closes.
///
/// A peer whose token was refused gets only a close frame (4401 or 4503);
/// so does a connection over a limit (4429) or arriving during shutdown
/// (1012). Any other connection is registered, gets
/// `connection_established` first, and is served in a log span carrying
/// its `client_id`, the token's `sub` and the `sdk` parameter.
///
/// The token check, the registration and the start of the connection's
/// writer task happen in this call (inside a tokio runtime), before the
/// returned future first runs. The future carries only what reading needs,
/// since it lives as long as the connection: spawn it as a task of its
/// own (as the `/ws` route does) rather than inside a larger future.
pub fn run<S: Io>(
    socket: S,
    state: AppState,
    peer: Peer,
) -> impl Future<Output = ()> + Send + 'static {
    let (read, write) = tokio::io::split(socket);
    let stream = ws::Reader::new(read, READ_BUFFER, state.config().max_frame_bytes as usize);
    let sink = ws::Writer::new(write);
    let (registered, span) = match start(state, peer) {
        Start::Refused(code, reason) => {
            return Either::Left(Box::pin(close_unregistered(sink, stream, code, reason)));
        }
        Start::Serve(registered, span) => (registered, span),
    };
    let send_timeout = registered.state.config().send_timeout;
    let writer =
        tokio::spawn(writer(sink, registered.conn.clone(), send_timeout).instrument(span.clone()));
    let mut serving = Serving {
        stream,
        writer: WriterTask(writer),
        registered,
    };
    Either::Right(
        async move {
            let Serving {
                stream,
                writer,
                registered,
            } = &mut serving;
            registered.end = read_loop(
                stream,
                &registered.state,
                &registered.conn,
                &registered.grant,
                &mut writer.0,
            )
            .await;
        }
        .instrument(span),
    )
}

/// What a served connection's future owns. Fields drop in order: the
/// writer task is aborted before the connection is unregistered.
struct Serving<S> {
    stream: Reader<S>,
    writer: WriterTask,
    registered: Registered,
}

/// How a connection starts.
enum Start {
    /// Not registered: close with this code and reason, send nothing else.
    Refused(u16, String),
    /// Registered, welcome queued: serve it in this log span.
    Serve(Registered, tracing::Span),
}

/// Checks the token, then registers the connection (queuing its welcome).
fn start(state: AppState, peer: Peer) -> Start {
    let grant = match peer.auth {
        Ok(grant) => grant,
        Err(rejection) => {
            state.hub().metrics().auth_rejections.fetch_add(1, Relaxed);
            tracing::info!(
                ip = peer.ip.map(tracing::field::display),
                sdk = peer.sdk.as_deref(),
                reason = %rejection,
                "connection refused: token"
            );
            return Start::Refused(rejection.close_code(), rejection.to_string());
        }
    };
    let hub = state.hub();
    let conn = hub.new_conn(peer.ip);
    let span = tracing::info_span!(
        "conn",
        client_id = %conn.client_id,
        sub = grant.sub.as_deref(),
        sdk = peer.sdk.as_deref(),
    );
    let registered = span.in_scope(
        || match hub.register(&conn, welcome(&state, &conn, &grant)) {
            Ok(connections) => {
                tracing::info!(
                    ip = conn.ip.map(tracing::field::display),
                    connections,
                    "connected"
                );
                Ok(())
            }
            Err(refusal) => {
                tracing::info!(?refusal, "connection refused");
                Err(refusal_close(refusal, &state))
            }
        },
    );
    match registered {
        Ok(()) => Start::Serve(
            Registered {
                state,
                conn,
                grant,
                span: span.clone(),
                end: End::Cancelled,
            },
            span,
        ),
        Err((code, reason)) => Start::Refused(code, reason),
    }
}

/// The connection's writer task, aborted when this is dropped (the writer
/// holds the connection, so it would never end by itself).
struct WriterTask(tokio::task::JoinHandle<WriterEnd>);

impl Drop for WriterTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A registered connection. Dropping it unregisters the connection and
/// logs the disconnect with its `end`, however its task ends (including a
/// panic or cancellation).
struct Registered {
    state: AppState,
    conn: Arc<Conn>,
    grant: Grant,
    span: tracing::Span,
    end: End,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let _entered = self.span.enter();
        let connections = self.state.hub().unregister(&self.conn);
        let client_code = match self.end {
            End::ClientClosed(code) => code,
            _ => None,
        };
        tracing::info!(
            reason = self.end.as_str(),
            client_code,
            connections,
            "disconnected"
        );
    }
}

/// Why a connection ended (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client sent a close frame (with this code, if any).
    ClientClosed(Option<u16>),
    /// The stream ended or failed without a close frame.
    Lost,
    /// An inbound message over `--max-frame-bytes` (closed 1009).
    TooLarge,
    /// Text that is not UTF-8 (closed 1007).
    InvalidUtf8,
    /// A frame that breaks RFC 6455 (closed 1002).
    ProtocolViolation,
    /// The token's `exp` passed (closed 4401).
    TokenExpired,
    /// Nothing arrived for 2.5 heartbeat intervals.
    Stale,
    /// The send queue overflowed or a frame waited too long.
    SlowConsumer,
    /// Too many frames dropped by the rate limit (closed 4429).
    RateLimited,
    /// The server closed it (shutdown: `goaway`, then 1012).
    ServerClosed,
    /// Writing to the socket failed.
    WriteFailed,
    /// The task was cancelled or panicked.
    Cancelled,
}

impl End {
    /// The `reason` field of the disconnect log line.
    fn as_str(self) -> &'static str {
        match self {
            End::ClientClosed(_) => "client_closed",
            End::Lost => "connection_lost",
            End::TooLarge => "too_large",
            End::InvalidUtf8 => "invalid_utf8",
            End::ProtocolViolation => "protocol_violation",
            End::TokenExpired => "token_expired",
            End::Stale => "stale",
            End::SlowConsumer => "slow_consumer",
            End::RateLimited => "rate_limited",
            End::ServerClosed => "server_closed",
            End::WriteFailed => "write_failed",
            End::Cancelled => "cancelled",
        }
    }
}

/// Reads until the connection ends; returns why.
async fn read_loop<S: Io>(
    stream: &mut Reader<S>,
    state: &AppState,
    conn: &Arc<Conn>,
    grant: &Grant,
    writer: &mut tokio::task::JoinHandle<WriterEnd>,
) -> End {
    let config = state.config();
    let interval = config.heartbeat_interval;
    let stale_after = interval.mul_f64(2.5);
    let mut heartbeat = tokio::time::interval_at(Instant::now() + interval, interval);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_seen = Instant::now();
    let mut limiter =
        (config.rate_limit > 0).then(|| RateLimiter::new(config.rate_limit, last_seen.into_std()));
    loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > stale_after {
                    state.hub().metrics().stale_disconnects.fetch_add(1, Relaxed);
                    return End::Stale;
                }
                // Checked with the heartbeat: no timer of its own per
                // connection (README: closed within one interval of it).
                if grant.expired(crate::auth::unix_now()) {
                    let reason = "token expired".to_owned();
                    Box::pin(close_and_linger(conn, code::TOKEN_EXPIRED, reason, stream, writer)).await;
                    return End::TokenExpired;
                }
                conn.send(Outbound::Ping);
                continue;
            }
            _ = conn.kicked() => return End::SlowConsumer,
            end = &mut *writer => {
                return match end {
                    // After a close the server sent (shutdown), read until
                    // the client's close reply, as after any server close.
                    Ok(WriterEnd::Closed) => {
                        Box::pin(linger(stream)).await;
                        End::ServerClosed
                    }
                    Ok(WriterEnd::Slow) => End::SlowConsumer,
                    Ok(WriterEnd::Gone) | Err(_) => End::WriteFailed,
                };
            }
        };
        last_seen = Instant::now();
        let msg = match msg {
            None => return End::Lost,
            Some(Ok(msg)) => msg,
            Some(Err(err)) => {
                let Some(c) = err.close_code() else {
                    return End::Lost;
                };
                let (end, reason) = match err {
                    ws::ReadError::TooLarge(_) => (End::TooLarge, "message too large".into()),
                    ws::ReadError::InvalidUtf8 => (End::InvalidUtf8, "invalid UTF-8".into()),
                    _ => (End::ProtocolViolation, err.to_string()),
                };
                Box::pin(close_and_linger(conn, c, reason, stream, writer)).await;
                return end;
            }
        };
        let text = match msg {
            Message::Text(text) => Some(text),
            Message::Binary => None,
            // Both prove liveness; a ping is answered in order with the rest.
            Message::Ping(payload) => {
                conn.send(Outbound::Pong(payload));
                continue;
            }
            Message::Pong => continue,
            Message::Close(payload) => {
                let code = payload.as_ref().map(|(code, _)| *code);
                // Echo the close (RFC 6455, 5.5.1), then end.
                conn.send(Outbound::Close(code.unwrap_or(code::NORMAL), String::new()));
                let _ = Box::pin(tokio::time::timeout(CLOSE_LINGER, &mut *writer)).await;
                return End::ClientClosed(code);
            }
        };
        conn.note_in();
        if let Some(limiter) = limiter.as_mut() {
            match limiter.check(last_seen.into_std()) {
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
                    Box::pin(close_and_linger(
                        conn,
                        code::TOO_MANY,
                        reason,
                        stream,
                        writer,
                    ))
                    .await;
                    return End::RateLimited;
                }
            }
        }
        match text {
            Some(text) => {
                if let Some(deferred) = handle_text(state, conn, grant, text.as_str()) {
                    // Boxed: it must not widen this future (a broker
                    // publish is a large one); client publishes and
                    // lagging subscribes are rare next to the frames read.
                    Box::pin(finish(state, conn, deferred)).await;
                }
            }
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

/// Queues a close, waits for the writer to send it, then [`linger`]s.
async fn close_and_linger<S: Io>(
    conn: &Conn,
    code: u16,
    reason: String,
    stream: &mut Reader<S>,
    writer: &mut tokio::task::JoinHandle<WriterEnd>,
) {
    conn.send(Outbound::Close(code, reason));
    if let Ok(Ok(WriterEnd::Closed)) = tokio::time::timeout(CLOSE_LINGER, &mut *writer).await {
        linger(stream).await;
    }
}

/// After the server sent a close: keeps reading (discarding) until the
/// client's close reply, the end of the stream, or [`CLOSE_LINGER`].
async fn linger<S: Io>(stream: &mut Reader<S>) {
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
    conn.send(Outbound::Text(Bytes::from(frame.encode())));
}

/// Topic names this connection may use, in configuration order.
fn visible_topics(state: &AppState, grant: &Grant) -> Vec<String> {
    let mut names = state.hub().topic_names();
    names.retain(|name| grant.allows(name));
    names
}

/// How long a subscribe whose recovery position is ahead of this process's
/// mirror of the broker waits for the mirror to catch up.
const AHEAD_WAIT: Duration = Duration::from_secs(1);

/// A request whose answer may need waiting; finished by [`finish`] before
/// the next frame is read, so replies keep their order.
enum Deferred {
    /// A client publish (ready at once in memory; a round trip through a
    /// broker).
    Publish(tether_protocol::frames::Publish),
    /// A subscribe whose recovery position is ahead of the mirror.
    Subscribe {
        sub: tether_protocol::frames::Subscribe,
        ahead: tokio::sync::watch::Receiver<u64>,
    },
}

/// Finishes a [`Deferred`] request.
async fn finish(state: &AppState, conn: &Arc<Conn>, deferred: Deferred) {
    match deferred {
        Deferred::Publish(p) => match state.publish(&p.topic, p.event, p.data).await {
            Ok((epoch, offset)) => reply(
                conn,
                &ServerFrame::Published {
                    id: p.id,
                    epoch,
                    offset,
                },
            ),
            Err(crate::PublishError::Topic(e)) => reply(
                conn,
                &ServerFrame::error(Some(p.id), ErrorCode::UnknownTopic, e.to_string()),
            ),
            Err(crate::PublishError::Unavailable(_)) => reply(
                conn,
                &ServerFrame::error(
                    Some(p.id),
                    ErrorCode::Unavailable,
                    "the broker is unreachable; retry later",
                ),
            ),
        },
        Deferred::Subscribe { sub, mut ahead } => {
            if let Some(pos) = &sub.recover {
                let target = pos.offset;
                let _ = tokio::time::timeout(AHEAD_WAIT, ahead.wait_for(|o| *o >= target)).await;
            }
            // Whatever the mirror has now is the answer (recovered: false
            // if the position is still ahead).
            let _ = state.hub().subscribe(conn, &sub, false);
        }
    }
}

/// Handles one text frame; returns what must still be waited for.
fn handle_text(state: &AppState, conn: &Arc<Conn>, grant: &Grant, text: &str) -> Option<Deferred> {
    let frame = match decode_client(text) {
        Ok(frame) => frame,
        Err(err) => {
            reply(conn, &err.to_frame());
            return None;
        }
    };
    let hub = state.hub();
    let unknown_topic = |id: u64, topic: &str| ServerFrame::Error {
        id: Some(id),
        code: ErrorCode::UnknownTopic,
        // Never echo an arbitrary (possibly huge) name back.
        message: if crate::config::valid_topic_name(topic) {
            format!("unknown topic `{topic}`")
        } else {
            "invalid topic name: use 1-64 characters of A-Z a-z 0-9 _ - . :".to_owned()
        },
        available_topics: Some(visible_topics(state, grant)),
    };
    let not_granted = |id: u64, topic: &str| {
        ServerFrame::error(
            Some(id),
            ErrorCode::Forbidden,
            format!("the token does not grant topic `{topic}`"),
        )
    };
    match frame {
        ClientFrame::Subscribe(s) => {
            if hub.topic_info(&s.topic).is_none() {
                reply(conn, &unknown_topic(s.id, &s.topic));
                return None;
            }
            if !grant.allows(&s.topic) {
                reply(conn, &not_granted(s.id, &s.topic));
                return None;
            }
            // On success the hub queues `subscribed` (+ replay) itself.
            match hub.subscribe(conn, &s, true) {
                Ok(Subscribe::Done) => {}
                Ok(Subscribe::Ahead(ahead)) => return Some(Deferred::Subscribe { sub: s, ahead }),
                Err(_) => reply(conn, &unknown_topic(s.id, &s.topic)),
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
                reply(conn, &unknown_topic(p.id, &p.topic));
                return None;
            };
            if !grant.allows(&p.topic) {
                reply(conn, &not_granted(p.id, &p.topic));
                return None;
            }
            if !info.client_publish {
                reply(
                    conn,
                    &ServerFrame::error(
                        Some(p.id),
                        ErrorCode::Forbidden,
                        format!("clients may not publish on `{}`", p.topic),
                    ),
                );
                return None;
            }
            // Answered once published (at once in memory, after a round
            // trip through a broker).
            return Some(Deferred::Publish(p));
        }
        ClientFrame::GetStatus(g) => reply(conn, &conn.status(g.id)),
        ClientFrame::GetTopics(g) => {
            let mut topics = hub.topic_infos();
            topics.retain(|t| grant.allows(&t.name));
            reply(conn, &ServerFrame::Topics { id: g.id, topics });
        }
        ClientFrame::Pong(_) => {}
    }
    None
}

/// The `connection_established` frame for `conn`.
fn welcome(state: &AppState, conn: &Conn, grant: &Grant) -> Bytes {
    let frame = ServerFrame::ConnectionEstablished {
        protocol: tether_protocol::PROTOCOL_VERSION,
        client_id: conn.client_id.clone(),
        timestamp: now_rfc3339(),
        heartbeat_interval: state.config().heartbeat_interval.as_secs_f64(),
        available_topics: visible_topics(state, grant),
        server_info: ServerInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            features: ["topics", "recovery", "heartbeat", "rpc"]
                .map(String::from)
                .to_vec(),
        },
    };
    Bytes::from(frame.encode())
}

/// The close for a connection the hub refused (and counts it).
fn refusal_close(refusal: Refusal, state: &AppState) -> (u16, String) {
    match refusal {
        Refusal::ShuttingDown => (code::SERVICE_RESTART, "server shutting down".to_owned()),
        Refusal::Paused => (code::TRY_AGAIN_LATER, "try again later".to_owned()),
        Refusal::NotReady => (code::TRY_AGAIN_LATER, "broker unavailable".to_owned()),
        Refusal::TooManyConnections | Refusal::TooManyForIp => {
            state.hub().metrics().refused_limit.fetch_add(1, Relaxed);
            (
                code::TOO_MANY,
                close::retry_after_reason(1000 + fastrand::u64(..4000)),
            )
        }
    }
}

/// Sends a close frame on a connection that was never registered, then
/// reads until the client's close reply (at most [`CLOSE_LINGER`]).
async fn close_unregistered<S: Io>(
    mut sink: Writer<S>,
    mut stream: Reader<S>,
    code: u16,
    reason: String,
) {
    let linger = async {
        let sent = async {
            sink.send_close(code, &reason).await?;
            sink.flush().await
        };
        if sent.await.is_ok() {
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
/// than `send_timeout` (the client is a slow consumer). Its end closes the
/// queue, so later sends to the connection fail at once.
pub async fn writer<S: Io>(
    mut sink: Writer<S>,
    conn: Arc<Conn>,
    send_timeout: Duration,
) -> WriterEnd {
    let _close = CloseQueue(&conn);
    while let Some(first) = conn.next_queued().await {
        // Boxed: a batch's state exists only while it is being written, not
        // for the whole life of an idle connection.
        let mut batch = Box::pin(write_batch(&mut sink, &conn, first, send_timeout));
        // Most batches finish in their first poll (the socket takes them at
        // once) and need no timer; only one that waits for the socket gets
        // one, so a fan-out does not touch the timer wheel per connection.
        let done = match poll_fn(|cx| Poll::Ready(batch.as_mut().poll(cx))).await {
            Poll::Ready(done) => Ok(done),
            Poll::Pending => tokio::time::timeout(send_timeout, batch).await,
        };
        match done {
            Ok(Ok(Written::Flushed)) => {}
            Ok(Ok(Written::Closed)) => return WriterEnd::Closed,
            Ok(Err(WriteError::Failed)) => return WriterEnd::Gone,
            Ok(Err(WriteError::Slow)) | Err(_) => {
                conn.kick_slow_consumer();
                return WriterEnd::Slow;
            }
        }
    }
    let _ = Box::pin(tokio::time::timeout(send_timeout, sink.shutdown())).await;
    WriterEnd::Gone
}

/// Closes the connection's queue when the writer ends, however it ends.
struct CloseQueue<'a>(&'a Conn);

impl Drop for CloseQueue<'_> {
    fn drop(&mut self) {
        self.0.close_queue();
    }
}

/// What [`write_batch`] wrote.
enum Written {
    /// Frames, flushed.
    Flushed,
    /// Frames ending with a close frame, flushed.
    Closed,
}

/// Why [`write_batch`] stopped.
enum WriteError {
    /// A frame had waited longer than `--send-timeout` in the queue.
    Slow,
    /// The socket failed.
    Failed,
}

/// Feeds `first` and what else is queued (up to [`MAX_BATCH`] items, up to
/// a close frame) to the socket, then flushes once.
async fn write_batch<S: Io>(
    sink: &mut Writer<S>,
    conn: &Conn,
    first: Queued,
    send_timeout: Duration,
) -> Result<Written, WriteError> {
    let mut next = Some(first);
    let mut items = 0;
    let mut written = Written::Flushed;
    while let Some(q) = next.take() {
        if q.at.elapsed() > send_timeout {
            return Err(WriteError::Slow);
        }
        match q.item {
            // Counted before the bytes can reach the client, so a client
            // that saw a frame also sees it in the counters.
            Outbound::Text(t) => {
                conn.note_out(1);
                feed(sink, OpCode::Text, &t).await?;
            }
            Outbound::Batch(frames) => {
                conn.note_out(frames.len() as u64);
                for t in frames {
                    feed(sink, OpCode::Text, &t).await?;
                }
            }
            Outbound::Ping => feed(sink, OpCode::Ping, &[]).await?,
            Outbound::Pong(payload) => feed(sink, OpCode::Pong, &payload).await?,
            Outbound::Close(code, reason) => {
                sink.send_close(code, &reason)
                    .await
                    .map_err(|_| WriteError::Failed)?;
                written = Written::Closed;
                break;
            }
        }
        items += 1;
        if items < MAX_BATCH {
            next = conn.try_next_queued();
        }
    }
    sink.flush().await.map_err(|_| WriteError::Failed)?;
    Ok(written)
}

/// Feeds one frame to the socket (small ones buffered until the flush).
async fn feed<S: Io>(
    sink: &mut Writer<S>,
    opcode: OpCode,
    payload: &[u8],
) -> Result<(), WriteError> {
    sink.send(opcode, payload)
        .await
        .map_err(|_| WriteError::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::upgrade::Upgraded101 as Socket;

    /// Size of the future returned by a function of three arguments.
    fn future_size<A, B, C, F>(_: impl FnOnce(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// The two futures that live as long as a connection (each in its own
    /// task) stay small: a few hundred bytes each, against a few KiB for
    /// the rest of an idle connection (see `examples/idle_rss.rs`).
    #[test]
    fn connection_futures_stay_small() {
        let reader = future_size(run::<Socket>);
        let writer = future_size(writer::<Socket>);
        eprintln!("connection futures: reader {reader} bytes, writer {writer} bytes");
        assert!(reader <= 800, "reader future: {reader} bytes");
        assert!(writer <= 400, "writer future: {writer} bytes");
    }
}
