//! The client state machine (js-api.md "State machine" and "Details that
//! tests rely on").

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use tether_protocol::client::{self as frames, Position};
use tether_protocol::close::{self, CloseAction};

use crate::config::{Config, Mode, Rng, DEFAULT_HEARTBEAT_INTERVAL_MS};
use crate::phase::{Link, Phase};
use crate::timers::{Timer, Timers};
use crate::{PageEvent, SocketId, Timestamp};

/// The connection state (`Tether.state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Made with `autoConnect: false`, not yet connected.
    Idle,
    /// An attempt is under way (socket opening, or waiting for
    /// `connection_established`).
    Connecting,
    /// Established: frames flow.
    Open,
    /// Waiting for the retry timer.
    Reconnecting,
    /// The browser is offline; the client connects again on `online`.
    Offline,
    /// Closed by the app; only `connect()` leaves this state.
    Closed,
    /// Gave up (terminal close code or `max_attempts`); `connect()` revives.
    Failed,
}

impl State {
    /// The JS name: `"idle"`, `"connecting"`, ...
    pub fn as_str(&self) -> &'static str {
        // A table, not a `match` (as `Field::name`).
        const NAMES: [&str; 7] = [
            "idle",
            "connecting",
            "open",
            "reconnecting",
            "offline",
            "closed",
            "failed",
        ];
        NAMES[*self as usize]
    }
}

/// How a link ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code (from the close event, or the one the client sent).
    pub code: u16,
    /// The close reason.
    pub reason: String,
    /// Whether the closing handshake completed.
    pub was_clean: bool,
}

/// The status snapshot (`Tether.status`), as a view of the client: the
/// strings are borrowed, not copied (clone the fields to keep them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status<'a> {
    /// The current state.
    pub state: State,
    /// 0 while open (and for the first attempt); n while connecting for, or
    /// waiting for, retry n.
    pub attempt: u32,
    /// When the retry timer fires, while `reconnecting`.
    pub next_retry_at: Option<Timestamp>,
    /// The last link's close.
    pub last_close: Option<&'a CloseInfo>,
    /// The last error since the last link opened: what failed and where
    /// (socket error, timeout, 1009 close, `error` frame without an id).
    pub last_error: Option<&'a str>,
    /// When `last_error` was set.
    pub last_error_at: Option<Timestamp>,
    /// Round trip of the last answered ping.
    pub rtt_ms: Option<u64>,
    /// The `client_id` of the last `connection_established`.
    pub client_id: Option<&'a str>,
    /// Frames waiting in the send queue.
    pub queued: usize,
    /// When `state` last changed.
    pub since: Timestamp,
}

/// Something the shell must do to a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
// A plain tag (as `Inbound`).
#[repr(u8)]
pub enum Action {
    /// Start an attempt: get a token if there is a provider, then open a
    /// WebSocket and report its events under `socket`.
    Open {
        /// The new socket's generation id.
        socket: SocketId,
    },
    /// Write a text frame.
    Send {
        /// The socket to write to.
        socket: SocketId,
        /// The frame.
        text: String,
    },
    /// Close the socket and forget it: the core already has (its later
    /// events are ignored). `code` is 1000 or 3000-4999, `reason` at most
    /// 123 bytes, so `WebSocket.close` never throws.
    Close {
        /// The socket to close.
        socket: SocketId,
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
}

/// The state of one wire subscription (`Subscription.state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubState {
    /// Wanted, not confirmed on the current link (sent on the next open).
    Pending,
    /// Confirmed by `subscribed`.
    Subscribed,
    /// The app unsubscribed.
    Unsubscribed,
    /// The server answered `error`; not re-sent until the app subscribes again.
    Failed,
}

impl SubState {
    /// The JS name: `"pending"`, `"subscribed"`, `"unsubscribed"`, `"failed"`.
    pub fn as_str(&self) -> &'static str {
        const NAMES: [&str; 4] = ["pending", "subscribed", "unsubscribed", "failed"];
        NAMES[*self as usize]
    }
}

/// Something the app's listeners should hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
// A plain tag (as `Inbound`).
#[repr(u8)]
pub enum Event {
    /// The status snapshot changed (state, attempt, `next_retry_at` or
    /// `rtt_ms`): read [`Client::status`] and call the status listeners.
    /// At most one per input call.
    Status,
    /// A wire subscription changed state: call that topic's `onState`
    /// listeners.
    Subscription {
        /// The topic.
        topic: String,
        /// Its new state.
        state: SubState,
        /// From `subscribed`: `None` when no recovery was asked.
        recovered: Option<bool>,
        /// Publications replayed after `subscribed` (0 unless recovered).
        missed: u64,
        /// `code: message` of the `error` reply, when failed.
        error: Option<String>,
    },
    /// A `request()` ended without a reply: reject its promise.
    RequestFailed {
        /// The request.
        key: RequestKey,
        /// Why.
        error: RequestError,
    },
}

/// Identifies one `request()` between the core and the shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestKey(pub u64);

/// Why a `request()` failed without a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// No reply within its timeout.
    Timeout,
    /// Its link dropped after it was written.
    LinkLost,
    /// The client was closed (or is closed or failed).
    Closed,
    /// The send queue is full.
    QueueFull,
    /// The message is not a JSON object, so it cannot carry an `id`.
    NotAnObject,
}

impl RequestError {
    /// A short machine-readable code (`Error.code` in JS).
    pub fn code(&self) -> &'static str {
        // Tables, not `match`es: an indexed load (as `Field::name`).
        const CODES: [&str; 5] = [
            "timeout",
            "link_lost",
            "closed",
            "queue_full",
            "not_an_object",
        ];
        CODES[*self as usize]
    }

    /// The message of the `Error` the promise is rejected with.
    pub fn message(&self) -> &'static str {
        const MESSAGES: [&str; 5] = [
            "request timed out",
            "connection lost before the reply",
            "client closed",
            "send queue full",
            "request() takes a JSON object",
        ];
        MESSAGES[*self as usize]
    }
}

