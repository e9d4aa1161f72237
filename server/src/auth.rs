//! `--token-secret`: HS256 JWTs on the upgrade URL (`/ws?token=…`).
//!
//! The token is checked before the upgrade completes, and the result
//! travels with the connection. A failed check does not refuse the upgrade
//! (browser code cannot see an HTTP status): the connection is accepted and
//! then closed with [`Rejection::close_code`], before any frame is sent.
//! An accepted connection lives no longer than its token: it is closed
//! with 4401 once `exp` (plus the leeway) has passed, checked with each
//! heartbeat, so the client comes back with a fresh token.
//!
//! Accepted tokens: signed with HS256 and the configured secret, with a
//! numeric `exp` in the future but at most `--max-token-lifetime` ahead,
//! and, if present, a numeric `nbf` in the past ([`LEEWAY_SECS`] of clock
//! skew tolerated on both). Optional claims: `sub` (a string, logged with
//! the client id) and `topics` (a list of strings: the only topics this
//! connection may subscribe or publish to). `aud`, `iss` and other claims
//! are ignored.

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tether_protocol::close::code;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// Now, in Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What an accepted connection may do (all topics without a token check).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// The token's `sub` claim.
    pub sub: Option<String>,
    /// The token's `topics` claim; `None` allows every topic.
    pub topics: Option<Vec<String>>,
    /// Unix seconds after which the connection must close (the token's
    /// `exp` plus the leeway); `None` without a token check.
    pub expires: Option<u64>,
}

impl Grant {
    /// Whether the token behind this grant has expired at `now` (Unix s).
    pub fn expired(&self, now: u64) -> bool {
        self.expires.is_some_and(|at| now > at)
    }

    /// Whether this connection may subscribe or publish to `topic`.
    pub fn allows(&self, topic: &str) -> bool {
        self.topics
            .as_ref()
            .is_none_or(|topics| topics.iter().any(|t| t == topic))
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No `token` query parameter, or an empty one.
    #[error("token missing")]
    Missing,
    /// A valid token whose `exp` has passed.
    #[error("token expired")]
    Expired,
    /// A valid token whose `nbf` has not come yet.
    #[error("token not valid yet")]
    NotYetValid,
    /// A valid token whose `exp` is further ahead than
    /// `--max-token-lifetime`: a token that (nearly) never expires.
    #[error("token lifetime over the server's limit")]
    TooLong,
    /// Not a valid token: malformed, another algorithm, a bad signature, no
    /// `exp`, or a mistyped claim.
    #[error("invalid token")]
    Invalid,
}

impl Rejection {
    /// The close code the connection gets: 4401 (missing, expired or not
    /// valid yet: the client asks for a new token and retries) or 4503
    /// (invalid or too long-lived: terminal).
    pub fn close_code(self) -> u16 {
        match self {
            Rejection::Missing | Rejection::Expired | Rejection::NotYetValid => code::TOKEN_EXPIRED,
            Rejection::Invalid | Rejection::TooLong => code::FORBIDDEN,
        }
    }
}

/// The claims this server reads; unknown ones are ignored.
#[derive(Deserialize)]
struct Claims {
    exp: u64,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    topics: Option<Vec<String>>,
}

/// Checks tokens against one secret.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
    max_lifetime: u64,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for HS256 tokens signed with `secret`, whose `exp` is at
    /// most `max_lifetime` seconds ahead.
    pub fn new(secret: &str, max_lifetime: u64) -> Self {
        // jsonwebtoken picks its crypto backend from its crate features and
        // panics on use if it cannot (e.g. another crate in the build also
        // enabled `aws_lc_rs`). Install ours explicitly; an `Err` means a
        // provider is already installed, which is as good.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // No audience is configured: a present `aud` must not fail the check.
        validation.validate_aud = false;
        Verifier {
            key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            max_lifetime,
        }
    }

