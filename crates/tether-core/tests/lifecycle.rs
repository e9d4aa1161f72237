//! Connection lifecycle: the js-api.md state machine, attempts and backoff,
//! timeouts, close codes, goaway, offline/online, stale sockets.

mod harness;

use harness::{config, Shell, T0};
use tether_core::{
    Backoff, Config, Event, Inbound, Jitter, Mode, SocketId, State, Timestamp, Verdict,
};

fn with_max(n: u32) -> Config {
    let mut c = config();
    c.backoff.max_attempts = Some(n);
    c
}

#[test]
fn connect_opens_on_established_not_on_socket_open() {
    let mut s = Shell::new(config());
    assert_eq!(s.state(), State::Idle);
    assert_eq!(s.c.poll_timeout(), None);
    s.connect();
    assert_eq!(s.state(), State::Connecting);
    assert_eq!(s.opens.len(), 1, "first attempt is immediate");
    assert_eq!(s.attempt(), 0);
    s.socket_open();
    assert_eq!(
        s.state(),
        State::Connecting,
        "tether mode waits for established"
    );
    s.advance(100);
    s.establish();
    let st = s.c.status();
    assert_eq!(st.state, State::Open);
    assert_eq!(st.client_id, Some("c_1"));
    assert_eq!(st.attempt, 0);
    assert_eq!(st.since, Timestamp(T0 + 100));
    assert_eq!(st.state.as_str(), "open");
    assert!(s.events.contains(&Event::Status));
}

#[test]
fn state_machine_walk() {
    let mut s = Shell::new(config());
    let mut seen = vec![s.state()];
    let mut note = |s: &Shell| {
        if seen.last() != Some(&s.state()) {
            seen.push(s.state());
        }
    };
    s.connect();
    note(&s);
    s.establish();
    note(&s);
    s.server_close(1006, "");
    note(&s);
    s.until_open_action(60_000);
    note(&s);
    s.establish();
    note(&s);
    s.c.close(s.t(), 1000, "bye");
    s.pump();
    note(&s);
    s.connect();
    note(&s);
    s.establish();
    note(&s);
    s.server_close(4503, "forbidden");
    note(&s);
    s.connect();
    note(&s);
    use State::*;
    assert_eq!(
        seen,
        [
            Idle,
            Connecting,
            Open,
            Reconnecting,
            Connecting,
            Open,
            Closed,
            Connecting,
            Open,
            Failed,
            Connecting
        ]
    );
}

#[test]
fn failed_attempts_back_off_and_count() {
    let mut s = Shell::new(config());
    s.connect();
    // The socket never opens: 1006.
    s.server_close(1006, "");
    assert_eq!(s.state(), State::Reconnecting);
    assert_eq!(s.attempt(), 1);
    assert_eq!(s.next_retry_in(), Some(1000));
    s.until_open_action(1000);
    assert_eq!(s.state(), State::Connecting);
    assert_eq!(s.attempt(), 1);
    assert_eq!(s.c.status().next_retry_at, None);
    // Opened but closed before connection_established: also a failure.
    s.socket_open();
    s.server_close(1011, "");
    assert_eq!(s.attempt(), 2);
    assert_eq!(s.next_retry_in(), Some(2000));
    s.until_open_action(2000);
    s.server_close(1006, "");
    assert_eq!(s.next_retry_in(), Some(4000));
    s.until_open_action(4000);
    s.establish();
    assert_eq!(s.attempt(), 0);
}

#[test]
fn max_attempts_fails_after_n_plus_one_attempts_and_connect_revives() {
    for n in [0u32, 1, 3] {
        let mut s = Shell::new(with_max(n));
        s.connect();
        let mut attempts_seen = vec![s.attempt()];
        loop {
            s.server_close(1006, "");
            if s.state() == State::Failed {
                break;
            }
            s.until_open_action(60_000);
            attempts_seen.push(s.attempt());
        }
        assert_eq!(s.opens.len() as u32, n + 1, "max_attempts {n}");
        assert_eq!(attempts_seen, (0..=n).collect::<Vec<_>>());
        assert_eq!(s.c.poll_timeout(), None, "failed arms no timer");
        s.advance(1_000_000);
        assert_eq!(s.opens.len() as u32, n + 1);
        assert_eq!(s.state(), State::Failed);

        s.connect();
        assert_eq!(s.state(), State::Connecting);
        assert_eq!(s.attempt(), 0);
        assert_eq!(s.opens.len() as u32, n + 2, "revived at once");
        s.establish();
    }
}

