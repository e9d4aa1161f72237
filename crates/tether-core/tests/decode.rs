//! The decoder of inbound frames (`tether_core::decode`), read through a
//! `Fields` over `serde_json::Value` that answers as the browser shell's
//! does over a `JSON.parse` object (numbers as f64, exact `type` compare).
//!
//! - Round trip: every `ServerFrame` variant, encoded by the protocol crate,
//!   parsed and decoded, gives the `Inbound` with the same field values
//!   (`expected` matches the variants exhaustively: a new variant does not
//!   compile until it is covered here).
//! - Malformed frames: wrong types, missing fields, out-of-range numbers,
//!   non-objects, and raw mode's pong each decode to what the shell has
//!   always made of them.

use serde_json::{json, Value};
use tether_core::{decode, Dialect, Field, Fields, FrameType, Inbound};
use tether_protocol::frames::ServerFrame;
use tether_protocol::samples::{server_frames, MAX_SAFE};

/// A parsed frame, read the way the browser shell reads a JS object.
struct Json<'a>(&'a Value);

impl<'a> Fields for Json<'a> {
    type Str = &'a str;

    fn frame_type(&self) -> FrameType {
        self.0
            .get("type")
            .and_then(Value::as_str)
            .map_or(FrameType::Other, FrameType::from_name)
    }

    fn type_is(&self, name: &str) -> bool {
        self.0.get("type").and_then(Value::as_str) == Some(name)
    }

    fn string(&self, field: Field) -> Option<&'a str> {
        self.0.get(field.name()).and_then(Value::as_str)
    }

    fn number(&self, field: Field) -> Option<f64> {
        self.0.get(field.name()).and_then(Value::as_f64)
    }

    fn boolean(&self, field: Field) -> Option<bool> {
        self.0.get(field.name()).and_then(Value::as_bool)
    }
}

/// Decodes `value` and checks the result is `want`.
fn check(dialect: Dialect<'_>, value: &Value, want: Inbound<'_>) {
    decode(&Json(value), dialect, |got| {
        assert_eq!(got, want, "{value}");
    });
}

/// What the client must read from each server frame.
fn expected(frame: &ServerFrame) -> Inbound<'_> {
    match frame {
        ServerFrame::ConnectionEstablished {
            client_id,
            heartbeat_interval,
            ..
        } => Inbound::Established {
            client_id,
            heartbeat_interval_ms: Some((heartbeat_interval * 1000.0) as u64),
        },
        ServerFrame::Publication(p) => Inbound::Publication {
            topic: &p.topic,
            epoch: &p.epoch,
            offset: p.offset,
        },
        ServerFrame::Subscribed {
            id,
            topic,
            epoch,
            offset,
            recovered,
            missed,
        } => Inbound::Subscribed {
            id: *id,
            topic,
            epoch,
            offset: *offset,
            recovered: *recovered,
            missed: *missed,
        },
        ServerFrame::Unsubscribed { id, topic } => Inbound::Unsubscribed { id: *id, topic },
        ServerFrame::Pong { id, .. } => Inbound::Pong { id: Some(*id) },
        // Replies to the app's `request()`s.
        ServerFrame::Status { id, .. }
        | ServerFrame::Topics { id, .. }
        | ServerFrame::Published { id, .. } => Inbound::Reply { id: *id },
        ServerFrame::Error {
            id, code, message, ..
        } => Inbound::Error {
            id: *id,
            code: code.as_str(),
            message,
        },
        ServerFrame::Ping { id } => Inbound::Ping { id: *id },
        ServerFrame::Goaway {
            retry_after_ms,
            spread_ms,
            ..
        } => Inbound::Goaway {
            retry_after_ms: *retry_after_ms,
            spread_ms: *spread_ms,
        },
    }
}

#[test]
fn every_server_frame_decodes_to_its_inbound() {
    let frames = server_frames();
    let mut kinds = std::collections::BTreeSet::new();
    for frame in &frames {
        let value: Value = serde_json::from_str(&frame.encode()).unwrap();
        kinds.insert(value["type"].as_str().unwrap().to_owned());
        check(Dialect::Tether, &value, expected(frame));
    }
    // Every variant is in the list (`expected` covers them exhaustively).
    assert_eq!(kinds.len(), 11, "{kinds:?}");
}

#[test]
fn raw_mode_knows_only_its_pong_and_replies() {
    let pong = Dialect::Raw { pong_type: "pong" };
    let ack = Dialect::Raw {
        pong_type: "heartbeat_ack",
    };
    // The pong's id is not a ping id in raw mode.
    check(
        pong,
        &json!({"type": "pong", "id": 3}),
        Inbound::Pong { id: None },
    );
    check(
        ack,
        &json!({"type": "heartbeat_ack"}),
        Inbound::Pong { id: None },
    );
    check(
        ack,
        &json!({"type": "pong", "id": 3}),
        Inbound::Reply { id: 3 },
    );
    // Tether frame types mean nothing to a raw server's client.
    for frame in server_frames() {
        let value: Value = serde_json::from_str(&frame.encode()).unwrap();
        let want = match value.get("id").and_then(Value::as_u64) {
            Some(id) => Inbound::Reply { id },
            None => Inbound::App,
        };
        check(ack, &value, want);
    }
    check(pong, &json!({"type": "PONG"}), Inbound::App);
    check(pong, &json!("pong"), Inbound::App);
}

