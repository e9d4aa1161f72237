//! Wire subscriptions: resubscribe once per connection, recovery positions,
//! replies by id, duplicates, unsubscribe while disconnected.

mod harness;

use harness::{config, id_of, is_type, Shell};
use tether_core::{Cursor, Event, Inbound, State, SubState, Verdict};

fn open(s: &mut Shell) {
    s.connect();
    s.establish();
}

/// Answers every subscribe sent on the live socket with `subscribed`.
fn ack_all(s: &mut Shell, epoch: &str, offset: u64) {
    let sock = s.sock();
    let subs: Vec<(u64, String)> = s
        .sent_on(sock)
        .into_iter()
        .filter(|f| is_type(f, "subscribe"))
        .map(|f| (id_of(f), topic_of(f)))
        .collect();
    for (id, topic) in subs {
        s.frame(Inbound::Subscribed {
            id,
            topic: &topic,
            epoch,
            offset,
            recovered: None,
            missed: 0,
        });
    }
}

fn topic_of(frame: &str) -> String {
    let rest = &frame[frame.find("\"topic\":\"").unwrap() + 9..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn publication(s: &mut Shell, topic: &str, epoch: &str, offset: u64) -> Verdict {
    s.frame(Inbound::Publication {
        topic,
        epoch,
        offset,
    })
}

#[test]
fn subscribe_before_open_is_sent_on_open() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "miners", true);
    assert_eq!(s.c.subscription("miners"), Some(SubState::Pending));
    open(&mut s);
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"subscribe","id":1,"topic":"miners"}"#]
    );
    s.frame(Inbound::Subscribed {
        id: 1,
        topic: "miners",
        epoch: "e1",
        offset: 5,
        recovered: Some(false),
        missed: 3,
    });
    assert_eq!(s.c.subscription("miners"), Some(SubState::Subscribed));
    // The first subscribe asked no recovery: reports none.
    assert_eq!(
        s.events.last().unwrap(),
        &Event::Subscription {
            topic: "miners".into(),
            state: SubState::Subscribed,
            recovered: None,
            missed: 0,
            error: None
        }
    );
}

#[test]
fn subscribe_while_open_is_sent_now_and_ids_share_one_counter() {
    let mut s = Shell::new(config());
    open(&mut s);
    s.c.subscribe(s.t(), "a", true);
    s.c.subscribe(s.t(), "a", true); // second local subscriber: no frame
    s.advance(25_000); // heartbeat ping takes id 2
    s.c.subscribe(s.t(), "b", false);
    s.pump();
    let ids: Vec<u64> = s.take_sent().iter().map(|f| id_of(f)).collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn resubscribes_exactly_once_per_topic_on_every_connection() {
    let topics = ["miners", "alerts", "system"];
    let mut s = Shell::new(config());
    for t in topics {
        s.c.subscribe(s.t(), t, true);
    }
    s.connect();
    for round in 0..6 {
        s.establish();
        ack_all(&mut s, "e1", 10 + round);
        let sock = s.sock();
        let subs: Vec<&str> = s
            .sent_on(sock)
            .into_iter()
            .filter(|f| is_type(f, "subscribe"))
            .collect();
        assert_eq!(subs.len(), 3, "round {round}");
        for t in topics {
            assert_eq!(subs.iter().filter(|f| topic_of(f) == t).count(), 1);
        }
        // Ids restart at 1 on every connection.
        let ids: Vec<u64> = subs.iter().map(|f| id_of(f)).collect();
        assert_eq!(ids, [1, 2, 3]);
        for t in topics {
            assert_eq!(s.c.subscription(t), Some(SubState::Subscribed));
        }
        s.server_close(1006, "");
        for t in topics {
            assert_eq!(s.c.subscription(t), Some(SubState::Pending));
        }
        s.until_open_action(60_000);
    }
    // Every loss put each topic back to pending once, every ack subscribed.
    let states = s.sub_states("alerts");
    assert_eq!(states.len(), 12);
    assert!(states
        .chunks(2)
        .all(|p| p == [SubState::Subscribed, SubState::Pending]));
}

#[test]
fn recovers_from_last_position_including_the_subscribed_offset() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "quiet", true);
    s.c.subscribe(s.t(), "busy", true);
    s.c.subscribe(s.t(), "norecover", false);
    open(&mut s);
    ack_all(&mut s, "e7", 42);
    assert_eq!(publication(&mut s, "busy", "e7", 43), Verdict::Deliver);
    assert_eq!(publication(&mut s, "busy", "e7", 44), Verdict::Deliver);
    assert_eq!(publication(&mut s, "norecover", "e7", 43), Verdict::Deliver);
    s.server_close(1006, "");
    s.take_sent();
    s.until_open_action(60_000);
    s.establish();
    let sent = s.take_sent();
    assert_eq!(
        sent,
        [
            r#"{"type":"subscribe","id":1,"topic":"quiet","recover":{"epoch":"e7","offset":42}}"#,
            r#"{"type":"subscribe","id":2,"topic":"busy","recover":{"epoch":"e7","offset":44}}"#,
            r#"{"type":"subscribe","id":3,"topic":"norecover"}"#,
        ]
    );
}

