//! The shell every binding style shares: a table of clients, each a
//! `tether_core::Client` plus its socket and timer (`host::Io`), the inputs
//! the JS side calls, and the pump that performs the core's actions and
//! hands its events to the facade (`host::emit_*`), never while a client is
//! borrowed, and in order when a listener's call makes new ones.

use crate::decode::{self, Frame, Value};
use crate::host::{self, Io};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use tether_core::{
    Action, Client, Config, Event, Heartbeat, Inbound, Jitter, Mode, RequestError, SocketId,
    Status, SubState, Timestamp, Verdict,
};

pub struct Shell {
    core: Client,
    urls: Vec<String>,
    url_at: usize,
    token: bool,
    pong_type: Option<String>,
    armed: Option<Timestamp>,
    io: Io,
}

enum Notice {
    Status(u32, Status),
    Sub(u32, String, SubState, Option<bool>, u64, Option<String>),
    Failed(u32, u64, RequestError),
    Token(u32, u32),
}

struct Global {
    clients: Vec<Option<Shell>>,
    notices: Vec<Notice>,
    dispatching: bool,
}

struct Cell(UnsafeCell<Global>);
// SAFETY: wasm32 without atomics: one thread. References into it are never
// held across a call into JS that may re-enter (see `pump`).
unsafe impl Sync for Cell {}
static G: Cell = Cell(UnsafeCell::new(Global {
    clients: Vec::new(),
    notices: Vec::new(),
    dispatching: false,
}));

#[allow(clippy::mut_from_ref)]
fn g() -> &'static mut Global {
    // SAFETY: see `Cell`.
    unsafe { &mut *G.0.get() }
}

fn now() -> Timestamp {
    Timestamp(host::now() as u64)
}

fn with<R>(c: u32, f: impl FnOnce(&mut Shell, Timestamp) -> R) -> Option<R> {
    let shell = g().clients.get_mut(c as usize)?.as_mut()?;
    let r = f(shell, now());
    pump(c);
    Some(r)
}

/// `options`: the facade's validated options as a flat JSON object (named
/// fields, absent = the core's default).
pub fn create(options: &str) -> u32 {
    let mut config = Config::default();
    let (mut urls, mut token, mut auto, mut pong) = (Vec::new(), false, true, None);
    let mut online = true;
    decode::fields(options, |k, v| {
        let n = v.u64();
        let b = &mut config.backoff;
        match (k, n) {
            ("url", _) => urls.push(String::from(v.str().unwrap_or(""))),
            ("raw", _) => config.mode = Mode::Raw,
            ("token", _) => token = true,
            ("offline", _) => online = false,
            ("autoConnect", _) => auto = matches!(v, Value::Bool(true)),
            ("pingMessage", _) => config.raw_ping_message = String::from(v.str().unwrap_or("")),
            ("pongType", _) => pong = v.str().map(String::from),
            ("connectTimeoutMs", Some(n)) => config.connect_timeout_ms = n,
            ("stableAfterMs", Some(n)) => config.stable_after_ms = n,
            ("initialMs", Some(n)) => b.initial_ms = n,
            ("maxMs", Some(n)) => b.max_ms = n,
            ("factor", _) => b.factor = v.milli().map_or(b.factor, |m| m as f64 / 1000.0),
            ("jitter", _) => {
                b.jitter = match v.str() {
                    Some("equal") => Jitter::Equal,
                    Some("none") => Jitter::None,
                    _ => Jitter::Full,
                }
            }
            ("maxAttempts", n) => b.max_attempts = n.map(|n| n as u32),
            ("heartbeat", _) => config.heartbeat = None,
            ("intervalMs", n) => {
                config
                    .heartbeat
                    .get_or_insert_with(Heartbeat::default)
                    .interval_ms = n
            }
            ("timeoutMs", Some(n)) => {
                config
                    .heartbeat
                    .get_or_insert_with(Heartbeat::default)
                    .timeout_ms = n
            }
            ("maxMessages", Some(n)) => config.queue.max_messages = n as usize,
            ("maxBytes", Some(n)) => config.queue.max_bytes = n as usize,
            _ => {}
        }
    });
    let global = g();
    let c = global.clients.len() as u32;
    let seed = (host::random() * 9_007_199_254_740_992.0) as u64;
    global.clients.push(Some(Shell {
        core: Client::new(config, now(), seed, online),
        urls,
        url_at: 0,
        token,
        pong_type: pong,
        armed: None,
        io: Io::new(c),
    }));
    if auto {
        connect(c);
    }
    c
}

