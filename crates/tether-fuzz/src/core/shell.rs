//! A checking shell: performs each step on the core the way the browser
//! shell would, keeps its own account of what the core asked for (sockets,
//! queued frames, requests, deliveries) from the public API alone, and
//! asserts the invariants after every input:
//!
//! - never two sockets: an `Open` only when the core holds no socket (one
//!   it opened and neither closed nor heard closed); writes and closes only
//!   to a held socket; it holds one exactly while connecting or open;
//! - never a delivered duplicate: per subscription, an offset of a
//!   (topic, epoch) is delivered at most once; only publications on a live
//!   subscription, replies and app messages are delivered;
//! - the send queue: `status.queued` counts what was queued and not yet
//!   flushed, dropped or expired, within `max_messages` and `max_bytes`; a
//!   frame is refused exactly when it would not fit; the queue is flushed
//!   in order on open;
//! - requests: each ends once (reply, error reply, or a failure event),
//!   never before its deadline by timeout, always by then once the timer
//!   fires; `close()` ends them all; the timer is armed for them;
//! - status: a retry time exactly while reconnecting, attempt 0 while
//!   open, a timer armed while connecting or reconnecting.
//!
//! Time only moves forward (the core's clock is monotonic), from a
//! realistic `Date.now()` up to 2^53 ms.

use std::collections::{BTreeMap, BTreeSet};

use tether_core::{
    Action, Client, Cursor, Event, Inbound, PageEvent, QueueLimits, RequestError, RequestKey,
    SocketId, State, SubState, Timestamp, Verdict,
};
use tether_protocol::client as frames;

use super::input::{Body, CursorIn, Frame, Id, Sock, Start, Step, TimerMode, TOPICS};
use crate::checks::Checks;

/// Every page event, for `Step::Page`.
const PAGE_EVENTS: [PageEvent; 6] = [
    PageEvent::Cached,
    PageEvent::Restored,
    PageEvent::Resumed,
    PageEvent::NetworkChanged,
    PageEvent::Visible,
    PageEvent::Hidden,
];

/// Start time: a realistic `Date.now()`.
const T0: u64 = 1_700_000_000_000;
/// The clock stops here (JS numbers are exact up to 2^53).
const MAX_NOW: u64 = 1 << 53;
/// Most timer firings while time passes in one step (a timer due again at
/// once, e.g. with zero timeouts, would otherwise spin).
const MAX_FIRES: usize = 64;
/// Longest close reason `WebSocket.close` accepts, in UTF-8 bytes.
const MAX_REASON_BYTES: usize = 123;

/// A frame the shell saw queued: its text (a request's without its id).
struct Queued {
    text: String,
    request: Option<RequestKey>,
}

/// The publications delivered on one subscription.
#[derive(Default)]
struct Delivered {
    /// Offsets per epoch.
    offsets: BTreeMap<String, BTreeSet<u64>>,
    /// The epoch of the last one.
    epoch: Option<String>,
}

/// What one input produced.
#[derive(Default)]
struct Output {
    sends: Vec<String>,
}

pub struct Shell {
    c: Client,
    checks: Checks,
    limits: QueueLimits,
    now: u64,
    /// Sockets the core opened and still holds.
    held: Vec<SocketId>,
    /// The last socket the core opened.
    latest: Option<SocketId>,
    /// Ids written on the latest socket, for replies.
    ids: Vec<u64>,
    queue: Vec<Queued>,
    /// Requests not ended yet, with their deadlines.
    requests: BTreeMap<u64, u64>,
    /// What was delivered per topic, for the current subscription.
    delivered: BTreeMap<&'static str, Delivered>,
    /// The `subscribed` frame being handled: topic, epoch, offset.
    restating: Option<(&'static str, &'static str, u64)>,
}

impl Shell {
    pub fn new(start: &Start, checks: Checks) -> Shell {
        let config = start.config.build();
        let limits = config.queue;
        let mut shell = Shell {
            c: Client::new(config, Timestamp(T0), start.seed, start.online),
            checks,
            limits,
            now: T0,
            held: Vec::new(),
            latest: None,
            ids: Vec::new(),
            queue: Vec::new(),
            requests: BTreeMap::new(),
            delivered: BTreeMap::new(),
            restating: None,
        };
        shell.settle();
        shell
    }

