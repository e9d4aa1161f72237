//! The floor: tether-core whole, behind the thinnest possible ABI (numbers
//! and (pointer, length) strings; outputs read back through a static
//! buffer), no decoding, no socket, no pump. What any binding style pays
//! for the core alone.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use tether_core::{Action, Client, Config, Event, Inbound, SocketId, Timestamp};

struct G(UnsafeCell<Option<Client>>, UnsafeCell<Vec<u8>>);
// SAFETY: one thread.
unsafe impl Sync for G {}
static C: G = G(UnsafeCell::new(None), UnsafeCell::new(Vec::new()));

fn c() -> &'static mut Client {
    // SAFETY: one thread; no re-entrancy (no imports).
    unsafe {
        (*C.0.get()).get_or_insert_with(|| Client::new(Config::default(), Timestamp(0), 1, true))
    }
}
fn out(s: &str) -> usize {
    // SAFETY: as above.
    let b = unsafe { &mut *C.1.get() };
    b.clear();
    b.extend_from_slice(s.as_bytes());
    b.len()
}
fn s<'a>(p: *const u8, l: usize) -> &'a str {
    // SAFETY: the caller passes UTF-8 it wrote at `p`.
    unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(p, l)) }
}
fn t(n: f64) -> Timestamp {
    Timestamp(n as u64)
}
fn o(n: f64) -> Option<u64> {
    (n >= 0.0).then_some(n as u64)
}