#[test]
fn recovered_replay_is_delivered_and_reported() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "m", true);
    open(&mut s);
    ack_all(&mut s, "e1", 10);
    s.server_close(1006, "");
    s.until_open_action(60_000);
    s.establish();
    s.take_events();
    // Server: latest is 13, replaying 11..=13.
    s.frame(Inbound::Subscribed {
        id: 1,
        topic: "m",
        epoch: "e1",
        offset: 13,
        recovered: Some(true),
        missed: 3,
    });
    assert_eq!(
        s.take_events(),
        [Event::Subscription {
            topic: "m".into(),
            state: SubState::Subscribed,
            recovered: Some(true),
            missed: 3,
            error: None
        }]
    );
    for off in 11..=13 {
        assert_eq!(publication(&mut s, "m", "e1", off), Verdict::Deliver);
    }
    assert_eq!(publication(&mut s, "m", "e1", 13), Verdict::Drop);
    assert_eq!(publication(&mut s, "m", "e1", 14), Verdict::Deliver);
}

#[test]
fn duplicate_publications_are_dropped() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "m", true);
    open(&mut s);
    ack_all(&mut s, "e1", 0);
    assert_eq!(publication(&mut s, "m", "e1", 1), Verdict::Deliver);
    assert_eq!(publication(&mut s, "m", "e1", 2), Verdict::Deliver);
    assert_eq!(publication(&mut s, "m", "e1", 2), Verdict::Drop);
    assert_eq!(publication(&mut s, "m", "e1", 1), Verdict::Drop);
    // A new epoch restarts offsets: not a duplicate.
    assert_eq!(publication(&mut s, "m", "e2", 1), Verdict::Deliver);
    assert_eq!(publication(&mut s, "m", "e2", 1), Verdict::Drop);
    // Topics nobody subscribed to are not delivered.
    assert_eq!(publication(&mut s, "other", "e1", 1), Verdict::Drop);
}

/// The fast path as the wasm shell takes it: `handle_next` (no time). A
/// delivered or dropped publication leaves no output (the shell then skips
/// its pump); the test `handle_next_is_handle_frame_with_next` shows it
/// is `handle_frame` with `Inbound::Next`.
fn next(s: &mut Shell, cursor: Cursor, offset: u64) -> Verdict {
    let v = s.c.handle_next(s.sock(), cursor, offset);
    if v != Verdict::Stale {
        assert!(!s.c.has_output(), "a publication leaves nothing to do");
    }
    s.pump();
    v
}

/// The same publications through both entries, on two clients driven
/// alike: the same verdicts, positions and outputs.
#[test]
fn handle_next_is_handle_frame_with_next() {
    let mut a = Shell::new(config());
    let mut b = Shell::new(config());
    for s in [&mut a, &mut b] {
        s.c.subscribe(s.t(), "m", true);
        open(s);
        ack_all(s, "e1", 0);
    }
    let (ca, _) = a.c.cursor("m").unwrap();
    let (cb, _) = b.c.cursor("m").unwrap();
    for offset in [1, 2, 2, 1, 5] {
        let va = next(&mut a, ca, offset);
        let vb = b.frame(Inbound::Next { cursor: cb, offset });
        assert_eq!(va, vb, "offset {offset}");
    }
    assert_eq!(next(&mut a, Cursor(ca.0 + 1000), 6), Verdict::Stale);
    assert_eq!(
        b.frame(Inbound::Next {
            cursor: Cursor(cb.0 + 1000),
            offset: 6
        }),
        Verdict::Stale
    );
    assert_eq!(a.take_sent(), b.take_sent());
    assert_eq!(a.c.status(), b.c.status());
}

