//! `soak`: the real `tether-server` binary (started here, on loopback)
//! under `--duration` seconds of churn, with its memory sampled throughout.
//! See `BENCHMARKS.md` ("Soak") for the figures and `scripts/soak.sh` for
//! the full-length command.
//!
//! Client loops, all over real sockets (`workers.rs`, `abuse.rs`):
//!
//! - a steady population of `--idle` subscribers, each on one of
//!   `--bulk-topics` topics that get large publications (`--large-bytes`,
//!   one topic at a time, sweeping through them over the run) and one small
//!   topic; they read everything and check its order;
//! - `--churners` loops: connect, subscribe to 1-3 topics (half of the
//!   time resuming with `recover`), read 0.2-3 s, leave (half with a close
//!   frame, half by dropping the TCP connection);
//! - publishers: `POST /publish` (small and `--medium-bytes` payloads) and
//!   WebSocket `publish` requests on the `client_publish` topic;
//! - `--slow-readers`: subscribe to everything and stop reading, so the
//!   server must disconnect them;
//! - `--abusers`: oversized messages (close 1009), invalid UTF-8 (1007),
//!   text that is not JSON, unknown types, binary messages (an `error`
//!   frame each, then the connection must still answer a ping), floods over
//!   the rate limit (close 4429).
//!
//! Every `--sample-secs`: the server's RSS (`/proc/PID/status`), CPU time,
//! `/metrics` counters, and the clients' counters and errors. At the end
//! the server gets SIGTERM (idle subscribers must see `goaway` and close
//! 1012; it must exit 0), and the run fails (exit 1) if the server died,
//! printed `panicked` to stderr, its RSS was not flat (see `report.rs`:
//! first post-warm-up window vs last window, comparable connection counts
//! required), an abuse kind was never answered as expected or once
//! answered otherwise, a pattern never happened (no slow reader
//! disconnected, no recovery, ...), or a publication came out of order.

mod abuse;
mod report;
mod stats;
mod workers;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tether_bench::client::http_get;
use tether_bench::server::{raise_nofile, ServerProc};
use tether_bench::{Res, Table};
use tokio::sync::watch;
use tokio::time::sleep;

use report::{samples_table, summary_table, Flatness, Sample};
use stats::{Stats, ABUSES, ALL, C};
use workers::Ctx;

#[derive(Parser, Debug, Clone)]
#[command(about = "Soak run against tether-server (loopback only)")]
pub struct Args {
    /// The server binary.
    #[arg(long, default_value = "target/release/tether-server")]
    server_bin: PathBuf,
    /// Output folder (summary, CSV of every sample, server log).
    #[arg(long, default_value = "out/soak")]
    out: PathBuf,
    /// Length of the churn, seconds (after the idle population is up).
    #[arg(long, default_value_t = 3600)]
    pub duration: u64,
    /// Warm-up before the first measured window, seconds (default: a
    /// sixth of the duration).
    #[arg(long)]
    warmup: Option<u64>,
    /// Length of the two compared windows, seconds (default: a twelfth of
    /// the duration).
    #[arg(long)]
    window: Option<u64>,
    /// Seconds between samples.
    #[arg(long, default_value_t = 10.0)]
    sample_secs: f64,
    /// Rows of the printed samples table.
    #[arg(long, default_value_t = 13)]
    table_rows: usize,
    /// Idle subscribers (steady population).
    #[arg(long, default_value_t = 1000)]
    idle: usize,
    /// Topics of the large publications; each idle subscriber is on one.
    #[arg(long, default_value_t = 20)]
    bulk_topics: usize,
    /// Size of a large publication's payload, bytes (at most 2 MiB with
    /// the JSON around it: the `POST /publish` limit).
    #[arg(long, default_value_t = 1 << 20)]
    pub large_bytes: usize,
    /// Milliseconds between large publications.
    #[arg(long, default_value_t = 3000)]
    pub large_every_ms: u64,
    /// Small topics published over HTTP.
    #[arg(long, default_value_t = 10)]
    small_topics: usize,
    /// Churner loops running at once.
    #[arg(long, default_value_t = 40)]
    churners: usize,
    /// `POST /publish` loops.
    #[arg(long, default_value_t = 2)]
    http_publishers: usize,
    /// Publications per second per HTTP loop.
    #[arg(long, default_value_t = 40.0)]
    pub http_rate: f64,
    /// WebSocket `publish` loops.
    #[arg(long, default_value_t = 2)]
    ws_publishers: usize,
    /// Publications per second per WebSocket loop.
    #[arg(long, default_value_t = 10.0)]
    pub ws_rate: f64,
    /// Every tenth HTTP and WebSocket publication carries this many bytes.
    #[arg(long, default_value_t = 32 * 1024)]
    pub medium_bytes: usize,
    /// Slow-reader loops running at once.
    #[arg(long, default_value_t = 4)]
    slow_readers: usize,
    /// Seconds a slow reader stops reading.
    #[arg(long, default_value_t = 30)]
    pub slow_pause: u64,
    /// Abuser loops running at once.
    #[arg(long, default_value_t = 2)]
    abusers: usize,
    /// The server's `--max-frame-bytes`.
    #[arg(long, default_value_t = 65536)]
    pub max_frame_bytes: usize,
    /// The server's `--rate-limit` (frames/s per connection; > 0).
    #[arg(long, default_value_t = 100)]
    pub rate_limit: usize,
    /// The server's `--history-ttl`, seconds (the warm-up should exceed it,
    /// so the history is at its steady size when measuring).
    #[arg(long, default_value_t = 60)]
    pub history_ttl: u64,
    /// RSS flatness bound: growth allowed, percent of the first window's
    /// median ...
    #[arg(long, default_value_t = 20.0)]
    rss_tolerance_pct: f64,
    /// ... or this many MiB, whichever is larger.
    #[arg(long, default_value_t = 16.0)]
    rss_tolerance_mib: f64,
    /// Connection counts of the two windows must be within this percent.
    #[arg(long, default_value_t = 10.0)]
    population_tolerance_pct: f64,
}

