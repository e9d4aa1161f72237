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
    assert!(
        response.ok(),
        "control {path} answered {}: {json:?}",
        response.status()
    );
    json
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
