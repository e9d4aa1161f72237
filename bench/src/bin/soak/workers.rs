//! The soak's client loops, each a task over real sockets: idle
//! subscribers, churners, publishers (HTTP, WebSocket, and the large
//! publications to the idle subscribers' topics) and slow readers. Abuse
//! is in `abuse.rs`. Every loop ends when the stop signal is raised (idle
//! subscribers: when the server shuts down).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tether_bench::client::{num_field, str_field, ws_connect, ws_handshake, Publisher, Ws};
use tether_bench::Res;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::time::{interval, sleep, timeout, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::stats::{Stats, C};
use crate::Args;

/// What every client task shares.
pub struct Ctx {
    pub args: Args,
    pub addr: std::net::SocketAddr,
    pub stats: Stats,
    /// Raised at the end of the run: every loop but the idle subscribers'
    /// stops.
    pub stop: watch::Receiver<bool>,
    /// The final SIGTERM is under way: idle subscribers expect `goaway` and
    /// close 1012, and do not reconnect.
    pub shutting_down: AtomicBool,
    /// Topics published over HTTP (`s0`..).
    pub small: Vec<String>,
    /// The `client_publish` topic.
    pub chat: String,
    /// Topics of the large publications, one per idle-subscriber group.
    pub bulk: Vec<String>,
}

impl Ctx {
    pub fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// The padding of a payload of about `bytes` bytes.
    fn pad(bytes: usize) -> String {
        "x".repeat(bytes)
    }
}

/// Resolves once the stop signal is raised (or its sender is gone).
pub async fn stop_signal(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here.
    let _ = stop.wait_for(|s| *s).await.map(drop);
}

/// A small deterministic PRNG (SplitMix64): the soak needs variety, not
/// quality, and no extra dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The start of a frame, where the fields read here are (a publication's
/// `data` comes last and may be a megabyte).
fn head(text: &str) -> &str {
    let mut n = text.len().min(512);
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    &text[..n]
}

/// `recovered` of a `subscribed` reply: `Some(bool)`, or `None` for null.
fn recovered(text: &str) -> Option<bool> {
    let rest = &text[text.find("\"recovered\":")? + "\"recovered\":".len()..];
    if rest.starts_with("true") {
        Some(true)
    } else if rest.starts_with("false") {
        Some(false)
    } else {
        None
    }
}

/// A position in a topic: its epoch and the last offset seen.
type Position = (String, u64);

/// Per-topic positions of one connection: checks that publications come
/// in order, with no gap and no duplicate, replay included.
#[derive(Default)]
struct Tracker {
    pos: HashMap<String, Position>,
}

impl Tracker {
    /// A `subscribed` reply: counts it (and its recovery, when asked) and
    /// starts the topic at `offset - missed`, where the replay begins.
    fn subscribed(&mut self, text: &str, asked_recover: bool, stats: &Stats) -> Res<()> {
        let (Some(topic), Some(epoch), Some(offset)) = (
            str_field(text, "topic"),
            str_field(text, "epoch"),
            num_field(text, "offset"),
        ) else {
            return Err(format!("malformed subscribed: {text}").into());
        };
        let missed = num_field(text, "missed").unwrap_or(0);
        stats.count(C::Subscribed);
        match (asked_recover, recovered(text)) {
            (true, Some(true)) => {
                stats.count(C::Recovered);
                stats.add(C::Replayed, missed);
            }
            (true, Some(false)) => stats.count(C::NotRecovered),
            (false, None) => {}
            (asked, got) => {
                return Err(format!("recover asked: {asked}, recovered: {got:?}: {text}").into())
            }
        }
        self.pos.insert(
            topic.to_owned(),
            (epoch.to_owned(), offset.saturating_sub(missed)),
        );
        Ok(())
    }

    /// A publication: must be the next offset of its topic's epoch.
    fn publication(&mut self, text: &str, stats: &Stats) {
        let h = head(text);
        let (Some(topic), Some(epoch), Some(offset)) = (
            str_field(h, "topic"),
            str_field(h, "epoch"),
            num_field(h, "offset"),
        ) else {
            stats.error("malformed publication", h);
            return;
        };
        match self.pos.get_mut(topic) {
            Some((e, last)) if e == epoch => {
                if offset != *last + 1 {
                    stats.count(C::Gaps);
                    stats.error(
                        "publication out of order",
                        format!("{topic} {epoch}: offset {offset} after {last}"),
                    );
                }
                *last = offset;
            }
            Some(p) => {
                // The in-memory hub keeps its epochs for the process's life.
                stats.count(C::Gaps);
                stats.error("epoch changed", format!("{topic}: {} -> {epoch}", p.0));
                *p = (epoch.to_owned(), offset);
            }
            None => stats.error("publication before subscribed", topic),
        }
    }
}

/// Sends a `subscribe` per topic (with `recover` when a position is
/// given) and reads until every one is answered; publications that arrive
/// meanwhile are checked.
async fn subscribe(
    ws: &mut Ws,
    topics: &[(String, Option<Position>)],
    tracker: &mut Tracker,
    stats: &Stats,
) -> Res<()> {
    let mut asked = HashMap::new();
    for (i, (topic, pos)) in topics.iter().enumerate() {
        let frame = match pos {
            Some((epoch, offset)) => format!(
                r#"{{"type":"subscribe","id":{},"topic":"{topic}","recover":{{"epoch":"{epoch}","offset":{offset}}}}}"#,
                i + 1
            ),
            None => format!(r#"{{"type":"subscribe","id":{},"topic":"{topic}"}}"#, i + 1),
        };
        ws.feed(Message::text(frame)).await?;
        asked.insert(topic.as_str(), pos.is_some());
    }
    ws.flush().await?;
    let mut left = topics.len();
    while left > 0 {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let t = t.as_str();
                match str_field(head(t), "type") {
                    Some("subscribed") => {
                        let topic = str_field(t, "topic").unwrap_or("");
                        let asked_recover = asked.get(topic).copied().unwrap_or(false);
                        tracker.subscribed(t, asked_recover, stats)?;
                        left -= 1;
                    }
                    Some("publication") => tracker.publication(t, stats),
                    _ => return Err(format!("unexpected frame while subscribing: {t}").into()),
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => return Err("closed while subscribing".into()),
        }
    }
    Ok(())
}

// ------------------------------------------------------ idle subscribers --

/// One of the steady population: subscribes to one bulk topic and one
/// small topic, reads everything, never leaves. Disconnected by the
/// server during the run (which should not happen), it counts it and
/// reconnects, recovering from its positions. At the final SIGTERM it
/// counts `goaway` and close 1012, and ends.
pub async fn idle(ctx: Arc<Ctx>, i: usize, ready: Arc<AtomicUsize>) {
    let topics = [
        ctx.bulk[i % ctx.bulk.len()].clone(),
        ctx.small[i % ctx.small.len()].clone(),
    ];
    let mut tracker = Tracker::default();
    let mut first = true;
    loop {
        let wanted: Vec<(String, Option<Position>)> = topics
            .iter()
            .map(|t| (t.clone(), tracker.pos.get(t).cloned()))
            .collect();
        let setup = async {
            let mut ws = ws_connect(ctx.addr).await?;
            subscribe(&mut ws, &wanted, &mut tracker, &ctx.stats).await?;
            Res::Ok(ws)
        };
        let ws = match timeout(Duration::from_secs(30), setup).await {
            Ok(Ok(ws)) => ws,
            Ok(Err(e)) => {
                ctx.stats
                    .error("idle subscriber: connect/subscribe failed", e);
                if ctx.shutting_down.load(Relaxed) {
                    return;
                }
                sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(_) => {
                ctx.stats
                    .error("idle subscriber: connect/subscribe failed", "timed out");
                continue;
            }
        };
        if first {
            ready.fetch_add(1, Relaxed);
            first = false;
        }
        let why = read_idle(&ctx, ws, &mut tracker).await;
        if ctx.shutting_down.load(Relaxed) {
            return;
        }
        ctx.stats.count(C::IdleDropped);
        ctx.stats.error("idle subscriber disconnected", why);
    }
}

/// Reads until the connection ends; returns how it ended.
async fn read_idle(ctx: &Ctx, mut ws: Ws, tracker: &mut Tracker) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let t = t.as_str();
                match str_field(head(t), "type") {
                    Some("publication") => {
                        ctx.stats.count(C::IdleReceived);
                        tracker.publication(t, &ctx.stats);
                    }
                    Some("goaway") if ctx.shutting_down.load(Relaxed) => ctx.stats.count(C::Goaway),
                    _ => ctx
                        .stats
                        .error("idle subscriber: unexpected frame", head(t)),
                }
            }
            Some(Ok(Message::Close(cf))) => {
                let code = cf.as_ref().map(|c| u16::from(c.code));
                if code == Some(1012) && ctx.shutting_down.load(Relaxed) {
                    ctx.stats.count(C::Close1012);
                } else if !ctx.shutting_down.load(Relaxed) {
                    return format!("close {code:?}");
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return e.to_string(),
            None => return "closed".into(),
        }
    }
}

// --------------------------------------------------------------- churners --

/// How a churner leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leave {
    /// Close frame 1000, then wait for the server's close.
    CloseFrame,
    /// Drop the TCP connection with a reset (SO_LINGER 0), no close frame.
    Reset,
    /// Drop the TCP connection with a FIN, no close frame.
    Fin,
}

