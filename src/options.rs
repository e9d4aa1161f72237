//! `new Tether(url, options)`: validation and conversion into the core's
//! [`Config`]. Every bad option throws a `TypeError` that names it.

use crate::js::{self, type_error};
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Array, Function, Object, Reflect};
use tether_core::{Backoff, Config, Heartbeat, Jitter, Mode};
use wasm_bindgen::{JsCast, JsValue};

/// Everything the shell needs from the options, validated.
pub struct Options {
    pub config: Config,
    pub auto_connect: bool,
    pub protocols: Array,
    pub token_provider: Option<Function>,
    pub raw_pong_type: String,
}

const TOP: &[&str] = &[
    "autoConnect",
    "mode",
    "protocols",
    "tokenProvider",
    "connectTimeoutMs",
    "stableAfterMs",
    "backoff",
    "heartbeat",
    "queue",
    "raw",
];
const BACKOFF: &[&str] = &["initialMs", "maxMs", "factor", "jitter", "maxAttempts"];
const HEARTBEAT: &[&str] = &["intervalMs", "timeoutMs"];
const QUEUE: &[&str] = &["maxMessages", "maxBytes"];
const RAW: &[&str] = &["pingMessage", "pongType"];

/// Checks the URL argument: a `ws:` or `wss:` URL string, or a non-empty
/// array of them (instances to rotate through on failure).
pub fn parse_urls(url: &JsValue) -> Result<Vec<String>, JsValue> {
    let urls: Vec<JsValue> = match url.dyn_ref::<Array>() {
        Some(list) => list.iter().collect(),
        None => alloc::vec![url.clone()],
    };
    if urls.is_empty() {
        return Err(type_error("url must not be an empty array"));
    }
    urls.iter()
        .map(|u| match u.as_string() {
            Some(u) if u.starts_with("ws://") || u.starts_with("wss://") => Ok(u),
            _ => Err(type_error(
                "url must be a ws:// or wss:// URL string, or an array of them",
            )),
        })
        .collect()
}

/// Validates `options` (undefined or an object) into [`Options`].
pub fn parse(options: &JsValue) -> Result<Options, JsValue> {
    let mut config = Config::default();
    let mut out = Options {
        config: Config::default(),
        auto_connect: true,
        protocols: Array::new(),
        token_provider: None,
        raw_pong_type: "pong".into(),
    };
    let top = Group::new(options, "options", TOP)?;
    if let Some(v) = top.bool("autoConnect")? {
        out.auto_connect = v;
    }
    let mode = top.get("mode");
    if !mode.is_undefined() {
        config.mode = match mode.as_string().as_deref() {
            Some("tether") => Mode::Tether,
            Some("raw") => Mode::Raw,
            _ => return Err(type_error("mode must be \"tether\" or \"raw\"")),
        };
    }
    let protocols = top.get("protocols");
    if !protocols.is_undefined() {
        out.protocols = parse_protocols(&protocols)?;
    }
    let provider = top.get("tokenProvider");
    if !provider.is_undefined() && !provider.is_null() {
        out.token_provider = Some(
            provider
                .dyn_into::<Function>()
                .map_err(|_| type_error("tokenProvider must be a function"))?,
        );
    }
    if let Some(ms) = top.ms("connectTimeoutMs", false)? {
        config.connect_timeout_ms = ms;
    }
    if let Some(ms) = top.ms("stableAfterMs", true)? {
        config.stable_after_ms = ms;
    }
    if let Some(group) = top.group("backoff", BACKOFF)? {
        config.backoff = parse_backoff(&group, config.backoff)?;
    }
    let heartbeat = top.get("heartbeat");
    if heartbeat.as_bool() == Some(false) {
        config.heartbeat = None;
    } else if let Some(group) = top.group("heartbeat", HEARTBEAT)? {
        let mut hb = config.heartbeat.unwrap_or(Heartbeat {
            interval_ms: None,
            timeout_ms: 10_000,
        });
        if group.get("intervalMs").is_null() {
            hb.interval_ms = None;
        } else if let Some(ms) = group.ms("intervalMs", false)? {
            hb.interval_ms = Some(ms);
        }
        if let Some(ms) = group.ms("timeoutMs", false)? {
            hb.timeout_ms = ms;
        }
        config.heartbeat = Some(hb);
    }
    if let Some(group) = top.group("queue", QUEUE)? {
        if let Some(n) = group.count("maxMessages")? {
            config.queue.max_messages = n;
        }
        if let Some(n) = group.count("maxBytes")? {
            config.queue.max_bytes = n;
        }
    }
    if let Some(group) = top.group("raw", RAW)? {
        let ping = group.get("pingMessage");
        if let Some(s) = ping.as_string() {
            config.raw_ping_message = s;
        } else if ping.is_object() {
            config.raw_ping_message = js::json_stringify(&ping)
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| type_error("raw.pingMessage must be JSON-serialisable"))?;
        } else if !ping.is_undefined() {
            return Err(type_error("raw.pingMessage must be an object or a string"));
        }
        let pong = group.get("pongType");
        if let Some(s) = pong.as_string() {
            out.raw_pong_type = s;
        } else if !pong.is_undefined() {
            return Err(type_error("raw.pongType must be a string"));
        }
    }
    out.config = config;
    Ok(out)
}