#[test]
fn connect_timeout_covers_open_and_established() {
    let mut s = Shell::new(config());
    s.connect();
    let first = s.sock();
    s.advance(9_999);
    assert_eq!(s.state(), State::Connecting);
    s.advance(1);
    assert_eq!(s.closes, [(first, 4000, "connect timeout".to_owned())]);
    assert_eq!(s.state(), State::Reconnecting);
    assert_eq!(s.attempt(), 1);
    assert_eq!(
        s.c.status().last_error,
        Some("connect timeout after 10000 ms")
    );
    assert_eq!(s.c.status().last_error_at, Some(s.t()));
    // Socket opens, but no connection_established: same timeout.
    s.until_open_action(1000);
    let second = s.sock();
    s.socket_open();
    s.advance(10_000);
    assert_eq!(s.closes.last().unwrap().0, second);
    assert_eq!(s.attempt(), 2);
    // A late close event from the dropped socket changes nothing.
    s.c.handle_socket_close(s.t(), second, 1006, "", false);
    s.pump();
    assert_eq!(s.state(), State::Reconnecting);
    assert_eq!(s.attempt(), 2);
    // A link that opens clears it (the logger kept the history).
    s.until_open_action(60_000);
    s.establish();
    assert_eq!(s.state(), State::Open);
    assert_eq!(
        (s.c.status().last_error, s.c.status().last_error_at),
        (None, None)
    );
}

#[test]
fn first_retry_after_lost_link_waits_step_one() {
    // No jitter: exactly initial_ms.
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    s.advance(6_000);
    s.server_close(1006, "");
    assert_eq!(s.state(), State::Reconnecting);
    assert_eq!(s.attempt(), 1);
    assert_eq!(s.next_retry_in(), Some(1000));
    s.advance(999);
    assert_eq!(s.opens.len(), 1);
    s.advance(1);
    assert_eq!(s.opens.len(), 2);

    // Full jitter: uniform(0, initial), spread over seeds.
    let mut delays = Vec::new();
    for seed in 0..200 {
        let mut c = tether_core::Client::new(Config::default(), Timestamp(T0), seed, true);
        c.connect(Timestamp(T0));
        c.handle_socket_open(Timestamp(T0), SocketId(1));
        c.handle_frame(
            Timestamp(T0),
            SocketId(1),
            Inbound::Established {
                client_id: "c",
                heartbeat_interval_ms: None,
            },
        );
        let t = Timestamp(T0 + 60_000);
        c.handle_socket_close(t, SocketId(1), 1001, "", true);
        let d = c.status().next_retry_at.unwrap().0 - t.0;
        assert!(d < 1000);
        delays.push(d);
    }
    assert!(delays.iter().min().unwrap() < &100);
    assert!(delays.iter().max().unwrap() > &900);
}

#[test]
fn stable_after_resets_the_counter_only_after_uptime() {
    let mut s = Shell::new(config());
    s.connect();
    s.server_close(1006, "");
    s.until_open_action(1000);
    s.server_close(1006, "");
    s.until_open_action(2000);
    assert_eq!(s.attempt(), 2);
    s.establish();
    assert_eq!(s.attempt(), 0);
    // Lived 4999 ms < stable_after (5000): counter continues at retry 3.
    s.advance(4_999);
    s.server_close(1006, "");
    assert_eq!(s.attempt(), 3);
    assert_eq!(s.next_retry_in(), Some(4000));
    s.until_open_action(4000);
    s.establish();
    // Lived exactly 5000 ms: reset, retry 1 again.
    s.advance(5_000);
    s.server_close(1006, "");
    assert_eq!(s.attempt(), 1);
    assert_eq!(s.next_retry_in(), Some(1000));
}