/// An inbound frame, as [`crate::decode`] reads it from the parsed frame
/// (or as a shell builds [`Inbound::Next`] itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
// A plain tag, not one hidden in a niche of the data: a smaller SDK.
#[repr(u8)]
pub enum Inbound<'a> {
    /// `connection_established`; `heartbeat_interval` already in ms.
    Established {
        /// The server's id for this connection.
        client_id: &'a str,
        /// The server's heartbeat interval in ms, if it gave one.
        heartbeat_interval_ms: Option<u64>,
    },
    /// `subscribed`, the reply to our subscribe `id`.
    Subscribed {
        /// The request id.
        id: u64,
        /// The topic.
        topic: &'a str,
        /// The topic's epoch.
        epoch: &'a str,
        /// The topic's latest offset.
        offset: u64,
        /// Recovery outcome (`None` when none was asked).
        recovered: Option<bool>,
        /// Publications that follow as replay.
        missed: u64,
    },
    /// `unsubscribed`.
    Unsubscribed {
        /// The request id.
        id: u64,
        /// The topic.
        topic: &'a str,
    },
    /// `publication`.
    Publication {
        /// The topic.
        topic: &'a str,
        /// The topic's epoch.
        epoch: &'a str,
        /// The offset within the epoch.
        offset: u64,
    },
    /// A `publication` the shell matched to a topic and epoch without
    /// copying them: its topic and epoch are those [`Client::cursor`] gave
    /// with `cursor`. Same outcome as the full [`Inbound::Publication`], or
    /// [`Verdict::Stale`] when the cursor is no longer current.
    Next {
        /// The cursor of the topic's epoch, from [`Client::cursor`].
        cursor: Cursor,
        /// The offset within the epoch.
        offset: u64,
    },
    /// `pong` (raw mode: a frame of the raw pong type, with `id: None`).
    Pong {
        /// The ping id it answers.
        id: Option<u64>,
    },
    /// A server `ping`.
    Ping {
        /// An id to echo, if any.
        id: Option<u64>,
    },
    /// `error`.
    Error {
        /// The request it answers, if any.
        id: Option<u64>,
        /// The error code (`unknown_topic`, ...).
        code: &'a str,
        /// The human message.
        message: &'a str,
    },
    /// `goaway`.
    Goaway {
        /// Wait at least this long before reconnecting.
        retry_after_ms: u64,
        /// Plus `uniform(0, spread_ms)`.
        spread_ms: u64,
    },
    /// Any other frame that carries a numeric `id`: the reply to a
    /// `request()`, or else an application message.
    Reply {
        /// The frame's `id`.
        id: u64,
    },
    /// Any other frame: an application message.
    App,
}

/// What the shell does with an inbound frame after [`Client::handle_frame`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the app: a publication to its topic's callbacks, an app
    /// message to `onMessage` / `on(type)`.
    Deliver,
    /// Do not: a protocol frame, a frame from a stale socket, or a duplicate
    /// publication.
    Drop,
    /// The reply to this request: resolve its promise with the frame.
    Resolve(RequestKey),
    /// An `error` reply to this request: reject its promise with it.
    Reject(RequestKey),
    /// An [`Inbound::Next`] whose cursor is no longer current (the topic
    /// moved to another epoch, resubscribed, or is gone): nothing was done;
    /// classify the frame in full as [`Inbound::Publication`].
    Stale,
}

/// Names one subscription's position in one epoch, so a shell can match an
/// inbound publication with a string compare on its side and hand the core
/// only numbers ([`Inbound::Next`]). A fresh cursor is drawn every time the
/// subscription's epoch is set (each `subscribed`, each new epoch); read it
/// with [`Client::cursor`] after a frame of the topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor(pub u32);

/// What a closed link asks for next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Advice {
    /// The normal backoff.
    Backoff,
    /// Backoff, but wait at least this many ms (4429).
    AtLeast(u64),
    /// Stop (45xx).
    Terminal,
}

/// One wire subscription.
#[derive(Debug)]
struct Sub {
    topic: String,
    state: SubState,
    /// Whether resubscribes ask for recovery.
    recover: bool,
    /// The last publication seen (or the offset of `subscribed`).
    pos: Option<Position>,
    /// Names `pos`'s epoch; drawn anew whenever `pos` is replaced.
    cursor: Cursor,
    /// Id of the subscribe in flight on the current link.
    req: Option<u64>,
    /// Whether that subscribe carried a recover position.
    asked_recovery: bool,
    /// History asked on every subscribe (`rewind`): the server sends up to
    /// this many of the latest publications unless it recovers.
    rewind: Option<u32>,
}

/// A frame waiting for the next open. A request gets its `id` only when it
/// is written, so ids increase on every connection.
#[derive(Debug)]
struct Outgoing {
    text: String,
    request: Option<RequestKey>,
}

/// A `request()` waiting for its reply.
#[derive(Debug)]
struct Pending {
    key: RequestKey,
    deadline: Timestamp,
    /// The socket and id it was written with; `None` while queued.
    wire: Option<(SocketId, u64)>,
}

/// A FIFO made of two stacks: `push_back` pushes onto `back`; `pop_front`
/// pops `front`, refilled from `back` (reversed) when empty. Amortised O(1),
/// and only `Vec` code, which the crate links anyway (a `VecDeque` would
/// add its own to the wasm).
#[derive(Debug)]
struct Fifo<T> {
    front: Vec<T>,
    back: Vec<T>,
}

impl<T> Fifo<T> {
    fn new() -> Self {
        Fifo {
            front: Vec::new(),
            back: Vec::new(),
        }
    }

    fn push_back(&mut self, item: T) {
        self.back.push(item);
    }

    fn is_empty(&self) -> bool {
        self.front.is_empty() && self.back.is_empty()
    }

    fn pop_front(&mut self) -> Option<T> {
        if self.front.is_empty() {
            // Item by item, not `reverse()`: no panic path in the wasm.
            while let Some(item) = self.back.pop() {
                self.front.push(item);
            }
        }
        self.front.pop()
    }
}

/// `v.remove(at)`, `None` when `at` is out of range, written so that no
/// panic path (its message and location) reaches the wasm.
fn take<T>(v: &mut Vec<T>, at: usize) -> Option<T> {
    let tail = v.get_mut(at..)?;
    // The item moves to the end, the others keep their order.
    for i in 1..tail.len() {
        tail.swap(i - 1, i);
    }
    v.pop()
}

/// The sans-IO client. See the crate docs for how a shell drives it.
#[derive(Debug)]
pub struct Client {
    config: Config,
    /// Where it is, with that phase's data (the link, the retry number).
    phase: Phase,
    /// When `phase` last changed state (the status's `since`).
    since: Timestamp,
    /// Every deadline; [`Client::poll_timeout`] is the earliest.
    timers: Timers,
    // What the status reports about the past, not the phase:
    last_close: Option<CloseInfo>,
    last_error: Option<String>,
    last_error_at: Option<Timestamp>,
    rtt_ms: Option<u64>,
    client_id: Option<String>,
    rng: Rng,
    online: bool,
    /// The app asked for a connection (`connect()`), and has not `close()`d.
    wanted: bool,
    /// The link was closed for the back/forward cache; reconnect on restore.
    cached: bool,
    /// The page is hidden (`heartbeat.hidden_interval_ms` applies).
    hidden: bool,
    /// A deadline seen late was given a fresh budget once (see
    /// [`Client::late`]); the next one seen late is a verdict. Cleared by
    /// anything that shows the page ran: a frame, a new attempt, a resume.
    grace_used: bool,
    last_socket: u64,
    subs: Vec<Sub>,
    /// The last [`Cursor`] drawn.
    last_cursor: u32,
    queue: Vec<Outgoing>,
    queue_bytes: usize,
    requests: Vec<Pending>,
    last_request: u64,
    actions: Fifo<Action>,
    events: Fifo<Event>,
    /// The fields whose change triggers [`Event::Status`], as last reported.
    /// (The retry deadline as the timer table holds it.)
    reported: (State, u32, u64, Option<u64>),
}