/// Connects, subscribes to 1-3 topics (resuming, half of the time, from
/// where an earlier cycle of this loop left each), reads 0.2-3 s, leaves:
/// half of the cycles with a close frame, half abruptly.
pub async fn churner(ctx: Arc<Ctx>, k: usize) {
    let mut rng = Rng::new(1000 + k as u64);
    let mut positions: HashMap<String, Position> = HashMap::new();
    let mut topics: Vec<String> = ctx.small.clone();
    topics.push(ctx.chat.clone());
    let mut stop = ctx.stop.clone();
    for cycle in 0u64.. {
        if ctx.stopped() {
            return;
        }
        let leave = match cycle % 4 {
            0 | 1 => Leave::CloseFrame,
            2 => Leave::Reset,
            _ => Leave::Fin,
        };
        let once = churn_once(&ctx, &mut rng, &topics, &mut positions, leave);
        tokio::select! {
            r = timeout(Duration::from_secs(30), once) => match r {
                Ok(Ok(())) => ctx.stats.count(C::ChurnCycles),
                Ok(Err(e)) => {
                    ctx.stats.error("churner", e);
                    sleep(Duration::from_millis(200)).await;
                }
                Err(_) => ctx.stats.error("churner", "cycle took over 30 s"),
            },
            _ = stop_signal(&mut stop) => return,
        }
    }
}

