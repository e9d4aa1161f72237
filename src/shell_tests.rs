//! The shell natively, over the recording host (`host::fake`): what it
//! asks the glue to do, the notices and verdicts it gives, and listeners
//! (the notice hook) calling back into it while it delivers.

use crate::host::fake;
use crate::{contract, options, shell};
use std::cell::RefCell;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

/// Sets the fake glue's subject from JSON text, as the glue holds it: an
/// object's fields (arrays of strings also as `key.0`, `key.1`, ... as the
/// facade's options bag has them), or none for anything else.
fn set_subject(text: &str) {
    use fake::Field;
    let fields = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => {
            let mut fields = Vec::new();
            for (key, value) in map {
                let field = match value {
                    serde_json::Value::Null => Field::Null,
                    serde_json::Value::Bool(b) => Field::Bool(b),
                    serde_json::Value::Number(n) => Field::Num(n.as_f64().unwrap()),
                    serde_json::Value::String(s) => Field::Str(s),
                    serde_json::Value::Array(items) => {
                        for (i, item) in items.into_iter().enumerate() {
                            if let serde_json::Value::String(s) = item {
                                fields.push((std::format!("{key}.{i}"), Field::Str(s)));
                            }
                        }
                        Field::Other
                    }
                    serde_json::Value::Object(_) => Field::Other,
                };
                fields.push((key, field));
            }
            Some(fields)
        }
        _ => None,
    };
    fake::set_subject(fields);
}

/// `create`'s reading of the options, from JSON text.
fn read_options(text: &str) -> Option<options::Settings> {
    set_subject(text);
    let settings = options::read();
    fake::set_subject(None);
    settings
}

/// The export `message` for a frame's text (as `JSON.parse` made it).
fn message(c: u32, socket: u32, text: &str) -> u32 {
    set_subject(text);
    let verdict = shell::message(c, socket);
    fake::set_subject(None);
    verdict
}

fn client(options: &str) -> u32 {
    fake::set_now(1000.0);
    fake::set_open_ok(true);
    fake::on_notice(None);
    let c = shell::create(read_options(options).expect("options"));
    fake::take_calls();
    c
}

const WELCOME: &str =
    r#"{"type":"connection_established","client_id":"c_1","heartbeat_interval":25}"#;

fn notices(calls: &[String]) -> Vec<&str> {
    calls
        .iter()
        .filter_map(|c| {
            c.strip_prefix("notice ")
                .map(|n| n.split_once(' ').unwrap().1)
        })
        .collect()
}