fn parse_backoff(group: &Group, mut b: Backoff) -> Result<Backoff, JsValue> {
    if let Some(ms) = group.ms("initialMs", true)? {
        b.initial_ms = ms;
    }
    if let Some(ms) = group.ms("maxMs", true)? {
        b.max_ms = ms;
    }
    if b.max_ms < b.initial_ms {
        return Err(type_error(
            "backoff.maxMs must not be less than backoff.initialMs",
        ));
    }
    let factor = group.get("factor");
    if !factor.is_undefined() {
        match factor.as_f64() {
            Some(f) if f.is_finite() && f >= 1.0 => b.factor = f,
            _ => return Err(type_error("backoff.factor must be a finite number >= 1")),
        }
    }
    let jitter = group.get("jitter");
    if !jitter.is_undefined() {
        b.jitter = match jitter.as_string().as_deref() {
            Some("full") => Jitter::Full,
            Some("equal") => Jitter::Equal,
            Some("none") => Jitter::None,
            _ => {
                return Err(type_error(
                    "backoff.jitter must be \"full\", \"equal\" or \"none\"",
                ))
            }
        };
    }
    let max_attempts = group.get("maxAttempts");
    if max_attempts.is_null() {
        b.max_attempts = None;
    } else if let Some(n) = group.count("maxAttempts")? {
        b.max_attempts = Some(u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(b)
}

fn parse_protocols(value: &JsValue) -> Result<Array, JsValue> {
    if let Some(s) = value.as_string() {
        return Ok(Array::of1(&JsValue::from_str(&s)));
    }
    let array = value
        .dyn_ref::<Array>()
        .ok_or_else(|| type_error("protocols must be an array of strings"))?;
    if array.iter().any(|p| !p.is_string()) {
        return Err(type_error("protocols must be an array of strings"));
    }
    Ok(array.clone())
}

/// One options object (top level or nested) and its dotted name, so every
/// error names the full option path (`backoff.maxMs`).
struct Group {
    obj: JsValue,
    path: &'static str,
}

impl Group {
    fn new(value: &JsValue, path: &'static str, known: &[&str]) -> Result<Group, JsValue> {
        if value.is_undefined() || value.is_null() {
            return Ok(Group {
                obj: Object::new().into(),
                path,
            });
        }
        if !value.is_object() || value.is_function() || Array::is_array(value) {
            return Err(named_error(path, " must be an object"));
        }
        for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            if !known.contains(&key.as_str()) {
                let mut message = String::from("unknown option ");
                if path != "options" {
                    message.push_str(path);
                    message.push('.');
                }
                message.push_str(&key);
                return Err(type_error(&message));
            }
        }
        Ok(Group {
            obj: value.clone(),
            path,
        })
    }

    fn get(&self, key: &str) -> JsValue {
        Reflect::get(&self.obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    /// A `TypeError` naming option `key` of this group: `{path.key}{what}`.
    fn error(&self, key: &str, what: &str) -> JsValue {
        let mut name = String::new();
        if self.path != "options" {
            name.push_str(self.path);
            name.push('.');
        }
        name.push_str(key);
        named_error(&name, what)
    }

    fn group(&self, key: &'static str, known: &[&str]) -> Result<Option<Group>, JsValue> {
        let value = self.get(key);
        if value.is_undefined() {
            return Ok(None);
        }
        Group::new(&value, key, known).map(Some)
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, JsValue> {
        let value = self.get(key);
        if value.is_undefined() {
            return Ok(None);
        }
        value
            .as_bool()
            .map(Some)
            .ok_or_else(|| self.error(key, " must be a boolean"))
    }

    /// A duration in ms: a finite number, >= 0 when `zero_ok`, else > 0.
    fn ms(&self, key: &str, zero_ok: bool) -> Result<Option<u64>, JsValue> {
        let value = self.get(key);
        if value.is_undefined() {
            return Ok(None);
        }
        match value.as_f64() {
            Some(n) if n.is_finite() && (n > 0.0 || (zero_ok && n == 0.0)) => {
                Ok(Some(js::round(n)))
            }
            _ => Err(self.error(
                key,
                if zero_ok {
                    " must be a finite number of milliseconds >= 0"
                } else {
                    " must be a finite number of milliseconds > 0"
                },
            )),
        }
    }

    /// A count: a non-negative integer.
    fn count(&self, key: &str) -> Result<Option<usize>, JsValue> {
        let value = self.get(key);
        if value.is_undefined() {
            return Ok(None);
        }
        js::as_u64(&value)
            .map(|n| Some(usize::try_from(n).unwrap_or(usize::MAX)))
            .ok_or_else(|| self.error(key, " must be a non-negative integer"))
    }
}

/// A `TypeError` with message `{name}{what}`.
fn named_error(name: &str, what: &str) -> JsValue {
    let mut message = name.to_owned();
    message.push_str(what);
    type_error(&message)
}