async fn churn_once(
    ctx: &Ctx,
    rng: &mut Rng,
    topics: &[String],
    positions: &mut HashMap<String, Position>,
    leave: Leave,
) -> Res<()> {
    let tcp = TcpStream::connect(ctx.addr).await?;
    tcp.set_nodelay(true)?;
    if leave == Leave::Reset {
        tcp.set_zero_linger()?;
    }
    let mut ws = ws_handshake(tcp, ctx.addr).await?;
    let n = 1 + rng.below(3);
    let first = rng.below(topics.len());
    let wanted: Vec<(String, Option<Position>)> = (0..n)
        .map(|j| {
            let t = &topics[(first + j) % topics.len()];
            let pos = positions.get(t).filter(|_| rng.below(2) == 0).cloned();
            (t.clone(), pos)
        })
        .collect();
    let mut tracker = Tracker::default();
    subscribe(&mut ws, &wanted, &mut tracker, &ctx.stats).await?;
    let hold = Duration::from_millis(200 + rng.below(2800) as u64);
    let read = async {
        while let Some(msg) = ws.next().await {
            match msg? {
                Message::Text(t) => {
                    let t = t.as_str();
                    match str_field(head(t), "type") {
                        Some("publication") => tracker.publication(t, &ctx.stats),
                        _ => ctx.stats.error("churner: unexpected frame", head(t)),
                    }
                }
                Message::Close(cf) => return Err(format!("closed by the server: {cf:?}").into()),
                _ => {}
            }
        }
        Res::Ok(())
    };
    match timeout(hold, read).await {
        Ok(Ok(())) => return Err("connection ended while reading".into()),
        Ok(Err(e)) => return Err(e),
        Err(_) => {}
    }
    positions.extend(tracker.pos);
    match leave {
        Leave::CloseFrame => {
            ws.send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            })))
            .await?;
            // RFC 6455 wants the server's close in answer (publications may
            // come first); counted, not required: this server drops the TCP
            // connection instead (see BENCHMARKS.md, "Soak").
            let answered = timeout(Duration::from_secs(5), async {
                while let Some(Ok(msg)) = ws.next().await {
                    if let Message::Close(_) = msg {
                        return true;
                    }
                }
                false
            })
            .await;
            if answered == Ok(true) {
                ctx.stats.count(C::ChurnCloseAnswered);
            }
            ctx.stats.count(C::ChurnCloseFrame);
        }
        Leave::Reset | Leave::Fin => {
            drop(ws);
            ctx.stats.count(C::ChurnAbrupt);
        }
    }
    Ok(())
}

