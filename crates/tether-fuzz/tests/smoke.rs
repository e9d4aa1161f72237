//! The fuzz targets' smoke run, on stable, in the test command: every file
//! of the committed corpus and seeds (`fuzz/corpus/<target>/`,
//! `fuzz/seeds/<target>/`) through each target, then a few thousand
//! pseudo-random inputs from a fixed seed (mutated corpus files for the
//! JSON targets, random bytes for the core).

use std::fs;
use std::path::PathBuf;

/// Pseudo-random inputs per target.
const RANDOM_INPUTS: usize = 3000;

/// splitmix64: reproducible, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The committed inputs of `target`: its corpus and its seeds.
fn committed(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "seeds"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = fs::read(&path).unwrap();
            files.push((path, data));
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no corpus or seeds for {target}");
    files
}

/// Bytes JSON is made of, so mutations stay near the grammar.
const JSON_BYTES: &[u8] = b"{}[]\":,\\0123456789.-+eEtrufalsn \t\nidtypeoffset\x01\xc3\xa9";

/// One random edit of `data`, or a splice with `other`.
fn mutate(rng: &mut Rng, data: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if at < out.len() => out[at] = JSON_BYTES[rng.below(JSON_BYTES.len())],
            1 => out.insert(at, JSON_BYTES[rng.below(JSON_BYTES.len())]),
            2 if at < out.len() => {
                let end = (at + 1 + rng.below(8)).min(out.len());
                out.drain(at..end);
            }
            3 => {
                let from = rng.below(other.len() + 1);
                let end = (from + rng.below(32)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => out.truncate(at),
        }
    }
    out
}

fn run_json_target(target: &str, seed: u64, f: fn(&[u8])) {
    let files = committed(target);
    for (path, data) in &files {
        println!("{}", path.display());
        f(data);
    }
    let mut rng = Rng(seed);
    for _ in 0..RANDOM_INPUTS {
        let a = &files[rng.below(files.len())].1;
        let b = &files[rng.below(files.len())].1;
        f(&mutate(&mut rng, a, b));
    }
}

#[test]
fn decode_client() {
    run_json_target("decode_client", 1, tether_fuzz::decode_client);
}

#[test]
fn publish_body() {
    run_json_target("publish_body", 2, tether_fuzz::publish_body);
}

#[test]
fn core_events() {
    for (path, data) in committed("core_events") {
        println!("{}", path.display());
        tether_fuzz::core_events(&data);
    }
    let mut rng = Rng(3);
    for _ in 0..RANDOM_INPUTS {
        let len = rng.below(2048);
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        tether_fuzz::core_events(&data);
    }
}
