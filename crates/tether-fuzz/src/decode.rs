//! Target 1: the server's client-frame decoder and its error replies, plus
//! the SDK's hand-written encoders checked against it.

use serde_json::{Map, Value};
use tether_protocol::client;
use tether_protocol::close;
use tether_protocol::frames::{self, ClientFrame, ErrorCode, ServerFrame};

use crate::checks::{Checks, CHECKS, ERROR_REPLY_MAX_BYTES};
use crate::json;

/// The largest id the SDK writes (2^53 - 1), for `with_id`.
const SDK_MAX_ID: u64 = (1 << 53) - 1;

/// [`decode_client_with`] under [`CHECKS`].
pub fn decode_client(data: &[u8]) {
    decode_client_with(data, CHECKS);
}

/// Feeds `data` (when UTF-8: the server closes on anything else) to
/// `frames::decode_client` and checks:
/// - a decoded frame came from a JSON object whose `type` names it, carries
///   that object's integer `id`, and survives encode + decode unchanged;
///   for the frames the SDK writes, the SDK's encoder gives the same frame;
/// - a refused frame gets the error code of its class (`bad_json` exactly
///   when the text is not JSON), the object's integer `id` whenever there is
///   one, and an `error` reply that reads back as such and is bounded
///   ([`ERROR_REPLY_MAX_BYTES`], when `checks.error_reply_bound`);
/// - `client::with_id` puts the id into any JSON object without one and
///   changes nothing else; the 4429 reason scanner does not panic.
pub fn decode_client_with(data: &[u8], checks: Checks) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let value = serde_json::from_str::<Value>(text).ok();
    let object = value.as_ref().and_then(Value::as_object);
    let object_id = object.and_then(|o| o.get("id")).and_then(Value::as_u64);
    match frames::decode_client(text) {
        Ok(frame) => decoded(text, object, frame, checks),
        Err(err) => {
            let want = match value {
                None => ErrorCode::BadJson,
                Some(_) => ErrorCode::BadFrame,
            };
            match err.code() {
                ErrorCode::UnknownType => assert!(object.is_some(), "unknown_type for {text:?}"),
                code => assert_eq!(code, want, "{text:?}: {err}"),
            }
            if object.is_some() {
                assert_eq!(err.id(), object_id, "error id for {text:?}");
            }
            let reply = err.to_frame().encode();
            match serde_json::from_str::<ServerFrame>(&reply) {
                Ok(ServerFrame::Error { id, code, .. }) => {
                    assert_eq!((id, code), (err.id(), err.code()), "{reply}");
                }
                other => panic!("error reply {reply:?} reads back as {other:?}"),
            }
            if checks.error_reply_bound {
                let id_bytes = err.id().map_or(0, |id| ",\"id\":".len() + digits(id));
                assert!(
                    reply.len() <= ERROR_REPLY_MAX_BYTES + id_bytes,
                    "error reply of {} bytes (bound {ERROR_REPLY_MAX_BYTES} + id) for a {}-byte frame: {:.200}",
                    reply.len(),
                    text.len(),
                    reply
                );
            }
        }
    }
    if let Some(object) = object.filter(|o| !o.contains_key("id")) {
        with_id_inserts_only_the_id(text, object);
    }
    let _ = close::classify(close::code::TOO_MANY, text);
}

fn decoded(text: &str, object: Option<&Map<String, Value>>, frame: ClientFrame, checks: Checks) {
    let object = object.unwrap_or_else(|| panic!("decoded {text:?}, which is no JSON object"));
    let ty = object.get("type").and_then(Value::as_str);
    assert_eq!(ty, Some(type_name(&frame)), "{text:?} -> {frame:?}");
    let id = object.get("id").and_then(Value::as_u64);
    assert_eq!(frame.id(), id, "id of {text:?}");
    let encoded = frame.encode();
    let again = frames::decode_client(&encoded)
        .unwrap_or_else(|e| panic!("{text:?} -> {encoded:?} does not decode: {e}"));
    assert!(
        same_frame(&again, &frame, checks.exact_floats),
        "round trip of {text:?} through {encoded:?}: {again:?}"
    );
    if let Some(sdk) = sdk_encoding(&frame) {
        let from_sdk = frames::decode_client(&sdk)
            .unwrap_or_else(|e| panic!("the SDK's {sdk:?} does not decode: {e}"));
        assert_eq!(from_sdk, frame, "the SDK writes {frame:?} as {sdk:?}");
    }
}

/// The frame as the SDK's hand-written encoders write it, for the frames
/// the SDK writes.
fn sdk_encoding(frame: &ClientFrame) -> Option<String> {
    Some(match frame {
        ClientFrame::Subscribe(s) => {
            let pos = s.recover.as_ref().map(|r| client::Position {
                epoch: r.epoch.clone(),
                offset: r.offset,
            });
            // The SDK asks for at most u32::MAX: a larger one it never writes.
            let rewind = match s.rewind {
                None => None,
                Some(n) => Some(u32::try_from(n).ok()?),
            };
            client::subscribe(s.id, &s.topic, pos.as_ref(), rewind)
        }
        ClientFrame::Unsubscribe(u) => client::unsubscribe(u.id, &u.topic),
        ClientFrame::Ping(p) if !p.include_stats => client::ping(p.id),
        ClientFrame::Pong(p) => client::pong(p.id),
        _ => return None,
    })
}

/// `request()` bodies: the id goes in first, the rest is the app's object.
fn with_id_inserts_only_the_id(text: &str, object: &Map<String, Value>) {
    let with = client::with_id(text, SDK_MAX_ID)
        .unwrap_or_else(|| panic!("with_id refused the object {text:?}"));
    let mut want = object.clone();
    want.insert("id".to_owned(), Value::from(SDK_MAX_ID));
    match serde_json::from_str::<Value>(&with) {
        Ok(Value::Object(got)) => assert_eq!(got, want, "with_id({text:?}) = {with:?}"),
        other => panic!("with_id({text:?}) = {with:?}, which reads as {other:?}"),
    }
}

/// Frame equality, a `publish`'s data compared by [`json::same`].
fn same_frame(a: &ClientFrame, b: &ClientFrame, exact_floats: bool) -> bool {
    match (a, b) {
        (ClientFrame::Publish(x), ClientFrame::Publish(y)) => {
            (x.id, &x.topic, &x.event) == (y.id, &y.topic, &y.event)
                && json::same(&x.data, &y.data, exact_floats)
        }
        _ => a == b,
    }
}

fn type_name(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Subscribe(_) => "subscribe",
        ClientFrame::Unsubscribe(_) => "unsubscribe",
        ClientFrame::Ping(_) => "ping",
        ClientFrame::Publish(_) => "publish",
        ClientFrame::GetStatus(_) => "get_status",
        ClientFrame::GetTopics(_) => "get_topics",
        ClientFrame::Pong(_) => "pong",
    }
}

fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}
