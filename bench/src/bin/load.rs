//! `load`: a load generator against the real `tether-server` binary, which
//! it starts itself (`--listen 127.0.0.1:0`, limits raised), on loopback
//! only. Sections (see `BENCHMARKS.md`):
//!
//! - `rss`: server RSS per idle connection at `--idle` connections
//!   (`VmRSS` from `/proc/PID/status` before and after), against the same
//!   figure for a bare tokio-tungstenite server (this binary with
//!   `--serve-bare`, a child process like the real one);
//! - `fanout`: latency from `POST /publish` (a `sent_at` µs timestamp in
//!   `data`) to receipt at each of S subscribers of one topic, p50 / p99 /
//!   max per round, median over `--rounds`; baseline: the same with one
//!   subscriber, and the loopback TCP echo round trip as context;
//! - `deliveries`: deliveries per second sustained with many topics and
//!   publishers (`--topics` file written here), flow-controlled so no
//!   subscriber queue overflows; baseline: the bare server, same load;
//! - `handshakes`: WebSocket connections established per second (TCP
//!   connect, upgrade, `connection_established`); baselines: plain TCP
//!   connects per second to an in-process listener, and the bare server;
//! - `scaleout` (not in the default list; needs `redis-server`): fan-out
//!   latency and deliveries per second with `--scaleout-clients` subscribers
//!   of one topic spread evenly over 1, 2, 3 instances sharing one Redis
//!   (`--broker`, a `redis-server` started here on a free loopback port),
//!   publications at a fixed `--scaleout-rate` through the first instance;
//!   baseline: the in-memory hub (one instance, no broker), same load.
//!
//! Every loop is bounded by a count and a deadline. `--serve-bare` runs the
//! bare baseline server instead (used by the benchmark itself).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tether_bench::client::{
    http_get, messages_out, now_us, num_field, str_field, ws_config, ws_connect, Publisher, Ws,
};
use tether_bench::server::{raise_nofile, ServerProc};
use tether_bench::{median, quantile, Res, Table};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Debug, Clone)]
#[command(about = "Load generator against tether-server (loopback only)")]
struct Args {
    /// The server binary.
    #[arg(long, default_value = "target/release/tether-server")]
    server_bin: PathBuf,
    /// Output folder (tables, CSV, server logs).
    #[arg(long, default_value = "out/bench")]
    out: PathBuf,
    /// Sections to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rss,fanout,deliveries,handshakes"
    )]
    sections: Vec<String>,
    /// Repetitions (rss, handshakes) and rounds (fanout) and windows
    /// (deliveries); figures are medians over them.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Idle connections for the RSS figure.
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
    /// Subscriber counts for the fan-out latency (1 is always run first as
    /// the baseline).
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    fanout: Vec<usize>,
    /// Publications per fan-out round.
    #[arg(long, default_value_t = 50)]
    pubs: usize,
    /// Subscriber connections for the deliveries figure.
    #[arg(long, default_value_t = 2000)]
    deliv_subs: usize,
    /// Topics for the deliveries figure.
    #[arg(long, default_value_t = 100)]
    deliv_topics: usize,
    /// Topics each deliveries subscriber subscribes to.
    #[arg(long, default_value_t = 5)]
    deliv_per_sub: usize,
    /// Concurrent publishers for the deliveries figure.
    #[arg(long, default_value_t = 8)]
    deliv_publishers: usize,
    /// Length of one deliveries window, seconds.
    #[arg(long, default_value_t = 5)]
    deliv_secs: u64,
    /// Frame payload padding, bytes (deliveries).
    #[arg(long, default_value_t = 100)]
    pad: usize,
    /// Connections per handshake-rate repetition.
    #[arg(long, default_value_t = 5000)]
    handshakes: usize,
    /// Connections opening at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// The Redis server binary (section `scaleout`).
    #[arg(long, default_value = "redis-server")]
    redis_server: PathBuf,
    /// Instance counts over Redis (section `scaleout`; the in-memory hub,
    /// one instance without a broker, is always run first as the baseline).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    scaleout_instances: Vec<usize>,
    /// Subscribers of the one topic, spread evenly over the instances.
    #[arg(long, default_value_t = 3000)]
    scaleout_clients: usize,
    /// Publications per second (fixed rate, through the first instance).
    #[arg(long, default_value_t = 20.0)]
    scaleout_rate: f64,
    /// Measured window per configuration, seconds (after a 2 s warm-up).
    #[arg(long, default_value_t = 10)]
    scaleout_secs: u64,
    /// Hard limit for the whole run, seconds.
    #[arg(long, default_value_t = 480)]
    time_limit_s: u64,
    /// Run the bare baseline server and print `listening on http://ADDR`.
    #[arg(long, hide = true)]
    serve_bare: bool,
}

// ---------------------------------------------------------------- servers --

/// tether-server with the load generator's limits (none in the way).
fn tether_server(args: &Args, topics: &Path, log: &Path) -> Res<ServerProc> {
    tether_server_with(args, topics, log, &[])
}

/// [`tether_server`] with extra flags (e.g. `--broker`).
fn tether_server_with(args: &Args, topics: &Path, log: &Path, extra: &[String]) -> Res<ServerProc> {
    let mut flags: Vec<String> = [
        "--max-connections",
        "1000000",
        "--max-connections-per-ip",
        "1000000",
        "--rate-limit",
        "0",
        "--topics",
    ]
    .map(String::from)
    .into();
    flags.push(topics.display().to_string());
    flags.extend_from_slice(extra);
    ServerProc::tether(&args.server_bin, log, &flags)
}

/// The bare baseline server: this binary with `--serve-bare`.
fn bare_server(log: &Path) -> Res<ServerProc> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--serve-bare");
    ServerProc::start(&mut cmd, log)
}

/// A `redis-server` child process on a free loopback port, without
/// persistence; killed on drop.
struct RedisProc {
    child: Child,
    port: u16,
}

