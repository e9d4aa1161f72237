//! `request()`: ids assigned at write time, replies, error replies,
//! timeouts, link loss and close.

mod harness;

use harness::{config, id_of, Shell};
use tether_core::{Event, Inbound, RequestError, RequestKey, State, Verdict};

fn failures(s: &mut Shell) -> Vec<(RequestKey, RequestError)> {
    s.take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::RequestFailed { key, error } => Some((key, error)),
            _ => None,
        })
        .collect()
}

fn request(s: &mut Shell, body: &str, timeout_ms: u64) -> RequestKey {
    let key =
        s.c.request(s.t(), body.to_owned(), timeout_ms)
            .expect("accepted");
    s.pump();
    key
}

#[test]
fn open_request_is_written_with_an_id_and_resolved_by_its_reply() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    s.take_sent();
    let key = request(&mut s, r#"{"type":"get_status"}"#, 10_000);
    let sent = s.take_sent();
    assert_eq!(sent, [r#"{"id":1,"type":"get_status"}"#]);
    // A reply to another id is an ordinary app message.
    assert_eq!(s.frame(Inbound::Reply { id: 99 }), Verdict::Deliver);
    assert_eq!(s.frame(Inbound::Reply { id: 1 }), Verdict::Resolve(key));
    // Only once.
    assert_eq!(s.frame(Inbound::Reply { id: 1 }), Verdict::Deliver);
    s.advance(20_000);
    assert!(
        failures(&mut s).is_empty(),
        "a resolved request never times out"
    );
}

#[test]
fn error_reply_rejects_and_leaves_the_status_alone() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    s.take_sent();
    let key = request(&mut s, r#"{"type":"publish","topic":"x"}"#, 10_000);
    let id = id_of(&s.take_sent()[0]);
    let v = s.frame(Inbound::Error {
        id: Some(id),
        code: "forbidden",
        message: "no",
    });
    assert_eq!(v, Verdict::Reject(key));
    assert_eq!(s.c.status().last_error, None);
}

#[test]
fn queued_request_gets_its_id_on_the_next_connection_in_fifo_order() {
    let mut s = Shell::new(config());
    s.connect();
    assert!(s.c.send(s.t(), r#"{"type":"a"}"#.into()));
    let key = request(&mut s, r#"{"type":"b"}"#, 10_000);
    assert_eq!(s.c.status().queued, 2);
    s.establish();
    let sent = s.take_sent();
    assert_eq!(sent, [r#"{"type":"a"}"#, r#"{"id":1,"type":"b"}"#]);
    assert_eq!(s.frame(Inbound::Reply { id: 1 }), Verdict::Resolve(key));
}

#[test]
fn ids_increase_on_every_connection() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    s.take_sent();
    s.advance(10);
    request(&mut s, "{}", 10_000);
    assert_eq!(s.take_sent(), [r#"{"id":1}"#]);
    s.server_close(1006, "");
    s.until_open_action(60_000);
    s.establish();
    s.take_sent();
    request(&mut s, "{}", 10_000);
    assert_eq!(
        s.take_sent(),
        [r#"{"id":1}"#],
        "ids are per connection, from 1"
    );
}

#[test]
fn written_request_is_rejected_at_once_when_its_link_drops() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    let key = request(&mut s, "{}", 10_000);
    s.take_events();
    s.server_close(1006, "");
    assert_eq!(failures(&mut s), [(key, RequestError::LinkLost)]);
}

#[test]
fn queued_request_waits_across_failed_attempts_until_its_timeout() {
    let mut s = Shell::new(config());
    s.connect();
    let key = request(&mut s, r#"{"type":"q"}"#, 5_000);
    s.server_close(1006, "");
    assert_eq!(s.state(), State::Reconnecting);
    assert!(
        failures(&mut s).is_empty(),
        "a queued request survives a failed attempt"
    );
    s.advance(4_999);
    assert!(failures(&mut s).is_empty());
    s.advance(1);
    assert_eq!(failures(&mut s), [(key, RequestError::Timeout)]);
    assert_eq!(
        s.c.status().queued,
        0,
        "a timed-out request leaves the queue"
    );
    if s.socket.is_none() {
        s.until_open_action(60_000);
    }
    s.establish();
    assert!(s.take_sent().is_empty(), "it is never written");
}

#[test]
fn close_rejects_every_request_and_later_ones_fail_at_once() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    let written = request(&mut s, "{}", 10_000);
    s.take_events();
    s.c.close(s.t(), 1000, "");
    s.pump();
    let got = failures(&mut s);
    assert_eq!(got, [(written, RequestError::Closed)]);
    assert_eq!(
        s.c.request(s.t(), "{}".into(), 1_000),
        Err(RequestError::Closed)
    );
}

#[test]
fn bodies_that_are_not_objects_and_a_full_queue_are_refused() {
    let mut cfg = config();
    cfg.queue.max_messages = 1;
    let mut s = Shell::new(cfg);
    s.connect();
    assert_eq!(
        s.c.request(s.t(), "[1]".into(), 1_000),
        Err(RequestError::NotAnObject)
    );
    request(&mut s, "{}", 1_000);
    assert_eq!(
        s.c.request(s.t(), "{}".into(), 1_000),
        Err(RequestError::QueueFull)
    );
}

#[test]
fn requests_expire_and_drop_with_their_link_in_order_and_free_their_queue_bytes() {
    let mut cfg = config();
    // Room for exactly three of the 7-byte bodies and the 1-byte send below.
    cfg.queue.max_bytes = 22;
    let mut s = Shell::new(cfg);
    s.connect();
    let a = request(&mut s, r#"{"a":1}"#, 1_000);
    assert!(
        s.c.send(s.t(), "s".into()),
        "a plain frame between requests"
    );
    let b = request(&mut s, r#"{"b":2}"#, 60_000);
    let c = request(&mut s, r#"{"c":3}"#, 1_000);
    assert!(!s.c.send(s.t(), "x".into()), "the queue is full (22 bytes)");
    s.advance(1_000);
    assert_eq!(
        failures(&mut s),
        [(a, RequestError::Timeout), (c, RequestError::Timeout)],
        "both expired, in the order they were made"
    );
    assert_eq!(s.c.status().queued, 2);
    assert!(
        s.c.send(s.t(), "fourteen bytes".into()),
        "the expired requests' 14 bytes were given back"
    );
    assert!(!s.c.send(s.t(), "x".into()), "and no more");
    s.take_sent();
    s.establish();
    let sent = s.take_sent();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[0], "s");
    assert!(
        sent[1].ends_with(r#""b":2}"#),
        "b, with its id: {}",
        sent[1]
    );
    assert_eq!(sent[2], "fourteen bytes", "the rest in order");
    let d = request(&mut s, "{}", 60_000);
    s.take_events();
    s.server_close(1006, "");
    assert_eq!(
        failures(&mut s),
        [(b, RequestError::LinkLost), (d, RequestError::LinkLost)],
        "every written request fails with its link, in order"
    );
}
