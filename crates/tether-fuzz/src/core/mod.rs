//! Target 3: the sans-IO client core under an arbitrary sequence of app
//! calls, socket events, server frames (valid and not) and clock moves,
//! with its invariants checked after every input (see [`shell`]).

mod input;
mod shell;

use arbitrary::{Arbitrary, Unstructured};

use crate::checks::{Checks, CHECKS};

/// Most steps run per input: enough for several connections' worth of
/// events, few enough to keep executions fast.
const MAX_STEPS: usize = 400;

/// [`core_events_with`] under [`CHECKS`].
pub fn core_events(data: &[u8]) {
    core_events_with(data, CHECKS);
}

/// Builds a configuration and a sequence of steps from `data`, drives a
/// fresh `Client` through them and panics on the first broken invariant.
pub fn core_events_with(data: &[u8], checks: Checks) {
    let mut u = Unstructured::new(data);
    let Ok(start) = input::Start::arbitrary(&mut u) else {
        return;
    };
    let mut shell = shell::Shell::new(&start, checks);
    // Steps until the bytes run out (not a length-prefixed list: every byte
    // string of the fuzzer is a long run).
    for _ in 0..MAX_STEPS {
        match input::Step::arbitrary(&mut u) {
            Ok(step) if !u.is_empty() => shell.step(&step),
            Ok(step) => return shell.step(&step),
            Err(_) => return,
        }
    }
}

/// The run `data` stands for, one line per item (the start, then each
/// step), as [`core_events_with`] reads it: for reading a finding.
pub fn describe_core_input(data: &[u8]) -> Vec<String> {
    let mut u = Unstructured::new(data);
    let Ok(start) = input::Start::arbitrary(&mut u) else {
        return vec!["(too short for a start)".to_owned()];
    };
    let mut lines = vec![format!("{start:?} -> {:?}", start.config.build())];
    for _ in 0..MAX_STEPS {
        match input::Step::arbitrary(&mut u) {
            Ok(step) => lines.push(format!("{step:?}")),
            Err(_) => break,
        }
        if u.is_empty() {
            break;
        }
    }
    lines
}
