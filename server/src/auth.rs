//! `--token-secret`: HS256 JWTs on the upgrade URL (`/ws?token=…`).
//!
//! The token is checked once, before the upgrade completes, and the result
//! travels with the connection. A failed check does not refuse the upgrade
//! (browser code cannot see an HTTP status): the connection is accepted and
//! then closed with [`Rejection::close_code`], before any frame is sent.
//!
//! Accepted tokens: signed with HS256 and the configured secret, with a
//! numeric `exp` in the future (up to [`LEEWAY_SECS`] of clock skew
//! tolerated). Optional claims: `sub` (a string, logged with the client id)
//! and `topics` (a list of strings: the only topics this connection may
//! subscribe or publish to). `aud`, `iss`, `nbf` and other claims are
//! ignored.

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tether_protocol::close::code;

/// Clock skew tolerated on `exp`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// What an accepted connection may do (all topics without a token check).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// The token's `sub` claim.
    pub sub: Option<String>,
    /// The token's `topics` claim; `None` allows every topic.
    pub topics: Option<Vec<String>>,
}

impl Grant {
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
    /// Not a valid token: malformed, another algorithm, a bad signature, no
    /// `exp`, or a mistyped claim.
    #[error("invalid token")]
    Invalid,
}

impl Rejection {
    /// The close code the connection gets: 4401 (missing or expired: the
    /// client asks for a new token and retries) or 4503 (invalid: terminal).
    pub fn close_code(self) -> u16 {
        match self {
            Rejection::Missing | Rejection::Expired => code::TOKEN_EXPIRED,
            Rejection::Invalid => code::FORBIDDEN,
        }
    }
}

/// The claims this server reads; unknown ones are ignored.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    topics: Option<Vec<String>>,
}

/// Checks tokens against one secret.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for HS256 tokens signed with `secret`.
    pub fn new(secret: &str) -> Self {
        // jsonwebtoken picks its crypto backend from its crate features and
        // panics on use if it cannot (e.g. another crate in the build also
        // enabled `aws_lc_rs`). Install ours explicitly; an `Err` means a
        // provider is already installed, which is as good.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        // No audience is configured: a present `aud` must not fail the check.
        validation.validate_aud = false;
        Verifier {
            key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// Checks the upgrade's `token` parameter (`None`: absent).
    pub fn verify(&self, token: Option<&str>) -> Result<Grant, Rejection> {
        let token = match token {
            Some(t) if !t.is_empty() => t,
            _ => return Err(Rejection::Missing),
        };
        match jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation) {
            Ok(data) => Ok(Grant {
                sub: data.claims.sub,
                topics: data.claims.topics,
            }),
            Err(e) => {
                tracing::debug!(error = %e, "token rejected");
                match e.kind() {
                    ErrorKind::ExpiredSignature => Err(Rejection::Expired),
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
        let v = Verifier::new(SECRET);
        let t = token(
            Algorithm::HS256,
            SECRET,
            json!({"sub":"ann","exp":now() + 60,"topics":["alerts"],"aud":"x","other":1}),
        );
        let grant = v.verify(Some(&t)).unwrap();
        assert_eq!(grant.sub.as_deref(), Some("ann"));
        assert!(grant.allows("alerts"));
        assert!(!grant.allows("miners"));
        let t = token(Algorithm::HS256, SECRET, json!({"exp":now() + 60}));
        let grant = v.verify(Some(&t)).unwrap();
        assert_eq!(grant, Grant::default());
        assert!(grant.allows("anything"));
    }

    #[test]
    fn sorts_failures_into_4401_and_4503() {
        let v = Verifier::new(SECRET);
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
        assert_eq!(Rejection::Invalid.close_code(), 4503);
    }

    #[test]
    fn debug_hides_the_key() {
        assert!(!format!("{:?}", Verifier::new("hunter2")).contains("hunter2"));
    }
}
