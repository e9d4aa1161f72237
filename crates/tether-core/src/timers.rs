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

/// Every deadline, indexed by [`Timer`]: its ms, or [`NONE`]. Plain
/// numbers, not `Option`s: less code in the wasm (the earliest is a `min`).
#[derive(Debug)]
pub(crate) struct Timers([u64; KINDS]);

/// No deadline. A deadline that saturated at `u64::MAX` ms is kept as
/// `u64::MAX - 1`: as never reached, and the same number once in JS (an
/// f64).
const NONE: u64 = u64::MAX;

impl Default for Timers {
    fn default() -> Self {
        Timers([NONE; KINDS])
    }
}

impl Timers {
    pub(crate) fn get(&self, timer: Timer) -> Option<Timestamp> {
        let t = self.0[timer as usize];
        (t != NONE).then_some(Timestamp(t))
    }

    /// `timer`'s entry as held: ms, or `NONE`; one number to compare.
    pub(crate) fn raw(&self, timer: Timer) -> u64 {
        self.0[timer as usize]
    }

    pub(crate) fn set(&mut self, timer: Timer, at: Option<Timestamp>) {
        self.0[timer as usize] = at.map_or(NONE, |t| t.0.min(NONE - 1));
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
        let t = self.0.iter().fold(NONE, |a, &t| a.min(t));
        (t != NONE).then_some(Timestamp(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saturated_deadline_is_still_a_deadline() {
        let mut t = Timers::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Retry, Some(Timestamp(0).add_ms(u64::MAX)));
        assert_eq!(t.get(Timer::Retry), Some(Timestamp(u64::MAX - 1)));
        assert!(!t.due(Timer::Retry, Timestamp(u64::MAX - 2)));
        t.set(Timer::Ping, Some(Timestamp(5)));
        assert_eq!(t.next(), Some(Timestamp(5)));
        t.set(Timer::Ping, None);
        assert_eq!(t.next(), Some(Timestamp(u64::MAX - 1)));
        t.clear_phase();
        assert_eq!(t.next(), None);
    }
}