/// A server that accepts, establishes and closes at once: each link that
/// did not live `stable_after_ms` is a failed attempt for `max_attempts`
/// too, so `max_attempts: 2` allows 3 connections, then `failed`. Tether
/// mode (open on `connection_established`) and raw mode (open on the
/// socket's `open`).
#[test]
fn max_attempts_counts_links_that_died_before_stable_after() {
    for mode in [Mode::Tether, Mode::Raw] {
        let mut s = Shell::new(Config {
            mode,
            ..with_max(2)
        });
        s.connect();
        for _ in 0..10 {
            match mode {
                Mode::Tether => s.establish(),
                Mode::Raw => s.socket_open(),
            }
            assert_eq!(s.state(), State::Open, "{mode:?}");
            s.advance(100);
            s.server_close(1000, "");
            if s.state() == State::Failed {
                break;
            }
            assert_eq!(s.state(), State::Reconnecting, "{mode:?}");
            s.until_open_action(60_000);
        }
        assert_eq!(
            (s.state(), s.opens.len()),
            (State::Failed, 3),
            "{mode:?}: at most N+1 connections, then failed"
        );
        assert_eq!(s.c.status().next_retry_at, None);
        s.advance(1_000_000);
        assert_eq!(s.opens.len(), 3, "{mode:?}: no attempt after failed");
    }
}

/// A link that lived `stable_after_ms` resets the count: failures before it
/// do not add up with failures after it.
#[test]
fn a_stable_link_resets_the_max_attempts_count() {
    let mut s = Shell::new(with_max(2));
    s.connect();
    s.server_close(1006, "");
    s.until_open_action(1000);
    s.establish();
    s.advance(100);
    s.server_close(1011, "");
    assert_eq!((s.state(), s.attempt()), (State::Reconnecting, 2));
    s.until_open_action(2000);
    s.establish();
    s.advance(5_000);
    s.server_close(1011, "");
    assert_eq!((s.state(), s.attempt()), (State::Reconnecting, 1));
    s.until_open_action(1000);
    s.establish();
    s.advance(4_999);
    s.server_close(1011, "");
    assert_eq!((s.state(), s.attempt()), (State::Reconnecting, 2));
    s.until_open_action(2000);
    s.server_close(1006, "");
    assert_eq!(s.state(), State::Failed);
    assert_eq!(s.opens.len(), 5);
}

/// The browser shell's clock is monotonic and starts near 0 at page load
/// (`performance.now()`): no time, 0 included, is taken for "unset".
/// Connect timeout, backoff, heartbeat, request timeout and `since` all
/// count from 0.
#[test]
fn a_clock_that_starts_at_zero() {
    let mut s = Shell::starting_at(config(), true, 0);
    s.connect();
    assert_eq!(s.c.status().since, Timestamp(0));
    assert_eq!(
        s.c.poll_timeout(),
        Some(Timestamp(10_000)),
        "connect timeout"
    );
    s.advance(10_000);
    assert_eq!(s.state(), State::Reconnecting);
    assert_eq!(
        s.c.status().last_error,
        Some("connect timeout after 10000 ms")
    );
    assert_eq!(s.c.status().next_retry_at, Some(Timestamp(11_000)));
    assert_eq!(s.c.status().since, Timestamp(10_000));
    s.until_open_action(1_000);
    assert_eq!(s.now, 11_000);
    s.establish_hb(Some(500));
    let key =
        s.c.request(s.t(), r#"{"type":"x"}"#.to_owned(), 300)
            .expect("request");
    s.advance(300);
    assert!(s.events.contains(&Event::RequestFailed {
        key,
        error: tether_core::RequestError::Timeout
    }));
    s.take_sent();
    s.advance(200);
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"ping","id":2}"#],
        "ping at 11_500"
    );
    s.advance(10_000);
    assert_eq!(s.state(), State::Reconnecting, "heartbeat timeout");
    assert_eq!(
        s.c.status().last_error,
        Some("heartbeat timeout: no answer to a ping within 10000 ms")
    );
}

#[test]
fn reconnect_drops_the_link_and_starts_at_once() {
    let mut s = Shell::new(config());
    s.connect();
    s.server_close(1006, "");
    s.until_open_action(1000);
    s.server_close(1006, "");
    assert_eq!(s.attempt(), 2);
    // While waiting: connects now, counter reset.
    s.c.reconnect(s.t());
    s.pump();
    assert_eq!(s.state(), State::Connecting);
    assert_eq!(s.attempt(), 0);
    assert_eq!(s.opens.len(), 3);
    s.establish();
    let old = s.sock();
    s.c.reconnect(s.t());
    s.pump();
    assert_eq!(
        s.closes.last().unwrap(),
        &(old, 4000, "reconnect".to_owned())
    );
    assert_eq!(s.state(), State::Connecting);
    assert_ne!(s.sock(), old);
}

