//! Browser bindings and the JS values the shell builds: errors, status and
//! event objects, cached property keys. All JS errors are made here.

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
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(callback: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(handle: &JsValue);
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str, error: &JsValue);
}

/// The wall clock, as the core expects it.
pub fn now() -> Timestamp {
    Timestamp(date_now() as u64)
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
/// the per-message path allocates no key strings.
pub struct Keys {
    pub type_: JsValue,
    pub topic: JsValue,
    pub epoch: JsValue,
    pub offset: JsValue,
    pub id: JsValue,
}

impl Keys {
    pub fn new() -> Keys {
        Keys {
            type_: "type".into(),
            topic: "topic".into(),
            epoch: "epoch".into(),
            offset: "offset".into(),
            id: "id".into(),
        }
    }
}

/// A non-negative integer field, if present and well-formed.
pub fn get_u64(obj: &JsValue, key: &str) -> Option<u64> {
    as_u64(&get(obj, &JsValue::from_str(key)))
}

/// A JS number that is a non-negative integer.
pub fn as_u64(value: &JsValue) -> Option<u64> {
    let n = value.as_f64()?;
    (n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0).then_some(n as u64)
}

/// A string field, if present.
pub fn get_string(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, &JsValue::from_str(key)).as_string()
}
