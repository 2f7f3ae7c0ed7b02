//! Times the stages of `halo sim` on one CIB file (for BENCHMARKS.md):
//! `cargo run --release -p halo-policy --example stages -- cib.xml`.
//!
//! Uses the allocator `halo sim` uses, and prints the resident memory after
//! each stage (Linux: from `/proc/self/statm`).

use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Resident memory in MB (0 where `/proc` is not available).
fn rss_mb() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096 / (1024 * 1024)
}

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
    let m1 = rss_mb();
    let cib = match halo_cib::Cib::from_xml(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let t2 = Instant::now();
    let m2 = rss_mb();
    let now = halo_types::Timestamp::from_duration(Duration::from_secs(1_900_000_000));
    let t = match halo_policy::schedule(&cib, now) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let t3 = Instant::now();
    let m3 = rss_mb();
    let lines = halo_policy::format_summary(&t.summary);
    let t4 = Instant::now();
    println!(
        "read {:?} ({m1} MB)  parse {:?} ({m2} MB)  schedule {:?} ({m3} MB)  format {:?}  ({} summary lines, {} graph actions)",
        t1 - t0,
        t2 - t1,
        t3 - t2,
        t4 - t3,
        lines.len(),
        t.actions.len()
    );
    std::mem::forget((t, cib, text));
}
