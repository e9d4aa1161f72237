//! Target 2: the `POST /publish` body parser, checked against a plain JSON
//! parse of the same bytes, and the publication frame built from a body.

use serde::Deserialize;
use serde_json::Value;
use tether_protocol::frames::{Publication, ServerFrame};
use tether_server::http::parse_publish_body;

use crate::checks::{Checks, CHECKS};
use crate::json;

/// [`publish_body_with`] under [`CHECKS`].
pub fn publish_body(data: &[u8]) {
    publish_body_with(data, CHECKS);
}

/// Feeds `data` to `parse_publish_body` and checks it against the
/// documented body, `{"topic": string, "event"?: string, "data"?: any}`,
/// as a plain parse of the same bytes reads it:
/// - an accepted body is a JSON object (when `checks.publish_body_object`)
///   whose `topic`, `event` (absent or `null`: none) and `data` (absent:
///   `null`) are what the parser returned, and the publication frame the
///   server builds from it reads back equal;
/// - a refused body is not of that shape (or repeats a field), and its
///   error says `bad body: ...`.
pub fn publish_body_with(data: &[u8], checks: Checks) {
    let text = String::from_utf8_lossy(data);
    let object = data.trim_ascii_start().starts_with(b"{");
    // Only the three fields, others skipped as the parser skips them (it
    // does not check the range of a skipped number, nor the UTF-8 of a
    // skipped string, which a `Value` would).
    let fields = serde_json::from_slice::<Fields>(data).ok();
    match parse_publish_body(data) {
        Ok(body) => {
            if checks.publish_body_object {
                assert!(object, "accepted a body that is no JSON object: {text:?}");
            }
            let fields = fields.unwrap_or_else(|| panic!("accepted {text:?}, unreadable"));
            fields.agree(&body.topic, body.event.as_deref(), &body.data, &text);
            // When the whole body is a `Value` as well, it agrees too.
            if let Ok(Value::Object(all)) = serde_json::from_slice::<Value>(data) {
                let all = Fields {
                    topic: all.get("topic").cloned(),
                    event: all.get("event").cloned(),
                    data: all.get("data").cloned(),
                };
                all.agree(&body.topic, body.event.as_deref(), &body.data, &text);
            }
            publication_reads_back(body.topic, body.event, body.data, checks);
        }
        Err(message) => {
            assert!(message.starts_with("bad body: "), "{message}");
            if let Some(fields) = fields.filter(|f| object && f.well_formed()) {
                panic!("refused a well-formed body {fields:?}: {message}");
            }
        }
    }
}

/// The fields of a publish body, each as any JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Fields {
    topic: Option<Value>,
    event: Option<Value>,
    data: Option<Value>,
}

impl Fields {
    /// A string `topic`, an `event` that is absent, `null` or a string.
    fn well_formed(&self) -> bool {
        self.topic.as_ref().is_some_and(Value::is_string)
            && self
                .event
                .as_ref()
                .is_none_or(|e| e.is_null() || e.is_string())
    }

    /// Panics unless the parser's result is what these fields say.
    fn agree(&self, topic: &str, event: Option<&str>, data: &Value, text: &str) {
        let want_topic = self.topic.as_ref().and_then(Value::as_str);
        assert_eq!(want_topic, Some(topic), "topic of {text:?}");
        let want_event = match &self.event {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => panic!("accepted event {other} in {text:?}"),
        };
        assert_eq!(event, want_event, "event of {text:?}");
        let want_data = self.data.as_ref().unwrap_or(&Value::Null);
        assert_eq!(data, want_data, "data of {text:?}");
    }
}

/// The frame `Hub::publish` sends for this body (epoch, offset and time are
/// the server's) must read back as the same publication.
fn publication_reads_back(topic: String, event: Option<String>, data: Value, checks: Checks) {
    let epoch = "e0123abcd".to_owned();
    let frame = ServerFrame::Publication(Publication {
        event: event.unwrap_or_else(|| format!("{topic}_update")),
        broadcast_id: format!("{topic}_{epoch}_1"),
        topic,
        epoch,
        offset: 1,
        timestamp: "2026-11-22T10:00:01.250Z".to_owned(),
        data,
    });
    let text = frame.encode();
    match serde_json::from_str::<ServerFrame>(&text) {
        Ok(back) => assert!(
            same_publication(&back, &frame, checks.exact_floats),
            "publication {text:.300} reads back as {back:?}"
        ),
        Err(e) => panic!("publication {text:.300} does not read back: {e}"),
    }
}

/// Frame equality, a publication's data compared by [`json::same`].
fn same_publication(a: &ServerFrame, b: &ServerFrame, exact_floats: bool) -> bool {
    match (a, b) {
        (ServerFrame::Publication(x), ServerFrame::Publication(y)) => {
            let head = |p: &Publication| {
                (
                    p.topic.clone(),
                    p.event.clone(),
                    p.epoch.clone(),
                    p.offset,
                    p.broadcast_id.clone(),
                    p.timestamp.clone(),
                )
            };
            head(x) == head(y) && json::same(&x.data, &y.data, exact_floats)
        }
        _ => a == b,
    }
}