impl Client {
    /// Creates a client; the shell calls it from the `Tether` constructor,
    /// with `navigator.onLine` and a random `seed` (e.g. from
    /// `Math.random()`). Starts `idle`, or `offline` when `!online`; call
    /// [`Client::connect`] for `autoConnect`.
    pub fn new(config: Config, now: Timestamp, seed: u64, online: bool) -> Client {
        let phase = if online { Phase::Idle } else { Phase::Offline };
        let state = phase.state();
        Client {
            config,
            phase,
            since: now,
            timers: Timers::default(),
            last_close: None,
            last_error: None,
            last_error_at: None,
            rtt_ms: None,
            client_id: None,
            rng: Rng::new(seed),
            online,
            cached: false,
            hidden: false,
            grace_used: false,
            wanted: false,
            last_socket: 0,
            subs: Vec::new(),
            last_cursor: 0,
            queue: Vec::new(),
            queue_bytes: 0,
            requests: Vec::new(),
            last_request: 0,
            actions: Fifo::new(),
            events: Fifo::new(),
            reported: (state, 0, Timers::default().raw(Timer::Retry), None),
        }
    }

    /// The options the client was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The shell calls this for `autoConnect` and for `connect()`. Starts the
    /// first attempt at once from idle, closed or failed (while offline it
    /// waits for `online`); does nothing in the other states.
    pub fn connect(&mut self, now: Timestamp) {
        match self.state() {
            State::Idle | State::Closed | State::Failed => {
                self.wanted = true;
                self.cached = false;
                self.attempt_or_offline(now, 0);
            }
            State::Offline => self.wanted = true,
            State::Connecting | State::Open | State::Reconnecting => {}
        }
        self.report_status();
    }

    /// The shell calls this for `reconnect()`: drops the current link, if
    /// any, and connects at once with the attempt counter reset.
    pub fn reconnect(&mut self, now: Timestamp) {
        self.drop_link(close::code::CLIENT_RECONNECT, "reconnect");
        self.wanted = true;
        self.attempt_or_offline(now, 0);
        self.report_status();
    }

    /// The shell calls this for `close(code, reason)` and `free()`: closed
    /// for good (until `connect()`). Idempotent. Drops the send queue, keeps
    /// the subscriptions (pending) for a later `connect()`. A code the
    /// browser would reject (not 1000 or 3000-4999, e.g. 1005) becomes 1000.
    pub fn close(&mut self, now: Timestamp, code: u16, reason: &str) {
        if self.state() == State::Closed {
            return;
        }
        let code = if code == close::code::NORMAL || (3000..=4999).contains(&code) {
            code
        } else {
            close::code::NORMAL
        };
        let reason = close_reason(reason);
        // Before the link goes: these fail as closed, not as link lost.
        self.fail_requests(RequestError::Closed, now);
        if self.drop_link(code, &reason) {
            self.last_close = Some(CloseInfo {
                code,
                reason,
                was_clean: true,
            });
        }
        self.wanted = false;
        self.cached = false;
        self.queue.clear();
        self.queue_bytes = 0;
        self.set_phase(now, Phase::Closed);
        self.report_status();
    }

    /// The shell calls this when the first callback subscribes to `topic`
    /// (it multiplexes further callbacks itself). Sent now when open, else on
    /// the next open; re-sent once on every new connection, with the last
    /// position when `recover`. Ignored in raw mode and for a topic already
    /// pending or subscribed; revives a failed one.
    pub fn subscribe(&mut self, now: Timestamp, topic: &str, recover: bool) {
        self.subscribe_with(now, topic, recover, None, None);
    }

    /// [`Client::subscribe`] with history: `rewind` asks the server for up
    /// to that many of the latest publications on every subscribe it does
    /// not recover (docs/PROTOCOL.md, "Recovery"); `since` is a position the
    /// app saved, recovered from on the first subscribe as if it had been
    /// seen here. Both apply when the topic is new or failed (else the
    /// topic's subscription is already on its way).
    pub fn subscribe_with(
        &mut self,
        _now: Timestamp,
        topic: &str,
        recover: bool,
        rewind: Option<u32>,
        since: Option<Position>,
    ) {
        if self.config.mode == Mode::Raw {
            return;
        }
        // `get_mut` / `last_mut`, not indexing: no panic path in the wasm.
        let sub = match self.subs.iter().position(|s| s.topic == topic) {
            Some(i) => {
                let Some(sub) = self.subs.get_mut(i) else {
                    return;
                };
                if matches!(sub.state, SubState::Pending | SubState::Subscribed) {
                    return;
                }
                sub.recover = recover;
                sub.rewind = rewind;
                if since.is_some() {
                    sub.pos = since;
                }
                set_sub_state(&mut self.events, sub, SubState::Pending, None, 0, None);
                sub
            }
            None => {
                self.subs.push(Sub {
                    topic: topic.to_owned(),
                    state: SubState::Pending,
                    recover,
                    pos: since,
                    cursor: Cursor(0),
                    req: None,
                    asked_recovery: false,
                    rewind,
                });
                let Some(sub) = self.subs.last_mut() else {
                    return;
                };
                sub
            }
        };
        if let Some(link) = self.phase.open_link() {
            write_subscribe(link, sub, &mut self.actions);
        }
        self.report_status();
    }

    /// Moves `topic`'s position back to `since` (same epoch, earlier) and,
    /// when open, asks the server again from there: what follows is
    /// delivered again from that point (a shared connection's new leader,
    /// when a tab that saw less joins: `share::HubAction::Recover`; each
    /// tab's `share::Member` drops what it had).
    pub fn recover_from(&mut self, _now: Timestamp, topic: &str, since: Position) {
        let Some(sub) = self.subs.iter_mut().find(|s| s.topic == topic) else {
            return;
        };
        match &sub.pos {
            Some(pos) if pos.epoch == since.epoch && since.offset < pos.offset => {}
            _ => return,
        }
        sub.pos = Some(since);
        if sub.state == SubState::Failed || !sub.recover {
            return;
        }
        if let Some(link) = self.phase.open_link() {
            write_subscribe(link, sub, &mut self.actions);
        }
    }

