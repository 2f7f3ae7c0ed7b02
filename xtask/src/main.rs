//! Project automation: `cargo xtask verify | conformance | fuzz | bench | lab`.

fn main() {}
