//! The top-level JSON scanner against serde_json: hand-picked cases
//! (escapes, surrogates, nesting, numbers, malformed text) and generated
//! objects, valid and mutated. Malformed input must never panic.
// Native only: on wasm32 the crate brings its own panic handler.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::{Map, Value as J};
use std::borrow::Cow;
use tether_wasm::json::{self, Value};

/// Every top-level field as the scanner reads it, or None if it refused.
fn scan(text: &str) -> Option<Vec<(String, Value<'_>)>> {
    let mut out = Vec::new();
    json::fields(text, |k, v| out.push((k.to_owned(), v))).then_some(out)
}

fn str_of<'a>(v: &'a Value<'_>) -> &'a str {
    v.str().expect("a string")
}

#[test]
fn escapes_and_surrogates() {
    let text = r#"{"a":"x\"y\\z\/\b\f\n\r\t","b":"\u00e9\u4e2d","c":"\ud83d\ude00","d":"\ud800x","e":"\udc00","f":"plain é 中 😀"}"#;
    let f = scan(text).unwrap();
    assert_eq!(str_of(&f[0].1), "x\"y\\z/\u{8}\u{c}\n\r\t");
    assert_eq!(str_of(&f[1].1), "é中");
    assert_eq!(str_of(&f[2].1), "😀");
    // Lone surrogates: U+FFFD (what TextEncoder makes of a JS string's).
    assert_eq!(str_of(&f[3].1), "\u{FFFD}x");
    assert_eq!(str_of(&f[4].1), "\u{FFFD}");
    assert_eq!(str_of(&f[5].1), "plain é 中 😀");
    // Unescaped strings are borrowed, escaped ones built.
    assert!(matches!(&f[5].1, Value::Str(Cow::Borrowed(_))));
    assert!(matches!(&f[0].1, Value::Str(Cow::Owned(_))));
    // Escaped keys compare unescaped.
    let f = scan(r#"{"ty\u0070e":"pong"}"#).unwrap();
    assert_eq!(f[0].0, "type");
}

#[test]
fn nesting_is_skipped_and_checked() {
    let text = r#" { "data" : {"a":[1,{"b":"]}"}],"c":"\"}"} , "x":[ "p" , "q\n" ], "y" : 2 } "#;
    let f = scan(text).unwrap();
    assert_eq!(f[0].1, Value::Object);
    let Value::Array(items) = f[1].1 else {
        panic!("array")
    };
    let mut got = Vec::new();
    assert!(json::strings(items, |s| got.push(s.into_owned())));
    assert_eq!(got, ["p", "q\n"]);
    assert_eq!(f[2].1, Value::Num(2.0));
    assert!(!json::strings("[1]", |_| {}));
    // Brackets must balance by kind; depth over 64 is refused.
    assert!(scan(r#"{"a":[}]}"#).is_none());
    assert!(scan(r#"{"a":{]}"#).is_none());
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(64), "]".repeat(64));
    assert!(scan(&deep).is_some());
    let deeper = format!("{{\"a\":{}{}}}", "[".repeat(65), "]".repeat(65));
    assert!(scan(&deeper).is_none());
}

#[test]
fn numbers() {
    let cases = [
        ("0", 0.0),
        ("-0", -0.0),
        ("42", 42.0),
        ("9007199254740991", 9_007_199_254_740_991.0),
        ("25.5", 25.5),
        ("0.001", 0.001),
        ("1e3", 1000.0),
        ("1E+3", 1000.0),
        ("12.5e-1", 1.25),
        ("-7.25", -7.25),
    ];
    for (text, want) in cases {
        assert_eq!(json::number(text), Some(want), "{text}");
    }
    for bad in [
        "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.2.3", "--1", "NaN",
    ] {
        assert_eq!(json::number(bad), None, "{bad:?}");
    }
    assert_eq!(json::number("1e400"), Some(f64::INFINITY));
    assert_eq!(json::number("1e-400"), Some(0.0));
}

#[test]
fn malformed_objects_are_refused() {
    for bad in [
        "",
        "null",
        "[]",
        "\"x\"",
        "1",
        "{",
        "}",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{,}",
        "{\"a\":1 \"b\":2}",
        "{a:1}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"unterminated}",
        "{\"a\":1}x",
        "{\"a\":\"tab\there\"}",
        "{\"a\":[1,2}",
    ] {
        assert!(scan(bad).is_none(), "{bad:?} must be refused");
    }
    assert_eq!(scan("{}").unwrap().len(), 0);
    assert_eq!(scan(" {\n} ").unwrap().len(), 0);
}

/// splitmix64: reproducible inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn gen_string(r: &mut Rng) -> String {
    const PIECES: [&str; 12] = [
        "a", "Z", "\"", "\\", "/", "\n", "\u{1}", "é", "中", "😀", " ", "}",
    ];
    (0..r.below(8))
        .map(|_| PIECES[r.below(PIECES.len() as u64) as usize])
        .collect()
}

fn gen_value(r: &mut Rng, depth: u32) -> J {
    match r.below(if depth > 3 { 6 } else { 8 }) {
        0 => J::Null,
        1 => J::Bool(r.below(2) == 0),
        2 => J::from(r.below(1 << 53)),
        3 => J::from((r.next() as i64 >> 20) as f64 / 1024.0),
        4 => J::from(f64::from_bits(r.next() >> 2)),
        5 => J::String(gen_string(r)),
        6 => J::Array((0..r.below(4)).map(|_| gen_value(r, depth + 1)).collect()),
        _ => J::Object(gen_object(r, depth + 1)),
    }
}

fn gen_object(r: &mut Rng, depth: u32) -> Map<String, J> {
    (0..r.below(6))
        .map(|_| (gen_string(r), gen_value(r, depth)))
        .collect()
}

fn agrees(scanned: &Value<'_>, want: &J) -> bool {
    match (scanned, want) {
        (Value::Str(s), J::String(w)) => s == w,
        (Value::Bool(b), J::Bool(w)) => b == w,
        (Value::Null, J::Null) => true,
        (Value::Object, J::Object(_)) => true,
        // The array's exact text (numbers inside are not the scanner's).
        (Value::Array(text), J::Array(items)) => serde_json::from_str::<J>(text)
            .is_ok_and(|v| v.as_array().map(Vec::len) == Some(items.len())),
        (Value::Num(n), J::Number(w)) => {
            // Exact for integer texts up to 2^53. Not for every integral
            // f64: with `float_roundtrip` (on when tether-protocol's serde
            // feature is in the build) `30135073288212858e-01` is exactly
            // 3013507328821286, which the scanner only comes close to.
            let integer = w.is_i64() || w.is_u64();
            let w = w.as_f64().unwrap();
            if integer && w.abs() <= 9_007_199_254_740_992.0 {
                *n == w
            } else {
                (n - w).abs() <= w.abs() * 1e-14
            }
        }
        _ => false,
    }
}

#[test]
fn generated_objects_agree_with_serde_json() {
    let mut r = Rng(7);
    for round in 0..5000 {
        let object = gen_object(&mut r, 0);
        let text = if round % 2 == 0 {
            serde_json::to_string(&object).unwrap()
        } else {
            serde_json::to_string_pretty(&object).unwrap()
        };
        let fields = scan(&text).unwrap_or_else(|| panic!("refused valid {text}"));
        assert_eq!(fields.len(), object.len(), "{text}");
        for (key, value) in &fields {
            assert!(
                agrees(value, &object[key]),
                "{key}: {value:?} vs {} in {text}",
                object[key]
            );
        }
    }
}

#[test]
fn mutated_text_never_panics_and_valid_objects_still_agree() {
    const BYTES: &[u8] = b"{}[]\":,\\ u0e1-.tfn";
    let mut r = Rng(11);
    for _ in 0..20_000 {
        let object = gen_object(&mut r, 0);
        let mut text = serde_json::to_string(&object).unwrap().into_bytes();
        for _ in 0..=r.below(3) {
            if text.is_empty() {
                break;
            }
            let at = r.below(text.len() as u64) as usize;
            match r.below(3) {
                0 => text[at] = BYTES[r.below(BYTES.len() as u64) as usize],
                1 => {
                    text.remove(at);
                }
                _ => text.truncate(at),
            }
        }
        let Ok(text) = String::from_utf8(text) else {
            continue;
        };
        let scanned = scan(&text);
        if let Ok(J::Object(want)) = serde_json::from_str::<J>(&text) {
            let fields = scanned.unwrap_or_else(|| panic!("refused valid {text}"));
            // serde_json keeps the last of a repeated key, as JSON.parse.
            for (key, value) in fields.iter().rev() {
                if fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v) == Some(value) {
                    assert!(agrees(value, &want[key]), "{key} in {text}");
                }
            }
        }
    }
}
