//! A short run of every fuzz target (its seeds, then mutations of them),
//! so that the harnesses keep compiling and working between the fuzzing
//! runs of `fuzz/run`, and the inputs that once failed stay fixed.

use messenger_fuzz::mutate;
use messenger_fuzz::seeds;
use messenger_fuzz::session::{Harness, world};

/// The inputs fuzzing found failing (`fuzz/regressions/<target>/`, first:
/// some failed only as a fresh harness's first input), the seeds, and the
/// target's dictionary.
fn inputs(target: &str) -> (Vec<Vec<u8>>, Vec<String>) {
    let mut inputs = Vec::new();
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(target);
    if let Ok(entries) = std::fs::read_dir(folder) {
        for entry in entries.flatten() {
            inputs.push(std::fs::read(entry.path()).expect("a readable regression"));
        }
    }
    inputs.extend(seeds::of(target, &world()));
    (inputs, seeds::dictionary(target))
}

fn short_run(target: &str, rounds: usize, run: impl FnMut(&[u8])) {
    let (inputs, dictionary) = inputs(target);
    let dictionary: Vec<&str> = dictionary.iter().map(String::as_str).collect();
    mutate::run(&inputs, &dictionary, rounds, run);
}

#[test]
fn frames() {
    short_run("frames", 20_000, messenger_fuzz::frames::frame);
}

#[test]
fn rest() {
    let mut target = messenger_fuzz::rest::target();
    short_run("rest", 3_000, &mut target);
}

#[test]
fn operations() {
    let mut harness = Harness::start();
    short_run("operations", 400, |data| harness.operations(data));
    // The seeds alone dispatch 38 operations, each answered.
    assert!(harness.dispatched >= 38, "{}", harness.dispatched);
    assert!(harness.answers >= 38, "{}", harness.answers);
}

#[test]
fn sync_cursors() {
    let mut harness = Harness::start();
    short_run("sync_cursors", 300, |data| harness.sync_cursor(data));
    assert!(harness.dispatched >= 5, "{}", harness.dispatched);
}

#[test]
fn populate() {
    let mut harness = Harness::start();
    short_run("populate", 100, |data| harness.populate(data));
}

#[test]
fn every_target_has_seeds_and_a_dictionary() {
    for target in messenger_fuzz::TARGETS {
        let (inputs, dictionary) = inputs(target);
        assert!(inputs.len() >= 3, "{target}");
        assert!(dictionary.len() >= 5, "{target}");
    }
}
