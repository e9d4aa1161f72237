//! (b) wasm-bindgen with hand-written imports from `js/host.js` (no
//! web-sys): strings cross through wasm-bindgen's glue; sockets and timers
//! are kept on the JS side under the ids the core gives them.

use crate::shell;
use alloc::string::String;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = now)]
    fn js_now() -> f64;
    #[wasm_bindgen(js_name = random)]
    fn js_random() -> f64;
    fn ws_open(c: u32, sid: u32, url: &str) -> bool;
    fn ws_send(c: u32, sid: u32, text: &str);
    fn ws_close(c: u32, sid: u32, code: u16, reason: &str);
    fn timer(c: u32, delay: f64);
    #[allow(clippy::too_many_arguments)]
    fn status(
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
    );
    fn sub(c: u32, topic: &str, state: u32, recovered: u32, missed: f64, error: &str);
    fn failed(c: u32, key: f64, error: u32);
    fn token(c: u32, sid: u32);
}

pub fn now() -> f64 {
    js_now()
}

pub fn random() -> f64 {
    js_random()
}

pub struct Io(u32);

impl Io {
    pub fn new(c: u32) -> Io {
        Io(c)
    }
    pub fn open(&mut self, sid: u32, url: &str) -> bool {
        ws_open(self.0, sid, url)
    }
    pub fn send(&self, sid: u32, text: &str) {
        ws_send(self.0, sid, text)
    }
    pub fn close(&mut self, sid: u32, code: u16, reason: &str) {
        ws_close(self.0, sid, code, reason)
    }
    pub fn forget(&mut self, _sid: u32) {}
    pub fn timer(&mut self, delay: Option<f64>) {
        timer(self.0, delay.unwrap_or(-1.0))
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
    status(
        c, state, attempt, next, rtt, queued, since, code, reason, clean, error, client_id,
    )
}

pub fn emit_sub(c: u32, topic: &str, state: u32, recovered: u32, missed: f64, error: &str) {
    sub(c, topic, state, recovered, missed, error)
}

pub fn emit_failed(c: u32, key: f64, error: u32) {
    failed(c, key, error)
}

pub fn want_token(c: u32, sid: u32) {
    token(c, sid)
}

#[wasm_bindgen]
pub fn create(options: &str) -> u32 {
    shell::create(options)
}
#[wasm_bindgen]
pub fn free(c: u32) {
    shell::free(c)
}
#[wasm_bindgen]
pub fn connect(c: u32) {
    shell::connect(c)
}
#[wasm_bindgen]
pub fn reconnect(c: u32) {
    shell::reconnect(c)
}
#[wasm_bindgen]
pub fn close(c: u32, code: u16, reason: &str) {
    shell::close(c, code, reason)
}
#[wasm_bindgen]
pub fn subscribe(c: u32, topic: &str, recover: bool) {
    shell::subscribe(c, topic, recover)
}
#[wasm_bindgen]
pub fn unsubscribe(c: u32, topic: &str) {
    shell::unsubscribe(c, topic)
}
#[wasm_bindgen]
pub fn send(c: u32, text: String) -> bool {
    shell::send(c, text)
}
#[wasm_bindgen]
pub fn request(c: u32, body: String, timeout: f64) -> f64 {
    shell::request(c, body, timeout)
}
#[wasm_bindgen]
pub fn online(c: u32, on: bool) {
    shell::online(c, on)
}
#[wasm_bindgen]
pub fn visible(c: u32) {
    shell::visible(c)
}
#[wasm_bindgen]
pub fn on_timer(c: u32) {
    shell::on_timer(c)
}
#[wasm_bindgen]
pub fn token_ok(c: u32, sid: u32, token: &str) {
    shell::token(c, sid, Some(token))
}
#[wasm_bindgen]
pub fn token_err(c: u32, sid: u32) {
    shell::token(c, sid, None)
}
#[wasm_bindgen]
pub fn on_open(c: u32, sid: u32) {
    shell::on_open(c, sid)
}
#[wasm_bindgen]
pub fn on_close(c: u32, sid: u32, code: u16, reason: &str, clean: bool) {
    shell::on_close(c, sid, code, reason, clean)
}
#[wasm_bindgen]
pub fn on_error(c: u32, sid: u32) {
    shell::on_error(c, sid)
}
#[wasm_bindgen]
pub fn on_message(c: u32, sid: u32, text: &str) -> f64 {
    shell::on_message(c, sid, text)
}
