//! Encoders for the frames the SDK writes. Hand-written so the SDK needs no
//! serde: these frames are few and small, and their shape is fixed.

use std::fmt::Write;

/// A recovery position: the last publication a client saw on a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The topic's epoch (history generation).
    pub epoch: String,
    /// The last offset seen in that epoch.
    pub offset: u64,
}

/// `{"type":"subscribe","id":ID,"topic":T[,"recover":{"epoch":E,"offset":O}]}`
pub fn subscribe(id: u64, topic: &str, recover: Option<&Position>) -> String {
    let mut out = format!("{{\"type\":\"subscribe\",\"id\":{id},\"topic\":");
    push_json_string(&mut out, topic);
    if let Some(pos) = recover {
        out.push_str(",\"recover\":{\"epoch\":");
        push_json_string(&mut out, &pos.epoch);
        let _ = write!(out, ",\"offset\":{}}}", pos.offset);
    }
    out.push('}');
    out
}

/// `{"type":"unsubscribe","id":ID,"topic":T}`
pub fn unsubscribe(id: u64, topic: &str) -> String {
    let mut out = format!("{{\"type\":\"unsubscribe\",\"id\":{id},\"topic\":");
    push_json_string(&mut out, topic);
    out.push('}');
    out
}

/// `{"type":"ping","id":ID}`
pub fn ping(id: u64) -> String {
    format!("{{\"type\":\"ping\",\"id\":{id}}}")
}

/// `{"type":"pong"[,"id":ID]}`: the answer to a server `ping`.
pub fn pong(id: Option<u64>) -> String {
    match id {
        Some(id) => format!("{{\"type\":\"pong\",\"id\":{id}}}"),
        None => "{\"type\":\"pong\"}".to_owned(),
    }
}

/// Puts `"id":ID` first into `body`, the JSON text of an object without an
/// `id` (the SDK's `request()`). `None` when `body` is not an object.
pub fn with_id(body: &str, id: u64) -> Option<String> {
    let rest = body.trim_start().strip_prefix('{')?;
    let sep = if rest.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    Some(format!("{{\"id\":{id}{sep}{rest}"))
}

/// Appends `s` as a JSON string literal (quotes and escapes included).
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_subscribe_with_and_without_recover() {
        assert_eq!(
            subscribe(3, "miners", None),
            r#"{"type":"subscribe","id":3,"topic":"miners"}"#
        );
        let pos = Position {
            epoch: "e7".into(),
            offset: 42,
        };
        assert_eq!(
            subscribe(4, "a\"b", Some(&pos)),
            r#"{"type":"subscribe","id":4,"topic":"a\"b","recover":{"epoch":"e7","offset":42}}"#
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
    }
}
