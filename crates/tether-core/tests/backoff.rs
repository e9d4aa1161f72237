//! The pure backoff function: steps, cap, factor, jitter bounds.

use tether_core::{Backoff, Jitter};

fn backoff(jitter: Jitter) -> Backoff {
    Backoff {
        jitter,
        ..Backoff::default()
    }
}

/// Randoms spread over [0, 1), both ends included.
fn randoms() -> impl Iterator<Item = f64> {
    (0..1000).map(|i| i as f64 / 1000.0).chain([0.999_999_999])
}

#[test]
fn no_jitter_doubles_then_caps_at_max() {
    let b = backoff(Jitter::None);
    let got: Vec<u64> = (1..=8).map(|n| b.delay_ms(n, 0.5)).collect();
    assert_eq!(got, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    // Huge retry numbers neither overflow nor pass the cap.
    assert_eq!(b.delay_ms(u32::MAX, 0.5), 30000);
    // Retry 0 is treated as 1.
    assert_eq!(b.delay_ms(0, 0.5), 1000);
}

#[test]
fn factor_and_initial_are_honoured() {
    let b = Backoff {
        initial_ms: 200,
        max_ms: 1000,
        factor: 1.5,
        jitter: Jitter::None,
        max_attempts: None,
    };
    let got: Vec<u64> = (1..=6).map(|n| b.delay_ms(n, 0.0)).collect();
    assert_eq!(got, [200, 300, 450, 675, 1000, 1000]);
}

#[test]
fn full_jitter_is_uniform_below_the_step() {
    let b = backoff(Jitter::Full);
    for n in 1..=8 {
        let d = backoff(Jitter::None).delay_ms(n, 0.0);
        let all: Vec<u64> = randoms().map(|r| b.delay_ms(n, r)).collect();
        assert!(all.iter().all(|&x| x < d), "retry {n}: below {d}");
        assert_eq!(*all.iter().min().unwrap(), 0);
        assert!(*all.iter().max().unwrap() >= d * 99 / 100);
        assert_eq!(b.delay_ms(n, 0.5), d / 2);
    }
}

#[test]
fn equal_jitter_stays_in_the_upper_half() {
    let b = backoff(Jitter::Equal);
    for n in 1..=8 {
        let d = backoff(Jitter::None).delay_ms(n, 0.0);
        let all: Vec<u64> = randoms().map(|r| b.delay_ms(n, r)).collect();
        assert!(all.iter().all(|&x| x >= d / 2 && x < d), "retry {n}");
        assert_eq!(*all.iter().min().unwrap(), d / 2);
        assert!(*all.iter().max().unwrap() >= d * 99 / 100);
    }
}

#[test]
fn odd_inputs_stay_in_range() {
    let b = backoff(Jitter::Full);
    assert_eq!(b.delay_ms(1, f64::NAN), 0);
    assert!(b.delay_ms(1, 7.0) <= 1000);
    let weird = Backoff {
        factor: f64::NAN,
        jitter: Jitter::None,
        ..Backoff::default()
    };
    assert_eq!(weird.delay_ms(3, 0.0), 30000);
}