pub fn free(c: u32) {
    close(c, 1000, "");
    if let Some(slot) = g().clients.get_mut(c as usize) {
        *slot = None;
    }
}

pub fn connect(c: u32) {
    with(c, |s, now| s.core.connect(now));
}

pub fn reconnect(c: u32) {
    with(c, |s, now| s.core.reconnect(now));
}

pub fn close(c: u32, code: u16, reason: &str) {
    with(c, |s, now| s.core.close(now, code, reason));
}

pub fn subscribe(c: u32, topic: &str, recover: bool) {
    with(c, |s, now| s.core.subscribe(now, topic, recover));
}

pub fn unsubscribe(c: u32, topic: &str) {
    with(c, |s, now| s.core.unsubscribe(now, topic));
}

pub fn send(c: u32, text: String) -> bool {
    with(c, |s, now| s.core.send(now, text)).unwrap_or(false)
}

/// The request's key (> 0), or minus the error's number.
pub fn request(c: u32, body: String, timeout_ms: f64) -> f64 {
    with(c, |s, now| {
        match s.core.request(now, body, timeout_ms as u64) {
            Ok(key) => key.0 as f64,
            Err(e) => -(e as u32 as f64) - 1.0,
        }
    })
    .unwrap_or(-1.0)
}

pub fn online(c: u32, online: bool) {
    with(c, |s, now| s.core.handle_online(now, online));
}

pub fn visible(c: u32) {
    with(c, |s, now| s.core.handle_visible(now));
}

pub fn on_timer(c: u32) {
    with(c, |s, now| {
        s.armed = None;
        s.core.handle_timeout(now)
    });
}

/// The token provider's answer for attempt `sid` (`None`: it failed).
pub fn token(c: u32, sid: u32, token: Option<&str>) {
    with(c, |s, now| match token {
        Some(t) => s.open(now, sid, Some(t)),
        None => s
            .core
            .handle_socket_close(now, SocketId(sid.into()), 1006, "token", false),
    });
}

pub fn on_open(c: u32, sid: u32) {
    with(c, |s, now| {
        s.core.handle_socket_open(now, SocketId(sid.into()))
    });
}

pub fn on_close(c: u32, sid: u32, code: u16, reason: &str, clean: bool) {
    with(c, |s, now| {
        s.io.forget(sid);
        s.core
            .handle_socket_close(now, SocketId(sid.into()), code, reason, clean)
    });
}

pub fn on_error(c: u32, sid: u32) {
    with(c, |s, now| {
        s.core
            .handle_socket_error(now, SocketId(sid.into()), "socket error")
    });
}

/// What the host does with a message after [`on_message`]: drop it,
/// deliver it to its topic's or the app's listeners, or settle request
/// `key` (`kind + key * 8`).
pub const DROP: f64 = 0.0;
pub const TOPIC: f64 = 1.0;
pub const APP: f64 = 2.0;
pub const RESOLVE: f64 = 3.0;
pub const REJECT: f64 = 4.0;

pub fn on_message(c: u32, sid: u32, text: &str) -> f64 {
    with(c, |s, now| {
        let socket = SocketId(sid.into());
        let frame = Frame::parse(text);
        let (inbound, topic) = match &frame {
            None => (Inbound::App, false),
            Some(f) => match &s.pong_type {
                Some(pong) if f.ty.as_deref() == Some(pong) => (Inbound::Pong { id: None }, false),
                Some(_) => (f.id.map_or(Inbound::App, |id| Inbound::Reply { id }), false),
                None => f.inbound(),
            },
        };
        match s.core.handle_frame(now, socket, inbound) {
            Verdict::Deliver if topic => TOPIC,
            Verdict::Deliver => APP,
            Verdict::Resolve(k) => RESOLVE + k.0 as f64 * 8.0,
            Verdict::Reject(k) => REJECT + k.0 as f64 * 8.0,
            Verdict::Drop | Verdict::Stale => DROP,
        }
    })
    .unwrap_or(DROP)
}

