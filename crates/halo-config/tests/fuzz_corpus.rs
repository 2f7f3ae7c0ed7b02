//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) through the same entry points as the
//! cargo-fuzz targets, so that CI, which has no nightly toolchain, keeps every input the
//! fuzzer found interesting — and every crash it ever found — passing.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::Path;

fn replay(target: &str, entry: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry_ in std::fs::read_dir(&dir).unwrap() {
        let path = entry_.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(|| entry(&data));
        assert!(r.is_ok(), "{} broke an invariant", path.display());
        n += 1;
    }
    // The committed seed corpus is not empty; an empty directory means a broken checkout.
    assert!(n >= 5, "only {n} inputs in {}", dir.display());
}

#[test]
fn ha_cf_corpus() {
    replay("ha_cf", halo_config::fuzzing::ha_cf);
}

#[test]
fn authkeys_corpus() {
    replay("authkeys", halo_config::fuzzing::authkeys);
}

#[test]
fn haresources_corpus() {
    replay("haresources", halo_config::fuzzing::haresources);
}
