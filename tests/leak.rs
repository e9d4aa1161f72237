//! Resource leaks: a client that reconnects forever must not grow, and
//! `close()` must give back every page listener it took. (Own file: it
//! measures the page's memory, which other tests would disturb.)
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use tether_ws::Tether;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function count_page_listeners() {
  if (globalThis.__tetherLive) return;
  const live = [];
  globalThis.__tetherLive = live;
  const proto = EventTarget.prototype;
  const add = proto.addEventListener;
  const remove = proto.removeEventListener;
  const page = (t) => t === window || t === document;
  const find = (t, type, fn) =>
    live.findIndex((l) => l.t === t && l.type === type && l.fn === fn);
  proto.addEventListener = function (type, fn, opts) {
    if (page(this) && fn && find(this, type, fn) < 0) live.push({ t: this, type, fn });
    return add.call(this, type, fn, opts);
  };
  proto.removeEventListener = function (type, fn, opts) {
    const i = find(this, type, fn);
    if (i >= 0) live.splice(i, 1);
    return remove.call(this, type, fn, opts);
  };
}
export function page_listeners() {
  return (globalThis.__tetherLive || [])
    .map((l) => (l.t === window ? "window:" : "document:") + l.type)
    .sort()
    .join(",");
}
export function collect_garbage() {
  if (typeof globalThis.gc === "function") { globalThis.gc(); return true; }
  return false;
}
export function js_heap_used() {
  const m = performance.memory;
  return m ? m.usedJSHeapSize : null;
}
"#)]
extern "C" {
    /// Wraps `EventTarget.prototype.add/removeEventListener` to track the
    /// listeners live on `window` and `document`. Idempotent.
    fn count_page_listeners();
    /// The tracked listeners, `window:online,...`, sorted.
    fn page_listeners() -> String;
    /// `gc()` when Chromium runs with `--js-flags=--expose-gc`.
    fn collect_garbage() -> bool;
    /// `performance.memory.usedJSHeapSize` (Chromium only), else null.
    fn js_heap_used() -> Option<f64>;
}

const CYCLES: usize = 500;
// Calibration (headless Chromium, debug build): a healthy client grows by
// 0 wasm pages and ~70 KB of JS heap over 500 cycles; leaking just four
// forgotten closures per cycle (what `Closure::forget` per socket does)
// adds one 64 KiB wasm page and ~440 KB of JS heap.
/// Allowed growth of the wasm linear memory over all cycles (one page).
const WASM_BOUND: f64 = 64.0 * 1024.0;
/// Allowed growth of the JS heap after a full GC over all cycles.
const JS_HEAP_BOUND: f64 = 256.0 * 1024.0;

fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

/// Connected once to warm up, then `reconnect()` 500 times against a live
/// server, waiting for `open` each time. The wasm linear memory grows by at
/// most one 64 KiB page and the JS heap (after `gc()`, when exposed) by at
/// most 256 KiB; the page listeners stay exactly the client's four.
#[wasm_bindgen_test]
async fn five_hundred_reconnects_do_not_grow_memory() {
    count_page_listeners();
    let ws = start_server("leak-s", "").await;
    let options = json(r#"{"heartbeat":false}"#);
    let client = Tether::new(JsValue::from_str(&ws), Some(options)).expect("client");
    let sub = client
        .subscribe("miners".into(), Recorder::new().function(), None)
        .expect("subscribe");
    let statuses = Recorder::new();
    let remove_status = client.on_status(statuses.function());
    wait_for("open", 10_000.0, || client.state() == "open").await;
    let listeners = page_listeners();

    // Warm-up: allocator pools and JIT settle before measuring.
    for _ in 0..20 {
        client.reconnect();
        wait_for("open (warm-up)", 10_000.0, || client.state() == "open").await;
    }
    collect_garbage();
    let (wasm_before, heap_before) = (wasm_memory_bytes(), js_heap_used());
    let started = js_sys::Date::now();
    for n in 0..CYCLES {
        client.reconnect();
        wait_for(&format!("open after reconnect {n}"), 10_000.0, || {
            client.state() == "open"
        })
        .await;
        // The status log itself must not count as a leak.
        statuses.seen.borrow_mut().clear();
    }
    let took = js_sys::Date::now() - started;
    wait_for("subscribed", 10_000.0, || sub.state() == "subscribed").await;
    let gc = collect_garbage();
    let (wasm_after, heap_after) = (wasm_memory_bytes(), js_heap_used());
    let wasm_growth = wasm_after - wasm_before;
    console_log!(
        "leak: {CYCLES} reconnects in {took} ms; wasm memory {wasm_before} -> {wasm_after}; \
         JS heap {heap_before:?} -> {heap_after:?} (gc exposed: {gc})"
    );
    assert!(
        wasm_growth <= WASM_BOUND,
        "wasm memory grew by {wasm_growth} bytes over {CYCLES} reconnects"
    );
    if let (Some(before), Some(after), true) = (heap_before, heap_after, gc) {
        let growth = after - before;
        assert!(
            growth <= JS_HEAP_BOUND,
            "JS heap grew by {growth} bytes over {CYCLES} reconnects"
        );
    }
    assert_eq!(
        page_listeners(),
        listeners,
        "reconnects must not add page listeners"
    );
    remove_status.call0(&JsValue::NULL).expect("remove");
    client.close(None, None).expect("close");
}

/// The client's page listeners (`online`, `offline`, `pageshow` on window,
/// `visibilitychange` on document) are added on connect and all removed by
/// `close()`, also after a `close()` -> `connect()` -> `close()` round;
/// `free()` removes them too.
#[wasm_bindgen_test]
async fn close_removes_the_page_listeners() {
    count_page_listeners();
    let ws = start_server("leak-listeners-s", "").await;
    let before = page_listeners();
    let client = Tether::new(
        JsValue::from_str(&ws),
        Some(json(r#"{"autoConnect":false}"#)),
    )
    .expect("client");
    assert_eq!(
        page_listeners(),
        before,
        "nothing attached before connect()"
    );
    client.connect();
    let mut mine: Vec<String> = page_listeners()
        .split(',')
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    for l in before.split(',').filter(|l| !l.is_empty()) {
        if let Some(i) = mine.iter().position(|m| m == l) {
            mine.remove(i);
        }
    }
    mine.sort();
    assert_eq!(
        mine,
        [
            "document:visibilitychange",
            "window:offline",
            "window:online",
            "window:pageshow"
        ],
        "the client's page listeners"
    );
    wait_for("open", 10_000.0, || client.state() == "open").await;
    client.close(None, None).expect("close");
    assert_eq!(page_listeners(), before, "close() removes them all");

    client.connect();
    wait_for("open again", 10_000.0, || client.state() == "open").await;
    assert_ne!(page_listeners(), before, "connect() attaches them again");
    client.close(None, None).expect("close");
    assert_eq!(page_listeners(), before, "and close() removes them again");

    client.connect();
    assert_ne!(page_listeners(), before);
    drop(client); // free()
    assert_eq!(page_listeners(), before, "free() removes them");
}
