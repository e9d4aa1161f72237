//! The hub: registered connections, the topic logs and the fan-out.
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
//!   (a short mutex, no await); a full queue disconnects that slow consumer. No lock is ever held
//!   across a socket write; those happen in each connection's writer task.
//!
//! Each topic's log ([`MemoryLog`]) is either the source of truth (the
//! in-memory hub: [`Hub::publish`] assigns offsets) or, with a broker
//! (`--broker`, see [`crate::broker`]), a mirror of the broker's log: the
//! broker assigns offsets and keeps the history, and this process applies
//! what its broker subscription delivers ([`Hub::apply`], [`Hub::sync`]) in
//! offset order. Subscribing, recovery and fan-out work on the mirror under
//! the same topic lock either way, so the ordering rules above hold in both
//! modes; the registry, the queues and the connection tasks do not know
//! which mode runs.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tether_protocol::frames::{Publication, Recover, ServerFrame, TopicInfo};
use tokio::sync::{watch, Notify};

use crate::metrics::Metrics;
use crate::now_rfc3339;

/// A connection's id inside this process.
pub type ConnId = u64;

/// One item of a connection's send queue.
#[derive(Debug)]
pub enum Outbound {
    /// One text frame (shared: publications are serialized once).
    Text(Bytes),
    /// Frames that must go out back to back (`subscribed` + replay). Counts
    /// as one queue slot.
    Batch(Vec<Bytes>),
    /// A protocol-level Ping.
    Ping,
    /// The answer to the client's Ping, with its payload.
    Pong(Vec<u8>),
    /// A close frame; the writer stops after it.
    Close(u16, String),
}

/// A queued item and when it was queued (for `--send-timeout`).
#[derive(Debug)]
pub struct Queued {
    /// What to send.
    pub item: Outbound,
    /// When it was queued.
    pub at: Instant,
}

/// Why [`Conn::send`] did not queue an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejected {
    /// The queue holds `--send-queue` items.
    Full,
    /// The connection's writer is gone.
    Closed,
}

