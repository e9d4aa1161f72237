//! Per-connection inbound rate limit (`--rate-limit N`).
//!
//! A token bucket refilled at N per second holding at most 2N (it starts
//! full). A frame without a token is dropped; the client hears about it with
//! at most one `rate_limited` error per second; more than 2N dropped within a
//! 10 s window closes the connection with 4429. Time is an argument.

use std::time::{Duration, Instant};

/// How long the dropped-frame window lasts.
const WINDOW: Duration = Duration::from_secs(10);
/// Minimum spacing of `rate_limited` errors.
const ERROR_EVERY: Duration = Duration::from_secs(1);

/// What to do with one inbound frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it.
    Allow,
    /// Drop it; `notify` says whether to answer `rate_limited` now.
    Drop {
        /// Send a `rate_limited` error for this one.
        notify: bool,
    },
    /// Too many drops: close with 4429.
    Close,
}

/// A token bucket plus the dropped-frame window.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
    window_start: Instant,
    dropped: u64,
    last_error: Option<Instant>,
}

impl RateLimiter {
    /// A full bucket for `per_second` frames per second.
    pub fn new(per_second: u32, now: Instant) -> Self {
        let rate = f64::from(per_second);
        RateLimiter {
            rate,
            capacity: 2.0 * rate,
            tokens: 2.0 * rate,
            last: now,
            window_start: now,
            dropped: 0,
            last_error: None,
        }
    }

    /// Judges one inbound frame arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Allow;
        }
        if now.saturating_duration_since(self.window_start) > WINDOW {
            self.window_start = now;
            self.dropped = 0;
        }
        self.dropped += 1;
        if self.dropped as f64 > self.capacity {
            return Verdict::Close;
        }
        let notify = self
            .last_error
            .is_none_or(|t| now.saturating_duration_since(t) >= ERROR_EVERY);
        if notify {
            self.last_error = Some(now);
        }
        Verdict::Drop { notify }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_drops_then_close() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(5, t0);
        for _ in 0..10 {
            assert_eq!(r.check(t0), Verdict::Allow);
        }
        assert_eq!(r.check(t0), Verdict::Drop { notify: true });
        for _ in 0..9 {
            assert_eq!(r.check(t0), Verdict::Drop { notify: false });
        }
        // 11th drop within the window: more than 2N.
        assert_eq!(r.check(t0), Verdict::Close);
    }

    #[test]
    fn refills_over_time_and_errors_once_per_second() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(2, t0);
        for _ in 0..4 {
            assert_eq!(r.check(t0), Verdict::Allow);
        }
        assert_eq!(r.check(t0), Verdict::Drop { notify: true });
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(r.check(t1), Verdict::Allow);
        assert_eq!(r.check(t1), Verdict::Drop { notify: false });
        let t2 = t0 + Duration::from_millis(1000);
        assert_eq!(r.check(t2), Verdict::Allow);
        assert_eq!(r.check(t2), Verdict::Drop { notify: true });
    }

    #[test]
    fn the_drop_window_resets() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(1, t0);
        r.check(t0);
        r.check(t0);
        assert!(matches!(r.check(t0), Verdict::Drop { .. }));
        assert!(matches!(r.check(t0), Verdict::Drop { .. }));
        let later = t0 + Duration::from_secs(11);
        // Tokens refilled: allowed again, and the old drops are forgotten.
        assert_eq!(r.check(later), Verdict::Allow);
        assert_eq!(r.check(later), Verdict::Allow);
        assert!(matches!(r.check(later), Verdict::Drop { .. }));
        assert!(matches!(r.check(later), Verdict::Drop { .. }));
        assert_eq!(r.check(later), Verdict::Close);
    }
}
