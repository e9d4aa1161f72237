//! The hub: registered connections, the topics and the fan-out. A topic's
//! log and its rules are in [`crate::log`], a connection's send queue in
//! [`crate::outbox`].
//!
//! Ordering is what matters here, so the rules are few:
//! - A connection is registered, and its `connection_established` queued, in
//!   one step under the registry lock: nothing reaches a connection before
//!   its welcome, and nothing is ever queued for an unregistered one.
//! - Each topic has one mutex over its log and its subscriber set.
//!   Publishing (assign offset, serialize once, keep in history, queue for
//!   every subscriber) and subscribing (add subscriber, snapshot history,
//!   queue `subscribed` + replay as one item) happen under it, so a replay
//!   always precedes the live publications that follow it, with no gap and
//!   no duplicate.
//! - Queuing never waits: it is a push onto the connection's bounded queue
//!   ([`Outbox`]: a short mutex, no await); a full queue disconnects that
//!   slow consumer. No lock is ever held across a socket write; those
//!   happen in each connection's writer task.
//!
//! Each topic's log ([`MemoryLog`]) is either the source of truth (the
//! in-memory hub: publishing through [`crate::publish::Local`] assigns
//! offsets) or, with a broker
//! (`--broker`, see [`crate::broker`]), a mirror of the broker's log: the
//! broker assigns offsets and keeps the history, and this process applies
//! what its broker subscription delivers ([`Hub::apply`], [`Hub::sync`]) in
//! offset order. Subscribing, recovery and fan-out work on the mirror under
//! the same topic lock either way, so the ordering rules above hold in both
//! modes; the registry, the queues and the connection tasks do not know
//! which mode runs.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tether_protocol::frames::{ServerFrame, TopicInfo};
use tokio::sync::{watch, Notify};

use crate::log::{new_epoch, Applied, Kept, MemoryLog, Recovery, Retention, Snapshot, SyncStep};
use crate::metrics::Metrics;
use crate::outbox::{Outbound, Outbox, Queued, Rejected};
use crate::{lock, now_rfc3339};

/// A connection's id inside this process.
pub type ConnId = u64;

/// One WebSocket connection as the hub sees it.
#[derive(Debug)]
pub struct Conn {
    /// Process-local id.
    pub id: ConnId,
    /// The id the client is told (`c_…`).
    pub client_id: String,
    /// Peer address, when known.
    pub ip: Option<IpAddr>,
    /// When the upgrade completed.
    pub connected_at: DateTime<Utc>,
    outbox: Outbox,
    kicked: AtomicBool,
    kick: Notify,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    last_activity: Mutex<DateTime<Utc>>,
    subscriptions: Mutex<BTreeSet<String>>,
    metrics: Arc<Metrics>,
}

impl Conn {
    /// Queues an item without waiting. A full queue marks the connection as
    /// a slow consumer and kicks it; returns whether the item was queued.
    pub fn send(&self, item: Outbound) -> bool {
        self.send_at(item, Instant::now())
    }

    /// [`Conn::send`] with the time the item counts as queued at (a
    /// fan-out reads the clock once for all its recipients).
    fn send_at(&self, item: Outbound, at: Instant) -> bool {
        match self.outbox.push(Queued { item, at }) {
            Ok(()) => true,
            Err(Rejected::Full) => {
                self.metrics
                    .dropped_slow_consumer
                    .fetch_add(1, Ordering::Relaxed);
                self.kick_slow_consumer();
                false
            }
            // The connection is going away.
            Err(Rejected::Closed) => false,
        }
    }

    /// The next queued item, waiting for one; `None` once the queue is
    /// closed. For the connection's writer (one consumer).
    pub async fn next_queued(&self) -> Option<Queued> {
        self.outbox.pop().await
    }

    /// The next queued item, if one is waiting.
    pub fn try_next_queued(&self) -> Option<Queued> {
        self.outbox.try_pop()
    }

    /// Closes the send queue: queued items are dropped, later sends fail
    /// (and do not count as a slow consumer), the writer's
    /// [`Conn::next_queued`] returns `None`. Called when the writer ends
    /// and when the connection is unregistered.
    pub fn close_queue(&self) {
        self.outbox.close();
    }

    /// Disconnects this connection as a slow consumer (counted once).
    pub fn kick_slow_consumer(&self) {
        if !self.kicked.swap(true, Ordering::AcqRel) {
            self.metrics
                .slow_consumer_disconnects
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(client_id = %self.client_id, "slow consumer: disconnecting");
            self.kick.notify_one();
        }
    }

    /// Completes once the connection has been kicked.
    pub async fn kicked(&self) {
        self.kick.notified().await
    }