impl Shell {
    fn open(&mut self, now: Timestamp, sid: u32, token: Option<&str>) {
        let mut url = self.urls.get(self.url_at).cloned().unwrap_or_default();
        self.url_at = (self.url_at + 1) % self.urls.len().max(1);
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("sdk=tether-ws%2F0.1.0");
        if let Some(t) = token {
            url.push_str("&token=");
            for b in t.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    url.push(char::from(b));
                } else {
                    const HEX: &[u8; 16] = b"0123456789ABCDEF";
                    url.push('%');
                    url.push(char::from(HEX[usize::from(b >> 4)]));
                    url.push(char::from(HEX[usize::from(b & 15)]));
                }
            }
        }
        if !self.io.open(sid, &url) {
            self.core
                .handle_socket_close(now, SocketId(sid.into()), 1006, "", false);
        }
    }
}

/// Performs what the core decided, re-arms the timer, then (outermost call
/// only) tells the facade, with no client borrowed.
fn pump(c: u32) {
    let global = g();
    let Some(s) = global.clients.get_mut(c as usize).and_then(Option::as_mut) else {
        return;
    };
    let now = now();
    loop {
        match s.core.poll_action() {
            Some(Action::Open { socket }) => {
                let sid = socket.0 as u32;
                if s.token {
                    global.notices.push(Notice::Token(c, sid));
                } else {
                    s.open(now, sid, None);
                }
            }
            Some(Action::Send { socket, text }) => s.io.send(socket.0 as u32, &text),
            Some(Action::Close {
                socket,
                code,
                reason,
            }) => s.io.close(socket.0 as u32, code, &reason),
            None => match s.core.poll_event() {
                Some(Event::Status) => global
                    .notices
                    .push(Notice::Status(c, s.core.status().clone())),
                Some(Event::Subscription {
                    topic,
                    state,
                    recovered,
                    missed,
                    error,
                }) => global
                    .notices
                    .push(Notice::Sub(c, topic, state, recovered, missed, error)),
                Some(Event::RequestFailed { key, error }) => {
                    global.notices.push(Notice::Failed(c, key.0, error))
                }
                None => break,
            },
        }
    }
    let next = s.core.poll_timeout();
    if next != s.armed {
        s.armed = next;
        s.io.timer(next.map(|t| t.saturating_diff(now) as f64));
    }
    if global.dispatching {
        return;
    }
    global.dispatching = true;
    let mut at = 0;
    while at < g().notices.len() {
        // Taken out so the facade's re-entrant calls can push more.
        let notice = core::mem::replace(&mut g().notices[at], Notice::Token(u32::MAX, 0));
        at += 1;
        match notice {
            Notice::Status(c, st) => emit_status(c, &st),
            Notice::Sub(c, topic, state, recovered, missed, error) => host::emit_sub(
                c,
                &topic,
                state as u32,
                recovered.map_or(2, u32::from),
                missed as f64,
                error.as_deref().unwrap_or(""),
            ),
            Notice::Failed(c, key, e) => host::emit_failed(c, key as f64, e as u32),
            Notice::Token(c, sid) if c != u32::MAX => host::want_token(c, sid),
            Notice::Token(..) => {}
        }
    }
    let global = g();
    global.notices.clear();
    global.dispatching = false;
}

fn emit_status(c: u32, s: &Status) {
    let opt = |v: Option<u64>| v.map_or(-1.0, |v| v as f64);
    let (code, reason, clean) = s.last_close.as_ref().map_or((-1.0, "", false), |l| {
        (f64::from(l.code), l.reason.as_str(), l.was_clean)
    });
    host::emit_status(
        c,
        s.state as u32,
        s.attempt,
        opt(s.next_retry_at.map(|t| t.0)),
        opt(s.rtt_ms),
        s.queued as u32,
        s.since.0 as f64,
        code,
        reason,
        clean,
        s.last_error.as_deref().unwrap_or(""),
        s.client_id.as_deref().unwrap_or(""),
    );
}
