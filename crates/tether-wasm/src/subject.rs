//! The object the glue holds for the wasm to read, field by field, during
//! one export call: the options (`create`) or an inbound frame (`message`),
//! already made by JS (the facade's object, `JSON.parse`'s). Reading it
//! through imports is smaller than a JSON scanner in the wasm (1.9 KB gzip
//! measured) and parses each frame once.

use crate::host;
use alloc::string::String;

/// What a key of the subject holds; values of other types are
/// [`Value::Other`] (objects, arrays, functions).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// No such key (or `undefined`), or no subject (a frame that is not an
    /// object).
    Absent,
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// Anything else.
    Other,
}

/// `subject[key]`.
pub fn get(key: &str) -> Value {
    // The glue's answer: the index of `typeof` in `undefined, boolean,
    // number, string`, 4 for null (docs/DESIGN.md, "SDK v2").
    match host::kind(key) {
        0 => Value::Absent,
        1 => Value::Bool(host::num(key) != 0.0),
        2 => Value::Num(host::num(key)),
        3 => Value::Str(host::string(key)),
        4 => Value::Null,
        _ => Value::Other,
    }
}

impl Value {
    /// The number, if this is one.
    pub fn num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}
