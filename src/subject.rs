//! The object the glue holds for the wasm to read, field by field, during
//! one export call: the options (`create`) or an inbound frame (`message`),
//! already made by JS (the facade's object, `JSON.parse`'s). Reading it
//! through imports is smaller than a JSON scanner in the wasm (1.9 KB gzip
//! measured) and parses each frame once.

use crate::host;
use alloc::string::String;

// The glue's answer to `kind`: the index of `typeof subject[key]` in
// `undefined, boolean, number, string`; 4 for null; anything else for the
// other types (docs/DESIGN.md, "The SDK").
const ABSENT: u32 = 0;
const BOOLEAN: u32 = 1;
const NUMBER: u32 = 2;
const STRING: u32 = 3;

/// Whether `subject[key]` is there (not `undefined`), whatever it is.
pub fn has(key: &str) -> bool {
    host::kind(key) != ABSENT
}

/// `subject[key]`, when it is a boolean.
pub fn flag(key: &str) -> Option<bool> {
    (host::kind(key) == BOOLEAN).then(|| host::num(key) != 0.0)
}

/// `subject[key]`, when it is a number.
pub fn num(key: &str) -> Option<f64> {
    (host::kind(key) == NUMBER).then(|| host::num(key))
}

/// `subject[key]`, when it is a string.
pub fn text(key: &str) -> Option<String> {
    (host::kind(key) == STRING).then(|| host::string(key))
}