#[test]
fn stale_socket_events_are_ignored() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    let old = s.sock();
    s.c.reconnect(s.t());
    s.pump();
    let new = s.sock();
    let t = s.t();
    // Everything from the old socket is ignored.
    s.c.handle_socket_open(t, old);
    assert_eq!(
        s.c.handle_frame(
            t,
            old,
            Inbound::Established {
                client_id: "old",
                heartbeat_interval_ms: None
            }
        ),
        Verdict::Drop
    );
    assert_eq!(s.c.handle_frame(t, old, Inbound::App), Verdict::Drop);
    s.c.handle_socket_error(t, old, "boom");
    s.c.handle_socket_close(t, old, 4503, "", true);
    s.pump();
    assert_eq!(s.state(), State::Connecting);
    assert_eq!(s.c.status().last_error, None);
    assert_eq!(s.sock(), new);
    s.establish();
    assert_eq!(s.c.status().client_id, Some("c_1"));
    // Unknown future ids too.
    assert_eq!(
        s.c.handle_frame(s.t(), SocketId(99), Inbound::App),
        Verdict::Drop
    );
    assert_eq!(s.frame(Inbound::App), Verdict::Deliver);
}

#[test]
fn terminal_codes_fail_without_retry() {
    for code in [4500u16, 4503, 4999] {
        let mut s = Shell::new(config());
        s.connect();
        s.establish();
        s.server_close(code, "forbidden");
        assert_eq!(s.state(), State::Failed, "code {code}");
        assert_eq!(s.c.status().next_retry_at, None);
        assert_eq!(s.c.poll_timeout(), None);
        let lc = s.c.status().last_close.unwrap().clone();
        assert_eq!((lc.code, lc.reason.as_str()), (code, "forbidden"));
        assert!(!s.c.send(s.t(), "x".into()));
    }
    // Also during an attempt.
    let mut s = Shell::new(config());
    s.connect();
    s.socket_open();
    s.server_close(4503, "");
    assert_eq!(s.state(), State::Failed);
}

#[test]
fn code_4429_waits_at_least_retry_after() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    s.advance(10_000);
    s.server_close(4429, r#"{"retry_after_ms":7000}"#);
    assert_eq!(s.state(), State::Reconnecting);
    assert_eq!(s.next_retry_in(), Some(7000));
    // Shorter advice than the backoff step: the step wins.
    s.until_open_action(7000);
    s.server_close(4429, r#"{"retry_after_ms":10}"#);
    assert_eq!(s.attempt(), 2);
    assert_eq!(s.next_retry_in(), Some(2000));
    // No advice at all: backoff.
    s.until_open_action(2000);
    s.server_close(4429, "busy");
    assert_eq!(s.next_retry_in(), Some(4000));
}

#[test]
fn retryable_server_closes_reconnect() {
    for (code, err) in [
        (1000u16, false),
        (1001, false),
        (1009, true),
        (1012, false),
        (4000, false),
        (4401, false),
    ] {
        let mut s = Shell::new(config());
        s.connect();
        s.establish();
        s.advance(10_000);
        s.server_close(code, "");
        assert_eq!(s.state(), State::Reconnecting, "code {code}");
        assert_eq!(s.next_retry_in(), Some(1000), "code {code}");
        assert_eq!(s.c.status().last_error.is_some(), err, "code {code}");
        s.until_open_action(1000);
        assert_eq!(s.opens.len(), 2);
    }
}

#[test]
fn goaway_reconnects_after_the_advised_delay() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    s.advance(1_000);
    let arrival = s.now;
    assert_eq!(
        s.frame(Inbound::Goaway {
            retry_after_ms: 3000,
            spread_ms: 2000
        }),
        Verdict::Drop
    );
    assert_eq!(s.state(), State::Open);
    s.advance(100);
    s.server_close(1012, "restart");
    assert_eq!(s.state(), State::Reconnecting);
    let at = s.c.status().next_retry_at.unwrap().0;
    assert!(
        (arrival + 3000..=arrival + 5000).contains(&at),
        "{}",
        at - arrival
    );
    assert_eq!(s.attempt(), 1, "goaway is not a failed attempt");
    s.until_open_action(5000);
    assert_eq!(s.now, at);
}