    /// The shell calls this when the last callback of `topic` unsubscribes.
    /// Sends `unsubscribe` when the server knows the subscription; while
    /// disconnected it is simply forgotten (never re-sent). Emits
    /// [`SubState::Unsubscribed`].
    pub fn unsubscribe(&mut self, _now: Timestamp, topic: &str) {
        let Some(i) = self.subs.iter().position(|s| s.topic == topic) else {
            return;
        };
        let Some(mut sub) = take(&mut self.subs, i) else {
            return;
        };
        let known = sub.req.is_some() || sub.state == SubState::Subscribed;
        if let Some(link) = self.phase.open_link() {
            if known {
                let id = link.take_id();
                let text = frames::unsubscribe(id, topic);
                self.actions.push_back(Action::Send {
                    socket: link.socket,
                    text,
                });
            }
        }
        set_sub_state(
            &mut self.events,
            &mut sub,
            SubState::Unsubscribed,
            None,
            0,
            None,
        );
        self.report_status();
    }

    /// The shell calls this for `send(msg)` with the encoded frame. Open:
    /// written now. Idle, connecting, reconnecting, offline: queued (FIFO,
    /// flushed on the next open), `false` when that would pass
    /// `max_messages` or `max_bytes` (UTF-8 length). Closed, failed: `false`.
    pub fn send(&mut self, _now: Timestamp, text: String) -> bool {
        match &self.phase {
            Phase::Open { link, .. } => {
                self.actions.push_back(Action::Send {
                    socket: link.socket,
                    text,
                });
                true
            }
            Phase::Closed | Phase::Failed { .. } => false,
            Phase::Idle
            | Phase::Connecting { .. }
            | Phase::Reconnecting { .. }
            | Phase::Offline => self.enqueue(Outgoing {
                text,
                request: None,
            }),
        }
    }

    /// The shell calls this for `request(msg)` with `body`, the JSON text of
    /// the object without an `id`. The `id` is added when the frame is
    /// written: now when open, else on the next open (it waits in the send
    /// queue). Ends in [`Verdict::Resolve`] / [`Verdict::Reject`] from
    /// [`Client::handle_frame`], or [`Event::RequestFailed`] (timeout after
    /// `timeout_ms`, link lost after writing, `close()`).
    pub fn request(
        &mut self,
        now: Timestamp,
        body: String,
        timeout_ms: u64,
    ) -> Result<RequestKey, RequestError> {
        if matches!(self.phase, Phase::Closed | Phase::Failed { .. }) {
            return Err(RequestError::Closed);
        }
        if !frames::trim_json_ws(&body).starts_with("{") {
            return Err(RequestError::NotAnObject);
        }
        self.last_request += 1;
        let key = RequestKey(self.last_request);
        let mut pending = Pending {
            key,
            deadline: now.add_ms(timeout_ms),
            wire: None,
        };
        match self.phase.open_link() {
            Some(link) => {
                let id = link.take_id();
                pending.wire = Some((link.socket, id));
                let text = frames::with_id(&body, id).ok_or(RequestError::NotAnObject)?;
                self.actions.push_back(Action::Send {
                    socket: link.socket,
                    text,
                });
            }
            None => {
                let queued = self.enqueue(Outgoing {
                    text: body,
                    request: Some(key),
                });
                if !queued {
                    return Err(RequestError::QueueFull);
                }
            }
        }
        // May only move the request timer earlier; `expire_requests`, run on
        // every timer, sets it exactly again.
        let next = self
            .timers
            .get(Timer::Request)
            .map_or(pending.deadline, |t| t.min(pending.deadline));
        self.timers.set(Timer::Request, Some(next));
        self.requests.push(pending);
        Ok(key)
    }

    /// Queues a frame for the next open; false when over the limits.
    fn enqueue(&mut self, out: Outgoing) -> bool {
        let limits = self.config.queue;
        let bytes = self.queue_bytes.saturating_add(out.text.len());
        if self.queue.len() >= limits.max_messages || bytes > limits.max_bytes {
            return false;
        }
        self.queue_bytes = bytes;
        self.queue.push(out);
        true
    }

    /// The shell calls this on the socket's `open` event. Tether mode: still
    /// connecting until `connection_established`; raw mode: open now.
    pub fn handle_socket_open(&mut self, now: Timestamp, socket: SocketId) {
        let Phase::Connecting { link, opened, .. } = &mut self.phase else {
            return;
        };
        if link.socket != socket || *opened {
            return;
        }
        *opened = true;
        if self.config.mode == Mode::Raw {
            self.on_open(now, None, None);
        }
        self.report_status();
    }

    /// The shell calls this on the socket's `close` event (also when the
    /// attempt failed before a socket existed: the token provider threw or
    /// `new WebSocket` threw; pass code 1006). Decides from the code: retry
    /// with backoff, wait for the server's delay, or fail (45xx).
    pub fn handle_socket_close(
        &mut self,
        now: Timestamp,
        socket: SocketId,
        code: u16,
        reason: &str,
        was_clean: bool,
    ) {
        if !self.phase.is_current(socket) {
            return;
        }
        self.last_close = Some(CloseInfo {
            code,
            reason: reason.to_owned(),
            was_clean,
        });
        let advice = match close::classify(code, reason) {
            CloseAction::Terminal => Advice::Terminal,
            CloseAction::ReconnectWithError => {
                self.set_error(now, "message too large (close 1009)".to_owned());
                Advice::Backoff
            }
            CloseAction::RetryAfter(ms) => Advice::AtLeast(ms.unwrap_or(0)),
            // 4401: the shell asks the token provider before every attempt
            // anyway, so this is a plain reconnect.
            CloseAction::RefreshToken | CloseAction::Reconnect => Advice::Backoff,
        };
        self.link_down(now, advice);
        self.report_status();
    }

    /// The shell calls this on the socket's `error` event. Only records
    /// `last_error`: the `close` event that follows decides what happens.
    pub fn handle_socket_error(&mut self, now: Timestamp, socket: SocketId, message: &str) {
        if self.phase.is_current(socket) {
            self.set_error(now, message.to_owned());
        }
    }

