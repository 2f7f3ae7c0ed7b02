//! Arbitrary bytes as the signed part of a packet, with a correct digest appended:
//! the header and body parsers behind authentication, and the round trip.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| halo_wire::fuzzing::decode_sealed(data));
