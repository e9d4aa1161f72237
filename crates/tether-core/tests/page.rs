//! Page and device events (issue 14; README "Tabs, sleep and the
//! back/forward cache"): the back/forward cache, frozen and hidden tabs,
//! sleep, network changes, and an explicit `close()` that none of them
//! undoes. The timing part runs on the fake clock: a timer that fires a
//! minute late (a hidden tab) or ten minutes late (sleep).

mod harness;

use harness::{config, is_type, Shell};
use tether_core::{Config, Heartbeat, Inbound, PageEvent, State};

const MINUTE: u64 = 60_000;

fn page(s: &mut Shell, event: PageEvent) {
    s.c.handle_page(s.t(), event);
    s.pump();
}

/// Open, subscribed to `miners` at e1/5.
fn open_subscribed(cfg: Config) -> Shell {
    let mut s = Shell::new(cfg);
    s.c.subscribe(s.t(), "miners", true);
    s.connect();
    s.establish();
    s.frame(Inbound::Subscribed {
        id: 1,
        topic: "miners",
        epoch: "e1",
        offset: 5,
        recovered: None,
        missed: 0,
    });
    s.take_sent();
    s
}

fn pings(sent: &[String]) -> usize {
    sent.iter().filter(|f| is_type(f, "ping")).count()
}