impl RedisProc {
    fn start(bin: &Path, log: &Path) -> Res<RedisProc> {
        // A free port: bind port 0, read it, release it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(log)?;
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "yes"])
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let redis = RedisProc { child, port };
        // Ready when it answers PING (at most 10 s).
        let start = Instant::now();
        loop {
            if redis_ping(port).is_ok() {
                return Ok(redis);
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err(format!("redis-server on port {port} not ready within 10 s").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

fn redis_ping(port: u16) -> Res<()> {
    use std::io::{Read, Write};
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    s.write_all(b"PING\r\n")?;
    let mut buf = [0u8; 16];
    let n = s.read(&mut buf)?;
    if buf[..n].starts_with(b"+PONG") {
        Ok(())
    } else {
        Err("no PONG".into())
    }
}

impl Drop for RedisProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bare baseline: tokio-tungstenite with the same buffer sizes as
/// tether-server, a welcome frame, `subscribe` and `publish` (forwarded
/// verbatim to the topic's subscribers), a bounded queue and a batching
/// writer per connection. No history, no JSON parsing, no limits.
async fn serve_bare() -> Res<()> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind("127.0.0.1:0".parse()?)?;
    let listener = socket.listen(1024)?;
    println!("listening on http://{}", listener.local_addr()?);
    type Topics = Arc<Mutex<HashMap<String, Vec<mpsc::Sender<Message>>>>>;
    let topics: Topics = Arc::default();
    loop {
        let (stream, _) = listener.accept().await?;
        let topics = topics.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Ok(ws) =
                tokio_tungstenite::accept_async_with_config(stream, Some(ws_config())).await
            else {
                return;
            };
            let (mut sink, mut stream) = ws.split();
            let (tx, mut rx) = mpsc::channel::<Message>(256);
            let writer = tokio::spawn(async move {
                while let Some(m) = rx.recv().await {
                    if sink.feed(m).await.is_err() {
                        return;
                    }
                    for _ in 0..63 {
                        match rx.try_recv() {
                            Ok(m) => {
                                if sink.feed(m).await.is_err() {
                                    return;
                                }
                            }
                            Err(_) => break,
                        }
                    }
                    if sink.flush().await.is_err() {
                        return;
                    }
                }
            });
            let welcome = r#"{"type":"connection_established","protocol":1,"client_id":"bare"}"#;
            let _ = tx.try_send(Message::text(welcome));
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let text = text.as_str();
                match str_field(text, "type") {
                    Some("subscribe") => {
                        let topic = str_field(text, "topic").unwrap_or("").to_owned();
                        let id = num_field(text, "id").unwrap_or(0);
                        topics
                            .lock()
                            .unwrap()
                            .entry(topic.clone())
                            .or_default()
                            .push(tx.clone());
                        let reply = format!(
                            r#"{{"type":"subscribed","id":{id},"topic":"{topic}","epoch":"e","offset":0}}"#
                        );
                        let _ = tx.try_send(Message::text(reply));
                    }
                    Some("publish") => {
                        let topic = str_field(text, "topic").unwrap_or("");
                        let frame = Message::text(text.to_owned());
                        if let Some(subs) = topics.lock().unwrap().get_mut(topic) {
                            subs.retain(|s| !s.is_closed());
                            for s in subs.iter() {
                                let _ = s.try_send(frame.clone());
                            }
                        }
                    }
                    _ => {}
                }
            }
            writer.abort();
        });
    }
}

// ---------------------------------------------------------------- clients --

/// Subscribes to `topics` (ids 1..) and waits for every `subscribed`.
async fn subscribe(ws: &mut Ws, topics: &[String]) -> Res<()> {
    for (i, t) in topics.iter().enumerate() {
        let frame = format!(r#"{{"type":"subscribe","id":{},"topic":"{t}"}}"#, i + 1);
        ws.send(Message::text(frame)).await?;
    }
    let mut left = topics.len();
    while left > 0 {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains("\"subscribed\"") => left -= 1,
            Some(Ok(Message::Text(t))) if t.contains("\"error\"") => {
                return Err(format!("subscribe failed: {t}").into())
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => return Err("closed while subscribing".into()),
        }
    }
    Ok(())
}

/// What a client task does once connected.
#[derive(Clone)]
enum Role {
    /// Hold the connection (answering pings) until stopped.
    Idle,
    /// Record `(round, latency µs)` of every publication.
    Latency,
    /// Count every frame into the shared counter.
    Count(Arc<AtomicU64>),
}

/// A set of client connections, each a task.
struct Clients {
    tasks: Vec<JoinHandle<Vec<(u8, u32)>>>,
    ready: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    /// Tasks whose connection ended before the stop.
    dropped: Arc<AtomicUsize>,
    received: Arc<AtomicU64>,
    stop: watch::Sender<bool>,
}

impl Clients {
    fn spawn(
        addr: SocketAddr,
        n: usize,
        concurrency: usize,
        topics_of: impl Fn(usize) -> Vec<String>,
        role: Role,
    ) -> Clients {
        let sem = Arc::new(Semaphore::new(concurrency.max(1)));
        let ready = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let (stop, stop_rx) = watch::channel(false);
        let tasks = (0..n)
            .map(|i| {
                let (sem, ready, failed, dropped, received) = (
                    sem.clone(),
                    ready.clone(),
                    failed.clone(),
                    dropped.clone(),
                    received.clone(),
                );
                let mut stop = stop_rx.clone();
                let topics = topics_of(i);
                let role = role.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let ws = {
                        let Ok(_permit) = sem.acquire().await else {
                            return lat;
                        };
                        let setup = async {
                            let mut ws = ws_connect(addr).await?;
                            subscribe(&mut ws, &topics).await?;
                            Res::Ok(ws)
                        };
                        match timeout(Duration::from_secs(30), setup).await {
                            Ok(Ok(ws)) => ws,
                            _ => {
                                failed.fetch_add(1, Relaxed);
                                return lat;
                            }
                        }
                    };
                    ready.fetch_add(1, Relaxed);
                    let (_sink, mut stream) = ws.split();
                    let read = async {
                        while let Some(Ok(msg)) = stream.next().await {
                            let Message::Text(text) = msg else { continue };
                            match &role {
                                Role::Idle => {}
                                Role::Count(c) => {
                                    c.fetch_add(1, Relaxed);
                                }
                                Role::Latency => {
                                    let now = now_us();
                                    if let (Some(sent), Some(r)) =
                                        (num_field(&text, "sent_at"), num_field(&text, "r"))
                                    {
                                        lat.push((r as u8, now.saturating_sub(sent) as u32));
                                        received.fetch_add(1, Relaxed);
                                    }
                                }
                            }
                        }
                        dropped.fetch_add(1, Relaxed);
                    };
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => {}
                        _ = read => {}
                    }
                    lat
                })
            })
            .collect();
        Clients {
            tasks,
            ready,
            failed,
            dropped,
            received,
            stop,
        }
    }

    /// Waits until every connection is ready (or failed), at most `limit`.
    async fn wait_ready(&self, limit: Duration) -> Res<Duration> {
        let start = Instant::now();
        let n = self.tasks.len();
        while self.ready.load(Relaxed) + self.failed.load(Relaxed) < n {
            if start.elapsed() > limit {
                return Err(format!(
                    "only {} of {n} connections ready after {limit:?}",
                    self.ready.load(Relaxed)
                )
                .into());
            }
            sleep(Duration::from_millis(5)).await;
        }
        match self.failed.load(Relaxed) {
            0 => Ok(start.elapsed()),
            f => Err(format!("{f} of {n} connections failed").into()),
        }
    }

    /// Stops every task and collects their latency samples.
    async fn finish(self) -> Vec<(u8, u32)> {
        let _ = self.stop.send(true);
        let mut all = Vec::new();
        for t in self.tasks {
            if let Ok(Ok(v)) = timeout(Duration::from_secs(10), t).await {
                all.extend(v);
            }
        }
        all
    }
}

