//! Heartbeat (pings, rtt, timeout, late timers, visible) and the send queue.

mod harness;

use harness::{config, id_of, Shell};
use tether_core::{Config, Event, Heartbeat, Inbound, QueueLimits, State, Verdict};

fn open(s: &mut Shell) {
    s.connect();
    s.establish();
    s.take_sent();
}

#[test]
fn pings_every_interval_and_measures_rtt() {
    let mut s = Shell::new(config());
    open(&mut s);
    s.advance(24_999);
    assert!(s.take_sent().is_empty());
    s.advance(1);
    assert_eq!(s.take_sent(), [r#"{"type":"ping","id":1}"#]);
    s.advance(40);
    s.take_events();
    assert_eq!(s.frame(Inbound::Pong { id: Some(1) }), Verdict::Drop);
    assert_eq!(s.c.status().rtt_ms, Some(40));
    assert_eq!(s.take_events(), [Event::Status]);
    s.advance(25_000);
    assert_eq!(s.take_sent(), [r#"{"type":"ping","id":2}"#]);
    // A pong for another id proves liveness but gives no rtt.
    s.advance(10);
    s.frame(Inbound::Pong { id: Some(1) });
    assert_eq!(s.c.status().rtt_ms, Some(40));
    s.advance(9_990);
    assert_eq!(s.state(), State::Open, "liveness was proven");
}

#[test]
fn interval_from_server_or_config() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish_hb(Some(7_000));
    s.take_sent();
    s.advance(7_000);
    assert_eq!(s.take_sent().len(), 1);

    let mut cfg = config();
    cfg.heartbeat = Some(Heartbeat {
        interval_ms: Some(3_000),
        timeout_ms: 1_000,
        hidden_interval_ms: None,
    });
    let mut s = Shell::new(cfg);
    s.connect();
    s.establish_hb(Some(7_000));
    s.take_sent();
    s.advance(3_000);
    assert_eq!(s.take_sent().len(), 1, "the option wins over the server");
}

#[test]
fn no_heartbeat_when_disabled() {
    let mut cfg = config();
    cfg.heartbeat = None;
    let mut s = Shell::new(cfg);
    open(&mut s);
    assert_eq!(s.c.poll_timeout(), None);
    s.c.handle_visible(s.t());
    s.advance(1_000_000);
    assert!(s.take_sent().is_empty());
    assert_eq!(s.state(), State::Open);
}

#[test]
fn heartbeat_timeout_closes_4000_and_reconnects() {
    let mut s = Shell::new(config());
    open(&mut s);
    let sock = s.sock();
    s.advance(25_000 + 9_999);
    assert_eq!(s.state(), State::Open);
    s.advance(1);
    assert_eq!(s.closes, [(sock, 4000, "heartbeat timeout".to_owned())]);
    assert_eq!(s.state(), State::Reconnecting);
    assert_eq!(s.attempt(), 1);
    assert_eq!(s.c.status().last_close.unwrap().code, 4000);
    s.until_open_action(1_000);
}

#[test]
fn any_frame_proves_liveness() {
    let mut s = Shell::new(config());
    open(&mut s);
    s.advance(25_000);
    s.advance(9_000);
    assert_eq!(s.frame(Inbound::App), Verdict::Deliver);
    s.advance(5_000);
    assert_eq!(s.state(), State::Open);
}

#[test]
fn late_ping_timer_counts_the_timeout_from_the_real_send() {
    let mut s = Shell::new(config());
    open(&mut s);
    // The ping timer (due at +25 s) fires 8 s late: the ping leaves now.
    s.late_timer(33_000);
    assert_eq!(s.take_sent(), [r#"{"type":"ping","id":1}"#]);
    // 9.999 s after the real send: still fine.
    s.advance(9_999);
    assert_eq!(s.state(), State::Open);
    s.advance(1);
    assert_eq!(s.state(), State::Reconnecting);
}

#[test]
fn frozen_page_sends_a_fresh_ping_instead_of_killing_the_link() {
    let mut s = Shell::new(config());
    open(&mut s);
    s.advance(25_000);
    assert_eq!(s.take_sent().len(), 1);
    // The pong deadline (+10 s) is missed by far more than the timeout.
    s.late_timer(10_000 + 60_000);
    assert_eq!(s.state(), State::Open);
    let sent = s.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(id_of(&sent[0]), 2);
    // The queued pong arrives: fine.
    s.frame(Inbound::Pong { id: Some(2) });
    s.advance(20_000);
    assert_eq!(s.state(), State::Open);
    // A slightly late deadline still kills a silent link.
    let mut s = Shell::new(config());
    open(&mut s);
    s.advance(25_000);
    s.late_timer(10_000 + 3_000);
    assert_eq!(s.state(), State::Reconnecting);
}

#[test]
fn server_ping_is_answered_and_not_delivered() {
    let mut s = Shell::new(config());
    open(&mut s);
    assert_eq!(s.frame(Inbound::Ping { id: None }), Verdict::Drop);
    assert_eq!(s.frame(Inbound::Ping { id: Some(7) }), Verdict::Drop);
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"pong"}"#, r#"{"type":"pong","id":7}"#]
    );
}

#[test]
fn visible_pings_at_once_when_open() {
    let mut s = Shell::new(config());
    s.c.handle_visible(s.t());
    s.connect();
    s.c.handle_visible(s.t());
    s.pump();
    assert!(s.take_sent().is_empty(), "not open yet");
    s.establish();
    s.advance(3_000);
    s.c.handle_visible(s.t());
    s.pump();
    assert_eq!(s.take_sent(), [r#"{"type":"ping","id":1}"#]);
    s.frame(Inbound::Pong { id: Some(1) });
    // The next periodic ping counts from this one.
    s.advance(24_999);
    assert!(s.take_sent().is_empty());
    s.advance(1);
    assert_eq!(s.take_sent().len(), 1);
}

// ---- queue ----

fn small_queue() -> Config {
    let mut c = config();
    c.queue = QueueLimits {
        max_messages: 3,
        max_bytes: 10,
    };
    c
}

#[test]
fn queue_is_bounded_by_messages_and_bytes() {
    let mut s = Shell::new(small_queue());
    let t = s.t();
    assert!(s.c.send(t, "aaaa".into()));
    assert!(s.c.send(t, "bbbb".into()));
    assert!(!s.c.send(t, "ccc".into()), "11 bytes > 10");
    assert!(s.c.send(t, "é".into()), "2 UTF-8 bytes fit");
    assert_eq!(s.c.status().queued, 3);
    assert!(!s.c.send(t, "".into()), "3 messages max");
    let mut s = Shell::new(small_queue());
    assert!(!s.c.send(t, "x".repeat(11)));
    assert_eq!(s.c.status().queued, 0);
}

#[test]
fn queue_flushes_after_resubscribes_in_fifo_order() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "m", true);
    assert!(s.c.send(s.t(), "one".into()));
    s.connect();
    assert!(s.c.send(s.t(), "two".into()));
    s.socket_open();
    assert!(
        s.c.send(s.t(), "three".into()),
        "not open until established"
    );
    assert!(s.take_sent().is_empty());
    s.take_events();
    s.frame(Inbound::Established {
        client_id: "c",
        heartbeat_interval_ms: None,
    });
    assert_eq!(
        s.take_sent(),
        [
            r#"{"type":"subscribe","id":1,"topic":"m"}"#,
            "one",
            "two",
            "three"
        ]
    );
    assert_eq!(s.take_events(), [Event::Status]);
    assert_eq!(s.c.status().queued, 0);
    assert!(s.c.send(s.t(), "four".into()));
    s.pump();
    assert_eq!(s.take_sent(), ["four"]);
}

#[test]
fn queue_works_while_reconnecting_and_offline() {
    let mut s = Shell::new(config());
    open(&mut s);
    s.server_close(1006, "");
    assert!(s.c.send(s.t(), "r".into()));
    s.c.handle_online(s.t(), false);
    assert_eq!(s.state(), State::Offline);
    assert!(s.c.send(s.t(), "o".into()));
    s.c.handle_online(s.t(), true);
    s.pump();
    s.establish();
    assert_eq!(s.take_sent(), ["r", "o"]);
}

#[test]
fn close_drops_the_queue_and_refuses_sends() {
    let mut s = Shell::new(config());
    assert!(s.c.send(s.t(), "lost".into()));
    s.c.close(s.t(), 1000, "");
    assert_eq!(s.c.status().queued, 0);
    assert!(!s.c.send(s.t(), "no".into()));
    open(&mut s);
    assert!(s.sent.is_empty());
}
