//! Abusive clients: each cycle opens a connection, commits one kind of
//! abuse (`stats::Abuse`) and checks the server's answer: the right close
//! code, or the right `error` frame and then a `pong` (the connection
//! must stay usable).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tether_bench::client::{num_field, str_field, ws_connect, Ws};
use tether_bench::Res;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use crate::stats::{Abuse, Answer, ABUSES};
use crate::workers::{stop_signal, Ctx};

/// Rotates through the abuse kinds (starting at `a`), one connection each,
/// with a short pause between them.
pub async fn abuser(ctx: Arc<Ctx>, a: usize) {
    let mut stop = ctx.stop.clone();
    for cycle in a.. {
        if ctx.stopped() {
            return;
        }
        let kind = ABUSES[cycle % ABUSES.len()];
        let answer = match timeout(Duration::from_secs(30), abuse_once(&ctx, kind, cycle)).await {
            Ok(Ok((answer, detail))) => {
                if !matches!(answer, Answer::Expected) {
                    ctx.stats.error(kind.name(), detail);
                }
                answer
            }
            Ok(Err(e)) => {
                ctx.stats.error("abuser: connect", e);
                sleep(Duration::from_millis(200)).await;
                continue;
            }
            Err(_) => {
                ctx.stats.error(kind.name(), "cycle took over 30 s");
                Answer::None
            }
        };
        ctx.stats.abuse(kind, answer);
        tokio::select! {
            _ = sleep(Duration::from_millis(100)) => {}
            _ = stop_signal(&mut stop) => return,
        }
    }
}

/// What came from the server.
enum Seen {
    Text(String),
    Close(Option<u16>),
    End(String),
}

/// The next text, close or end of the connection, within `deadline`
/// (`None` after it).
async fn next(ws: &mut Ws, deadline: Instant) -> Option<Seen> {
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.ok()?;
        return Some(match msg {
            Some(Ok(Message::Text(t))) => Seen::Text(t.as_str().to_owned()),
            Some(Ok(Message::Close(cf))) => Seen::Close(cf.map(|c| u16::from(c.code))),
            Some(Ok(_)) => continue,
            Some(Err(e)) => Seen::End(e.to_string()),
            None => Seen::End("closed".into()),
        });
    }
}

