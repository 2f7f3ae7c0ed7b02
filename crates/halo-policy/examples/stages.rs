//! Times the stages of `halo sim` on one CIB file (for BENCHMARKS.md):
//! `cargo run --release -p halo-policy --example stages -- cib.xml`.

use std::time::{Duration, Instant};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: stages CIB.xml");
        std::process::exit(2);
    };
    let t0 = Instant::now();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let t1 = Instant::now();
    let cib = match halo_cib::Cib::from_xml(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let t2 = Instant::now();
    let now = halo_types::Timestamp::from_duration(Duration::from_secs(1_900_000_000));
    let t = match halo_policy::schedule(&cib, now) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let t3 = Instant::now();
    let lines = halo_policy::format_summary(&t.summary);
    let t4 = Instant::now();
    println!(
        "read {:?}  parse {:?}  schedule {:?}  format {:?}  ({} summary lines, {} graph actions)",
        t1 - t0,
        t2 - t1,
        t3 - t2,
        t4 - t3,
        lines.len(),
        t.actions.len()
    );
    std::mem::forget((t, cib, text));
}