/// The shell's fast path: a publication matched by cursor has the outcome of
/// the full one, and a cursor that no longer names the topic's epoch is
/// refused as `Stale` without changing anything.
#[test]
fn publications_matched_by_cursor_behave_like_full_ones_until_stale() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "m", true);
    s.c.subscribe(s.t(), "n", true);
    assert_eq!(s.c.cursor("m"), None, "no position yet");
    open(&mut s);
    ack_all(&mut s, "e1", 0);
    let (m1, epoch) = s.c.cursor("m").unwrap();
    assert_eq!(epoch, "e1");
    let (n1, _) = s.c.cursor("n").unwrap();
    assert_ne!(m1, n1);
    assert_eq!(next(&mut s, m1, 1), Verdict::Deliver);
    assert_eq!(next(&mut s, m1, 2), Verdict::Deliver);
    assert_eq!(next(&mut s, m1, 2), Verdict::Drop);
    assert_eq!(
        publication(&mut s, "m", "e1", 2),
        Verdict::Drop,
        "one position"
    );
    assert_eq!(publication(&mut s, "m", "e1", 3), Verdict::Deliver);
    assert_eq!(next(&mut s, m1, 3), Verdict::Drop);
    assert_eq!(s.c.cursor("m").unwrap().0, m1, "same epoch, same cursor");
    assert_eq!(next(&mut s, n1, 1), Verdict::Deliver, "topics apart");

    // A new epoch: the old cursor is stale and its offsets mean nothing.
    assert_eq!(publication(&mut s, "m", "e2", 1), Verdict::Deliver);
    assert_eq!(next(&mut s, m1, 9), Verdict::Stale);
    let (m2, epoch) = s.c.cursor("m").unwrap();
    assert_eq!((epoch, m2 != m1), ("e2", true));
    assert_eq!(next(&mut s, m2, 1), Verdict::Drop);
    assert_eq!(next(&mut s, m2, 2), Verdict::Deliver);

    // A new connection: every `subscribed` draws a new cursor, and the
    // recovery position is where the fast path left it.
    s.server_close(1006, "");
    s.take_sent();
    s.until_open_action(60_000);
    s.establish();
    let sent = s.sent_on(s.sock());
    let m = r#"{"type":"subscribe","id":1,"topic":"m","recover":{"epoch":"e2","offset":2}}"#;
    let n = r#"{"type":"subscribe","id":2,"topic":"n","recover":{"epoch":"e1","offset":1}}"#;
    assert_eq!(sent, [m, n]);
    ack_all(&mut s, "e2", 2);
    assert_eq!(next(&mut s, m2, 3), Verdict::Stale);
    let (m3, _) = s.c.cursor("m").unwrap();
    assert_eq!(next(&mut s, m3, 3), Verdict::Deliver);

    // Gone: stale, and never delivered.
    s.c.unsubscribe(s.t(), "m");
    s.pump();
    assert_eq!(next(&mut s, m3, 4), Verdict::Stale);
    assert_eq!(s.c.cursor("m"), None);
}

#[test]
fn unsubscribe_while_disconnected_is_not_resent() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "a", true);
    s.c.subscribe(s.t(), "b", true);
    open(&mut s);
    ack_all(&mut s, "e", 0);
    s.server_close(1006, "");
    s.c.unsubscribe(s.t(), "a");
    s.pump();
    assert_eq!(s.c.subscription("a"), None);
    assert_eq!(s.sub_states("a").last(), Some(&SubState::Unsubscribed));
    s.take_sent();
    s.until_open_action(60_000);
    s.establish();
    let sent = s.take_sent();
    assert_eq!(
        sent,
        [r#"{"type":"subscribe","id":1,"topic":"b","recover":{"epoch":"e","offset":0}}"#]
    );
    // Also before the first open.
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "x", true);
    s.c.unsubscribe(s.t(), "x");
    open(&mut s);
    assert!(s.take_sent().is_empty());
}

