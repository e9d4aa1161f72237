//! The options object the facade hands to `create`: one JSON object with
//! named fields, the README's option names (nested ones dotted:
//! `"backoff.maxMs"`), already validated by the facade. An absent field
//! keeps the core's default (`Config::default()` is the one source of
//! defaults); a field of the wrong type is ignored. `autoConnect` is the
//! facade's (it calls `connect`). See docs/DESIGN.md ("SDK v2").

use crate::json::{self, Value};
use alloc::string::String;
use alloc::vec::Vec;
use tether_core::{Config, Jitter, Mode};

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

/// Reads the options text; `None` when it is not a JSON object.
pub fn parse(text: &str) -> Option<Settings> {
    let mut s = Settings {
        config: Config::default(),
        urls: Vec::new(),
        token: false,
        pong_type: String::from("pong"),
        online: true,
    };
    let ok = json::fields(text, |key, v| {
        let c = &mut s.config;
        let b = &mut c.backoff;
        // Durations and counts: the facade rounded them; `as` saturates.
        let n = v.num();
        let flag = match v {
            Value::Bool(b) => Some(b),
            _ => None,
        };
        match (key, n, flag) {
            ("urls", ..) => {
                if let Value::Array(items) = v {
                    json::strings(items, |u| s.urls.push(u.into_owned()));
                }
            }
            ("tokenProvider", _, Some(on)) => s.token = on,
            ("online", _, Some(on)) => s.online = on,
            ("mode", ..) if v.str() == Some("raw") => c.mode = Mode::Raw,
            ("connectTimeoutMs", Some(n), _) => c.connect_timeout_ms = n as u64,
            ("stableAfterMs", Some(n), _) => c.stable_after_ms = n as u64,
            ("backoff.initialMs", Some(n), _) => b.initial_ms = n as u64,
            ("backoff.maxMs", Some(n), _) => b.max_ms = n as u64,
            ("backoff.factor", Some(n), _) => b.factor = n,
            ("backoff.jitter", ..) => {
                b.jitter = match v.str() {
                    Some("equal") => Jitter::Equal,
                    Some("none") => Jitter::None,
                    _ => Jitter::Full,
                }
            }
            ("backoff.maxAttempts", n, _) => b.max_attempts = n.map(|n| n as u32),
            ("heartbeat", _, Some(false)) => c.heartbeat = None,
            ("heartbeat.intervalMs", n, _) => {
                if let Some(h) = &mut c.heartbeat {
                    h.interval_ms = n.map(|n| n as u64);
                }
            }
            ("heartbeat.timeoutMs", Some(n), _) => {
                if let Some(h) = &mut c.heartbeat {
                    h.timeout_ms = n as u64;
                }
            }
            ("queue.maxMessages", Some(n), _) => c.queue.max_messages = n as usize,
            ("queue.maxBytes", Some(n), _) => c.queue.max_bytes = n as usize,
            ("raw.pingMessage", ..) => {
                if let Some(ping) = v.str() {
                    c.raw_ping_message = String::from(ping);
                }
            }
            ("raw.pongType", ..) => {
                if let Some(pong) = v.str() {
                    s.pong_type = String::from(pong);
                }
            }
            _ => {}
        }
    });
    // `heartbeat: false` wins over its sub-options in either order: after
    // it, they find no heartbeat to set.
    (ok && !s.urls.is_empty()).then_some(s)
}
