//! History on load: `subscribe` with `rewind` (the latest kept publications
//! follow `subscribed`, then live), and `GET /topics/{name}/history` for
//! the load-then-subscribe-since pattern (docs/PROTOCOL.md, "Recovery").

mod common;

use common::*;
use serde_json::{json, Value};

/// Publishes `data` 1..=n on `topic`.
async fn publish_n(server: &TestServer, topic: &str, n: u64) {
    for i in 1..=n {
        let (status, _) = publish(server.addr, json!({"topic":topic,"data":i})).await;
        assert_eq!(status, 200);
    }
}

/// Sends `subscribe` with `extra` fields; returns the reply and the offsets
/// of the `missed` publications that follow it.
async fn subscribe_with(ws: &mut Ws, id: u64, topic: &str, extra: Value) -> (Value, Vec<u64>) {
    let mut frame = json!({"type":"subscribe","id":id,"topic":topic});
    for (k, v) in extra.as_object().unwrap() {
        frame[k] = v.clone();
    }
    send(ws, frame).await;
    let reply = recv(ws).await;
    assert_eq!(reply["type"], "subscribed", "{reply}");
    let mut offsets = Vec::new();
    for _ in 0..reply["missed"].as_u64().unwrap() {
        let p = recv(ws).await;
        assert_eq!(p["type"], "publication", "{p}");
        offsets.push(p["offset"].as_u64().unwrap());
    }
    (reply, offsets)
}

#[tokio::test]
async fn rewind_gives_the_latest_kept_in_order_then_live() {
    let mut cfg = config();
    cfg.history_size = 5;
    let server = start(cfg).await;
    publish_n(&server, "alerts", 10).await;
    let (mut ws, _) = connect_welcomed(&server).await;

    let (r, got) = subscribe_with(&mut ws, 1, "alerts", json!({"rewind": 3})).await;
    assert_eq!(
        (r["recovered"].clone(), r["offset"].clone()),
        (Value::Null, json!(10))
    );
    assert_eq!(got, [8, 9, 10]);
    publish(server.addr, json!({"topic":"alerts","data":11})).await;
    assert_eq!(recv(&mut ws).await["offset"], 11, "then live");

    // More than kept: what is kept (history_size 5). Zero: nothing.
    let (mut b, _) = connect_welcomed(&server).await;
    let (_, got) = subscribe_with(&mut b, 1, "alerts", json!({"rewind": 100})).await;
    assert_eq!(got, [7, 8, 9, 10, 11]);
    let (r, got) = subscribe_with(&mut b, 2, "alerts", json!({"rewind": 0})).await;
    assert_eq!((r["missed"].clone(), got.len()), (json!(0), 0));
    // A topic with nothing published: nothing follows.
    let (r, got) = subscribe_with(&mut b, 3, "system", json!({"rewind": 10})).await;
    assert_eq!((r["offset"].clone(), got.len()), (json!(0), 0));
}

