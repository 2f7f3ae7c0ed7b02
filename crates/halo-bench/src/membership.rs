//! Membership convergence on the lab (`halo-bench membership`): how long after a node
//! dies until every survivor has installed the same new membership, and how long after
//! a partition heals until every node has installed one common membership — for halo
//! and for Corosync 3 ([`crate::membership_corosync`]) on the same lab.
//!
//! ```text
//!  each trial (victim chosen at random, seeded):
//!    all N agree ─ pause 0–1 s ─▶ SIGKILL victim, cut its ports ─▶ survivors install {N − victim}
//!                    origin ▲ (the signal)               first detection ▲        last install ▲
//!    restart victim while cut ─▶ it installs {victim} ─ pause 0–1 s ─▶ heal ─▶ all install {N}
//!                                                            origin ▲ (the call)    last install ▲
//! ```
//!
//! *Death*: from the signal until the last survivor installed a membership of exactly
//! the survivors, all with the same id (halo: the `id` of the `Membership` event; Corosync:
//! the ring id); *after detection*: from the first survivor's failure report (halo: a
//! `Node … dead` event; Corosync: `A processor failed`) to the same end. *Heal*: from the
//! start of the nftables change that heals the victim's ports (the change itself takes
//! 10–30 ms) until the last node installed the membership of all. The random pauses
//! spread the phase of the periodic protocols relative to the fault.
//!
//! halo's reports are `watch` events stamped on arrival here; Corosync's are the
//! millisecond timestamps of its own log lines, compared with this program's wall clock
//! (both UTC). A trial whose installs disagree (two survivors, one member list, different
//! ids) or that does not converge within [`LIMIT`] is counted, printed and left out of the
//! figures. Benchmarks report; they never assert.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use halo_ipc::Event;
use halo_lab::{Lab, LabSpec};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng};

use crate::cluster::{HaloCluster, wait_for};
use crate::config::{HaCf, Timing, authkeys, random_secret};
use crate::error::Result;
use crate::membership_corosync::{self, CorosyncCluster};
use crate::stats::{Summary, ms};
use crate::watch::EventStream;

/// How long anything may take before a trial counts as missed, or a settle fails.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Which stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackKind {
    /// halod from this build.
    Halo,
    /// Debian's Corosync 3.
    Corosync,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Which stack.
    pub stack: StackKind,
    /// Nodes in the cluster (one bridge).
    pub nodes: usize,
    /// Number of trials.
    pub trials: usize,
    /// halo's failure detector.
    pub timing: Timing,
    /// Corosync's `token` in milliseconds.
    pub token_ms: u64,
    /// Seed of the victims and pauses.
    pub seed: u64,
    /// Where `halod` and `halo` are.
    pub bin_dir: std::path::PathBuf,
}

/// When a fault was injected, on both clocks.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    /// This program's monotonic clock (halo's events are stamped with it).
    pub at: Instant,
    /// The wall clock (Corosync's log timestamps are compared with it).
    pub wall: SystemTime,
}

