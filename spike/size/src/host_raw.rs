//! (c) No wasm-bindgen: raw imports from `js/raw-glue.js`, strings as
//! (pointer, length) UTF-8, sockets and timers kept on the JS side under
//! the ids the core gives them.

use crate::shell;
use alloc::string::String;
use alloc::vec::Vec;

#[link(wasm_import_module = "t")]
extern "C" {
    #[link_name = "now"]
    fn js_now() -> f64;
    #[link_name = "random"]
    fn js_random() -> f64;
    fn ws_open(c: u32, sid: u32, url: *const u8, len: usize) -> u32;
    fn ws_send(c: u32, sid: u32, text: *const u8, len: usize);
    fn ws_close(c: u32, sid: u32, code: u32, reason: *const u8, len: usize);
    fn timer(c: u32, delay: f64);
    fn status(
        c: u32,
        state: u32,
        attempt: u32,
        next: f64,
        rtt: f64,
        queued: u32,
        since: f64,
        code: f64,
        rp: *const u8,
        rl: usize,
        clean: u32,
        ep: *const u8,
        el: usize,
        ip: *const u8,
        il: usize,
    );
    fn sub(
        c: u32,
        tp: *const u8,
        tl: usize,
        state: u32,
        recovered: u32,
        missed: f64,
        ep: *const u8,
        el: usize,
    );
    fn failed(c: u32, key: f64, error: u32);
    fn token(c: u32, sid: u32);
}

pub fn now() -> f64 {
    unsafe { js_now() }
}

pub fn random() -> f64 {
    unsafe { js_random() }
}

pub struct Io(u32);

impl Io {
    pub fn new(c: u32) -> Io {
        Io(c)
    }
    pub fn open(&mut self, sid: u32, url: &str) -> bool {
        unsafe { ws_open(self.0, sid, url.as_ptr(), url.len()) != 0 }
    }
    pub fn send(&self, sid: u32, text: &str) {
        unsafe { ws_send(self.0, sid, text.as_ptr(), text.len()) }
    }
    pub fn close(&mut self, sid: u32, code: u16, reason: &str) {
        unsafe { ws_close(self.0, sid, code.into(), reason.as_ptr(), reason.len()) }
    }
    pub fn forget(&mut self, _sid: u32) {}
    pub fn timer(&mut self, delay: Option<f64>) {
        unsafe { timer(self.0, delay.unwrap_or(-1.0)) }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn emit_status(
    c: u32,
    state: u32,
    attempt: u32,
    next: f64,
    rtt: f64,
    queued: u32,
    since: f64,
    code: f64,
    reason: &str,
    clean: bool,
    error: &str,
    client_id: &str,
) {
    unsafe {
        status(
            c,
            state,
            attempt,
            next,
            rtt,
            queued,
            since,
            code,
            reason.as_ptr(),
            reason.len(),
            clean.into(),
            error.as_ptr(),
            error.len(),
            client_id.as_ptr(),
            client_id.len(),
        )
    }
}

pub fn emit_sub(c: u32, topic: &str, state: u32, recovered: u32, missed: f64, error: &str) {
    unsafe {
        sub(
            c,
            topic.as_ptr(),
            topic.len(),
            state,
            recovered,
            missed,
            error.as_ptr(),
            error.len(),
        )
    }
}

pub fn emit_failed(c: u32, key: f64, error: u32) {
    unsafe { failed(c, key, error) }
}

pub fn want_token(c: u32, sid: u32) {
    unsafe { token(c, sid) }
}

/// A buffer of `len` bytes for the JS side to write a string into; the
/// export it is passed to takes it back.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len);
    let p = v.as_mut_ptr();
    core::mem::forget(v);
    p
}

fn take(p: *mut u8, len: usize) -> String {
    // SAFETY: `p` comes from `alloc(len)` and holds UTF-8 the JS side
    // encoded (TextEncoder).
    unsafe { String::from_raw_parts(p, len, len) }
}

#[no_mangle]
pub extern "C" fn create(p: *mut u8, l: usize) -> u32 {
    shell::create(&take(p, l))
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
pub extern "C" fn close(c: u32, code: u32, p: *mut u8, l: usize) {
    shell::close(c, code as u16, &take(p, l))
}
#[no_mangle]
pub extern "C" fn subscribe(c: u32, p: *mut u8, l: usize, recover: u32) {
    shell::subscribe(c, &take(p, l), recover != 0)
}
#[no_mangle]
pub extern "C" fn unsubscribe(c: u32, p: *mut u8, l: usize) {
    shell::unsubscribe(c, &take(p, l))
}
#[no_mangle]
pub extern "C" fn send(c: u32, p: *mut u8, l: usize) -> u32 {
    shell::send(c, take(p, l)).into()
}
#[no_mangle]
pub extern "C" fn request(c: u32, p: *mut u8, l: usize, timeout: f64) -> f64 {
    shell::request(c, take(p, l), timeout)
}
#[no_mangle]
pub extern "C" fn online(c: u32, on: u32) {
    shell::online(c, on != 0)
}
#[no_mangle]
pub extern "C" fn visible(c: u32) {
    shell::visible(c)
}
#[no_mangle]
pub extern "C" fn on_timer(c: u32) {
    shell::on_timer(c)
}
#[no_mangle]
pub extern "C" fn token_ok(c: u32, sid: u32, p: *mut u8, l: usize) {
    shell::token(c, sid, Some(&take(p, l)))
}
#[no_mangle]
pub extern "C" fn token_err(c: u32, sid: u32) {
    shell::token(c, sid, None)
}
#[no_mangle]
pub extern "C" fn on_open(c: u32, sid: u32) {
    shell::on_open(c, sid)
}
#[no_mangle]
pub extern "C" fn on_close(c: u32, sid: u32, code: u32, p: *mut u8, l: usize, clean: u32) {
    shell::on_close(c, sid, code as u16, &take(p, l), clean != 0)
}
#[no_mangle]
pub extern "C" fn on_error(c: u32, sid: u32) {
    shell::on_error(c, sid)
}
#[no_mangle]
pub extern "C" fn on_message(c: u32, sid: u32, p: *mut u8, l: usize) -> f64 {
    shell::on_message(c, sid, &take(p, l))
}
