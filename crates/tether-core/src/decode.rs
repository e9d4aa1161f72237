//! The one decoder of inbound frames: from a parsed frame, read through
//! [`Fields`], to the [`Inbound`] that [`Client::handle_frame`] takes.
//!
//! The browser shell implements [`Fields`] over the object `JSON.parse`
//! made (each answer is one property read; strings are copied into wasm
//! only for the fields a frame type needs, and the `type` is classified
//! without copying it); native tests implement it over `serde_json::Value`.
//! Every validation lives here, so it is tested natively
//! (`tests/decode.rs`): a malformed frame never fails, it decodes to what
//! the client can still do with it (see [`decode`]).
//!
//! [`Client::handle_frame`]: crate::Client::handle_frame

use crate::Inbound;

/// A field of a server frame that the client reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `id`.
    Id,
    /// `topic`.
    Topic,
    /// `epoch`.
    Epoch,
    /// `offset`.
    Offset,
    /// `client_id`.
    ClientId,
    /// `heartbeat_interval` (seconds).
    HeartbeatInterval,
    /// `recovered`.
    Recovered,
    /// `missed`.
    Missed,
    /// `code`.
    Code,
    /// `message`.
    Message,
    /// `retry_after_ms`.
    RetryAfterMs,
    /// `spread_ms`.
    SpreadMs,
}

impl Field {
    /// Every field, in declaration order (`Field as usize` indexes it), for
    /// a shell that caches its keys.
    pub const ALL: [Field; 12] = [
        Field::Id,
        Field::Topic,
        Field::Epoch,
        Field::Offset,
        Field::ClientId,
        Field::HeartbeatInterval,
        Field::Recovered,
        Field::Missed,
        Field::Code,
        Field::Message,
        Field::RetryAfterMs,
        Field::SpreadMs,
    ];

    /// The key on the wire.
    pub fn name(self) -> &'static str {
        // A table, not a `match`: an indexed load where a match compiles to
        // a jump table of (pointer, length) pairs.
        const NAMES: [&str; 12] = [
            "id",
            "topic",
            "epoch",
            "offset",
            "client_id",
            "heartbeat_interval",
            "recovered",
            "missed",
            "code",
            "message",
            "retry_after_ms",
            "spread_ms",
        ];
        NAMES[self as usize]
    }
}

/// What a frame's `type` names, as far as the client is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameType {
    /// `publication`.
    Publication,
    /// `connection_established`.
    Established,
    /// `subscribed`.
    Subscribed,
    /// `unsubscribed`.
    Unsubscribed,
    /// `pong`.
    Pong,
    /// `ping`.
    Ping,
    /// `error`.
    Error,
    /// `goaway`.
    Goaway,
    /// Any other `type`, no `type`, a `type` that is not a string, or not an
    /// object at all: a reply or an application message.
    Other,
}

impl FrameType {
    /// The protocol's frame types and their wire names (every
    /// [`FrameType`] but [`FrameType::Other`]), for a shell that classifies
    /// with a lookup table of its own.
    pub const NAMED: [(FrameType, &'static str); 8] = [
        (FrameType::Publication, "publication"),
        (FrameType::Established, "connection_established"),
        (FrameType::Subscribed, "subscribed"),
        (FrameType::Unsubscribed, "unsubscribed"),
        (FrameType::Pong, "pong"),
        (FrameType::Ping, "ping"),
        (FrameType::Error, "error"),
        (FrameType::Goaway, "goaway"),
    ];

    /// The type whose wire name is exactly `name`, else [`FrameType::Other`].
    pub fn from_name(name: &str) -> FrameType {
        FrameType::NAMED
            .iter()
            .find(|(_, n)| *n == name)
            .map_or(FrameType::Other, |(t, _)| *t)
    }
}

/// Read access to one parsed inbound frame. A frame that is not a JSON
/// object (text that is not JSON, an array, a number) answers `None` /
/// [`FrameType::Other`] / `false` everywhere. Implementations only read:
/// every check (types, ranges, defaults) is [`decode`]'s.
pub trait Fields {
    /// A string field's text: owned (copied out of JS) or borrowed.
    type Str: AsRef<str>;

    /// The frame's `type`: the [`FrameType`] whose name in
    /// [`FrameType::NAMED`] is exactly equal to it, else
    /// [`FrameType::Other`] (not a string, absent, another name).
    fn frame_type(&self) -> FrameType;

    /// Whether the frame's `type` is the string `name` (raw mode asks this
    /// for its pong type on every frame).
    fn type_is(&self, name: &str) -> bool;

    /// `field`, when it is a string.
    fn string(&self, field: Field) -> Option<Self::Str>;

    /// `field`, when it is a number (as JSON.parse reads it: an f64).
    fn number(&self, field: Field) -> Option<f64>;

