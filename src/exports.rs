//! The wasm's exports, wasm32 only (natively `free` and `alloc` would
//! clash with libc's). Strings come in last, as (pointer, length) of UTF-8 the
//! glue wrote into a buffer from [`alloc`]; the export borrows it for the
//! call, the glue gives it back with [`dealloc`] after. Numbers: client
//! and socket numbers, codes, flags (0/1), milliseconds. Which export
//! returns what is in docs/DESIGN.md ("The SDK").
#![cfg(target_arch = "wasm32")]

use crate::{contract, fail, host, options, shell, subject};
use alloc::alloc::{alloc as allocate, dealloc as release, Layout};
use tether_core::Position;

/// A buffer of `len` bytes for the glue to write a string into.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    match Layout::array::<u8>(len) {
        Ok(layout) if len > 0 => unsafe { allocate(layout) },
        // A zero-length string needs no memory.
        _ => core::ptr::NonNull::dangling().as_ptr(),
    }
}

/// Gives back a buffer from [`alloc`].
#[no_mangle]
pub extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    if len > 0 {
        // SAFETY: `ptr` came from `alloc(len)`.
        unsafe { release(ptr, Layout::from_size_align_unchecked(len, 1)) }
    }
}

/// The string the glue wrote at (`ptr`, `len`).
fn arg<'a>(ptr: *const u8, len: usize) -> &'a str {
    // SAFETY: the glue wrote `len` bytes of UTF-8 (TextEncoder) there, from
    // `alloc`, and keeps them until the export returns.
    unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(ptr, len)) }
}

/// Answers [`contract::JSON`] through `text`.
#[no_mangle]
pub extern "C" fn contract() {
    host::text(contract::JSON);
}

/// A client from the options (the glue's subject); returns its number.
/// Not connected.
#[no_mangle]
pub extern "C" fn create() -> u32 {
    shell::create(options::read().unwrap_or_else(fail))
}

#[no_mangle]
pub extern "C" fn free(c: u32) {
    shell::free(c)
}

#[no_mangle]
pub extern "C" fn connect(c: u32) {
    shell::connect(c)
}

#[no_mangle]
pub extern "C" fn reconnect(c: u32) {
    shell::reconnect(c)
}

#[no_mangle]
pub extern "C" fn close(c: u32, code: u32, p: *const u8, l: usize) {
    shell::close(c, code as u16, arg(p, l))
}

/// The first subscription of a topic; the subject holds `topic`,
/// `recover` (false: never), and optionally `rewind` and `since.epoch` +
/// `since.offset`, read (all of them) before the shell runs.
#[no_mangle]
pub extern "C" fn subscribe(c: u32) {
    let Some(topic) = subject::text("topic") else {
        return fail();
    };
    let since = match (subject::text("since.epoch"), subject::num("since.offset")) {
        (Some(epoch), Some(offset)) => Some(Position {
            epoch,
            offset: offset as u64,
        }),
        _ => None,
    };
    let rewind = subject::num("rewind").map(|n| n as u32);
    shell::subscribe(
        c,
        &topic,
        subject::flag("recover") != Some(false),
        rewind,
        since,
    )
}

#[no_mangle]
pub extern "C" fn unsubscribe(c: u32, p: *const u8, l: usize) {
    shell::unsubscribe(c, arg(p, l))
}

/// 1: written or queued; 0: dropped.
#[no_mangle]
pub extern "C" fn send(c: u32, p: *const u8, l: usize) -> u32 {
    shell::send(c, arg(p, l)).into()
}

#[no_mangle]
pub extern "C" fn request(c: u32, id: u32, timeout_ms: f64, p: *const u8, l: usize) {
    shell::request(c, id, arg(p, l), timeout_ms)
}

#[no_mangle]
pub extern "C" fn status(c: u32) {
    shell::status(c)
}

#[no_mangle]
pub extern "C" fn sub_state(c: u32, p: *const u8, l: usize) {
    shell::sub_state(c, arg(p, l))
}

#[no_mangle]
pub extern "C" fn online(c: u32, on: u32) {
    shell::online(c, on != 0)
}

#[no_mangle]
pub extern "C" fn page(c: u32, event: u32) {
    shell::page(c, event)
}

#[no_mangle]
pub extern "C" fn timer(c: u32) {
    shell::timer(c)
}

#[no_mangle]
pub extern "C" fn token(c: u32, socket: u32, p: *const u8, l: usize) {
    shell::token(c, socket, arg(p, l))
}

#[no_mangle]
pub extern "C" fn token_failed(c: u32, socket: u32, p: *const u8, l: usize) {
    shell::token_failed(c, socket, arg(p, l))
}

#[no_mangle]
pub extern "C" fn opened(c: u32, socket: u32) {
    shell::opened(c, socket)
}

#[no_mangle]
pub extern "C" fn closed(c: u32, socket: u32, code: u32, clean: u32, p: *const u8, l: usize) {
    shell::closed(c, socket, code as u16, arg(p, l), clean != 0)
}

#[no_mangle]
pub extern "C" fn errored(c: u32, socket: u32, p: *const u8, l: usize) {
    shell::errored(c, socket, arg(p, l))
}

/// The frame (the glue's subject): a [`contract`] verdict.
#[no_mangle]
pub extern "C" fn message(c: u32, socket: u32) -> u32 {
    shell::message(c, socket)
}

/// A [`contract`] verdict.
#[no_mangle]
pub extern "C" fn next(c: u32, socket: u32, cursor: u32, offset: f64) -> u32 {
    shell::next(c, socket, cursor, offset)
}
