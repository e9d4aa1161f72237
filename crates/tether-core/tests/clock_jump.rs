//! The core's only clock is the monotonic `now` the shell passes in
//! (`performance.now()` in the browser); the wall clock (`Date.now()`) is no
//! input at all: the shell adds `Date.now() - performance.now()` to the
//! status's `next_retry_at` and `since` when it makes the status object
//! (`js/src/tether.ts`, where the facade builds the status), so a moved
//! wall clock can change those two fields and nothing else.
//!
//! What is checked here: the core's behaviour depends on time differences
//! only. The same scenario (open, heartbeat, a dead link, backoff, a
//! request timeout, a `goaway`) run on clocks with different origins (near
//! 0 like `performance.now()`, near `Date.now()`, and an hour either side)
//! produces the same actions, the same events, the same deadlines relative
//! to `now`, and statuses that differ only in `next_retry_at` and `since`,
//! by exactly the origin shift. The browser test `tests/clock_jump.rs`
//! moves `Date.now` in a page.

mod harness;

use harness::{config, Shell, T0};
use tether_core::{Event, Inbound, RequestError, State, Status, Timestamp};

const HOUR: u64 = 3_600_000;

/// One observation: what the core did, as seen relative to the origin.
#[derive(Debug, PartialEq)]
struct Seen {
    el: u64,
    timeout_in: Option<u64>,
    state: State,
    /// The relative status, rendered (a `Status` borrows the client).
    status: String,
}

/// The status with its three clock fields made relative to `origin`.
fn relative(mut s: Status<'_>, origin: u64) -> Status<'_> {
    s.next_retry_at = s.next_retry_at.map(|t| Timestamp(t.0 - origin));
    s.last_error_at = s.last_error_at.map(|t| Timestamp(t.0 - origin));
    s.since = Timestamp(s.since.0 - origin);
    s
}

fn run(origin: u64) -> (Vec<Seen>, Vec<String>, Vec<Event>) {
    let mut s = Shell::starting_at(config(), true, origin);
    let mut seen = Vec::new();
    let observe = |s: &mut Shell, seen: &mut Vec<Seen>| {
        seen.push(Seen {
            el: s.now - origin,
            timeout_in: s.c.poll_timeout().map(|t| t.0 - s.now),
            state: s.c.state(),
            status: format!("{:?}", relative(s.c.status(), origin)),
        })
    };
    s.connect();
    observe(&mut s, &mut seen);
    s.establish_hb(Some(5_000));
    let key =
        s.c.request(s.t(), r#"{"type":"get"}"#.into(), 7_000)
            .unwrap();
    s.pump();
    observe(&mut s, &mut seen);
    // No reply, no pong: the request times out, then the heartbeat kills
    // the link, then backoff.
    s.advance(15_500);
    observe(&mut s, &mut seen);
    assert!(s.events.contains(&Event::RequestFailed {
        key,
        error: RequestError::Timeout
    }));
    s.until_open_action(60_000);
    observe(&mut s, &mut seen);
    s.establish();
    s.frame(Inbound::Goaway {
        retry_after_ms: 2_000,
        spread_ms: 1_000,
    });
    observe(&mut s, &mut seen);
    s.advance(10_000);
    observe(&mut s, &mut seen);
    let sent = s.sent.iter().map(|(_, t)| t.clone()).collect();
    (seen, sent, s.events)
}

#[test]
fn only_time_differences_matter() {
    let (base, sent, events) = run(T0);
    assert!(
        base.iter().any(|s| s.state == State::Reconnecting),
        "the scenario waits to retry"
    );
    for origin in [0, 5, T0 - HOUR, T0 + HOUR] {
        let (seen, s, e) = run(origin);
        assert_eq!(seen, base, "origin {origin}");
        assert_eq!(s, sent, "origin {origin}");
        assert_eq!(e, events, "origin {origin}");
    }
}