/// A connection's send queue: bounded, never waits, and holds no memory
/// while empty (an idle connection costs no queue storage; a preallocated
/// channel block would cost about 2 KiB per connection).
///
/// Many producers (the hub under its topic locks, the connection's reader)
/// and one consumer (the writer task). The producers' order is the order
/// of [`Outbox::push`] calls, which the hub's locks make meaningful.
///
/// The writer's waker lives under the same lock as the items (rather than
/// in a `Notify` with a lock of its own): a fan-out to 10k connections
/// takes one lock per connection, not two, and no wake-up can be missed.
#[derive(Debug)]
struct Outbox {
    state: Mutex<OutboxState>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct OutboxState {
    items: VecDeque<Queued>,
    closed: bool,
    /// The writer, when it waits for an item.
    writer: Option<Waker>,
}

impl Outbox {
    fn new(capacity: usize) -> Self {
        Outbox {
            state: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    fn push(&self, item: Queued) -> Result<(), Rejected> {
        let writer = {
            let mut state = lock(&self.state);
            if state.closed {
                return Err(Rejected::Closed);
            }
            if state.items.len() >= self.capacity {
                return Err(Rejected::Full);
            }
            state.items.push_back(item);
            state.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
        Ok(())
    }

    fn try_pop(&self) -> Option<Queued> {
        lock(&self.state).pop()
    }

    async fn pop(&self) -> Option<Queued> {
        std::future::poll_fn(|cx| {
            let mut state = lock(&self.state);
            if let Some(item) = state.pop() {
                return Poll::Ready(Some(item));
            }
            if state.closed {
                return Poll::Ready(None);
            }
            match &mut state.writer {
                Some(waker) => waker.clone_from(cx.waker()),
                none => *none = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    fn close(&self) {
        let writer = {
            let mut state = lock(&self.state);
            state.closed = true;
            state.items = VecDeque::new();
            state.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
    }
}

impl OutboxState {
    fn pop(&mut self) -> Option<Queued> {
        let item = self.items.pop_front();
        if self.items.is_empty() && self.items.capacity() > 0 {
            // Give the storage back: most connections are idle most of
            // the time.
            self.items = VecDeque::new();
        }
        item
    }
}

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

/// A publication kept for recovery.
#[derive(Debug, Clone)]
pub struct Kept {
    /// Its offset.
    pub offset: u64,
    /// When it was published (for `--history-ttl`).
    pub at: Instant,
    /// The publication frame, serialized.
    pub frame: Bytes,
}

/// A topic's log as the broker has it: what [`Hub::sync`] brings the
/// mirror to.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The topic's epoch.
    pub epoch: String,
    /// The latest offset (0: nothing published in this epoch).
    pub offset: u64,
    /// The kept publications, oldest first (contiguous offsets ending at
    /// `offset`, or empty).
    pub history: Vec<Kept>,
}

/// What [`Hub::apply`] did with a publication from the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Next in order: kept and queued for the subscribers.
    Delivered,
    /// Already applied (its offset is not ahead of the mirror's).
    Duplicate,
    /// Publications are missing before it (or it starts a new epoch past
    /// offset 1): nothing was applied; [`Hub::sync`] the topic.
    Gap,
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

/// What a topic's history keeps, and how much one recovery may replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Publications kept (`--history-size`).
    pub count: usize,
    /// Bytes of publication frames kept (`--history-bytes`).
    pub bytes: usize,
    /// Age limit (`--history-ttl`).
    pub ttl: Duration,
    /// Bytes one recovery may replay (`--replay-bytes`); a recovery that
    /// would replay more is answered `recovered: false`.
    pub replay_bytes: usize,
}

/// A topic's in-memory log: epoch, latest offset and bounded history.
#[derive(Debug)]
pub struct MemoryLog {
    epoch: String,
    offset: u64,
    /// The latest publication, kept even when the history is not.
    latest: Option<Bytes>,
    history: VecDeque<Kept>,
    /// Bytes of the frames in `history`.
    bytes: usize,
    retention: Retention,
}

/// The answer to a recovery request.
#[derive(Debug, PartialEq, Eq)]
enum Recovery {
    /// No recovery asked.
    NotAsked,
    /// Recovered: these offsets follow.
    Replay(usize),
    /// Not recoverable (too old, ahead, or another epoch).
    Failed,
}

impl MemoryLog {
    /// Keeps a publication the broker numbered (the next offset).
    fn push(&mut self, kept: Kept) {
        self.offset = kept.offset;
        self.latest = Some(kept.frame.clone());
        self.keep(kept);
        self.expire(Instant::now());
    }

    /// Adds a publication to the history, then drops the oldest ones until
    /// the history is within its count and bytes.
    fn keep(&mut self, kept: Kept) {
        self.bytes += kept.frame.len();
        self.history.push_back(kept);
        while self.history.len() > self.retention.count || self.bytes > self.retention.bytes {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        if let Some(old) = self.history.pop_front() {
            self.bytes -= old.frame.len();
        }
    }

    /// Replaces the log by a broker snapshot.
    fn reset(&mut self, snapshot: Snapshot) {
        self.epoch = snapshot.epoch;
        self.offset = snapshot.offset;
        self.latest = snapshot
            .history
            .last()
            .filter(|k| k.offset == snapshot.offset)
            .map(|k| k.frame.clone());
        self.history.clear();
        self.bytes = 0;
        for kept in snapshot.history {
            self.keep(kept);
        }
        self.expire(Instant::now());
    }

    fn new(retention: Retention) -> Self {
        MemoryLog {
            epoch: new_epoch(),
            offset: 0,
            latest: None,
            history: VecDeque::new(),
            bytes: 0,
            retention,
        }
    }

    /// Appends a publication; returns its offset and its frame text.
    fn append(&mut self, topic: &str, event: Option<String>, data: Value) -> (u64, Bytes) {
        self.offset += 1;
        let frame = ServerFrame::Publication(Publication {
            topic: topic.to_owned(),
            event: event.unwrap_or_else(|| format!("{topic}_update")),
            epoch: self.epoch.clone(),
            offset: self.offset,
            broadcast_id: format!("{topic}_{}_{}", self.epoch, self.offset),
            timestamp: now_rfc3339(),
            data,
        });
        let text = Bytes::from(frame.encode());
        let now = Instant::now();
        self.latest = Some(text.clone());
        self.keep(Kept {
            offset: self.offset,
            at: now,
            frame: text.clone(),
        });
        self.expire(now);
        (self.offset, text)
    }

    /// Drops kept publications older than the TTL.
    fn expire(&mut self, now: Instant) {
        while self
            .history
            .front()
            .is_some_and(|k| now.saturating_duration_since(k.at) > self.retention.ttl)
        {
            self.drop_oldest();
        }
    }

    /// Decides a recovery request and counts what would be replayed.
    fn recover(&mut self, from: Option<&Recover>, now: Instant) -> Recovery {
        let Some(pos) = from else {
            return Recovery::NotAsked;
        };
        if pos.epoch != self.epoch || pos.offset > self.offset {
            return Recovery::Failed;
        }
        if pos.offset == self.offset {
            return Recovery::Replay(0);
        }
        self.expire(now);
        match self.history.front() {
            // Offsets are contiguous: everything after `pos` is kept iff the
            // oldest kept one is at most `pos + 1`.
            Some(oldest) if oldest.offset <= pos.offset + 1 => {
                let n = (self.offset - pos.offset) as usize;
                let bytes: usize = self
                    .history
                    .iter()
                    .rev()
                    .take(n)
                    .map(|k| k.frame.len())
                    .sum();
                if bytes > self.retention.replay_bytes {
                    return Recovery::Failed;
                }
                Recovery::Replay(n)
            }
            _ => Recovery::Failed,
        }
    }

    /// How many of the latest kept publications a `rewind: n` replays: at
    /// most `n`, and no more than `--replay-bytes` of frames.
    fn rewind(&mut self, n: u64, now: Instant) -> usize {
        self.expire(now);
        let mut bytes = 0;
        self.history
            .iter()
            .rev()
            .take(usize::try_from(n).unwrap_or(usize::MAX))
            .take_while(|k| {
                bytes += k.frame.len();
                bytes <= self.retention.replay_bytes
            })
            .count()
    }

    /// The last `n` kept frames, oldest first.
    fn last(&self, n: usize) -> impl Iterator<Item = Bytes> + '_ {
        self.history
            .iter()
            .skip(self.history.len().saturating_sub(n))
            .map(|k| k.frame.clone())
    }
}

/// A new random epoch (`e` + 8 hex digits).
pub fn new_epoch() -> String {
    format!("e{:08x}", fastrand::u32(..))
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
    /// [`Hub::sync`]); [`Hub::publish`] must not be used, and connections
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
                    log: MemoryLog::new(settings.retention),
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
                && pos.epoch == state.log.epoch
                && pos.offset > state.log.offset
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
            epoch: state.log.epoch.clone(),
            offset: state.log.offset,
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
    /// and queues it for every subscriber. Returns `(epoch, offset)`.
    pub fn publish(
        &self,
        topic: &str,
        event: Option<String>,
        data: Value,
    ) -> Result<(String, u64), TopicError> {
        debug_assert!(!self.settings.mirror, "the broker assigns offsets");
        let t = self.topic(topic)?;
        let mut state = lock(&t.state);
        let (offset, frame) = state.log.append(topic, event, data);
        fan_out(&mut state, &frame);
        Ok((state.log.epoch.clone(), offset))
    }

    /// Mirror mode: applies a publication the broker delivered, in order:
    /// keeps it and queues it for every subscriber when it is the next
    /// offset of the mirror's epoch, or the first of a new epoch.
    pub fn apply(&self, topic: &str, epoch: &str, kept: Kept) -> Result<Applied, TopicError> {
        let t = self.topic(topic)?;
        let mut state = lock(&t.state);
        let log = &mut state.log;
        if epoch == log.epoch {
            if kept.offset <= log.offset {
                return Ok(Applied::Duplicate);
            }
            if kept.offset > log.offset + 1 {
                return Ok(Applied::Gap);
            }
        } else if kept.offset == 1 {
            // The broker lost the history (e.g. it was flushed) while this
            // process was following it live: nothing was missed, the
            // subscribers see the new epoch on the next publication.
            log.reset(Snapshot {
                epoch: epoch.to_owned(),
                offset: 0,
                history: Vec::new(),
            });
        } else {
            return Ok(Applied::Gap);
        }
        let frame = kept.frame.clone();
        let offset = kept.offset;
        log.push(kept);
        fan_out(&mut state, &frame);
        drop(state);
        t.offset.send_replace(offset);
        Ok(Applied::Delivered)
    }

    /// Mirror mode: brings the topic's mirror to the broker's `snapshot`
    /// (after a broker (re)connection, or a [`Applied::Gap`]). Publications
    /// the mirror lacks are applied and queued for the subscribers when the
    /// snapshot still has all of them; otherwise the mirror is replaced and
    /// the subscribers are closed (see [`Synced::Reset`]).
    pub fn sync(&self, topic: &str, snapshot: Snapshot) -> Result<Synced, TopicError> {
        let t = self.topic(topic)?;
        let mut state = lock(&t.state);
        let log = &state.log;
        let outcome = if snapshot.epoch == log.epoch && snapshot.offset == log.offset {
            Synced::Unchanged
        } else if snapshot.epoch == log.epoch
            && snapshot.offset > log.offset
            && snapshot
                .history
                .first()
                .is_some_and(|k| k.offset <= log.offset + 1)
        {
            let from = log.offset;
            let mut n = 0;
            for kept in snapshot.history.into_iter().filter(|k| k.offset > from) {
                let frame = kept.frame.clone();
                state.log.push(kept);
                fan_out(&mut state, &frame);
                n += 1;
            }
            Synced::Replayed(n)
        } else {
            let lost = if snapshot.epoch == log.epoch {
                snapshot.offset.saturating_sub(log.offset)
            } else {
                0
            };
            let subscribers: Vec<Arc<Conn>> = state.subscribers.drain().map(|(_, c)| c).collect();
            for conn in &subscribers {
                lock(&conn.subscriptions).remove(topic);
                conn.send(Outbound::Close(
                    tether_protocol::close::code::SERVICE_RESTART,
                    "missed publications that cannot be replayed; resubscribe".into(),
                ));
            }
            state.log.reset(snapshot);
            let closed = subscribers.len();
            self.metrics
                .dropped_broker_gap
                .fetch_add(lost * closed as u64, Ordering::Relaxed);
            Synced::Reset { closed, lost }
        };
        let offset = state.log.offset;
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
        Ok(state.log.latest.clone())
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
        Ok((state.log.epoch.clone(), state.log.offset, frames))
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
    pub fn reset_history(&self) {
        for t in &self.topics {
            lock(&t.state).log = MemoryLog::new(self.settings.retention);
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

/// Locks a mutex, ignoring poisoning: every critical section in this crate
/// leaves its data consistent before any call that could panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retention(count: usize) -> Retention {
        Retention {
            count,
            bytes: usize::MAX,
            ttl: Duration::from_secs(60),
            replay_bytes: usize::MAX,
        }
    }

    fn log(count: usize) -> MemoryLog {
        MemoryLog::new(retention(count))
    }

    fn pos(log: &MemoryLog, offset: u64) -> Recover {
        Recover {
            epoch: log.epoch.clone(),
            offset,
        }
    }

    fn queued(n: u8) -> Queued {
        Queued {
            item: Outbound::Text(Bytes::from(n.to_string())),
            at: Instant::now(),
        }
    }

    fn text(q: Option<Queued>) -> String {
        match q.map(|q| q.item) {
            Some(Outbound::Text(t)) => String::from_utf8(t.to_vec()).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn outbox_is_bounded_ordered_and_empty_when_idle() {
        let o = Outbox::new(2);
        assert_eq!(o.push(queued(1)), Ok(()));
        assert_eq!(o.push(queued(2)), Ok(()));
        assert_eq!(o.push(queued(3)), Err(Rejected::Full));
        assert_eq!(text(o.try_pop()), "1");
        assert_eq!(o.push(queued(4)), Ok(()));
        assert_eq!(text(o.try_pop()), "2");
        assert_eq!(text(o.try_pop()), "4");
        assert!(o.try_pop().is_none());
        // Drained: the storage was given back.
        assert_eq!(lock(&o.state).items.capacity(), 0);
        o.close();
        assert_eq!(o.push(queued(5)), Err(Rejected::Closed));
    }

    #[tokio::test]
    async fn outbox_wakes_its_consumer_and_ends_on_close() {
        let o = Arc::new(Outbox::new(8));
        let consumer = {
            let o = o.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(q) = o.pop().await {
                    got.push(text(Some(q)));
                }
                got
            })
        };
        for n in 1..=3 {
            o.push(queued(n)).unwrap();
            tokio::task::yield_now().await;
        }
        // Once the consumer has taken everything, closing ends it.
        let seen = {
            while !lock(&o.state).items.is_empty() {
                tokio::task::yield_now().await;
            }
            o.close();
            consumer.await.unwrap()
        };
        assert_eq!(seen, ["1", "2", "3"]);
    }

    #[test]
    fn offsets_start_at_one_and_frames_have_the_wire_fields() {
        let mut l = log(10);
        let (o1, f1) = l.append("miners", None, serde_json::json!({"x":1}));
        let (o2, _) = l.append("miners", Some("boom".into()), Value::Null);
        assert_eq!((o1, o2), (1, 2));
        let v: Value = serde_json::from_slice(&f1).unwrap();
        assert_eq!(v["type"], "publication");
        assert_eq!(v["event"], "miners_update");
        assert_eq!(v["offset"], 1);
        assert_eq!(v["broadcast_id"], format!("miners_{}_1", l.epoch));
        assert_eq!(v["data"]["x"], 1);
    }

    #[test]
    fn recovery_rules() {
        let mut l = log(3);
        let now = Instant::now();
        assert_eq!(l.recover(None, now), Recovery::NotAsked);
        assert_eq!(l.recover(Some(&pos(&l, 0)), now), Recovery::Replay(0));
        for _ in 0..5 {
            l.append("t", None, Value::Null);
        }
        // Kept: 3, 4, 5.
        assert_eq!(l.recover(Some(&pos(&l, 5)), now), Recovery::Replay(0));
        assert_eq!(l.recover(Some(&pos(&l, 2)), now), Recovery::Replay(3));
        assert_eq!(l.recover(Some(&pos(&l, 1)), now), Recovery::Failed);
        assert_eq!(l.recover(Some(&pos(&l, 6)), now), Recovery::Failed);
        let other = Recover {
            epoch: "other".into(),
            offset: 4,
        };
        assert_eq!(l.recover(Some(&other), now), Recovery::Failed);
        let replay: Vec<u64> = l
            .last(2)
            .map(|f| {
                serde_json::from_slice::<Value>(&f).unwrap()["offset"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(replay, [4, 5]);
    }

    #[test]
    fn recovery_respects_ttl() {
        let mut l = MemoryLog::new(Retention {
            ttl: Duration::from_secs(1),
            ..retention(10)
        });
        l.append("t", None, Value::Null);
        l.append("t", None, Value::Null);
        let later = Instant::now() + Duration::from_secs(5);
        assert_eq!(l.recover(Some(&pos(&l, 1)), later), Recovery::Failed);
        // Being up to date needs no history.
        assert_eq!(l.recover(Some(&pos(&l, 2)), later), Recovery::Replay(0));
    }

    /// The history keeps at most `bytes` of frames, dropping the oldest;
    /// a recovery that would replay more than `replay_bytes` fails.
    #[test]
    fn history_and_replay_are_bounded_in_bytes() {
        let frame_len =
            |l: &mut MemoryLog| l.append("t", None, Value::String("x".repeat(1000))).1.len();
        let one = frame_len(&mut log(1));
        let mut l = MemoryLog::new(Retention {
            bytes: 3 * one,
            replay_bytes: 2 * one,
            ..retention(100)
        });
        for _ in 0..5 {
            assert_eq!(frame_len(&mut l), one);
        }
        assert_eq!(l.history.len(), 3, "kept: 3, 4, 5");
        assert_eq!(l.bytes, 3 * one);
        let now = Instant::now();
        assert_eq!(l.recover(Some(&pos(&l, 3)), now), Recovery::Replay(2));
        assert_eq!(
            l.recover(Some(&pos(&l, 2)), now),
            Recovery::Failed,
            "3 frames: over the replay cap"
        );
        assert_eq!(
            l.recover(Some(&pos(&l, 1)), now),
            Recovery::Failed,
            "no longer kept"
        );
        // One publication over the byte cap is not kept at all; the latest
        // still is.
        let mut l = MemoryLog::new(Retention {
            bytes: one - 1,
            ..retention(100)
        });
        frame_len(&mut l);
        assert!(l.history.is_empty() && l.latest.is_some());
        assert_eq!(l.bytes, 0);
    }

    #[test]
    fn zero_history_never_replays() {
        let mut l = log(0);
        l.append("t", None, Value::Null);
        assert_eq!(
            l.recover(Some(&pos(&l, 0)), Instant::now()),
            Recovery::Failed
        );
    }
}
