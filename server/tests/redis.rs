//! `--broker redis://…`: several in-process servers sharing a real
//! `redis-server` (the Debian package), started by each test on a free port
//! without persistence, and killed at the end.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Pause between two polls of a bounded polling loop (never a
/// synchroniser: every loop checks a condition and has a deadline).
const POLL: Duration = Duration::from_millis(20);

/// A `redis-server` child process on a free port.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    async fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Redis { port, child: None };
        redis.spawn().await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `redis-server` ({e}): install the Debian package redis-server")
            });
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        while !self.pings().await {
            assert!(
                Instant::now() < deadline,
                "redis-server never answered PING"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    async fn pings(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").await.is_ok()
            && tokio::time::timeout(WAIT, s.read_exact(&mut buf))
                .await
                .is_ok_and(|r| r.is_ok())
            && &buf == b"+PONG\r\n"
    }

    /// Kills the process (SIGKILL) and waits for it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn command(&self, args: &[&str]) -> redis::Value {
        let client = redis::Client::open(self.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query_async(&mut conn).await.unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn broker_config(redis: &Redis) -> tether_server::Config {
    let mut cfg = config();
    cfg.broker = Some(redis.url());
    cfg.shutdown_retry_after_ms = 20;
    cfg.shutdown_spread_ms = 200;
    cfg
}

/// Starts a server on the broker and waits until it is healthy.
async fn instance(redis: &Redis) -> TestServer {
    let server = start(broker_config(redis)).await;
    wait_health(server.addr, 200).await;
    server
}

async fn health(addr: SocketAddr) -> u16 {
    http(addr, "GET", "/healthz", &[], "").await.0
}

async fn wait_health(addr: SocketAddr, want: u16) {
    let deadline = Instant::now() + WAIT;
    while health(addr).await != want {
        assert!(Instant::now() < deadline, "/healthz of {addr} never {want}");
        tokio::time::sleep(POLL).await;
    }
}

/// A metric's value from `/metrics`.
async fn metric(addr: SocketAddr, name: &str) -> u64 {
    let (_, text) = http(addr, "GET", "/metrics", &[], "").await;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no `{name}` in:\n{text}"))
}

/// Waits until the instance's mirror holds `offset` of `topic`: a 200 of
/// `POST /publish` means Redis has it; instances see it asynchronously.
async fn wait_latest(addr: SocketAddr, topic: &str, offset: u64) {
    let deadline = Instant::now() + WAIT;
    let path = format!("/topics/{topic}/latest");
    loop {
        let (status, body) = http(addr, "GET", &path, &[], "").await;
        if status == 200 && serde_json::from_str::<Value>(&body).unwrap()["offset"] == offset {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{addr} never saw {topic} offset {offset}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Bytes Redis has sent to its clients so far (`INFO stats`).
async fn output_bytes(redis: &Redis) -> u64 {
    let text = match redis.command(&["INFO", "stats"]).await {
        redis::Value::VerbatimString { text, .. } => text,
        redis::Value::BulkString(bytes) => String::from_utf8(bytes).expect("INFO is text"),
        other => panic!("INFO answered {other:?}"),
    };
    text.lines()
        .find_map(|l| {
            l.strip_prefix("total_net_output_bytes:")?
                .trim()
                .parse()
                .ok()
        })
        .expect("total_net_output_bytes in INFO stats")
}

/// Stops a server gracefully and waits for it to end.
async fn stop(mut server: TestServer) {
    server.stop();
    let _ = tokio::time::timeout(WAIT, &mut server.task)
        .await
        .expect("server stopped");
}

async fn subscribe_recover(ws: &mut Ws, id: u64, topic: &str, epoch: &Value, offset: u64) -> Value {
    send(
        ws,
        json!({"type":"subscribe","id":id,"topic":topic,
               "recover":{"epoch":epoch,"offset":offset}}),
    )
    .await;
    let reply = recv(ws).await;
    assert_eq!(reply["type"], "subscribed", "{reply}");
    reply
}

/// Receives the next publication and checks its position.
async fn expect_pub(ws: &mut Ws, epoch: &Value, offset: u64) -> Value {
    let p = recv(ws).await;
    assert_eq!(p["type"], "publication", "{p}");
    assert_eq!(
        (&p["epoch"], p["offset"].as_u64()),
        (epoch, Some(offset)),
        "{p}"
    );
    p
}

#[tokio::test]
async fn publications_reach_subscribers_of_every_instance_with_global_offsets() {
    let redis = Redis::start().await;
    let a = instance(&redis).await;
    let b = instance(&redis).await;
    let c = instance(&redis).await;
    let (mut on_a, _) = connect_welcomed(&a).await;
    let (mut on_b, _) = connect_welcomed(&b).await;
    let sub = subscribe(&mut on_a, 1, "alerts").await;
    assert_eq!(sub["offset"], 0);
    subscribe(&mut on_b, 1, "alerts").await;
    let mut epoch = Value::Null;
    // Through C, then through every instance in turn: one sequence.
    for (n, via) in [c.addr, c.addr, c.addr, a.addr, b.addr, c.addr]
        .into_iter()
        .enumerate()
    {
        let (status, body) = publish(
            via,
            json!({"topic":"alerts","event":"alert","data":{"n":n}}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["offset"], n as u64 + 1);
        epoch = body["epoch"].clone();
    }
    assert_eq!(epoch, sub["epoch"]);
    for ws in [&mut on_a, &mut on_b] {
        for n in 0..6u64 {
            let p = expect_pub(ws, &epoch, n + 1).await;
            assert_eq!(p["data"]["n"], n);
            assert_eq!(p["event"], "alert");
            assert_eq!(
                p["broadcast_id"],
                format!("alerts_{}_{}", epoch.as_str().unwrap(), n + 1)
            );
        }
    }
    // The latest frame is the same on every instance.
    let (_, latest) = http(b.addr, "GET", "/topics/alerts/latest", &[], "").await;
    let latest: Value = serde_json::from_str(&latest).unwrap();
    assert_eq!(latest["offset"], 6);
}

#[tokio::test]
async fn recovery_works_on_another_instance() {
    let redis = Redis::start().await;
    let a = instance(&redis).await;
    let b = instance(&redis).await;
    let c = instance(&redis).await;
    let (mut ws, _) = connect_welcomed(&a).await;
    let epoch = subscribe(&mut ws, 1, "miners").await["epoch"].clone();
    for n in 1..=3 {
        publish(c.addr, json!({"topic":"miners","data":n})).await;
        expect_pub(&mut ws, &epoch, n).await;
    }
    drop(ws);
    for n in 4..=6 {
        publish(c.addr, json!({"topic":"miners","data":n})).await;
    }
    wait_latest(b.addr, "miners", 6).await;
    let (mut ws, _) = connect_welcomed(&b).await;
    let sub = subscribe_recover(&mut ws, 1, "miners", &epoch, 3).await;
    assert_eq!(
        (
            sub["recovered"].as_bool(),
            sub["missed"].as_u64(),
            sub["offset"].as_u64()
        ),
        (Some(true), Some(3), Some(6)),
        "{sub}"
    );
    for n in 4..=6 {
        assert_eq!(expect_pub(&mut ws, &epoch, n).await["data"], n);
    }
    publish(a.addr, json!({"topic":"miners","data":7})).await;
    expect_pub(&mut ws, &epoch, 7).await;
}

#[tokio::test]
async fn restarting_an_instance_keeps_the_epoch_and_a_flush_changes_it() {
    let redis = Redis::start().await;
    let a = instance(&redis).await;
    let (_, first) = publish(a.addr, json!({"topic":"system"})).await;
    publish(a.addr, json!({"topic":"system"})).await;
    let epoch = first["epoch"].clone();
    stop(a).await;
    let a2 = instance(&redis).await;
    let (mut ws, _) = connect_welcomed(&a2).await;
    let sub = subscribe_recover(&mut ws, 1, "system", &epoch, 1).await;
    assert_eq!(
        (
            &sub["epoch"],
            sub["offset"].as_u64(),
            sub["recovered"].as_bool()
        ),
        (&epoch, Some(2), Some(true)),
        "{sub}"
    );
    expect_pub(&mut ws, &epoch, 2).await;

    redis.command(&["FLUSHALL"]).await;
    let (status, after) = publish(a2.addr, json!({"topic":"system"})).await;
    assert_eq!(status, 200);
    assert_eq!(after["offset"], 1);
    assert_ne!(after["epoch"], epoch);
    // Followed live: the subscriber sees the new epoch start at 1.
    expect_pub(&mut ws, &after["epoch"], 1).await;
    // An old position is not recoverable, on this instance or a new one.
    let b = instance(&redis).await;
    for server in [&a2, &b] {
        let (mut ws, _) = connect_welcomed(server).await;
        let sub = subscribe_recover(&mut ws, 1, "system", &epoch, 2).await;
        assert_eq!(sub["recovered"], false, "{sub}");
        assert_eq!(
            (&sub["epoch"], sub["offset"].as_u64()),
            (&after["epoch"], Some(1))
        );
    }
}

#[tokio::test]
async fn a_lost_broker_message_is_replayed_from_the_history() {
    let redis = Redis::start().await;
    let a = instance(&redis).await;
    let (mut ws, _) = connect_welcomed(&a).await;
    let epoch = subscribe(&mut ws, 1, "alerts").await["epoch"].clone();
    publish(a.addr, json!({"topic":"alerts","data":1})).await;
    expect_pub(&mut ws, &epoch, 1).await;
    // Offset 2 is written to the history but published on a channel
    // nobody listens to: the instance sees offset 3 first.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let head = r#"{"type":"publication","topic":"alerts","event":"alerts_update","#;
    let tail = r#""timestamp":"2026-01-01T00:00:00.000Z","data":2}"#;
    let _: redis::Value = redis::Script::new(tether_server::broker::PUBLISH_SCRIPT)
        .key("tether:{alerts}:epoch")
        .key("tether:{alerts}:offset")
        .key("tether:{alerts}:log")
        .arg("unused")
        .arg(1000)
        .arg("nobody-listens")
        .arg("alerts")
        .arg(head)
        .arg(tail)
        .arg(0)
        .invoke_async(&mut conn)
        .await
        .unwrap();
    publish(a.addr, json!({"topic":"alerts","data":3})).await;
    for n in 2..=3 {
        assert_eq!(expect_pub(&mut ws, &epoch, n).await["data"], n);
    }
}

#[tokio::test]
async fn a_dropped_subscription_link_reconnects_and_replays_the_gap() {
    let redis = Redis::start().await;
    let a = instance(&redis).await;
    let c = instance(&redis).await;
    let (mut ws, _) = connect_welcomed(&a).await;
    let epoch = subscribe(&mut ws, 1, "alerts").await["epoch"].clone();
    publish(c.addr, json!({"topic":"alerts","data":1})).await;
    expect_pub(&mut ws, &epoch, 1).await;
    let connects = metric(a.addr, "tether_broker_connects_total").await;
    redis.command(&["CLIENT", "KILL", "TYPE", "pubsub"]).await;
    // Publish while the links are down or coming back (503 meanwhile).
    let mut published = 1;
    let deadline = Instant::now() + WAIT;
    while published < 5 {
        let (status, _) = publish(c.addr, json!({"topic":"alerts","data":published + 1})).await;
        match status {
            200 => published += 1,
            503 => tokio::time::sleep(POLL).await,
            other => panic!("publish: {other}"),
        }
        assert!(Instant::now() < deadline, "publishing never recovered");
    }
    // A reconnected (and counted it).
    let deadline = Instant::now() + WAIT;
    while metric(a.addr, "tether_broker_connects_total").await <= connects {
        assert!(Instant::now() < deadline, "A never reconnected");
        tokio::time::sleep(POLL).await;
    }
    // Every publication exactly once, in order.
    for n in 2..=5 {
        assert_eq!(expect_pub(&mut ws, &epoch, n).await["data"], n);
    }
    send(&mut ws, json!({"type":"ping","id":9})).await;
    assert_eq!(recv(&mut ws).await["type"], "pong");
}

#[tokio::test]
async fn redis_down_keeps_clients_and_answers_503_then_recovers() {
    let mut redis = Redis::start().await;
    let mut cfg = broker_config(&redis);
    let dir = TempDir::new("redis-down");
    cfg.topics = Some(dir.write(
        "topics.json",
        r#"[{"name":"alerts"},{"name":"chat","client_publish":true}]"#,
    ));
    let a = start(cfg).await;
    wait_health(a.addr, 200).await;
    let b = instance(&redis).await;
    let (mut ws, _) = connect_welcomed(&a).await;
    let epoch = subscribe(&mut ws, 1, "alerts").await["epoch"].clone();
    publish(b.addr, json!({"topic":"alerts"})).await;
    expect_pub(&mut ws, &epoch, 1).await;

    redis.kill();
    wait_health(a.addr, 503).await;
    wait_health(b.addr, 503).await;
    let (status, body) = publish(a.addr, json!({"topic":"alerts"})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(metric(a.addr, "tether_broker_up").await, 0);
    assert!(metric(a.addr, "tether_dropped_total{reason=\"broker_down\"}").await >= 1);
    // The local client stays connected and served; its own publish is
    // refused with a code it can act on, not lost.
    send(
        &mut ws,
        json!({"type":"publish","id":2,"topic":"chat","data":1}),
    )
    .await;
    let refused = recv(&mut ws).await;
    assert_eq!(
        (&refused["id"], &refused["code"]),
        (&json!(2), &json!("unavailable")),
        "{refused}"
    );
    send(&mut ws, json!({"type":"ping","id":3})).await;
    assert_eq!(recv(&mut ws).await["type"], "pong");
    // Recovery from the instance's mirror still works meanwhile.
    let (mut other, _) = connect_welcomed(&a).await;
    let sub = subscribe_recover(&mut other, 1, "alerts", &epoch, 0).await;
    assert_eq!(
        (sub["recovered"].as_bool(), sub["missed"].as_u64()),
        (Some(true), Some(1))
    );
    drop(other);

    // Back, without its data (no persistence): the history is lost.
    redis.spawn().await;
    wait_health(a.addr, 200).await;
    wait_health(b.addr, 200).await;
    // The subscriber cannot be told what it missed: it is closed, so it
    // resubscribes and learns `recovered: false`.
    assert_eq!(recv_close(&mut ws).await.0, 1012);
    let (status, after) = publish(b.addr, json!({"topic":"alerts"})).await;
    assert_eq!(status, 200);
    assert_eq!(after["offset"], 1);
    assert_ne!(after["epoch"], epoch);
    wait_latest(a.addr, "alerts", 1).await;
    let (mut ws, _) = connect_welcomed(&a).await;
    let sub = subscribe_recover(&mut ws, 1, "alerts", &epoch, 1).await;
    assert_eq!(sub["recovered"], false, "{sub}");
    assert_eq!(
        (&sub["epoch"], sub["offset"].as_u64()),
        (&after["epoch"], Some(1))
    );
    publish(b.addr, json!({"topic":"alerts"})).await;
    expect_pub(&mut ws, &after["epoch"], 2).await;
}

/// `POST /publish`, or why not (the instance may be going away).
async fn try_publish(addr: SocketAddr, n: u64) -> Option<u64> {
    let body = json!({"topic":"metrics","data":{"n":n}}).to_string();
    let attempt = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        let req = format!(
            "POST /publish HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.ok()?;
        let text = String::from_utf8_lossy(&raw);
        if !text.starts_with("HTTP/1.1 200") {
            return None;
        }
        let (_, body) = text.split_once("\r\n\r\n")?;
        serde_json::from_str::<Value>(body).ok()?["offset"].as_u64()
    };
    tokio::time::timeout(WAIT, attempt).await.ok().flatten()
}

/// What one following client saw.
#[derive(Debug, Default)]
struct Followed {
    connections: u32,
    goaways: u32,
    last: u64,
}

/// A native client that follows `goaway`: it reconnects to another live
/// instance after `retry_after_ms + uniform(0, spread_ms)` and resubscribes
/// with recovery. Checks that it sees every offset exactly once, in order,
/// and that every recovery succeeds. Ends once it has seen `final_offset`.
async fn follower(
    live: Arc<Mutex<Vec<SocketAddr>>>,
    subscribed: tokio::sync::mpsc::Sender<()>,
    mut final_offset: tokio::sync::watch::Receiver<Option<u64>>,
) -> Result<Followed, String> {
    let mut seen = Followed::default();
    let mut pos: Option<(Value, u64)> = None;
    let mut previous: Option<SocketAddr> = None;
    let mut delay = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if Instant::now() > deadline {
            return Err(format!("not done in time: {seen:?}"));
        }
        // The reconnect delay `goaway` asked for, or a short retry pause.
        tokio::time::sleep(delay).await;
        delay = POLL;
        let addr = {
            let live = live.lock().unwrap();
            let others: Vec<_> = live.iter().filter(|a| Some(**a) != previous).collect();
            match others.get(fastrand::usize(..others.len().max(1))) {
                Some(a) => **a,
                None => continue,
            }
        };
        previous = Some(addr);
        let Ok(Ok((mut ws, _))) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::connect_async(format!("ws://{addr}/ws")),
        )
        .await
        else {
            continue;
        };
        let mut sub = json!({"type":"subscribe","id":1,"topic":"metrics"});
        if let Some((epoch, offset)) = &pos {
            sub["recover"] = json!({"epoch": epoch, "offset": offset});
        }
        if ws.send(Message::text(sub.to_string())).await.is_err() {
            continue;
        }
        seen.connections += 1;
        loop {
            let msg = tokio::select! {
                msg = tokio::time::timeout(WAIT, ws.next()) => match msg {
                    Ok(msg) => Some(msg),
                    Err(_) => return Err(format!("silent connection to {addr}: {seen:?} at {pos:?}, final {:?}", *final_offset.borrow())),
                },
                _ = final_offset.changed() => None,
            };
            let done = |pos: &Option<(Value, u64)>| match (*final_offset.borrow(), pos) {
                (Some(f), Some((_, last))) => (*last >= f).then_some(*last),
                _ => None,
            };
            if let Some(last) = done(&pos) {
                seen.last = last;
                return Ok(seen);
            }
            let text = match msg {
                // The final offset is known now: go on reading.
                None => continue,
                Some(Some(Ok(Message::Text(t)))) => t,
                Some(Some(Ok(Message::Close(_)) | Err(_)) | None) => break,
                Some(Some(Ok(_))) => continue,
            };
            let v: Value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
            match v["type"].as_str() {
                Some("subscribed") => match &pos {
                    None => {
                        pos = Some((v["epoch"].clone(), v["offset"].as_u64().unwrap_or(0)));
                        let _ = subscribed.send(()).await;
                    }
                    Some(_) if v["recovered"] != true => {
                        return Err(format!("not recovered: {v} ({seen:?})"))
                    }
                    Some(_) => {}
                },
                Some("publication") => {
                    let (epoch, last) = pos.as_mut().ok_or("publication before subscribed")?;
                    if v["epoch"] != *epoch || v["offset"].as_u64() != Some(*last + 1) {
                        return Err(format!("after {epoch}/{last} got {v}"));
                    }
                    *last += 1;
                    if let Some(last) = done(&pos) {
                        seen.last = last;
                        return Ok(seen);
                    }
                }
                Some("goaway") => {
                    seen.goaways += 1;
                    let ms = v["retry_after_ms"].as_u64().unwrap_or(0)
                        + fastrand::u64(..=v["spread_ms"].as_u64().unwrap_or(0));
                    delay = Duration::from_millis(ms);
                }
                _ => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_with_goaway_loses_no_publication() {
    const CLIENTS: usize = 300;
    const PUBLICATIONS: u64 = 300;
    let redis = Redis::start().await;
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(instance(&redis).await);
    }
    let live = Arc::new(Mutex::new(
        servers.iter().map(|s| s.addr).collect::<Vec<_>>(),
    ));
    let (subscribed_tx, mut subscribed_rx) = tokio::sync::mpsc::channel(CLIENTS);
    let (final_tx, final_rx) = tokio::sync::watch::channel(None);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            tokio::spawn(follower(
                live.clone(),
                subscribed_tx.clone(),
                final_rx.clone(),
            ))
        })
        .collect();
    for _ in 0..CLIENTS {
        tokio::time::timeout(WAIT, subscribed_rx.recv())
            .await
            .expect("every client subscribes");
    }

    // Publish at a modest rate (every 10 ms) through whichever instances
    // are live, while A, B, C are restarted one after the other.
    let published = Arc::new(AtomicU64::new(0));
    let publisher = {
        let live = live.clone();
        let published = published.clone();
        tokio::spawn(async move {
            let mut latest = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let deadline = Instant::now() + Duration::from_secs(30);
            while latest < PUBLICATIONS {
                tick.tick().await;
                assert!(Instant::now() < deadline, "publisher stuck");
                let addrs = live.lock().unwrap().clone();
                let Some(addr) = addrs.get(fastrand::usize(..addrs.len().max(1))) else {
                    continue;
                };
                if let Some(offset) = try_publish(*addr, latest + 1).await {
                    latest = latest.max(offset);
                    published.store(latest, Relaxed);
                }
            }
            latest
        })
    };
    let mut old_servers = std::mem::take(&mut servers);
    let mut drains = Vec::new();
    for round in 1..=3u64 {
        // Let some publications flow before each restart.
        let deadline = Instant::now() + Duration::from_secs(20);
        while published.load(Relaxed) < round * PUBLICATIONS / 4 {
            assert!(Instant::now() < deadline, "publishing stalled");
            tokio::time::sleep(POLL).await;
        }
        let old = old_servers.remove(0);
        live.lock().unwrap().retain(|a| *a != old.addr);
        let had = old.state.hub().connection_count();
        let started = Instant::now();
        stop(old).await;
        drains.push((had, started.elapsed()));
        let new = instance(&redis).await;
        live.lock().unwrap().push(new.addr);
        servers.push(new);
    }
    let latest = tokio::time::timeout(Duration::from_secs(30), publisher)
        .await
        .expect("publisher ends")
        .unwrap();
    final_tx.send_replace(Some(latest));
    let mut connections = 0;
    let mut goaways = 0;
    for c in clients {
        let seen = tokio::time::timeout(Duration::from_secs(30), c)
            .await
            .expect("client ends")
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seen.last, latest);
        assert!(seen.goaways >= 1, "{seen:?}");
        connections += seen.connections;
        goaways += seen.goaways;
    }
    eprintln!(
        "rolling restart: {latest} publications, {CLIENTS} clients, {connections} connections, \
         {goaways} goaways, restarts (connections, drain): {drains:?}"
    );
}

/// Large kept publications: the history is read in pages, each with its
/// own timeout, and only as far as `--history-bytes`, so a new instance
/// becomes ready, and a running one comes back after its subscription link
/// dropped, however much Redis keeps (80 MiB here, which one reply of the
/// whole history could not bring within the command timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_histories_do_not_keep_an_instance_out() {
    let redis = Redis::start().await;
    let a = instance(&redis).await;
    let big = "x".repeat(1 << 20);
    for n in 1..=80 {
        let (status, _) = publish(a.addr, json!({"topic":"alerts","data":[n, big]})).await;
        assert_eq!(status, 200);
    }
    let started = Instant::now();
    let sent_before = output_bytes(&redis).await;
    let mut cfg = broker_config(&redis);
    cfg.replay_bytes = 8 << 20;
    let b = start(cfg).await;
    wait_health(b.addr, 200).await;
    wait_latest(b.addr, "alerts", 80).await;
    let read = output_bytes(&redis).await - sent_before;
    eprintln!(
        "a new instance was ready in {:?}, having read {read} bytes",
        started.elapsed()
    );
    // It read what its --history-bytes keeps (16 MiB, and at most one page
    // more), not the 80 MiB Redis holds.
    assert!(read < 40 << 20, "the new instance read {read} bytes");
    // B keeps what fits in --history-bytes (16 MiB): a client 5 behind
    // recovers there; one 60 behind gets `recovered: false`.
    let (mut ws, _) = connect_welcomed(&b).await;
    let epoch = subscribe(&mut ws, 1, "alerts").await["epoch"].clone();
    let mut cfg_ws = connect_welcomed(&b).await.0;
    let sub = subscribe_recover(&mut cfg_ws, 1, "alerts", &epoch, 75).await;
    assert_eq!(
        (sub["recovered"].as_bool(), sub["missed"].as_u64()),
        (Some(true), Some(5))
    );
    let mut far = connect_welcomed(&b).await.0;
    let sub = subscribe_recover(&mut far, 1, "alerts", &epoch, 20).await;
    assert_eq!(sub["recovered"], false, "{sub}");
    // A blip of every subscription link: both instances resync and are
    // healthy again.
    redis.command(&["CLIENT", "KILL", "TYPE", "pubsub"]).await;
    let (status, _) = publish(a.addr, json!({"topic":"alerts","data":81})).await;
    assert!(status == 200 || status == 503, "{status}");
    wait_health(a.addr, 200).await;
    wait_health(b.addr, 200).await;
    let (status, _) = publish(b.addr, json!({"topic":"alerts","data":82})).await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + WAIT;
    loop {
        let p = recv(&mut ws).await;
        if p["data"] == 82 {
            break;
        }
        assert!(Instant::now() < deadline, "B's subscriber never got 82");
    }
}
