//! The structured input of the core target, built from raw bytes with
//! `arbitrary`: a configuration within the ranges the JS options accept, and
//! a sequence of steps. Names, epochs and ids come from small sets so that
//! steps meet each other (the same topic, a reply to an id just written).

use arbitrary::Arbitrary;
use tether_core::{Backoff, Config, Heartbeat, Jitter, Mode, QueueLimits};

/// How a run starts: the client's configuration, its seed, and whether the
/// browser is online at construction. [`Step`]s follow.
#[derive(Arbitrary, Debug)]
pub struct Start {
    pub config: ConfigIn,
    pub seed: u64,
    pub online: bool,
}

/// A duration in ms, biased to the values that break things: 0, small,
/// and huge (`options.js` accepts any finite number; `Math.round` of a
/// number below 0.5 gives 0, of a huge one saturates).
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Ms {
    Zero,
    Small(u8),
    Medium(u16),
    Large(u32),
    Huge(u64),
}

impl Ms {
    pub fn get(self) -> u64 {
        match self {
            Ms::Zero => 0,
            Ms::Small(n) => u64::from(n),
            Ms::Medium(n) => u64::from(n),
            Ms::Large(n) => u64::from(n),
            Ms::Huge(n) => n,
        }
    }
}

#[derive(Arbitrary, Debug)]
pub struct ConfigIn {
    raw: bool,
    connect_timeout: Ms,
    stable_after: Ms,
    initial: Ms,
    /// `max_ms = initial_ms + extra` (`options.rs` refuses `max < initial`).
    extra: Ms,
    /// `factor = 1 + n / 16` (finite, >= 1).
    factor: u8,
    jitter: u8,
    max_attempts: Option<u8>,
    /// `None`: `heartbeat: false`.
    heartbeat: Option<(Option<Ms>, Ms)>,
    max_messages: u8,
    max_bytes: u16,
}

impl ConfigIn {
    pub fn build(&self) -> Config {
        let initial_ms = self.initial.get();
        Config {
            mode: if self.raw { Mode::Raw } else { Mode::Tether },
            connect_timeout_ms: self.connect_timeout.get(),
            stable_after_ms: self.stable_after.get(),
            backoff: Backoff {
                initial_ms,
                max_ms: initial_ms.saturating_add(self.extra.get()),
                factor: 1.0 + f64::from(self.factor) / 16.0,
                jitter: match self.jitter % 3 {
                    0 => Jitter::Full,
                    1 => Jitter::Equal,
                    _ => Jitter::None,
                },
                max_attempts: self.max_attempts.map(u32::from),
            },
            heartbeat: self.heartbeat.map(|(interval, timeout)| Heartbeat {
                interval_ms: interval.map(Ms::get),
                timeout_ms: timeout.get(),
                // Not drawn: the corpus's inputs keep their meaning.
                hidden_interval_ms: None,
            }),
            queue: QueueLimits {
                max_messages: usize::from(self.max_messages % 16),
                max_bytes: usize::from(self.max_bytes % 2048),
            },
            raw_ping_message: r#"{"type":"ping"}"#.to_owned(),
        }
    }
}

/// One input to the core.
#[derive(Arbitrary, Debug)]
pub enum Step {
    // App calls.
    Connect,
    Reconnect,
    Close {
        code: u16,
        reason: Text,
    },
    Subscribe {
        topic: Topic,
        recover: bool,
    },
    Unsubscribe {
        topic: Topic,
    },
    Send {
        text: Text,
    },
    Request {
        body: Body,
        timeout: Ms,
    },
    Online(bool),
    /// A page or device event (`PageEvent`, by index).
    Page(u8),
    // Socket events.
    SocketOpen(Sock),
    SocketError(Sock),
    SocketClose {
        sock: Sock,
        code: CloseCode,
        reason: Reason,
        clean: bool,
    },
    Frame {
        sock: Sock,
        frame: Frame,
    },
    // The clock.
    /// The timer fires now, due or not (early and spurious calls are
    /// allowed).
    Timer,
    /// Time passes.
    Advance {
        ms: Ms,
        timer: TimerMode,
    },
}

/// How the shell's one timer behaves while time passes.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum TimerMode {
    /// Fires at each deadline (an accurate browser timer).
    OnTime,
    /// Fires once, at the end (a throttled background tab).
    Late,
    /// Does not fire (the next step decides).
    Silent,
}

/// Which socket an event comes from.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Sock {
    /// The one the core opened last.
    Latest,
    /// `n` generations before it (stale: already let go of).
    Older(u8),
    /// Any id at all.
    Any(u64),
}

