//! A one-pass scanner over the top level of a JSON object: each key and
//! value is handed to a callback; nested objects and arrays are skipped
//! (checked for balance and string syntax, never built). It reads the two
//! texts that reach the wasm: inbound frames the facade's fast path did not
//! take (protocol frames, stale publications) and the options object.
//!
//! No `core::fmt`, no float parsing from `core` (its correctly rounded
//! parser is kilobytes): numbers are read by [`number`], exact for every
//! integer up to 2^53 and for decimals of up to 15 significant digits with
//! small exponents (the protocol's fields), close otherwise.

use alloc::borrow::Cow;
use alloc::string::String;

/// A top-level value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// A string, unescaped (borrowed when it had no escapes).
    Str(Cow<'a, str>),
    /// A number, as [`number`] reads it.
    Num(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array: its text, brackets included (see [`strings`]).
    Array(&'a str),
    /// An object, skipped.
    Object,
}

impl<'a> Value<'a> {
    /// The string, if this is one.
    pub fn str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
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

    /// A string literal; `i` is at its opening quote.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        let bytes = self.s.as_bytes();
        // Most strings have no escape: borrow them.
        loop {
            match *bytes.get(self.i)? {
                b'"' => {
                    let raw = self.s.get(start..self.i)?;
                    self.i += 1;
                    return Some(Cow::Borrowed(raw));
                }
                b'\\' => break,
                b if b < 0x20 => return None,
                _ => self.i += 1,
            }
        }
        let mut out = String::from(self.s.get(start..self.i)?);
        loop {
            let run = self.i;
            while !matches!(bytes.get(self.i), Some(b'"' | b'\\') | None) {
                if bytes[self.i] < 0x20 {
                    return None;
                }
                self.i += 1;
            }
            // `i` is at an ASCII byte or the end: a char boundary.
            out.push_str(self.s.get(run..self.i)?);
            match *bytes.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(out));
                }
                _ => {
                    let e = *bytes.get(self.i + 1)?;
                    self.i += 2;
                    out.push(match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => self.unicode()?,
                        _ => return None,
                    });
                }
            }
        }
    }

    /// The character of a `\u` escape (after `\u`), joining a surrogate
    /// pair; a lone surrogate (which JS strings allow, Rust's do not)
    /// becomes U+FFFD, as `TextEncoder` makes it.
    fn unicode(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.s.get(self.i..self.i + 2) == Some("\\u") {
            let at = self.i;
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                return char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
            }
            // Not a pair: the second escape stands on its own.
            self.i = at;
        }
        Some(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.as_bytes().get(self.i..self.i + 4)?;
        self.i += 4;
        h.iter()
            .try_fold(0, |n, &b| Some(n * 16 + char::from(b).to_digit(16)?))
    }

    /// Any value.
    fn value(&mut self) -> Option<Value<'a>> {
        self.ws();
        let start = self.i;
        match self.peek() {
            b'"' => self.string().map(Value::Str),
            b'{' | b'[' => {
                self.skip_nested()?;
                let text = self.s.get(start..self.i)?;
                Some(if text.starts_with('[') {
                    Value::Array(text)
                } else {
                    Value::Object
                })
            }
            b't' => self.word("true", Value::Bool(true)),
            b'f' => self.word("false", Value::Bool(false)),
            b'n' => self.word("null", Value::Null),
            _ => {
                while matches!(self.peek(), b'-' | b'+' | b'.' | b'0'..=b'9' | b'e' | b'E') {
                    self.i += 1;
                }
                number(self.s.get(start..self.i)?).map(Value::Num)
            }
        }
    }

    fn word(&mut self, word: &str, value: Value<'a>) -> Option<Value<'a>> {
        let end = self.i + word.len();
        (self.s.get(self.i..end)? == word).then(|| {
            self.i = end;
            value
        })
    }

    /// Skips a nested object or array; `i` is at its opening bracket.
    /// Brackets must balance by kind; strings inside are checked.
    fn skip_nested(&mut self) -> Option<()> {
        // One bit per level (1: object), so `]` cannot close `{`; deeper
        // than 64 levels is refused (JSON.parse allows it, frames never
        // need it).
        let (mut kinds, mut depth) = (0u64, 0u32);
        loop {
            match self.peek() {
                0 => return None,
                b'"' => {
                    self.string()?;
                    continue;
                }
                open @ (b'{' | b'[') => {
                    if depth == 64 {
                        return None;
                    }
                    kinds = kinds << 1 | u64::from(open == b'{');
                    depth += 1;
                }
                close @ (b'}' | b']') => {
                    if (kinds & 1 == 1) != (close == b'}') {
                        return None;
                    }
                    kinds >>= 1;
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
    }
}

/// Calls `f` with each top-level key and value of the JSON object `text`,
/// in order (a repeated key is handed over again: the last one wins, as in
/// `JSON.parse`). Returns false when `text` is not one JSON object (what
/// was read before the fault was handed over).
pub fn fields<'a>(text: &'a str, mut f: impl FnMut(&str, Value<'a>)) -> bool {
    let mut s = Scan { s: text, i: 0 };
    let ok = (|| {
        if !s.eat(b'{') {
            return None;
        }
        if !s.eat(b'}') {
            loop {
                s.ws();
                if s.peek() != b'"' {
                    return None;
                }
                let key = s.string()?;
                if !s.eat(b':') {
                    return None;
                }
                let value = s.value()?;
                f(&key, value);
                if !s.eat(b',') {
                    break;
                }
            }
            if !s.eat(b'}') {
                return None;
            }
        }
        s.ws();
        (s.i == text.len()).then_some(())
    })();
    ok.is_some()
}

/// Calls `f` with each string item of the array text `array` (as
/// [`Value::Array`] holds it); false when it is not an array of strings.
pub fn strings<'a>(array: &'a str, mut f: impl FnMut(Cow<'a, str>)) -> bool {
    let mut s = Scan { s: array, i: 0 };
    let ok = (|| {
        if !s.eat(b'[') {
            return None;
        }
        if !s.eat(b']') {
            loop {
                s.ws();
                if s.peek() != b'"' {
                    return None;
                }
                f(s.string()?);
                if !s.eat(b',') {
                    break;
                }
            }
            if !s.eat(b']') {
                return None;
            }
        }
        s.ws();
        (s.i == array.len()).then_some(())
    })();
    ok.is_some()
}

/// A JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), or
/// `None`. Up to 19 significant digits are kept; the value is
/// `digits * 10^exp`, exact when both fit an f64 exactly (digits < 2^53,
/// |exp| <= 22: the usual fast path), else within a few ulps.
pub fn number(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = 0;
    let negative = b.first() == Some(&b'-');
    i += usize::from(negative);
    let (mut digits, mut exp, mut kept) = (0u64, 0i32, 0u32);
    let mut take = |d: u8, after_point: bool, exp: &mut i32| {
        if kept < 19 {
            if digits != 0 || d != 0 {
                kept += 1;
            }
            digits = digits * 10 + u64::from(d - b'0');
            *exp -= i32::from(after_point);
        } else if !after_point {
            *exp += 1;
        }
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while let Some(&d @ b'0'..=b'9') = b.get(i) {
                take(d, false, &mut exp);
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let from = i;
        while let Some(&d @ b'0'..=b'9') = b.get(i) {
            take(d, true, &mut exp);
            i += 1;
        }
        if i == from {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let sign = match b.get(i) {
            Some(b'-') => {
                i += 1;
                -1
            }
            Some(b'+') => {
                i += 1;
                1
            }
            _ => 1,
        };
        let (from, mut e) = (i, 0i32);
        while let Some(&d @ b'0'..=b'9') = b.get(i) {
            e = e.saturating_mul(10).saturating_add(i32::from(d - b'0'));
            i += 1;
        }
        if i == from {
            return None;
        }
        exp = exp.saturating_add(sign * e);
    }
    if i != b.len() {
        return None;
    }
    let mut v = digits as f64;
    if digits != 0 {
        // Exact powers of ten up to 1e22 (each product on the way is exact:
        // no table in the wasm); beyond, repeated steps (the value only
        // needs to be close there).
        let mut e = exp;
        while e != 0 && v.is_finite() && v != 0.0 {
            let step = e.clamp(-22, 22);
            let mut p = 1.0;
            for _ in 0..step.unsigned_abs() {
                p *= 10.0;
            }
            v = if step > 0 { v * p } else { v / p };
            e -= step;
        }
    }
    Some(if negative { -v } else { v })
}