    /// The shell calls this for every inbound frame, classified by its
    /// `type` (see [`Inbound`]), then delivers it to the app only on
    /// [`Verdict::Deliver`]. Any frame proves the link alive.
    pub fn handle_frame(
        &mut self,
        now: Timestamp,
        socket: SocketId,
        frame: Inbound<'_>,
    ) -> Verdict {
        let tether = self.config.mode == Mode::Tether;
        if !self.phase.is_current(socket) {
            return Verdict::Drop;
        }
        self.timers.set(Timer::Pong, None);
        self.grace_used = false;
        let verdict = match frame {
            Inbound::Established {
                client_id,
                heartbeat_interval_ms,
            } => {
                if tether && matches!(self.phase, Phase::Connecting { .. }) {
                    self.on_open(now, Some(client_id), heartbeat_interval_ms);
                }
                Verdict::Drop
            }
            Inbound::Subscribed {
                id,
                topic,
                epoch,
                offset,
                recovered,
                missed,
            } => {
                self.on_subscribed(id, topic, epoch, offset, recovered, missed);
                Verdict::Drop
            }
            Inbound::Unsubscribed { .. } => Verdict::Drop,
            Inbound::Publication {
                topic,
                epoch,
                offset,
            } => self.on_publication(topic, epoch, offset),
            // The same as `handle_next`, which the fast path calls.
            Inbound::Next { cursor, offset } => self.on_next(cursor, offset),
            Inbound::Pong { id } => {
                if let Phase::Open { ping, .. } = &mut self.phase {
                    if let Some((sent_id, at)) = *ping {
                        if sent_id == id {
                            *ping = None;
                            self.rtt_ms = Some(now.saturating_diff(at));
                        }
                    }
                }
                Verdict::Drop
            }
            Inbound::Ping { id } => {
                self.actions.push_back(Action::Send {
                    socket,
                    text: frames::pong(id),
                });
                Verdict::Drop
            }
            Inbound::Error { id, code, message } => match self.take_request(socket, id) {
                Some(key) => Verdict::Reject(key),
                None => {
                    self.on_error(now, id, code, message);
                    Verdict::Drop
                }
            },
            Inbound::Reply { id } => match self.take_request(socket, Some(id)) {
                Some(key) => Verdict::Resolve(key),
                None => Verdict::Deliver,
            },
            Inbound::Goaway {
                retry_after_ms,
                spread_ms,
            } => {
                if self.timers.get(Timer::Goaway).is_none() {
                    let spread = (self.rng.next_f64() * spread_ms as f64) as u64;
                    let at = now.add_ms(retry_after_ms.saturating_add(spread));
                    self.timers.set(Timer::Goaway, Some(at));
                }
                Verdict::Drop
            }
            Inbound::App => Verdict::Deliver,
        };
        self.report_status();
        verdict
    }

    /// [`Inbound::Next`], the receive fast path (one call per publication
    /// the shell matched by cursor): the same outcome as
    /// [`Client::handle_frame`] with it, but it reads no time, so the shell
    /// need not read its clock for it.
    pub fn handle_next(&mut self, socket: SocketId, cursor: Cursor, offset: u64) -> Verdict {
        if !self.phase.is_current(socket) {
            return Verdict::Drop;
        }
        self.timers.set(Timer::Pong, None);
        self.grace_used = false;
        self.on_next(cursor, offset)
    }

    /// Whether an action or event waits to be polled. With
    /// [`Client::poll_timeout`] unchanged, `false` after an input means the
    /// shell has nothing to do for it.
    pub fn has_output(&self) -> bool {
        !self.actions.is_empty() || !self.events.is_empty()
    }