fn write_topics(path: &std::path::Path, a: &Args) -> Res<(Vec<String>, String, Vec<String>)> {
    let small: Vec<String> = (0..a.small_topics.max(1))
        .map(|i| format!("s{i}"))
        .collect();
    let bulk: Vec<String> = (0..a.bulk_topics.max(1)).map(|i| format!("b{i}")).collect();
    let chat = "chat".to_owned();
    let mut v = Vec::new();
    for t in &small {
        v.push(serde_json::json!({"name": t, "description": "small and medium publications", "client_publish": false}));
    }
    v.push(
        serde_json::json!({"name": chat, "description": "client publish", "client_publish": true}),
    );
    for t in &bulk {
        v.push(serde_json::json!({"name": t, "description": "large publications", "client_publish": false}));
    }
    std::fs::write(path, serde_json::to_string(&v)?)?;
    Ok((small, chat, bulk))
}

/// Lines of the server log that report a panic.
fn panics(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("panicked"))
        .map(str::to_owned)
        .collect()
}

fn main() {
    match run() {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("\nsoak: FAILED (see the verdict above)");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("\nsoak: error: {e}");
            std::process::exit(2);
        }
    }
}

fn run() -> Res<bool> {
    let args = Args::parse();
    if args.rate_limit == 0 {
        return Err("--rate-limit must be > 0 (the flood abuse needs a limit)".into());
    }
    if !args.server_bin.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p tether-server`",
            args.server_bin.display()
        )
        .into());
    }
    let duration = args.duration.max(4) as f64;
    let warmup = args.warmup.map_or(duration / 6.0, |w| w as f64);
    let window = args.window.map_or(duration / 12.0, |w| w as f64);
    if warmup + 2.0 * window > duration {
        return Err("--warmup + 2 x --window must fit in --duration".into());
    }
    std::fs::create_dir_all(&args.out)?;
    let nofile = raise_nofile();
    let need = (args.idle + args.churners + args.slow_readers + args.abusers) as u64 + 200;
    if nofile < need {
        return Err(
            format!("open-file limit {nofile} is below the {need} connections needed").into(),
        );
    }
    let topics_file = args.out.join("soak-topics.json");
    let (small, chat, bulk) = write_topics(&topics_file, &args)?;
    let log = args.out.join("soak-server.log");
    let flags: Vec<String> = vec![
        "--topics".into(),
        topics_file.display().to_string(),
        "--max-connections-per-ip".into(),
        "100000".into(),
        "--max-frame-bytes".into(),
        args.max_frame_bytes.to_string(),
        "--rate-limit".into(),
        args.rate_limit.to_string(),
        "--history-ttl".into(),
        args.history_ttl.to_string(),
    ];
    let mut server = ServerProc::tether(&args.server_bin, &log, &flags)?;
    println!(
        "soak: server {} (pid {}) on {}, flags: {}",
        args.server_bin.display(),
        server.pid(),
        server.addr,
        flags.join(" ")
    );
    println!(
        "soak: {} s, warm-up {warmup:.0} s, windows {window:.0} s; {} idle subscribers on {} bulk \
         topics ({} B every {} ms), {} churners, {}+{} publishers, {} slow readers, {} abusers",
        duration,
        args.idle,
        bulk.len(),
        args.large_bytes,
        args.large_every_ms,
        args.churners,
        args.http_publishers,
        args.ws_publishers,
        args.slow_readers,
        args.abusers
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let ctx = Arc::new(Ctx {
        args: args.clone(),
        addr: server.addr,
        stats: Stats::default(),
        stop: stop_rx,
        shutting_down: AtomicBool::new(false),
        small,
        chat,
        bulk,
    });
    let outcome = rt.block_on(soak(
        &ctx,
        &mut server,
        stop_tx,
        duration,
        warmup,
        window,
        &log,
    ));
    rt.shutdown_timeout(Duration::from_secs(2));
    outcome
}

/// Runs the load, samples, shuts the server down, prints the report;
/// true when every criterion holds.
async fn soak(
    ctx: &Arc<Ctx>,
    server: &mut ServerProc,
    stop: watch::Sender<bool>,
    duration: f64,
    warmup: f64,
    window: f64,
    log: &std::path::Path,
) -> Res<bool> {
    let a = &ctx.args;
    // The steady population first, a few connections at a time.
    let ready = Arc::new(AtomicUsize::new(0));
    let mut idle_tasks = Vec::new();
    for i in 0..a.idle {
        idle_tasks.push(tokio::spawn(workers::idle(ctx.clone(), i, ready.clone())));
        if i % 50 == 49 {
            sleep(Duration::from_millis(20)).await;
        }
    }
    let up = Instant::now();
    while ready.load(Relaxed) < a.idle {
        if up.elapsed() > Duration::from_secs(120) {
            return Err(format!(
                "only {} of {} idle subscribers up after 120 s",
                ready.load(Relaxed),
                a.idle
            )
            .into());
        }
        sleep(Duration::from_millis(50)).await;
    }
    println!(
        "soak: {} idle subscribers up in {:.1} s",
        a.idle,
        up.elapsed().as_secs_f64()
    );
    // The clock of the run (and of the bulk publisher's sweep) starts with
    // the churn.
    let start = Instant::now();
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(workers::bulk_publisher(ctx.clone(), start)));
    for k in 0..a.churners {
        tasks.push(tokio::spawn(workers::churner(ctx.clone(), k)));
    }
    for p in 0..a.http_publishers {
        tasks.push(tokio::spawn(workers::http_publisher(ctx.clone(), p)));
    }
    for w in 0..a.ws_publishers {
        tasks.push(tokio::spawn(workers::ws_publisher(ctx.clone(), w)));
    }
    for r in 0..a.slow_readers {
        tasks.push(tokio::spawn(workers::slow_reader(ctx.clone(), r)));
    }
    for k in 0..a.abusers {
        tasks.push(tokio::spawn(abuse::abuser(ctx.clone(), k)));
    }

    let mut samples: Vec<Sample> = Vec::new();
    let mut died = None;
    let every = a.sample_secs.max(0.2);
    let mut k = 0u32;
    loop {
        let t = start.elapsed().as_secs_f64();
        let metrics = match http_get(server.addr, "/metrics").await {
            Ok((200, body)) => body,
            Ok((status, _)) => {
                ctx.stats.error("GET /metrics", format!("HTTP {status}"));
                String::new()
            }
            Err(e) => {
                ctx.stats.error("GET /metrics", e);
                String::new()
            }
        };
        let s = Sample::new(t, server.rss_kib(), server.cpu_secs(), &metrics, &ctx.stats);
        eprintln!(
            "  t {:>6.0} s  RSS {:>7.1} MiB  connections {:>5}  churn {:>7}  published {:>7}  \
             slow kicked {:>4}  abuse {:>5}  errors {}",
            s.t,
            s.rss_mib(),
            s.connections,
            s.churn,
            s.published,
            s.slow_kicked,
            s.abuse_answered,
            s.errors
        );
        samples.push(s);
        if let Some(status) = server.exited() {
            died = Some(status);
            break;
        }
        if t >= duration {
            break;
        }
        k += 1;
        let next = start + Duration::from_secs_f64((f64::from(k) * every).min(duration));
        tokio::time::sleep_until(next.into()).await;
    }
    let churn_secs = start.elapsed().as_secs_f64();

    // Stop the churn; then SIGTERM with the idle population still there.
    let _ = stop.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(20), t).await;
    }
    ctx.shutting_down.store(true, Relaxed);
    let t_term = Instant::now();
    let exit = if died.is_none() {
        tokio::task::block_in_place(|| server.terminate(Duration::from_secs(15)))
    } else {
        died
    };
    let term_secs = t_term.elapsed().as_secs_f64();
    // The idle subscribers end on the server's close: wait a few seconds
    // at most (the runtime's shutdown ends any left).
    let idle_end = tokio::time::Instant::now() + Duration::from_secs(5);
    for t in idle_tasks {
        let _ = tokio::time::timeout_at(idle_end, t).await;
    }

    // ------------------------------------------------------------ report --
    let s = &ctx.stats;
    let flat = Flatness::new(
        &samples,
        warmup,
        window,
        duration,
        a.rss_tolerance_pct,
        a.rss_tolerance_mib,
        a.population_tolerance_pct,
    );
    let panic_lines = panics(log);
    let mut failures: Vec<String> = Vec::new();
    if let Some(status) = died {
        failures.push(format!("the server died during the run ({status})"));
    }
    if !panic_lines.is_empty() {
        failures.push(format!(
            "the server printed {} `panicked` line(s), first: {}",
            panic_lines.len(),
            panic_lines[0]
        ));
    }
    if !flat.comparable() {
        failures.push(format!(
            "the windows' loads are not comparable: median connections {:.0} vs {:.0} (bound ±{}%)",
            flat.first.connections, flat.last.connections, a.population_tolerance_pct
        ));
    }
    if !flat.flat() {
        failures.push(format!(
            "RSS not flat: {:.1} -> {:.1} MiB (+{:.1} MiB, bound +{:.1} MiB)",
            flat.first.rss_mib,
            flat.last.rss_mib,
            flat.growth_mib(),
            flat.bound_mib
        ));
    }
    for kind in ABUSES {
        let [attempts, expected, other, none] = s.abuse_row(kind);
        if expected == 0 {
            failures.push(format!(
                "abuse `{}`: never answered {}",
                kind.name(),
                kind.expected()
            ));
        }
        if other > 0 {
            failures.push(format!(
                "abuse `{}`: {other} of {attempts} answered otherwise than {}",
                kind.name(),
                kind.expected()
            ));
        }
        if none * 100 > attempts {
            failures.push(format!(
                "abuse `{}`: {none} of {attempts} not answered",
                kind.name()
            ));
        }
    }
    for (c, what) in [
        (C::ChurnCycles, "no churn cycle completed"),
        (C::ChurnCloseFrame, "no churner left with a close frame"),
        (C::ChurnAbrupt, "no churner left abruptly"),
        (C::Recovered, "no subscription recovered"),
        (C::HttpPublished, "no POST /publish succeeded"),
        (C::BulkPublished, "no large publication succeeded"),
        (C::WsPublished, "no WebSocket publish succeeded"),
        (C::SlowKicked, "no slow reader was disconnected"),
    ] {
        if s.get(c) == 0 {
            failures.push(what.to_owned());
        }
    }
    if s.get(C::Gaps) > 0 {
        failures.push(format!("{} publications out of order", s.get(C::Gaps)));
    }
    if died.is_none() {
        for (c, what) in [(C::Goaway, "goaway"), (C::Close1012, "close 1012")] {
            if s.get(c) < a.idle as u64 {
                failures.push(format!(
                    "SIGTERM: {} of {} idle subscribers got {what}",
                    s.get(c),
                    a.idle
                ));
            }
        }
    }
    let clean_exit = exit.is_some_and(|e| e.success());
    if died.is_none() && !clean_exit {
        failures.push(format!(
            "SIGTERM: the server did not exit 0 within 15 s ({exit:?})"
        ));
    }

    let mut out = String::new();
    let mut section = |title: &str, text: &str| {
        println!("\n### {title}\n\n{text}");
        out.push_str(&format!("### {title}\n\n{text}\n"));
    };
    section("Samples", &summary_table(&samples, a.table_rows).markdown());
    section(
        "Flatness",
        &format!(
            "{}\nGrowth {:+.1} MiB ({:+.1}%), bound +{:.1} MiB (the larger of {}% of the first \
             window and {} MiB): **{}**. Connections {:.0} vs {:.0} (bound ±{}%): {}. Slope \
             after the warm-up: {:+.1} MiB/h (context).\n",
            flat.table().markdown(),
            flat.growth_mib(),
            100.0 * flat.growth_mib() / flat.first.rss_mib.max(1e-9),
            flat.bound_mib,
            a.rss_tolerance_pct,
            a.rss_tolerance_mib,
            if flat.flat() { "flat" } else { "NOT flat" },
            flat.first.connections,
            flat.last.connections,
            a.population_tolerance_pct,
            if flat.comparable() {
                "comparable"
            } else {
                "NOT comparable"
            },
            flat.slope_mib_per_h
        ),
    );
    let mut abuse = Table::new(&[
        "abuse",
        "expected answer",
        "attempts",
        "as expected",
        "otherwise",
        "no answer",
    ]);
    for kind in ABUSES {
        let [attempts, expected, other, none] = s.abuse_row(kind);
        abuse.row(vec![
            kind.name().to_owned(),
            kind.expected().to_owned(),
            attempts.to_string(),
            expected.to_string(),
            other.to_string(),
            none.to_string(),
        ]);
    }
    section("Abuse", &abuse.markdown());
    let mut counters = Table::new(&["client counter", "value"]);
    for c in ALL {
        counters.row(vec![c.name().to_owned(), s.get(c).to_string()]);
    }
    let last = samples.last().cloned();
    if let Some(l) = &last {
        counters.row(vec![
            "server: connections accepted (per s of churn)".into(),
            format!(
                "{:.0} ({:.1}/s)",
                l.accepted,
                l.accepted / churn_secs.max(1.0)
            ),
        ]);
        counters.row(vec![
            "server: slow-consumer disconnects".into(),
            format!("{:.0}", l.slow_consumer),
        ]);
        counters.row(vec![
            "server: frames dropped over the rate limit".into(),
            format!("{:.0}", l.dropped_rate_limited),
        ]);
        counters.row(vec![
            "server: messages in / out".into(),
            format!("{:.0} / {:.0}", l.messages_in, l.messages_out),
        ]);
        counters.row(vec![
            "server: CPU time (s) / churn time (s)".into(),
            format!("{:.0} / {:.0}", l.cpu_s, churn_secs),
        ]);
    }
    counters.row(vec![
        "server: `panicked` lines in stderr".into(),
        panic_lines.len().to_string(),
    ]);
    counters.row(vec![
        "server: SIGTERM -> exit".into(),
        format!("{exit:?} after {term_secs:.1} s"),
    ]);
    section("Counters", &counters.markdown());
    let seen = s.errors();
    let mut errors = Table::new(&["client error", "count", "first example"]);
    for (cat, n, ex) in &seen {
        let ex: String = ex.chars().take(160).collect();
        errors.row(vec![(*cat).to_owned(), n.to_string(), ex.replace('|', "/")]);
    }
    section(
        "Client errors",
        &if seen.is_empty() {
            "None.\n".to_owned()
        } else {
            errors.markdown()
        },
    );
    let verdict = if failures.is_empty() {
        "PASS: the server stayed up, printed no panic, its RSS was flat after the warm-up, every \
         abuse kind was answered as expected, every pattern happened, and it exited 0 on SIGTERM."
            .to_owned()
    } else {
        format!(
            "FAIL:\n\n{}",
            failures
                .iter()
                .map(|f| format!("- {f}\n"))
                .collect::<String>()
        )
    };
    section("Verdict", &verdict);
    std::fs::write(a.out.join("soak_summary.md"), &out)?;
    std::fs::write(a.out.join("soak.csv"), samples_table(&samples).csv())?;
    Ok(failures.is_empty())
}
