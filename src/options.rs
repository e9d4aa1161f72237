//! The options the facade hands to `create`: one object (the glue's
//! subject, `subject.rs`) with named fields, the README's option names
//! (nested ones dotted: `"backoff.maxMs"`, the URLs as `"urls.0"`, ...),
//! already validated by the facade. An absent field keeps the core's
//! default (`Config::default()` is the one source of defaults); a field of
//! the wrong type is ignored. `autoConnect` is the facade's (it calls
//! `connect`). See docs/DESIGN.md ("The SDK").

use crate::subject::{flag, has, num, text};
use alloc::string::String;
use alloc::vec::Vec;
use tether_core::{Config, Jitter, Mode};
use tether_protocol::client::push_u64;

/// What the shell needs besides the core's [`Config`].
#[derive(Debug, PartialEq)]
pub struct Settings {
    /// The core's options.
    pub config: Config,
    /// The server URLs, as given; attempts rotate through them.
    pub urls: Vec<String>,
    /// There is a `tokenProvider`: ask the facade before every attempt.
    pub token: bool,
    /// Raw mode's pong `type` (`raw.pongType`).
    pub pong_type: String,
    /// `navigator.onLine` when the client was made.
    pub online: bool,
}

/// Reads the options from the glue's subject (the facade's options bag);
/// `None` without a URL.
pub fn read() -> Option<Settings> {
    let mut s = Settings {
        config: Config::default(),
        urls: Vec::new(),
        token: false,
        pong_type: String::from("pong"),
        online: true,
    };
    // `urls.0`, `urls.1`, ...: the bag holds strings, no arrays.
    let mut key = String::new();
    loop {
        key.clear();
        key.push_str("urls.");
        push_u64(&mut key, s.urls.len() as u64);
        match text(&key) {
            Some(url) => s.urls.push(url),
            None => break,
        }
    }
    // Durations and counts: the facade rounded them; `as` saturates.
    if let Some(on) = flag("tokenProvider") {
        s.token = on;
    }
    if let Some(on) = flag("online") {
        s.online = on;
    }
    let c = &mut s.config;
    if text("mode").as_deref() == Some("raw") {
        c.mode = Mode::Raw;
    }
    if let Some(n) = num("connectTimeoutMs") {
        c.connect_timeout_ms = n as u64;
    }
    if let Some(n) = num("stableAfterMs") {
        c.stable_after_ms = n as u64;
    }
    let b = &mut c.backoff;
    if let Some(n) = num("backoff.initialMs") {
        b.initial_ms = n as u64;
    }
    if let Some(n) = num("backoff.maxMs") {
        b.max_ms = n as u64;
    }
    if let Some(n) = num("backoff.factor") {
        b.factor = n;
    }
    match text("backoff.jitter").as_deref() {
        Some("equal") => b.jitter = Jitter::Equal,
        Some("none") => b.jitter = Jitter::None,
        _ => {}
    }
    // Present: a number, or null (never give up).
    if has("backoff.maxAttempts") {
        b.max_attempts = num("backoff.maxAttempts").map(|n| n as u32);
    }
    if flag("heartbeat") == Some(false) {
        c.heartbeat = None;
    }
    if let Some(h) = &mut c.heartbeat {
        // Present: a number, or null (the server's).
        if has("heartbeat.intervalMs") {
            h.interval_ms = num("heartbeat.intervalMs").map(|n| n as u64);
        }
        if let Some(n) = num("heartbeat.timeoutMs") {
            h.timeout_ms = n as u64;
        }
        if let Some(n) = num("heartbeat.hiddenIntervalMs") {
            h.hidden_interval_ms = Some(n as u64);
        }
    }
    if let Some(n) = num("queue.maxMessages") {
        c.queue.max_messages = n as usize;
    }
    if let Some(n) = num("queue.maxBytes") {
        c.queue.max_bytes = n as usize;
    }
    if let Some(ping) = text("raw.pingMessage") {
        c.raw_ping_message = ping;
    }
    if let Some(pong) = text("raw.pongType") {
        s.pong_type = pong;
    }
    (!s.urls.is_empty()).then_some(s)
}
