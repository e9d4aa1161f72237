//! What the facade's listeners are to hear, as small JSON texts with named
//! fields (rare events: a status change, a subscription state, a failed
//! request, a token wanted). One object with one key naming the kind:
//! `{"status":{...}}`, `{"sub":{...}}`, `{"failed":{...}}`, `{"token":{...}}`.

use alloc::string::String;
use tether_core::{RequestError, Status, SubState};
use tether_protocol::client::{push_json_string, push_u64};

/// `{"status":{...}}` with the README's field names. `nextRetryAt` and
/// `since` are on the core's monotonic clock: the facade converts them to
/// epoch ms when it makes the status object.
pub fn status(s: &Status) -> String {
    let mut o = String::from("{\"status\":{\"state\":\"");
    o.push_str(s.state.as_str());
    o.push_str("\",\"attempt\":");
    push_u64(&mut o, s.attempt.into());
    o.push_str(",\"nextRetryAt\":");
    opt_u64(&mut o, s.next_retry_at.map(|t| t.0));
    o.push_str(",\"lastClose\":");
    match &s.last_close {
        Some(c) => {
            o.push_str("{\"code\":");
            push_u64(&mut o, c.code.into());
            o.push_str(",\"reason\":");
            push_json_string(&mut o, &c.reason);
            o.push_str(",\"wasClean\":");
            o.push_str(if c.was_clean { "true}" } else { "false}" });
        }
        None => o.push_str("null"),
    }
    o.push_str(",\"lastError\":");
    opt_str(&mut o, s.last_error);
    o.push_str(",\"lastErrorAt\":");
    opt_u64(&mut o, s.last_error_at.map(|t| t.0));
    o.push_str(",\"rttMs\":");
    opt_u64(&mut o, s.rtt_ms);
    o.push_str(",\"clientId\":");
    opt_str(&mut o, s.client_id);
    o.push_str(",\"queued\":");
    push_u64(&mut o, s.queued as u64);
    o.push_str(",\"since\":");
    push_u64(&mut o, s.since.0);
    o.push_str("}}");
    o
}

/// `{"sub":{"topic","state","recovered","missed","error"}}`.
pub fn sub(
    topic: &str,
    state: SubState,
    recovered: Option<bool>,
    missed: u64,
    error: Option<&str>,
) -> String {
    let mut o = String::from("{\"sub\":{\"topic\":");
    push_json_string(&mut o, topic);
    o.push_str(",\"state\":\"");
    o.push_str(state.as_str());
    o.push_str("\",\"recovered\":");
    o.push_str(match recovered {
        Some(true) => "true",
        Some(false) => "false",
        None => "null",
    });
    o.push_str(",\"missed\":");
    push_u64(&mut o, missed);
    o.push_str(",\"error\":");
    opt_str(&mut o, error);
    o.push_str("}}");
    o
}

/// `{"failed":{"id","code","message"}}`: request `id` (the facade's) ended
/// without a reply.
pub fn failed(id: u32, error: RequestError) -> String {
    let mut o = String::from("{\"failed\":{\"id\":");
    push_u64(&mut o, id.into());
    o.push_str(",\"code\":\"");
    o.push_str(error.code());
    o.push_str("\",\"message\":\"");
    o.push_str(error.message());
    o.push_str("\"}}");
    o
}

/// `{"token":{"socket"}}`: call the token provider, answer with `token` or
/// `token_failed` for this socket.
pub fn token(socket: u64) -> String {
    let mut o = String::from("{\"token\":{\"socket\":");
    push_u64(&mut o, socket);
    o.push_str("}}");
    o
}

fn opt_u64(o: &mut String, n: Option<u64>) {
    match n {
        Some(n) => push_u64(o, n),
        None => o.push_str("null"),
    }
}

fn opt_str(o: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_json_string(o, s),
        None => o.push_str("null"),
    }
}