/// One abuse on a fresh connection; the answer and, when it is not the
/// expected one, what was seen instead. Errors: the connection failed.
async fn abuse_once(ctx: &Ctx, kind: Abuse, cycle: usize) -> Res<(Answer, String)> {
    let mut ws = ws_connect(ctx.addr).await?;
    let max = ctx.args.max_frame_bytes;
    // A write may fail once the server has closed: the answer is read anyway.
    let _ = match kind {
        Abuse::Oversized => {
            let text = format!(r#"{{"type":"ping","id":1,"pad":"{}"}}"#, "x".repeat(max));
            ws.send(Message::text(text)).await
        }
        Abuse::BadUtf8 => {
            let payload = Bytes::from_static(b"{\"type\":\"\xff\xfe\"}");
            let frame = Frame::message(payload, OpCode::Data(Data::Text), true);
            ws.send(Message::Frame(frame)).await
        }
        Abuse::BadJson => ws.send(Message::text("{this is not json")).await,
        Abuse::UnknownType => {
            ws.send(Message::text(r#"{"type":"frobnicate","id":5}"#))
                .await
        }
        Abuse::Binary => ws.send(Message::binary(vec![0u8, 1, 2, 3])).await,
        Abuse::Flood => {
            // The bucket holds 2N and a close comes after more than 2N
            // dropped within 10 s: 6N + 10 frames at once is well over.
            let n = 6 * ctx.args.rate_limit + 10;
            let mut r = Ok(());
            for i in 0..n {
                let frame = format!(r#"{{"type":"ping","id":{i}}}"#);
                r = ws.feed(Message::text(frame)).await;
                if r.is_err() {
                    break;
                }
            }
            match r {
                Ok(()) => ws.flush().await,
                e => e,
            }
        }
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let result = match kind {
        Abuse::Oversized => want_close(&mut ws, deadline, 1009, None).await,
        Abuse::BadUtf8 => want_close(&mut ws, deadline, 1007, None).await,
        Abuse::Flood => want_close(&mut ws, deadline, 4429, Some("rate_limited")).await,
        Abuse::BadJson => want_error_then_pong(&mut ws, deadline, "bad_json").await,
        Abuse::UnknownType => want_error_then_pong(&mut ws, deadline, "unknown_type").await,
        Abuse::Binary => want_error_then_pong(&mut ws, deadline, "bad_frame").await,
    };
    // Leave: after a close, read the end; an open connection is left with
    // a close frame or dropped, alternately.
    if cycle.is_multiple_of(2) {
        let _ = ws.close(None).await;
        let end = Instant::now() + Duration::from_secs(3);
        while let Some(Seen::Text(_) | Seen::Close(_)) = next(&mut ws, end).await {}
    }
    Ok(result)
}

/// Reads until a close frame: the expected answer if its code is `code`
/// (and, when `error` is given, an `error` frame with that code came
/// first).
async fn want_close(
    ws: &mut Ws,
    deadline: Instant,
    code: u16,
    error: Option<&str>,
) -> (Answer, String) {
    let mut error_seen = error.is_none();
    loop {
        match next(ws, deadline).await {
            Some(Seen::Text(t)) => {
                if error.is_some() && str_field(&t, "code") == error {
                    error_seen = true;
                }
            }
            Some(Seen::Close(Some(c))) if c == code && error_seen => {
                return (Answer::Expected, String::new())
            }
            Some(Seen::Close(c)) => {
                let detail =
                    format!("close {c:?}, wanted {code} (error {error:?} seen: {error_seen})");
                return (Answer::Other, detail);
            }
            Some(Seen::End(e)) => return (Answer::Other, format!("ended without close: {e}")),
            None => return (Answer::None, format!("no close {code} within 15 s")),
        }
    }
}

/// Reads until an `error` frame whose code is `code`, then sends a `ping`
/// and reads until its `pong`: the connection stayed.
async fn want_error_then_pong(ws: &mut Ws, deadline: Instant, code: &str) -> (Answer, String) {
    loop {
        match next(ws, deadline).await {
            Some(Seen::Text(t)) if str_field(&t, "type") == Some("error") => {
                if str_field(&t, "code") == Some(code) {
                    break;
                }
                return (Answer::Other, format!("wanted error {code}, got {t}"));
            }
            Some(Seen::Text(_)) => {}
            Some(Seen::Close(c)) => {
                return (Answer::Other, format!("closed {c:?}, wanted error {code}"))
            }
            Some(Seen::End(e)) => {
                return (Answer::Other, format!("ended: {e}, wanted error {code}"))
            }
            None => return (Answer::None, format!("no error {code} within 15 s")),
        }
    }
    if let Err(e) = ws.send(Message::text(r#"{"type":"ping","id":77}"#)).await {
        return (
            Answer::Other,
            format!("connection unusable after error {code}: {e}"),
        );
    }
    loop {
        match next(ws, deadline).await {
            Some(Seen::Text(t))
                if str_field(&t, "type") == Some("pong") && num_field(&t, "id") == Some(77) =>
            {
                return (Answer::Expected, String::new())
            }
            Some(Seen::Text(_)) => {}
            Some(Seen::Close(c)) => {
                return (Answer::Other, format!("closed {c:?} after error {code}"))
            }
            Some(Seen::End(e)) => return (Answer::Other, format!("ended after error {code}: {e}")),
            None => {
                return (
                    Answer::None,
                    format!("no pong after error {code} within 15 s"),
                )
            }
        }
    }
}