// ------------------------------------------------------------- publishers --

/// A ticker at `per_s` that does not burst after a stall.
fn ticker(per_s: f64) -> tokio::time::Interval {
    let mut t = interval(Duration::from_secs_f64(1.0 / per_s.max(0.01)));
    t.set_missed_tick_behavior(MissedTickBehavior::Delay);
    t
}

/// `POST /publish` of `body` over `publisher` (reconnected when needed);
/// true when answered 200.
async fn post(
    ctx: &Ctx,
    publisher: &mut Option<Publisher>,
    body: &str,
    what: &'static str,
) -> bool {
    if publisher.is_none() {
        match Publisher::connect(ctx.addr).await {
            Ok(p) => *publisher = Some(p),
            Err(e) => {
                ctx.stats.error(what, e);
                return false;
            }
        }
    }
    let Some(p) = publisher.as_mut() else {
        return false;
    };
    match timeout(Duration::from_secs(10), p.post(body)).await {
        Ok(Ok(200)) => true,
        Ok(Ok(status)) => {
            ctx.stats.error(what, format!("HTTP {status}"));
            false
        }
        Ok(Err(e)) => {
            ctx.stats.error(what, e);
            *publisher = None;
            false
        }
        Err(_) => {
            ctx.stats.error(what, "no answer within 10 s");
            *publisher = None;
            false
        }
    }
}

/// `POST /publish` at `--http-rate` to a random small topic; every tenth
/// payload is `--medium-bytes`, the others ~100 bytes.
pub async fn http_publisher(ctx: Arc<Ctx>, p: usize) {
    let mut rng = Rng::new(2000 + p as u64);
    let (small, medium) = (Ctx::pad(100), Ctx::pad(ctx.args.medium_bytes));
    let mut publisher = None;
    let mut tick = ticker(ctx.args.http_rate);
    let mut stop = ctx.stop.clone();
    for n in 1u64.. {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop_signal(&mut stop) => return,
        }
        let topic = &ctx.small[rng.below(ctx.small.len())];
        let pad = if n % 10 == 0 { &medium } else { &small };
        let body = format!(
            r#"{{"topic":"{topic}","event":"soak","data":{{"p":{p},"n":{n},"pad":"{pad}"}}}}"#
        );
        if post(&ctx, &mut publisher, &body, "POST /publish").await {
            ctx.stats.count(C::HttpPublished);
        }
    }
}