    fn t(&self) -> Timestamp {
        Timestamp(self.now)
    }

    pub fn step(&mut self, step: &Step) {
        let now = self.t();
        match step {
            Step::Connect => {
                self.c.connect(now);
                self.settle();
            }
            Step::Reconnect => {
                self.c.reconnect(now);
                self.settle();
            }
            Step::Close { code, reason } => {
                self.c.close(now, *code, &reason.get());
                self.settle();
                assert_eq!(self.c.state(), State::Closed);
                assert!(self.requests.is_empty(), "close() left requests pending");
            }
            Step::Subscribe { topic, recover } => {
                self.c.subscribe(now, topic.name(), *recover);
                self.settle();
            }
            Step::Unsubscribe { topic } => {
                self.c.unsubscribe(now, topic.name());
                self.delivered.remove(topic.name());
                self.settle();
                assert_eq!(self.c.subscription(topic.name()), None);
            }
            Step::Send { text } => self.send(text.get()),
            Step::Request { body, timeout } => self.request(body, timeout.get()),
            Step::Online(online) => {
                self.c.handle_online(now, *online);
                self.settle();
            }
            Step::Page(n) => {
                let event = PAGE_EVENTS[usize::from(*n) % PAGE_EVENTS.len()];
                let closed = self.c.state() == State::Closed;
                let opens = self.latest;
                self.c.handle_page(now, event);
                self.settle();
                if closed {
                    assert_eq!(self.c.state(), State::Closed, "{event:?} undid close()");
                    assert_eq!(
                        self.latest, opens,
                        "{event:?} opened a socket after close()"
                    );
                }
            }
            Step::SocketOpen(sock) => {
                let socket = self.socket(*sock);
                self.c.handle_socket_open(now, socket);
                self.settle();
            }
            Step::SocketError(sock) => {
                let socket = self.socket(*sock);
                self.c.handle_socket_error(now, socket, "socket error");
                self.settle();
            }
            Step::SocketClose {
                sock,
                code,
                reason,
                clean,
            } => {
                let socket = self.socket(*sock);
                // The browser says it is gone, whatever the core thinks.
                self.held.retain(|&s| s != socket);
                self.c
                    .handle_socket_close(now, socket, code.get(), &reason.get(), *clean);
                self.settle();
            }
            Step::Frame { sock, frame } => self.frame(*sock, frame),
            Step::Timer => self.fire(),
            Step::Advance { ms, timer } => self.advance(ms.get(), *timer),
        }
    }

    fn socket(&self, sock: Sock) -> SocketId {
        let latest = self.latest.map_or(0, |s| s.0);
        match sock {
            Sock::Latest => SocketId(latest),
            Sock::Older(n) => SocketId(latest.saturating_sub(u64::from(n) + 1)),
            Sock::Any(n) => SocketId(n),
        }
    }

    fn send(&mut self, text: String) {
        let state = self.c.state();
        let fits = self.fits(&text);
        let accepted = self.c.send(self.t(), text.clone());
        let out =
            self.settle_with(|s, out| s.queued(accepted && out.sends.is_empty(), &text, None));
        match state {
            State::Open => assert!(accepted && out.sends == [text], "send while open"),
            State::Closed | State::Failed => assert!(!accepted, "send accepted while {state:?}"),
            _ => assert_eq!(
                accepted,
                fits,
                "send of {} bytes while {state:?}",
                text.len()
            ),
        }
    }

    fn request(&mut self, body: &Body, timeout_ms: u64) {
        let body = body.get();
        let state = self.c.state();
        let fits = self.fits(&body);
        let result = self.c.request(self.t(), body.clone(), timeout_ms);
        let key = result.ok();
        let out =
            self.settle_with(|s, out| s.queued(key.is_some() && out.sends.is_empty(), &body, key));
        let object = frames::trim_json_ws(&body).starts_with('{');
        match (result, state) {
            (Err(RequestError::Closed), State::Closed | State::Failed) => {}
            (Err(RequestError::NotAnObject), _) if !object => {}
            (Err(RequestError::QueueFull), _) if !fits && state != State::Open => {}
            (Ok(key), _) if object && !matches!(state, State::Closed | State::Failed) => {
                let deadline = self.now.saturating_add(timeout_ms);
                assert!(
                    self.requests.insert(key.0, deadline).is_none(),
                    "key reused"
                );
                if state == State::Open {
                    assert_eq!(out.sends.len(), 1, "request while open is written at once");
                } else {
                    assert!(fits, "queued a request that does not fit");
                }
            }
            (result, state) => panic!("request({body:?}) while {state:?}: {result:?}"),
        }
    }

