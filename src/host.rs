//! What the wasm asks of JS: the imports of module `tether` (the glue,
//! `js/src/wasm.ts`, provides them). Strings go out as (pointer, length) of
//! UTF-8 the glue copies at once. Natively (tests) the same functions are
//! a recording fake (`fake`).
//!
//! Which imports may re-enter the wasm (call an export before returning)
//! is part of the contract: only `notice` (it runs app listeners). The
//! shell never holds its state borrowed across any import anyway (see
//! `shell.rs`); the others only touch the glue's own maps, sockets and
//! timers.

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "tether")]
    extern "C" {
        /// `performance.now()`: the core's monotonic clock.
        pub fn now() -> f64;
        /// `Math.random()`: the core's seed.
        pub fn random() -> f64;
        /// `new WebSocket(url, protocols)` for `socket` of client `c`, its
        /// events routed to the exports `opened` / `message` / `next` /
        /// `closed` / `errored`. 1: made; 0: the constructor threw.
        pub fn open(c: u32, socket: u32, url: *const u8, len: usize) -> u32;
        /// `ws.send(text)`.
        pub fn send(c: u32, socket: u32, text: *const u8, len: usize);
        /// Detaches the socket's handlers, then `ws.close(code, reason)`.
        pub fn close(c: u32, socket: u32, code: u32, reason: *const u8, len: usize);
        /// (Re)arms client `c`'s one timer: export `timer(c)` after `ms`.
        pub fn arm(c: u32, ms: f64);
        /// Cancels client `c`'s timer.
        pub fn disarm(c: u32);
        /// A JSON notice for client `c`'s listeners (`notice.rs`). May
        /// re-enter.
        pub fn notice(c: u32, json: *const u8, len: usize);
        /// `topic`'s cursor and epoch, for the facade's fast path.
        pub fn cursor(
            c: u32,
            topic: *const u8,
            tl: usize,
            cursor: u32,
            epoch: *const u8,
            el: usize,
        );
        /// The answer of a getter export (`status`, `sub_state`, `contract`).
        pub fn text(text: *const u8, len: usize);
        /// What `subject[key]` is (`subject.rs`): the index of its `typeof`
        /// in `undefined, boolean, number, string`; 4: null; else another.
        pub fn kind(key: *const u8, len: usize) -> u32;
        /// `Number(subject[key])` (a number or a boolean).
        pub fn num(key: *const u8, len: usize) -> f64;
        /// `subject[key]` (a string) as UTF-8 in a buffer from `alloc`,
        /// now the wasm's: its pointer and length written at `out`.
        pub fn string(key: *const u8, len: usize, out: *mut [usize; 2]);
    }
}

#[cfg(target_arch = "wasm32")]
mod real {
    use super::imports as js;

    pub fn now() -> f64 {
        // SAFETY (all below): imports of the glue; strings are valid for
        // the call and the glue copies them before returning.
        unsafe { js::now() }
    }
    pub fn random() -> f64 {
        unsafe { js::random() }
    }
    pub fn open(c: u32, socket: u32, url: &str) -> bool {
        unsafe { js::open(c, socket, url.as_ptr(), url.len()) != 0 }
    }
    pub fn send(c: u32, socket: u32, text: &str) {
        unsafe { js::send(c, socket, text.as_ptr(), text.len()) }
    }
    pub fn close(c: u32, socket: u32, code: u16, reason: &str) {
        unsafe { js::close(c, socket, code.into(), reason.as_ptr(), reason.len()) }
    }
    pub fn arm(c: u32, ms: f64) {
        unsafe { js::arm(c, ms) }
    }
    pub fn disarm(c: u32) {
        unsafe { js::disarm(c) }
    }
    pub fn notice(c: u32, json: &str) {
        unsafe { js::notice(c, json.as_ptr(), json.len()) }
    }
    pub fn cursor(c: u32, topic: &str, cursor: u32, epoch: &str) {
        unsafe {
            js::cursor(
                c,
                topic.as_ptr(),
                topic.len(),
                cursor,
                epoch.as_ptr(),
                epoch.len(),
            )
        }
    }
    pub fn text(text: &str) {
        unsafe { js::text(text.as_ptr(), text.len()) }
    }
    pub fn kind(key: &str) -> u32 {
        unsafe { js::kind(key.as_ptr(), key.len()) }
    }
    pub fn num(key: &str) -> f64 {
        unsafe { js::num(key.as_ptr(), key.len()) }
    }
    pub fn string(key: &str) -> alloc::string::String {
        let mut out = [0usize; 2];
        unsafe {
            js::string(key.as_ptr(), key.len(), &mut out);
            // SAFETY: the glue wrote `out[1]` bytes of UTF-8 (TextEncoder)
            // at `out[0]`, a buffer from the export `alloc` of that length
            // (align 1, as a `String`'s), and let go of it.
            alloc::string::String::from_raw_parts(out[0] as *mut u8, out[1], out[1])
        }
    }
}

