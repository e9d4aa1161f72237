//! Options (with the js-api.md defaults) and the pure backoff function.

use alloc::borrow::ToOwned;
use alloc::string::String;

/// Which server the client talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A Tether server: open on `connection_established`, topics, pings with ids.
    Tether,
    /// Any JSON WebSocket server: open on the socket's `open` event, no topic
    /// protocol, the heartbeat sends [`Config::raw_ping_message`] verbatim.
    Raw,
}

/// How a backoff step is randomised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// `uniform(0, d)`.
    Full,
    /// `d/2 + uniform(0, d/2)`.
    Equal,
    /// `d` exactly.
    None,
}

/// Reconnect delays: retry n waits `min(max_ms, initial_ms * factor^(n-1))`,
/// then jitter.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    /// Step 1, in ms.
    pub initial_ms: u64,
    /// Cap on any step, in ms.
    pub max_ms: u64,
    /// Growth per retry.
    pub factor: f64,
    /// Randomisation of each step.
    pub jitter: Jitter,
    /// `Some(N)`: after N consecutive failed retries (N+1 attempts) the
    /// client goes to `failed`. An attempt fails unless its link lives
    /// [`Config::stable_after_ms`]. `None`: never give up.
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial_ms: 1000,
            max_ms: 30_000,
            factor: 2.0,
            jitter: Jitter::Full,
            max_attempts: None,
        }
    }
}

impl Backoff {
    /// The delay before retry `retry` (1-based; 0 counts as 1), given a
    /// `random` number in [0, 1). Pure: the caller supplies the randomness.
    pub fn delay_ms(&self, retry: u32, random: f64) -> u64 {
        // Capping the exponent keeps powi finite-or-inf; `min` then caps it,
        // and also maps a NaN (odd factor) to max_ms.
        let exp = retry.saturating_sub(1).min(1024) as i32;
        let d = (self.initial_ms as f64 * powi(self.factor, exp)).min(self.max_ms as f64);
        let r = if random.is_nan() {
            0.0
        } else {
            random.clamp(0.0, 1.0)
        };
        // `as u64` floors and saturates (negative -> 0).
        match self.jitter {
            Jitter::None => d as u64,
            Jitter::Full => (d * r) as u64,
            Jitter::Equal => {
                let half = d / 2.0;
                (half + half * r) as u64
            }
        }
    }
}

/// `base^exp` by repeated squaring: the algorithm of compiler-rt's
/// `__powidf2`, which `f64::powi` lowers to (`powi` is not in `core`).
fn powi(mut base: f64, mut exp: i32) -> f64 {
    let mut r = 1.0;
    loop {
        if exp & 1 != 0 {
            r *= base;
        }
        exp /= 2;
        if exp == 0 {
            break;
        }
        base *= base;
    }
    r
}

/// Client heartbeat (`heartbeat: false` in JS is `Config::heartbeat = None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// Ping period while open; `None`: the server's `heartbeat_interval`,
    /// else 25000.
    pub interval_ms: Option<u64>,
    /// The link is dead when nothing at all arrived this long after a ping.
    pub timeout_ms: u64,
    /// Ping period while the page is hidden; `None`: the same as visible.
    pub hidden_interval_ms: Option<u64>,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            interval_ms: None,
            timeout_ms: 10_000,
            hidden_interval_ms: None,
        }
    }
}

/// Bounds of the queue that holds `send()` frames while not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimits {
    /// Most frames queued.
    pub max_messages: usize,
    /// Most UTF-8 bytes queued, summed over the encoded frames.
    pub max_bytes: usize,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            max_messages: 1000,
            max_bytes: 1_048_576,
        }
    }
}

/// Everything the core needs to know about the JS options.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Tether or raw server.
    pub mode: Mode,
    /// Budget for one attempt: socket open plus `connection_established`.
    pub connect_timeout_ms: u64,
    /// The attempt counter resets only after this much uptime; a link that
    /// dies sooner is a failed attempt (for `backoff.max_attempts` too).
    pub stable_after_ms: u64,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Client pings; `None` disables them.
    pub heartbeat: Option<Heartbeat>,
    /// Send-queue bounds.
    pub queue: QueueLimits,
    /// The ping frame in raw mode, sent verbatim.
    pub raw_ping_message: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Tether,
            connect_timeout_ms: 10_000,
            stable_after_ms: 5000,
            backoff: Backoff::default(),
            heartbeat: Some(Heartbeat::default()),
            queue: QueueLimits::default(),
            raw_ping_message: r#"{"type":"ping"}"#.to_owned(),
        }
    }
}

/// The ping period when neither the options nor the server give one.
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u64 = 25_000;

/// A small seeded PRNG (splitmix64): the core has no entropy of its own, so
/// runs are reproducible from the caller's seed.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_uniform_enough_and_in_range() {
        let mut rng = Rng::new(42);
        let mut sum = 0.0;
        for _ in 0..10_000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
            sum += x;
        }
        let mean = sum / 10_000.0;
        assert!((0.45..0.55).contains(&mean), "mean {mean}");
    }

    #[test]
    fn powi_matches_std() {
        for base in [1.0, 1.5, 2.0, 3.7, 10.0, f64::NAN, f64::INFINITY] {
            for exp in [0, 1, 2, 3, 7, 30, 31, 64, 1023, 1024] {
                let (a, b) = (powi(base, exp), base.powi(exp));
                assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
            }
        }
    }

    #[test]
    fn rng_is_reproducible() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }
}