pub const TOPICS: [&str; 4] = ["miners", "alerts", "a:b", ""];
pub const EPOCHS: [&str; 3] = ["e1", "e2", "e3"];

#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Topic(u8);

impl Topic {
    pub fn name(self) -> &'static str {
        TOPICS[usize::from(self.0) % TOPICS.len()]
    }
}

#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Epoch(u8);

impl Epoch {
    pub fn name(self) -> &'static str {
        EPOCHS[usize::from(self.0) % EPOCHS.len()]
    }
}

/// An offset: small ones collide (duplicates, reordering), any one probes
/// the edges.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Offset {
    Small(u8),
    Any(u64),
}

impl Offset {
    pub fn get(self) -> u64 {
        match self {
            Offset::Small(n) => u64::from(n % 16),
            Offset::Any(n) => n,
        }
    }
}

/// A request id in a server frame.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Id {
    /// One of the ids the core wrote on the latest socket, `n` back from the
    /// last one (a real reply).
    Recent(u8),
    Any(u64),
}

/// A cursor in an `Inbound::Next`.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum CursorIn {
    /// The topic's current cursor, as the shell would have it.
    Of(Topic),
    Any(u32),
}

/// Text for `send`, reasons and messages.
#[derive(Arbitrary, Clone, Debug)]
pub enum Text {
    /// `n` ASCII bytes (the queue's byte bound).
    Filler(u16),
    Any(String),
}

impl Text {
    pub fn get(&self) -> String {
        match self {
            Text::Filler(n) => "x".repeat(usize::from(*n % 1024)),
            Text::Any(s) => s.clone(),
        }
    }
}

/// A `request()` body (JSON text of an object without `id`, or not).
#[derive(Arbitrary, Clone, Debug)]
pub enum Body {
    Object { padding: u16 },
    Empty,
    Spaced,
    NotAnObject(Text),
}

impl Body {
    pub fn get(&self) -> String {
        match self {
            Body::Object { padding } => {
                let pad = "p".repeat(usize::from(*padding % 512));
                format!(r#"{{"type":"get_status","pad":"{pad}"}}"#)
            }
            Body::Empty => "{}".to_owned(),
            Body::Spaced => " \n\t{ }".to_owned(),
            Body::NotAnObject(text) => text.get(),
        }
    }
}

/// A close code: the ones the policy names, or any.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum CloseCode {
    Known(u8),
    Any(u16),
}

const KNOWN_CODES: [u16; 16] = [
    1000, 1001, 1005, 1006, 1007, 1009, 1011, 1012, 1013, 3000, 4000, 4401, 4429, 4499, 4500, 4503,
];

impl CloseCode {
    pub fn get(self) -> u16 {
        match self {
            CloseCode::Known(n) => KNOWN_CODES[usize::from(n) % KNOWN_CODES.len()],
            CloseCode::Any(n) => n,
        }
    }
}

/// A close reason: empty, a 4429 `retry_after_ms`, or any text.
#[derive(Arbitrary, Clone, Debug)]
pub enum Reason {
    Empty,
    RetryAfter(Ms),
    Any(Text),
}

impl Reason {
    pub fn get(&self) -> String {
        match self {
            Reason::Empty => String::new(),
            Reason::RetryAfter(ms) => format!(r#"{{"retry_after_ms":{}}}"#, ms.get()),
            Reason::Any(text) => text.get(),
        }
    }
}

/// A server frame, valid or not, as the shell classifies it (`Inbound`).
/// Garbage arrives as `App` or as a `Reply` with an id.
#[derive(Arbitrary, Clone, Debug)]
pub enum Frame {
    Established {
        client_id: Text,
        heartbeat_interval: Option<Ms>,
    },
    Subscribed {
        id: Id,
        topic: Topic,
        epoch: Epoch,
        offset: Offset,
        recovered: Option<bool>,
        missed: Offset,
    },
    Unsubscribed {
        id: Id,
        topic: Topic,
    },
    Publication {
        topic: Topic,
        epoch: Epoch,
        offset: Offset,
    },
    Next {
        cursor: CursorIn,
        offset: Offset,
    },
    Pong {
        id: Option<Id>,
    },
    Ping {
        id: Option<u64>,
    },
    Error {
        id: Option<Id>,
        code: Text,
        message: Text,
    },
    Goaway {
        retry_after: Ms,
        spread: Ms,
    },
    Reply {
        id: Id,
    },
    App,
}
