//! Serde types for every protocol v1 frame, both directions, and the codec
//! that reads client frames with errors precise enough to answer them.
//!
//! Client frames are read with [`decode_client`], which sorts every failure
//! into the error code the server answers with (protocol-v1.md, `error`):
//! text that is not JSON is `bad_json`; JSON that is not an object, has no
//! string `type`, or has a missing or mistyped field is `bad_frame` (the
//! message names the field); a `type` this version does not know is
//! `unknown_type`. Whenever the request's integer `id` could be read, the
//! error carries it so the reply can be correlated. Unknown fields are
//! ignored in both directions.
//!
//! Server frames are built as [`ServerFrame`] values and written with
//! [`ServerFrame::encode`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A recovery position in `subscribe.recover`: the last publication the
/// client saw on the topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recover {
    /// The topic's epoch the offset belongs to.
    pub epoch: String,
    /// The last offset seen in that epoch.
    pub offset: u64,
}

/// `subscribe`: start receiving a topic's publications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    /// Request id.
    pub id: u64,
    /// Topic name.
    pub topic: String,
    /// Where the client left off, to replay what it missed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover: Option<Recover>,
    /// History on subscribe: unless `recover` succeeds, up to this many of
    /// the latest kept publications follow `subscribed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewind: Option<u64>,
}

/// `unsubscribe`: stop receiving a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribe {
    /// Request id.
    pub id: u64,
    /// Topic name.
    pub topic: String,
}

/// `ping`: application-level liveness check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    /// Request id.
    pub id: u64,
    /// Ask for server statistics in the `pong`.
    #[serde(default)]
    pub include_stats: bool,
}

/// `publish`: a client publication on a topic that allows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publish {
    /// Request id.
    pub id: u64,
    /// Topic name.
    pub topic: String,
    /// Event name; the server uses `<topic>_update` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Payload (`null` when absent).
    #[serde(default)]
    pub data: Value,
}

/// `get_status`: describe this connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetStatus {
    /// Request id.
    pub id: u64,
}

/// `get_topics`: list the server's topics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetTopics {
    /// Request id.
    pub id: u64,
}

/// `pong`: the client's answer to a server `ping` frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    /// The id of the server `ping` answered, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
}

/// Every frame a client may send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// See [`Subscribe`].
    Subscribe(Subscribe),
    /// See [`Unsubscribe`].
    Unsubscribe(Unsubscribe),
    /// See [`Ping`].
    Ping(Ping),
    /// See [`Publish`].
    Publish(Publish),
    /// See [`GetStatus`].
    GetStatus(GetStatus),
    /// See [`GetTopics`].
    GetTopics(GetTopics),
    /// See [`Pong`].
    Pong(Pong),
}

impl ClientFrame {
    /// The request id, when the frame has one.
    pub fn id(&self) -> Option<u64> {
        match self {
            ClientFrame::Subscribe(f) => Some(f.id),
            ClientFrame::Unsubscribe(f) => Some(f.id),
            ClientFrame::Ping(f) => Some(f.id),
            ClientFrame::Publish(f) => Some(f.id),
            ClientFrame::GetStatus(f) => Some(f.id),
            ClientFrame::GetTopics(f) => Some(f.id),
            ClientFrame::Pong(f) => f.id,
        }
    }

    /// Serializes the frame to JSON text.
    pub fn encode(&self) -> String {
        // Only strings, integers, bools and `Value`s: serializing cannot fail.
        serde_json::to_string(self).expect("client frames always serialize")
    }
}

/// The codes of an `error` frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The text was not JSON.
    BadJson,
    /// JSON, but not an object, no string `type`, a missing or mistyped
    /// field, or a binary frame.
    BadFrame,
    /// A `type` this server does not know.
    UnknownType,
    /// A topic this server does not have.
    UnknownTopic,
    /// Not allowed (client publish on a topic that forbids it, or a topic
    /// outside the token's claim).
    Forbidden,
    /// Over the connection's inbound rate limit; the frame was dropped.
    RateLimited,
    /// A client `publish` while the instance cannot reach its `--broker`;
    /// nothing was published: retry later.
    Unavailable,
}

