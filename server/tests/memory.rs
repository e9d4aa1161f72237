//! A connection's memory does not grow with the largest message it
//! handled: after a large publication reached many idle subscribers, or
//! each of them sent a large frame, the server's live heap is back to what
//! it was, plus the one kept publication.
//!
//! The process's heap is counted by a wrapping allocator; the clients are
//! hand-written (`common::raw`) and keep no buffers, so what grows is the
//! server's. (Own file: a global allocator for this test binary only.)

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use common::raw;
use common::*;
use futures_util::future::join_all;
use serde_json::json;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const CLIENTS: usize = 200;
/// Allowed growth of the live heap per connection after the traffic (the
/// old WebSocket layer kept 64 KiB or 2 MiB per connection here).
const PER_CONN_BOUND: isize = 2 * 1024;

/// The tests share the counter: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn live() -> isize {
    LIVE.load(Relaxed)
}

/// Clients connected, welcomed and subscribed to `alerts`, then idle.
async fn idle_subscribers(server: &TestServer) -> Vec<tokio::net::TcpStream> {
    let clients = join_all((0..CLIENTS).map(|_| async {
        let mut tcp = raw::connect(server.addr).await;
        raw::read_frame(&mut tcp).await.expect("welcome");
        let sub = json!({"type":"subscribe","id":1,"topic":"alerts"}).to_string();
        tokio::io::AsyncWriteExt::write_all(&mut tcp, &raw::text(&sub))
            .await
            .unwrap();
        raw::read_frame(&mut tcp).await.expect("subscribed");
        tcp
    }))
    .await;
    server.wait_connections(CLIENTS).await;
    clients
}

/// The live heap's growth since `before` once it is at most `bound`, or
/// after the wait bound. (The clients can see the last byte before the
/// server's task has dropped what it used to send or read it.)
async fn growth_settling_under(before: isize, bound: isize) -> isize {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let growth = live() - before;
        if growth <= bound || tokio::time::Instant::now() > deadline {
            return growth;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The live heap once the connections are idle: it no longer shrinks.
async fn idle_live() -> isize {
    let mut last = live();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let now = live();
        if now >= last {
            return now;
        }
        last = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_publication_leaves_nothing_behind_per_subscriber() {
    let _serial = SERIAL.lock().await;
    let mut cfg = config();
    cfg.max_pending_per_ip = 10_000;
    let server = start(cfg).await;
    let mut clients = idle_subscribers(&server).await;
    let body = json!({"topic":"alerts","data":"x".repeat(1 << 20)});
    let before = idle_live().await - (1 << 20);

    let (status, _) = publish(server.addr, body).await;
    assert_eq!(status, 200);
    join_all(clients.iter_mut().map(|c| raw::drain(c, 1 << 20))).await;
    // The kept publication itself (history and latest share it) is counted
    // once (`before` discounts the request body, dropped by `publish`);
    // connections add at most the bound.
    let kept = (1 << 20) + 64 * 1024;
    let bound = kept + CLIENTS as isize * PER_CONN_BOUND;
    let growth = growth_settling_under(before, bound).await;
    eprintln!("live heap growth after a 1 MiB publication to {CLIENTS}: {growth} bytes");
    assert!(growth <= bound, "live heap grew by {growth} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_inbound_frame_leaves_nothing_behind_per_connection() {
    let _serial = SERIAL.lock().await;
    let mut cfg = config();
    cfg.max_pending_per_ip = 10_000;
    let server = start(cfg).await;
    let mut clients = idle_subscribers(&server).await;
    let before = idle_live().await;

    // A valid ping padded to ~60 KiB (unknown fields are ignored).
    let ping = json!({"type":"ping","id":7,"pad":"p".repeat(60_000)}).to_string();
    join_all(clients.iter_mut().map(|c| async {
        tokio::io::AsyncWriteExt::write_all(c, &raw::text(&ping))
            .await
            .unwrap();
        let (op, pong) = raw::read_frame(c).await.expect("pong");
        assert_eq!(op, 0x1);
        assert!(String::from_utf8_lossy(&pong).contains("\"pong\""));
    }))
    .await;
    let bound = CLIENTS as isize * PER_CONN_BOUND;
    let growth = growth_settling_under(before, bound).await;
    eprintln!("live heap growth after a 60 KB frame from each of {CLIENTS}: {growth} bytes");
    assert!(growth <= bound, "live heap grew by {growth} bytes");
}