#[tokio::test]
async fn recover_wins_over_rewind_and_rewind_applies_when_recovery_fails() {
    let server = start(config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    let epoch = subscribe(&mut ws, 1, "alerts").await["epoch"].clone();
    publish_n(&server, "alerts", 10).await;

    let (mut b, _) = connect_welcomed(&server).await;
    let recover = json!({"epoch": epoch, "offset": 8});
    let (r, got) = subscribe_with(
        &mut b,
        1,
        "alerts",
        json!({"recover": recover, "rewind": 5}),
    )
    .await;
    assert_eq!(r["recovered"], true);
    assert_eq!(got, [9, 10], "recovery replays exactly what was missed");

    // Another epoch (the app's saved position is from before a restart):
    // not recovered, and the history it asked for follows instead.
    let stale = json!({"epoch": "e00000000", "offset": 4});
    let (r, got) =
        subscribe_with(&mut b, 2, "alerts", json!({"recover": stale, "rewind": 2})).await;
    assert_eq!(r["recovered"], false);
    assert_eq!(got, [9, 10]);
    assert_eq!(
        r["offset"].as_u64().unwrap() - r["missed"].as_u64().unwrap(),
        8,
        "offset - missed is the position before the history"
    );
}

/// A `rewind` replays at most `--replay-bytes`, newest first, so a
/// 60-byte subscribe cannot make the server send the whole history.
#[tokio::test]
async fn rewind_is_bounded_by_replay_bytes() {
    let mut cfg = config();
    cfg.replay_bytes = 8_000;
    let server = start(cfg).await;
    let pad = "p".repeat(1000);
    for n in 1..=20 {
        let (status, _) = publish(server.addr, json!({"topic":"alerts","data":[n, pad]})).await;
        assert_eq!(status, 200);
    }
    let (mut ws, _) = connect_welcomed(&server).await;
    let (r, got) = subscribe_with(&mut ws, 1, "alerts", json!({"rewind": 1000})).await;
    let missed = r["missed"].as_u64().unwrap();
    assert!(
        (1..8).contains(&missed),
        "each frame is over 1000 bytes: {missed}"
    );
    assert_eq!(
        got,
        ((21 - missed)..=20).collect::<Vec<_>>(),
        "the newest ones"
    );
    // The history endpoint is bounded the same way, whatever its limit.
    let (status, body) = http(
        server.addr,
        "GET",
        "/topics/alerts/history?limit=1000",
        &[],
        "",
    )
    .await;
    assert_eq!(status, 200);
    let h: Value = serde_json::from_str(&body).unwrap();
    let offsets: Vec<u64> = h["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(
        offsets, got,
        "the same newest ones that fit in --replay-bytes"
    );
}

#[tokio::test]
async fn history_endpoint_then_subscribe_since_misses_nothing_and_repeats_nothing() {
    let server = start(config()).await;
    let (mut live, _) = connect_welcomed(&server).await;
    subscribe(&mut live, 1, "alerts").await;
    publish_n(&server, "alerts", 6).await;
    let mut live_frames = Vec::new();
    for _ in 0..6 {
        live_frames.push(recv(&mut live).await);
    }

    let (status, body) = http(
        server.addr,
        "GET",
        "/topics/alerts/history?limit=3",
        &[],
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let h: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["offset"], 6);
    assert_eq!(h["epoch"], live_frames[0]["epoch"]);
    assert_eq!(
        h["publications"].as_array().unwrap(),
        &live_frames[3..],
        "exactly the frames subscribers got, oldest first"
    );

    // Published between the page load and the subscribe: recovered from
    // the history's position, no gap, no duplicate.
    publish_n(&server, "alerts", 2).await;
    let (mut page, _) = connect_welcomed(&server).await;
    let since = json!({"epoch": h["epoch"], "offset": h["offset"]});
    let (r, got) = subscribe_with(&mut page, 1, "alerts", json!({"recover": since})).await;
    assert_eq!(r["recovered"], true);
    assert_eq!(got, [7, 8]);

    let (status, body) = http(server.addr, "GET", "/topics/alerts/history", &[], "").await;
    assert_eq!(status, 200);
    let all: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        all["publications"].as_array().unwrap().len(),
        8,
        "the default limit covers them"
    );
    let (status, body) = http(
        server.addr,
        "GET",
        "/topics/alerts/history?limit=0",
        &[],
        "",
    )
    .await;
    assert_eq!(
        (status, body.contains(r#""publications":[]"#)),
        (200, true),
        "{body}"
    );
    let (status, body) = http(
        server.addr,
        "GET",
        "/topics/alerts/history?limit=-1",
        &[],
        "",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("limit"), "{body}");
    let (status, _) = http(server.addr, "GET", "/topics/nope/history", &[], "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn history_needs_a_token_under_token_secret() {
    let mut cfg = config();
    cfg.token_secret = Some("k".into());
    let server = start(cfg).await;
    let (status, _) = http(server.addr, "GET", "/topics/alerts/history", &[], "").await;
    assert_eq!(status, 401);
    let other = format!(
        "Bearer {}",
        jwt("k", json!({"exp": unix_in(60), "topics": ["system"]}))
    );
    let (status, _) = http(
        server.addr,
        "GET",
        "/topics/alerts/history",
        &[("Authorization", &other)],
        "",
    )
    .await;
    assert_eq!(status, 403);
    let good = format!(
        "Bearer {}",
        jwt("k", json!({"exp": unix_in(60), "topics": ["alerts"]}))
    );
    let (status, body) = http(
        server.addr,
        "GET",
        "/topics/alerts/history",
        &[("Authorization", &good)],
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