    /// Checks the upgrade's `token` parameter (`None`: absent).
    pub fn verify(&self, token: Option<&str>) -> Result<Grant, Rejection> {
        let token = match token {
            Some(t) if !t.is_empty() => t,
            _ => return Err(Rejection::Missing),
        };
        match jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation) {
            Ok(data) if data.claims.exp > unix_now().saturating_add(self.max_lifetime) => {
                Err(Rejection::TooLong)
            }
            Ok(data) => Ok(Grant {
                sub: data.claims.sub,
                topics: data.claims.topics,
                expires: Some(data.claims.exp.saturating_add(LEEWAY_SECS)),
            }),
            Err(e) => {
                tracing::debug!(error = %e, "token rejected");
                match e.kind() {
                    ErrorKind::ExpiredSignature => Err(Rejection::Expired),
                    ErrorKind::ImmatureSignature => Err(Rejection::NotYetValid),
                    _ => Err(Rejection::Invalid),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::{json, Value};

    const SECRET: &str = "s3cret";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn token(alg: Algorithm, secret: &str, claims: Value) -> String {
        encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn accepts_a_valid_token_and_reads_its_claims() {
        let v = Verifier::new(SECRET, 3600);
        let t = token(
            Algorithm::HS256,
            SECRET,
            json!({"sub":"ann","exp":now() + 60,"topics":["alerts"],"aud":"x","other":1}),
        );
        let grant = v.verify(Some(&t)).unwrap();
        assert_eq!(grant.sub.as_deref(), Some("ann"));
        assert!(grant.allows("alerts"));
        assert!(!grant.allows("miners"));
        assert_eq!(grant.expires, Some(now() as u64 + 60 + LEEWAY_SECS));
        assert!(!grant.expired(now() as u64));
        assert!(grant.expired(now() as u64 + 61 + LEEWAY_SECS));
        let t = token(Algorithm::HS256, SECRET, json!({"exp":now() + 60}));
        let grant = v.verify(Some(&t)).unwrap();
        assert_eq!((grant.sub, grant.topics), (None, None));
        assert!(Grant::default().allows("anything"));
        assert!(!Grant::default().expired(u64::MAX));
    }

    #[test]
    fn sorts_failures_into_4401_and_4503() {
        let v = Verifier::new(SECRET, 3600);
        let exp = now() + 60;
        let cases = [
            (None, Rejection::Missing),
            (Some(String::new()), Rejection::Missing),
            (
                Some(token(Algorithm::HS256, SECRET, json!({"exp":now() - 3600}))),
                Rejection::Expired,
            ),
            (
                Some(token(Algorithm::HS256, "other", json!({"exp":exp}))),
                Rejection::Invalid,
            ),
            (
                Some(token(Algorithm::HS384, SECRET, json!({"exp":exp}))),
                Rejection::Invalid,
            ),
            (
                Some(token(Algorithm::HS256, SECRET, json!({"sub":"x"}))),
                Rejection::Invalid,
            ),
            (
                Some(token(Algorithm::HS256, SECRET, json!({"exp":"soon"}))),
                Rejection::Invalid,
            ),
            (
                Some(token(
                    Algorithm::HS256,
                    SECRET,
                    json!({"exp":exp,"topics":"a"}),
                )),
                Rejection::Invalid,
            ),
            (
                Some(token(
                    Algorithm::HS256,
                    SECRET,
                    json!({"exp":exp,"nbf":now() + 600}),
                )),
                Rejection::NotYetValid,
            ),
            (
                Some(token(Algorithm::HS256, SECRET, json!({"exp":now() + 7200}))),
                Rejection::TooLong,
            ),
            (
                Some(token(Algorithm::HS256, SECRET, json!({"exp":u64::MAX}))),
                Rejection::TooLong,
            ),
            (Some("not.a.jwt".into()), Rejection::Invalid),
            (Some("x".repeat(5000)), Rejection::Invalid),
            (Some("..".into()), Rejection::Invalid),
            // alg "none" with an empty signature.
            (
                Some("eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9.".into()),
                Rejection::Invalid,
            ),
        ];
        for (t, want) in cases {
            assert_eq!(v.verify(t.as_deref()), Err(want), "{t:?}");
        }
        assert_eq!(Rejection::Missing.close_code(), 4401);
        assert_eq!(Rejection::Expired.close_code(), 4401);
        assert_eq!(Rejection::NotYetValid.close_code(), 4401);
        assert_eq!(Rejection::Invalid.close_code(), 4503);
        assert_eq!(Rejection::TooLong.close_code(), 4503);
    }

    #[test]
    fn debug_hides_the_key() {
        assert!(!format!("{:?}", Verifier::new("hunter2", 3600)).contains("hunter2"));
    }
}
