//! Many seeds at once, on a few threads, with a summary of what the runs measured.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use crate::scenario::{self, Failure, RunReport};
use crate::sim::NetMode;

/// Median, 99th percentile and maximum of a sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spread {
    /// Median.
    pub median: Duration,
    /// 99th percentile (nearest rank).
    pub p99: Duration,
    /// Maximum.
    pub max: Duration,
}

impl Spread {
    /// The spread of `sample` (all zero if empty).
    pub fn of(mut sample: Vec<Duration>) -> Spread {
        if sample.is_empty() {
            return Spread::default();
        }
        sample.sort_unstable();
        let rank = |q: f64| {
            let i = ((q * sample.len() as f64).ceil() as usize).clamp(1, sample.len()) - 1;
            sample[i]
        };
        Spread {
            median: rank(0.5),
            p99: rank(0.99),
            max: sample[sample.len() - 1],
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

impl fmt::Display for Spread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "median {}, p99 {}, max {}",
            ms(self.median),
            ms(self.p99),
            ms(self.max)
        )
    }
}

/// What a campaign over one cluster size measured.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Cluster size.
    pub nodes: usize,
    /// Runs (all passed).
    pub runs: usize,
    /// Of which over datagrams.
    pub datagram_runs: usize,
    /// Faults injected, in total.
    pub faults: u64,
    /// Network stable → converged.
    pub converged_after: Spread,
    /// Last failure-detector change → converged.
    pub protocol_time: Spread,
    /// Memberships installed per run, on average over nodes and runs.
    pub installs_per_node: f64,
    /// Events processed, in total.
    pub events: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} nodes: {} runs ({} over datagrams), {} faults, {:.1} installs per node per run; \
             stable → converged: {}; last detector change → converged: {}",
            self.nodes,
            self.runs,
            self.datagram_runs,
            self.faults,
            self.installs_per_node,
            self.converged_after,
            self.protocol_time
        )
    }
}

/// Runs `seeds` on `nodes` nodes over `threads` threads. Stops at the first failure (the
/// smallest failing seed found).
pub fn run(nodes: usize, seeds: Range<u64>, threads: usize) -> Result<Summary, Failure> {
    let threads = threads.max(1) as u64;
    let results: Vec<Result<Vec<RunReport>, Failure>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let seeds = seeds.clone();
                s.spawn(move || {
                    let mut out = Vec::new();
                    let mut seed = seeds.start + t;
                    while seed < seeds.end {
                        out.push(scenario::run(nodes, seed, false)?);
                        seed += threads;
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut reports = Vec::new();
    let mut failure: Option<Failure> = None;
    for r in results {
        match r {
            Ok(v) => reports.extend(v),
            Err(f) => {
                if failure.as_ref().is_none_or(|g| f.seed < g.seed) {
                    failure = Some(f);
                }
            }
        }
    }
    if let Some(f) = failure {
        return Err(f);
    }
    let runs = reports.len();
    Ok(Summary {
        nodes,
        runs,
        datagram_runs: reports
            .iter()
            .filter(|r| r.mode == NetMode::Datagram)
            .count(),
        faults: reports.iter().map(|r| u64::from(r.faults)).sum(),
        converged_after: Spread::of(reports.iter().map(|r| r.converged_after).collect()),
        protocol_time: Spread::of(reports.iter().map(|r| r.protocol_time).collect()),
        installs_per_node: reports.iter().map(|r| r.installs as f64).sum::<f64>()
            / (runs.max(1) * nodes) as f64,
        events: reports.iter().map(|r| r.events).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_use_nearest_rank() {
        let s = Spread::of((1..=100).map(Duration::from_millis).collect());
        assert_eq!(s.median, Duration::from_millis(50));
        assert_eq!(s.p99, Duration::from_millis(99));
        assert_eq!(s.max, Duration::from_millis(100));
        assert_eq!(Spread::of(vec![]), Spread::default());
    }
}