    /// Whether `text` fits the send queue as the shell counts it.
    fn fits(&self, text: &str) -> bool {
        let bytes: usize = self.queue.iter().map(|q| q.text.len()).sum();
        self.queue.len() < self.limits.max_messages
            && bytes.saturating_add(text.len()) <= self.limits.max_bytes
    }

    /// Notes a frame the core took but did not write: it is queued.
    fn queued(&mut self, queued: bool, text: &str, request: Option<RequestKey>) {
        if queued {
            self.queue.push(Queued {
                text: text.to_owned(),
                request,
            });
        }
    }

    fn frame(&mut self, sock: Sock, frame: &Frame) {
        let socket = self.socket(sock);
        let held = self.held.contains(&socket);
        let (client_id, code, message) = match frame {
            Frame::Established { client_id, .. } => (client_id.get(), String::new(), String::new()),
            Frame::Error { code, message, .. } => (String::new(), code.get(), message.get()),
            _ => Default::default(),
        };
        // For a delivered publication: its topic and epoch.
        let mut names: Option<(&'static str, String)> = None;
        let inbound = match frame {
            Frame::Established {
                heartbeat_interval, ..
            } => Inbound::Established {
                client_id: &client_id,
                heartbeat_interval_ms: heartbeat_interval.map(|ms| ms.get()),
            },
            Frame::Subscribed {
                id,
                topic,
                epoch,
                offset,
                recovered,
                missed,
            } => {
                self.restating = Some((topic.name(), epoch.name(), offset.get()));
                Inbound::Subscribed {
                    id: self.id(*id),
                    topic: topic.name(),
                    epoch: epoch.name(),
                    offset: offset.get(),
                    recovered: *recovered,
                    missed: missed.get(),
                }
            }
            Frame::Unsubscribed { id, topic } => Inbound::Unsubscribed {
                id: self.id(*id),
                topic: topic.name(),
            },
            Frame::Publication {
                topic,
                epoch,
                offset,
            } => {
                names = Some((topic.name(), epoch.name().to_owned()));
                Inbound::Publication {
                    topic: topic.name(),
                    epoch: epoch.name(),
                    offset: offset.get(),
                }
            }
            Frame::Next { cursor, offset } => {
                let cursor = match cursor {
                    CursorIn::Of(topic) => self.c.cursor(topic.name()).map_or(Cursor(0), |c| c.0),
                    CursorIn::Any(n) => Cursor(*n),
                };
                names = TOPICS.iter().find_map(|&topic| {
                    let (c, epoch) = self.c.cursor(topic)?;
                    (c == cursor).then(|| (topic, epoch.to_owned()))
                });
                Inbound::Next {
                    cursor,
                    offset: offset.get(),
                }
            }
            Frame::Pong { id } => Inbound::Pong {
                id: id.map(|id| self.id(id)),
            },
            Frame::Ping { id } => Inbound::Ping { id: *id },
            Frame::Error { id, .. } => Inbound::Error {
                id: id.map(|id| self.id(id)),
                code: &code,
                message: &message,
            },
            Frame::Goaway {
                retry_after,
                spread,
            } => Inbound::Goaway {
                retry_after_ms: retry_after.get(),
                spread_ms: spread.get(),
            },
            Frame::Reply { id } => Inbound::Reply { id: self.id(*id) },
            Frame::App => Inbound::App,
        };
        let offset = match inbound {
            Inbound::Publication { offset, .. } | Inbound::Next { offset, .. } => offset,
            _ => 0,
        };
        let verdict = self.c.handle_frame(self.t(), socket, inbound);
        if !held {
            assert_eq!(
                verdict,
                Verdict::Drop,
                "{frame:?} from a socket the core let go of"
            );
        }
        match (verdict, frame) {
            (Verdict::Drop, _) => {}
            (Verdict::Deliver, Frame::Publication { .. } | Frame::Next { .. }) => {
                let (topic, epoch) = names.unwrap_or_else(|| {
                    panic!("delivered {frame:?}, whose cursor names no subscription")
                });
                self.deliver(topic, epoch, offset);
            }
            (Verdict::Deliver, Frame::Reply { .. } | Frame::App) => {}
            (Verdict::Resolve(key), Frame::Reply { .. })
            | (Verdict::Reject(key), Frame::Error { .. }) => self.end(key),
            (Verdict::Stale, Frame::Next { .. }) => {}
            (verdict, frame) => panic!("{verdict:?} for {frame:?}"),
        }
        self.settle();
        self.restating = None;
    }

    fn id(&self, id: Id) -> u64 {
        match id {
            Id::Recent(n) => {
                let back = usize::from(n) % (self.ids.len() + 1);
                self.ids
                    .len()
                    .checked_sub(back + 1)
                    .map_or(0, |i| self.ids[i])
            }
            Id::Any(n) => n,
        }
    }

    fn deliver(&mut self, topic: &'static str, epoch: String, offset: u64) {
        let sub = self.c.subscription(topic);
        assert!(
            matches!(sub, Some(SubState::Pending | SubState::Subscribed)),
            "delivered a publication of {topic:?}, whose subscription is {sub:?}"
        );
        let seen = self.delivered.entry(topic).or_default();
        if !self.checks.no_redelivery_after_epoch_change && seen.epoch.as_ref() != Some(&epoch) {
            // F4 tolerated: an epoch met again starts afresh.
            seen.offsets.remove(&epoch);
        }
        seen.epoch = Some(epoch.clone());
        let fresh = seen
            .offsets
            .entry(epoch.clone())
            .or_default()
            .insert(offset);
        assert!(fresh, "delivered {topic:?} {epoch:?} offset {offset} twice");
    }

    /// A `subscribed` set the topic's position to `offset - missed`.
    fn restated(&mut self, topic: &str, missed: u64) {
        let Some((name, epoch, offset)) = self.restating.filter(|r| r.0 == topic) else {
            return;
        };
        let seen = self.delivered.entry(name).or_default();
        if !self.checks.no_redelivery_after_epoch_change && seen.epoch.as_deref() != Some(epoch) {
            // F4 tolerated here too: `subscribed` moved the core to an
            // epoch, which starts afresh if it was met before.
            seen.offsets.remove(epoch);
        }
        // The epoch the core now holds, for F4's tolerance.
        seen.epoch = Some(epoch.to_owned());
        if self.checks.no_redelivery_after_subscribed {
            return;
        }
        // F5 tolerated: what lies after the new position may come again.
        let position = offset.saturating_sub(missed);
        if let Some(offsets) = seen.offsets.get_mut(epoch) {
            offsets.retain(|&o| o <= position);
        }
    }

    /// A request ended (reply, error reply, or failure event).
    fn end(&mut self, key: RequestKey) {
        assert!(
            self.requests.remove(&key.0).is_some(),
            "{key:?} ended, but it is not pending"
        );
        self.queue.retain(|q| q.request != Some(key));
    }

    fn fire(&mut self) {
        self.c.handle_timeout(self.t());
        self.settle();
        let now = self.now;
        if let Some((key, deadline)) = self.requests.iter().find(|(_, &d)| d <= now) {
            panic!("request {key} outlived its deadline {deadline} (now {now})");
        }
    }

    fn advance(&mut self, ms: u64, timer: TimerMode) {
        let target = self.now.saturating_add(ms).min(MAX_NOW);
        match timer {
            TimerMode::OnTime => {
                for _ in 0..MAX_FIRES {
                    match self.c.poll_timeout() {
                        Some(t) if t.0 <= target => {
                            self.now = self.now.max(t.0);
                            self.fire();
                        }
                        _ => break,
                    }
                }
                self.now = target;
            }
            TimerMode::Late => {
                self.now = target;
                self.fire();
            }
            TimerMode::Silent => self.now = target,
        }
    }

    fn settle(&mut self) {
        self.settle_with(|_, _| {});
    }

    /// Drains the core's actions and events after an input, checking each,
    /// then checks the invariants. `note` runs between the two, with what
    /// the actions wrote.
    fn settle_with(&mut self, note: impl FnOnce(&mut Self, &Output)) -> Output {
        let mut out = Output::default();
        while let Some(action) = self.c.poll_action() {
            self.action(action, &mut out);
        }
        note(self, &out);
        while let Some(event) = self.c.poll_event() {
            self.event(event);
        }
        self.flushed(&out);
        self.check();
        out
    }

    fn action(&mut self, action: Action, out: &mut Output) {
        match action {
            Action::Open { socket } => {
                assert!(
                    self.held.is_empty(),
                    "opens {socket:?} while it holds {:?}",
                    self.held
                );
                if let Some(latest) = self.latest {
                    assert!(socket.0 > latest.0, "socket ids must grow");
                }
                self.held.push(socket);
                self.latest = Some(socket);
                self.ids.clear();
            }
            Action::Send { socket, text } => {
                assert!(
                    self.held.contains(&socket),
                    "writes to {socket:?}, not held"
                );
                if let Some(id) = id_of(&text) {
                    self.ids.push(id);
                }
                out.sends.push(text);
            }
            Action::Close {
                socket,
                code,
                reason,
            } => {
                assert!(self.held.contains(&socket), "closes {socket:?}, not held");
                assert!(
                    code == 1000 || (3000..=4999).contains(&code),
                    "close code {code} would make WebSocket.close throw"
                );
                assert!(reason.len() <= MAX_REASON_BYTES, "close reason {reason:?}");
                self.held.retain(|&s| s != socket);
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::RequestFailed { key, error } => {
                if error == RequestError::Timeout {
                    let deadline = self.requests.get(&key.0).copied();
                    assert!(
                        deadline.is_some_and(|d| d <= self.now),
                        "{key:?} timed out at {} before its deadline {deadline:?}",
                        self.now
                    );
                }
                self.end(key);
            }
            Event::Subscription {
                topic,
                state: SubState::Subscribed,
                missed,
                ..
            } => self.restated(&topic, missed),
            Event::Status | Event::Subscription { .. } => {}
        }
    }

    /// When the queue emptied without `close()`, it was flushed: its frames
    /// are the last ones written, in order.
    fn flushed(&mut self, out: &Output) {
        if self.queue.is_empty() || self.c.status().queued > 0 {
            return;
        }
        let queue = std::mem::take(&mut self.queue);
        if self.c.state() == State::Closed {
            return;
        }
        let Some(start) = out.sends.len().checked_sub(queue.len()) else {
            panic!(
                "{} frames left the queue, {} written",
                queue.len(),
                out.sends.len()
            );
        };
        for (q, sent) in queue.iter().zip(&out.sends[start..]) {
            let want = match q.request {
                None => Some(q.text.clone()),
                Some(_) => id_of(sent).and_then(|id| frames::with_id(&q.text, id)),
            };
            assert_eq!(Some(sent), want.as_ref(), "queued frames flush in order");
        }
    }

    fn check(&self) {
        let status = self.c.status();
        let state = status.state;
        assert!(self.held.len() <= 1, "holds {:?}", self.held);
        let linked = matches!(state, State::Connecting | State::Open);
        assert_eq!(
            !self.held.is_empty(),
            linked,
            "{state:?} while holding {:?}",
            self.held
        );
        // The queue.
        let bytes: usize = self.queue.iter().map(|q| q.text.len()).sum();
        assert_eq!(status.queued, self.queue.len(), "status.queued");
        assert!(
            self.queue.len() <= self.limits.max_messages,
            "queue over max_messages"
        );
        assert!(bytes <= self.limits.max_bytes, "queue over max_bytes");
        // The status.
        assert_eq!(
            status.next_retry_at.is_some(),
            state == State::Reconnecting,
            "next_retry_at {:?} while {state:?}",
            status.next_retry_at
        );
        if state == State::Open {
            assert_eq!(status.attempt, 0, "attempt while open");
        }
        assert!(status.since.0 <= self.now, "since is in the future");
        // The timer.
        let timer = self.c.poll_timeout();
        if matches!(state, State::Connecting | State::Reconnecting) {
            assert!(timer.is_some(), "{state:?} with no timer armed");
        }
        if let Some(&first) = self.requests.values().min() {
            assert!(
                timer.is_some_and(|t| t.0 <= first),
                "timer {timer:?} after a request deadline {first}"
            );
        }
    }
}

/// The `"id":N` of a frame the core wrote (the SDK's frames carry it in
/// their first few fields).
fn id_of(text: &str) -> Option<u64> {
    let at = text.find("\"id\":").filter(|&at| at < 24)? + 5;
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