#[test]
fn a_malformed_publication_is_an_app_message() {
    let good = json!({"type": "publication", "topic": "m", "epoch": "e1", "offset": 3, "id": 4});
    check(
        Dialect::Tether,
        &good,
        Inbound::Publication {
            topic: "m",
            epoch: "e1",
            offset: 3,
        },
    );
    let broken: [(&str, Value); 10] = [
        ("topic", Value::Null),
        ("topic", json!(5)),
        ("epoch", json!(1)),
        ("epoch", json!(["e1"])),
        ("offset", json!(-1)),
        ("offset", json!(1.5)),
        ("offset", json!(MAX_SAFE + 1)),
        ("offset", json!("3")),
        ("offset", json!(f64::MAX)),
        ("offset", Value::Null),
    ];
    for (field, bad) in broken {
        let mut value = good.clone();
        value[field] = bad;
        // Not a reply either, though it has an id.
        check(Dialect::Tether, &value, Inbound::App);
        value.as_object_mut().unwrap().remove(field);
        check(Dialect::Tether, &value, Inbound::App);
    }
}

#[test]
fn missing_or_mistyped_fields_take_their_defaults() {
    let t = Dialect::Tether;
    let est = |hb: Value| json!({"type": "connection_established", "heartbeat_interval": hb});
    let established = |ms| Inbound::Established {
        client_id: "",
        heartbeat_interval_ms: ms,
    };
    check(
        t,
        &json!({"type": "connection_established"}),
        established(None),
    );
    for bad in [json!(0), json!(-25), json!("25"), Value::Null, json!(true)] {
        check(t, &est(bad), established(None));
    }
    check(t, &est(json!(0.5)), established(Some(500)));
    check(t, &est(json!(1e300)), established(Some(u64::MAX)));
    check(
        t,
        &json!({"type": "connection_established", "client_id": 7, "heartbeat_interval": 30}),
        established(Some(30_000)),
    );
    check(
        t,
        &json!({"type": "subscribed"}),
        Inbound::Subscribed {
            id: 0,
            topic: "",
            epoch: "",
            offset: 0,
            recovered: None,
            missed: 0,
        },
    );
    check(
        t,
        &json!({"type": "subscribed", "id": -1, "topic": 1, "epoch": "e", "offset": 2.5,
                "recovered": "yes", "missed": MAX_SAFE + 1}),
        Inbound::Subscribed {
            id: 0,
            topic: "",
            epoch: "e",
            offset: 0,
            recovered: None,
            missed: 0,
        },
    );
    check(
        t,
        &json!({"type": "unsubscribed", "id": "2"}),
        Inbound::Unsubscribed { id: 0, topic: "" },
    );
    check(
        t,
        &json!({"type": "pong", "id": "3"}),
        Inbound::Pong { id: None },
    );
    check(
        t,
        &json!({"type": "pong", "id": 0}),
        Inbound::Pong { id: Some(0) },
    );
    check(
        t,
        &json!({"type": "ping", "id": 1.5}),
        Inbound::Ping { id: None },
    );
    check(
        t,
        &json!({"type": "error", "code": 4, "message": null}),
        Inbound::Error {
            id: None,
            code: "",
            message: "",
        },
    );
    check(
        t,
        &json!({"type": "goaway", "retry_after_ms": -5, "spread_ms": "9"}),
        Inbound::Goaway {
            retry_after_ms: 0,
            spread_ms: 0,
        },
    );
}

#[test]
fn anything_else_is_a_reply_by_id_or_an_app_message() {
    let t = Dialect::Tether;
    check(
        t,
        &json!({"type": "topics", "id": 7}),
        Inbound::Reply { id: 7 },
    );
    check(t, &json!({"id": MAX_SAFE}), Inbound::Reply { id: MAX_SAFE });
    // Type names compare exactly.
    check(
        t,
        &json!({"type": "Publication", "id": 1}),
        Inbound::Reply { id: 1 },
    );
    check(t, &json!({"type": 5}), Inbound::App);
    check(t, &json!({"type": "chat", "id": -1}), Inbound::App);
    check(
        t,
        &json!({"type": "chat", "id": MAX_SAFE + 1}),
        Inbound::App,
    );
    check(t, &json!({"type": "chat", "id": "7"}), Inbound::App);
    // Not objects: text that was not JSON stays a string; arrays, numbers.
    for value in [json!("not json"), json!([1, 2]), json!(42), Value::Null] {
        check(t, &value, Inbound::App);
    }
}

#[test]
fn frame_type_names_are_the_protocols() {
    for (kind, name) in FrameType::NAMED {
        assert_eq!(FrameType::from_name(name), kind);
    }
    assert_eq!(FrameType::from_name("subscribe"), FrameType::Other);
    for (i, field) in Field::ALL.into_iter().enumerate() {
        assert_eq!(field as usize, i, "Field::ALL is in declaration order");
    }
}