impl Origin {
    fn now() -> Origin {
        Origin {
            at: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// One node's first install of the expected membership after an origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Install {
    /// The node.
    pub host: String,
    /// How long after the origin, if it installed it within the limit.
    pub after: Option<Duration>,
    /// What names the membership (halo: its id and coordinator; Corosync: the ring id).
    pub id: Option<String>,
}

/// What a set of installs says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every node installed it, under one id; the last one this long after the origin.
    Converged(Duration),
    /// These nodes did not install it within the limit.
    Missed(Vec<String>),
    /// Every node installed the same member list, but not under one id.
    Disagreed(Vec<(String, Option<String>)>),
}

/// Judge the installs of one event on every node that should install it.
pub fn outcome(installs: &[Install]) -> Outcome {
    let missed: Vec<String> = installs
        .iter()
        .filter(|i| i.after.is_none())
        .map(|i| i.host.clone())
        .collect();
    if !missed.is_empty() || installs.is_empty() {
        return Outcome::Missed(missed);
    }
    let ids: BTreeSet<&Option<String>> = installs.iter().map(|i| &i.id).collect();
    if ids.len() != 1 || ids.contains(&None) {
        return Outcome::Disagreed(
            installs
                .iter()
                .map(|i| (i.host.clone(), i.id.clone()))
                .collect(),
        );
    }
    Outcome::Converged(
        installs
            .iter()
            .filter_map(|i| i.after)
            .max()
            .unwrap_or_default(),
    )
}

/// `hosts` without `gone`.
pub fn without(hosts: &[String], gone: &str) -> Vec<String> {
    hosts.iter().filter(|h| *h != gone).cloned().collect()
}

/// A stack running on the lab.
enum Stack<'l> {
    Halo {
        cluster: HaloCluster<'l>,
        streams: BTreeMap<String, EventStream>,
    },
    Corosync(CorosyncCluster<'l>),
}

impl<'l> Stack<'l> {
    fn start(opts: &Options, lab: &'l Lab, hosts: &[String]) -> Result<Stack<'l>> {
        match opts.stack {
            StackKind::Halo => {
                let names: Vec<&str> = hosts.iter().map(String::as_str).collect();
                let cluster = HaloCluster::new(lab, opts.bin_dir.join("halod"));
                let key = authkeys("sha256", &random_secret());
                let cf = HaCf::new(opts.timing, &names).line("bcast eth0").render();
                for h in hosts {
                    cluster.configure(h, &cf, &key)?;
                    cluster.start(h)?;
                }
                let mut streams = BTreeMap::new();
                for h in hosts {
                    cluster.wait_serving(h, LIMIT)?;
                    streams.insert(h.clone(), cluster.watch(h)?);
                }
                Ok(Stack::Halo { cluster, streams })
            }
            StackKind::Corosync => {
                let mut c = CorosyncCluster::new(lab, opts.token_ms)?;
                for h in hosts {
                    c.start(h)?;
                }
                Ok(Stack::Corosync(c))
            }
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Stack::Halo { .. } => "halo",
            Stack::Corosync(_) => "corosync",
        }
    }

    /// `host`'s current membership, as a sorted member list and an id.
    fn current(&self, host: &str) -> Option<(BTreeSet<String>, String)> {
        match self {
            Stack::Halo { cluster, .. } => {
                let m = cluster.status(host).ok()?.membership;
                (m.id > 0).then(|| {
                    let members = m.members.iter().map(|n| n.to_string()).collect();
                    (members, m.id.to_string())
                })
            }
            Stack::Corosync(c) => {
                let ids = c.current(host).ok()??;
                let names = ids.iter().filter_map(|id| c.name_of(*id)).collect();
                Some((names, format!("{ids:?}")))
            }
        }
    }

    /// Wait until every one of `hosts` shows a membership of exactly `members`, the
    /// same everywhere.
    fn settle(&self, hosts: &[String], members: &[String]) -> Result<()> {
        let want: BTreeSet<String> = members.iter().cloned().collect();
        wait_for(
            &format!("{} on {hosts:?} to agree on {members:?}", self.name()),
            LIMIT,
            || {
                let views: Vec<_> = hosts.iter().map(|h| self.current(h)).collect();
                let first = views.first()?.clone()?;
                (first.0 == want && views.iter().all(|v| v.as_ref() == Some(&first))).then_some(())
            },
        )
    }

    fn kill(&self, host: &str) -> Result<()> {
        match self {
            Stack::Halo { cluster, .. } => cluster.signal_kill(host),
            Stack::Corosync(c) => c.signal_kill(host),
        }
    }

    /// Start `host` again after a kill (its ports are cut) and wait until it has
    /// installed a membership of itself.
    fn restart_alone(&mut self, host: &str) -> Result<()> {
        match self {
            Stack::Halo { cluster, streams } => {
                cluster.wait_exit(host, LIMIT)?;
                cluster.start(host)?;
                cluster.wait_serving(host, LIMIT)?;
                streams.insert(host.to_owned(), cluster.watch(host)?);
            }
            Stack::Corosync(c) => {
                c.wait_exit(host, LIMIT)?;
                c.start(host)?;
            }
        }
        let me = [host.to_owned()];
        self.settle(&me, &me)
    }

    /// Each of `hosts`' first install of exactly `members` after `origin`, waiting up to
    /// [`LIMIT`] for all.
    fn installs(&self, origin: Origin, hosts: &[String], members: &[String]) -> Vec<Install> {
        let want: BTreeSet<&str> = members.iter().map(String::as_str).collect();
        match self {
            Stack::Halo { streams, .. } => {
                let end = origin.at + LIMIT;
                hosts
                    .iter()
                    .map(|h| {
                        let hit = streams.get(h).and_then(|s| {
                            s.recorder().wait_for(
                                end.saturating_duration_since(Instant::now()),
                                |s| {
                                    s.at >= origin.at
                                        && matches!(&s.item, Event::Membership(m)
                                        if m.members.iter().map(|n| n.as_str()).collect::<BTreeSet<_>>() == want)
                                },
                            )
                        });
                        let id = hit.as_ref().and_then(|s| match &s.item {
                            Event::Membership(m) => Some(format!(
                                "{}/{}",
                                m.id,
                                m.members.first().map(|n| n.as_str()).unwrap_or_default()
                            )),
                            _ => None,
                        });
                        Install {
                            host: h.clone(),
                            after: hit.map(|s| s.at - origin.at),
                            id,
                        }
                    })
                    .collect()
            }
            Stack::Corosync(c) => {
                let origin_us = membership_corosync::us_of_day(origin.wall);
                let want_ids = c.ids_of(members);
                let find = |h: &String| {
                    c.lines(h)
                        .ok()
                        .and_then(|l| membership_corosync::first_install(&l, origin_us, &want_ids))
                };
                let _ = wait_for("corosync installs", LIMIT, || {
                    hosts.iter().all(|h| find(h).is_some()).then_some(())
                });
                hosts
                    .iter()
                    .map(|h| {
                        let hit = find(h);
                        Install {
                            host: h.clone(),
                            after: hit.as_ref().map(|x| x.0),
                            id: hit.and_then(|x| x.1),
                        }
                    })
                    .collect()
            }
        }
    }

    /// The first failure report about `victim` among `observers` after `origin`.
    fn first_detection(
        &self,
        origin: Origin,
        observers: &[String],
        victim: &str,
    ) -> Option<Duration> {
        match self {
            Stack::Halo { streams, .. } => observers
                .iter()
                .filter_map(|h| {
                    streams.get(h)?.recorder().items().into_iter().find_map(|s| {
                        let dead = matches!(&s.item, Event::Node { node, to: halo_types::NodeState::Dead, .. } if node.as_str() == victim);
                        (dead && s.at >= origin.at).then(|| s.at - origin.at)
                    })
                })
                .min(),
            Stack::Corosync(c) => {
                let origin_us = membership_corosync::us_of_day(origin.wall);
                observers
                    .iter()
                    .filter_map(|h| {
                        membership_corosync::first_failure(&c.lines(h).ok()?, origin_us)
                    })
                    .min()
            }
        }
    }
}

/// One trial's figures.
#[derive(Clone, Debug, Default)]
struct Figures {
    death: Vec<Duration>,
    after_detection: Vec<Duration>,
    heal: Vec<Duration>,
    inject_call: Vec<Duration>,
    heal_call: Vec<Duration>,
    bad: Vec<String>,
}

fn show(o: &Outcome) -> String {
    match o {
        Outcome::Converged(d) => format!("{:.1} ms", ms(*d)),
        Outcome::Missed(h) => format!("missed by {h:?}"),
        Outcome::Disagreed(v) => format!("DISAGREED {v:?}"),
    }
}

/// Run the benchmark and print the figures.
pub fn run(opts: &Options, machine: &str) -> Result<()> {
    let lab = Lab::create(&LabSpec::new().hosts(opts.nodes))?;
    let hosts: Vec<String> = lab.host_names().into_iter().map(str::to_owned).collect();
    let mut stack = Stack::start(opts, &lab, &hosts)?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let setting = match opts.stack {
        StackKind::Halo => format!("keepalive/deadtime {}", opts.timing.label()),
        StackKind::Corosync => format!("token {} ms", opts.token_ms),
    };
    println!(
        "# membership: {} {setting}, {} nodes, {} trials, seed {}, {machine}",
        stack.name(),
        opts.nodes,
        opts.trials,
        opts.seed
    );
    let mut f = Figures::default();
    for trial in 1..=opts.trials {
        stack.settle(&hosts, &hosts)?;
        let victim = hosts[rng.random_range(0..hosts.len())].clone();
        let rest = without(&hosts, &victim);
        std::thread::sleep(pause(&mut rng));
        let origin = Origin::now();
        stack.kill(&victim)?;
        lab.cut(&victim)?;
        f.inject_call.push(origin.at.elapsed());
        let death = outcome(&stack.installs(origin, &rest, &rest));
        let detected = stack.first_detection(origin, &rest, &victim);
        if let Outcome::Converged(d) = death {
            f.death.push(d);
            if let Some(t) = detected {
                f.after_detection.push(d.saturating_sub(t));
            }
        } else {
            f.bad
                .push(format!("trial {trial} death of {victim}: {}", show(&death)));
        }
        // Let the survivors settle on their membership (a late install would count
        // into the heal otherwise).
        stack.settle(&rest, &rest)?;
        stack.restart_alone(&victim)?;
        std::thread::sleep(pause(&mut rng));
        let origin_heal = Origin::now();
        lab.heal(&victim)?;
        f.heal_call.push(origin_heal.at.elapsed());
        let heal = outcome(&stack.installs(origin_heal, &hosts, &hosts));
        if let Outcome::Converged(d) = heal {
            f.heal.push(d);
        } else {
            f.bad
                .push(format!("trial {trial} heal of {victim}: {}", show(&heal)));
        }
        println!(
            "trial {trial:>3}: {victim:>6} death {} (first detection {}), heal {}",
            show(&death),
            detected.map_or("none".into(), |d| format!("{:.1} ms", ms(d))),
            show(&heal)
        );
    }
    summarise(opts, stack.name(), &setting, &f);
    Ok(())
}

fn summarise(opts: &Options, name: &str, setting: &str, f: &Figures) {
    for b in &f.bad {
        println!("# left out: {b}");
    }
    let cells = |v: &[Duration]| match Summary::of(v) {
        Some(s) => {
            let [median, p99, min, max] = s.cells();
            format!("{median} | {p99} | {min}–{max} | {}", s.n)
        }
        None => "– | – | – | 0".into(),
    };
    if let (Some(i), Some(h)) = (Summary::of(&f.inject_call), Summary::of(&f.heal_call)) {
        println!(
            "# kill+cut call median {:.1} ms, heal call median {:.1} ms (max {:.1})",
            ms(i.median),
            ms(h.median),
            ms(h.max)
        );
    }
    println!("# | stack | setting | nodes | event | median ms | p99 ms | range ms | n |");
    for (event, v) in [
        ("death", &f.death),
        ("death, after first detection", &f.after_detection),
        ("heal", &f.heal),
    ] {
        println!(
            "| {name} | {setting} | {} | {event} | {} |",
            opts.nodes,
            cells(v)
        );
    }
}

/// A random pause of 0 to 1 s before each fault.
fn pause(rng: &mut StdRng) -> Duration {
    Duration::from_micros(rng.random_range(0..1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn install(host: &str, after: Option<u64>, id: Option<&str>) -> Install {
        Install {
            host: host.into(),
            after: after.map(Duration::from_millis),
            id: id.map(str::to_owned),
        }
    }

    #[test]
    fn converged_when_all_installed_one_id_at_the_last_install() {
        assert_eq!(
            outcome(&[
                install("node1", Some(700), Some("5/node1")),
                install("node2", Some(720), Some("5/node1")),
            ]),
            Outcome::Converged(Duration::from_millis(720))
        );
    }

    #[test]
    fn a_missing_install_or_two_ids_are_not_convergence() {
        assert_eq!(
            outcome(&[
                install("node1", Some(700), Some("5/node1")),
                install("node2", None, None),
            ]),
            Outcome::Missed(vec!["node2".into()])
        );
        assert!(matches!(
            outcome(&[
                install("node1", Some(700), Some("5/node1")),
                install("node2", Some(720), Some("6/node1")),
            ]),
            Outcome::Disagreed(_)
        ));
        assert!(matches!(
            outcome(&[install("node1", Some(700), None)]),
            Outcome::Disagreed(_)
        ));
        assert_eq!(outcome(&[]), Outcome::Missed(vec![]));
    }

    #[test]
    fn survivors_are_the_others() {
        let hosts: Vec<String> = ["node1", "node2", "node3"].map(String::from).to_vec();
        assert_eq!(without(&hosts, "node2"), ["node1", "node3"]);
    }
}