// --------------------------------------------------------------- sections --

struct Ctx {
    args: Args,
    topics_file: PathBuf,
    deadline: Instant,
    report: String,
    csv: Table,
}

impl Ctx {
    fn check_time(&self) -> Res<()> {
        if Instant::now() > self.deadline {
            return Err(format!("time limit of {} s reached", self.args.time_limit_s).into());
        }
        Ok(())
    }

    fn section(&mut self, title: &str, notes: &str, table: &Table) {
        let md = table.markdown();
        println!("\n### {title}\n\n{notes}\n\n{md}");
        self.report
            .push_str(&format!("### {title}\n\n{notes}\n\n{md}\n"));
    }

    fn metric(&mut self, section: &str, name: &str, value: f64) {
        self.csv.row(vec![
            section.to_owned(),
            name.to_owned(),
            format!("{value:.3}"),
        ]);
    }

    fn log(&self, name: &str) -> PathBuf {
        self.args.out.join(format!("server-{name}.log"))
    }
}

async fn rss(ctx: &mut Ctx) -> Res<()> {
    let n = ctx.args.idle;
    let mut per = HashMap::<&str, Vec<f64>>::new();
    let mut abs = HashMap::<&str, Vec<(u64, u64)>>::new();
    for _ in 0..ctx.args.rounds {
        for kind in ["tether-server", "bare"] {
            ctx.check_time()?;
            let server = if kind == "bare" {
                bare_server(&ctx.log("bare"))?
            } else {
                tether_server(&ctx.args, &ctx.topics_file, &ctx.log("rss"))?
            };
            // Warm up lazily allocated state with a few connections.
            let warm = Clients::spawn(server.addr, 16, 16, |_| vec![], Role::Idle);
            warm.wait_ready(Duration::from_secs(20)).await?;
            warm.finish().await;
            sleep(Duration::from_millis(500)).await;
            let before = server.rss_kib();
            let c = Clients::spawn(server.addr, n, ctx.args.concurrency, |_| vec![], Role::Idle);
            c.wait_ready(Duration::from_secs(120)).await?;
            sleep(Duration::from_secs(2)).await;
            let after = server.rss_kib();
            c.finish().await;
            per.entry(kind)
                .or_default()
                .push(after.saturating_sub(before) as f64 / n as f64);
            abs.entry(kind).or_default().push((before, after));
        }
    }
    let t_med = median(&per["tether-server"]);
    let b_med = median(&per["bare"]);
    let mut t = Table::new(&[
        "server",
        "RSS before (KiB)",
        "RSS at N idle (KiB)",
        "KiB per connection (median)",
        "runs",
        "ratio vs bare",
        "goal",
    ]);
    for (kind, med) in [("tether-server", t_med), ("bare", b_med)] {
        let (b, a) = abs[kind][0];
        t.row(vec![
            kind.to_owned(),
            b.to_string(),
            a.to_string(),
            format!("{med:.2}"),
            per[kind]
                .iter()
                .map(|v| format!("{v:.2}"))
                .collect::<Vec<_>>()
                .join(" / "),
            format!("{:.2}", med / b_med.max(1e-9)),
            if kind == "bare" {
                "baseline".into()
            } else {
                format!("<= 4 KiB: {}", if med <= 4.0 { "met" } else { "NOT met" })
            },
        ]);
    }
    ctx.metric("rss", "tether_kib_per_conn", t_med);
    ctx.metric("rss", "bare_kib_per_conn", b_med);
    ctx.section(
        &format!("Server RSS per idle connection, N = {n}"),
        "VmRSS of the server process before and after N idle WebSocket connections \
         (after a 16-connection warm-up; kernel socket memory is not in RSS). Bare = \
         tokio-tungstenite with the same 4 KiB buffers, a welcome frame and a bounded \
         queue + writer task per connection. RSS before/after: first run.",
        &t,
    );
    Ok(())
}

