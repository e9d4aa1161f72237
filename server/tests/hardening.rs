//! Abuse paths found in review, each closed and kept closed: sockets that
//! never finish their headers, one address hoarding sockets, replies that
//! grow with the request, frames that break RFC 6455, tokens that expire
//! while their connection is open.

mod common;

use std::time::{Duration, Instant};

use common::raw;
use common::*;
use serde_json::json;
use tether_protocol::close::code;
use tokio::io::AsyncWriteExt;

/// A silent socket, and one that sends half its headers, are closed after
/// `--header-timeout`; a client that sends its request in time is served.
#[tokio::test]
async fn sockets_that_do_not_finish_their_headers_are_closed() {
    let mut cfg = config();
    cfg.header_timeout = Duration::from_millis(500);
    let server = start(cfg).await;
    let started = Instant::now();
    let mut silent = raw::tcp_from("127.0.0.1", server.addr).await;
    let mut slow = raw::tcp_from("127.0.0.1", server.addr).await;
    slow.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(raw::closed_by_server(&mut silent).await, "silent socket");
    assert!(raw::closed_by_server(&mut slow).await, "half-sent headers");
    assert!(started.elapsed() >= Duration::from_millis(400));
    let (_ws, welcome) = connect_welcomed(&server).await;
    assert_eq!(welcome["type"], "connection_established");
}

/// Sockets from one address that are still in HTTP are bounded: over
/// `--max-pending-per-ip` they are closed at once, and clients from other
/// addresses keep connecting while the hoard is held.
#[tokio::test]
async fn one_address_cannot_hoard_sockets() {
    let mut cfg = config();
    cfg.max_pending_per_ip = 5;
    let server = start(cfg).await;
    let mut hoard = Vec::new();
    for _ in 0..20 {
        hoard.push(raw::tcp_from("127.0.0.2", server.addr).await);
    }
    let started = Instant::now();
    let mut closed = 0;
    for tcp in hoard.iter_mut().skip(5) {
        if raw::closed_by_server(tcp).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 15, "the sockets over the limit are closed");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "at once, not by the header timeout"
    );
    let refused = &server.state.hub().metrics().refused_pending;
    assert_eq!(refused.load(std::sync::atomic::Ordering::Relaxed), 15);
    // Another address is not affected; neither is a WebSocket of the same
    // address once its socket left HTTP.
    let (_ws, welcome) = connect_welcomed(&server).await;
    assert_eq!(welcome["type"], "connection_established");
    drop(hoard);
    let mut upgraded = Vec::new();
    for _ in 0..8 {
        let tcp = raw::tcp_from("127.0.0.2", server.addr).await;
        upgraded.push(raw::handshake(tcp, server.addr).await);
    }
}

