//! cargo +nightly fuzz run authkeys — the same entry point tests/fuzz_corpus.rs replays on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| halo_config::fuzzing::authkeys(data));