/// Loopback TCP echo round trip (64 bytes), µs: p50 and p99 over 2000.
async fn tcp_echo_rtt() -> Res<(f64, f64)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        if let Ok((mut s, _)) = listener.accept().await {
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; 64];
            for _ in 0..2000 {
                if s.read_exact(&mut buf).await.is_err() || s.write_all(&buf).await.is_err() {
                    return;
                }
            }
        }
    });
    let mut c = TcpStream::connect(addr).await?;
    c.set_nodelay(true)?;
    let mut buf = [7u8; 64];
    let mut v = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let t = Instant::now();
        c.write_all(&buf).await?;
        c.read_exact(&mut buf).await?;
        v.push(t.elapsed().as_secs_f64() * 1e6);
    }
    server.abort();
    v.sort_by(f64::total_cmp);
    Ok((quantile(&v, 0.5), quantile(&v, 0.99)))
}

/// Publishes for a load run: tether-server through `POST /publish`, the
/// bare baseline with `publish` frames on a WebSocket.
enum Source {
    Http(Publisher),
    Ws(Box<Ws>),
}

impl Source {
    async fn connect(addr: SocketAddr, bare: bool) -> Res<Source> {
        Ok(if bare {
            Source::Ws(Box::new(ws_connect(addr).await?))
        } else {
            Source::Http(Publisher::connect(addr).await?)
        })
    }

