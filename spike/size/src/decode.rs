//! Inbound frame decoding without serde: one pass over the top level of a
//! JSON object, handing each key and scalar value to a callback; nested
//! values (a publication's `data`) are skipped, not built. Also reads the
//! options object the facade passes (`shell::create`).

use alloc::borrow::Cow;
use alloc::string::String;
use tether_core::Inbound;

/// A top-level value.
pub enum Value<'a> {
    Str(Cow<'a, str>),
    /// The number's text, as written.
    Num(&'a str),
    Bool(bool),
    /// null, an object or an array.
    Other,
}

impl Value<'_> {
    /// A non-negative integer up to 2^53.
    pub fn u64(&self) -> Option<u64> {
        let Value::Num(t) = self else { return None };
        let mut n: u64 = 0;
        for b in t.bytes() {
            if !b.is_ascii_digit() || n > (1 << 53) / 10 {
                return None;
            }
            n = n * 10 + u64::from(b - b'0');
        }
        (!t.is_empty()).then_some(n)
    }

    /// A non-negative decimal without exponent, times 1000, rounded down
    /// (seconds on the wire -> ms).
    pub fn milli(&self) -> Option<u64> {
        let Value::Num(t) = self else { return None };
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let whole = Value::Num(int).u64()?;
        let mut ms = whole.checked_mul(1000)?;
        let mut scale = 100;
        for b in frac.bytes().take(3) {
            if !b.is_ascii_digit() {
                return None;
            }
            ms += u64::from(b - b'0') * scale;
            scale /= 10;
        }
        Some(ms)
    }

    pub fn str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

struct Scan<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> u8 {
        self.s.as_bytes().get(self.i).copied().unwrap_or(0)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        let ok = self.peek() == b;
        if ok {
            self.i += 1;
        }
        ok
    }

    /// A string literal (after its opening quote is seen at `i`).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        let bytes = self.s.as_bytes();
        loop {
            match *bytes.get(self.i)? {
                b'"' => {
                    let raw = self.s.get(start..self.i)?;
                    self.i += 1;
                    return Some(Cow::Borrowed(raw));
                }
                b'\\' => break,
                _ => self.i += 1,
            }
        }
        // Escapes: build it.
        let mut out = String::from(self.s.get(start..self.i)?);
        loop {
            let b = *bytes.get(self.i)?;
            self.i += 1;
            match b {
                b'"' => return Some(Cow::Owned(out)),
                b'\\' => {
                    let e = *bytes.get(self.i)?;
                    self.i += 1;
                    let c = match e {
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => {
                            let mut c = self.hex4()?;
                            if (0xD800..0xDC00).contains(&c)
                                && self.s.get(self.i..self.i + 2) == Some("\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                c = 0x10000
                                    + ((c - 0xD800) << 10)
                                    + (lo.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            char::from_u32(c).unwrap_or('\u{FFFD}')
                        }
                        other => char::from(other),
                    };
                    out.push(c);
                }
                _ => {
                    // Copy the rest of this UTF-8 run byte-exact.
                    let from = self.i - 1;
                    while !matches!(bytes.get(self.i), Some(b'"' | b'\\') | None) {
                        self.i += 1;
                    }
                    out.push_str(self.s.get(from..self.i)?);
                }
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.i..self.i + 4)?;
        self.i += 4;
        let mut n = 0;
        for b in h.bytes() {
            n = n * 16 + (b as char).to_digit(16)?;
        }
        Some(n)
    }

    /// Skips any value; returns a scalar's.
    fn value(&mut self) -> Option<Value<'a>> {
        self.ws();
        let start = self.i;
        match self.peek() {
            b'"' => return self.string().map(Value::Str),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek() {
                        0 => return None,
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(Value::Other);
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {}
        }
        while matches!(self.peek(), b'-' | b'+' | b'.' | b'0'..=b'9' | b'a'..=b'z' | b'E') {
            self.i += 1;
        }
        Some(match self.s.get(start..self.i)? {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Other,
            "" => return None,
            num => Value::Num(num),
        })
    }
}

/// Calls `f` with each top-level key and value of the JSON object `text`;
/// false when `text` is not one (what was read so far was handed over).
pub fn fields<'a>(text: &'a str, mut f: impl FnMut(&str, Value<'a>)) -> bool {
    let mut s = Scan { s: text, i: 0 };
    if !s.eat(b'{') {
        return false;
    }
    if s.eat(b'}') {
        return true;
    }
    loop {
        s.ws();
        if s.peek() != b'"' {
            return false;
        }
        let Some(key) = s.string() else { return false };
        if !s.eat(b':') {
            return false;
        }
        let Some(v) = s.value() else { return false };
        f(&key, v);
        if s.eat(b',') {
            continue;
        }
        return s.eat(b'}');
    }
}

/// The fields of a server frame the core needs.
#[derive(Default)]
pub struct Frame<'a> {
    pub ty: Option<Cow<'a, str>>,
    pub id: Option<u64>,
    pub topic: Option<Cow<'a, str>>,
    pub epoch: Option<Cow<'a, str>>,
    pub offset: Option<u64>,
    pub recovered: Option<bool>,
    pub missed: Option<u64>,
    pub client_id: Option<Cow<'a, str>>,
    pub heartbeat_ms: Option<u64>,
    pub code: Option<Cow<'a, str>>,
    pub message: Option<Cow<'a, str>>,
    pub retry_after_ms: Option<u64>,
    pub spread_ms: Option<u64>,
}

impl<'a> Frame<'a> {
    /// `None`: not a JSON object (an app message).
    pub fn parse(text: &'a str) -> Option<Frame<'a>> {
        let mut f = Frame::default();
        let ok = fields(text, |k, v| match k {
            "type" => f.ty = take(v),
            "id" => f.id = v.u64(),
            "topic" => f.topic = take(v),
            "epoch" => f.epoch = take(v),
            "offset" => f.offset = v.u64(),
            "recovered" => {
                f.recovered = if let Value::Bool(b) = v {
                    Some(b)
                } else {
                    None
                }
            }
            "missed" => f.missed = v.u64(),
            "client_id" => f.client_id = take(v),
            "heartbeat_interval" => f.heartbeat_ms = v.milli().filter(|&ms| ms > 0),
            "code" => f.code = take(v),
            "message" => f.message = take(v),
            "retry_after_ms" => f.retry_after_ms = v.u64(),
            "spread_ms" => f.spread_ms = v.u64(),
            _ => {}
        });
        ok.then_some(f)
    }

    /// The core's view of it (tether mode). `is_publication`: deliver to
    /// the topic's callbacks rather than the app's.
    pub fn inbound(&self) -> (Inbound<'_>, bool) {
        let app = match self.id {
            Some(id) => Inbound::Reply { id },
            None => Inbound::App,
        };
        let inbound = match self.ty.as_deref().unwrap_or("") {
            "publication" => match (&self.topic, &self.epoch, self.offset) {
                (Some(topic), Some(epoch), Some(offset)) => {
                    return (
                        Inbound::Publication {
                            topic,
                            epoch,
                            offset,
                        },
                        true,
                    )
                }
                _ => Inbound::App,
            },
            "connection_established" => Inbound::Established {
                client_id: s(&self.client_id),
                heartbeat_interval_ms: self.heartbeat_ms,
            },
            "subscribed" => Inbound::Subscribed {
                id: self.id.unwrap_or(0),
                topic: s(&self.topic),
                epoch: s(&self.epoch),
                offset: self.offset.unwrap_or(0),
                recovered: self.recovered,
                missed: self.missed.unwrap_or(0),
            },
            "unsubscribed" => Inbound::Unsubscribed {
                id: self.id.unwrap_or(0),
                topic: s(&self.topic),
            },
            "pong" => Inbound::Pong { id: self.id },
            "ping" => Inbound::Ping { id: self.id },
            "error" => Inbound::Error {
                id: self.id,
                code: s(&self.code),
                message: s(&self.message),
            },
            "goaway" => Inbound::Goaway {
                retry_after_ms: self.retry_after_ms.unwrap_or(0),
                spread_ms: self.spread_ms.unwrap_or(0),
            },
            _ => app,
        };
        (inbound, false)
    }
}

fn s<'b>(v: &'b Option<Cow<'_, str>>) -> &'b str {
    v.as_deref().unwrap_or("")
}

fn take(v: Value<'_>) -> Option<Cow<'_, str>> {
    match v {
        Value::Str(s) => Some(s),
        _ => None,
    }
}