impl ErrorCode {
    /// The wire name, e.g. `"bad_json"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::UnknownTopic => "unknown_topic",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

/// `server_info` in `connection_established`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Server implementation name.
    pub name: String,
    /// Server implementation version.
    pub version: String,
    /// Protocol features offered (`topics`, `recovery`, `heartbeat`, `rpc`).
    pub features: Vec<String>,
}

/// One publication on a topic (the `publication` frame's body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    /// Topic name.
    pub topic: String,
    /// Event name (`<topic>_update` unless the publisher named one).
    pub event: String,
    /// The topic's history generation.
    pub epoch: String,
    /// Position in the epoch; the first publication has offset 1.
    pub offset: u64,
    /// `<topic>_<epoch>_<offset>`.
    pub broadcast_id: String,
    /// When it was published, RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    /// Payload.
    pub data: Value,
}

/// Server statistics in a `pong` that asked for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Open connections.
    pub connections: u64,
    /// Seconds since the server started.
    pub uptime_s: u64,
    /// Frames received from all clients.
    pub messages_in: u64,
    /// Frames sent to all clients.
    pub messages_out: u64,
}

/// One entry of a `topics` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Human description.
    #[serde(default)]
    pub description: String,
    /// Whether clients may `publish` on it.
    #[serde(default)]
    pub client_publish: bool,
}

/// Why the server sends `goaway`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoawayReason {
    /// The server is shutting down or restarting.
    Shutdown,
    /// The server sheds load.
    Overload,
}

/// Every frame a server may send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection, sent once it is registered.
    ConnectionEstablished {
        /// Protocol version ([`crate::PROTOCOL_VERSION`]).
        protocol: u32,
        /// Server-assigned connection id (`c_…`).
        client_id: String,
        /// Server time, RFC 3339 UTC with milliseconds.
        timestamp: String,
        /// The server's protocol Ping period, in seconds.
        heartbeat_interval: f64,
        /// Topic names the client may subscribe to.
        available_topics: Vec<String>,
        /// Server implementation details.
        server_info: ServerInfo,
    },
    /// One message on a subscribed topic.
    Publication(Publication),
    /// Reply to `subscribe`.
    Subscribed {
        /// Request id.
        id: u64,
        /// Topic name.
        topic: String,
        /// The topic's current epoch.
        epoch: String,
        /// The topic's latest offset (0 when nothing was published).
        offset: u64,
        /// `null` without a recovery request, else whether it succeeded.
        recovered: Option<bool>,
        /// How many replayed publications follow (0 unless recovered).
        missed: u64,
    },
    /// Reply to `unsubscribe`.
    Unsubscribed {
        /// Request id.
        id: u64,
        /// Topic name.
        topic: String,
    },
    /// Reply to `ping`.
    Pong {
        /// Request id.
        id: u64,
        /// Server time, RFC 3339 UTC with milliseconds.
        server_time: String,
        /// Present when the ping asked for it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stats: Option<Stats>,
    },
    /// Reply to `get_status`.
    Status {
        /// Request id.
        id: u64,
        /// This connection's id.
        client_id: String,
        /// When the connection was established (RFC 3339).
        connected_at: String,
        /// When the last frame arrived from the client (RFC 3339).
        last_activity: String,
        /// Subscribed topics.
        subscriptions: Vec<String>,
        /// Frames received on this connection.
        messages_in: u64,
        /// Frames sent on this connection.
        messages_out: u64,
    },
    /// Reply to `get_topics`.
    Topics {
        /// Request id.
        id: u64,
        /// The server's topics.
        topics: Vec<TopicInfo>,
    },
    /// Reply to a successful `publish`.
    Published {
        /// Request id.
        id: u64,
        /// Epoch of the new publication.
        epoch: String,
        /// Offset of the new publication.
        offset: u64,
    },
    /// A request failed or a frame was refused.
    Error {
        /// The request answered, when its id could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// What went wrong.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
        /// For `unknown_topic`: the topics that exist.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        available_topics: Option<Vec<String>>,
    },
    /// Application-level ping; the client answers with `pong`.
    Ping {
        /// Optional id echoed by the client's `pong`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    /// A planned close follows (code 1012); reconnect after
    /// `retry_after_ms + uniform(0, spread_ms)`.
    Goaway {
        /// Why.
        reason: GoawayReason,
        /// Minimum wait before reconnecting.
        retry_after_ms: u64,
        /// Upper bound of the random extra wait.
        spread_ms: u64,
    },
}