    /// Publishes `data` (JSON) to `topic`; `n` numbers the frame.
    async fn publish(&mut self, n: usize, topic: &str, data: &str) -> Res<()> {
        match self {
            Source::Ws(ws) => {
                let f = format!(r#"{{"type":"publish","id":{n},"topic":"{topic}","data":{data}}}"#);
                ws.send(Message::text(f)).await?;
            }
            Source::Http(h) => {
                let status = h
                    .post(&format!(r#"{{"topic":"{topic}","data":{data}}}"#))
                    .await?;
                if status != 200 {
                    return Err(format!("POST /publish answered {status}").into());
                }
            }
        }
        Ok(())
    }
}

/// One fan-out measurement: medians over rounds.
struct FanRow {
    p50: f64,
    p99: f64,
    max: f64,
    /// Server CPU time per frame received, µs.
    cpu_us: f64,
    note: String,
}

/// Fan-out latency with `s` subscribers of one topic on `server`.
async fn fanout_on(ctx: &Ctx, server: &ServerProc, s: usize, bare: bool) -> Res<FanRow> {
    let c = Clients::spawn(
        server.addr,
        s,
        ctx.args.concurrency,
        |_| vec!["bench".to_owned()],
        Role::Latency,
    );
    c.wait_ready(Duration::from_secs(120)).await?;
    sleep(Duration::from_millis(500)).await;
    let mut source = Source::connect(server.addr, bare).await?;
    // Spacing: a round of publications takes about 2.5 s at 1k, 5 s at
    // 10k subscribers; each publication's fan-out ends before the next.
    let gap = Duration::from_micros((s as u64 * 400).clamp(10_000, 200_000));
    let pubs = ctx.args.pubs;
    let cpu0 = server.cpu_secs();
    let mut n = 0;
    for r in 0..ctx.args.rounds {
        ctx.check_time()?;
        for _ in 0..pubs {
            n += 1;
            let data = format!(r#"{{"r":{r},"sent_at":{}}}"#, now_us());
            source.publish(n, "bench", &data).await?;
            sleep(gap).await;
        }
        let want = (s * pubs * (r + 1)) as u64;
        let start = Instant::now();
        while c.received.load(Relaxed) < want && start.elapsed() < Duration::from_secs(10) {
            sleep(Duration::from_millis(5)).await;
        }
    }
    let got = c.received.load(Relaxed);
    let cpu_us = (server.cpu_secs() - cpu0) * 1e6 / got.max(1) as f64;
    let dropped = c.dropped.load(Relaxed);
    let samples = c.finish().await;
    let (mut p50, mut p99, mut max) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..ctx.args.rounds {
        let mut v: Vec<f64> = samples
            .iter()
            .filter(|(rr, _)| *rr as usize == r)
            .map(|(_, us)| f64::from(*us) / 1000.0)
            .collect();
        v.sort_by(f64::total_cmp);
        p50.push(quantile(&v, 0.5));
        p99.push(quantile(&v, 0.99));
        max.push(quantile(&v, 1.0));
    }
    let expected = (s * pubs * ctx.args.rounds) as u64;
    let per_round = p99
        .iter()
        .map(|v| format!("{v:.1}"))
        .collect::<Vec<_>>()
        .join(" / ");
    Ok(FanRow {
        p50: median(&p50),
        p99: median(&p99),
        max: median(&max),
        cpu_us,
        note: format!(
            "{got}/{expected} received, {dropped} connections lost; p99 per round: {per_round}"
        ),
    })
}

async fn fanout(ctx: &mut Ctx) -> Res<()> {
    let (echo50, echo99) = tcp_echo_rtt().await?;
    let mut sizes = vec![1];
    sizes.extend(ctx.args.fanout.iter().copied().filter(|&s| s > 1));
    let mut rows: Vec<(&str, usize, FanRow)> = Vec::new();
    {
        let server = tether_server(&ctx.args, &ctx.topics_file, &ctx.log("fanout"))?;
        for &s in &sizes {
            ctx.check_time()?;
            rows.push(("tether-server", s, fanout_on(ctx, &server, s, false).await?));
        }
    }
    // The same fan-out on the bare WebSocket stack: what this machine allows.
    let largest = sizes[sizes.len() - 1];
    if largest > 1 {
        ctx.check_time()?;
        let bare = bare_server(&ctx.log("bare-fanout"))?;
        rows.push(("bare", largest, fanout_on(ctx, &bare, largest, true).await?));
    }
    let (base_p50, base_p99) = (rows[0].2.p50, rows[0].2.p99);
    let mut t = Table::new(&[
        "server",
        "subscribers",
        "p50 (ms)",
        "p99 (ms)",
        "max (ms)",
        "p50 / baseline",
        "p99 / baseline",
        "server CPU µs per delivery",
        "goal",
        "notes",
    ]);
    for (kind, s, row) in &rows {
        let goal = match (*kind, *s) {
            (_, 1) => "baseline".to_owned(),
            ("bare", _) => "same-run stack baseline".to_owned(),
            (_, s) if s >= 10_000 => format!(
                "p99 <= 50 ms: {}",
                if row.p99 <= 50.0 { "met" } else { "NOT met" }
            ),
            _ => "-".to_owned(),
        };
        t.row(vec![
            kind.to_string(),
            s.to_string(),
            format!("{:.2}", row.p50),
            format!("{:.2}", row.p99),
            format!("{:.2}", row.max),
            format!("{:.1}", row.p50 / base_p50.max(1e-6)),
            format!("{:.1}", row.p99 / base_p99.max(1e-6)),
            format!("{:.2}", row.cpu_us),
            goal,
            row.note.clone(),
        ]);
        let key = if *kind == "bare" { "bare_" } else { "" };
        ctx.metric("fanout", &format!("{key}p50_ms_{s}"), row.p50);
        ctx.metric("fanout", &format!("{key}p99_ms_{s}"), row.p99);
        ctx.metric("fanout", &format!("{key}max_ms_{s}"), row.max);
        ctx.metric(
            "fanout",
            &format!("{key}cpu_us_per_delivery_{s}"),
            row.cpu_us,
        );
    }
    ctx.section(
        "Fan-out latency, one topic",
        &format!(
            "tether-server: `POST /publish` (keep-alive HTTP/1.1, `sent_at` µs in `data`); \
             bare: `publish` frames on a WebSocket; latency to receipt at every subscriber; \
             {} rounds of {} publications, each figure the median over rounds; server CPU \
             (user + system, /proc) over all rounds per frame received. Baseline: 1 \
             subscriber. Context: loopback TCP echo round trip p50 {echo50:.0} µs, p99 \
             {echo99:.0} µs.",
            ctx.args.rounds, ctx.args.pubs
        ),
        &t,
    );
    ctx.metric("fanout", "tcp_echo_p50_us", echo50);
    Ok(())
}

/// What [`deliveries_on`] measured: medians over the windows.
struct Delivered {
    per_s: f64,
    publications_per_s: f64,
    /// Server CPU time per delivery, µs.
    cpu_us: f64,
    lost: usize,
}

/// Deliveries per second on `server` (tether or bare), median over windows.
async fn deliveries_on(ctx: &Ctx, server: &ServerProc, bare: bool) -> Res<Delivered> {
    let addr = server.addr;
    let a = &ctx.args;
    let k = a.deliv_topics.max(1);
    let m = a.deliv_per_sub.clamp(1, k);
    let counter = Arc::new(AtomicU64::new(0));
    let c = Clients::spawn(
        addr,
        a.deliv_subs,
        a.concurrency,
        move |i| {
            (0..m)
                .map(|j| format!("t{}", (i + j * k / m) % k))
                .collect()
        },
        Role::Count(counter.clone()),
    );
    c.wait_ready(Duration::from_secs(120)).await?;
    // Subscribers per topic, for the flow control.
    let mut fan = vec![0u64; k];
    for i in 0..a.deliv_subs {
        for j in 0..m {
            fan[(i + j * k / m) % k] += 1;
        }
    }
    let fan = Arc::new(fan);
    let expected = Arc::new(AtomicU64::new(0));
    let published = Arc::new(AtomicU64::new(0));
    // At most this many frames in flight server-side (16 per subscriber on
    // average, far below the 256-frame queue), so nobody is dropped.
    let budget = a.deliv_subs as u64 * 16;
    let (stop, stop_rx) = watch::channel(false);
    let pad = "x".repeat(a.pad);
    let mut pubs = Vec::new();
    for p in 0..a.deliv_publishers {
        let (fan, expected, published, counter, stop_rx, pad) = (
            fan.clone(),
            expected.clone(),
            published.clone(),
            counter.clone(),
            stop_rx.clone(),
            pad.clone(),
        );
        let publishers = a.deliv_publishers;
        pubs.push(tokio::spawn(async move {
            let mut source = Source::connect(addr, bare).await?;
            let mut n = 0usize;
            while !*stop_rx.borrow() {
                if expected.load(Relaxed).saturating_sub(counter.load(Relaxed)) > budget {
                    tokio::task::yield_now().await;
                    sleep(Duration::from_micros(200)).await;
                    continue;
                }
                let topic = (p + n * publishers) % fan.len();
                n += 1;
                expected.fetch_add(fan[topic], Relaxed);
                let data = format!(r#"{{"sent_at":{},"pad":"{pad}"}}"#, now_us());
                source.publish(n, &format!("t{topic}"), &data).await?;
                published.fetch_add(1, Relaxed);
            }
            Res::Ok(())
        }));
    }
    sleep(Duration::from_secs(2)).await;
    let mut rates = Vec::new();
    let mut pub_rates = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..a.rounds {
        ctx.check_time()?;
        let (d0, p0, c0, t0) = (
            counter.load(Relaxed),
            published.load(Relaxed),
            server.cpu_secs(),
            Instant::now(),
        );
        sleep(Duration::from_secs(a.deliv_secs)).await;
        let dt = t0.elapsed().as_secs_f64();
        let delivered = counter.load(Relaxed) - d0;
        rates.push(delivered as f64 / dt);
        pub_rates.push((published.load(Relaxed) - p0) as f64 / dt);
        cpu.push((server.cpu_secs() - c0) * 1e6 / delivered.max(1) as f64);
    }
    let _ = stop.send(true);
    for p in pubs {
        if let Ok(Ok(Err(e))) = timeout(Duration::from_secs(10), p).await {
            return Err(e);
        }
    }
    let lost = c.dropped.load(Relaxed);
    c.finish().await;
    Ok(Delivered {
        per_s: median(&rates),
        publications_per_s: median(&pub_rates),
        cpu_us: median(&cpu),
        lost,
    })
}

async fn deliveries(ctx: &mut Ctx) -> Res<()> {
    let mut rows = Vec::new();
    for kind in ["tether-server", "bare"] {
        ctx.check_time()?;
        let server = if kind == "bare" {
            bare_server(&ctx.log("bare"))?
        } else {
            tether_server(&ctx.args, &ctx.topics_file, &ctx.log("deliveries"))?
        };
        let r = deliveries_on(ctx, &server, kind == "bare").await?;
        rows.push((kind, r));
    }
    let base = rows[1].1.per_s.max(1e-9);
    let base_cpu = rows[1].1.cpu_us.max(1e-9);
    let a = ctx.args.clone();
    let mut t = Table::new(&[
        "server",
        "deliveries/s (median)",
        "publications/s",
        "connections lost",
        "ratio vs bare",
        "server CPU µs per delivery",
        "CPU ratio vs bare",
    ]);
    for (kind, d) in &rows {
        t.row(vec![
            kind.to_string(),
            format!("{:.0}", d.per_s),
            format!("{:.0}", d.publications_per_s),
            d.lost.to_string(),
            format!("{:.2}", d.per_s / base),
            format!("{:.2}", d.cpu_us),
            format!("{:.2}", d.cpu_us / base_cpu),
        ]);
    }
    ctx.metric("deliveries", "tether_per_s", rows[0].1.per_s);
    ctx.metric("deliveries", "bare_per_s", rows[1].1.per_s);
    ctx.metric("deliveries", "tether_cpu_us", rows[0].1.cpu_us);
    ctx.metric("deliveries", "bare_cpu_us", rows[1].1.cpu_us);
    let notes = format!(
        "{} subscriber connections x {} of {} topics ({} subscriptions per topic), {} \
         publishers ({}: keep-alive `POST /publish`; bare: `publish` frames on a WebSocket), \
         payload ~{} bytes; publishers pause while more than 16 frames per subscriber are in \
         flight, so no queue overflows. Median of {} windows of {} s after a 2 s warm-up; \
         server CPU (user + system, /proc) per delivery over the same windows.",
        a.deliv_subs,
        a.deliv_per_sub,
        a.deliv_topics,
        a.deliv_subs * a.deliv_per_sub / a.deliv_topics.max(1),
        a.deliv_publishers,
        "tether-server",
        a.pad + 40,
        a.rounds,
        a.deliv_secs
    );
    ctx.section(
        "Deliveries per second, many topics and publishers",
        &notes,
        &t,
    );
    Ok(())
}

/// Connections per second: `n` connections, `conc` at once, each closed
/// right after it is established. `ws`: WebSocket + first frame; else TCP.
async fn connect_rate(addr: SocketAddr, n: usize, conc: usize, ws: bool) -> Res<f64> {
    let sem = Arc::new(Semaphore::new(conc));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let permit = sem.clone().acquire_owned().await?;
        tasks.push(tokio::spawn(async move {
            let r: Res<()> = async {
                if ws {
                    ws_connect(addr).await.map(drop)
                } else {
                    let s = TcpStream::connect(addr).await?;
                    s.set_zero_linger()?;
                    Ok(())
                }
            }
            .await;
            drop(permit);
            r.is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if timeout(Duration::from_secs(30), t)
            .await
            .is_ok_and(|r| r.unwrap_or(false))
        {
            ok += 1;
        }
    }
    if ok < n {
        return Err(format!("{} of {n} connections failed", n - ok).into());
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

async fn handshakes(ctx: &mut Ctx) -> Res<()> {
    let n = ctx.args.handshakes;
    let conc = ctx.args.concurrency;
    // Plain TCP: an in-process listener that accepts and drops.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let tcp_addr = listener.local_addr()?;
    let acceptor = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            drop(s);
        }
    });
    let tether = tether_server(&ctx.args, &ctx.topics_file, &ctx.log("handshakes"))?;
    let bare = bare_server(&ctx.log("bare"))?;
    let mut rates: HashMap<&str, Vec<f64>> = HashMap::new();
    for _ in 0..ctx.args.rounds {
        ctx.check_time()?;
        for (kind, addr, ws) in [
            ("plain TCP connect", tcp_addr, false),
            ("bare WebSocket", bare.addr, true),
            ("tether-server", tether.addr, true),
        ] {
            let r = connect_rate(addr, n, conc, ws).await?;
            rates.entry(kind).or_default().push(r);
            sleep(Duration::from_millis(300)).await;
        }
    }
    acceptor.abort();
    let tcp = median(&rates["plain TCP connect"]);
    let mut t = Table::new(&[
        "target",
        "connections/s (median)",
        "runs",
        "ratio vs plain TCP",
    ]);
    for kind in ["tether-server", "bare WebSocket", "plain TCP connect"] {
        let m = median(&rates[kind]);
        t.row(vec![
            kind.to_owned(),
            format!("{m:.0}"),
            rates[kind]
                .iter()
                .map(|v| format!("{v:.0}"))
                .collect::<Vec<_>>()
                .join(" / "),
            format!("{:.3}", m / tcp),
        ]);
        ctx.metric("handshakes", kind, m);
    }
    ctx.section(
        "Connections accepted per second (handshake rate)",
        &format!(
            "{n} connections per run, {conc} opening at once, each closed (reset) as soon as \
             it is established; a WebSocket counts when `connection_established` (bare: its \
             welcome frame) arrives. Plain TCP: connect to an in-process tokio listener that \
             accepts and drops."
        ),
        &t,
    );
    Ok(())
}

/// One configuration of the `scaleout` section.
struct ScaleRun {
    pubs_per_s: f64,
    deliveries_per_s: f64,
    metrics_out_per_s: f64,
    p50: f64,
    p99: f64,
    max: f64,
    p99_publishing: f64,
    p99_others: f64,
    got: u64,
    expected: u64,
    lost: usize,
}

/// `n` instances (over a fresh Redis when `redis`, else one in-memory
/// hub), `--scaleout-clients` subscribers of `bench` spread over them,
/// publications at `--scaleout-rate` through the first: a 2 s warm-up
/// (round 0), then the measured window (round 1).
async fn scaleout_run(ctx: &Ctx, n: usize, redis: bool) -> Res<ScaleRun> {
    let a = &ctx.args;
    let tag = if redis {
        format!("redis{n}")
    } else {
        "memory".to_owned()
    };
    let redis_proc = if redis {
        Some(RedisProc::start(
            &a.redis_server,
            &ctx.log(&format!("scaleout-{tag}-redis")),
        )?)
    } else {
        None
    };
    let extra: Vec<String> = redis_proc
        .as_ref()
        .map(|r| vec!["--broker".to_owned(), r.url()])
        .unwrap_or_default();
    let mut servers = Vec::new();
    for i in 0..n.max(1) {
        let log = ctx.log(&format!("scaleout-{tag}-{i}"));
        servers.push(tether_server_with(a, &ctx.topics_file, &log, &extra)?);
    }
    // Every instance healthy (its broker link up), at most 20 s.
    for s in &servers {
        let start = Instant::now();
        while !matches!(http_get(s.addr, "/healthz").await, Ok((200, _))) {
            if start.elapsed() > Duration::from_secs(20) {
                return Err(format!("{} not healthy within 20 s", s.addr).into());
            }
            sleep(Duration::from_millis(50)).await;
        }
    }
    let m = a.scaleout_clients;
    let per: Vec<usize> = (0..servers.len())
        .map(|i| m / servers.len() + usize::from(i < m % servers.len()))
        .collect();
    let clients: Vec<Clients> = servers
        .iter()
        .zip(&per)
        .map(|(s, &k)| {
            Clients::spawn(
                s.addr,
                k,
                a.concurrency,
                |_| vec!["bench".to_owned()],
                Role::Latency,
            )
        })
        .collect();
    for c in &clients {
        c.wait_ready(Duration::from_secs(120)).await?;
    }
    sleep(Duration::from_millis(500)).await;
    let received = |cs: &[Clients]| cs.iter().map(|c| c.received.load(Relaxed)).sum::<u64>();
    let mut publisher = Publisher::connect(servers[0].addr).await?;
    let rate = a.scaleout_rate.clamp(0.1, 10_000.0);
    let gap = Duration::from_secs_f64(1.0 / rate);
    let warm = (2.0 * rate).ceil() as usize;
    let measured = ((a.scaleout_secs.max(1) as f64) * rate).ceil() as usize;
    let start = tokio::time::Instant::now();
    let (mut d0, mut o0, mut t0) = (0, 0, Instant::now());
    for k in 0..warm + measured {
        if k == warm {
            d0 = received(&clients);
            o0 = 0;
            for s in &servers {
                o0 += messages_out(s.addr).await?;
            }
            t0 = Instant::now();
        }
        if k % 64 == 0 {
            ctx.check_time()?;
        }
        // Fixed schedule: publication k at start + k * gap (a late one is
        // sent at once, so the achieved rate is reported, not assumed).
        tokio::time::sleep_until(start + gap * k as u32).await;
        let round = usize::from(k >= warm);
        let body = format!(
            r#"{{"topic":"bench","event":"bench","data":{{"r":{round},"sent_at":{}}}}}"#,
            now_us()
        );
        let status = publisher.post(&body).await?;
        if status != 200 {
            return Err(format!("POST /publish answered {status}").into());
        }
    }
    let dt = t0.elapsed().as_secs_f64();
    let d1 = received(&clients);
    let mut o1 = 0;
    for s in &servers {
        o1 += messages_out(s.addr).await?;
    }
    // Drain: every frame in, at most 10 s.
    let want = (m * (warm + measured)) as u64;
    let drain = Instant::now();
    while received(&clients) < want && drain.elapsed() < Duration::from_secs(10) {
        sleep(Duration::from_millis(5)).await;
    }
    let lost = clients.iter().map(|c| c.dropped.load(Relaxed)).sum();
    let mut all = Vec::new();
    let mut first = Vec::new();
    let mut others = Vec::new();
    for (i, c) in clients.into_iter().enumerate() {
        let v: Vec<f64> = c
            .finish()
            .await
            .into_iter()
            .filter(|(r, _)| *r == 1)
            .map(|(_, us)| f64::from(us) / 1000.0)
            .collect();
        all.extend_from_slice(&v);
        if i == 0 {
            first = v;
        } else {
            others.extend(v);
        }
    }
    for v in [&mut all, &mut first, &mut others] {
        v.sort_by(f64::total_cmp);
    }
    drop(servers);
    drop(redis_proc);
    Ok(ScaleRun {
        pubs_per_s: measured as f64 / dt,
        deliveries_per_s: (d1 - d0) as f64 / dt,
        metrics_out_per_s: o1.saturating_sub(o0) as f64 / dt,
        p50: quantile(&all, 0.5),
        p99: quantile(&all, 0.99),
        max: quantile(&all, 1.0),
        p99_publishing: quantile(&first, 0.99),
        p99_others: quantile(&others, 0.99),
        got: all.len() as u64,
        expected: (m * measured) as u64,
        lost,
    })
}

async fn scaleout(ctx: &mut Ctx) -> Res<()> {
    let a = ctx.args.clone();
    let mut configs = vec![(0usize, false)];
    configs.extend(
        a.scaleout_instances
            .iter()
            .filter(|&&n| n >= 1)
            .map(|&n| (n, true)),
    );
    let mut rows = Vec::new();
    for (n, redis) in configs {
        ctx.check_time()?;
        let t = Instant::now();
        let r = scaleout_run(ctx, n.max(1), redis).await?;
        eprintln!(
            "  scaleout {}: {:.1} s",
            if redis {
                format!("redis x{n}")
            } else {
                "in-memory".to_owned()
            },
            t.elapsed().as_secs_f64()
        );
        rows.push((n, redis, r));
    }
    let (b_deliv, b_p50, b_p99) = (
        rows[0].2.deliveries_per_s.max(1e-9),
        rows[0].2.p50.max(1e-9),
        rows[0].2.p99.max(1e-9),
    );
    let mut t = Table::new(&[
        "configuration",
        "publications/s",
        "deliveries/s",
        "tether_messages_out/s",
        "deliveries / in-memory",
        "p50 (ms)",
        "p99 (ms)",
        "max (ms)",
        "p50 / in-memory",
        "p99 / in-memory",
        "p99 publishing / other instances (ms)",
        "received / expected",
        "connections lost",
    ]);
    for (n, redis, r) in &rows {
        let name = if *redis {
            format!("Redis, {n} instance{}", if *n == 1 { "" } else { "s" })
        } else {
            "in-memory hub (baseline)".to_owned()
        };
        t.row(vec![
            name,
            format!("{:.1}", r.pubs_per_s),
            format!("{:.0}", r.deliveries_per_s),
            format!("{:.0}", r.metrics_out_per_s),
            format!("{:.2}", r.deliveries_per_s / b_deliv),
            format!("{:.2}", r.p50),
            format!("{:.2}", r.p99),
            format!("{:.2}", r.max),
            format!("{:.2}", r.p50 / b_p50),
            format!("{:.2}", r.p99 / b_p99),
            if *n > 1 {
                format!("{:.2} / {:.2}", r.p99_publishing, r.p99_others)
            } else {
                "-".to_owned()
            },
            format!("{}/{}", r.got, r.expected),
            r.lost.to_string(),
        ]);
        let key = if *redis {
            format!("redis{n}")
        } else {
            "memory".to_owned()
        };
        ctx.metric(
            "scaleout",
            &format!("deliveries_per_s_{key}"),
            r.deliveries_per_s,
        );
        ctx.metric("scaleout", &format!("p50_ms_{key}"), r.p50);
        ctx.metric("scaleout", &format!("p99_ms_{key}"), r.p99);
    }
    ctx.section(
        "Scale-out over Redis",
        &format!(
            "{} subscribers of one topic spread evenly over the instances (all sharing one \
             `redis-server --save \"\" --appendonly no` on loopback, `--broker`), `POST \
             /publish` at a fixed {:.0}/s through the first instance with `sent_at` µs in \
             `data`; latency = receipt - `sent_at` over every frame of a {} s window after \
             a 2 s warm-up; deliveries/s = frames received in the window / window \
             (tether_messages_out/s: the growth of the instances' counter, same window). \
             Baseline: the in-memory hub (one instance, no broker), same load.",
            a.scaleout_clients, a.scaleout_rate, a.scaleout_secs
        ),
        &t,
    );
    Ok(())
}

fn write_topics(path: &Path, k: usize) -> Res<()> {
    let mut v = vec![
        serde_json::json!({"name": "bench", "description": "fan-out", "client_publish": false}),
    ];
    for i in 0..k {
        v.push(serde_json::json!({"name": format!("t{i}"), "description": "load", "client_publish": false}));
    }
    std::fs::write(path, serde_json::to_string(&v)?)?;
    Ok(())
}

fn main() -> Res<()> {
    let args = Args::parse();
    let nofile = raise_nofile();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.serve_bare {
        return rt.block_on(serve_bare());
    }
    std::fs::create_dir_all(&args.out)?;
    if !args.server_bin.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p tether-server`",
            args.server_bin.display()
        )
        .into());
    }
    let topics_file = args.out.join("load-topics.json");
    write_topics(&topics_file, args.deliv_topics)?;
    println!(
        "load: open-file limit {nofile}, server {}, sections {}",
        args.server_bin.display(),
        args.sections.join(",")
    );
    let need = args
        .idle
        .max(args.fanout.iter().copied().max().unwrap_or(0))
        .max(args.scaleout_clients) as u64
        + 100;
    if nofile < need {
        return Err(
            format!("open-file limit {nofile} is below the {need} connections needed").into(),
        );
    }
    let mut ctx = Ctx {
        deadline: Instant::now() + Duration::from_secs(args.time_limit_s),
        args: args.clone(),
        topics_file,
        report: String::new(),
        csv: Table::new(&["section", "metric", "value"]),
    };
    let started = Instant::now();
    rt.block_on(async {
        for s in &args.sections {
            let t = Instant::now();
            match s.as_str() {
                "rss" => rss(&mut ctx).await?,
                "fanout" => fanout(&mut ctx).await?,
                "deliveries" => deliveries(&mut ctx).await?,
                "handshakes" => handshakes(&mut ctx).await?,
                "scaleout" => scaleout(&mut ctx).await?,
                other => return Err(format!("unknown section {other:?}").into()),
            }
            eprintln!("  section {s}: {:.1} s", t.elapsed().as_secs_f64());
        }
        Res::Ok(())
    })?;
    std::fs::write(args.out.join("load_summary.md"), &ctx.report)?;
    std::fs::write(args.out.join("load.csv"), ctx.csv.csv())?;
    println!("\nload: done in {:.0} s", started.elapsed().as_secs_f64());
    // Client tasks may still hold sockets: leave without waiting for them.
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}