#[test]
fn unsubscribe_while_open_sends_the_frame() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "a", true);
    open(&mut s);
    ack_all(&mut s, "e", 0);
    s.take_sent();
    s.c.unsubscribe(s.t(), "a");
    s.pump();
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"unsubscribe","id":2,"topic":"a"}"#]
    );
    assert_eq!(
        s.frame(Inbound::Unsubscribed { id: 2, topic: "a" }),
        Verdict::Drop
    );
    assert_eq!(publication(&mut s, "a", "e", 1), Verdict::Drop);
    // Subscribing again is a fresh subscription (no recovery).
    s.c.subscribe(s.t(), "a", true);
    s.pump();
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"subscribe","id":3,"topic":"a"}"#]
    );
}

#[test]
fn error_reply_fails_the_subscription_until_subscribed_again() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "nope", true);
    s.c.subscribe(s.t(), "ok", true);
    open(&mut s);
    s.frame(Inbound::Error {
        id: Some(1),
        code: "unknown_topic",
        message: "no such topic",
    });
    assert_eq!(s.c.subscription("nope"), Some(SubState::Failed));
    assert!(s.events.contains(&Event::Subscription {
        topic: "nope".into(),
        state: SubState::Failed,
        recovered: None,
        missed: 0,
        error: Some("unknown_topic: no such topic".into()),
    }));
    assert_eq!(
        s.c.status().last_error,
        None,
        "errors with an id are not status"
    );
    s.server_close(1006, "");
    assert_eq!(s.c.subscription("nope"), Some(SubState::Failed));
    s.take_sent();
    s.until_open_action(60_000);
    s.establish();
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"subscribe","id":1,"topic":"ok"}"#]
    );
    s.c.subscribe(s.t(), "nope", true);
    s.pump();
    assert_eq!(s.c.subscription("nope"), Some(SubState::Pending));
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"subscribe","id":2,"topic":"nope"}"#]
    );
}

#[test]
fn error_without_id_goes_to_last_error() {
    let mut s = Shell::new(config());
    open(&mut s);
    assert_eq!(
        s.frame(Inbound::Error {
            id: None,
            code: "rate_limited",
            message: "slow down"
        }),
        Verdict::Drop
    );
    assert_eq!(s.c.status().last_error, Some("rate_limited: slow down"));
}

#[test]
fn close_keeps_subscriptions_for_a_later_connect() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "m", true);
    open(&mut s);
    ack_all(&mut s, "e", 4);
    s.c.close(s.t(), 1000, "");
    s.pump();
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.c.subscription("m"), Some(SubState::Pending));
    s.take_sent();
    open(&mut s);
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"subscribe","id":1,"topic":"m","recover":{"epoch":"e","offset":4}}"#]
    );
}

#[test]
fn stale_replies_are_ignored() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "m", true);
    open(&mut s);
    let old = s.sock();
    s.server_close(1006, "");
    s.until_open_action(60_000);
    // A reply for the old connection's id 1 arrives on the old socket.
    let v = s.c.handle_frame(
        s.t(),
        old,
        Inbound::Subscribed {
            id: 1,
            topic: "m",
            epoch: "e",
            offset: 0,
            recovered: None,
            missed: 0,
        },
    );
    assert_eq!(v, Verdict::Drop);
    assert_eq!(s.c.subscription("m"), Some(SubState::Pending));
    // A reply with an id we never used on this link changes nothing.
    s.establish();
    s.frame(Inbound::Subscribed {
        id: 9,
        topic: "m",
        epoch: "e",
        offset: 0,
        recovered: None,
        missed: 0,
    });
    assert_eq!(s.c.subscription("m"), Some(SubState::Pending));
}