/// Longest `error.message`, in bytes: a message may quote what the client
/// sent (a field's bad value, an unknown `type`), and a reply must not grow
/// with the request that caused it.
pub const MAX_ERROR_MESSAGE: usize = 200;

/// Cuts `text` to at most `max` bytes at a character boundary, ending with
/// `…` when anything was cut.
pub fn truncate(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let ellipsis = '\u{2026}';
    let mut end = max.saturating_sub(ellipsis.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push(ellipsis);
    text
}

impl ServerFrame {
    /// An `error` frame without extra fields; the message is cut to
    /// [`MAX_ERROR_MESSAGE`] bytes.
    pub fn error(id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            id,
            code,
            message: truncate(message.into(), MAX_ERROR_MESSAGE),
            available_topics: None,
        }
    }

    /// Serializes the frame to JSON text, in an allocation of its size
    /// (frames are kept for recovery and queued to many connections: the
    /// serializer's doubling growth would leave up to half of each unused).
    pub fn encode(&self) -> String {
        // Only strings, integers, floats, bools and `Value`s (whose maps have
        // string keys): serializing cannot fail.
        let mut text = serde_json::to_string(self).expect("server frames always serialize");
        text.shrink_to_fit();
        text
    }
}

/// Why a client frame could not be read. [`DecodeError::code`] is the error
/// code to answer with and [`DecodeError::id`] the request id, when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The text is not JSON.
    #[error("not JSON: {0}")]
    BadJson(String),
    /// Valid JSON, but not an object.
    #[error("a frame must be a JSON object")]
    NotAnObject,
    /// An object without a string `type` field.
    #[error("missing or non-string field `type`")]
    MissingType {
        /// The request id, when readable.
        id: Option<u64>,
    },
    /// A known frame type with a missing or mistyped field.
    #[error("invalid `{frame_type}` frame: field `{field}`: {message}")]
    BadField {
        /// The request id, when readable.
        id: Option<u64>,
        /// The frame's `type`.
        frame_type: String,
        /// Path of the offending field, e.g. `topic` or `recover.offset`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `type` this protocol version does not know.
    #[error("unknown frame type `{frame_type}`")]
    UnknownType {
        /// The request id, when readable.
        id: Option<u64>,
        /// The unknown type.
        frame_type: String,
    },
}

impl DecodeError {
    /// The `error` code to answer with.
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::BadJson(_) => ErrorCode::BadJson,
            DecodeError::NotAnObject
            | DecodeError::MissingType { .. }
            | DecodeError::BadField { .. } => ErrorCode::BadFrame,
            DecodeError::UnknownType { .. } => ErrorCode::UnknownType,
        }
    }

    /// The request id the error reply should carry, when it could be read.
    pub fn id(&self) -> Option<u64> {
        match self {
            DecodeError::BadJson(_) | DecodeError::NotAnObject => None,
            DecodeError::MissingType { id }
            | DecodeError::BadField { id, .. }
            | DecodeError::UnknownType { id, .. } => *id,
        }
    }

    /// The `error` frame that answers this failure.
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::error(self.id(), self.code(), self.to_string())
    }
}

/// Longest name a [`DecodeError`] quotes from a client's frame (an unknown
/// `type`, a field path), in bytes. Its parser messages, which may quote a
/// value, are cut to [`MAX_ERROR_MESSAGE`].
pub const MAX_QUOTED: usize = 64;

