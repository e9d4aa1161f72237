//! Protocol behaviour over real sockets: welcome, subscribe/publish,
//! recovery ordering, bad frames, connection accounting.

mod common;

use common::*;
use futures_util::future::join_all;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn first_frame_is_connection_established() {
    let server = start(config()).await;
    let (_ws, w) = connect_welcomed(&server).await;
    assert_eq!(w["protocol"], 1);
    assert!(w["client_id"].as_str().unwrap().starts_with("c_"), "{w}");
    let ts = w["timestamp"].as_str().unwrap();
    assert!(
        ts.ends_with('Z') && ts.len() == "2026-11-22T10:00:00.000Z".len(),
        "{ts}"
    );
    assert_eq!(w["heartbeat_interval"], 25.0);
    assert_eq!(
        w["available_topics"],
        json!(["miners", "alerts", "system", "metrics"])
    );
    assert_eq!(w["server_info"]["name"], "tether-server");
    assert_eq!(
        w["server_info"]["features"],
        json!(["topics", "recovery", "heartbeat", "rpc"])
    );
    server.wait_connections(1).await;
}

#[tokio::test]
async fn subscribe_then_http_publish_delivers() {
    let server = start(config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    let sub = subscribe(&mut ws, 1, "miners").await;
    assert_eq!(sub["offset"], 0);
    assert_eq!(sub["recovered"], Value::Null);
    assert_eq!(sub["missed"], 0);
    let epoch = sub["epoch"].as_str().unwrap().to_owned();

    let (status, body) = publish(
        server.addr,
        json!({"topic":"miners","data":{"hashrate":118.2}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"offset":1,"epoch":epoch}));

    let p = recv(&mut ws).await;
    assert_eq!(p["type"], "publication");
    assert_eq!(p["topic"], "miners");
    assert_eq!(p["event"], "miners_update");
    assert_eq!(p["epoch"], epoch.as_str());
    assert_eq!(p["offset"], 1);
    assert_eq!(p["broadcast_id"], format!("miners_{epoch}_1"));
    assert!(p["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(p["data"], json!({"hashrate":118.2}));

    // A named event, and nothing for topics the client did not subscribe to.
    publish(server.addr, json!({"topic":"alerts","data":1})).await;
    publish(server.addr, json!({"topic":"miners","event":"reboot"})).await;
    let p = recv(&mut ws).await;
    assert_eq!(
        (p["topic"].as_str(), p["event"].as_str()),
        (Some("miners"), Some("reboot"))
    );
    assert_eq!(p["offset"], 2);
    assert_eq!(p["data"], Value::Null);
}

#[tokio::test]
async fn hundred_clients_connecting_at_once_all_get_welcome_and_broadcast() {
    let server = start(config()).await;
    let clients = join_all((0..100).map(|i| {
        let url = server.ws_url();
        async move {
            let mut ws = connect_url(&url).await;
            let w = recv(&mut ws).await;
            assert_eq!(w["type"], "connection_established", "client {i}: {w}");
            subscribe(&mut ws, 1, "metrics").await;
            (ws, w["client_id"].as_str().unwrap().to_owned())
        }
    }))
    .await;
    let mut ids: Vec<&String> = clients.iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100, "client ids are unique");
    server.wait_connections(100).await;

    let (status, _) = publish(server.addr, json!({"topic":"metrics","data":{"n":7}})).await;
    assert_eq!(status, 200);
    let got = join_all(clients.into_iter().map(|(mut ws, _)| async move {
        let p = recv(&mut ws).await;
        (p["broadcast_id"].clone(), p["data"].clone())
    }))
    .await;
    let first = got[0].clone();
    assert_eq!(first.1, json!({"n":7}));
    assert!(got.iter().all(|g| *g == first));
}

#[tokio::test]
async fn recovery_replays_exactly_the_missed_in_order_then_live() {
    let server = start(config()).await;
    let (mut a, _) = connect_welcomed(&server).await;
    let sub = subscribe(&mut a, 1, "alerts").await;
    let epoch = sub["epoch"].as_str().unwrap().to_owned();
    for i in 1..=3 {
        publish(server.addr, json!({"topic":"alerts","data":i})).await;
    }
    let mut last = 0;
    for _ in 0..3 {
        last = recv(&mut a).await["offset"].as_u64().unwrap();
    }
    assert_eq!(last, 3);
    drop(a);

    // Missed while away: 4..=8.
    for i in 4..=8 {
        publish(server.addr, json!({"topic":"alerts","data":i})).await;
    }
    let (mut b, _) = connect_welcomed(&server).await;
    // Publish concurrently with the recovering subscribe: whatever the
    // interleaving, the client must see 4, 5, ... without gap or duplicate.
    let addr = server.addr;
    let publisher = tokio::spawn(async move {
        for i in 9..=20 {
            publish(addr, json!({"topic":"alerts","data":i})).await;
        }
    });
    send(
        &mut b,
        json!({"type":"subscribe","id":2,"topic":"alerts","recover":{"epoch":epoch,"offset":3}}),
    )
    .await;
    let reply = recv(&mut b).await;
    assert_eq!(reply["type"], "subscribed", "{reply}");
    assert_eq!(reply["recovered"], true);
    let latest = reply["offset"].as_u64().unwrap();
    assert!(latest >= 8);
    assert_eq!(reply["missed"].as_u64().unwrap(), latest - 3);
    publisher.await.unwrap();
    for want in 4..=20u64 {
        let p = recv(&mut b).await;
        assert_eq!(p["type"], "publication");
        assert_eq!(p["offset"], want, "{p}");
        assert_eq!(p["data"], want);
    }

    // Up to date: recovered with nothing missed. Another epoch: not recovered.
    let (mut c, _) = connect_welcomed(&server).await;
    send(
        &mut c,
        json!({"type":"subscribe","id":1,"topic":"alerts","recover":{"epoch":epoch,"offset":20}}),
    )
    .await;
    let r = recv(&mut c).await;
    assert_eq!(
        (r["recovered"].clone(), r["missed"].clone()),
        (json!(true), json!(0))
    );
    send(
        &mut c,
        json!({"type":"subscribe","id":2,"topic":"system","recover":{"epoch":"e0","offset":5}}),
    )
    .await;
    let r = recv(&mut c).await;
    assert_eq!(
        (r["recovered"].clone(), r["missed"].clone()),
        (json!(false), json!(0))
    );
    send(
        &mut c,
        json!({"type":"subscribe","id":3,"topic":"alerts","recover":{"epoch":epoch,"offset":99}}),
    )
    .await;
    assert_eq!(recv(&mut c).await["recovered"], false);
}

#[tokio::test]
async fn recovery_fails_beyond_kept_history() {
    let mut cfg = config();
    cfg.history_size = 2;
    let server = start(cfg).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    let epoch = subscribe(&mut ws, 1, "system").await["epoch"].clone();
    for i in 1..=5 {
        publish(server.addr, json!({"topic":"system","data":i})).await;
    }
    let (mut b, _) = connect_welcomed(&server).await;
    send(
        &mut b,
        json!({"type":"subscribe","id":1,"topic":"system","recover":{"epoch":epoch,"offset":2}}),
    )
    .await;
    let r = recv(&mut b).await;
    assert_eq!(
        (
            r["recovered"].clone(),
            r["missed"].clone(),
            r["offset"].clone()
        ),
        (json!(false), json!(0), json!(5))
    );
    send(
        &mut b,
        json!({"type":"subscribe","id":2,"topic":"system","recover":{"epoch":epoch,"offset":3}}),
    )
    .await;
    let r = recv(&mut b).await;
    assert_eq!(
        (r["recovered"].clone(), r["missed"].clone()),
        (json!(true), json!(2))
    );
    assert_eq!(recv(&mut b).await["offset"], 4);
    assert_eq!(recv(&mut b).await["offset"], 5);
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_connection_stays() {
    let server = start(config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    let cases: &[(&str, &str, Value)] = &[
        ("{nope", "bad_json", Value::Null),
        ("[1,2]", "bad_frame", Value::Null),
        (r#"{"id":4}"#, "bad_frame", json!(4)),
        (r#"{"type":"subscribe","id":5}"#, "bad_frame", json!(5)),
        (
            r#"{"type":"subscribe","id":6,"topic":7}"#,
            "bad_frame",
            json!(6),
        ),
        (r#"{"type":"teleport","id":7}"#, "unknown_type", json!(7)),
        (
            r#"{"type":"subscribe","id":8,"topic":"nope"}"#,
            "unknown_topic",
            json!(8),
        ),
        (
            r#"{"type":"unsubscribe","id":9,"topic":"nope"}"#,
            "unknown_topic",
            json!(9),
        ),
        (
            r#"{"type":"publish","id":10,"topic":"miners","data":1}"#,
            "forbidden",
            json!(10),
        ),
        (
            r#"{"type":"publish","id":11,"topic":"nope"}"#,
            "unknown_topic",
            json!(11),
        ),
    ];
    for (text, code, id) in cases {
        send_text(&mut ws, text).await;
        let e = recv(&mut ws).await;
        assert_eq!(e["type"], "error", "{text}: {e}");
        assert_eq!(e["code"], *code, "{text}: {e}");
        assert_eq!(e["id"], *id, "{text}: {e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
        if *code == "unknown_topic" {
            assert_eq!(
                e["available_topics"],
                json!(["miners", "alerts", "system", "metrics"])
            );
        }
    }
    let e = {
        send_text(&mut ws, r#"{"type":"subscribe","id":12}"#).await;
        recv(&mut ws).await
    };
    assert!(e["message"].as_str().unwrap().contains("topic"), "{e}");

    use futures_util::SinkExt;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let e = recv(&mut ws).await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("error"), Some("bad_frame"))
    );

    // Still fully working.
    send(&mut ws, json!({"type":"ping","id":13})).await;
    let pong = recv(&mut ws).await;
    assert_eq!(
        (pong["type"].as_str(), pong["id"].as_u64()),
        (Some("pong"), Some(13))
    );
    server.wait_connections(1).await;
}

#[tokio::test]
async fn requests_get_their_replies() {
    let mut cfg = config();
    let dir = TempDir::new("topics");
    cfg.topics = Some(dir.write(
        "topics.json",
        r#"[{"name":"chat","description":"Chat","client_publish":true},{"name":"news"}]"#,
    ));
    let server = start(cfg).await;
    let (mut ws, w) = connect_welcomed(&server).await;
    assert_eq!(w["available_topics"], json!(["chat", "news"]));

    send(&mut ws, json!({"type":"ping","id":1,"include_stats":true})).await;
    let pong = recv(&mut ws).await;
    assert_eq!(pong["id"], 1);
    assert!(pong["server_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(pong["stats"]["connections"], 1);
    assert!(pong["stats"]["messages_in"].as_u64().unwrap() >= 1);
    send(&mut ws, json!({"type":"ping","id":2})).await;
    assert!(recv(&mut ws).await.get("stats").is_none());

    send(&mut ws, json!({"type":"get_topics","id":3})).await;
    let topics = recv(&mut ws).await;
    assert_eq!(
        topics["topics"],
        json!([{"name":"chat","description":"Chat","client_publish":true},
               {"name":"news","description":"","client_publish":false}])
    );

    subscribe(&mut ws, 4, "chat").await;
    send(
        &mut ws,
        json!({"type":"publish","id":5,"topic":"chat","event":"msg","data":{"t":"hi"}}),
    )
    .await;
    // Our own publication is queued before the reply to the publish.
    let p = recv(&mut ws).await;
    assert_eq!(
        (p["type"].as_str(), p["event"].as_str()),
        (Some("publication"), Some("msg"))
    );
    let published = recv(&mut ws).await;
    assert_eq!(published["type"], "published");
    assert_eq!(published["id"], 5);
    assert_eq!(published["offset"], 1);
    assert_eq!(published["epoch"], p["epoch"]);

    send(&mut ws, json!({"type":"publish","id":6,"topic":"news"})).await;
    assert_eq!(recv(&mut ws).await["code"], "forbidden");

    send(&mut ws, json!({"type":"get_status","id":7})).await;
    let st = recv(&mut ws).await;
    assert_eq!(st["type"], "status");
    assert_eq!(st["client_id"], w["client_id"]);
    assert_eq!(st["subscriptions"], json!(["chat"]));
    assert_eq!(st["messages_in"], 7);
    assert!(st["messages_out"].as_u64().unwrap() >= 6);

    send(&mut ws, json!({"type":"unsubscribe","id":8,"topic":"chat"})).await;
    assert_eq!(
        recv(&mut ws).await,
        json!({"type":"unsubscribed","id":8,"topic":"chat"})
    );
    // A client pong needs no answer; the next reply is the status.
    send(&mut ws, json!({"type":"pong"})).await;
    send(&mut ws, json!({"type":"get_status","id":9})).await;
    let st = recv(&mut ws).await;
    assert_eq!(
        (st["id"].clone(), st["subscriptions"].clone()),
        (json!(9), json!([]))
    );
}

#[tokio::test]
async fn connection_count_returns_to_the_live_number_after_closes_and_aborts() {
    let server = start(config()).await;
    let mut clients = Vec::new();
    for _ in 0..12 {
        let (mut ws, _) = connect_welcomed(&server).await;
        subscribe(&mut ws, 1, "miners").await;
        clients.push(ws);
    }
    server.wait_connections(12).await;
    // 4 close politely, 4 vanish without a close frame, 4 stay.
    let mut kept = clients.split_off(8);
    let aborted = clients.split_off(4);
    for mut ws in clients {
        ws.close(None).await.unwrap();
        while let Some(Ok(_)) = futures_util::StreamExt::next(&mut ws).await {}
    }
    drop(aborted);
    server.wait_connections(4).await;
    let subs = server.state.hub().subscription_counts();
    assert_eq!(subs[0], ("miners".to_owned(), 4));
    // The survivors still get publications.
    publish(server.addr, json!({"topic":"miners"})).await;
    for ws in &mut kept {
        assert_eq!(recv(ws).await["type"], "publication");
    }
    drop(kept);
    server.wait_connections(0).await;
}

#[tokio::test]
async fn too_large_message_closes_1009_and_the_limit_itself_is_allowed() {
    let mut cfg = config();
    cfg.max_frame_bytes = 1024;
    let server = start(cfg).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    // Exactly the limit: allowed (it is bad JSON, so an error reply).
    send_text(&mut ws, &"x".repeat(1024)).await;
    assert_eq!(recv(&mut ws).await["code"], "bad_json");
    send_text(&mut ws, &"x".repeat(5000)).await;
    let (code, _) = recv_close(&mut ws).await;
    assert_eq!(code, 1009);
    server.wait_connections(0).await;
}

#[tokio::test]
async fn heartbeat_pings_and_removes_silent_connections() {
    let mut cfg = config();
    cfg.heartbeat_interval = std::time::Duration::from_millis(200);
    let server = start(cfg).await;
    // A reading client receives protocol pings (and answers them
    // automatically), so it stays.
    let (mut live, w) = connect_welcomed(&server).await;
    assert_eq!(w["heartbeat_interval"], 0.2);
    let ping = tokio::time::timeout(WAIT, async {
        loop {
            match futures_util::StreamExt::next(&mut live).await {
                Some(Ok(Message::Ping(_))) => break,
                Some(Ok(_)) => continue,
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
    assert!(ping.is_ok(), "a protocol ping arrives");
    let keep_reading = tokio::spawn(async move {
        while let Some(Ok(_)) = futures_util::StreamExt::next(&mut live).await {}
    });
    // A client that never reads never answers: it goes silent and is removed.
    let (_silent, _) = connect_welcomed(&server).await;
    server.wait_connections(2).await;
    server.wait_connections(1).await;
    assert_eq!(
        server
            .state
            .hub()
            .metrics()
            .stale_disconnects
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    keep_reading.abort();
}

#[tokio::test]
async fn invalid_utf8_text_closes_1007() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    let server = start(config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    let frame = Frame::message(vec![0xff, 0xfe, b'{'], OpCode::Data(Data::Text), true);
    ws.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(recv_close(&mut ws).await.0, 1007);
    server.wait_connections(0).await;
}

#[tokio::test]
async fn demo_publishes_on_the_builtin_topics() {
    let server = start(config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    for (id, topic) in ["miners", "metrics", "system"].into_iter().enumerate() {
        subscribe(&mut ws, id as u64 + 1, topic).await;
    }
    let demo = tether_server::demo::spawn(server.state.clone());
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 3 {
        let p = recv(&mut ws).await;
        assert_eq!(p["type"], "publication");
        seen.insert(p["topic"].as_str().unwrap().to_owned());
        if p["topic"] == "miners" {
            assert_eq!(p["data"]["miners"].as_array().unwrap().len(), 8);
        }
    }
    demo.abort();
}

#[tokio::test]
async fn a_large_message_under_the_limit_is_read_whole() {
    // The read buffer is small (1 KiB); a 60 KiB frame arrives in chunks.
    let server = start(config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    let pad = "p".repeat(60 * 1024);
    send(&mut ws, json!({"type":"ping","id":1,"pad":pad})).await;
    let pong = recv(&mut ws).await;
    assert_eq!(
        (pong["type"].as_str(), pong["id"].as_u64()),
        (Some("pong"), Some(1))
    );
    send(&mut ws, json!({"type":"ping","id":2})).await;
    assert_eq!(recv(&mut ws).await["id"], 2);
}
