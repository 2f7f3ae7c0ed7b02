//! `halo-bench`: failure detection, false deaths and footprint of halo and of
//! heartbeat 3.0.6, on a 3-node lab (2 bridges, multicast heartbeats on both). Prints
//! figures; never asserts. Run as root from a release build:
//!
//! ```text
//! cargo build --release -p halod -p halo -p halo-bench
//! target/release/halo-bench detect --stack halo --keepalive-ms 100 --deadtime-ms 500 --inject cut
//! target/release/halo-bench membership --stack corosync --nodes 5 --token-ms 500
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use halo_bench::cluster::HaloCluster;
use halo_bench::config::{HaCf, Timing, authkeys, random_secret};
use halo_bench::heartbeat::{self, HeartbeatCluster};
use halo_bench::membership;
use halo_bench::probe::Probe;
use halo_bench::procstat::{self, Memory};
use halo_bench::stats::{Summary, ms};
use halo_bench::watch::{EventStream, LogFollower, Recorder};
use halo_ipc::Event;
use halo_lab::{Lab, LabSpec};
use halo_types::NodeState;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};

mod failover_cli;

const HOSTS: [&str; 3] = ["node1", "node2", "node3"];
/// The node that fails in detection trials; the others observe.
const TARGET: &str = "node3";
const OBSERVERS: [&str; 2] = ["node1", "node2"];
/// Generous limits for things that are not measured.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);
/// A detection slower than this counts as missed.
const DETECT_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, Parser)]
#[command(name = "halo-bench", version)]
/// Benchmarks of halo against heartbeat 3.0.6 on the lab (3 nodes, 2 bridges).
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Where halod and halo are [default: this program's directory].
    #[arg(long, global = true, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StackKind {
    /// halod from this build.
    Halo,
    /// Debian's heartbeat 3.0.6.
    Heartbeat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MembershipStack {
    /// halod from this build.
    Halo,
    /// Debian's Corosync 3.
    Corosync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Inject {
    /// node3's switch ports drop everything (nftables).
    Cut,
    /// SIGKILL of node3's daemon (heartbeat: every process on node3).
    Kill,
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Which stack.
    #[arg(long, value_enum)]
    stack: StackKind,
    /// keepalive in milliseconds.
    #[arg(long, default_value_t = 100)]
    keepalive_ms: u64,
    /// deadtime in milliseconds.
    #[arg(long, default_value_t = 500)]
    deadtime_ms: u64,
}

impl Common {
    fn timing(&self) -> Timing {
        Timing::ms(self.keepalive_ms, self.deadtime_ms)
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Time from a fault of node3 until both other nodes report it dead.
    Detect {
        #[command(flatten)]
        common: Common,
        /// The fault.
        #[arg(long, value_enum)]
        inject: Inject,
        /// Number of trials.
        #[arg(long, default_value_t = 20)]
        trials: usize,
        /// Seed of the random pauses before each fault [default: random].
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Count nodes declared dead while nothing fails, with every core busy.
    FalseDeaths {
        #[command(flatten)]
        common: Common,
        /// How long to watch.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// CPU hogs (busy threads) [default: one per core].
        #[arg(long)]
        hogs: Option<usize>,
    },
    /// Membership convergence after a node death and after a heal (issue 3), on N
    /// nodes on one bridge: halo or Corosync 3.
    Membership {
        /// Which stack.
        #[arg(long, value_enum)]
        stack: MembershipStack,
        /// Nodes in the cluster.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Number of trials (each: one death, one heal).
        #[arg(long, default_value_t = 20)]
        trials: usize,
        /// halo's keepalive in milliseconds.
        #[arg(long, default_value_t = 100)]
        keepalive_ms: u64,
        /// halo's deadtime in milliseconds.
        #[arg(long, default_value_t = 500)]
        deadtime_ms: u64,
        /// Corosync's token timeout in milliseconds.
        #[arg(long, default_value_t = 500)]
        token_ms: u64,
        /// Seed of the victims and pauses [default: random].
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Client-visible outage when the node holding a VIP dies (a UDP client every
    /// 10 ms; outage = fault → first answer from another node), or with
    /// `--quiet-seconds`, false failovers under load.
    Failover(failover_cli::Args),
    /// Resident memory and idle CPU of each node's daemon processes.
    Footprint {
        #[command(flatten)]
        common: Common,
        /// How long to measure CPU.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
}

/// One stack running on the lab, with each host's reports recorded.
enum Stack<'l> {
    Halo {
        cluster: HaloCluster<'l>,
        streams: BTreeMap<&'static str, EventStream>,
    },
    Heartbeat {
        cluster: HeartbeatCluster<'l>,
        logs: BTreeMap<&'static str, LogFollower>,
    },
}

/// A report of a node dying, or a late heartbeat, as one stack words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    Dead,
    Late,
}

impl<'l> Stack<'l> {
    fn start(
        kind: StackKind,
        lab: &'l Lab,
        timing: Timing,
        bin_dir: &std::path::Path,
    ) -> Result<Stack<'l>> {
        let base = HaCf::new(timing, &HOSTS)
            .line("mcast eth0 239.0.0.94 694 1 0")
            .line("mcast eth1 239.0.1.94 694 1 0");
        match kind {
            StackKind::Halo => {
                let cluster = HaloCluster::new(lab, bin_dir.join("halod"));
                let key = authkeys("sha256", &random_secret());
                for h in HOSTS {
                    cluster.configure(h, &base.render(), &key)?;
                    cluster.start(h)?;
                }
                cluster.wait_all(&HOSTS, NodeState::Active, SETTLE_LIMIT)?;
                let mut streams = BTreeMap::new();
                for h in HOSTS {
                    streams.insert(h, cluster.watch(h)?);
                }
                Ok(Stack::Halo { cluster, streams })
            }
            StackKind::Heartbeat => {
                let cluster = HeartbeatCluster::new(lab)?;
                let key = authkeys("sha1", &random_secret());
                let cf = heartbeat::ha_cf(base).render();
                let mut logs = BTreeMap::new();
                for h in HOSTS {
                    cluster.configure(h, &cf, &key)?;
                    logs.insert(h, cluster.follow(h)?);
                    cluster.start(h)?;
                }
                cluster.wait_all_active(&HOSTS, SETTLE_LIMIT)?;
                Ok(Stack::Heartbeat { cluster, logs })
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Stack::Halo { .. } => "halo",
            Stack::Heartbeat { .. } => "heartbeat",
        }
    }

    /// Wait until every node sees every node active (and, for heartbeat, stays so: it
    /// restarts itself a few seconds after a partition heals).
    fn settle(&self) -> Result<()> {
        match self {
            Stack::Halo { cluster, .. } => {
                cluster.wait_all(&HOSTS, NodeState::Active, SETTLE_LIMIT)?;
            }
            Stack::Heartbeat { cluster, .. } => {
                cluster.wait_all_active(&HOSTS, SETTLE_LIMIT)?;
                std::thread::sleep(heartbeat_settle());
                cluster.wait_all_active(&HOSTS, SETTLE_LIMIT)?;
            }
        }
        Ok(())
    }

    /// SIGKILL `host`'s daemon; returns when the signal is sent.
    fn kill(&self, host: &str) -> Result<()> {
        match self {
            Stack::Halo { cluster, .. } => cluster.signal_kill(host)?,
            Stack::Heartbeat { cluster, .. } => {
                cluster.kill(host)?;
            }
        }
        Ok(())
    }

    /// Start `host`'s daemon again after a kill.
    fn restart(&mut self, host: &'static str) -> Result<()> {
        match self {
            Stack::Halo { cluster, streams } => {
                cluster.wait_exit(host, SETTLE_LIMIT)?;
                cluster.start(host)?;
                cluster.wait_serving(host, SETTLE_LIMIT)?;
                streams.insert(host, cluster.watch(host)?);
            }
            Stack::Heartbeat { cluster, .. } => {
                // Every process of the host must be gone before it starts again.
                halo_bench::cluster::wait_for("node3's processes to exit", SETTLE_LIMIT, || {
                    cluster.pids(host).ok().filter(|p| p.is_empty())
                })?;
                cluster.start(host)?;
            }
        }
        Ok(())
    }

    /// When `observer` first reported `peer` dead at or after `since` (waiting up to
    /// `limit`).
    fn dead_report(
        &self,
        observer: &str,
        peer: &str,
        since: Instant,
        limit: Duration,
    ) -> Option<Instant> {
        match self {
            Stack::Halo { streams, .. } => streams
                .get(observer)?
                .recorder()
                .wait_for(limit, |s| {
                    s.at >= since
                        && matches!(&s.item, Event::Node { node, to: NodeState::Dead, .. } if node == peer)
                })
                .map(|s| s.at),
            Stack::Heartbeat { logs, .. } => logs
                .get(observer)?
                .recorder()
                .wait_for(limit, |s| s.at >= since && heartbeat::is_dead_line(&s.item, peer))
                .map(|s| s.at),
        }
    }

    /// Reports of `kind` (any node) between `from` and `to`, as `(observer, text)`.
    fn reports(&self, kind: Report, from: Instant, to: Instant) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match self {
            Stack::Halo { streams, .. } => {
                for (h, s) in streams {
                    for e in window(s.recorder(), from, to) {
                        let hit = matches!(
                            (&e, kind),
                            (
                                Event::Node {
                                    to: NodeState::Dead,
                                    ..
                                },
                                Report::Dead
                            ) | (Event::Late { .. }, Report::Late)
                        );
                        if hit {
                            out.push(((*h).to_owned(), format!("{e:?}")));
                        }
                    }
                }
            }
            Stack::Heartbeat { logs, .. } => {
                for (h, l) in logs {
                    for line in window(l.recorder(), from, to) {
                        let hit = match kind {
                            Report::Dead => line.ends_with(": is dead"),
                            Report::Late => line.contains("Late heartbeat"),
                        };
                        if hit {
                            out.push(((*h).to_owned(), line));
                        }
                    }
                }
            }
        }
        out
    }

    /// The daemon processes of `host`.
    fn pids(&self, lab: &Lab, host: &str) -> Result<Vec<u32>> {
        let _ = self;
        Ok(lab.pids_on(host)?)
    }
}

fn window<T: Clone>(r: &Recorder<T>, from: Instant, to: Instant) -> Vec<T> {
    r.items()
        .into_iter()
        .filter(|s| s.at >= from && s.at <= to)
        .map(|s| s.item)
        .collect()
}

/// A random pause of 0 to 1 s before each fault.
fn pause(rng: &mut StdRng) -> Duration {
    Duration::from_micros(rng.random_range(0..1_000_000))
}

fn lab() -> Result<Lab> {
    Lab::create(&LabSpec::new().hosts(HOSTS.len()).bridges(2)).context("building the lab")
}

fn machine_note() -> String {
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), kernel {kernel}, load average {load}")
}

fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

fn detect(
    bin_dir: &std::path::Path,
    common: &Common,
    inject: Inject,
    trials: usize,
    seed: Option<u64>,
) -> Result<()> {
    let timing = common.timing();
    let seed = seed.unwrap_or_else(random_seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let lab = lab()?;
    let mut stack = Stack::start(common.stack, &lab, timing, bin_dir)?;
    println!(
        "# detect: {} {} inject {:?}, {trials} trials, seed {seed}, {}",
        stack.name(),
        timing.label(),
        inject,
        machine_note()
    );
    let mut times = Vec::new();
    let mut inject_cost = Vec::new();
    let mut missed = 0;
    let mut unexpected = Vec::new();
    let mut probe_misses = 0;
    let probe = match inject {
        Inject::Cut => Some(Probe::start(&lab, TARGET, OBSERVERS[0], 0)?),
        Inject::Kill => None,
    };
    for trial in 1..=trials {
        stack.settle()?;
        let quiet_from = Instant::now();
        std::thread::sleep(pause(&mut rng));
        let before = Instant::now();
        match inject {
            Inject::Cut => lab.cut(TARGET)?,
            Inject::Kill => stack.kill(TARGET)?,
        }
        let returned = Instant::now();
        inject_cost.push(returned - before);
        // Deaths reported before the fault, during the settle and pause, are false.
        unexpected.extend(stack.reports(Report::Dead, quiet_from, before));
        let reports: Vec<Option<Instant>> = OBSERVERS
            .iter()
            .map(|o| stack.dead_report(o, TARGET, before, DETECT_LIMIT))
            .collect();
        // When the fault took effect: a kill at the signal (the call only sends it); a
        // cut when the probe stream stopped, within a millisecond (the nft process
        // around it takes 10-30 ms). Without a probe reading, the call's start: an
        // upper bound on the detection time.
        let t0 = match &probe {
            None => before,
            Some(p) => p.cut_at(before, returned).unwrap_or_else(|| {
                probe_misses += 1;
                before
            }),
        };
        let per_observer: Vec<Option<Duration>> = reports
            .iter()
            .map(|r| r.map(|at| at.saturating_duration_since(t0)))
            .collect();
        let shown: Vec<String> = per_observer
            .iter()
            .map(|d| d.map_or("missed".into(), |d| format!("{:.1}", ms(d))))
            .collect();
        match per_observer.iter().copied().collect::<Option<Vec<_>>>() {
            Some(all) => {
                let last = all.into_iter().max().unwrap_or_default();
                times.push(last);
                println!(
                    "trial {trial:>3}: {:>7.1} ms (node1 {}, node2 {})",
                    ms(last),
                    shown[0],
                    shown[1]
                );
            }
            None => {
                missed += 1;
                println!(
                    "trial {trial:>3}: missed within {DETECT_LIMIT:?} (node1 {}, node2 {})",
                    shown[0], shown[1]
                );
            }
        }
        match inject {
            Inject::Cut => lab.heal(TARGET)?,
            Inject::Kill => stack.restart(TARGET)?,
        }
    }
    if let Some(c) = Summary::of(&inject_cost) {
        let origin = match &probe {
            Some(_) => format!(
                "fault instant from the probe stream in {} of {trials} trials (else the call's start)",
                trials - probe_misses
            ),
            None => "fault instant: the signal".to_owned(),
        };
        println!(
            "# injection call ({inject:?}): median {:.1} ms, max {:.1} ms; {origin}",
            ms(c.median),
            ms(c.max)
        );
    }
    if !unexpected.is_empty() {
        println!("# deaths reported while nothing had failed: {unexpected:?}");
    }
    match Summary::of(&times) {
        Some(s) => {
            let [median, p99, min, max] = s.cells();
            println!(
                "# {} {} {:?}: n={} median {median} ms, p99 {p99} ms, min {min} ms, max {max} ms, missed {missed}; target deadtime+keepalive = {} ms",
                stack.name(),
                timing.label(),
                inject,
                s.n,
                (timing.deadtime + timing.keepalive).as_millis()
            );
            println!(
                "| {} | {:?} | {} | {median} | {p99} | {min} | {max} | {} |",
                timing.label(),
                inject,
                stack.name(),
                s.n
            );
        }
        None => println!("# no trial detected the fault"),
    }
    Ok(())
}

fn false_deaths(
    bin_dir: &std::path::Path,
    common: &Common,
    seconds: u64,
    hogs: Option<usize>,
) -> Result<()> {
    let timing = common.timing();
    let lab = lab()?;
    let stack = Stack::start(common.stack, &lab, timing, bin_dir)?;
    stack.settle()?;
    let hogs = hogs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    println!(
        "# false-deaths: {} {}, {hogs} CPU hogs, {seconds} s, {}",
        stack.name(),
        timing.label(),
        machine_note()
    );
    let hog_threads = halo_bench::failover::Hogs::start(hogs);
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(60).min(end - Instant::now()));
        let now = Instant::now();
        println!(
            "{:>5.0} s: {} deaths, {} late-heartbeat reports so far",
            (now - start).as_secs_f64(),
            stack.reports(Report::Dead, start, now).len(),
            stack.reports(Report::Late, start, now).len()
        );
    }
    drop(hog_threads);
    let deaths = stack.reports(Report::Dead, start, end);
    let late = stack.reports(Report::Late, start, end);
    for (h, d) in &deaths {
        println!("death reported by {h}: {d}");
    }
    println!(
        "# {} {}: {} false deaths, {} late-heartbeat reports in {seconds} s with {hogs} hogs",
        stack.name(),
        timing.label(),
        deaths.len(),
        late.len()
    );
    Ok(())
}

fn footprint(bin_dir: &std::path::Path, common: &Common, seconds: u64) -> Result<()> {
    let timing = common.timing();
    let lab = lab()?;
    let stack = Stack::start(common.stack, &lab, timing, bin_dir)?;
    stack.settle()?;
    std::thread::sleep(Duration::from_secs(5));
    println!(
        "# footprint: {} {}, {seconds} s, {}",
        stack.name(),
        timing.label(),
        machine_note()
    );
    let pids: BTreeMap<&str, Vec<u32>> = HOSTS
        .iter()
        .map(|h| Ok((*h, stack.pids(&lab, h)?)))
        .collect::<Result<_>>()?;
    let cpu = |pids: &[u32]| -> Duration {
        pids.iter()
            .filter_map(|p| procstat::cpu_time(*p).ok())
            .sum()
    };
    let before: BTreeMap<&str, Duration> = pids.iter().map(|(h, p)| (*h, cpu(p))).collect();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let elapsed = t0.elapsed();
    let mut rows = Vec::new();
    for (h, p) in &pids {
        let mem = p
            .iter()
            .filter_map(|pid| procstat::memory(*pid).ok())
            .fold(Memory::default(), |a, b| a + b);
        let used = cpu(p).saturating_sub(before[h]);
        let pct = used.as_secs_f64() / elapsed.as_secs_f64() * 100.0;
        println!(
            "{h}: {} processes, RSS {:.1} MB, PSS {:.1} MB, CPU {:.3} % of a core ({:.2} s in {:.0} s)",
            p.len(),
            mem.rss_kib as f64 / 1024.0,
            mem.pss_kib as f64 / 1024.0,
            pct,
            used.as_secs_f64(),
            elapsed.as_secs_f64()
        );
        rows.push((p.len(), mem, pct));
    }
    let n = rows.len().max(1) as f64;
    let mean = |f: &dyn Fn(&(usize, Memory, f64)) -> f64| rows.iter().map(f).sum::<f64>() / n;
    println!(
        "| {} | {} | {:.0} | {:.1} | {:.1} | {:.3} |",
        stack.name(),
        timing.label(),
        mean(&|r| r.0 as f64),
        mean(&|r| r.1.rss_kib as f64 / 1024.0),
        mean(&|r| r.1.pss_kib as f64 / 1024.0),
        mean(&|r| r.2)
    );
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    let bin_dir = match cli.bin_dir {
        Some(d) => d,
        None => std::env::current_exe()
            .context("cannot find this program's directory")?
            .parent()
            .map(std::path::Path::to_path_buf)
            .context("this program has no directory")?,
    };
    if !bin_dir.join("halod").exists() {
        bail!(
            "{} has no halod: cargo build --release -p halod -p halo, or --bin-dir",
            bin_dir.display()
        );
    }
    match &cli.command {
        Command::Detect {
            common,
            inject,
            trials,
            seed,
        } => detect(&bin_dir, common, *inject, *trials, *seed),
        Command::FalseDeaths {
            common,
            seconds,
            hogs,
        } => false_deaths(&bin_dir, common, *seconds, *hogs),
        Command::Footprint { common, seconds } => footprint(&bin_dir, common, *seconds),
        Command::Membership {
            stack,
            nodes,
            trials,
            keepalive_ms,
            deadtime_ms,
            token_ms,
            seed,
        } => {
            let opts = membership::Options {
                stack: match stack {
                    MembershipStack::Halo => membership::StackKind::Halo,
                    MembershipStack::Corosync => membership::StackKind::Corosync,
                },
                nodes: *nodes,
                trials: *trials,
                timing: Timing::ms(*keepalive_ms, *deadtime_ms),
                token_ms: *token_ms,
                seed: seed.unwrap_or_else(random_seed),
                bin_dir,
            };
            Ok(membership::run(&opts, &machine_note())?)
        }
        Command::Failover(args) => failover_cli::run(&bin_dir, args, &machine_note()),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("halo-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// How long heartbeat is left alone after every node is active again before the next
/// trial (`HALO_BENCH_HB_SETTLE_S`, default 20 s): after a partition heals every
/// heartbeat restarts itself within a few seconds, and a freshly (re)started heartbeat
/// detects more slowly for a while.
fn heartbeat_settle() -> Duration {
    let secs = std::env::var("HALO_BENCH_HB_SETTLE_S")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(20);
    Duration::from_secs(secs)
}
