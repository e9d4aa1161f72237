//! The open findings of docs/FUZZING.md, replayed: each minimised input in
//! `fuzz/findings/<target>/` passes under `CHECKS` and still breaks its
//! property with that one check turned on. When a fix lands, its test here
//! fails: turn the check on in `CHECKS` (src/checks.rs), move the input to
//! `fuzz/seeds/<target>/` and delete the test.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Once;

use tether_fuzz::{Checks, CHECKS};

type Target = fn(&[u8], Checks);

fn input(target: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/findings")
        .join(target)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The panic message of `target(data, checks)`, `None` when it passes.
fn failure(target: Target, data: &[u8], checks: Checks) -> Option<String> {
    // Expected panics stay off the output; the tests' own ones do not.
    thread_local!(static EXPECTED: Cell<bool> = const { Cell::new(false) });
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !EXPECTED.with(Cell::get) {
                default(info);
            }
        }));
    });
    EXPECTED.with(|e| e.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| target(data, checks)));
    EXPECTED.with(|e| e.set(false));
    let payload = result.err()?;
    Some(match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast::<&str>()
            .map_or_else(|_| "(no message)".to_owned(), |m| (*m).to_owned()),
    })
}

/// `name` passes under `CHECKS` and, under `CHECKS` plus `check`, fails
/// with a message containing `symptom`.
fn still_open(target: Target, dir: &str, name: &str, check: Checks, symptom: &str) {
    let data = input(dir, name);
    assert_eq!(failure(target, &data, CHECKS), None, "{name} under CHECKS");
    match failure(target, &data, check) {
        Some(message) => assert!(message.contains(symptom), "{name}: {message}"),
        None => panic!("{name} no longer fails: fixed? See this file's header."),
    }
}

#[test]
fn f4_an_epoch_met_again_is_delivered_again() {
    let check = Checks {
        no_redelivery_after_epoch_change: true,
        ..CHECKS
    };
    let target: Target = tether_fuzz::core_events_with;
    for name in [
        "f4-epoch-revisit.bin",
        "f4-epoch-revisit-via-subscribed.bin",
        // e2, e1 by a publication, e2 again by `subscribed`.
        "f4-epoch-revisit-via-subscribed-2.bin",
    ] {
        still_open(target, "core_events", name, check, "twice");
    }
}
