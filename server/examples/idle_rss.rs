//! Memory per idle connection: the server's resident set size (VmRSS) grown
//! by N idle WebSocket connections, divided by N.
//!
//! ```text
//! cargo run --release -p tether-server --example idle_rss
//! IDLE_RSS_N=10000 cargo run --release -p tether-server --example idle_rss
//! ```
//!
//! This process runs the server (the library, on a multi-threaded runtime,
//! with the binary's log subscriber writing to a sink, so per-connection log
//! spans are counted) and measures its own VmRSS from `/proc/self/status`.
//! The clients live in a child process (this same executable with
//! `--client`), so their memory is not counted. Steps: warm up with a few
//! connections opened and closed, read VmRSS, have the child open N
//! connections that each read their `connection_established` and then stay
//! idle, wait until the hub counts N, read VmRSS again, report.
//!
//! Environment: `IDLE_RSS_N` (default 2000), `IDLE_RSS_LOG=0` to run without
//! a log subscriber. Each side needs N file descriptors (`ulimit -n`).
//! Linux only (`/proc`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tether_server::{AppState, Config};

/// The system allocator, counting live heap bytes and blocks, so the report
/// can tell the heap the connections hold from the allocator's overhead.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);
/// Live blocks per size class (16-byte steps; the last class holds
/// everything larger), to tell which allocations a connection holds.
static LIVE_BY_SIZE: [AtomicIsize; CLASSES] = [const { AtomicIsize::new(0) }; CLASSES];
const CLASSES: usize = 513;

fn class(size: usize) -> usize {
    size.div_ceil(16).min(CLASSES - 1)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
        LIVE_BLOCKS.fetch_add(1, Relaxed);
        LIVE_BY_SIZE[class(layout.size())].fetch_add(1, Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Relaxed);
        LIVE_BY_SIZE[class(layout.size())].fetch_sub(1, Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        LIVE_BY_SIZE[class(layout.size())].fetch_sub(1, Relaxed);
        LIVE_BY_SIZE[class(new_size)].fetch_add(1, Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Live heap (bytes, blocks) now.
fn heap() -> (isize, isize) {
    (LIVE_BYTES.load(Relaxed), LIVE_BLOCKS.load(Relaxed))
}

/// Live blocks per size class now.
fn heap_by_size() -> Vec<isize> {
    LIVE_BY_SIZE.iter().map(|c| c.load(Relaxed)).collect()
}

/// Connections opened concurrently by the client process.
const CONCURRENCY: usize = 64;
/// Connections opened and closed before the baseline is read.
const WARM_UP: usize = 200;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--client") {
        let addr = args.get(2).expect("--client ADDR N");
        let n: usize = args.get(3).and_then(|n| n.parse().ok()).expect("N");
        client(addr, n);
        return;
    }
    let n: usize = std::env::var("IDLE_RSS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    if std::env::var("IDLE_RSS_LOG").as_deref() != Ok("0") {
        tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(server(n));
}

/// VmRSS of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

async fn server(n: usize) {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_connections_per_ip: n + WARM_UP + 10,
        ..Config::default()
    };
    let state = AppState::new(config).expect("config");
    let listener = tether_server::bind(state.config().listen).expect("bind");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tether_server::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    let spawn_client = |count: usize| {
        Command::new(std::env::current_exe().unwrap())
            .args(["--client", &addr.to_string(), &count.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the client process")
    };
    let wait_ready = |child: &mut std::process::Child| {
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "client: {line:?}");
    };
    let mut count = state.hub().watch_connections();

    // Warm-up: runtime threads, allocator arenas, hub maps.
    let mut warm = spawn_client(WARM_UP);
    tokio::task::block_in_place(|| wait_ready(&mut warm));
    count.wait_for(|c| *c == WARM_UP).await.unwrap();
    drop(warm.stdin.take());
    warm.wait().unwrap();
    count.wait_for(|c| *c == 0).await.unwrap();

    let before = rss_kib();
    let heap_before = heap();
    let sizes_before = heap_by_size();
    let started = Instant::now();
    let mut child = spawn_client(n);
    tokio::task::block_in_place(|| wait_ready(&mut child));
    count.wait_for(|c| *c == n).await.unwrap();
    let opened_in = started.elapsed();
    let after = rss_kib();
    let heap_after = heap();
    let sizes_after = heap_by_size();
    let per_conn = (after.saturating_sub(before)) as f64 / n as f64;
    println!(
        "idle connections: {n} (opened in {:.2} s)\n\
         server VmRSS: {before} KiB before, {after} KiB after\n\
         per idle connection: {per_conn:.2} KiB ({:.0} bytes)\n\
         of which live heap: {} bytes in {:.1} blocks",
        opened_in.as_secs_f64(),
        per_conn * 1024.0,
        (heap_after.0 - heap_before.0) / n as isize,
        (heap_after.1 - heap_before.1) as f64 / n as f64,
    );
    println!("live blocks per connection by size (at least 0.5 per connection):");
    for (i, (a, b)) in sizes_after.iter().zip(&sizes_before).enumerate() {
        let per = (a - b) as f64 / n as f64;
        if per >= 0.5 {
            let size = match i {
                0 => "0 B".to_owned(),
                i if i == CLASSES - 1 => format!("> {} B", (i - 1) * 16),
                i => format!("{}-{} B", (i - 1) * 16 + 1, i * 16),
            };
            println!("  {size:>12}: {per:.2}");
        }
    }
    drop(child.stdin.take());
    child.wait().unwrap();
    count.wait_for(|c| *c == 0).await.unwrap();
    println!("server VmRSS after they closed: {} KiB", rss_kib());
}

/// The client process: opens `n` connections, reads each welcome, prints
/// `ready`, and holds them until stdin closes.
fn client(addr: &str, n: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let url = format!("ws://{addr}/ws?sdk=idle_rss");
        let sockets: Vec<_> = futures_util::stream::iter(0..n)
            .map(|_| {
                let url = url.clone();
                async move {
                    let (mut ws, _) = tokio_tungstenite::connect_async(&url)
                        .await
                        .expect("connect");
                    let first = tokio::time::timeout(Duration::from_secs(30), ws.next())
                        .await
                        .expect("welcome in time");
                    assert!(matches!(first, Some(Ok(m)) if m.is_text()));
                    ws
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready").unwrap();
        out.flush().unwrap();
        drop(out);
        // Hold the sockets (unread: idle) until the parent closes stdin.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        })
        .await
        .unwrap();
        drop(sockets);
    });
}