#[cfg(target_arch = "wasm32")]
pub use real::*;

#[cfg(not(target_arch = "wasm32"))]
pub use fake::*;

/// The native stand-in: records every import call as a line of text, with
/// a clock the test sets and hooks for `open`'s answer and for `notice`
/// (which a test uses to call exports back, as a listener would).
#[cfg(not(target_arch = "wasm32"))]
pub mod fake {
    use std::cell::{Cell, RefCell};
    use std::string::{String, ToString};
    use std::vec::Vec;

    type NoticeHook = Box<dyn FnMut(u32, &str)>;

    std::thread_local! {
        static CALLS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
        static NOW: Cell<f64> = const { Cell::new(0.0) };
        static OPEN_OK: Cell<bool> = const { Cell::new(true) };
        static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
        static ON_NOTICE: RefCell<Option<NoticeHook>> = const { RefCell::new(None) };
        static SUBJECT: RefCell<Option<Vec<(String, Field)>>> = const { RefCell::new(None) };
    }

    fn record(line: String) {
        CALLS.with(|c| c.borrow_mut().push(line));
    }

    /// Takes the calls recorded so far.
    pub fn take_calls() -> Vec<String> {
        CALLS.with(|c| core::mem::take(&mut *c.borrow_mut()))
    }
    /// Sets the clock.
    pub fn set_now(ms: f64) {
        NOW.with(|n| n.set(ms));
    }
    /// Whether `open` succeeds (the WebSocket constructor does not throw).
    pub fn set_open_ok(ok: bool) {
        OPEN_OK.with(|o| o.set(ok));
    }
    /// Called (after recording) on every notice.
    pub fn on_notice(hook: Option<NoticeHook>) {
        ON_NOTICE.with(|h| *h.borrow_mut() = hook);
    }
    /// The last `text` answer.
    pub fn last_text() -> String {
        TEXT.with(|t| t.borrow().clone())
    }

    pub fn now() -> f64 {
        NOW.with(Cell::get)
    }
    pub fn random() -> f64 {
        0.5
    }
    pub fn open(c: u32, socket: u32, url: &str) -> bool {
        record(std::format!("open {c} {socket} {url}"));
        OPEN_OK.with(Cell::get)
    }
    pub fn send(c: u32, socket: u32, text: &str) {
        record(std::format!("send {c} {socket} {text}"));
    }
    pub fn close(c: u32, socket: u32, code: u16, reason: &str) {
        record(std::format!("close {c} {socket} {code} {reason}"));
    }
    pub fn arm(c: u32, ms: f64) {
        record(std::format!("arm {c} {ms}"));
    }
    pub fn disarm(c: u32) {
        record(std::format!("disarm {c}"));
    }
    pub fn notice(c: u32, json: &str) {
        record(std::format!("notice {c} {json}"));
        // Taken out while it runs: it may call exports that notify again.
        let hook = ON_NOTICE.with(|h| h.borrow_mut().take());
        if let Some(mut hook) = hook {
            hook(c, json);
            ON_NOTICE.with(|h| {
                let mut slot = h.borrow_mut();
                if slot.is_none() {
                    *slot = Some(hook);
                }
            });
        }
    }
    pub fn cursor(c: u32, topic: &str, cursor: u32, epoch: &str) {
        record(std::format!("cursor {c} {topic} {cursor} {epoch}"));
    }
    pub fn text(text: &str) {
        TEXT.with(|t| *t.borrow_mut() = text.to_string());
    }

    /// A value of the fake subject (what `typeof` tells the glue).
    #[derive(Clone, Debug)]
    pub enum Field {
        Null,
        Bool(bool),
        Num(f64),
        Str(String),
        /// An object or an array.
        Other,
    }

    /// Sets the object the subject imports read (`None`: not an object).
    pub fn set_subject(fields: Option<Vec<(String, Field)>>) {
        SUBJECT.with(|s| *s.borrow_mut() = fields);
    }

    fn field(key: &str) -> Option<Field> {
        SUBJECT.with(|s| {
            let s = s.borrow();
            // The last of a repeated key, as `JSON.parse` keeps it.
            let (_, v) = s.as_ref()?.iter().rev().find(|(k, _)| k == key)?;
            Some(v.clone())
        })
    }

    pub fn kind(key: &str) -> u32 {
        match field(key) {
            None => 0,
            Some(Field::Bool(_)) => 1,
            Some(Field::Num(_)) => 2,
            Some(Field::Str(_)) => 3,
            Some(Field::Null) => 4,
            Some(Field::Other) => 5,
        }
    }
    pub fn num(key: &str) -> f64 {
        match field(key) {
            Some(Field::Num(n)) => n,
            Some(Field::Bool(b)) => f64::from(u8::from(b)),
            _ => f64::NAN,
        }
    }
    pub fn string(key: &str) -> String {
        match field(key) {
            Some(Field::Str(s)) => s,
            _ => String::new(),
        }
    }
}
