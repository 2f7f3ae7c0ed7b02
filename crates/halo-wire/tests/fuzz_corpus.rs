//! Replays the committed cargo-fuzz corpus through the same entry points as the fuzz
//! targets, on stable: CI has no nightly, but every input the fuzzer found interesting
//! is checked on every run.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::fs;
use std::path::{Path, PathBuf};

use halo_wire::fuzzing;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn decode_raw_corpus_replays() {
    for (path, bytes) in corpus("decode_raw") {
        eprintln!("{}", path.display());
        fuzzing::decode_raw(&bytes);
    }
}

#[test]
fn decode_sealed_corpus_replays() {
    for (path, bytes) in corpus("decode_sealed") {
        eprintln!("{}", path.display());
        fuzzing::decode_sealed(&bytes);
    }
}

/// Writes the hand-made seeds (one packet of every type, signed with every fuzz key)
/// into the corpus directories. Run once, before fuzzing:
/// `cargo test -p halo-wire --test fuzz_corpus -- --ignored write_seeds`.
#[test]
#[ignore = "writes files; run by hand to regenerate seeds"]
fn write_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for target in ["decode_raw", "decode_sealed"] {
        fs::create_dir_all(root.join(target)).unwrap();
    }
    for (i, body) in fuzzing::sample_bodies().into_iter().enumerate() {
        for key in 1..=4u16 {
            let ring = fuzzing::fuzz_keyring(key).unwrap();
            let bytes = halo_wire::encode(&fuzzing::sample_packet(body.clone()), &ring).unwrap();
            let digest_len = ring.signing_key().digest(b"").as_bytes().len();
            let name = format!("seed-{i}-key{key}");
            fs::write(root.join("decode_raw").join(&name), &bytes).unwrap();
            fs::write(
                root.join("decode_sealed").join(&name),
                &bytes[..bytes.len() - digest_len],
            )
            .unwrap();
        }
    }
}