    /// `field`, when it is a boolean.
    fn boolean(&self, field: Field) -> Option<bool>;
}

/// Which server the frames come from (see [`crate::Mode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect<'a> {
    /// A Tether server: frames are classified by their protocol `type`.
    Tether,
    /// Any JSON server: a frame whose `type` is `pong_type` answers the
    /// heartbeat; anything else is a reply (numeric `id`) or an app message.
    Raw {
        /// The `type` of the server's pong frames.
        pong_type: &'a str,
    },
}

/// Decodes `frame` and hands the [`Inbound`] to `then` (which borrows the
/// strings read for it, so nothing outlives the call), returning its result.
///
/// Validation, the same for every shell:
/// - an integer (`id`, `offset`, `missed`, `retry_after_ms`, `spread_ms`) is
///   a number in 0..=2^53-1 with no fraction; anything else is absent;
/// - `heartbeat_interval` (seconds) counts only when finite and > 0;
/// - a `publication` without a string `topic`, a string `epoch` and an
///   integer `offset` is not the protocol's to judge: it decodes to
///   [`Inbound::App`] (the app sees it as a message);
/// - in the other protocol frames a missing or mistyped field takes its
///   default: "" for a string, 0 for a required integer, `None` for an
///   optional one (`id` of `pong`, `ping`, `error`; `recovered`);
/// - any other frame is [`Inbound::Reply`] when its `id` is an integer,
///   else [`Inbound::App`]; raw mode's pong ignores its `id`.
pub fn decode<F, R>(frame: &F, dialect: Dialect<'_>, then: impl FnOnce(Inbound<'_>) -> R) -> R
where
    F: Fields + ?Sized,
{
    let id = || int(frame.number(Field::Id));
    let int_or_0 = |field| int(frame.number(field)).unwrap_or(0);
    // `None`: raw mode's pong.
    let kind = match dialect {
        Dialect::Tether => Some(frame.frame_type()),
        Dialect::Raw { pong_type } if frame.type_is(pong_type) => None,
        Dialect::Raw { .. } => Some(FrameType::Other),
    };
    // The (at most two) strings a frame type needs, read here so the
    // `Inbound` can borrow them. `then` is called once: the shell's one
    // instance of this function inlines it once.
    let (first, second) = match kind {
        Some(FrameType::Publication | FrameType::Subscribed) => (Field::Topic, Some(Field::Epoch)),
        Some(FrameType::Unsubscribed) => (Field::Topic, None),
        Some(FrameType::Established) => (Field::ClientId, None),
        Some(FrameType::Error) => (Field::Code, Some(Field::Message)),
        _ => (Field::Id, None),
    };
    let (first, second) = match second {
        Some(second) => (frame.string(first), frame.string(second)),
        None if first != Field::Id => (frame.string(first), None),
        None => (None, None),
    };
    let (a, b) = (text::<F>(&first), text::<F>(&second));
    let inbound = match kind {
        None => Inbound::Pong { id: None },
        Some(FrameType::Publication) => match (&first, &second, int(frame.number(Field::Offset))) {
            (Some(_), Some(_), Some(offset)) => Inbound::Publication {
                topic: a,
                epoch: b,
                offset,
            },
            _ => Inbound::App,
        },
        Some(FrameType::Established) => Inbound::Established {
            client_id: a,
            // Seconds on the wire, ms in the core.
            heartbeat_interval_ms: frame
                .number(Field::HeartbeatInterval)
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(|s| (s * 1000.0) as u64),
        },
        Some(FrameType::Subscribed) => Inbound::Subscribed {
            id: id().unwrap_or(0),
            topic: a,
            epoch: b,
            offset: int_or_0(Field::Offset),
            recovered: frame.boolean(Field::Recovered),
            missed: int_or_0(Field::Missed),
        },
        Some(FrameType::Unsubscribed) => Inbound::Unsubscribed {
            id: id().unwrap_or(0),
            topic: a,
        },
        Some(FrameType::Error) => Inbound::Error {
            id: id(),
            code: a,
            message: b,
        },
        Some(FrameType::Pong) => Inbound::Pong { id: id() },
        Some(FrameType::Ping) => Inbound::Ping { id: id() },
        Some(FrameType::Goaway) => Inbound::Goaway {
            retry_after_ms: int_or_0(Field::RetryAfterMs),
            spread_ms: int_or_0(Field::SpreadMs),
        },
        Some(FrameType::Other) => id().map_or(Inbound::App, |id| Inbound::Reply { id }),
    };
    then(inbound)
}

/// A string field's text, "" when absent.
fn text<F: Fields + ?Sized>(s: &Option<F::Str>) -> &str {
    s.as_ref().map_or("", AsRef::as_ref)
}

/// A JSON number that is a non-negative integer a JS number holds exactly.
fn int(n: Option<f64>) -> Option<u64> {
    let n = n?;
    // In this range `as u64` is exact for integers and truncates the rest.
    ((0.0..=9_007_199_254_740_991.0).contains(&n) && (n as u64) as f64 == n).then_some(n as u64)
}
