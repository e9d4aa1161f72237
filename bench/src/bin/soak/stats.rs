//! What the soak's clients count: events by kind, answers to abuse by
//! kind, and the errors they saw (by category, with a first example).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// A client-side event counter.
#[derive(Debug, Clone, Copy)]
pub enum C {
    /// Churner connections that subscribed, read and left.
    ChurnCycles,
    /// ... leaving with a close frame.
    ChurnCloseFrame,
    /// ... and the server answered it with its own close frame.
    ChurnCloseAnswered,
    /// ... leaving without a close frame (TCP reset or FIN).
    ChurnAbrupt,
    /// `subscribed` replies (churners and idle subscribers).
    Subscribed,
    /// `subscribed` with `recovered: true` to a `recover` request.
    Recovered,
    /// `subscribed` with `recovered: false` to a `recover` request.
    NotRecovered,
    /// Publications announced as replay (`missed`) by recovered subscribes.
    Replayed,
    /// Publications received by the idle subscribers.
    IdleReceived,
    /// Idle subscribers disconnected by the server during the run.
    IdleDropped,
    /// Publications out of order (a gap or a duplicate within an epoch).
    Gaps,
    /// `POST /publish` answered 200 (small and tens-of-KB payloads).
    HttpPublished,
    /// Large `POST /publish` answered 200 (to the idle subscribers' topics).
    BulkPublished,
    /// WebSocket `publish` answered `published`.
    WsPublished,
    /// Slow readers that subscribed and stopped reading.
    SlowStarted,
    /// ... that the server disconnected.
    SlowKicked,
    /// ... still connected when they read again.
    SlowNotKicked,
    /// Idle subscribers that got `goaway` at the final SIGTERM.
    Goaway,
    /// Idle subscribers closed with 1012 at the final SIGTERM.
    Close1012,
}

/// Every counter, in display order.
pub const ALL: [C; 19] = [
    C::ChurnCycles,
    C::ChurnCloseFrame,
    C::ChurnCloseAnswered,
    C::ChurnAbrupt,
    C::Subscribed,
    C::Recovered,
    C::NotRecovered,
    C::Replayed,
    C::IdleReceived,
    C::IdleDropped,
    C::Gaps,
    C::HttpPublished,
    C::BulkPublished,
    C::WsPublished,
    C::SlowStarted,
    C::SlowKicked,
    C::SlowNotKicked,
    C::Goaway,
    C::Close1012,
];

impl C {
    /// A short name (tables, CSV).
    pub fn name(self) -> &'static str {
        match self {
            C::ChurnCycles => "churn cycles",
            C::ChurnCloseFrame => "churn: left with a close frame",
            C::ChurnCloseAnswered => "churn: ... answered by the server's close frame",
            C::ChurnAbrupt => "churn: left abruptly (RST or FIN)",
            C::Subscribed => "subscribed replies",
            C::Recovered => "recover: recovered true",
            C::NotRecovered => "recover: recovered false",
            C::Replayed => "recover: publications replayed",
            C::IdleReceived => "idle subscribers: publications received",
            C::IdleDropped => "idle subscribers: disconnected by the server",
            C::Gaps => "publications out of order (gap or duplicate)",
            C::HttpPublished => "POST /publish 200 (small, tens of KB)",
            C::BulkPublished => "POST /publish 200 (large, to idle subscribers)",
            C::WsPublished => "WebSocket publish answered published",
            C::SlowStarted => "slow readers started",
            C::SlowKicked => "slow readers disconnected by the server",
            C::SlowNotKicked => "slow readers not disconnected",
            C::Goaway => "final SIGTERM: goaway received",
            C::Close1012 => "final SIGTERM: close 1012 received",
        }
    }
}

