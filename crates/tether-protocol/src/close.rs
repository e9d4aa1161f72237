//! Close codes and what a client does about each one.
//!
//! The bands are the contract (protocol-v1.md, "Close codes"):
//! 1000-2999 and 4000-4499 are retryable, 4500-4999 are terminal, and two
//! codes carry a special instruction: 4401 (get a new token first) and 4429
//! (wait at least the server's `retry_after_ms`).

use alloc::string::String;

/// Well-known close codes used by Tether.
pub mod code {
    /// Normal close. From our own `close()`: stop. From the server: reconnect.
    pub const NORMAL: u16 = 1000;
    /// Endpoint going away (page unload, server shutdown).
    pub const GOING_AWAY: u16 = 1001;
    /// A frame that breaks RFC 6455 (the server's answer to a malformed
    /// WebSocket frame; not a Tether protocol error, see 4500).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Status the browser reports when no close frame arrived (never sent).
    pub const NO_STATUS: u16 = 1005;
    /// Abnormal closure: the TCP link died without a close frame.
    pub const ABNORMAL: u16 = 1006;
    /// The text was not valid UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A message was larger than the peer's limit.
    pub const TOO_LARGE: u16 = 1009;
    /// Internal server error.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// Service restart (sent after `goaway`).
    pub const SERVICE_RESTART: u16 = 1012;
    /// Try again later.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// Client-side close of a link the client judged dead or told to leave
    /// (heartbeat timeout, connect timeout, goaway deadline).
    pub const CLIENT_RECONNECT: u16 = 4000;
    /// Token missing or expired: refresh it, then reconnect.
    pub const TOKEN_EXPIRED: u16 = 4401;
    /// Too many connections or messages; reason is `{"retry_after_ms":N}`.
    pub const TOO_MANY: u16 = 4429;
    /// Protocol violation (terminal).
    pub const PROTOCOL_VIOLATION: u16 = 4500;
    /// Forbidden or invalid token (terminal).
    pub const FORBIDDEN: u16 = 4503;
}

/// What a client should do after the server closed its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAction {
    /// Reconnect with the normal backoff.
    Reconnect,
    /// Reconnect with backoff and report the close as an error (1009).
    ReconnectWithError,
    /// Ask the token provider again, then reconnect with backoff (4401).
    RefreshToken,
    /// Wait at least this many ms (the server's advice), else backoff (4429).
    RetryAfter(Option<u64>),
    /// Never reconnect: the client goes to `failed` (4500-4999).
    Terminal,
}

/// Classifies a close received from the server (not one the client asked
/// for with its own `close()`; that one always stops).
pub fn classify(code: u16, reason: &str) -> CloseAction {
    match code {
        code::TOO_LARGE => CloseAction::ReconnectWithError,
        code::TOKEN_EXPIRED => CloseAction::RefreshToken,
        code::TOO_MANY => CloseAction::RetryAfter(retry_after_ms(reason)),
        4500..=4999 => CloseAction::Terminal,
        _ => CloseAction::Reconnect,
    }
}

/// Whether a close code is terminal (4500-4999).
pub fn is_terminal(code: u16) -> bool {
    (4500..=4999).contains(&code)
}

/// Reads `retry_after_ms` from a 4429 close reason such as
/// `{"retry_after_ms":2000}`. A tiny scanner rather than a JSON parser: the
/// SDK must not pull serde in for one number. `None` when the key is missing
/// or not followed by `:` and digits that fit a `u64`.
pub fn retry_after_ms(reason: &str) -> Option<u64> {
    const KEY: &[u8] = b"\"retry_after_ms\"";
    let bytes = reason.as_bytes();
    let at = bytes.windows(KEY.len()).position(|w| w == KEY)?;
    let rest = bytes.get(at + KEY.len()..)?.trim_ascii_start();
    let rest = rest.strip_prefix(b":")?.trim_ascii_start();
    let digits = rest.iter().take_while(|b| b.is_ascii_digit());
    let mut n: Option<u64> = None;
    for d in digits {
        let sum = n
            .unwrap_or(0)
            .checked_mul(10)?
            .checked_add(u64::from(d - b'0'))?;
        n = Some(sum);
    }
    n
}

/// The close reason a server sends with 4429.
pub fn retry_after_reason(ms: u64) -> String {
    let mut out = String::from("{\"retry_after_ms\":");
    crate::client::push_u64(&mut out, ms);
    // Not `push('}')`: a `char` links the UTF-8 encoder into the wasm.
    #[allow(clippy::single_char_add_str)]
    out.push_str("}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_table() {
        let cases: &[(u16, &str, CloseAction)] = &[
            (1000, "", CloseAction::Reconnect),
            (1001, "", CloseAction::Reconnect),
            (1006, "", CloseAction::Reconnect),
            (1007, "", CloseAction::Reconnect),
            (1009, "", CloseAction::ReconnectWithError),
            (1011, "", CloseAction::Reconnect),
            (1012, "", CloseAction::Reconnect),
            (1013, "", CloseAction::Reconnect),
            (1014, "", CloseAction::Reconnect),
            (4000, "", CloseAction::Reconnect),
            (4001, "", CloseAction::Reconnect),
            (4401, "", CloseAction::RefreshToken),
            (
                4429,
                "{\"retry_after_ms\":2500}",
                CloseAction::RetryAfter(Some(2500)),
            ),
            (4429, "busy", CloseAction::RetryAfter(None)),
            (4499, "", CloseAction::Reconnect),
            (4500, "", CloseAction::Terminal),
            (4503, "", CloseAction::Terminal),
            (4999, "", CloseAction::Terminal),
            (3000, "", CloseAction::Reconnect),
        ];
        for (c, reason, want) in cases {
            assert_eq!(classify(*c, reason), *want, "code {c}");
        }
    }

    #[test]
    fn terminal_band_edges() {
        assert!(!is_terminal(4499));
        assert!(is_terminal(4500));
        assert!(is_terminal(4999));
        assert!(!is_terminal(5000));
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(retry_after_ms(&retry_after_reason(1234)), Some(1234));
        assert_eq!(retry_after_ms("{ \"retry_after_ms\" : 7 }"), Some(7));
        assert_eq!(retry_after_ms("{\"retry_after_ms\":\"x\"}"), None);
        assert_eq!(retry_after_ms("{\"retry_after_ms\":-1}"), None);
        assert_eq!(retry_after_ms(""), None);
        assert_eq!(retry_after_ms("{\"retry_after_ms\":}"), None);
        assert_eq!(
            retry_after_ms("{\"retry_after_ms\":18446744073709551615}"),
            Some(u64::MAX)
        );
        assert_eq!(
            retry_after_ms("{\"retry_after_ms\":18446744073709551616}"),
            None
        );
        assert_eq!(retry_after_ms("{\"retry_after_ms\"\t:\n12x"), Some(12));
    }
}
