//! Replays the committed cargo-fuzz corpus on stable (CI has no nightly), and runs the
//! same entry point on random programs.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::fs;
use std::path::Path;

use halo_messaging::fuzzing;
use proptest::prelude::*;

#[test]
fn engine_corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/engine");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    for path in files {
        eprintln!("{}", path.display());
        fuzzing::run(&fs::read(&path).unwrap());
    }
}

/// Hand-written seeds: a program per kind of step, so that the fuzzer starts from
/// inputs that reach every branch of the interpreter. Regenerate with
/// `cargo test -p halo-messaging --test fuzz_corpus -- --ignored write_seeds`.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        // n1 alive; send 20 bytes to all; our stream fed back as n1's; tick 50 ms.
        ("echo", vec![1, 0, 0, 0, 2, 3, 20, 7, 0, 0, 0, 50, 0]),
        // heartbeat announcing 5 fragments, tick past the request delay, nak them.
        ("nak", vec![5, 5, 1, 0, 30, 0, 6, 1, 1, 4]),
        // fragments out of order, a duplicate, a gap, then a tick.
        (
            "reorder",
            vec![
                4, 2, 1, 1, 1, 4, 3, 4, 3, 1, 0, 1, 4, 1, 0, 0, 1, 4, 2, 9, 4, 2, 1, 1, 1, 4, 0,
                40, 0,
            ],
        ),
        // backpressure: n1 alive, many sends, an ack, a retransmit request, ticks.
        (
            "backpressure",
            vec![
                1, 0, 0, 0, 2, 3, 64, 2, 3, 64, 2, 3, 64, 6, 0, 5, 0, 6, 2, 1, 3, 0, 200, 0, 0,
                255, 0,
            ],
        ),
        // a restart and a death mid-stream.
        (
            "restart",
            vec![4, 1, 1, 0, 3, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 10, 0],
        ),
        // a raw packet decoded by halo-wire: a leave from n2.
        ("raw", vec![3, 1, 0, 2, 0]),
    ]
}

#[test]
#[ignore = "writes files; run by hand to regenerate seeds"]
fn write_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/engine");
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds() {
        fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}

#[test]
fn seeds_run() {
    for (_, bytes) in seeds() {
        fuzzing::run(&bytes);
    }
}

proptest! {
    #[test]
    fn random_programs_keep_the_invariants(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        fuzzing::run(&bytes);
    }
}