/// Replies to bad frames do not grow with the frame: an unknown `type`,
/// a bad value and a bad field path of 60 KB each get a reply of a few
/// hundred bytes.
#[tokio::test]
async fn error_replies_stay_small_whatever_the_request() {
    let server = start(config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    let huge = "a".repeat(60_000);
    let frames = [
        json!({"type": huge, "id": 1}),
        json!({"type":"subscribe","id":2,"topic":"alerts","recover":{"epoch":"e","offset":huge}}),
        json!({"type":"ping","id":huge}),
        json!({"type":"subscribe","id":3,"topic":huge}),
    ];
    for frame in frames {
        send(&mut ws, frame).await;
        let reply = recv(&mut ws).await;
        assert_eq!(reply["type"], "error", "{reply}");
        let size = reply.to_string().len();
        assert!(size < 600, "a {size}-byte reply: {reply:.200}");
    }
}

/// Frames that break RFC 6455 get close 1002 (with a reason), not a
/// dropped TCP connection.
#[tokio::test]
async fn protocol_violations_close_1002() {
    let server = start(config()).await;
    let unmasked = vec![0x81, 0x02, b'h', b'i'];
    let cases: [(&str, Vec<u8>); 5] = [
        ("unmasked frame", unmasked),
        ("reserved bits", raw::frame(0xC1, b"hi")),
        ("unknown opcode", raw::frame(0x83, b"")),
        ("orphan continuation", raw::frame(0x80, b"x")),
        ("bad close code", raw::frame(0x88, &[0x03, 0xEE])),
    ];
    for (what, bytes) in cases {
        let mut tcp = raw::connect(server.addr).await;
        raw::read_frame(&mut tcp).await.expect("welcome");
        tcp.write_all(&bytes).await.unwrap();
        let close = raw::read_close(&mut tcp).await;
        let (c, reason) = close.unwrap_or_else(|| panic!("{what}: no close frame"));
        assert_eq!(c, code::PROTOCOL_ERROR, "{what}: {reason}");
        assert!(reason.starts_with("protocol violation"), "{what}: {reason}");
    }
    server.wait_connections(0).await;
}

/// A client's ping is answered with its payload, in order with the rest.
#[tokio::test]
async fn pings_are_answered_with_their_payload() {
    let server = start(config()).await;
    let mut tcp = raw::connect(server.addr).await;
    raw::read_frame(&mut tcp).await.expect("welcome");
    tcp.write_all(&raw::frame(0x89, b"are you there"))
        .await
        .unwrap();
    assert_eq!(
        raw::read_frame(&mut tcp).await,
        Some((0xA, b"are you there".to_vec()))
    );
    // A close is answered with a close of the same code.
    tcp.write_all(&raw::frame(0x88, &[0x0F, 0xA0]))
        .await
        .unwrap();
    assert_eq!(raw::read_close(&mut tcp).await, Some((4000, String::new())));
}

const SECRET: &str = "hardening-secret";

fn token_config() -> tether_server::Config {
    let mut cfg = config();
    cfg.token_secret = Some(SECRET.into());
    cfg.heartbeat_interval = Duration::from_millis(200);
    cfg
}

/// An open connection is closed with 4401 once its token's `exp` plus the
/// leeway has passed (checked with the heartbeat); one with a valid token
/// stays.
#[tokio::test]
async fn connections_end_with_4401_when_their_token_expires() {
    let server = start(token_config()).await;
    let leeway = tether_server::auth::LEEWAY_SECS as i64;
    // Valid now thanks to the leeway, expired a second from now.
    let expiring = jwt(SECRET, json!({"exp": unix_in(1 - leeway)}));
    let lasting = jwt(SECRET, json!({"exp": unix_in(3600)}));
    let mut a = connect_url(&format!("{}?token={expiring}", server.ws_url())).await;
    let mut b = connect_url(&format!("{}?token={lasting}", server.ws_url())).await;
    assert_eq!(recv(&mut a).await["type"], "connection_established");
    assert_eq!(recv(&mut b).await["type"], "connection_established");
    let started = Instant::now();
    // Read `b` meanwhile: its client answers the server's pings only when
    // read.
    let (c, reason) = tokio::select! {
        closed = recv_close(&mut a) => closed,
        event = next_event(&mut b) => panic!("the lasting connection got {event:?}"),
    };
    assert_eq!((c, reason.as_str()), (code::TOKEN_EXPIRED, "token expired"));
    assert!(started.elapsed() < Duration::from_secs(5));
    send(&mut b, json!({"type":"ping","id":1})).await;
    assert_eq!(recv(&mut b).await["type"], "pong");
    server.wait_connections(1).await;
}

/// `nbf` in the future is refused like an expired token (4401: get a new
/// one); a token that expires further ahead than `--max-token-lifetime`
/// is refused as invalid (4503).
#[tokio::test]
async fn nbf_is_honoured_and_token_lifetime_is_bounded() {
    let mut cfg = token_config();
    cfg.max_token_lifetime = Duration::from_secs(3600);
    let server = start(cfg).await;
    let cases = [
        (
            json!({"exp": unix_in(600), "nbf": unix_in(600)}),
            code::TOKEN_EXPIRED,
        ),
        (json!({"exp": unix_in(7200)}), code::FORBIDDEN),
        (json!({"exp": u64::MAX}), code::FORBIDDEN),
    ];
    for (claims, want) in cases {
        let token = jwt(SECRET, claims.clone());
        let mut ws = connect_url(&format!("{}?token={token}", server.ws_url())).await;
        assert_eq!(recv_close(&mut ws).await.0, want, "{claims}");
    }
    let ok = jwt(SECRET, json!({"exp": unix_in(3000), "nbf": unix_in(-10)}));
    let mut ws = connect_url(&format!("{}?token={ok}", server.ws_url())).await;
    assert_eq!(recv(&mut ws).await["type"], "connection_established");
}

/// Sends a request head (and `body`, which may be shorter than the declared
/// length) and returns the response's status line, without closing.
async fn request_head(
    tcp: &mut tokio::net::TcpStream,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let mut req = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    raw::read_until(tcp, b"\r\n").await.trim().to_owned()
}

/// With `--publish-key`, a request without the key is answered 401 before
/// its body is read: a client that declares 2 MiB and sends nothing gets
/// its answer at once.
#[tokio::test]
async fn the_publish_key_is_checked_before_the_body_is_read() {
    let mut cfg = config();
    cfg.publish_key = Some("k".into());
    cfg.body_timeout = Duration::from_secs(30);
    let server = start(cfg).await;
    let mut unfinished = Vec::new();
    for _ in 0..50 {
        let mut tcp = raw::tcp_from("127.0.0.1", server.addr).await;
        let status = request_head(
            &mut tcp,
            "/publish",
            &[("Content-Length", "2097152")],
            b"{\"topic\":",
        )
        .await;
        assert_eq!(status, "HTTP/1.1 401 Unauthorized");
        unfinished.push(tcp);
    }
    // The budget for bodies in flight was never touched.
    assert_eq!(
        server.state.body_budget().available_permits(),
        tether_server::http::PUBLISH_BODY_BUDGET
    );
}

/// A body must arrive within `--body-timeout` (else 408); bodies being
/// read are bounded in total (else 503) and each in size (else 413).
#[tokio::test]
async fn publish_bodies_are_bounded_in_time_size_and_total() {
    use tether_server::http::{PUBLISH_BODY_BUDGET, PUBLISH_BODY_LIMIT};
    let mut cfg = config();
    cfg.body_timeout = Duration::from_millis(500);
    let server = start(cfg).await;
    let declared = PUBLISH_BODY_LIMIT.to_string();
    let started = Instant::now();
    let mut slow = raw::tcp_from("127.0.0.1", server.addr).await;
    let status = request_head(&mut slow, "/publish", &[("Content-Length", "100")], b"{").await;
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");
    assert!(started.elapsed() >= Duration::from_millis(400));

    let mut cfg = config();
    cfg.body_timeout = Duration::from_secs(30);
    let server = start(cfg).await;
    // Fill the budget with unfinished bodies of the largest size...
    let mut held = Vec::new();
    for _ in 0..PUBLISH_BODY_BUDGET / PUBLISH_BODY_LIMIT {
        let mut tcp = raw::tcp_from("127.0.0.1", server.addr).await;
        let req =
            format!("POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n{{");
        tcp.write_all(req.as_bytes()).await.unwrap();
        held.push(tcp);
    }
    let deadline = Instant::now() + WAIT;
    while server.state.body_budget().available_permits() > 0 {
        assert!(Instant::now() < deadline, "the held bodies take the budget");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ...then the next one is refused, while small publishes...
    let mut next = raw::tcp_from("127.0.0.1", server.addr).await;
    let status = request_head(&mut next, "/publish", &[("Content-Length", &declared)], b"").await;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    // ...and any publish goes through again once they are gone.
    drop(held);
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, _) = publish(server.addr, json!({"topic":"alerts"})).await;
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the budget is given back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Over the limit, declared or streamed: 413.
    let over = (PUBLISH_BODY_LIMIT + 1).to_string();
    let mut tcp = raw::tcp_from("127.0.0.1", server.addr).await;
    let status = request_head(&mut tcp, "/publish", &[("Content-Length", &over)], b"").await;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    let mut tcp = raw::tcp_from("127.0.0.1", server.addr).await;
    let chunk = vec![b' '; PUBLISH_BODY_LIMIT + 1];
    let mut body = format!("{:x}\r\n", chunk.len()).into_bytes();
    body.extend_from_slice(&chunk);
    body.extend_from_slice(b"\r\n0\r\n\r\n");
    let status = request_head(
        &mut tcp,
        "/publish",
        &[("Transfer-Encoding", "chunked")],
        &body,
    )
    .await;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
}

/// A page on another origin cannot publish or use the demo controls: a
/// browser's `text/plain` POST (no CORS preflight) carries its `Origin`,
/// which is checked like the WebSocket upgrade's. Tools that send no
/// `Origin` are not affected.
#[tokio::test]
async fn cross_site_posts_are_refused() {
    let mut cfg = config();
    cfg.demo = true;
    let server = start(cfg).await;
    let own = format!("http://{}", server.addr);
    let body = r#"{"topic":"alerts","data":"forged"}"#;
    let plain = ("Content-Type", "text/plain");
    for (path, headers) in [
        ("/publish", vec![plain, ("Origin", "http://evil.example")]),
        ("/publish", vec![plain, ("Origin", "null")]),
        ("/publish", vec![plain, ("Sec-Fetch-Site", "cross-site")]),
        ("/demo/drop", vec![plain, ("Origin", "http://evil.example")]),
        (
            "/demo/restart",
            vec![plain, ("Origin", "http://evil.example")],
        ),
    ] {
        let (status, text) = http(server.addr, "POST", path, &headers, body).await;
        assert_eq!(status, 403, "{path} {headers:?}: {text}");
    }
    assert_eq!(
        http(server.addr, "GET", "/topics/alerts/latest", &[], "")
            .await
            .0,
        204
    );
    let metrics = http(server.addr, "GET", "/metrics", &[], "").await.1;
    assert!(
        metrics.contains("tether_refused_origin_total 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tether_refused_connections_total{reason=\"origin\"} 0\n"),
        "POSTs are not connections: {metrics}"
    );
    // The page's own origin, and a tool without one, may publish.
    let same = [plain, ("Origin", own.as_str())];
    assert_eq!(
        http(server.addr, "POST", "/publish", &same, body).await.0,
        200
    );
    assert_eq!(
        http(server.addr, "POST", "/publish", &[plain], body)
            .await
            .0,
        200
    );
}

/// DNS rebinding: a page on `http://evil.example:PORT` whose name now
/// resolves to this server sends `Origin` and `Host` that agree. The
/// default rule admits only IP addresses and `localhost` there; a name must
/// be listed in `--allowed-origins`.
#[tokio::test]
async fn the_default_origin_rule_resists_dns_rebinding() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = start(config()).await;
    let port = server.addr.port();
    let upgrade = |host: String| {
        let mut req = server.ws_url().into_client_request().unwrap();
        let headers = req.headers_mut();
        headers.insert("Host", host.parse().unwrap());
        headers.insert("Origin", format!("http://{host}").parse().unwrap());
        async move {
            match tokio_tungstenite::connect_async(req).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
                Err(e) => panic!("{e}"),
            }
        }
    };
    assert_eq!(upgrade(format!("evil.example:{port}")).await, 403);
    assert_eq!(upgrade(format!("localhost:{port}")).await, 101);
    assert_eq!(upgrade(format!("127.0.0.1:{port}")).await, 101);
    let metrics = http(server.addr, "GET", "/metrics", &[], "").await.1;
    assert!(
        metrics.contains("tether_refused_connections_total{reason=\"origin\"} 1\n"),
        "the 403 upgrade is a refused connection: {metrics}"
    );

    let mut cfg = config();
    cfg.allowed_origins = vec!["http://dash.example".into()];
    let named = start(cfg).await;
    let mut req = named.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("Host", "dash.example".parse().unwrap());
    req.headers_mut()
        .insert("Origin", "http://dash.example".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(recv(&mut ws).await["type"], "connection_established");
}