#[test]
fn connects_subscribes_and_matches_publications_by_cursor() {
    let c = client(r#"{"urls":["ws://a/ws","ws://b/ws?x=1"]}"#);
    shell::connect(c);
    let calls = fake::take_calls();
    assert_eq!(
        calls[0],
        std::format!("open {c} 1 ws://a/ws?sdk=tether-ws%2F0.1.0")
    );
    assert!(notices(&calls)[0]
        .starts_with(r#"{"status":{"state":"connecting","attempt":0,"nextRetryAt":null"#));
    assert!(
        calls.iter().any(|l| l == &std::format!("arm {c} 10000")),
        "{calls:?}"
    );

    shell::opened(c, 1);
    assert_eq!(message(c, 1, WELCOME), contract::DROP);
    shell::subscribe(c, "miners", true, None, None);
    let calls = fake::take_calls();
    assert!(notices(&calls)
        .iter()
        .any(|n| n.contains(r#""state":"open""#) && n.contains(r#""clientId":"c_1""#)));
    assert!(
        calls.contains(&std::format!(
            r#"send {c} 1 {{"type":"subscribe","id":1,"topic":"miners"}}"#
        )),
        "{calls:?}"
    );

    let subscribed = r#"{"type":"subscribed","id":1,"topic":"miners","epoch":"e1","offset":5,"recovered":null,"missed":0}"#;
    assert_eq!(message(c, 1, subscribed), contract::DROP);
    let calls = fake::take_calls();
    let cursor = calls
        .iter()
        .find_map(|l| l.strip_prefix(&std::format!("cursor {c} miners ")))
        .expect("cursor");
    let (cursor, epoch) = cursor.split_once(' ').unwrap();
    assert_eq!(epoch, "e1");
    assert!(notices(&calls).iter().any(|n| n.starts_with(
        r#"{"sub":{"topic":"miners","state":"subscribed","recovered":null,"missed":0"#
    )));
    let cursor: u32 = cursor.parse().unwrap();
    assert_eq!(shell::next(c, 1, cursor, 6.0), contract::TOPIC);
    assert_eq!(
        shell::next(c, 1, cursor, 6.0),
        contract::DROP,
        "a duplicate"
    );
    assert_eq!(shell::next(c, 1, cursor + 1, 7.0), contract::STALE);
    let full =
        r#"{"type":"publication","topic":"miners","epoch":"e1","offset":7,"data":{"x":[1]}}"#;
    assert_eq!(message(c, 1, full), contract::TOPIC);
    assert_eq!(message(c, 1, r#"{"type":"news"}"#), contract::APP);
    assert_eq!(
        message(c, 1, ""),
        contract::APP,
        "not an object: an app message"
    );
    assert_eq!(
        message(c, 2, r#"{"type":"news"}"#),
        contract::DROP,
        "another socket"
    );

    // The next attempt moves to the next URL.
    shell::closed(c, 1, 1006, "", false);
    fake::set_now(1000.0 + 60_000.0);
    shell::timer(c);
    let calls = fake::take_calls();
    assert!(
        calls.contains(&std::format!(
            "open {c} 2 ws://b/ws?x=1&sdk=tether-ws%2F0.1.0"
        )),
        "{calls:?}"
    );
    shell::free(c);
}

#[test]
fn requests_settle_by_the_facades_id() {
    let c = client(r#"{"urls":["ws://a/ws"]}"#);
    shell::connect(c);
    shell::opened(c, 1);
    message(c, 1, WELCOME);
    shell::request(c, 77, r#"{"type":"get_status"}"#, 5000.0);
    shell::request(c, 78, r#"{"type":"get_topics"}"#, 5000.0);
    let calls = fake::take_calls();
    assert!(
        calls.contains(&std::format!(
            r#"send {c} 1 {{"id":1,"type":"get_status"}}"#
        )),
        "{calls:?}"
    );
    let reply = message(c, 1, r#"{"type":"status","id":1}"#);
    assert_eq!(reply & contract::KIND_MASK, contract::RESOLVE);
    assert_eq!(reply >> contract::KEY_SHIFT, 77);
    let error = message(c, 1, r#"{"type":"error","id":2,"code":"x","message":"y"}"#);
    assert_eq!(
        (error & contract::KIND_MASK, error >> contract::KEY_SHIFT),
        (contract::REJECT, 78)
    );
    // Timeout, and refusal once closed: `failed` notices with the id.
    shell::request(c, 79, r#"{"type":"slow"}"#, 100.0);
    fake::set_now(1000.0 + 200.0);
    shell::timer(c);
    shell::close(c, 1000, "bye");
    shell::request(c, 80, r#"{"type":"late"}"#, 100.0);
    let calls = fake::take_calls();
    let n = notices(&calls);
    assert!(
        n.contains(&r#"{"failed":{"id":79,"code":"timeout","message":"request timed out"}}"#),
        "{n:?}"
    );
    assert!(
        n.contains(&r#"{"failed":{"id":80,"code":"closed","message":"client closed"}}"#),
        "{n:?}"
    );
    assert!(
        calls.contains(&std::format!("close {c} 1 1000 bye")),
        "{calls:?}"
    );
    assert!(calls.contains(&std::format!("disarm {c}")), "{calls:?}");
    shell::free(c);
}

#[test]
fn listeners_may_call_back_and_hear_every_state_in_order() {
    let c = client(r#"{"urls":["ws://a/ws"]}"#);
    let heard = Rc::new(RefCell::new(Vec::<String>::new()));
    let log = heard.clone();
    // A status listener that closes on open, reconnects on closed (once),
    // subscribes and frees: each a call back into the shell while it is
    // delivering notices.
    fake::on_notice(Some(Box::new(move |_, json: &str| {
        let state = json
            .split("\"state\":\"")
            .nth(1)
            .map(|s| &s[..s.find('"').unwrap()]);
        let Some(state) = state else { return };
        if !json.starts_with("{\"status\"") {
            return;
        }
        log.borrow_mut().push(String::from(state));
        let n = log.borrow().len();
        match (state, n) {
            ("open", _) => shell::close(c, 1000, ""),
            ("closed", 3) => {
                shell::subscribe(c, "t", true, None, None);
                shell::reconnect(c);
            }
            ("connecting", 4) => shell::free(c),
            _ => {}
        }
    })));
    shell::connect(c);
    shell::opened(c, 1);
    message(c, 1, WELCOME);
    // After `free()` the client is gone: calls for it do nothing.
    shell::connect(c);
    assert_eq!(message(c, 2, WELCOME), contract::DROP);
    assert!(!shell::send(c, "x"));
    fake::on_notice(None);
    let heard = heard.borrow().clone();
    assert_eq!(heard, ["connecting", "open", "closed", "connecting"]);
}

#[test]
fn a_token_is_asked_for_each_attempt_and_its_failure_fails_the_attempt() {
    let c = client(
        r#"{"urls":["ws://a/ws"],"tokenProvider":true,"backoff.initialMs":10,"backoff.jitter":"none"}"#,
    );
    shell::connect(c);
    let calls = fake::take_calls();
    assert!(
        notices(&calls).contains(&r#"{"token":{"socket":1}}"#),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|l| l.starts_with("open")));
    shell::token_failed(c, 1, "tokenProvider threw: nope");
    let calls = fake::take_calls();
    let n = notices(&calls);
    assert!(
        n.iter().any(|n| n.contains(r#""state":"reconnecting""#)
            && n.contains(r#""lastError":"tokenProvider threw: nope""#)),
        "{n:?}"
    );
    fake::set_now(1000.0 + 10.0);
    shell::timer(c);
    shell::token(c, 2, "a b/é");
    let calls = fake::take_calls();
    assert!(
        calls.contains(&std::format!(
            "open {c} 2 ws://a/ws?sdk=tether-ws%2F0.1.0&token=a%20b%2F%C3%A9"
        )),
        "{calls:?}"
    );
    // A late answer for an attempt that is over opens nothing.
    shell::token(c, 1, "late");
    assert!(!fake::take_calls().iter().any(|l| l.starts_with("open")));
    shell::free(c);
}

#[test]
fn a_websocket_constructor_that_throws_fails_the_attempt() {
    let c = client(r#"{"urls":["ws://a/ws"]}"#);
    fake::set_open_ok(false);
    shell::connect(c);
    let calls = fake::take_calls();
    let n = notices(&calls);
    assert!(
        n.iter().any(|n| n.contains(r#""state":"reconnecting""#)
            && n.contains("the WebSocket constructor threw")),
        "{n:?}"
    );
    shell::free(c);
}

#[test]
fn options_fields_by_name() {
    let s = read_options(
        r#"{"urls":["ws://a"],"mode":"raw","connectTimeoutMs":5,"stableAfterMs":0,"backoff.initialMs":2,
            "backoff.maxMs":3,"backoff.factor":1.5,"backoff.jitter":"equal","backoff.maxAttempts":4,
            "heartbeat.intervalMs":null,"heartbeat.timeoutMs":9,"queue.maxMessages":1,"queue.maxBytes":2,
            "raw.pingMessage":"{\"op\":\"ping\"}","raw.pongType":"hb","online":false,"unknown":{"x":1}}"#,
    )
    .unwrap();
    let c = &s.config;
    assert_eq!(c.mode, tether_core::Mode::Raw);
    assert_eq!((c.connect_timeout_ms, c.stable_after_ms), (5, 0));
    let b = &c.backoff;
    assert_eq!(
        (b.initial_ms, b.max_ms, b.factor, b.max_attempts),
        (2, 3, 1.5, Some(4))
    );
    assert_eq!(b.jitter, tether_core::Jitter::Equal);
    let h = c.heartbeat.unwrap();
    assert_eq!((h.interval_ms, h.timeout_ms), (None, 9));
    assert_eq!((c.queue.max_messages, c.queue.max_bytes), (1, 2));
    assert_eq!(c.raw_ping_message, r#"{"op":"ping"}"#);
    assert_eq!(
        (s.pong_type.as_str(), s.online, s.token),
        ("hb", false, false)
    );
    // Absent: the core's defaults; `heartbeat: false` in either order.
    let d = read_options(r#"{"urls":["ws://a"]}"#).unwrap();
    assert_eq!(d.config, tether_core::Config::default());
    for text in [
        r#"{"urls":["ws://a"],"heartbeat":false,"heartbeat.timeoutMs":5}"#,
        r#"{"urls":["ws://a"],"heartbeat.timeoutMs":5,"heartbeat":false}"#,
    ] {
        assert_eq!(read_options(text).unwrap().config.heartbeat, None);
    }
    assert!(read_options(r#"{"urls":[]}"#).is_none());
    assert!(read_options("[]").is_none());
}

#[test]
fn the_contract_text_names_every_code() {
    let v: serde_json::Value = serde_json::from_str(contract::JSON).unwrap();
    assert_eq!(v["DROP"], contract::DROP);
    assert_eq!(v["TOPIC"], contract::TOPIC);
    assert_eq!(v["APP"], contract::APP);
    assert_eq!(v["RESOLVE"], contract::RESOLVE);
    assert_eq!(v["REJECT"], contract::REJECT);
    assert_eq!(v["STALE"], contract::STALE);
    assert_eq!(v["KEY_SHIFT"], contract::KEY_SHIFT);
    assert_eq!(v["KIND_MASK"], contract::KIND_MASK);
    assert_eq!(contract::KIND_MASK + 1, 1 << contract::KEY_SHIFT);
}
