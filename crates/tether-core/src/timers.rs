//! The client's one timer table: every deadline it keeps, by kind. The
//! shell's one timer is armed for the earliest ([`Timers::next`]); a phase
//! change clears the deadlines of the phase left ([`Timers::clear_phase`]),
//! so none outlives the state it belongs to.

use crate::Timestamp;

/// A kind of deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Reconnecting: when the next attempt starts (the status's
    /// `next_retry_at`).
    Retry,
    /// Connecting: the attempt's budget (`connect_timeout_ms`).
    Connect,
    /// Open: the next heartbeat ping.
    Ping,
    /// Open: a ping is unanswered; nothing at all arrived since.
    Pong,
    /// Connecting or open: the server said `goaway`; leave by then.
    Goaway,
    /// The earliest `request()` timeout (any phase). Never later than
    /// that; it may be earlier when that request ended otherwise (a reply,
    /// a lost link): the timer then finds nothing due and is set exactly.
    Request,
}

/// How many kinds there are.
const KINDS: usize = 6;

/// Every deadline, indexed by [`Timer`].
#[derive(Debug, Default)]
pub(crate) struct Timers([Option<Timestamp>; KINDS]);

impl Timers {
    pub(crate) fn get(&self, timer: Timer) -> Option<Timestamp> {
        self.0[timer as usize]
    }

    pub(crate) fn set(&mut self, timer: Timer, at: Option<Timestamp>) {
        self.0[timer as usize] = at;
    }

    /// Whether `timer` is due at `now`.
    pub(crate) fn due(&self, timer: Timer, now: Timestamp) -> bool {
        self.get(timer).is_some_and(|t| t <= now)
    }

    /// Clears every phase-bound deadline (all but [`Timer::Request`]).
    pub(crate) fn clear_phase(&mut self) {
        let request = self.get(Timer::Request);
        *self = Timers::default();
        self.set(Timer::Request, request);
    }

    /// The earliest deadline: what the shell's timer is armed for.
    pub(crate) fn next(&self) -> Option<Timestamp> {
        self.0.iter().flatten().min().copied()
    }
}