/// A recovery replays at most `--replay-bytes` (else `recovered: false`:
/// a 100-byte subscribe cannot make the server send the whole history),
/// and a topic keeps at most `--history-bytes` of publications.
#[tokio::test]
async fn history_and_replay_are_bounded_in_bytes() {
    let mut cfg = config();
    cfg.history_bytes = 20_000;
    cfg.replay_bytes = 8_000;
    let server = start(cfg).await;
    let pad = "p".repeat(1000);
    for n in 1..=40 {
        let (status, _) = publish(server.addr, json!({"topic":"alerts","data":[n, pad]})).await;
        assert_eq!(status, 200);
    }
    let (mut ws, _) = connect_welcomed(&server).await;
    let epoch = subscribe(&mut ws, 1, "alerts").await["epoch"].clone();
    // 5 publications (~5.2 KB) fit the replay cap; 10 (~10.4 KB) do not,
    // though the history (~19 publications) has them; 30 are not kept.
    assert_eq!(
        recover(&mut ws, &epoch, 35).await,
        (Some(true), (36..=40).collect())
    );
    assert_eq!(recover(&mut ws, &epoch, 30).await, (Some(false), vec![]));
    assert_eq!(recover(&mut ws, &epoch, 10).await, (Some(false), vec![]));
}

