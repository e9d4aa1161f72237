//! `new Tether(url, options)`: the options, validated by `options.js` (every
//! bad option throws a `TypeError` that names it), turned into the core's
//! [`Config`].

use crate::js::type_error;
use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Array, Function};
use tether_core::{Config, Jitter, Mode};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/options.js")]
extern "C" {
    /// What `parse` returns.
    type Parsed;
    #[wasm_bindgen(catch, js_name = parse)]
    fn parse_js(url: &JsValue, options: &JsValue) -> Result<Parsed, JsValue>;
    #[wasm_bindgen(method, getter)]
    fn urls(this: &Parsed) -> Vec<String>;
    #[wasm_bindgen(method, getter)]
    fn protocols(this: &Parsed) -> Array;
    #[wasm_bindgen(method, getter, js_name = tokenProvider)]
    fn token_provider(this: &Parsed) -> Option<Function>;
    #[wasm_bindgen(method, getter)]
    fn ping(this: &Parsed) -> Option<String>;
    #[wasm_bindgen(method, getter)]
    fn pong(this: &Parsed) -> String;
    #[wasm_bindgen(method, getter)]
    fn n(this: &Parsed) -> Vec<f64>;
}

// The numbers of `Parsed.n`, by index; NaN when not given.
const AUTO_CONNECT: usize = 0;
const MODE: usize = 1;
const CONNECT_TIMEOUT_MS: usize = 2;
const STABLE_AFTER_MS: usize = 3;
const INITIAL_MS: usize = 4;
const MAX_MS: usize = 5;
const FACTOR: usize = 6;
const JITTER: usize = 7;
/// -1: `null` (no limit).
const MAX_ATTEMPTS: usize = 8;
/// 0: `heartbeat: false`.
const HEARTBEAT: usize = 9;
/// -1: `null` (the server's interval).
const INTERVAL_MS: usize = 10;
const TIMEOUT_MS: usize = 11;
const MAX_MESSAGES: usize = 12;
const MAX_BYTES: usize = 13;
const COUNT: usize = 14;

/// Everything the shell needs from the options, validated.
pub struct Options {
    pub urls: Vec<String>,
    pub config: Config,
    pub auto_connect: bool,
    pub protocols: Array,
    pub token_provider: Option<Function>,
    pub raw_pong_type: String,
}

/// Validates the URL argument (a `ws:`/`wss:` URL or a non-empty array of
/// them) and `options` (undefined or an object).
pub fn parse(url: &JsValue, options: &JsValue) -> Result<Options, JsValue> {
    let parsed = parse_js(url, options)?;
    let n = parsed.n();
    if n.len() != COUNT {
        return Err(type_error("options: internal error"));
    }
    // Given: `Some(n)`; the validator checked the range.
    let given = |i: usize| Some(n[i]).filter(|v| !v.is_nan());
    let ms = |i: usize| given(i).map(|v| v as u64);
    let mut c = Config::default();
    if given(MODE) == Some(1.0) {
        c.mode = Mode::Raw;
    }
    if let Some(v) = ms(CONNECT_TIMEOUT_MS) {
        c.connect_timeout_ms = v;
    }
    if let Some(v) = ms(STABLE_AFTER_MS) {
        c.stable_after_ms = v;
    }
    let b = &mut c.backoff;
    if let Some(v) = ms(INITIAL_MS) {
        b.initial_ms = v;
    }
    if let Some(v) = ms(MAX_MS) {
        b.max_ms = v;
    }
    if b.max_ms < b.initial_ms {
        return Err(type_error(
            "backoff.maxMs must not be less than backoff.initialMs",
        ));
    }
    if let Some(v) = given(FACTOR) {
        b.factor = v;
    }
    match given(JITTER) {
        Some(0.0) => b.jitter = Jitter::Full,
        Some(1.0) => b.jitter = Jitter::Equal,
        Some(_) => b.jitter = Jitter::None,
        None => {}
    }
    match given(MAX_ATTEMPTS) {
        Some(-1.0) => b.max_attempts = None,
        Some(v) => b.max_attempts = Some(v.min(u32::MAX as f64) as u32),
        None => {}
    }
    if given(HEARTBEAT) == Some(0.0) {
        c.heartbeat = None;
    } else if let Some(hb) = &mut c.heartbeat {
        match given(INTERVAL_MS) {
            Some(-1.0) => hb.interval_ms = None,
            Some(v) => hb.interval_ms = Some(v as u64),
            None => {}
        }
        if let Some(v) = ms(TIMEOUT_MS) {
            hb.timeout_ms = v;
        }
    }
    if let Some(v) = given(MAX_MESSAGES) {
        c.queue.max_messages = v as usize;
    }
    if let Some(v) = given(MAX_BYTES) {
        c.queue.max_bytes = v as usize;
    }
    if let Some(ping) = parsed.ping() {
        c.raw_ping_message = ping;
    }
    Ok(Options {
        urls: parsed.urls(),
        config: c,
        auto_connect: given(AUTO_CONNECT) != Some(0.0),
        protocols: parsed.protocols(),
        token_provider: parsed.token_provider(),
        raw_pong_type: parsed.pong(),
    })
}
