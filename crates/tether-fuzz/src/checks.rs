//! Which properties the targets assert. Every property is asserted, except
//! those of findings that are reported and not fixed yet (docs/FUZZING.md,
//! "Findings"): with those on, the fuzzer would stop at the known failure
//! within seconds and the smoke test would fail. Each one is a field of
//! [`Checks`], off in [`CHECKS`] until its fix lands; `tests/findings.rs`
//! replays each finding's minimised input with its field on.

/// Largest `error` reply the server may send for a frame it cannot read,
/// not counting the request id (`,"id":N`): an error reply must not echo an
/// attacker's string of any size back.
pub const ERROR_REPLY_MAX_BYTES: usize = 512;

/// Switches for the properties of open findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checks {
    /// F1: an error reply to an unreadable client frame is at most
    /// [`ERROR_REPLY_MAX_BYTES`] plus the request id.
    pub error_reply_bound: bool,
    /// F2: a float survives the server's JSON read and write exactly (a
    /// publication carries the number its publisher sent). Off: round trips
    /// compare floats within 2 ULPs.
    pub exact_floats: bool,
    /// F3: `POST /publish` accepts only a JSON object (serde also reads a
    /// struct from an array: `["miners"]`).
    pub publish_body_object: bool,
    /// F4: the core never delivers an offset of a (topic, epoch) twice on
    /// one subscription, even when the server goes back to an epoch it
    /// left (A, B, A). Off: an epoch met again starts afresh.
    pub no_redelivery_after_epoch_change: bool,
    /// F5: the core never delivers an offset twice on one subscription,
    /// even when a `subscribed` puts the position (`offset - missed`) below
    /// what it delivered already. Off: what lies after the new position may
    /// be delivered again.
    pub no_redelivery_after_subscribed: bool,
}

impl Checks {
    /// Every property, open findings included.
    pub const ALL: Checks = Checks {
        error_reply_bound: true,
        exact_floats: true,
        publish_body_object: true,
        no_redelivery_after_epoch_change: true,
        no_redelivery_after_subscribed: true,
    };
}

/// What the fuzz targets and the smoke test assert: [`Checks::ALL`] minus
/// the open findings. Turn a field on in the commit that fixes its finding.
pub const CHECKS: Checks = Checks {
    error_reply_bound: true,
    exact_floats: true,
    publish_body_object: true,
    // F4 is by design: epochs are never reused (docs/FUZZING.md).
    no_redelivery_after_epoch_change: false,
    no_redelivery_after_subscribed: true,
};
