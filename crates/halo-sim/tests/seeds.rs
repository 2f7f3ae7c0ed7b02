//! The CI campaign: thousands of seeded runs over 3-, 5- and 16-node clusters, every
//! invariant checked after every step. A failure names its seed and the command that
//! replays it.
//!
//! - `HALO_SIM_SEEDS=N` runs N seeds per cluster size instead of the defaults;
//! - `HALO_TEST_LONG=1` (set by `scripts/test --long`) runs the long campaign: 1.3 million
//!   runs (about half an hour of CPU in an optimised build).
//!
//! The default 3 600 runs take about 20 s of CPU in an optimised build and about three
//! minutes in an unoptimised one (give `halo-sim`, `halo-membership` and `halo-heartbeat`
//! `opt-level = 3` in the dev profile to run them at release speed).

use halo_sim::campaign;

fn seeds(default: u64, long: u64) -> u64 {
    if let Some(n) = std::env::var("HALO_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if std::env::var("HALO_TEST_LONG").is_ok_and(|v| v == "1") {
        long
    } else {
        default
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn campaign(nodes: usize, count: u64) {
    match campaign::run(nodes, 0..count, threads()) {
        Ok(summary) => {
            assert_eq!(summary.runs as u64, count);
            println!("{summary}");
        }
        Err(failure) => panic!("{failure}"),
    }
}

#[test]
fn seeds_on_3_nodes() {
    campaign(3, seeds(2000, 1_000_000));
}

#[test]
fn seeds_on_5_nodes() {
    campaign(5, seeds(1500, 300_000));
}

#[test]
fn seeds_on_16_nodes() {
    campaign(16, seeds(100, 10_000));
}
