//! `halo-bench failover`: the command line of [`halo_bench::failover`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;
use halo_bench::anchor_heartbeat::HeartbeatStack;
use halo_bench::anchor_keepalived::KeepalivedStack;
use halo_bench::anchor_pacemaker::PacemakerStack;
use halo_bench::config::Timing;
use halo_bench::failover::{self, Failure, Options, Stack};
use halo_bench::failover_bulk::{self, Agent};
use halo_bench::failover_halo::HaloStack;
use halo_bench::stats::Summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// halod from this build (`--keepalive-ms`, `--deadtime-ms`, `--nodes`).
    Halo,
    /// Debian's heartbeat 3.0.6 with an anchors' directory (`--anchor-config`).
    Heartbeat,
    /// keepalived 2.2.7 with an anchors' directory (`--anchor-config`).
    Keepalived,
    /// Corosync + Pacemaker with an anchors' directory (`--anchor-config`).
    Pacemaker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Inject {
    /// SIGKILL of every process on node1.
    Kill,
    /// nftables drop of every frame of node1's switch port.
    Cut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BulkAgent {
    /// ocf:halobench:Cheap, written by the benchmark.
    Cheap,
    /// Debian's ocf:heartbeat:Dummy.
    Dummy,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which stack.
    #[arg(long, value_enum)]
    stack: Which,
    /// halo: keepalive in milliseconds.
    #[arg(long, default_value_t = 100)]
    keepalive_ms: u64,
    /// halo: deadtime in milliseconds.
    #[arg(long, default_value_t = 500)]
    deadtime_ms: u64,
    /// halo: cluster nodes (2 or 3; the lab adds a client).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Anchors: the configuration directory (e.g.
    /// /work/shared/anchors/keepalived/config-advert0.1-v3).
    #[arg(long, value_name = "DIR")]
    anchor_config: Option<PathBuf>,
    /// The fault (ignored with --quiet-seconds).
    #[arg(long, value_enum, default_value = "kill")]
    inject: Inject,
    /// Number of trials.
    #[arg(long, default_value_t = 20)]
    trials: usize,
    /// Seed of the random pauses before each fault [default: random].
    #[arg(long)]
    seed: Option<u64>,
    /// A failover slower than this (seconds) counts as missed.
    #[arg(long, default_value_t = 30)]
    limit_s: u64,
    /// With --inject cut: after the failover (and --heal-after-ms), heal the cut and
    /// report the longest client gap in this many milliseconds.
    #[arg(long)]
    heal_watch_ms: Option<u64>,
    /// With --heal-watch-ms: how long the partition lasts after the failover.
    #[arg(long, default_value_t = 2000)]
    heal_after_ms: u64,
    /// Save the stack's logs of each trial in this directory.
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// Instead of failing node1: load a CIB with this many primitives on a 3-node halo
    /// cluster and time the transition (and the policy engine alone).
    #[arg(long)]
    resources: Option<usize>,
    /// With --resources: `cheap` (a few lines of sh) or `dummy` (ocf:heartbeat:Dummy).
    #[arg(long, default_value = "cheap")]
    agent: BulkAgent,
    /// Instead of failing node1: watch this many seconds with CPU hogs and nothing
    /// failing, and count answers from another node (false failovers).
    #[arg(long)]
    quiet_seconds: Option<u64>,
    /// With --quiet-seconds: busy threads [default: one per core].
    #[arg(long)]
    hogs: Option<usize>,
}

fn stack(bin_dir: &Path, a: &Args) -> Result<Box<dyn Stack>> {
    Ok(match a.stack {
        Which::Halo => {
            if !(2..=3).contains(&a.nodes) {
                bail!("--nodes must be 2 or 3");
            }
            Box::new(HaloStack::new(
                bin_dir.join("halod"),
                Timing::ms(a.keepalive_ms, a.deadtime_ms),
                a.nodes,
            ))
        }
        Which::Heartbeat => Box::new(HeartbeatStack::new(anchor_dir(a)?)?),
        Which::Keepalived => Box::new(KeepalivedStack::new(anchor_dir(a)?)?),
        Which::Pacemaker => Box::new(PacemakerStack::new(anchor_dir(a)?)?),
    })
}

fn anchor_dir(a: &Args) -> Result<PathBuf> {
    a.anchor_config
        .clone()
        .context("this stack needs --anchor-config DIR (one of /work/shared/anchors/*/config-*)")
}

pub fn run(bin_dir: &Path, a: &Args, machine: &str) -> Result<()> {
    if let Some(n) = a.resources {
        let agent = match a.agent {
            BulkAgent::Cheap => Agent::Cheap,
            BulkAgent::Dummy => Agent::Dummy,
        };
        println!("# failover --resources {n} ({agent:?}), {machine}");
        return failover_bulk::report(&bin_dir.join("halod"), n, agent).context("bulk transition");
    }
    let mut stack = stack(bin_dir, a)?;
    if let Some(seconds) = a.quiet_seconds {
        let hogs = a.hogs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        });
        println!(
            "# failover quiet: {}, {seconds} s, {hogs} CPU hogs, {machine}",
            stack.label()
        );
        let q = failover::quiet(stack.as_mut(), seconds, hogs).context("quiet run")?;
        println!(
            "# {}: {} answers in {seconds} s, {} from another node {:?} (false failovers), longest gap {:.1} ms, {hogs} hogs",
            stack.label(),
            q.answers,
            q.from_others,
            q.others,
            failover::ms(q.longest_gap)
        );
        return Ok(());
    }
    let failure = match a.inject {
        Inject::Kill => Failure::Kill,
        Inject::Cut => Failure::Cut,
    };
    let seed = a.seed.unwrap_or_else(|| {
        let mut b = [0u8; 8];
        let _ = getrandom::fill(&mut b);
        u64::from_le_bytes(b)
    });
    let opts = Options {
        failure,
        trials: a.trials,
        seed,
        limit: Duration::from_secs(a.limit_s),
        heal_watch: a.heal_watch_ms.map(Duration::from_millis),
        heal_after: Duration::from_millis(a.heal_after_ms),
        log_dir: a.log_dir.clone(),
    };
    println!(
        "# failover: {} inject {}, {} trials, seed {seed}, {machine}",
        stack.label(),
        failure.name(),
        a.trials
    );
    let trials = failover::run(stack.as_mut(), &opts).context("failover trials")?;
    let times: Vec<Duration> = trials.iter().filter_map(|t| t.outage).collect();
    let missed = trials.len() - times.len();
    match Summary::of(&times) {
        Some(s) => {
            let [median, p99, min, max] = s.cells();
            println!(
                "# {} {}: n={} median {median} ms, p99 {p99} ms, min {min} ms, max {max} ms, missed {missed}",
                stack.label(),
                failure.name(),
                s.n
            );
            println!(
                "| {} | {} | {median} | {p99} | {min} | {max} | {} |",
                stack.label(),
                failure.name(),
                s.n
            );
        }
        None => println!("# no trial saw a failover"),
    }
    let gaps: Vec<Duration> = trials
        .iter()
        .filter_map(|t| t.heal.as_ref().map(|h| h.longest))
        .collect();
    if let Some(s) = Summary::of(&gaps) {
        let [median, p99, min, max] = s.cells();
        println!(
            "# heal gap {}: n={} median {median} ms, p99 {p99} ms, min {min} ms, max {max} ms",
            stack.label(),
            s.n
        );
        let mut lost: Vec<u64> = trials
            .iter()
            .filter_map(|t| t.heal.as_ref().map(|h| h.lost_run))
            .collect();
        lost.sort_unstable();
        println!(
            "# heal: requests unanswered in a row (x {} ms): {:?}",
            failover::INTERVAL.as_millis(),
            lost
        );
    }
    Ok(())
}
