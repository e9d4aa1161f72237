//! Browser bindings and the JS values the shell builds: errors, status and
//! event objects, cached property keys. All JS errors are made here.

use alloc::string::String;
use js_sys::{Function, Object, Reflect};
use tether_core::Timestamp;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    // js_sys::JSON::parse takes &str and copies the text twice; taking the
    // event's JsValue keeps inbound text on the JS side.
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    pub fn json_parse(text: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = JSON, js_name = stringify, catch)]
    pub fn json_stringify(value: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(callback: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(handle: &JsValue);
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str, error: &JsValue);
    /// A promise, seen through the one method used here.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then2(this: &Thenable, ok: &Function, err: &Function);
    /// The page's `window`, if there is one (not in a worker). Cheaper than
    /// `web_sys::window()`, which probes four globals for `globalThis`.
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Option<web_sys::Window>;
    /// `Function.prototype`: a function that does nothing (no `eval`).
    #[wasm_bindgen(thread_local_v2, js_namespace = Function, js_name = prototype)]
    static FUNCTION_PROTOTYPE: Function;
}

/// `promise.then(ok, err)`.
pub fn then(promise: &js_sys::Promise, ok: &Function, err: &Function) {
    promise.unchecked_ref::<Thenable>().then2(ok, err);
}

/// The page's `window`; `None` outside a window (e.g. a worker).
pub fn window() -> Option<web_sys::Window> {
    WINDOW.with(Option::clone)
}

/// A function that does nothing: the remover of a listener that was never
/// added.
pub fn noop() -> Function {
    FUNCTION_PROTOTYPE.with(Function::clone)
}

/// The core's clock: monotonic (`performance.now()`), so moving the page's
/// clock (`Date.now()`: the user, NTP) moves no deadline.
pub fn now() -> Timestamp {
    Timestamp(performance_now() as u64)
}

/// Added to a [`now`] time, gives epoch ms (what `Date.now()` says now).
pub fn epoch_offset() -> f64 {
    date_now() - now().0 as f64
}

/// A `TypeError` for a bad argument or option.
pub fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// A plain `Error`.
pub fn error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

/// The `Error` a `request()` promise is rejected with: `code` is the
/// server's error code or the client's reason (`timeout`, ...), `reply` the
/// error frame (or null).
pub fn request_error(message: &str, code: Option<&str>, reply: &JsValue) -> JsValue {
    let error = error(message);
    let _ = Reflect::set(&error, &"code".into(), &string_or_null(code));
    let _ = Reflect::set(&error, &"reply".into(), reply);
    error
}

/// Human-readable text of a thrown value.
pub fn describe(thrown: &JsValue) -> String {
    if let Some(e) = thrown.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    thrown.as_string().unwrap_or_else(|| "unknown error".into())
}

/// Calls an application callback. A listener that throws must not break the
/// client or the other listeners, so the exception is reported, not raised.
pub fn call_listener(callback: &Function, arg: &JsValue) {
    if let Err(e) = callback.call1(&JsValue::UNDEFINED, arg) {
        console_error("tether-ws: a listener threw", &e);
    }
}

/// `obj[key]`, or `undefined` when `obj` is not an object.
pub fn get(obj: &JsValue, key: &JsValue) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, key).unwrap_or(JsValue::UNDEFINED)
}

/// A fresh object filled from `(key, value)` pairs.
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let obj = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&obj, &JsValue::from_str(key), value);
    }
    obj.into()
}

/// `Some(n)` as a JS number, `None` as `null`.
pub fn number_or_null(n: Option<u64>) -> JsValue {
    n.map_or(JsValue::NULL, |n| JsValue::from_f64(n as f64))
}

/// `Some(s)` as a JS string, `None` as `null`.
pub fn string_or_null(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

/// Property keys read on every inbound frame, created once per client so
/// the per-message path allocates no key strings; and the protocol's frame
/// types, so a frame's `type` is classified without copying it into wasm.
pub struct Keys {
    pub type_: JsValue,
    pub topic: JsValue,
    pub epoch: JsValue,
    pub offset: JsValue,
    pub id: JsValue,
    /// The protocol frame types, in [`FrameType`] order.
    types: js_sys::Array,
}

/// A frame's `type`, as far as the protocol is concerned.
#[derive(Clone, Copy)]
pub enum FrameType {
    Publication,
    Established,
    Subscribed,
    Unsubscribed,
    Pong,
    Ping,
    Error,
    Goaway,
    /// Anything else, or no string `type`: an application message.
    Other,
}

/// The protocol frame types and their wire names.
const FRAME_TYPES: [(FrameType, &str); 8] = [
    (FrameType::Publication, "publication"),
    (FrameType::Established, "connection_established"),
    (FrameType::Subscribed, "subscribed"),
    (FrameType::Unsubscribed, "unsubscribed"),
    (FrameType::Pong, "pong"),
    (FrameType::Ping, "ping"),
    (FrameType::Error, "error"),
    (FrameType::Goaway, "goaway"),
];

impl Keys {
    pub fn new() -> Keys {
        let types = js_sys::Array::new();
        for (_, name) in FRAME_TYPES {
            types.push(&JsValue::from_str(name));
        }
        Keys {
            type_: "type".into(),
            topic: "topic".into(),
            epoch: "epoch".into(),
            offset: "offset".into(),
            id: "id".into(),
            types,
        }
    }

    /// Classifies a frame's `type` value (`indexOf` compares with `===`, so
    /// only those exact strings match).
    pub fn frame_type(&self, ty: &JsValue) -> FrameType {
        let at = self.types.index_of(ty, 0);
        usize::try_from(at)
            .ok()
            .and_then(|i| FRAME_TYPES.get(i))
            .map_or(FrameType::Other, |(t, _)| *t)
    }
}

/// A non-negative integer field, if present and well-formed.
pub fn get_u64(obj: &JsValue, key: &str) -> Option<u64> {
    as_u64(&get(obj, &JsValue::from_str(key)))
}

/// A JS number that is a non-negative integer.
pub fn as_u64(value: &JsValue) -> Option<u64> {
    let n = value.as_f64()?;
    // In this range `as u64` is exact for integers and truncates the rest.
    ((0.0..=9_007_199_254_740_991.0).contains(&n) && (n as u64) as f64 == n).then_some(n as u64)
}

/// A string field, if present.
pub fn get_string(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, &JsValue::from_str(key)).as_string()
}