/// Reads one client text frame.
pub fn decode_client(text: &str) -> Result<ClientFrame, DecodeError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| DecodeError::BadJson(truncate(e.to_string(), MAX_ERROR_MESSAGE)))?;
    let Value::Object(obj) = value else {
        return Err(DecodeError::NotAnObject);
    };
    let id = obj.get("id").and_then(Value::as_u64);
    let Some(frame_type) = obj.get("type").and_then(Value::as_str) else {
        return Err(DecodeError::MissingType { id });
    };
    let frame_type = frame_type.to_owned();
    let obj = Value::Object(obj);
    match frame_type.as_str() {
        "subscribe" => body(obj, &frame_type, id).map(ClientFrame::Subscribe),
        "unsubscribe" => body(obj, &frame_type, id).map(ClientFrame::Unsubscribe),
        "ping" => body(obj, &frame_type, id).map(ClientFrame::Ping),
        "publish" => body(obj, &frame_type, id).map(ClientFrame::Publish),
        "get_status" => body(obj, &frame_type, id).map(ClientFrame::GetStatus),
        "get_topics" => body(obj, &frame_type, id).map(ClientFrame::GetTopics),
        "pong" => body(obj, &frame_type, id).map(ClientFrame::Pong),
        _ => Err(DecodeError::UnknownType {
            id,
            frame_type: truncate(frame_type, MAX_QUOTED),
        }),
    }
}

