//! (a) wasm-bindgen + web-sys, as issue 12's text has it: the module
//! constructs the `WebSocket`, sets its handlers (Rust closures, dropped with
//! the socket) and the timer (`setTimeout`); the facade hears the core's
//! events through `js/hooks.js` and gets each delivered message's `data`
//! as a JS value (no copy back).

use crate::shell;
use alloc::boxed::Box;
use alloc::string::String;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

#[wasm_bindgen(module = "/js/hooks.js")]
extern "C" {
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
    fn deliver(c: u32, verdict: f64, data: &JsValue);
}

pub fn now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

pub fn random() -> f64 {
    js_sys::Math::random()
}

struct Live {
    sid: u32,
    ws: WebSocket,
    _open: Closure<dyn FnMut()>,
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(CloseEvent)>,
    _error: Closure<dyn FnMut()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
    }
}

pub struct Io {
    c: u32,
    live: Option<Live>,
    /// The replaced socket's handlers, kept until the next replacement: the
    /// open may come from inside its own close handler.
    dead: Option<Live>,
    timer: Closure<dyn FnMut()>,
    timer_id: Option<i32>,
}

impl Io {
    pub fn new(c: u32) -> Io {
        Io {
            c,
            live: None,
            dead: None,
            timer: Closure::wrap(Box::new(move || shell::on_timer(c)) as Box<dyn FnMut()>),
            timer_id: None,
        }
    }

    pub fn open(&mut self, sid: u32, url: &str) -> bool {
        let Ok(ws) = WebSocket::new(url) else {
            return false;
        };
        ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
        let c = self.c;
        let open = Closure::wrap(Box::new(move || shell::on_open(c, sid)) as Box<dyn FnMut()>);
        let message = Closure::wrap(Box::new(move |e: MessageEvent| {
            let data = e.data();
            let text = data.as_string().unwrap_or_default();
            let verdict = shell::on_message(c, sid, &text);
            if verdict != shell::DROP {
                deliver(c, verdict, &data);
            }
        }) as Box<dyn FnMut(MessageEvent)>);
        let close = Closure::wrap(Box::new(move |e: CloseEvent| {
            shell::on_close(c, sid, e.code(), &e.reason(), e.was_clean())
        }) as Box<dyn FnMut(CloseEvent)>);
        let error = Closure::wrap(Box::new(move || shell::on_error(c, sid)) as Box<dyn FnMut()>);
        ws.set_onopen(Some(open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(error.as_ref().unchecked_ref()));
        self.dead = self.live.take();
        self.live = Some(Live {
            sid,
            ws,
            _open: open,
            _message: message,
            _close: close,
            _error: error,
        });
        true
    }

    pub fn send(&self, sid: u32, text: &str) {
        if let Some(l) = self.live.as_ref().filter(|l| l.sid == sid) {
            let _ = l.ws.send_with_str(text);
        }
    }

    pub fn close(&mut self, sid: u32, code: u16, reason: &str) {
        if self.live.as_ref().is_some_and(|l| l.sid == sid) {
            if let Some(l) = self.live.take() {
                let _ = l.ws.close_with_code_and_reason(code, reason);
                self.dead = Some(l);
            }
        }
    }

    /// The close event of `sid` ran: its closures may go (not from inside
    /// one of them: dropping a running closure is what wasm-bindgen
    /// forbids, so this is deferred to the next open or `Drop`).
    pub fn forget(&mut self, _sid: u32) {}

    pub fn timer(&mut self, delay: Option<f64>) {
        let Some(w) = web_sys::window() else { return };
        if let Some(id) = self.timer_id.take() {
            w.clear_timeout_with_handle(id);
        }
        if let Some(d) = delay {
            self.timer_id = w
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    self.timer.as_ref().unchecked_ref(),
                    d as i32,
                )
                .ok();
        }
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
pub fn token_ok(c: u32, sid: u32, token: &str) {
    shell::token(c, sid, Some(token))
}
#[wasm_bindgen]
pub fn token_err(c: u32, sid: u32) {
    shell::token(c, sid, None)
}