    /// Counts one frame received and marks activity.
    pub fn note_in(&self) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
        self.metrics.messages_in.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_activity) = Utc::now();
    }

    /// Counts frames written to the socket.
    pub fn note_out(&self, n: u64) {
        self.messages_out.fetch_add(n, Ordering::Relaxed);
        self.metrics.messages_out.fetch_add(n, Ordering::Relaxed);
    }

    /// The `status` reply for this connection.
    pub fn status(&self, id: u64) -> ServerFrame {
        ServerFrame::Status {
            id,
            client_id: self.client_id.clone(),
            connected_at: rfc3339(self.connected_at),
            last_activity: rfc3339(*lock(&self.last_activity)),
            subscriptions: lock(&self.subscriptions).iter().cloned().collect(),
            messages_in: self.messages_in.load(Ordering::Relaxed),
            messages_out: self.messages_out.load(Ordering::Relaxed),
        }
    }
}

/// What [`Hub::sync`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    /// The mirror was up to date.
    Unchanged,
    /// The mirror was behind; this many publications were applied (and
    /// queued for the subscribers) from the broker's history.
    Replayed(u64),
    /// The mirror could not be brought forward without a gap (a new epoch,
    /// or the missed publications are no longer kept): it was replaced, and
    /// the topic's subscribers were closed (1012) so that they resubscribe
    /// and learn `recovered: false`.
    Reset {
        /// Connections closed.
        closed: usize,
        /// Publications those connections missed (counted per connection);
        /// 0 when unknown (a new epoch).
        lost: u64,
    },
}

/// A topic: its description, log and subscribers.
#[derive(Debug)]
struct Topic {
    info: TopicInfo,
    state: Mutex<TopicState>,
    /// Successful subscribe requests (`tether_subscribes_total`).
    subscribes: AtomicU64,
    /// The mirror's latest offset (mirror mode only), for subscribers
    /// whose recovery position is ahead of it.
    offset: watch::Sender<u64>,
}

#[derive(Debug)]
struct TopicState {
    log: MemoryLog,
    subscribers: HashMap<ConnId, Arc<Conn>>,
}

/// Why a connection was not registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-connections` reached.
    TooManyConnections,
    /// `--max-connections-per-ip` reached for this peer.
    TooManyForIp,
    /// The server is shutting down.
    ShuttingDown,
    /// New connections are refused for a while (`POST /demo/restart`).
    Paused,
    /// The broker's logs were never read yet (mirror mode, broker down
    /// since the start).
    NotReady,
}

/// The outcome of [`Hub::subscribe`].
#[derive(Debug)]
pub enum Subscribe {
    /// Subscribed; `subscribed` (and the replay) are queued.
    Done,
    /// Not subscribed (mirror mode, when allowed to wait): the recovery
    /// position is ahead of the mirror, which may just lag behind the
    /// broker. Wait (bounded) until the watched offset reaches the
    /// position, then subscribe again without waiting.
    Ahead(watch::Receiver<u64>),
}

/// Why a topic operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// No topic by that name.
    #[error("unknown topic `{0}`")]
    Unknown(String),
}

/// Limits and sizes the hub enforces.
#[derive(Debug, Clone)]
pub struct HubSettings {
    /// Frames queued per connection.
    pub send_queue: usize,
    /// Total connection limit.
    pub max_connections: usize,
    /// Per-IP connection limit.
    pub max_connections_per_ip: usize,
    /// What each topic keeps for recovery.
    pub retention: Retention,
    /// Mirror mode: the logs mirror a broker's ([`Hub::apply`],
    /// [`Hub::sync`]); there is no [`crate::publish::Local`] to publish in
    /// memory with (the app state made a broker publisher), and connections
    /// are refused until [`Hub::set_ready`].
    pub mirror: bool,
}

#[derive(Debug, Default)]
struct Registry {
    conns: HashMap<ConnId, Arc<Conn>>,
    per_ip: HashMap<IpAddr, usize>,
}

/// The in-process hub. Shared by all connections and HTTP handlers.
#[derive(Debug)]
pub struct Hub {
    topics: Vec<Topic>,
    index: HashMap<String, usize>,
    registry: Mutex<Registry>,
    count: watch::Sender<usize>,
    next_id: AtomicU64,
    shutting_down: AtomicBool,
    /// Until when new connections are refused (`POST /demo/restart`).
    paused_until: Mutex<Option<Instant>>,
    /// Whether connections are accepted (mirror mode: once the broker's
    /// logs were read).
    ready: AtomicBool,
    settings: HubSettings,
    metrics: Arc<Metrics>,
}