/// Deserializes a frame body, naming the offending field on failure.
fn body<T: DeserializeOwned>(
    value: Value,
    frame_type: &str,
    id: Option<u64>,
) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let message = err.inner().to_string();
        let path = err.path().to_string();
        // A missing field is reported at its parent: take its name from
        // serde's message ("missing field `topic`").
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_owned(),
            (parent, Some(name)) => format!("{parent}.{name}"),
            (path, None) => path.to_owned(),
        };
        DecodeError::BadField {
            id,
            frame_type: frame_type.to_owned(),
            field: truncate(field, MAX_QUOTED),
            message: truncate(message, MAX_ERROR_MESSAGE),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(err: DecodeError) -> (Option<u64>, String) {
        match err {
            DecodeError::BadField { id, field, .. } => (id, field),
            other => panic!("expected BadField, got {other:?}"),
        }
    }

    #[test]
    fn not_json_is_bad_json() {
        let err = decode_client("{nope").unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadJson);
        assert_eq!(err.id(), None);
        assert_eq!(decode_client("").unwrap_err().code(), ErrorCode::BadJson);
    }

    #[test]
    fn non_objects_are_bad_frame() {
        for text in ["[1,2]", "42", "\"subscribe\"", "null"] {
            let err = decode_client(text).unwrap_err();
            assert_eq!(err, DecodeError::NotAnObject, "{text}");
            assert_eq!(err.code(), ErrorCode::BadFrame);
        }
    }

    #[test]
    fn missing_or_non_string_type_is_bad_frame_with_id() {
        let err = decode_client(r#"{"id":7}"#).unwrap_err();
        assert_eq!(err, DecodeError::MissingType { id: Some(7) });
        assert_eq!(err.code(), ErrorCode::BadFrame);
        let err = decode_client(r#"{"type":3,"id":8}"#).unwrap_err();
        assert_eq!(err.id(), Some(8));
        assert_eq!(err.code(), ErrorCode::BadFrame);
    }

    #[test]
    fn missing_field_is_named() {
        let err = decode_client(r#"{"type":"subscribe","id":3}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BadFrame);
        assert!(err.to_string().contains("topic"), "{err}");
        assert_eq!(field_of(err), (Some(3), "topic".to_owned()));
        let err = decode_client(r#"{"type":"ping"}"#).unwrap_err();
        assert_eq!(field_of(err), (None, "id".to_owned()));
    }

    #[test]
    fn mistyped_field_is_named_even_nested() {
        let err = decode_client(r#"{"type":"subscribe","id":3,"topic":5}"#).unwrap_err();
        assert_eq!(field_of(err), (Some(3), "topic".to_owned()));
        let err = decode_client(r#"{"type":"subscribe","id":"x","topic":"a"}"#).unwrap_err();
        assert_eq!(field_of(err), (None, "id".to_owned()));
        let err = decode_client(
            r#"{"type":"subscribe","id":4,"topic":"a","recover":{"epoch":"e1","offset":-1}}"#,
        )
        .unwrap_err();
        assert_eq!(field_of(err), (Some(4), "recover.offset".to_owned()));
        let err =
            decode_client(r#"{"type":"subscribe","id":4,"topic":"a","recover":{"offset":1}}"#)
                .unwrap_err();
        assert_eq!(field_of(err), (Some(4), "recover.epoch".to_owned()));
    }

    /// A reply to a bad frame does not grow with the frame: the unknown
    /// `type`, a quoted bad value and a bad field path are all cut.
    #[test]
    fn error_replies_are_bounded() {
        let huge = "é".repeat(30_000);
        let cases = [
            format!(r#"{{"type":"{huge}","id":1}}"#),
            format!(
                r#"{{"type":"subscribe","id":1,"topic":"t","recover":{{"epoch":"e","offset":"{huge}"}}}}"#
            ),
            format!(r#"{{"type":"subscribe","id":1,"topic":["{huge}"]}}"#),
            format!(r#"{{"type":"ping","id":"{huge}"}}"#),
            format!(r#"{{"type":"publish","id":1,"topic":"t","data":{{"{huge}":}}}}"#),
        ];
        for text in cases {
            let err = decode_client(&text).unwrap_err();
            let reply = err.to_frame().encode();
            assert!(
                reply.len() <= MAX_ERROR_MESSAGE + 64,
                "{} bytes: {}",
                reply.len(),
                reply.chars().take(100).collect::<String>()
            );
            let frame: Value = serde_json::from_str(&reply).unwrap();
            let message = frame["message"].as_str().unwrap();
            assert!(message.len() <= MAX_ERROR_MESSAGE, "{message}");
        }
        assert_eq!(truncate("short".into(), 10), "short");
        assert_eq!(truncate("ééé".into(), 5), "é\u{2026}");
        assert_eq!(truncate("abcdef".into(), 3), "\u{2026}");
    }

    #[test]
    fn unknown_type_keeps_id() {
        let err = decode_client(r#"{"type":"launch","id":9}"#).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnknownType {
                id: Some(9),
                frame_type: "launch".into()
            }
        );
        assert_eq!(err.code(), ErrorCode::UnknownType);
        let frame: Value = serde_json::from_str(&err.to_frame().encode()).unwrap();
        assert_eq!(frame["type"], "error");
        assert_eq!(frame["id"], 9);
        assert_eq!(frame["code"], "unknown_type");
    }

    #[test]
    fn decodes_every_client_frame_and_ignores_unknown_fields() {
        let cases = [
            (
                json!({"type":"subscribe","id":1,"topic":"miners","extra":true}),
                ClientFrame::Subscribe(Subscribe {
                    id: 1,
                    topic: "miners".into(),
                    recover: None,
                    rewind: None,
                }),
            ),
            (
                json!({"type":"subscribe","id":2,"topic":"m","recover":{"epoch":"e1","offset":5}}),
                ClientFrame::Subscribe(Subscribe {
                    id: 2,
                    topic: "m".into(),
                    recover: Some(Recover {
                        epoch: "e1".into(),
                        offset: 5,
                    }),
                    rewind: None,
                }),
            ),
            (
                json!({"type":"subscribe","id":2,"topic":"m","rewind":20}),
                ClientFrame::Subscribe(Subscribe {
                    id: 2,
                    topic: "m".into(),
                    recover: None,
                    rewind: Some(20),
                }),
            ),
            (
                json!({"type":"unsubscribe","id":3,"topic":"m"}),
                ClientFrame::Unsubscribe(Unsubscribe {
                    id: 3,
                    topic: "m".into(),
                }),
            ),
            (
                json!({"type":"ping","id":4}),
                ClientFrame::Ping(Ping {
                    id: 4,
                    include_stats: false,
                }),
            ),
            (
                json!({"type":"ping","id":5,"include_stats":true}),
                ClientFrame::Ping(Ping {
                    id: 5,
                    include_stats: true,
                }),
            ),
            (
                json!({"type":"publish","id":6,"topic":"chat"}),
                ClientFrame::Publish(Publish {
                    id: 6,
                    topic: "chat".into(),
                    event: None,
                    data: Value::Null,
                }),
            ),
            (
                json!({"type":"publish","id":7,"topic":"chat","event":"msg","data":{"a":[1]}}),
                ClientFrame::Publish(Publish {
                    id: 7,
                    topic: "chat".into(),
                    event: Some("msg".into()),
                    data: json!({"a":[1]}),
                }),
            ),
            (
                json!({"type":"get_status","id":8}),
                ClientFrame::GetStatus(GetStatus { id: 8 }),
            ),
            (
                json!({"type":"get_topics","id":9}),
                ClientFrame::GetTopics(GetTopics { id: 9 }),
            ),
            (json!({"type":"pong"}), ClientFrame::Pong(Pong { id: None })),
            (
                json!({"type":"pong","id":10}),
                ClientFrame::Pong(Pong { id: Some(10) }),
            ),
        ];
        for (value, want) in cases {
            let got = decode_client(&value.to_string()).unwrap();
            assert_eq!(got, want, "{value}");
            // Round trip through the encoder.
            assert_eq!(decode_client(&got.encode()).unwrap(), want);
        }
    }

    #[test]
    fn client_encoders_agree_with_the_codec() {
        use crate::client;
        let pos = client::Position {
            epoch: "e2".into(),
            offset: 3,
        };
        let got = decode_client(&client::subscribe(1, "a\"b", Some(&pos), None)).unwrap();
        assert_eq!(
            got,
            ClientFrame::Subscribe(Subscribe {
                id: 1,
                topic: "a\"b".into(),
                recover: Some(Recover {
                    epoch: "e2".into(),
                    offset: 3
                }),
                rewind: None,
            })
        );
        let rewound = decode_client(&client::subscribe(2, "t", None, Some(u32::MAX))).unwrap();
        assert_eq!(
            rewound,
            ClientFrame::Subscribe(Subscribe {
                id: 2,
                topic: "t".into(),
                recover: None,
                rewind: Some(u32::MAX.into()),
            })
        );
        assert_eq!(got.id(), Some(1));
        assert_eq!(
            decode_client(&client::pong(None)).unwrap(),
            ClientFrame::Pong(Pong { id: None })
        );
    }

    #[test]
    fn server_frames_round_trip() {
        let frames = crate::samples::server_frames();
        for frame in frames {
            let text = frame.encode();
            let back: ServerFrame = serde_json::from_str(&text).unwrap();
            assert_eq!(back, frame, "{text}");
        }
    }

    #[test]
    fn server_frame_wire_shape() {
        let sub = ServerFrame::Subscribed {
            id: 1,
            topic: "m".into(),
            epoch: "e1".into(),
            offset: 0,
            recovered: None,
            missed: 0,
        };
        assert_eq!(
            sub.encode(),
            r#"{"type":"subscribed","id":1,"topic":"m","epoch":"e1","offset":0,"recovered":null,"missed":0}"#
        );
        assert_eq!(
            ServerFrame::error(None, ErrorCode::BadJson, "x").encode(),
            r#"{"type":"error","code":"bad_json","message":"x"}"#
        );
        for code in [
            ErrorCode::BadJson,
            ErrorCode::BadFrame,
            ErrorCode::UnknownType,
            ErrorCode::UnknownTopic,
            ErrorCode::Forbidden,
            ErrorCode::RateLimited,
            ErrorCode::Unavailable,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                Value::String(code.as_str().into())
            );
        }
    }
}
