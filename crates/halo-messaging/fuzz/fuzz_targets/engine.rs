//! Arbitrary sequences of packets, peer events, sends and ticks into one engine.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| halo_messaging::fuzzing::run(data));