#[test]
fn goaway_deadline_closes_with_4000_if_the_server_does_not() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    let old = s.sock();
    s.frame(Inbound::Goaway {
        retry_after_ms: 3000,
        spread_ms: 0,
    });
    s.advance(2_999);
    assert_eq!(s.state(), State::Open);
    s.advance(1);
    assert_eq!(s.closes, [(old, 4000, "goaway".to_owned())]);
    assert_eq!(s.state(), State::Connecting);
    assert_eq!(s.opens.len(), 2);
    s.establish();
}

#[test]
fn goaway_spread_is_seeded_uniform() {
    let mut spread = Vec::new();
    for seed in 0..100 {
        let t = Timestamp(T0);
        let mut c = tether_core::Client::new(config(), t, seed, true);
        c.connect(t);
        c.handle_socket_open(t, SocketId(1));
        c.handle_frame(
            t,
            SocketId(1),
            Inbound::Established {
                client_id: "c",
                heartbeat_interval_ms: None,
            },
        );
        c.handle_frame(
            t,
            SocketId(1),
            Inbound::Goaway {
                retry_after_ms: 1000,
                spread_ms: 10_000,
            },
        );
        c.handle_socket_close(t, SocketId(1), 1012, "", true);
        spread.push(c.status().next_retry_at.unwrap().0 - T0 - 1000);
    }
    assert!(spread.iter().all(|&d| d < 10_000));
    assert!(*spread.iter().min().unwrap() < 1_000);
    assert!(*spread.iter().max().unwrap() > 9_000);
}

#[test]
fn close_is_final_idempotent_and_never_sends_1005() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    let sock = s.sock();
    s.c.close(s.t(), 1005, "");
    s.pump();
    assert_eq!(s.closes, [(sock, 1000, String::new())]);
    assert_eq!(s.state(), State::Closed);
    s.c.close(s.t(), 1000, "again");
    s.pump();
    assert_eq!(s.closes.len(), 1);
    assert_eq!(s.c.poll_timeout(), None);
    s.advance(1_000_000);
    assert_eq!(s.opens.len(), 1);
    // A long reason is cut to 123 bytes on a char boundary.
    s.connect();
    s.c.close(s.t(), 4001, &"é".repeat(100));
    s.pump();
    let (_, code, reason) = s.closes.last().unwrap();
    assert_eq!(*code, 4001);
    assert_eq!(reason.len(), 122);
}

#[test]
fn socket_error_is_recorded_and_close_decides() {
    let mut s = Shell::new(config());
    s.connect();
    let sock = s.sock();
    s.c.handle_socket_error(s.t(), sock, "connection refused");
    s.pump();
    assert_eq!(s.state(), State::Connecting);
    assert_eq!(s.c.status().last_error, Some("connection refused"));
    s.server_close(1006, "");
    assert_eq!(s.state(), State::Reconnecting);
}

#[test]
fn status_event_on_each_visible_change_only() {
    let mut s = Shell::new(config());
    assert!(s.take_events().is_empty());
    s.connect();
    assert_eq!(s.take_events(), [Event::Status]);
    s.socket_open();
    assert!(s.take_events().is_empty(), "no visible change");
    s.frame(Inbound::Established {
        client_id: "c",
        heartbeat_interval_ms: None,
    });
    assert_eq!(s.take_events(), [Event::Status]);
    assert!(!s.c.send(s.t(), String::new()) || s.take_events().is_empty());
}

// ---- offline / online ----

#[test]
fn created_offline_starts_offline_and_connects_on_online() {
    let mut s = Shell::with(config(), false);
    assert_eq!(s.state(), State::Offline);
    s.connect();
    assert_eq!(s.state(), State::Offline);
    assert!(s.opens.is_empty());
    s.advance(5_000);
    s.c.handle_online(s.t(), true);
    s.pump();
    assert_eq!(s.state(), State::Connecting);
    assert_eq!(s.opens.len(), 1);
    assert_eq!(s.attempt(), 0);
}

#[test]
fn created_offline_without_connect_goes_idle_on_online() {
    let mut s = Shell::with(config(), false);
    s.c.handle_online(s.t(), true);
    s.pump();
    assert_eq!(s.state(), State::Idle);
    assert!(s.opens.is_empty());
}