#[test]
fn the_back_forward_cache_closes_cleanly_schedules_nothing_and_restores_at_once() {
    let mut s = open_subscribed(config());
    let sock = s.sock();
    page(&mut s, PageEvent::Cached);
    assert_eq!(s.closes, [(sock, 1000, "page cached".to_owned())]);
    assert_eq!(s.state(), State::Idle);
    assert_eq!(
        s.c.poll_timeout(),
        None,
        "no retry, no deadline while cached"
    );
    // The queue is kept for the next link.
    assert!(s.c.send(s.t(), r#"{"type":"ack"}"#.into()));
    s.advance(10 * MINUTE);
    assert_eq!(s.opens.len(), 1, "nothing happens in the cache");

    let before = s.now;
    page(&mut s, PageEvent::Restored);
    assert_eq!(s.opens.last().unwrap().0, before, "connects at once");
    assert_eq!(s.attempt(), 0);
    s.establish();
    assert_eq!(
        s.take_sent(),
        [
            r#"{"type":"subscribe","id":1,"topic":"miners","recover":{"epoch":"e1","offset":5}}"#,
            r#"{"type":"ack"}"#
        ],
        "every subscription recovered, then the queue"
    );
}

#[test]
fn a_page_not_cached_or_closed_is_not_reconnected_by_a_restore() {
    // `pageshow` persisted without our `pagehide` (or a page that was
    // never connected): nothing but a liveness check.
    let mut s = Shell::new(config());
    page(&mut s, PageEvent::Restored);
    assert_eq!((s.state(), s.opens.len()), (State::Idle, 0));
    // Cached while idle (autoConnect off): nothing to restore.
    page(&mut s, PageEvent::Cached);
    page(&mut s, PageEvent::Restored);
    assert_eq!((s.state(), s.opens.len()), (State::Idle, 0));
}

#[test]
fn an_explicit_close_is_never_undone_by_any_event() {
    let events = [
        PageEvent::Cached,
        PageEvent::Restored,
        PageEvent::Resumed,
        PageEvent::NetworkChanged,
        PageEvent::Visible,
        PageEvent::Hidden,
    ];
    // Closed while open, and closed while the page sat in the cache.
    for cached_first in [false, true] {
        let mut s = open_subscribed(config());
        if cached_first {
            page(&mut s, PageEvent::Cached);
        }
        s.c.close(s.t(), 1000, "bye");
        s.pump();
        let opens = s.opens.len();
        for e in events {
            page(&mut s, e);
            s.c.handle_online(s.t(), false);
            s.c.handle_online(s.t(), true);
            s.pump();
            s.advance(MINUTE);
            assert_eq!(
                s.state(),
                State::Closed,
                "{e:?} (cached first: {cached_first})"
            );
        }
        assert_eq!(s.opens.len(), opens, "no attempt");
        assert!(s
            .sent
            .iter()
            .all(|(_, f)| !is_type(f, "ping") || s.opens.len() == opens));
    }
}

#[test]
fn resume_after_a_freeze_checks_liveness_at_once_without_counting_the_frozen_time() {
    let mut s = open_subscribed(config());
    // A ping went out, then the page froze for five minutes: its deadline
    // passed while nothing ran.
    s.advance(25_000);
    assert_eq!(pings(&s.take_sent()), 1);
    s.now += 5 * MINUTE;
    page(&mut s, PageEvent::Resumed);
    assert_eq!(pings(&s.take_sent()), 1, "a ping at once");
    assert_eq!(
        s.state(),
        State::Open,
        "the frozen time is not held against the link"
    );
    // Nothing answers within the heartbeat timeout: a dead link, replaced.
    s.advance(10_000);
    assert_eq!(s.state(), State::Reconnecting);
    assert_eq!(s.closes.last().unwrap().2, "heartbeat timeout");

    // A link that answers is kept.
    let mut s = open_subscribed(config());
    s.now += 5 * MINUTE;
    page(&mut s, PageEvent::Resumed);
    s.frame(Inbound::Pong { id: Some(2) });
    s.advance(10_000);
    assert_eq!(s.state(), State::Open);
}

#[test]
fn hidden_tab_timers_a_minute_late_never_declare_a_link_dead_by_themselves() {
    let mut s = open_subscribed(config());
    page(&mut s, PageEvent::Hidden);
    // Every timer fires a minute late, as Chrome runs them in a tab hidden
    // for five minutes; the server answers each ping at once.
    for _ in 0..5 {
        s.late_timer(MINUTE);
        let sent = s.take_sent();
        assert_eq!(s.state(), State::Open);
        if pings(&sent) > 0 {
            s.frame(Inbound::Pong { id: None });
        }
    }
    assert_eq!(s.closes, [], "no false disconnect");

    // A connect deadline seen a minute late is not a verdict either.
    let mut s = Shell::new(config());
    s.connect();
    s.late_timer(MINUTE + 10_000);
    assert_eq!(s.state(), State::Connecting, "a fresh budget");
    s.establish();
    assert_eq!(s.state(), State::Open);
    // A dead link in a hidden tab: the first late deadline gets a fresh
    // ping, the second (the page ran, nothing came) is a verdict.
    let mut dead = open_subscribed(config());
    page(&mut dead, PageEvent::Hidden);
    dead.late_timer(MINUTE);
    assert_eq!(pings(&dead.take_sent()), 1);
    dead.late_timer(MINUTE);
    assert_eq!(
        dead.state(),
        State::Open,
        "the pong deadline seen late: asked again"
    );
    dead.late_timer(MINUTE);
    assert_eq!(dead.state(), State::Reconnecting, "seen late twice: dead");
    // So is a handshake that stalls in a hidden tab: timed out, one budget late.
    let mut stalled = Shell::new(config());
    stalled.connect();
    stalled.late_timer(MINUTE);
    assert_eq!(stalled.state(), State::Connecting);
    stalled.late_timer(MINUTE);
    assert_eq!(stalled.state(), State::Reconnecting);
    // A retry due while hidden still happens, late.
    s.server_close(1006, "");
    assert_eq!(s.state(), State::Reconnecting);
    let opens = s.opens.len();
    s.late_timer(MINUTE);
    assert_eq!(s.opens.len(), opens + 1, "late is fine, lost is not");
}

#[test]
fn hidden_interval_ms_spaces_the_pings_while_hidden() {
    let cfg = Config {
        heartbeat: Some(Heartbeat {
            interval_ms: Some(25_000),
            timeout_ms: 10_000,
            hidden_interval_ms: Some(120_000),
        }),
        ..config()
    };
    let mut s = open_subscribed(cfg);
    s.advance(25_000);
    assert_eq!(pings(&s.take_sent()), 1);
    s.frame(Inbound::Pong { id: Some(2) });
    page(&mut s, PageEvent::Hidden);
    // The ping scheduled while visible goes; the next ones every 120 s.
    s.advance(25_000);
    assert_eq!(pings(&s.take_sent()), 1);
    s.frame(Inbound::Pong { id: Some(3) });
    s.advance(119_000);
    assert_eq!(pings(&s.take_sent()), 0);
    s.advance(1_000);
    assert_eq!(pings(&s.take_sent()), 1);
    s.frame(Inbound::Pong { id: Some(4) });
    // Visible: a ping at once, then the visible period.
    page(&mut s, PageEvent::Visible);
    assert_eq!(pings(&s.take_sent()), 1);
    s.frame(Inbound::Pong { id: Some(5) });
    s.advance(25_000);
    assert_eq!(pings(&s.take_sent()), 1);
}

#[test]
fn sleep_ten_minutes_while_open_then_while_reconnecting() {
    // Open: the clock jumps ten minutes (the timer fires then): liveness is
    // checked at once, and a dead link is replaced within the timeout.
    let mut s = open_subscribed(config());
    s.late_timer(10 * MINUTE);
    assert_eq!(s.state(), State::Open, "not judged on the sleep itself");
    assert_eq!(pings(&s.take_sent()), 1);
    s.advance(10_000);
    assert_eq!(s.state(), State::Reconnecting, "no answer: replaced");

    // Reconnecting with a retry 30 s away: the device sleeps ten minutes
    // (the timer fires then): the attempt is made at once, not lost.
    let mut cfg = config();
    cfg.backoff.initial_ms = 30_000;
    let mut s = open_subscribed(cfg);
    s.server_close(1006, "");
    assert_eq!(s.state(), State::Reconnecting);
    let opens = s.opens.len();
    s.late_timer(10 * MINUTE);
    assert_eq!(s.opens.len(), opens + 1, "attempts at once");
    assert_eq!(s.state(), State::Connecting);
    // And its connect budget runs from the wake, whatever the sleep took.
    s.advance(9_999);
    assert_eq!(s.state(), State::Connecting);
}

#[test]
fn a_network_change_checks_liveness_at_once() {
    // A link that survived the switch answers and is kept.
    let mut s = open_subscribed(config());
    page(&mut s, PageEvent::NetworkChanged);
    assert_eq!(pings(&s.take_sent()), 1);
    s.frame(Inbound::Pong { id: Some(2) });
    s.advance(10_000);
    assert_eq!(s.state(), State::Open);
    // A dead one is replaced within the heartbeat timeout, not after the
    // next scheduled ping.
    page(&mut s, PageEvent::NetworkChanged);
    assert_eq!(pings(&s.take_sent()), 1);
    s.advance(10_000);
    assert_eq!(s.state(), State::Reconnecting);
    // While waiting to retry: attempts at once.
    let opens = s.opens.len();
    page(&mut s, PageEvent::NetworkChanged);
    assert_eq!(s.opens.len(), opens + 1);
}