/// Large publications (`--large-bytes`) every `--large-every-ms` to one
/// bulk topic at a time, sweeping through them over the run: the number
/// of idle subscribers that have received a large frame grows steadily,
/// so memory kept per connection after a large frame shows as growth.
/// When the sweep moves on, the previous topic gets a small publication
/// (its `latest` is then small); every third of `--history-ttl` every
/// bulk topic gets one, so expired large publications leave the history
/// (the server expires history when a topic is published to). The sweep
/// starts at `started`.
pub async fn bulk_publisher(ctx: Arc<Ctx>, started: Instant) {
    let large = Ctx::pad(ctx.args.large_bytes);
    let n_bulk = ctx.bulk.len();
    let phase = (ctx.args.duration as f64 / n_bulk as f64).max(1.0);
    let sweep_every = Duration::from_secs_f64((ctx.args.history_ttl as f64 / 3.0).max(1.0));
    let mut publisher = None;
    let mut tick = ticker(1000.0 / ctx.args.large_every_ms.max(1) as f64);
    let mut stop = ctx.stop.clone();
    let mut active: Option<usize> = None;
    let mut last_sweep = Instant::now();
    for n in 1u64.. {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop_signal(&mut stop) => return,
        }
        let now = ((started.elapsed().as_secs_f64() / phase) as usize) % n_bulk;
        if let Some(prev) = active.filter(|&a| a != now) {
            let body = format!(
                r#"{{"topic":"{}","event":"small","data":{{"n":{n}}}}}"#,
                ctx.bulk[prev]
            );
            post(&ctx, &mut publisher, &body, "POST /publish (bulk)").await;
        }
        active = Some(now);
        let body = format!(
            r#"{{"topic":"{}","event":"large","data":{{"n":{n},"pad":"{large}"}}}}"#,
            ctx.bulk[now]
        );
        if post(&ctx, &mut publisher, &body, "POST /publish (bulk)").await {
            ctx.stats.count(C::BulkPublished);
        }
        if last_sweep.elapsed() >= sweep_every {
            last_sweep = Instant::now();
            for (i, topic) in ctx.bulk.iter().enumerate() {
                if i != now {
                    let body =
                        format!(r#"{{"topic":"{topic}","event":"small","data":{{"n":{n}}}}}"#);
                    post(&ctx, &mut publisher, &body, "POST /publish (bulk)").await;
                }
            }
        }
    }
}

/// WebSocket `publish` requests to the `client_publish` topic at
/// `--ws-rate`, each waiting for its `published` reply; every tenth
/// payload is `--medium-bytes`.
pub async fn ws_publisher(ctx: Arc<Ctx>, w: usize) {
    let (small, medium) = (Ctx::pad(100), Ctx::pad(ctx.args.medium_bytes));
    let mut tick = ticker(ctx.args.ws_rate);
    let mut stop = ctx.stop.clone();
    let mut ws: Option<Ws> = None;
    for n in 1u64.. {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop_signal(&mut stop) => return,
        }
        if ws.is_none() {
            match timeout(Duration::from_secs(10), ws_connect(ctx.addr)).await {
                Ok(Ok(c)) => ws = Some(c),
                Ok(Err(e)) => {
                    ctx.stats.error("ws publisher: connect", e);
                    continue;
                }
                Err(_) => {
                    ctx.stats.error("ws publisher: connect", "timed out");
                    continue;
                }
            }
        }
        let Some(c) = ws.as_mut() else { continue };
        let pad = if n % 10 == 0 { &medium } else { &small };
        let frame = format!(
            r#"{{"type":"publish","id":{n},"topic":"{}","data":{{"w":{w},"n":{n},"pad":"{pad}"}}}}"#,
            ctx.chat
        );
        let exchange = async {
            c.send(Message::text(frame)).await?;
            loop {
                match c.next().await {
                    Some(Ok(Message::Text(t))) if num_field(head(&t), "id") == Some(n) => {
                        return match str_field(head(&t), "type") {
                            Some("published") => Res::Ok(()),
                            _ => Err(format!("publish answered {t}").into()),
                        };
                    }
                    Some(Ok(Message::Close(cf))) => return Err(format!("closed: {cf:?}").into()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err("closed".into()),
                }
            }
        };
        match timeout(Duration::from_secs(10), exchange).await {
            Ok(Ok(())) => ctx.stats.count(C::WsPublished),
            Ok(Err(e)) => {
                ctx.stats.error("ws publisher", e);
                ws = None;
            }
            Err(_) => {
                ctx.stats.error("ws publisher", "no reply within 10 s");
                ws = None;
            }
        }
    }
}