#[no_mangle]
pub extern "C" fn buf() -> *const u8 {
    unsafe { (*C.1.get()).as_ptr() }
}
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len);
    let p = v.as_mut_ptr();
    core::mem::forget(v);
    p
}
#[no_mangle]
pub extern "C" fn connect(now: f64) {
    c().connect(t(now))
}
#[no_mangle]
pub extern "C" fn reconnect(now: f64) {
    c().reconnect(t(now))
}
#[no_mangle]
pub extern "C" fn close(now: f64, code: u32, p: *const u8, l: usize) {
    c().close(t(now), code as u16, s(p, l))
}
#[no_mangle]
pub extern "C" fn subscribe(now: f64, p: *const u8, l: usize, r: u32) {
    c().subscribe(t(now), s(p, l), r != 0)
}
#[no_mangle]
pub extern "C" fn unsubscribe(now: f64, p: *const u8, l: usize) {
    c().unsubscribe(t(now), s(p, l))
}
#[no_mangle]
pub extern "C" fn send(now: f64, p: *const u8, l: usize) -> u32 {
    c().send(t(now), String::from(s(p, l))).into()
}
#[no_mangle]
pub extern "C" fn request(now: f64, p: *const u8, l: usize, ms: f64) -> f64 {
    c().request(t(now), String::from(s(p, l)), ms as u64)
        .map_or(-1.0, |k| k.0 as f64)
}
#[no_mangle]
pub extern "C" fn opened(now: f64, sid: f64) {
    c().handle_socket_open(t(now), SocketId(sid as u64))
}
#[no_mangle]
pub extern "C" fn closed(now: f64, sid: f64, code: u32, p: *const u8, l: usize, clean: u32) {
    c().handle_socket_close(
        t(now),
        SocketId(sid as u64),
        code as u16,
        s(p, l),
        clean != 0,
    )
}
#[no_mangle]
pub extern "C" fn errored(now: f64, sid: f64) {
    c().handle_socket_error(t(now), SocketId(sid as u64), "error")
}
/// Every `Inbound` kind: `kind` picks it, the rest are its fields.
#[no_mangle]
pub extern "C" fn frame(
    now: f64,
    sid: f64,
    kind: u32,
    a: f64,
    b: f64,
    p: *const u8,
    l: usize,
    q: *const u8,
    m: usize,
) -> f64 {
    let (x, y) = (s(p, l), s(q, m));
    let f = match kind {
        0 => Inbound::Established {
            client_id: x,
            heartbeat_interval_ms: o(a),
        },
        1 => Inbound::Subscribed {
            id: a as u64,
            topic: x,
            epoch: y,
            offset: b as u64,
            recovered: None,
            missed: 0,
        },
        2 => Inbound::Unsubscribed {
            id: a as u64,
            topic: x,
        },
        3 => Inbound::Publication {
            topic: x,
            epoch: y,
            offset: b as u64,
        },
        4 => Inbound::Next {
            cursor: tether_core::Cursor(a as u32),
            offset: b as u64,
        },
        5 => Inbound::Pong { id: o(a) },
        6 => Inbound::Ping { id: o(a) },
        7 => Inbound::Error {
            id: o(a),
            code: x,
            message: y,
        },
        8 => Inbound::Goaway {
            retry_after_ms: a as u64,
            spread_ms: b as u64,
        },
        9 => Inbound::Reply { id: a as u64 },
        _ => Inbound::App,
    };
    match c().handle_frame(t(now), SocketId(sid as u64), f) {
        tether_core::Verdict::Deliver => 1.0,
        tether_core::Verdict::Resolve(k) => 2.0 + k.0 as f64 * 8.0,
        tether_core::Verdict::Reject(k) => 3.0 + k.0 as f64 * 8.0,
        tether_core::Verdict::Stale => 4.0,
        tether_core::Verdict::Drop => 0.0,
    }
}
#[no_mangle]
pub extern "C" fn timeout(now: f64) {
    c().handle_timeout(t(now))
}
#[no_mangle]
pub extern "C" fn online(now: f64, on: u32) {
    c().handle_online(t(now), on != 0)
}
#[no_mangle]
pub extern "C" fn visible(now: f64) {
    c().handle_visible(t(now))
}
/// The next action: 0 none, 1 open, 2 send, 3 close; its text in `buf()`.
#[no_mangle]
pub extern "C" fn action() -> f64 {
    match c().poll_action() {
        None => 0.0,
        Some(Action::Open { socket }) => 1.0 + socket.0 as f64 * 4.0,
        Some(Action::Send { socket, text }) => {
            2.0 + socket.0 as f64 * 4.0 + out(&text) as f64 * 0.0
        }
        Some(Action::Close {
            socket,
            code,
            reason,
        }) => {
            out(&reason);
            3.0 + socket.0 as f64 * 4.0 + f64::from(code) * 0.0
        }
    }
}
#[no_mangle]
pub extern "C" fn event() -> f64 {
    match c().poll_event() {
        None => 0.0,
        Some(Event::Status) => 1.0,
        Some(Event::Subscription {
            topic,
            state,
            recovered,
            missed,
            error,
        }) => {
            out(&topic);
            let _ = (error, missed);
            2.0 + state as u32 as f64 * 4.0
                + recovered.map_or(0.0, |r| 16.0 * (1.0 + f64::from(u8::from(r))))
        }
        Some(Event::RequestFailed { key, error }) => 3.0 + key.0 as f64 * 8.0 + error as u32 as f64,
    }
}
#[no_mangle]
pub extern "C" fn next_timeout() -> f64 {
    c().poll_timeout().map_or(-1.0, |t| t.0 as f64)
}
/// Status fields by number (strings into `buf()`).
#[no_mangle]
pub extern "C" fn status(field: u32) -> f64 {
    let s = c().status();
    let n = |v: Option<u64>| v.map_or(-1.0, |v| v as f64);
    match field {
        0 => s.state as u32 as f64,
        1 => s.attempt.into(),
        2 => n(s.next_retry_at.map(|t| t.0)),
        3 => n(s.rtt_ms),
        4 => s.queued as f64,
        5 => s.since.0 as f64,
        6 => s.last_close.as_ref().map_or(-1.0, |c| f64::from(c.code)),
        7 => out(s.last_close.as_ref().map_or("", |c| &c.reason)) as f64,
        8 => out(s.last_error.as_deref().unwrap_or("")) as f64,
        _ => out(s.client_id.as_deref().unwrap_or("")) as f64,
    }
}
