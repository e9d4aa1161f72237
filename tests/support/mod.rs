//! Shared helpers for the browser tests: the control server (which starts
//! and kills real `tether-server` processes), waiting on conditions, and
//! JS callbacks that record what they receive.
#![allow(dead_code)]

use js_sys::{Function, Promise, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The control server's URL, given at build time by scripts/test.sh.
pub fn control_url() -> &'static str {
    match option_env!("TETHER_CONTROL_URL") {
        Some(url) => url,
        None => {
            panic!("TETHER_CONTROL_URL is not set: run the browser tests through scripts/test.sh")
        }
    }
}

/// POSTs to the control server and returns the parsed JSON answer.
pub async fn control(path: &str, body: &str) -> JsValue {
    try_control(path, body)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// [`control`], with an answer other than 2xx as an error that quotes it.
pub async fn try_control(path: &str, body: &str) -> Result<JsValue, String> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    let url = format!("{}{path}", control_url());
    let request = web_sys::Request::new_with_str_and_init(&url, &init).expect("request");
    let window = web_sys::window().expect("window");
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .unwrap_or_else(|e| panic!("control {path} unreachable: {e:?}"))
        .unchecked_into();
    let json = JsFuture::from(response.json().expect("json"))
        .await
        .expect("json body");
    if !response.ok() {
        let text = js_sys::JSON::stringify(&json)
            .map(String::from)
            .unwrap_or_default();
        return Err(format!(
            "control {path} answered {}: {text}",
            response.status()
        ));
    }
    Ok(json)
}

/// Starts (or restarts on the same port) the server `name`; returns its ws URL.
pub async fn start_server(name: &str, args: &str) -> String {
    let answer = control(&format!("/server/start?name={name}&args={args}"), "").await;
    get(&answer, "ws").as_string().expect("ws url")
}

/// SIGKILLs the server `name`.
pub async fn kill_server(name: &str) {
    control(&format!("/server/kill?name={name}"), "").await;
}

/// Publishes through the server's `POST /publish`.
pub async fn publish(name: &str, body: &str) -> JsValue {
    control(&format!("/server/publish?name={name}"), body).await
}

pub fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).expect("test JSON")
}

/// Resolves after `ms` (used only to poll a condition, never as a barrier).
pub async fn tick(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("window");
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// Waits until `cond` holds, polling; panics naming `what` after `timeout_ms`.
pub async fn wait_for(what: &str, timeout_ms: f64, mut cond: impl FnMut() -> bool) {
    let start = js_sys::Date::now();
    while !cond() {
        assert!(
            js_sys::Date::now() - start < timeout_ms,
            "timed out after {timeout_ms} ms waiting for {what}"
        );
        tick(10).await;
    }
}

/// A JS callback that records every argument it is called with.
pub struct Recorder {
    pub seen: Rc<RefCell<Vec<JsValue>>>,
    closure: Closure<dyn FnMut(JsValue)>,
}

impl Recorder {
    pub fn new() -> Recorder {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let sink = seen.clone();
        let closure =
            Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| sink.borrow_mut().push(v));
        Recorder { seen, closure }
    }

    pub fn function(&self) -> Function {
        self.closure.as_ref().unchecked_ref::<Function>().clone()
    }

    pub fn len(&self) -> usize {
        self.seen.borrow().len()
    }

    /// `field` of every recorded object, as f64 (NaN when absent).
    pub fn numbers(&self, path: &[&str]) -> Vec<f64> {
        self.seen
            .borrow()
            .iter()
            .map(|v| {
                let leaf = path.iter().fold(v.clone(), |o, k| get(&o, k));
                leaf.as_f64().unwrap_or(f64::NAN)
            })
            .collect()
    }

    pub fn strings(&self, key: &str) -> Vec<String> {
        self.seen
            .borrow()
            .iter()
            .map(|v| get(v, key).as_string().unwrap_or_default())
            .collect()
    }
}

/// `encodeURIComponent`, for values put in a control query string.
pub fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// SIGTERMs the server `name` (graceful shutdown: `goaway`, close 1012) and
/// waits for it to exit; returns `{"exit": CODE}`.
pub async fn stop_server(name: &str) -> JsValue {
    control(&format!("/server/stop?name={name}"), "").await
}

/// Starts (or resets to `pass`) the fault proxy `name` in front of the
/// server or echo server `server`; returns the ws URL to connect through.
pub async fn start_proxy(name: &str, server: &str) -> String {
    let answer = control(&format!("/proxy/start?name={name}&server={server}"), "").await;
    get(&answer, "ws").as_string().expect("ws url")
}