/// A kind of abuse and the answer the server must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abuse {
    /// A text message over `--max-frame-bytes`: close 1009.
    Oversized,
    /// A text frame that is not UTF-8: close 1007.
    BadUtf8,
    /// Text that is not JSON: `error` `bad_json`, the connection stays.
    BadJson,
    /// A `type` the server does not know: `error` `unknown_type`, stays.
    UnknownType,
    /// A binary message: `error` `bad_frame`, stays.
    Binary,
    /// Frames far over `--rate-limit`: `error` `rate_limited`, close 4429.
    Flood,
}

/// Every abuse kind, in rotation order.
pub const ABUSES: [Abuse; 6] = [
    Abuse::Oversized,
    Abuse::BadUtf8,
    Abuse::BadJson,
    Abuse::UnknownType,
    Abuse::Binary,
    Abuse::Flood,
];

/// How an abuse attempt ended.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// The expected answer.
    Expected,
    /// Another answer (wrong close code, wrong error, dropped).
    Other,
    /// No answer within the time limit.
    None,
}

impl Abuse {
    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            Abuse::Oversized => "oversized text message",
            Abuse::BadUtf8 => "text frame, invalid UTF-8",
            Abuse::BadJson => "text, not JSON",
            Abuse::UnknownType => "unknown type",
            Abuse::Binary => "binary message",
            Abuse::Flood => "flood over --rate-limit",
        }
    }

    /// The expected answer, as text.
    pub fn expected(self) -> &'static str {
        match self {
            Abuse::Oversized => "close 1009",
            Abuse::BadUtf8 => "close 1007",
            Abuse::BadJson => "error bad_json, then pong",
            Abuse::UnknownType => "error unknown_type, then pong",
            Abuse::Binary => "error bad_frame, then pong",
            Abuse::Flood => "error rate_limited, close 4429",
        }
    }
}

/// The counters shared by every client task.
#[derive(Default)]
pub struct Stats {
    counters: [AtomicU64; ALL.len()],
    /// Per abuse kind: attempts, expected, other, none.
    abuse: [[AtomicU64; 4]; ABUSES.len()],
    errors: Mutex<BTreeMap<&'static str, (u64, String)>>,
}

impl Stats {
    pub fn add(&self, c: C, n: u64) {
        self.counters[c as usize].fetch_add(n, Relaxed);
    }

    pub fn count(&self, c: C) {
        self.add(c, 1);
    }

    pub fn get(&self, c: C) -> u64 {
        self.counters[c as usize].load(Relaxed)
    }

    /// Records an abuse attempt and how it was answered.
    pub fn abuse(&self, kind: Abuse, answer: Answer) {
        let row = &self.abuse[kind as usize];
        row[0].fetch_add(1, Relaxed);
        let col = match answer {
            Answer::Expected => 1,
            Answer::Other => 2,
            Answer::None => 3,
        };
        row[col].fetch_add(1, Relaxed);
    }

    /// Attempts, expected, other, none of one kind.
    pub fn abuse_row(&self, kind: Abuse) -> [u64; 4] {
        let row = &self.abuse[kind as usize];
        [0, 1, 2, 3].map(|i| row[i].load(Relaxed))
    }

    /// Abuse attempts answered as expected, all kinds.
    pub fn abuse_answered(&self) -> u64 {
        ABUSES.iter().map(|&k| self.abuse_row(k)[1]).sum()
    }

    /// Records an error a client saw (`category` groups them).
    pub fn error(&self, category: &'static str, detail: impl Display) {
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        let entry = errors
            .entry(category)
            .or_insert_with(|| (0, detail.to_string()));
        entry.0 += 1;
    }

    /// Errors seen so far, all categories.
    pub fn errors_total(&self) -> u64 {
        let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        errors.values().map(|(n, _)| n).sum()
    }

    /// `(category, count, first example)` of every error seen.
    pub fn errors(&self) -> Vec<(&'static str, u64, String)> {
        let errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        errors
            .iter()
            .map(|(k, (n, ex))| (*k, *n, ex.clone()))
            .collect()
    }
}
