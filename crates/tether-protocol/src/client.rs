//! Encoders for the frames the SDK writes. Hand-written so the SDK needs no
//! serde: these frames are few and small, and their shape is fixed. They
//! build strings by hand, without `format!`, so the wasm links no
//! `core::fmt`. ASCII goes in as `push_str("x")`, not `push('x')`: a
//! `char` links the UTF-8 encoder into the wasm.
#![allow(clippy::single_char_add_str)]

use alloc::string::String;

/// A recovery position: the last publication a client saw on a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The topic's epoch (history generation).
    pub epoch: String,
    /// The last offset seen in that epoch.
    pub offset: u64,
}

/// `{"type":"subscribe","id":ID,"topic":T[,"recover":{"epoch":E,"offset":O}][,"rewind":N]}`
pub fn subscribe(id: u64, topic: &str, recover: Option<&Position>, rewind: Option<u32>) -> String {
    let mut out = typed_with_id("subscribe", id);
    out.push_str(",\"topic\":");
    push_json_string(&mut out, topic);
    if let Some(pos) = recover {
        out.push_str(",\"recover\":{\"epoch\":");
        push_json_string(&mut out, &pos.epoch);
        out.push_str(",\"offset\":");
        push_u64(&mut out, pos.offset);
        out.push_str("}");
    }
    if let Some(n) = rewind {
        out.push_str(",\"rewind\":");
        push_u64(&mut out, n.into());
    }
    out.push_str("}");
    out
}

/// `{"type":"unsubscribe","id":ID,"topic":T}`
pub fn unsubscribe(id: u64, topic: &str) -> String {
    let mut out = typed_with_id("unsubscribe", id);
    out.push_str(",\"topic\":");
    push_json_string(&mut out, topic);
    out.push_str("}");
    out
}

/// `{"type":"ping","id":ID}`
pub fn ping(id: u64) -> String {
    let mut out = typed_with_id("ping", id);
    out.push_str("}");
    out
}

/// `{"type":"pong"[,"id":ID]}`: the answer to a server `ping`.
pub fn pong(id: Option<u64>) -> String {
    let mut out = match id {
        Some(id) => typed_with_id("pong", id),
        None => String::from("{\"type\":\"pong\""),
    };
    out.push_str("}");
    out
}

/// `{"type":"TY","id":ID` (unclosed).
fn typed_with_id(ty: &str, id: u64) -> String {
    let mut out = String::with_capacity(48);
    out.push_str("{\"type\":\"");
    out.push_str(ty);
    out.push_str("\",\"id\":");
    push_u64(&mut out, id);
    out
}

/// Puts `"id":ID` first into `body`, the JSON text of an object without an
/// `id` (the SDK's `request()`). `None` when `body` is not an object.
/// Leading JSON whitespace (space, tab, CR, LF) is skipped.
pub fn with_id(body: &str, id: u64) -> Option<String> {
    let rest = trim_json_ws(body).strip_prefix("{")?;
    let sep = if trim_json_ws(rest).starts_with("}") {
        ""
    } else {
        ","
    };
    let mut out = String::with_capacity(body.len() + 24);
    out.push_str("{\"id\":");
    push_u64(&mut out, id);
    out.push_str(sep);
    out.push_str(rest);
    Some(out)
}

/// `s` without leading JSON whitespace.
pub fn trim_json_ws(s: &str) -> &str {
    // Bytes, not a char pattern: the four are ASCII, and `str` patterns
    // bring UTF-8 decoding into the wasm.
    let ws = s
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    s.get(ws.count()..).unwrap_or_default()
}

/// Digits, for [`push_u64`] and the `\u00XX` escapes. ASCII goes in with
/// `push_str` of a piece of this, never `String::push(char)`: that links
/// the UTF-8 encoder into the wasm.
const HEX: &str = "0123456789abcdef";

/// Appends hex digit `d` (0..=15) of [`HEX`].
fn push_digit(out: &mut String, d: u8) {
    let d = usize::from(d);
    out.push_str(HEX.get(d..d + 1).unwrap_or_default());
}

/// Appends `n` in decimal.
pub fn push_u64(out: &mut String, n: u64) {
    if n >= 10 {
        push_u64(out, n / 10);
    }
    push_digit(out, (n % 10) as u8);
}

/// Appends `s` as a JSON string literal (quotes and escapes included).
pub fn push_json_string(out: &mut String, s: &str) {
    out.push_str("\"");
    // Runs of bytes that need no escape are copied whole; every escaped
    // byte is ASCII, so each run starts and ends on a char boundary.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "\\u00",
            _ => continue,
        };
        out.push_str(s.get(run..i).unwrap_or_default());
        out.push_str(escape);
        if escape == "\\u00" {
            push_digit(out, b >> 4);
            push_digit(out, b & 15);
        }
        run = i + 1;
    }
    out.push_str(s.get(run..).unwrap_or_default());
    out.push_str("\"");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_subscribe_with_and_without_recover_and_rewind() {
        assert_eq!(
            subscribe(3, "miners", None, None),
            r#"{"type":"subscribe","id":3,"topic":"miners"}"#
        );
        let pos = Position {
            epoch: "e7".into(),
            offset: 42,
        };
        assert_eq!(
            subscribe(4, "a\"b", Some(&pos), None),
            r#"{"type":"subscribe","id":4,"topic":"a\"b","recover":{"epoch":"e7","offset":42}}"#
        );
        assert_eq!(
            subscribe(5, "t", Some(&pos), Some(20)),
            r#"{"type":"subscribe","id":5,"topic":"t","recover":{"epoch":"e7","offset":42},"rewind":20}"#
        );
    }

    #[test]
    fn encodes_small_frames() {
        assert_eq!(
            unsubscribe(1, "x"),
            r#"{"type":"unsubscribe","id":1,"topic":"x"}"#
        );
        assert_eq!(ping(9), r#"{"type":"ping","id":9}"#);
        assert_eq!(pong(None), r#"{"type":"pong"}"#);
        assert_eq!(pong(Some(2)), r#"{"type":"pong","id":2}"#);
    }

    #[test]
    fn inserts_request_ids() {
        assert_eq!(
            with_id(r#"{"type":"x"}"#, 7).as_deref(),
            Some(r#"{"id":7,"type":"x"}"#)
        );
        assert_eq!(with_id(" { } ", 1).as_deref(), Some(r#"{"id":1 } "#));
        assert_eq!(with_id("[1]", 1), None);
        assert_eq!(with_id("\"s\"", 1), None);
    }

    #[test]
    fn escapes_control_characters() {
        let mut s = String::new();
        push_json_string(&mut s, "a\u{1}\n\\");
        assert_eq!(s, r#""a\u0001\n\\""#);
        let mut s = String::new();
        push_json_string(&mut s, "\u{1f}é\"ü\t\r");
        assert_eq!(s, r#""\u001fé\"ü\t\r""#);
    }

    #[test]
    fn writes_numbers() {
        for n in [0, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