    /// The shell calls this when its timer fires (armed for
    /// [`Client::poll_timeout`]). Late or early calls are fine: it acts on
    /// every deadline `<= now` and judges them against `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if let Phase::Reconnecting { retry } = self.phase {
            if self.timers.due(Timer::Retry, now) {
                self.start_attempt(now, retry);
            }
        }
        self.link_deadlines(now);
        self.expire_requests(now);
        self.report_status();
    }

    /// The shell calls this on the window's `online` (`true`) and `offline`
    /// (`false`) events. Offline: a pending attempt or retry is cancelled
    /// (state `offline`); an open link is probed with a ping and becomes
    /// `offline` if nothing answers. Online: connects at once from
    /// `offline`, pings at once when open.
    pub fn handle_online(&mut self, now: Timestamp, online: bool) {
        self.online = online;
        match (online, self.state()) {
            (false, State::Connecting) => {
                self.drop_link(close::code::CLIENT_RECONNECT, "offline");
                self.go_offline(now);
            }
            (false, State::Reconnecting) => self.go_offline(now),
            (_, State::Open) => self.send_ping(now),
            (true, State::Offline) => {
                if self.wanted {
                    self.start_attempt(now, 0);
                } else {
                    // Made offline with autoConnect off: nothing to resume.
                    self.set_phase(now, Phase::Idle);
                }
            }
            _ => {}
        }
        self.report_status();
    }

    /// The shell calls this on `visibilitychange` to visible and on
    /// `pageshow`: when open, pings at once (timers were likely throttled).
    pub fn handle_visible(&mut self, now: Timestamp) {
        self.handle_page(now, PageEvent::Visible);
    }

    /// The shell calls this for a page or device event (see [`PageEvent`]).
    /// None of them undoes an explicit `close()`, and none changes the
    /// status unless the state really changes.
    pub fn handle_page(&mut self, now: Timestamp, event: PageEvent) {
        match event {
            PageEvent::Cached => {
                if matches!(
                    self.state(),
                    State::Connecting | State::Open | State::Reconnecting
                ) {
                    self.drop_link(close::code::NORMAL, "page cached");
                    self.cached = true;
                    self.set_phase(now, Phase::Idle);
                }
            }
            PageEvent::Restored if self.cached => {
                self.cached = false;
                if self.wanted && self.state() == State::Idle {
                    self.attempt_or_offline(now, 0);
                }
            }
            PageEvent::Restored | PageEvent::Visible => {
                self.hidden = false;
                self.check_liveness(now, false);
            }
            PageEvent::Resumed | PageEvent::NetworkChanged => self.check_liveness(now, true),
            PageEvent::Hidden => self.hidden = true,
        }
        self.report_status();
    }

    /// A ping at once when open. With `stale` (the page was frozen, the
    /// device slept, the network changed) also: the time that passed does
    /// not count against the link (a fresh pong deadline, a fresh connect
    /// budget), and a wait for a retry ends now.
    fn check_liveness(&mut self, now: Timestamp, stale: bool) {
        if stale {
            self.grace_used = false;
        }
        match self.phase {
            Phase::Open { .. } => {
                if stale {
                    self.timers.set(Timer::Pong, None);
                }
                self.send_ping(now);
            }
            Phase::Connecting { .. } if stale => {
                let deadline = now.add_ms(self.config.connect_timeout_ms);
                self.timers.set(Timer::Connect, Some(deadline));
            }
            Phase::Reconnecting { retry } if stale => self.start_attempt(now, retry),
            _ => {}
        }
    }

    /// The shell calls this after every input, until `None`, and performs
    /// each action in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The shell calls this after every input (after draining actions),
    /// until `None`, and calls the matching listeners.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The shell calls this after every input and (re)arms its one timer for
    /// the returned time (`None`: no timer). Covers the retry timer, the
    /// connect timeout, the heartbeat ping and pong deadlines and the goaway
    /// deadline. The counter's `stable_after_ms` is judged when a link ends,
    /// so it needs no timer.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.next()
    }

    /// The status snapshot, computed from the phase and the timers and
    /// borrowing the stored strings; the shell reads it for `status` and on
    /// [`Event::Status`].
    pub fn status(&self) -> Status<'_> {
        Status {
            state: self.state(),
            attempt: self.phase.attempt(),
            next_retry_at: self.timers.get(Timer::Retry),
            last_close: self.last_close.as_ref(),
            last_error: self.last_error.as_deref(),
            last_error_at: self.last_error_at,
            rtt_ms: self.rtt_ms,
            client_id: self.client_id.as_deref(),
            queued: self.queue.len(),
            since: self.since,
        }
    }

    /// The current state (`Tether.state`).
    pub fn state(&self) -> State {
        self.phase.state()
    }

    /// `topic`'s current [`Cursor`] and the epoch it stands for, once the
    /// subscription has a position (after `subscribed` or a publication).
    /// The shell reads it after each frame of the topic it classified in
    /// full, to match the next ones itself ([`Inbound::Next`]).
    pub fn cursor(&self, topic: &str) -> Option<(Cursor, &str)> {
        let sub = self.subs.iter().find(|s| s.topic == topic)?;
        let pos = sub.pos.as_ref()?;
        Some((sub.cursor, &pos.epoch))
    }

    /// The wire state of `topic`'s subscription, `None` if there is none
    /// (never subscribed, or unsubscribed).
    pub fn subscription(&self, topic: &str) -> Option<SubState> {
        self.subs.iter().find(|s| s.topic == topic).map(|s| s.state)
    }

    // ---- internals ----

    /// Enters `phase`: its state's `since` moves only when the state does,
    /// and the deadlines of the phase left are cleared (the caller sets the
    /// new phase's).
    fn set_phase(&mut self, now: Timestamp, phase: Phase) {
        if self.phase.state() != phase.state() {
            self.since = now;
        }
        self.phase = phase;
        self.timers.clear_phase();
    }

    /// Coalesces status changes into one [`Event::Status`] per input: the
    /// event carries no data, listeners read the snapshot after the call.
    fn report_status(&mut self) {
        let now = (
            self.state(),
            self.phase.attempt(),
            self.timers.raw(Timer::Retry),
            self.rtt_ms,
        );
        if now != self.reported {
            self.reported = now;
            self.events.push_back(Event::Status);
        }
    }

    fn attempt_or_offline(&mut self, now: Timestamp, retry: u32) {
        if self.online {
            self.start_attempt(now, retry);
        } else {
            self.go_offline(now);
        }
    }

    fn start_attempt(&mut self, now: Timestamp, retry: u32) {
        self.grace_used = false;
        self.last_socket += 1;
        let socket = SocketId(self.last_socket);
        let phase = Phase::Connecting {
            link: Link::new(socket),
            retry,
            opened: false,
        };
        self.set_phase(now, phase);
        let deadline = now.add_ms(self.config.connect_timeout_ms);
        self.timers.set(Timer::Connect, Some(deadline));
        self.actions.push_back(Action::Open { socket });
    }

    fn go_offline(&mut self, now: Timestamp) {
        self.set_phase(now, Phase::Offline);
    }

    /// Lets go of the current link: tells the shell to close it and puts the
    /// subscriptions back to pending. Returns whether there was one. The
    /// caller then enters the next phase, which drops the link.
    fn drop_link(&mut self, code: u16, reason: &str) -> bool {
        let Some(link) = self.phase.link() else {
            return false;
        };
        self.actions.push_back(Action::Close {
            socket: link.socket,
            code,
            reason: reason.to_owned(),
        });
        self.subs_pending();
        true
    }

    fn subs_pending(&mut self) {
        // A request written on the lost link can no longer be answered.
        self.fail_requests(RequestError::LinkLost, Timestamp(0));
        for sub in &mut self.subs {
            sub.req = None;
            if sub.state == SubState::Subscribed {
                set_sub_state(&mut self.events, sub, SubState::Pending, None, 0, None);
            }
        }
    }

    /// The current link ended (the shell was told, or told us): what next,
    /// judged from its phase, still current (connecting or open).
    fn link_down(&mut self, now: Timestamp, advice: Advice) {
        let (Phase::Connecting { retry, .. } | Phase::Open { retry, .. }) = self.phase else {
            return;
        };
        let established = match self.phase {
            Phase::Open { since, .. } => Some(since),
            _ => None,
        };
        let attempt = self.phase.attempt();
        let goaway = self.timers.get(Timer::Goaway);
        self.subs_pending();
        let stable =
            established.is_some_and(|t| now.saturating_diff(t) >= self.config.stable_after_ms);
        let retry = if stable { 0 } else { retry };
        // The next phase, and when it retries.
        let (phase, retry_at) = if advice == Advice::Terminal {
            (Phase::Failed { attempt }, None)
        } else if !self.online {
            (Phase::Offline, None)
        } else if let Some(at) = goaway {
            // The server asked us to leave: its delay, and no failed attempt.
            (Phase::Reconnecting { retry: 1 }, Some(at))
        } else if !stable && self.config.backoff.max_attempts.is_some_and(|n| retry >= n) {
            // A failed attempt (it never opened, or its link died before
            // `stable_after_ms`): N failed retries allow N+1 attempts.
            (Phase::Failed { attempt }, None)
        } else {
            let retry = retry.saturating_add(1);
            let mut delay = self.config.backoff.delay_ms(retry, self.rng.next_f64());
            if let Advice::AtLeast(ms) = advice {
                delay = delay.max(ms);
            }
            (Phase::Reconnecting { retry }, Some(now.add_ms(delay)))
        };
        self.set_phase(now, phase);
        self.timers.set(Timer::Retry, retry_at);
    }

    /// Connect timeout, goaway deadline, heartbeat.
    fn link_deadlines(&mut self, now: Timestamp) {
        if self.phase.link().is_none() {
            return;
        }
        if self.timers.due(Timer::Connect, now) && self.late(Timer::Connect, now) {
            self.grace_used = true;
            // Observed later than the budget itself (a throttled, frozen or
            // sleeping page): the socket's events may still be queued. A
            // fresh budget, rather than a verdict on our own lateness.
            let deadline = now.add_ms(self.config.connect_timeout_ms);
            self.timers.set(Timer::Connect, Some(deadline));
        }
        if self.timers.due(Timer::Connect, now) {
            let mut why = String::from("connect timeout after ");
            frames::push_u64(&mut why, self.config.connect_timeout_ms);
            why.push_str(" ms");
            self.kill_link(now, "connect timeout", why);
            return;
        }
        if self.timers.due(Timer::Goaway, now) {
            // The server did not close in time: leave ourselves.
            self.drop_link(close::code::CLIENT_RECONNECT, "goaway");
            self.attempt_or_offline(now, 1);
            return;
        }
        if let Some(hb) = self.config.heartbeat {
            if self.timers.due(Timer::Pong, now) {
                if self.late(Timer::Pong, now) {
                    self.grace_used = true;
                    // Missed by more than the timeout itself: the page was
                    // frozen, and replies may still sit in the event queue.
                    // Ask again rather than judge the link on our own lateness.
                    self.timers.set(Timer::Pong, None);
                    self.send_ping(now);
                } else {
                    let mut why = String::from("heartbeat timeout: no answer to a ping within ");
                    frames::push_u64(&mut why, hb.timeout_ms);
                    why.push_str(" ms");
                    self.kill_link(now, "heartbeat timeout", why);
                    return;
                }
            }
        }
        if self.timers.due(Timer::Ping, now) {
            self.send_ping(now);
        }
    }

    /// Whether `timer`, due, is observed later than its own budget (the
    /// connect timeout or the heartbeat timeout): the page or the device
    /// was not running, not the link that failed; once, until the page
    /// shows it ran (a hidden tab's timers are late every time, but its
    /// socket events are not: a second late deadline is a verdict).
    fn late(&self, timer: Timer, now: Timestamp) -> bool {
        if self.grace_used {
            return false;
        }
        let budget = match timer {
            Timer::Connect => self.config.connect_timeout_ms,
            _ => self.config.heartbeat.map_or(u64::MAX, |hb| hb.timeout_ms),
        };
        self.timers
            .get(timer)
            .is_some_and(|at| now.saturating_diff(at) > budget)
    }

    /// Records what failed, and when, for the status.
    fn set_error(&mut self, now: Timestamp, message: String) {
        self.last_error = Some(message);
        self.last_error_at = Some(now);
    }

    /// Closes a link the client judged dead (4000 with `reason`), records
    /// `error` as the last error, and moves on as if the server had closed
    /// it.
    fn kill_link(&mut self, now: Timestamp, reason: &str, error: String) {
        let code = close::code::CLIENT_RECONNECT;
        if !self.drop_link(code, reason) {
            return;
        }
        self.set_error(now, error);
        self.last_close = Some(CloseInfo {
            code,
            reason: reason.to_owned(),
            was_clean: false,
        });
        self.link_down(now, Advice::Backoff);
    }

    /// Sends a heartbeat ping now (when open and the heartbeat is on) and
    /// restarts the ping period. The pong deadline counts from now, the
    /// moment the ping really leaves, however late the timer was.
    fn send_ping(&mut self, now: Timestamp) {
        let Some(hb) = self.config.heartbeat else {
            return;
        };
        let Phase::Open {
            link,
            interval_ms,
            ping,
            ..
        } = &mut self.phase
        else {
            return;
        };
        let (id, text) = match self.config.mode {
            Mode::Tether => {
                let id = link.take_id();
                (Some(id), frames::ping(id))
            }
            Mode::Raw => (None, self.config.raw_ping_message.clone()),
        };
        *ping = Some((id, now));
        // An earlier unanswered ping keeps its (earlier) deadline.
        if self.timers.get(Timer::Pong).is_none() {
            self.timers
                .set(Timer::Pong, Some(now.add_ms(hb.timeout_ms)));
        }
        let every = match hb.hidden_interval_ms {
            Some(ms) if self.hidden => ms,
            _ => *interval_ms,
        };
        self.timers.set(Timer::Ping, Some(now.add_ms(every)));
        self.actions.push_back(Action::Send {
            socket: link.socket,
            text,
        });
    }

    /// The link is established (`connection_established`, or the socket's
    /// `open` in raw mode). Order: resubscribes, queued frames, then (at
    /// the end of the input) the status event.
    fn on_open(&mut self, now: Timestamp, client_id: Option<&str>, server_interval: Option<u64>) {
        let Phase::Connecting {
            mut link, retry, ..
        } = self.phase
        else {
            return;
        };
        let socket = link.socket;
        for sub in &mut self.subs {
            if sub.state == SubState::Pending {
                write_subscribe(&mut link, sub, &mut self.actions);
            }
        }
        // By reference, each text taken, then cleared: no `IntoIter` code.
        for out in &mut self.queue {
            let text = core::mem::take(&mut out.text);
            let text = match out.request {
                None => text,
                Some(key) => {
                    // A request that timed out while queued is gone already.
                    let Some(req) = self.requests.iter_mut().find(|r| r.key == key) else {
                        continue;
                    };
                    let id = link.take_id();
                    req.wire = Some((socket, id));
                    frames::with_id(&text, id).unwrap_or(text)
                }
            };
            self.actions.push_back(Action::Send { socket, text });
        }
        self.queue.clear();
        self.queue_bytes = 0;
        // A link is up: what failed before is history (the logger has it).
        self.last_error = None;
        self.last_error_at = None;
        if let Some(id) = client_id {
            self.client_id = Some(id.to_owned());
        }
        let interval_ms = self
            .config
            .heartbeat
            .and_then(|hb| hb.interval_ms)
            .or(server_interval)
            .filter(|&ms| ms > 0)
            .unwrap_or(DEFAULT_HEARTBEAT_INTERVAL_MS);
        // A `goaway` that came while connecting still stands.
        let goaway = self.timers.get(Timer::Goaway);
        self.set_phase(
            now,
            Phase::Open {
                link,
                retry,
                since: now,
                interval_ms,
                ping: None,
            },
        );
        self.timers.set(Timer::Goaway, goaway);
        if self.config.heartbeat.is_some() {
            self.timers.set(Timer::Ping, Some(now.add_ms(interval_ms)));
        }
    }

    /// Removes and returns the request written on `socket` with `id`.
    fn take_request(&mut self, socket: SocketId, id: Option<u64>) -> Option<RequestKey> {
        let id = id?;
        let at = self
            .requests
            .iter()
            .position(|r| r.wire == Some((socket, id)))?;
        Some(take(&mut self.requests, at)?.key)
    }

    /// Fails every request past its deadline; a queued one leaves the queue.
    fn expire_requests(&mut self, now: Timestamp) {
        let expired = self.fail_requests(RequestError::Timeout, now);
        let next = self.requests.iter().map(|r| r.deadline).min();
        self.timers.set(Timer::Request, next);
        if !expired {
            return;
        }
        // A queued request whose `Pending` is gone expired (a queued one
        // ends no other way but `close()`, which clears both). Keys grow in
        // both lists: one walk through each, kept frames moved to the front
        // in order (as `fail_requests`).
        let mut kept = 0;
        let mut at = 0;
        for i in 0..self.queue.len() {
            let Some(out) = self.queue.get(i) else {
                break;
            };
            if let Some(RequestKey(key)) = out.request {
                while self.requests.get(at).is_some_and(|r| r.key.0 < key) {
                    at += 1;
                }
                if self.requests.get(at).is_none_or(|r| r.key.0 != key) {
                    self.queue_bytes -= out.text.len();
                    continue;
                }
            }
            if let Some([first, .., last]) = self.queue.get_mut(kept..=i) {
                core::mem::swap(first, last);
            }
            kept += 1;
        }
        self.queue.truncate(kept);
    }

    /// Fails, in order, the requests `error` ends: those written (link
    /// lost), past `now` (timeout), or all (closed). True when there were
    /// some. One pass, the others moved to the front in order: a
    /// `Vec::retain` without its code in the wasm, and linear (one `take`
    /// each would shift the rest every time).
    fn fail_requests(&mut self, error: RequestError, now: Timestamp) -> bool {
        let mut kept = 0;
        let mut failed = false;
        for i in 0..self.requests.len() {
            // Swaps touch only `..=i`: item `i` is still the `i`-th made.
            let Some(r) = self.requests.get(i) else {
                break;
            };
            let ends = match error {
                RequestError::Timeout => r.deadline <= now,
                RequestError::LinkLost => r.wire.is_some(),
                _ => true,
            };
            if ends {
                failed = true;
                self.events
                    .push_back(Event::RequestFailed { key: r.key, error });
                continue;
            }
            if let Some([first, .., last]) = self.requests.get_mut(kept..=i) {
                core::mem::swap(first, last);
            }
            kept += 1;
        }
        self.requests.truncate(kept);
        failed
    }

    fn on_subscribed(
        &mut self,
        id: u64,
        topic: &str,
        epoch: &str,
        offset: u64,
        recovered: Option<bool>,
        missed: u64,
    ) {
        let Some(sub) = self
            .subs
            .iter_mut()
            .find(|s| s.req == Some(id) && s.topic == topic)
        else {
            return;
        };
        sub.req = None;
        self.last_cursor = self.last_cursor.wrapping_add(1);
        sub.cursor = Cursor(self.last_cursor);
        // No recovery asked: report none, whatever the server says.
        let recovered = if sub.asked_recovery { recovered } else { None };
        // What follows: the replay, or (not recovered) the history asked.
        let missed = if recovered == Some(true) || sub.rewind.is_some() {
            missed
        } else {
            0
        };
        // The offset counts as seen, so a quiet topic still recovers; but a
        // replay of `missed` publications follows, which must not look like
        // duplicates. In the same epoch the position never moves back: what
        // was delivered stays delivered (an instance whose copy of the
        // history lags may answer with an older offset).
        let from = offset.saturating_sub(missed);
        match &mut sub.pos {
            Some(pos) if pos.epoch == epoch => pos.offset = pos.offset.max(from),
            pos => {
                *pos = Some(Position {
                    epoch: epoch.to_owned(),
                    offset: from,
                })
            }
        }
        set_sub_state(
            &mut self.events,
            sub,
            SubState::Subscribed,
            recovered,
            missed,
            None,
        );
    }

    fn on_publication(&mut self, topic: &str, epoch: &str, offset: u64) -> Verdict {
        let Some(sub) = self.subs.iter_mut().find(|s| s.topic == topic) else {
            return Verdict::Drop;
        };
        if sub.state == SubState::Failed {
            return Verdict::Drop;
        }
        match &mut sub.pos {
            Some(pos) if pos.epoch == epoch => {
                if offset <= pos.offset {
                    return Verdict::Drop;
                }
                pos.offset = offset;
            }
            _ => {
                sub.pos = Some(Position {
                    epoch: epoch.to_owned(),
                    offset,
                });
                self.last_cursor = self.last_cursor.wrapping_add(1);
                sub.cursor = Cursor(self.last_cursor);
            }
        }
        Verdict::Deliver
    }

    fn on_next(&mut self, cursor: Cursor, offset: u64) -> Verdict {
        let sub = self.subs.iter_mut().find(|s| s.cursor == cursor);
        let Some((sub, pos)) = sub.and_then(|s| Some((s.state, s.pos.as_mut()?))) else {
            return Verdict::Stale;
        };
        if sub == SubState::Failed || offset <= pos.offset {
            return Verdict::Drop;
        }
        pos.offset = offset;
        Verdict::Deliver
    }

    fn on_error(&mut self, now: Timestamp, id: Option<u64>, code: &str, message: &str) {
        let mut text = String::with_capacity(code.len() + 2 + message.len());
        text.push_str(code);
        if !message.is_empty() {
            text.push_str(": ");
            text.push_str(message);
        }
        let sub = id.and_then(|id| self.subs.iter_mut().find(|s| s.req == Some(id)));
        match sub {
            Some(sub) => {
                sub.req = None;
                set_sub_state(&mut self.events, sub, SubState::Failed, None, 0, Some(text));
            }
            // Replies to other requests (pings, later `request()`) are not
            // the status's business; errors without an id are.
            None if id.is_none() => self.set_error(now, text),
            None => {}
        }
    }
}

/// Sends `subscribe` for `sub` on `link` (recovering from its last position
/// when asked) and records the request id.
fn write_subscribe(link: &mut Link, sub: &mut Sub, actions: &mut Fifo<Action>) {
    let id = link.take_id();
    let recover = sub.pos.as_ref().filter(|_| sub.recover);
    sub.asked_recovery = recover.is_some();
    sub.req = Some(id);
    actions.push_back(Action::Send {
        socket: link.socket,
        text: frames::subscribe(id, &sub.topic, recover, sub.rewind),
    });
}

fn set_sub_state(
    events: &mut Fifo<Event>,
    sub: &mut Sub,
    state: SubState,
    recovered: Option<bool>,
    missed: u64,
    error: Option<String>,
) {
    sub.state = state;
    events.push_back(Event::Subscription {
        topic: sub.topic.clone(),
        state,
        recovered,
        missed,
        error,
    });
}

/// `WebSocket.close` throws on a reason over 123 UTF-8 bytes: cut it at a
/// character boundary.
fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason.get(..end).unwrap_or_default().to_owned()
}
