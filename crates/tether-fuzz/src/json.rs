//! JSON equality for round trips, optionally forgiving the last bits of a
//! float (finding F2: serde_json without `float_roundtrip` may read a
//! decimal float one ULP off, so text -> value -> text -> value can move).

use serde_json::Value;

/// Most ULPs two floats may differ by when not `exact`.
const MAX_ULPS: u64 = 2;

/// Whether `a` and `b` are the same JSON; when not `exact`, two numbers of
/// which one is a float may differ by [`MAX_ULPS`].
pub fn same(a: &Value, b: &Value, exact: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if !exact && (x.is_f64() || y.is_f64()) => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => ulps(x, y) <= MAX_ULPS,
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y, exact))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same(v, w, exact)))
        }
        _ => a == b,
    }
}

/// Distance between two finite floats in units in the last place.
fn ulps(x: f64, y: f64) -> u64 {
    if x == y {
        return 0;
    }
    // Map the bit patterns onto one ordered integer line.
    let key = |f: f64| {
        let bits = f.to_bits() as i64;
        if bits < 0 {
            i64::MIN - bits
        } else {
            bits
        }
    };
    key(x).abs_diff(key(y))
}