#[test]
fn offline_cancels_an_attempt_or_a_retry_timer() {
    let mut s = Shell::new(config());
    s.connect();
    let sock = s.sock();
    s.c.handle_online(s.t(), false);
    s.pump();
    assert_eq!(s.state(), State::Offline);
    assert_eq!(s.closes[0].0, sock);
    assert_eq!(s.c.poll_timeout(), None);
    s.c.handle_online(s.t(), true);
    s.pump();
    assert_eq!(s.state(), State::Connecting);
    s.server_close(1006, "");
    assert_eq!(s.state(), State::Reconnecting);
    s.c.handle_online(s.t(), false);
    s.pump();
    assert_eq!(s.state(), State::Offline);
    assert_eq!(s.c.status().next_retry_at, None);
    s.advance(100_000);
    assert_eq!(s.opens.len(), 2, "no retries while offline");
    s.c.handle_online(s.t(), true);
    s.pump();
    assert_eq!(s.opens.len(), 3, "online connects at once");
    assert_eq!(s.attempt(), 0);
}

#[test]
fn offline_while_open_probes_then_goes_offline() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    s.take_sent();
    s.c.handle_online(s.t(), false);
    s.pump();
    assert_eq!(s.state(), State::Open);
    let sent = s.take_sent();
    assert_eq!(sent, [r#"{"type":"ping","id":1}"#]);
    // No answer within the timeout: offline, no retry.
    s.advance(10_000);
    assert_eq!(s.state(), State::Offline);
    assert_eq!(s.closes.last().unwrap().1, 4000);
    assert_eq!(s.c.poll_timeout(), None);
    s.advance(100_000);
    assert_eq!(s.opens.len(), 1);
    s.c.handle_online(s.t(), true);
    s.pump();
    assert_eq!(s.state(), State::Connecting);
}

#[test]
fn offline_while_open_stays_open_when_the_link_answers() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    s.c.handle_online(s.t(), false);
    s.pump();
    s.advance(50);
    s.frame(Inbound::Pong { id: Some(1) });
    assert_eq!(s.c.status().rtt_ms, Some(50));
    s.advance(20_000);
    assert_eq!(s.state(), State::Open);
    // But a later loss goes offline, not reconnecting.
    s.server_close(1006, "");
    assert_eq!(s.state(), State::Offline);
}

#[test]
fn offline_does_not_apply_to_idle_closed_failed() {
    let mut s = Shell::new(config());
    s.c.handle_online(s.t(), false);
    s.pump();
    assert_eq!(s.state(), State::Idle);
    s.c.close(s.t(), 1000, "");
    s.c.handle_online(s.t(), true);
    s.c.handle_online(s.t(), false);
    s.pump();
    assert_eq!(s.state(), State::Closed);
    // connect() while offline waits for online.
    s.connect();
    assert_eq!(s.state(), State::Offline);
    assert!(s.opens.is_empty());
}

#[test]
fn online_while_open_pings_at_once() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    s.take_sent();
    s.c.handle_online(s.t(), true);
    s.pump();
    assert_eq!(s.take_sent(), [r#"{"type":"ping","id":1}"#]);
}

#[test]
fn raw_mode_opens_on_socket_open() {
    let cfg = Config {
        mode: Mode::Raw,
        backoff: Backoff {
            jitter: Jitter::None,
            ..Backoff::default()
        },
        ..Config::default()
    };
    let mut s = Shell::new(cfg);
    s.connect();
    s.c.subscribe(s.t(), "miners", true);
    assert_eq!(s.c.subscription("miners"), None, "no topics in raw mode");
    assert!(s.c.send(s.t(), "hello".into()));
    s.socket_open();
    assert_eq!(s.state(), State::Open);
    assert_eq!(s.take_sent(), ["hello"]);
    s.advance(25_000);
    assert_eq!(s.take_sent(), [r#"{"type":"ping"}"#]);
    s.advance(30);
    assert_eq!(s.frame(Inbound::Pong { id: None }), Verdict::Drop);
    assert_eq!(s.c.status().rtt_ms, Some(30));
    assert_eq!(s.frame(Inbound::App), Verdict::Deliver);
}