impl Hub {
    /// A hub with these topics (in this order) and settings.
    pub fn new(topics: Vec<TopicInfo>, settings: HubSettings) -> Self {
        let index = topics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        let topics = topics
            .into_iter()
            .map(|info| Topic {
                info,
                state: Mutex::new(TopicState {
                    log: MemoryLog::new(new_epoch(), settings.retention),
                    subscribers: HashMap::new(),
                }),
                subscribes: AtomicU64::new(0),
                offset: watch::channel(0).0,
            })
            .collect();
        Hub {
            topics,
            index,
            registry: Mutex::default(),
            count: watch::channel(0).0,
            next_id: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
            paused_until: Mutex::new(None),
            ready: AtomicBool::new(!settings.mirror),
            settings,
            metrics: Arc::default(),
        }
    }

    /// What each topic keeps for recovery.
    pub fn retention(&self) -> Retention {
        self.settings.retention
    }

    /// The counters shown by `/metrics` and `pong.stats`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Topic names, in configuration order.
    pub fn topic_names(&self) -> Vec<String> {
        self.topics.iter().map(|t| t.info.name.clone()).collect()
    }

    /// Topic descriptions, in configuration order.
    pub fn topic_infos(&self) -> Vec<TopicInfo> {
        self.topics.iter().map(|t| t.info.clone()).collect()
    }

    /// A topic's description.
    pub fn topic_info(&self, name: &str) -> Option<&TopicInfo> {
        self.topic(name).ok().map(|t| &t.info)
    }

    fn topic(&self, name: &str) -> Result<&Topic, TopicError> {
        self.index
            .get(name)
            .map(|&i| &self.topics[i])
            .ok_or_else(|| TopicError::Unknown(name.to_owned()))
    }