/// Subscribes to `alerts` from `offset`; returns `recovered` and the
/// offsets replayed.
async fn recover(ws: &mut Ws, epoch: &serde_json::Value, offset: u64) -> (Option<bool>, Vec<u64>) {
    let frame = json!({"type":"subscribe","id":2,"topic":"alerts",
                       "recover":{"epoch":epoch,"offset":offset}});
    send(ws, frame).await;
    let reply = recv(ws).await;
    let mut replayed = Vec::new();
    for _ in 0..reply["missed"].as_u64().unwrap_or(0) {
        replayed.push(recv(ws).await["offset"].as_u64().unwrap());
    }
    (reply["recovered"].as_bool(), replayed)
}

/// A published number reaches subscribers exactly as sent (serde_json's
/// default float parser reads some decimals one ULP off: fuzz finding F2),
/// and a `POST /publish` body must be a JSON object (F3).
#[tokio::test]
async fn publications_carry_numbers_exactly_and_bodies_are_objects() {
    let server = start(config()).await;
    let (mut ws, _) = connect_welcomed(&server).await;
    subscribe(&mut ws, 1, "alerts").await;
    let body = r#"{"topic":"alerts","data":2.5e-73}"#;
    assert_eq!(
        http(server.addr, "POST", "/publish", &[], body).await.0,
        200
    );
    assert_eq!(recv(&mut ws).await["data"].as_f64(), Some(2.5e-73));
    let (status, text) = http(server.addr, "POST", "/publish", &[], r#"["alerts"]"#).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("expected a JSON object"), "{text}");
}
