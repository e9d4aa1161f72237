//! The clients and the pump: every export lands here. Each client is a
//! `tether_core::Client` plus what the shell needs to perform its actions
//! (URLs, the armed deadline, the attempt waiting for a token, the
//! facade's ids of pending requests). The core decides; this performs.
//!
//! Re-entrancy by construction: the state is one `RefCell`, borrowed only
//! inside [`with_global`] for a short step that calls no import which can
//! re-enter (a violation traps instead of corrupting state). What
//! listeners are to hear is queued as notices and delivered by the
//! outermost [`pump`] only, after its client's actions were performed, so
//! a listener's call (close, reconnect, subscribe, free, ...) runs on a
//! consistent client and its own notices follow the current ones in order.

use crate::frame::Subject;
use crate::host;
use crate::notice;
use crate::options::Settings;
use crate::slots::Slots;
use crate::{contract, fail};
use alloc::string::String;
use alloc::vec::Vec;
use tether_core::{
    decode, Action, Client, Cursor, Dialect, Event, Inbound, Mode, Position, RequestKey, SocketId,
    Timestamp, Verdict,
};

/// One client.
struct Shell {
    core: Client,
    /// The server URLs (with `sdk=` in tether mode).
    urls: Vec<String>,
    /// The URL index of the last attempt; `None` before the first.
    url_at: Option<usize>,
    /// Ask the facade for a token before every attempt.
    token: bool,
    pong_type: String,
    /// The deadline the glue's timer is armed for.
    armed: Option<Timestamp>,
    /// The attempt whose socket does not exist yet (waiting for a token).
    pending: Option<SocketId>,
    /// The facade's id of each pending `request()`.
    requests: Vec<(RequestKey, u32)>,
}

struct Global {
    /// By client number (a freed client's number finds nothing, even once
    /// its slot is reused: [`Slots`]).
    clients: Slots<Shell>,
    /// (client, JSON) to deliver, in order; `next` is the first not yet
    /// delivered.
    notices: Vec<(u32, String)>,
    next: usize,
    /// An outer [`pump`] is delivering notices.
    dispatching: bool,
}

