//! Browser bindings and the JS values the shell builds: errors, status and
//! event objects, cached property keys. All JS errors are made here.

use alloc::string::String;
use js_sys::{Function, Object, Reflect};
use tether_core::{Field, Fields, FrameType, Timestamp};
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
    /// The fields of a publication and of a reply, the first four of
    /// [`Field::ALL`] (`id`, `topic`, `epoch`, `offset`); the others are
    /// read on rarer frames and made when read.
    common: [JsValue; 4],
    /// The wire names of [`FrameType::NAMED`], in its order.
    types: js_sys::Array,
    /// Raw mode's pong `type`.
    raw_pong: String,
}

impl Keys {
    pub fn new(raw_pong_type: String) -> Keys {
        let types = js_sys::Array::new();
        for (_, name) in FrameType::NAMED {
            types.push(&JsValue::from_str(name));
        }
        Keys {
            type_: "type".into(),
            common: ["id".into(), "topic".into(), "epoch".into(), "offset".into()],
            types,
            raw_pong: raw_pong_type,
        }
    }

    /// Raw mode's pong `type`.
    pub fn raw_pong_type(&self) -> &str {
        &self.raw_pong
    }
}

/// One parsed inbound frame, read for [`tether_core::decode`]: one property
/// read per field asked, the `type` (read once, by the caller) compared
/// on the JS side.
pub struct FrameFields<'a> {
    frame: &'a JsValue,
    ty: &'a JsValue,
    keys: &'a Keys,
}

impl<'a> FrameFields<'a> {
    /// `ty` is the frame's `type` ([`get`] with [`Keys::type_`]).
    pub fn new(frame: &'a JsValue, ty: &'a JsValue, keys: &'a Keys) -> Self {
        FrameFields { frame, ty, keys }
    }

    fn get(&self, field: Field) -> JsValue {
        match self.keys.common.get(field as usize) {
            Some(key) => get(self.frame, key),
            None => get(self.frame, &JsValue::from_str(field.name())),
        }
    }
}

impl Fields for FrameFields<'_> {
    type Str = String;

    /// `indexOf` compares with `===`: only those exact strings match.
    fn frame_type(&self) -> FrameType {
        let at = self.keys.types.index_of(self.ty, 0);
        usize::try_from(at)
            .ok()
            .and_then(|i| FrameType::NAMED.get(i))
            .map_or(FrameType::Other, |(t, _)| *t)
    }

    fn type_is(&self, name: &str) -> bool {
        *self.ty == JsValue::from_str(name)
    }

    fn string(&self, field: Field) -> Option<String> {
        self.get(field).as_string()
    }

    fn number(&self, field: Field) -> Option<f64> {
        self.get(field).as_f64()
    }

    fn boolean(&self, field: Field) -> Option<bool> {
        self.get(field).as_bool()
    }
}

/// A string field, if present.
pub fn get_string(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, &JsValue::from_str(key)).as_string()
}