/// A `subscribed` in the same epoch never moves the position back: an
/// instance whose copy of the history lags (`--broker` failover) may
/// answer with an older offset and then send what was delivered already;
/// none of it is delivered twice (fuzz finding F5, docs/FUZZING.md).
#[test]
fn an_older_subscribed_offset_does_not_redeliver() {
    let mut s = Shell::new(config());
    s.c.subscribe(s.t(), "alerts", true);
    open(&mut s);
    ack_all(&mut s, "e2", 10);
    assert_eq!(publication(&mut s, "alerts", "e2", 11), Verdict::Deliver);
    assert_eq!(publication(&mut s, "alerts", "e2", 12), Verdict::Deliver);
    s.server_close(1006, "");
    s.until_open_action(60_000);
    s.establish();
    // The lagging instance: at offset 10, replaying 9 and 10.
    let id = id_of(s.take_sent().last().unwrap());
    s.frame(Inbound::Subscribed {
        id,
        topic: "alerts",
        epoch: "e2",
        offset: 10,
        recovered: Some(true),
        missed: 2,
    });
    for offset in [9, 10, 11, 12] {
        assert_eq!(
            publication(&mut s, "alerts", "e2", offset),
            Verdict::Drop,
            "{offset}"
        );
    }
    assert_eq!(publication(&mut s, "alerts", "e2", 13), Verdict::Deliver);
}

/// History on load (`rewind`): the publications that follow `subscribed`
/// are delivered (its `missed` counts them), and every resubscribe asks
/// again: recovered from the last one seen, or after a restart (another
/// epoch) the new epoch's history.
#[test]
fn rewind_history_is_delivered_and_asked_again_on_every_subscribe() {
    let mut s = Shell::new(config());
    open(&mut s);
    s.c.subscribe_with(s.t(), "alerts", true, Some(3), None);
    s.pump();
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"subscribe","id":1,"topic":"alerts","rewind":3}"#]
    );
    s.frame(Inbound::Subscribed {
        id: 1,
        topic: "alerts",
        epoch: "e1",
        offset: 10,
        recovered: None,
        missed: 3,
    });
    for offset in [8, 9, 10, 11] {
        assert_eq!(
            publication(&mut s, "alerts", "e1", offset),
            Verdict::Deliver,
            "{offset}"
        );
    }
    assert_eq!(
        publication(&mut s, "alerts", "e1", 9),
        Verdict::Drop,
        "a duplicate"
    );

    // Reconnect: recover from 11, and the rewind again (used only if the
    // recovery fails).
    s.server_close(1006, "");
    s.until_open_action(60_000);
    s.establish();
    assert_eq!(
        s.take_sent(),
        [
            r#"{"type":"subscribe","id":1,"topic":"alerts","recover":{"epoch":"e1","offset":11},"rewind":3}"#
        ]
    );
    // A restart lost the history: not recovered, the new epoch's last two follow.
    s.frame(Inbound::Subscribed {
        id: 1,
        topic: "alerts",
        epoch: "e2",
        offset: 2,
        recovered: Some(false),
        missed: 2,
    });
    assert_eq!(
        s.events.last().unwrap(),
        &Event::Subscription {
            topic: "alerts".into(),
            state: SubState::Subscribed,
            recovered: Some(false),
            missed: 2,
            error: None
        }
    );
    assert_eq!(publication(&mut s, "alerts", "e2", 1), Verdict::Deliver);
    assert_eq!(publication(&mut s, "alerts", "e2", 2), Verdict::Deliver);
}

/// `since`: a position the app saved is recovered from on the first
/// subscribe, exactly after it.
#[test]
fn since_recovers_from_a_saved_position_on_the_first_subscribe() {
    let mut s = Shell::new(config());
    open(&mut s);
    let since = tether_core::Position {
        epoch: "e1".into(),
        offset: 5,
    };
    s.c.subscribe_with(s.t(), "alerts", true, None, Some(since));
    s.pump();
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"subscribe","id":1,"topic":"alerts","recover":{"epoch":"e1","offset":5}}"#]
    );
    s.frame(Inbound::Subscribed {
        id: 1,
        topic: "alerts",
        epoch: "e1",
        offset: 7,
        recovered: Some(true),
        missed: 2,
    });
    assert_eq!(
        publication(&mut s, "alerts", "e1", 5),
        Verdict::Drop,
        "at the saved position: seen"
    );
    assert_eq!(publication(&mut s, "alerts", "e1", 6), Verdict::Deliver);
    assert_eq!(publication(&mut s, "alerts", "e1", 7), Verdict::Deliver);
}
