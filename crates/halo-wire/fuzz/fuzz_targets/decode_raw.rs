//! Arbitrary bytes as a received datagram: framing and the checks before authentication.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| halo_wire::fuzzing::decode_raw(data));