/// `pass`, `blackhole` (existing links freeze, half-open) or `stall_new`
/// (new connections are accepted and never answered).
pub async fn proxy_mode(name: &str, mode: &str) -> JsValue {
    control(&format!("/proxy/mode?name={name}&mode={mode}"), "").await
}

/// Resets every connection currently through the proxy (TCP RST).
pub async fn proxy_cut(name: &str) -> JsValue {
    control(&format!("/proxy/cut?name={name}"), "").await
}

/// TCP connections the proxy has accepted so far: one per WebSocket attempt.
pub async fn proxy_accepted(name: &str) -> f64 {
    let stats = control(&format!("/proxy/stats?name={name}"), "").await;
    get(&stats, "accepted").as_f64().expect("accepted")
}

/// Starts the plain JSON echo WebSocket server `name`; returns its ws URL.
pub async fn start_echo(name: &str) -> String {
    let answer = control(&format!("/echo/start?name={name}"), "").await;
    get(&answer, "ws").as_string().expect("ws url")
}

/// The echo server's counters: `{connections, texts, pings}`.
pub async fn echo_stats(name: &str) -> JsValue {
    control(&format!("/echo/stats?name={name}"), "").await
}

/// Writes `body` to a file on the control server's machine; returns its path
/// (for server flags such as `--topics`).
pub async fn write_file(name: &str, body: &str) -> String {
    let answer = control(&format!("/file?name={name}"), body).await;
    get(&answer, "path").as_string().expect("path")
}

/// Asserts that `cond` holds at every poll for `ms` (to show that something
/// does NOT happen over a period; never used as a barrier).
pub async fn holds_for(what: &str, ms: f64, mut cond: impl FnMut() -> bool) {
    let start = js_sys::Date::now();
    loop {
        assert!(
            cond(),
            "{what} stopped holding after {} ms",
            js_sys::Date::now() - start
        );
        if js_sys::Date::now() - start >= ms {
            return;
        }
        tick(10).await;
    }
}

/// A numeric field of `client.status` (`None` when null or absent).
pub fn status_number(status: &JsValue, path: &[&str]) -> Option<f64> {
    path.iter().fold(status.clone(), |o, k| get(&o, k)).as_f64()
}

/// Dispatches a plain `Event` of `kind` (e.g. `offline`) on `window`.
pub fn dispatch_window_event(kind: &str) {
    let event = web_sys::Event::new(kind).expect("event");
    let window = web_sys::window().expect("window");
    window.dispatch_event(&event).expect("dispatch");
}

/// One recorded `status`, the fields timeline assertions use.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub state: String,
    pub since: f64,
    pub attempt: f64,
    pub next_retry_at: Option<f64>,
    pub last_error: Option<String>,
}

/// The status objects recorded by a [`Recorder`], in order.
pub fn timeline(statuses: &Recorder) -> Vec<Snapshot> {
    statuses
        .seen
        .borrow()
        .iter()
        .map(|s| Snapshot {
            state: get(s, "state").as_string().unwrap_or_default(),
            since: get(s, "since").as_f64().unwrap_or(f64::NAN),
            attempt: get(s, "attempt").as_f64().unwrap_or(f64::NAN),
            next_retry_at: get(s, "nextRetryAt").as_f64(),
            last_error: get(s, "lastError").as_string(),
        })
        .collect()
}

/// Starts a real `redis-server` named `name` on a free port; returns its
/// `redis://` URL (for `--broker`).
pub async fn start_redis(name: &str) -> String {
    let answer = control(&format!("/redis/start?name={name}"), "").await;
    get(&answer, "url").as_string().expect("redis url")
}

/// SIGKILLs the redis-server `name`.
pub async fn kill_redis(name: &str) {
    control(&format!("/redis/kill?name={name}"), "").await;
}

/// Starts (once) the server `name` that accepts every WebSocket, sends
/// `connection_established` and closes 1011 at once; returns its ws URL.
pub async fn start_kick(name: &str) -> String {
    let answer = control(&format!("/kick?name={name}"), "").await;
    get(&answer, "ws").as_string().expect("ws url")
}

/// Handshakes the kick server `name` has completed so far.
pub async fn kick_connections(name: &str) -> f64 {
    let answer = control(&format!("/kick?name={name}"), "").await;
    get(&answer, "connections").as_f64().expect("connections")
}