// ----------------------------------------------------------- slow readers --

/// Subscribes to every topic over a socket with a small receive buffer,
/// stops reading for `--slow-pause` seconds, then reads again: the server
/// must have disconnected it (full send queue or `--send-timeout`), so the
/// stream ends after what was already in flight.
pub async fn slow_reader(ctx: Arc<Ctx>, r: usize) {
    let mut stop = ctx.stop.clone();
    let mut topics: Vec<&String> = ctx.small.iter().chain(&ctx.bulk).collect();
    topics.push(&ctx.chat);
    loop {
        if ctx.stopped() {
            return;
        }
        let setup = async {
            let socket = TcpSocket::new_v4()?;
            socket.set_recv_buffer_size(4096)?;
            let tcp = socket.connect(ctx.addr).await?;
            tcp.set_zero_linger()?;
            let mut ws = ws_handshake(tcp, ctx.addr).await?;
            for (i, t) in topics.iter().enumerate() {
                let frame = format!(r#"{{"type":"subscribe","id":{},"topic":"{t}"}}"#, i + 1);
                ws.feed(Message::text(frame)).await?;
            }
            ws.flush().await?;
            Res::Ok(ws)
        };
        let mut ws = match timeout(Duration::from_secs(30), setup).await {
            Ok(Ok(ws)) => ws,
            Ok(Err(e)) => {
                ctx.stats.error("slow reader: setup", e);
                sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(_) => {
                ctx.stats.error("slow reader: setup", "timed out");
                continue;
            }
        };
        ctx.stats.count(C::SlowStarted);
        tokio::select! {
            _ = sleep(Duration::from_secs(ctx.args.slow_pause)) => {}
            _ = stop_signal(&mut stop) => return,
        }
        let drained = timeout(Duration::from_secs(20), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        match drained {
            Ok(()) => ctx.stats.count(C::SlowKicked),
            Err(_) => {
                ctx.stats.count(C::SlowNotKicked);
                ctx.stats.error(
                    "slow reader not disconnected",
                    format!("reader {r} still connected after its pause"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_checks_order_and_recovery() {
        let stats = Stats::default();
        let mut t = Tracker::default();
        let sub = r#"{"type":"subscribed","id":1,"topic":"s1","epoch":"e1","offset":7,"recovered":true,"missed":2}"#;
        t.subscribed(sub, true, &stats).expect("subscribed");
        assert_eq!(stats.get(C::Recovered), 1);
        assert_eq!(stats.get(C::Replayed), 2);
        for o in [6, 7, 8] {
            let p = format!(
                r#"{{"type":"publication","topic":"s1","epoch":"e1","offset":{o},"data":{{}}}}"#
            );
            t.publication(&p, &stats);
        }
        assert_eq!(stats.get(C::Gaps), 0);
        t.publication(
            r#"{"type":"publication","topic":"s1","epoch":"e1","offset":10,"data":{}}"#,
            &stats,
        );
        assert_eq!(stats.get(C::Gaps), 1, "offset 9 is missing");
        t.publication(
            r#"{"type":"publication","topic":"s1","epoch":"e1","offset":10,"data":{}}"#,
            &stats,
        );
        assert_eq!(stats.get(C::Gaps), 2, "a duplicate");
        let plain = r#"{"type":"subscribed","id":2,"topic":"s2","epoch":"e2","offset":0,"recovered":null,"missed":0}"#;
        t.subscribed(plain, false, &stats).expect("plain subscribe");
        assert!(
            t.subscribed(plain, true, &stats).is_err(),
            "recover asked, none answered"
        );
    }

    #[test]
    fn head_cuts_on_a_char_boundary() {
        let text = format!("{}é", "a".repeat(511));
        assert_eq!(head(&text).len(), 511);
        assert_eq!(head("short"), "short");
    }
}