    /// Creates a connection, not yet registered.
    pub fn new_conn(&self, ip: Option<IpAddr>) -> Arc<Conn> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = Utc::now();
        let conn = Conn {
            id,
            client_id: format!("c_{:06x}{id:x}", fastrand::u32(..0x100_0000)),
            ip,
            connected_at: now,
            outbox: Outbox::new(self.settings.send_queue),
            kicked: AtomicBool::new(false),
            kick: Notify::new(),
            messages_in: AtomicU64::new(0),
            messages_out: AtomicU64::new(0),
            last_activity: Mutex::new(now),
            subscriptions: Mutex::default(),
            metrics: self.metrics.clone(),
        };
        Arc::new(conn)
    }

    /// Registers a connection and queues its first frame, atomically with
    /// respect to every other hub operation that reaches connections.
    /// Returns the number of registered connections, this one included.
    pub fn register(&self, conn: &Arc<Conn>, welcome: Bytes) -> Result<usize, Refusal> {
        let mut reg = lock(&self.registry);
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(Refusal::ShuttingDown);
        }
        if self.is_paused() {
            return Err(Refusal::Paused);
        }
        if !self.is_ready() {
            return Err(Refusal::NotReady);
        }
        if reg.conns.len() >= self.settings.max_connections {
            return Err(Refusal::TooManyConnections);
        }
        if let Some(ip) = conn.ip {
            let n = reg.per_ip.entry(ip).or_default();
            if *n >= self.settings.max_connections_per_ip {
                return Err(Refusal::TooManyForIp);
            }
            *n += 1;
        }
        reg.conns.insert(conn.id, conn.clone());
        conn.send(Outbound::Text(welcome));
        self.metrics
            .connections_accepted
            .fetch_add(1, Ordering::Relaxed);
        self.count.send_replace(reg.conns.len());
        Ok(reg.conns.len())
    }

    /// Removes a connection and all its subscriptions. Idempotent. Returns
    /// the number of registered connections left.
    pub fn unregister(&self, conn: &Conn) -> usize {
        conn.close_queue();
        let topics: Vec<String> = std::mem::take(&mut *lock(&conn.subscriptions))
            .into_iter()
            .collect();
        for name in topics {
            if let Ok(topic) = self.topic(&name) {
                lock(&topic.state).subscribers.remove(&conn.id);
            }
        }
        let mut reg = lock(&self.registry);
        if reg.conns.remove(&conn.id).is_some() {
            if let Some(ip) = conn.ip {
                if let Some(n) = reg.per_ip.get_mut(&ip) {
                    *n -= 1;
                    if *n == 0 {
                        reg.per_ip.remove(&ip);
                    }
                }
            }
        }
        self.count.send_replace(reg.conns.len());
        reg.conns.len()
    }

    /// Registered connections now.
    pub fn connection_count(&self) -> usize {
        *self.count.borrow()
    }

    /// Watches the registered connection count.
    pub fn watch_connections(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }

    /// Subscribes `conn` to the frame's topic and queues `subscribed`
    /// followed by the replay (when recovery succeeds) or the history
    /// (`rewind`, when it does not), as one queue item.
    ///
    /// In mirror mode with `may_wait`, a recovery position of the current
    /// epoch ahead of the mirror is not answered (see [`Subscribe::Ahead`]).
    pub fn subscribe(
        &self,
        conn: &Arc<Conn>,
        frame: &tether_protocol::frames::Subscribe,
        may_wait: bool,
    ) -> Result<Subscribe, TopicError> {
        let (id, topic, recover) = (frame.id, frame.topic.as_str(), frame.recover.as_ref());
        let t = self.topic(topic)?;
        let mut state = lock(&t.state);
        if let Some(pos) = recover {
            if self.settings.mirror
                && may_wait
                && pos.epoch == state.log.epoch()
                && pos.offset > state.log.offset()
            {
                return Ok(Subscribe::Ahead(t.offset.subscribe()));
            }
        }
        let now = Instant::now();
        let recovery = state.log.recover(recover, now);
        let (recovered, missed) = match recovery {
            Recovery::NotAsked => (None, 0),
            Recovery::Replay(n) => (Some(true), n),
            Recovery::Failed => (Some(false), 0),
        };
        let missed = match frame.rewind {
            Some(n) if recovered != Some(true) => state.log.rewind(n, now),
            _ => missed,
        };
        let reply = ServerFrame::Subscribed {
            id,
            topic: topic.to_owned(),
            epoch: state.log.epoch().to_owned(),
            offset: state.log.offset(),
            recovered,
            missed: missed as u64,
        };
        let mut batch = Vec::with_capacity(1 + missed);
        batch.push(Bytes::from(reply.encode()));
        batch.extend(state.log.last(missed));
        if conn.send(Outbound::Batch(batch)) {
            state.subscribers.insert(conn.id, conn.clone());
            lock(&conn.subscriptions).insert(topic.to_owned());
            t.subscribes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Subscribe::Done)
    }

    /// Unsubscribes `conn` from `topic` (fine when it was not subscribed).
    pub fn unsubscribe(&self, conn: &Conn, topic: &str) -> Result<(), TopicError> {
        let t = self.topic(topic)?;
        lock(&t.state).subscribers.remove(&conn.id);
        lock(&conn.subscriptions).remove(topic);
        Ok(())
    }

    /// Publishes on a topic: assigns the next offset, keeps it for recovery
    /// and queues it for every subscriber. Returns `(epoch, offset)`. Only
    /// through [`crate::publish::Local`], which exists only without a broker.
    pub(crate) fn publish(
        &self,
        topic: &str,
        event: Option<String>,
        data: Value,
    ) -> Result<(String, u64), TopicError> {
        debug_assert!(!self.settings.mirror, "the broker assigns offsets");
        let t = self.topic(topic)?;
        let mut state = lock(&t.state);
        let (offset, frame) = state
            .log
            .append(topic, event, data, Instant::now(), now_rfc3339());
        fan_out(&mut state, &frame);
        Ok((state.log.epoch().to_owned(), offset))
    }

    /// Mirror mode: applies a publication the broker delivered, in order:
    /// keeps it and queues it for every subscriber when it is the next
    /// offset of the mirror's epoch, or the first of a new epoch.
    pub fn apply(&self, topic: &str, epoch: &str, kept: Kept) -> Result<Applied, TopicError> {
        let t = self.topic(topic)?;
        let mut state = lock(&t.state);
        let frame = kept.frame.clone();
        let offset = kept.offset;
        let applied = state.log.apply(epoch, kept, Instant::now());
        if applied == Applied::Delivered {
            fan_out(&mut state, &frame);
            drop(state);
            t.offset.send_replace(offset);
        }
        Ok(applied)
    }

    /// Mirror mode: brings the topic's mirror to the broker's `snapshot`
    /// (after a broker (re)connection, or a [`Applied::Gap`]). Publications
    /// the mirror lacks are applied and queued for the subscribers when the
    /// snapshot still has all of them; otherwise the mirror is replaced and
    /// the subscribers are closed (see [`Synced::Reset`]).
    pub fn sync(&self, topic: &str, snapshot: Snapshot) -> Result<Synced, TopicError> {
        let t = self.topic(topic)?;
        let mut state = lock(&t.state);
        let outcome = match state.log.sync(snapshot, Instant::now()) {
            SyncStep::Unchanged => Synced::Unchanged,
            SyncStep::Replayed(frames) => {
                for frame in &frames {
                    fan_out(&mut state, frame);
                }
                Synced::Replayed(frames.len() as u64)
            }
            SyncStep::Reset { lost } => {
                let subscribers: Vec<Arc<Conn>> =
                    state.subscribers.drain().map(|(_, c)| c).collect();
                for conn in &subscribers {
                    lock(&conn.subscriptions).remove(topic);
                    conn.send(Outbound::Close(
                        tether_protocol::close::code::SERVICE_RESTART,
                        "missed publications that cannot be replayed; resubscribe".into(),
                    ));
                }
                let closed = subscribers.len();
                self.metrics
                    .dropped_broker_gap
                    .fetch_add(lost * closed as u64, Ordering::Relaxed);
                Synced::Reset { closed, lost }
            }
        };
        let offset = state.log.offset();
        drop(state);
        t.offset.send_replace(offset);
        Ok(outcome)
    }

    /// Whether connections are accepted (always, except in mirror mode
    /// before the broker's logs were first read).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Accepts connections from now on (mirror mode).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// The latest publication frame of a topic, `None` when nothing was
    /// published in the current epoch.
    pub fn latest(&self, topic: &str) -> Result<Option<Bytes>, TopicError> {
        let t = self.topic(topic)?;
        let state = lock(&t.state);
        Ok(state.log.latest().cloned())
    }

    /// A topic's epoch, latest offset, and up to `limit` of its latest kept
    /// publication frames (oldest first), bounded as a `rewind` is.
    pub fn history(
        &self,
        topic: &str,
        limit: u64,
    ) -> Result<(String, u64, Vec<Bytes>), TopicError> {
        let t = self.topic(topic)?;
        let mut state = lock(&t.state);
        let n = state.log.rewind(limit, Instant::now());
        let frames = state.log.last(n).collect();
        Ok((state.log.epoch().to_owned(), state.log.offset(), frames))
    }

    /// Successful subscribe requests per topic, in configuration order.
    pub fn subscribe_counts(&self) -> Vec<(String, u64)> {
        self.topics
            .iter()
            .map(|t| (t.info.name.clone(), t.subscribes.load(Ordering::Relaxed)))
            .collect()
    }

    /// Subscriber count per topic, in configuration order.
    pub fn subscription_counts(&self) -> Vec<(String, usize)> {
        self.topics
            .iter()
            .map(|t| (t.info.name.clone(), lock(&t.state).subscribers.len()))
            .collect()
    }

    /// Whether [`Hub::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Whether new connections are being refused for a while
    /// ([`Hub::pause`]).
    pub fn is_paused(&self) -> bool {
        let mut until = lock(&self.paused_until);
        match *until {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *until = None;
                false
            }
            None => false,
        }
    }

    /// Refuses new connections for `duration` (they are closed 1013, or
    /// refused with HTTP 503 at the upgrade).
    pub fn pause(&self, duration: Duration) {
        *lock(&self.paused_until) = Some(Instant::now() + duration);
    }

    /// Queues a close frame (no `goaway`) for every registered connection,
    /// as a crash or a network failure would end them. Returns how many.
    pub fn close_all(&self, code: u16, reason: &str) -> usize {
        let reg = lock(&self.registry);
        for conn in reg.conns.values() {
            conn.send(Outbound::Close(code, reason.to_owned()));
        }
        reg.conns.len()
    }

    /// Forgets every topic's history: a new epoch per topic, offsets
    /// restarting at 1 (what an in-memory server's restart loses).
    pub(crate) fn reset_history(&self) {
        for t in &self.topics {
            lock(&t.state).log = MemoryLog::new(new_epoch(), self.settings.retention);
        }
    }

    /// Refuses new connections and queues `goaway` then close 1012 for
    /// every registered one.
    pub fn shutdown(&self, goaway: ServerFrame) {
        let text = Bytes::from(goaway.encode());
        let reg = lock(&self.registry);
        self.shutting_down.store(true, Ordering::Release);
        for conn in reg.conns.values() {
            conn.send(Outbound::Text(text.clone()));
            conn.send(Outbound::Close(
                tether_protocol::close::code::SERVICE_RESTART,
                "server shutting down".into(),
            ));
        }
    }
}

/// Queues a publication for every subscriber of a topic (under its lock);
/// forgets subscribers whose connection is going away.
fn fan_out(state: &mut TopicState, frame: &Bytes) {
    let now = Instant::now();
    let mut gone = Vec::new();
    for (id, sub) in &state.subscribers {
        if !sub.send_at(Outbound::Text(frame.clone()), now) {
            gone.push(*id);
        }
    }
    for id in gone {
        state.subscribers.remove(&id);
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