impl Global {
    const fn new() -> Global {
        Global {
            clients: Slots::new(),
            notices: Vec::new(),
            next: 0,
            dispatching: false,
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod state {
    use super::Global;
    use core::cell::{Cell, UnsafeCell};

    /// A `RefCell` whose second borrow traps through [`crate::fail`]
    /// (`RefCell`'s panic message and location are bytes in the wasm).
    pub struct One {
        busy: Cell<bool>,
        global: UnsafeCell<Global>,
    }
    // SAFETY: wasm32 without the atomics feature: one thread.
    unsafe impl Sync for One {}
    pub static G: One = One {
        busy: Cell::new(false),
        global: UnsafeCell::new(Global::new()),
    };

    impl One {
        pub fn with<R>(&self, f: impl FnOnce(&mut Global) -> R) -> R {
            if self.busy.replace(true) {
                return crate::fail();
            }
            // SAFETY: `busy` makes this the only reference; a panic traps
            // (panic = "abort"), so `busy` cannot stay set by unwinding.
            let r = f(unsafe { &mut *self.global.get() });
            self.busy.set(false);
            r
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
std::thread_local! {
    static G: core::cell::RefCell<Global> = const { core::cell::RefCell::new(Global::new()) };
}

/// Runs `f` on the shell's state. `f` must not call an import that can
/// re-enter (`host::notice`): the borrow would trap.
fn with_global<R>(f: impl FnOnce(&mut Global) -> R) -> R {
    #[cfg(target_arch = "wasm32")]
    {
        state::G.with(f)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        G.with(|g| f(&mut g.borrow_mut()))
    }
}

fn now() -> Timestamp {
    Timestamp(host::now() as u64)
}

/// Runs `f` on client `c` (with the time), then pumps. `None` when `c` was
/// freed (or never existed).
fn input<R>(c: u32, f: impl FnOnce(&mut Shell, Timestamp) -> R) -> Option<R> {
    let r = with_global(|g| {
        let s = g.clients.get_mut(c)?;
        Some(f(s, now()))
    })?;
    pump(c);
    Some(r)
}

/// A new client (not connected: the facade calls [`connect`] for
/// `autoConnect`, once it can hear the client's notices).
pub fn create(settings: Settings) -> u32 {
    let Settings {
        config,
        mut urls,
        token,
        pong_type,
        online,
    } = settings;
    if config.mode == Mode::Tether {
        // Names the client in the server's logs (PROTOCOL.md, `sdk`).
        for url in &mut urls {
            url.push_str(query_sep(url));
            url.push_str(concat!("sdk=tether-ws%2F", env!("CARGO_PKG_VERSION")));
        }
    }
    let seed = (host::random() * 9_007_199_254_740_991.0) as u64;
    let shell = Shell {
        core: Client::new(config, now(), seed, online),
        urls,
        url_at: None,
        token,
        pong_type,
        armed: None,
        pending: None,
        requests: Vec::new(),
    };
    // 65,536 clients live in one page: out of numbers, like out of memory.
    with_global(|g| g.clients.insert(shell)).unwrap_or_else(fail)
}

/// Forgets client `c`: its socket is closed and its timer cancelled now;
/// its listeners hear nothing more (queued notices for it are dropped).
pub fn free(c: u32) {
    let Some(mut s) = with_global(|g| g.clients.remove(c)) else {
        return;
    };
    s.core
        .close(now(), tether_protocol::close::code::NORMAL, "");
    while let Some(action) = s.core.poll_action() {
        if let Action::Close {
            socket,
            code,
            reason,
        } = action
        {
            host::close(c, socket.0 as u32, code, &reason);
        }
    }
    if s.armed.is_some() {
        host::disarm(c);
    }
}

pub fn connect(c: u32) {
    input(c, |s, now| s.core.connect(now));
}

pub fn reconnect(c: u32) {
    input(c, |s, now| s.core.reconnect(now));
}

pub fn close(c: u32, code: u16, reason: &str) {
    input(c, |s, now| s.core.close(now, code, reason));
}

pub fn subscribe(c: u32, topic: &str, recover: bool, rewind: Option<u32>, since: Option<Position>) {
    input(c, |s, now| {
        s.core.subscribe_with(now, topic, recover, rewind, since)
    });
}

pub fn unsubscribe(c: u32, topic: &str) {
    input(c, |s, now| s.core.unsubscribe(now, topic));
}

/// `send()`: false when dropped (queue full, closed, failed, freed).
pub fn send(c: u32, text: &str) -> bool {
    input(c, |s, now| s.core.send(now, String::from(text))).unwrap_or(false)
}

/// `request()` with the facade's `id`: it ends with a `RESOLVE` / `REJECT`
/// verdict of that id, or a `failed` notice (at once when refused).
pub fn request(c: u32, id: u32, body: &str, timeout_ms: f64) {
    let refused = input(c, |s, now| {
        match s.core.request(now, String::from(body), timeout_ms as u64) {
            Ok(key) => {
                s.requests.push((key, id));
                None
            }
            Err(e) => Some(e),
        }
    });
    match refused {
        Some(Some(e)) => queue(c, notice::failed(id, e)),
        // Freed: the facade settles its own requests.
        Some(None) | None => return,
    }
    dispatch();
}

pub fn online(c: u32, online: bool) {
    input(c, |s, now| s.core.handle_online(now, online));
}

/// A page or device event (a `PAGE_*` code of `contract.rs`).
pub fn page(c: u32, event: u32) {
    let Some(&event) = contract::PAGE_EVENTS.get(event as usize) else {
        return fail();
    };
    input(c, |s, now| s.core.handle_page(now, event));
}

/// The timer the glue armed fired.
pub fn timer(c: u32) {
    input(c, |s, now| {
        // Spent: the pump arms the next one.
        s.armed = None;
        s.core.handle_timeout(now)
    });
}

/// The token provider answered for attempt `socket`.
pub fn token(c: u32, socket: u32, token: &str) {
    let socket = SocketId(socket.into());
    let url = with_global(|g| {
        let s = g.clients.get_mut(c)?;
        // The attempt may have been cancelled (timeout, close) meanwhile.
        (s.pending == Some(socket)).then(|| s.next_url(Some(token)))
    });
    if let Some(url) = url {
        open(c, socket, &url);
    }
    pump(c);
}

/// The token provider threw, rejected or answered no string: the attempt
/// fails with `message` as the error.
pub fn token_failed(c: u32, socket: u32, message: &str) {
    let socket = SocketId(socket.into());
    input(c, |s, now| s.fail_attempt(now, socket, message));
}

pub fn opened(c: u32, socket: u32) {
    input(c, |s, now| {
        s.core.handle_socket_open(now, SocketId(socket.into()))
    });
}

pub fn closed(c: u32, socket: u32, code: u16, reason: &str, clean: bool) {
    input(c, |s, now| {
        let socket = SocketId(socket.into());
        s.core.handle_socket_close(now, socket, code, reason, clean)
    });
}

/// The socket's `error` event, with what the glue could tell of it (the
/// URL; browsers hide the cause, Node's `ws` names an HTTP refusal);
/// `close` follows and decides.
pub fn errored(c: u32, socket: u32, message: &str) {
    input(c, |s, now| {
        s.core
            .handle_socket_error(now, SocketId(socket.into()), message)
    });
}

/// A frame the facade's fast path did not take, as the glue's subject (no
/// subject for one that is not a JSON object: nothing to decode, an app
/// message). Its [`contract`] verdict.
pub fn message(c: u32, socket: u32) -> u32 {
    let socket = SocketId(socket.into());
    input(c, |s, now| {
        let Shell {
            core,
            pong_type,
            requests,
            ..
        } = s;
        let dialect = match core.config().mode {
            Mode::Tether => Dialect::Tether,
            Mode::Raw => Dialect::Raw {
                pong_type: pong_type.as_str(),
            },
        };
        decode(&Subject, dialect, |inbound| {
            let verdict = core.handle_frame(now, socket, inbound);
            let topic = match inbound {
                Inbound::Publication { topic, .. } | Inbound::Subscribed { topic, .. } => {
                    // The facade matches the topic's next publications
                    // itself (`host::cursor` never re-enters).
                    if let Some((Cursor(cursor), epoch)) = core.cursor(topic) {
                        host::cursor(c, topic, cursor, epoch);
                    }
                    matches!(inbound, Inbound::Publication { .. })
                }
                _ => false,
            };
            match verdict {
                Verdict::Deliver if topic => contract::TOPIC,
                Verdict::Deliver => contract::APP,
                Verdict::Resolve(key) => settle(requests, key, contract::RESOLVE),
                Verdict::Reject(key) => settle(requests, key, contract::REJECT),
                Verdict::Drop | Verdict::Stale => contract::DROP,
            }
        })
    })
    .unwrap_or(contract::DROP)
}

/// A publication the facade matched to `cursor` (topic and epoch), at
/// `offset`: `TOPIC`, `DROP`, or `STALE` (send its text to [`message`]).
pub fn next(c: u32, socket: u32, cursor: u32, offset: f64) -> u32 {
    // One call per publication: no clock read (the core needs none for it)
    // and no pump when the frame left nothing to do (no action, no event,
    // the same deadline): BENCHMARKS.md section 2, "SDK v2".
    let Some((verdict, quiet)) = with_global(|g| {
        let s = g.clients.get_mut(c)?;
        let verdict = s
            .core
            .handle_next(SocketId(socket.into()), Cursor(cursor), offset as u64);
        Some((
            verdict,
            !s.core.has_output() && s.core.poll_timeout() == s.armed,
        ))
    }) else {
        return contract::DROP;
    };
    if !quiet {
        pump(c);
    }
    match verdict {
        Verdict::Deliver => contract::TOPIC,
        Verdict::Stale => contract::STALE,
        _ => contract::DROP,
    }
}

/// The facade's id of request `key`, taken out, as a verdict of `kind`.
fn settle(requests: &mut Vec<(RequestKey, u32)>, key: RequestKey, kind: u32) -> u32 {
    match take_id(requests, key) {
        Some(id) => kind | id << contract::KEY_SHIFT,
        None => contract::DROP,
    }
}

/// The facade's id of request `key`, taken out of `requests` (a
/// `swap_remove` without its panic path).
fn take_id(requests: &mut Vec<(RequestKey, u32)>, key: RequestKey) -> Option<u32> {
    let at = requests.iter().position(|(k, _)| *k == key)?;
    let last = requests.pop()?;
    Some(match requests.get_mut(at) {
        Some(slot) => core::mem::replace(slot, last).1,
        None => last.1,
    })
}

/// Answers `{"status":{...}}` through `host::text`.
pub fn status(c: u32) {
    let text = with_global(|g| {
        let s = g.clients.get(c)?;
        Some(notice::status(&s.core.status()))
    });
    host::text(&text.unwrap_or_else(fail));
}

/// Answers the wire state of `topic` (`"pending"` when the core has none).
pub fn sub_state(c: u32, topic: &str) {
    let state = with_global(|g| {
        let s = g.clients.get(c)?;
        s.core.subscription(topic)
    });
    host::text(state.unwrap_or(tether_core::SubState::Pending).as_str());
}

impl Shell {
    /// The URL of the next attempt: every attempt after the first moves to
    /// the next server; the token goes in `token=`.
    fn next_url(&mut self, token: Option<&str>) -> String {
        // No `%` and no indexing: neither can panic (no message in the wasm).
        let at = self
            .url_at
            .map_or(0, |i| if i + 1 < self.urls.len() { i + 1 } else { 0 });
        self.url_at = Some(at);
        let mut url = self.urls.get(at).cloned().unwrap_or_default();
        if let Some(token) = token {
            url.push_str(query_sep(&url));
            url.push_str("token=");
            encode_uri_component(&mut url, token);
        }
        url
    }

    /// An attempt that got no socket fails like a socket that never opened.
    fn fail_attempt(&mut self, now: Timestamp, socket: SocketId, message: &str) {
        if self.pending != Some(socket) {
            return;
        }
        self.pending = None;
        self.core.handle_socket_error(now, socket, message);
        let abnormal = tether_protocol::close::code::ABNORMAL;
        self.core
            .handle_socket_close(now, socket, abnormal, "", false);
    }
}

/// Asks the glue for the socket; a constructor that threw fails the attempt.
fn open(c: u32, socket: SocketId, url: &str) {
    let made = host::open(c, socket.0 as u32, url);
    with_global(|g| {
        let Some(s) = g.clients.get_mut(c) else {
            return;
        };
        if made {
            s.pending = None;
        } else {
            s.fail_attempt(now(), socket, "the WebSocket constructor threw");
        }
    });
}

/// What the pump performs for one action, outside the borrow.
enum Io {
    Open(SocketId, String),
    Token(SocketId),
    Send(SocketId, String),
    Close(SocketId, u16, String),
}

/// Performs client `c`'s actions, turns its events into notices (each
/// right after the input that made it, so a status is that moment's),
/// re-arms its timer, then delivers the notices unless an outer pump is.
fn pump(c: u32) {
    loop {
        let io = with_global(|g| {
            let Global {
                clients, notices, ..
            } = g;
            let s = clients.get_mut(c)?;
            s.take_events(c, notices);
            Some(match s.core.poll_action()? {
                Action::Open { socket } => {
                    s.pending = Some(socket);
                    if s.token {
                        Io::Token(socket)
                    } else {
                        Io::Open(socket, s.next_url(None))
                    }
                }
                Action::Send { socket, text } => Io::Send(socket, text),
                Action::Close {
                    socket,
                    code,
                    reason,
                } => {
                    if s.pending == Some(socket) {
                        s.pending = None;
                    }
                    Io::Close(socket, code, reason)
                }
            })
        });
        match io {
            None => break,
            Some(Io::Open(socket, url)) => open(c, socket, &url),
            Some(Io::Token(socket)) => queue(c, notice::token(socket.0)),
            Some(Io::Send(socket, text)) => host::send(c, socket.0 as u32, &text),
            Some(Io::Close(socket, code, reason)) => host::close(c, socket.0 as u32, code, &reason),
        }
    }
    let timer = with_global(|g| {
        let s = g.clients.get_mut(c)?;
        let next = s.core.poll_timeout();
        (next != s.armed).then(|| {
            s.armed = next;
            next.map(|at| at.saturating_diff(now()))
        })
    });
    match timer {
        // Browsers fire a delay over 2^31-1 ms at once; the core re-arms.
        Some(Some(ms)) => host::arm(c, ms.min(i32::MAX as u64) as f64),
        Some(None) => host::disarm(c),
        None => {}
    }
    dispatch();
}

impl Shell {
    fn take_events(&mut self, c: u32, notices: &mut Vec<(u32, String)>) {
        while let Some(event) = self.core.poll_event() {
            let text = match event {
                Event::Status => notice::status(&self.core.status()),
                Event::Subscription {
                    topic,
                    state,
                    recovered,
                    missed,
                    error,
                } => notice::sub(&topic, state, recovered, missed, error.as_deref()),
                Event::RequestFailed { key, error } => {
                    let Some(id) = take_id(&mut self.requests, key) else {
                        continue;
                    };
                    notice::failed(id, error)
                }
            };
            notices.push((c, text));
        }
    }
}

fn queue(c: u32, text: String) {
    with_global(|g| g.notices.push((c, text)));
}

/// Delivers the queued notices, in order, unless an outer call is already
/// doing it (then the new ones wait for their turn there).
fn dispatch() {
    if with_global(|g| core::mem::replace(&mut g.dispatching, true)) {
        return;
    }
    loop {
        let next = with_global(|g| {
            let Some(slot) = g.notices.get_mut(g.next) else {
                g.notices.clear();
                g.next = 0;
                g.dispatching = false;
                return None;
            };
            g.next += 1;
            let (c, text) = (slot.0, core::mem::take(&mut slot.1));
            // A client freed meanwhile hears nothing more.
            let live = g.clients.get(c).is_some();
            Some(live.then_some((c, text)))
        });
        match next {
            Some(Some((c, text))) => host::notice(c, &text),
            Some(None) => {}
            None => break,
        }
    }
}

/// What joins a parameter to `url`: `&` when it has a query, else `?`.
fn query_sep(url: &str) -> &'static str {
    // Bytes, not `str::contains`: no memchr in the wasm.
    if url.bytes().any(|b| b == b'?') {
        "&"
    } else {
        "?"
    }
}

/// `encodeURIComponent`: every byte of the UTF-8 but `A-Z a-z 0-9 - _ . !
/// ~ * ' ( )` as `%XX`.
fn encode_uri_component(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // One ASCII byte as a `str`: never `String::push(char)` (the UTF-8
    // encoder), nor `str::get` (its char boundary checks).
    fn ascii(b: &u8) -> &str {
        // SAFETY: every byte passed is ASCII, so valid UTF-8 on its own.
        unsafe { core::str::from_utf8_unchecked(core::slice::from_ref(b)) }
    }
    for b in s.as_bytes() {
        // A `matches!`, not `b"...".contains`: that inlines a memchr.
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            )
        {
            out.push_str(ascii(b));
        } else {
            #[allow(clippy::single_char_add_str)]
            out.push_str("%");
            // In range: a nibble indexes 16 digits.
            out.push_str(ascii(&HEX[usize::from(b >> 4)]));
            out.push_str(ascii(&HEX[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_uri_component_matches_js() {
        let mut out = String::new();
        encode_uri_component(&mut out, "a b&c=d/é!~*'()-_.");
        assert_eq!(out, "a%20b%26c%3Dd%2F%C3%A9!~*'()-_.");
    }
}
