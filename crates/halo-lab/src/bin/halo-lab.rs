//! `halo-lab`: build and drive a multi-host test lab from a shell (see the crate docs and
//! README.md next to Cargo.toml).

use std::fmt::Write as _;
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use halo_lab::spec::{IPV4_PREFIX_LEN, IPV6_PREFIX_LEN, node_ipv4, node_ipv6};
use halo_lab::{Lab, LabSpec, LossTarget, Owner, Port};

const ABOUT: &str = "A multi-host test lab on this machine: hosts in their own network, UTS \
and mount namespaces, bridges without uplink, serial links, and nftables faults.";

const AFTER: &str = "\
A typical session:
  halo-lab up --hosts 3 --bridges 2 --serial node1:node2 --ping-host ping1
  export HALO_LAB=hl1a2b3c                 # printed by `up`; or pass --lab
  halo-lab exec node1 -- ping -c1 10.213.0.2
  halo-lab exec -d node1 -- halod --config-dir /etc/ha.d --node node1 --foreground
  halo-lab cut node1                       # node1's switch ports drop everything
  halo-lab heal                            # undo every fault
  halo-lab partition node1,node2 node3
  halo-lab cut node1 --to node2            # node1's frames to node2 dropped, not back
  halo-lab loss 20 --bridge 0              # drop 20% of the frames on br0
  halo-lab serial cut 0
  halo-lab status
  halo-lab down

Address plan: host N (1-99) is 10.213.B.N and fd48:616c:6f00:B::N on bridge B, via its
interface ethB; 10.213.B.100-199 are free for virtual IPs; ping host M is 10.213.B.(200+M).
Each host's private /run, /tmp, /var/log, /etc/ha.d, /var/lib/halo, ... live under
/run/halo-lab/PREFIX/hosts/HOST/root/ outside the host. Serial devices appear in a host as
/run/halo-lab/ttyS0, ttyS1, ...

Nothing leaves the machine: the bridges have no uplink and the hosts no default route.
Labs of crashed test runs are removed by `halo-lab cleanup`. Needs root.";

#[derive(Debug, Parser)]
#[command(name = "halo-lab", version, about = ABOUT, after_help = AFTER)]
struct Cli {
    /// The lab to act on (its prefix, as printed by `up`). Default: $HALO_LAB, or the
    /// only lab on this machine.
    #[arg(long, global = true, env = "HALO_LAB", value_name = "PREFIX")]
    lab: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build a lab and leave it running; prints what it made.
    Up {
        /// Number of hosts, named node1, node2, ... (ignored with --host).
        #[arg(long, default_value_t = 3)]
        hosts: usize,
        /// A host by name (repeat for several); replaces --hosts.
        #[arg(long = "host", value_name = "NAME")]
        host_names: Vec<String>,
        /// Number of bridges (br0, br1, ...): every host gets one interface on each.
        #[arg(long, default_value_t = 2)]
        bridges: usize,
        /// A serial link between two hosts, as A:B (repeatable).
        #[arg(long, value_name = "A:B")]
        serial: Vec<String>,
        /// A ping host (answers ICMP only) on every bridge (repeatable).
        #[arg(long = "ping-host", value_name = "NAME")]
        ping_hosts: Vec<String>,
        /// Tie the lab to a process: once it is gone, `halo-lab cleanup` removes the
        /// lab (e.g. --owner-pid $$ in a script).
        #[arg(long, value_name = "PID")]
        owner_pid: Option<u32>,
        /// No permanent neighbour entries (hosts resolve each other with ARP/NDP).
        #[arg(long)]
        no_static_neighbors: bool,
        /// Print the lab's state as JSON instead of a description.
        #[arg(long)]
        json: bool,
    },
    /// List the labs on this machine.
    List,
    /// Describe a lab: hosts, addresses, serial devices, faults, background processes.
    Status {
        /// Print the lab's state as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a command on a host (in its network, UTS and mount namespaces).
    ///
    /// In the foreground it inherits the terminal and exits with the command's status.
    /// With --detach it runs in the background with output to a log file; prints its PID.
    Exec {
        /// Start in the background; print the PID and the log file.
        #[arg(short, long)]
        detach: bool,
        /// The host.
        host: String,
        /// The command and its arguments (after `--`).
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Cut a host (or ping host) from every bridge, or from one with --bridge; with --to,
    /// drop only its frames to another host (one-way).
    Cut {
        /// The host whose switch ports stop carrying frames.
        host: String,
        /// Only this bridge.
        #[arg(long)]
        bridge: Option<usize>,
        /// One-way: drop HOST's frames to this host; its frames to HOST still pass.
        #[arg(long, value_name = "HOST")]
        to: Option<String>,
    },
    /// Undo faults. Without arguments: all of them (cuts, partition, loss, serial cuts).
    Heal {
        /// Undo this host's cuts and one-way cuts from or to it.
        host: Option<String>,
        /// With HOST: only its cut on this bridge.
        #[arg(long)]
        bridge: Option<usize>,
        /// With HOST: only the one-way cut from HOST to this host.
        #[arg(long, value_name = "HOST")]
        to: Option<String>,
        /// Only the partition.
        #[arg(long)]
        partition: bool,
    },
    /// Partition the hosts into groups (comma-separated names, one argument per group);
    /// frames pass only within a group. Every host must be in a group; ping hosts left
    /// out stay reachable from all.
    Partition {
        /// Groups, e.g. `node1,node2 node3`.
        #[arg(required = true, num_args = 2..)]
        groups: Vec<String>,
    },
    /// Drop frames at random: PERCENT of the frames in and out of a host's ports (--host,
    /// optionally one --bridge), or crossing a bridge (--bridge alone). 0 removes the rule.
    Loss {
        /// Percentage of frames to drop (0-100, decimals allowed).
        percent: f64,
        /// The host whose ports lose frames.
        #[arg(long)]
        host: Option<String>,
        /// The bridge (alone: every frame on it; with --host: that host's port on it).
        #[arg(long)]
        bridge: Option<usize>,
    },
    /// Cut or heal a serial link (by index, as `status` lists them).
    Serial {
        #[command(subcommand)]
        action: SerialCmd,
    },
    /// Send a signal to every process on a host (as when the node crashes).
    Kill {
        /// The host.
        host: String,
        /// Signal name or number.
        #[arg(long, short, default_value = "KILL")]
        signal: String,
    },
    /// Tear a lab down: kill its processes, delete its namespaces, links, nft tables,
    /// mounts and files.
    Down {
        /// The lab (default: --lab, $HALO_LAB, or the only lab).
        prefix: Option<String>,
    },
    /// Remove what crashed runs left: labs whose owner process is gone, half-built or
    /// half-removed labs. Touches only objects named with the lab prefix convention
    /// (hl + 6 hex digits). Labs of live processes and of `up` are kept unless --all.
    Cleanup {
        /// Also remove labs that are in use (live owner, or made by `up`).
        #[arg(long)]
        all: bool,
        /// Only say what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SerialCmd {
    /// Cut serial link N (bytes written are lost; the devices stay open).
    Cut {
        /// Link index.
        link: usize,
        /// Only bytes from this host (one end of the link) to the other.
        #[arg(long, value_name = "HOST")]
        from: Option<String>,
    },
    /// Heal serial link N.
    Heal {
        /// Link index.
        link: usize,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("halo-lab: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::Up {
            hosts,
            host_names,
            bridges,
            serial,
            ping_hosts,
            owner_pid,
            no_static_neighbors,
            json,
        } => {
            let mut spec = LabSpec::new().bridges(bridges);
            spec = if host_names.is_empty() {
                spec.hosts(hosts)
            } else {
                host_names.iter().fold(spec, |s, h| s.host(h))
            };
            for link in &serial {
                let (a, b) = link
                    .split_once(':')
                    .ok_or_else(|| anyhow!("--serial {link:?}: expected A:B"))?;
                spec = spec.serial(a, b);
            }
            spec = ping_hosts.iter().fold(spec, |s, p| s.ping_host(p));
            spec = spec.static_neighbors(!no_static_neighbors);
            let owner = match owner_pid {
                Some(pid) => Some(
                    Owner::of(pid).ok_or_else(|| anyhow!("--owner-pid {pid}: no such process"))?,
                ),
                None => None,
            };
            let lab = Lab::create_persistent(&spec, owner)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&lab.state()?)?);
            } else {
                print!("{}", describe(&lab)?);
                println!("\nexport HALO_LAB={}", lab.prefix());
            }
        }
        Cmd::List => {
            let labs = halo_lab::list();
            if labs.is_empty() {
                println!("no labs");
            }
            for (prefix, st) in labs {
                match st {
                    Ok(st) => println!(
                        "{prefix}  {} hosts, {} bridges, {}",
                        st.spec.hosts.len(),
                        st.spec.bridges,
                        owner_text(st.owner)
                    ),
                    Err(e) => println!("{prefix}  ({e})"),
                }
            }
        }
        Cmd::Status { json } => {
            let lab = open(cli.lab.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&lab.state()?)?);
            } else {
                print!("{}", describe(&lab)?);
            }
        }
        Cmd::Exec {
            detach,
            host,
            command,
        } => {
            let lab = open(cli.lab.as_deref())?;
            if detach {
                let proc = lab.spawn_args(&host, &command)?;
                lab.record_detached(&proc, &command.join(" "))?;
                println!("{}", proc.pid);
                eprintln!("log: {}", proc.log.display());
            } else {
                let (program, args) = command
                    .split_first()
                    .ok_or_else(|| anyhow!("no command given"))?;
                let mut cmd = lab.command(&host, program)?;
                let status = cmd
                    .args(args)
                    .status()
                    .with_context(|| format!("running {program:?} on {host}"))?;
                let code = status
                    .code()
                    .or_else(|| status.signal().map(|s| 128 + s))
                    .unwrap_or(1);
                return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
            }
        }
        Cmd::Cut { host, bridge, to } => {
            let lab = open(cli.lab.as_deref())?;
            match (to, bridge) {
                (Some(to), Some(b)) => lab.cut_one_way_on(&host, &to, b)?,
                (Some(to), None) => lab.cut_one_way(&host, &to)?,
                (None, Some(b)) => lab.cut_link(&host, b)?,
                (None, None) => lab.cut(&host)?,
            }
        }
        Cmd::Heal {
            host,
            bridge,
            to,
            partition,
        } => {
            let lab = open(cli.lab.as_deref())?;
            match (host, bridge, to, partition) {
                (None, None, None, false) => lab.heal_all()?,
                (None, None, None, true) => lab.heal_partition()?,
                (Some(h), Some(b), None, false) => lab.heal_link(&h, b)?,
                (Some(h), None, Some(to), false) => lab.heal_one_way(&h, &to)?,
                (Some(h), None, None, false) => lab.heal(&h)?,
                _ => bail!(
                    "heal takes nothing (all faults), --partition, HOST, HOST --bridge B, or HOST --to HOST"
                ),
            }
        }
        Cmd::Partition { groups } => {
            let lab = open(cli.lab.as_deref())?;
            let groups: Vec<Vec<String>> = groups
                .iter()
                .map(|g| {
                    g.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .collect();
            lab.partition(&groups)?;
        }
        Cmd::Loss {
            percent,
            host,
            bridge,
        } => {
            let lab = open(cli.lab.as_deref())?;
            let target = match (host, bridge) {
                (Some(node), Some(bridge)) => LossTarget::Port(Port { node, bridge }),
                (Some(node), None) => LossTarget::Node(node),
                (None, Some(b)) => LossTarget::Bridge(b),
                (None, None) => bail!("loss needs --host HOST, --bridge B, or both"),
            };
            lab.set_loss(target, percent / 100.0)?;
        }
        Cmd::Serial { action } => {
            let lab = open(cli.lab.as_deref())?;
            match action {
                SerialCmd::Cut { link, from: None } => lab.cut_serial(link)?,
                SerialCmd::Cut {
                    link,
                    from: Some(h),
                } => lab.cut_serial_one_way(link, &h)?,
                SerialCmd::Heal { link } => lab.heal_serial(link)?,
            }
        }
        Cmd::Kill { host, signal } => {
            let lab = open(cli.lab.as_deref())?;
            let sig = parse_signal(&signal)?;
            let pids = lab.signal_host(&host, sig)?;
            println!("{} process(es) on {host} sent {sig}: {pids:?}", pids.len());
        }
        Cmd::Down { prefix } => {
            let prefix = match prefix.or(cli.lab) {
                Some(p) => p,
                None => only_lab()?,
            };
            halo_lab::teardown_prefix(&prefix)?;
            println!("lab {prefix} removed");
        }
        Cmd::Cleanup { all, dry_run } => {
            let items = halo_lab::cleanup(all, dry_run)?;
            if items.is_empty() {
                println!("nothing to clean up");
            }
            for i in items {
                let verb = match (i.remove, dry_run) {
                    (true, true) => "would remove",
                    (true, false) => "removed",
                    (false, _) => "kept",
                };
                let l = &i.leftovers;
                println!(
                    "{verb} {}: {} ({} namespaces, {} mounts, {} processes{})",
                    i.prefix,
                    i.reason,
                    l.netns.len(),
                    l.mounts.len(),
                    l.pids.len(),
                    if l.dir.is_some() { ", directory" } else { "" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn open(prefix: Option<&str>) -> Result<Lab> {
    let prefix = match prefix {
        Some(p) => p.to_owned(),
        None => only_lab()?,
    };
    Ok(Lab::open(&prefix)?)
}

fn only_lab() -> Result<String> {
    let labs: Vec<String> = halo_lab::list()
        .into_iter()
        .filter(|(_, st)| st.is_ok())
        .map(|(p, _)| p)
        .collect();
    match labs.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no lab on this machine (make one with `halo-lab up`)"),
        many => bail!(
            "several labs ({}): choose one with --lab PREFIX or HALO_LAB",
            many.join(", ")
        ),
    }
}

fn owner_text(owner: Option<Owner>) -> String {
    match owner {
        None => "made by `halo-lab up`".to_owned(),
        Some(o) if o.alive() => format!("owned by running pid {}", o.pid),
        Some(o) => format!("owner pid {} gone (cleanup removes it)", o.pid),
    }
}

fn parse_signal(s: &str) -> Result<nix::sys::signal::Signal> {
    use std::str::FromStr as _;
    if let Ok(n) = s.parse::<i32>() {
        return nix::sys::signal::Signal::try_from(n).map_err(|_| anyhow!("no signal {n}"));
    }
    let name = s.to_ascii_uppercase();
    let name = if name.starts_with("SIG") {
        name
    } else {
        format!("SIG{name}")
    };
    nix::sys::signal::Signal::from_str(&name).map_err(|_| anyhow!("no signal named {s:?}"))
}

/// The human description printed by `up` and `status`.
fn describe(lab: &Lab) -> Result<String> {
    let st = lab.state()?;
    let spec = lab.spec();
    let mut o = String::new();
    writeln!(o, "lab {}  ({})", lab.prefix(), owner_text(st.owner))?;
    writeln!(o, "directory {}", lab.dir().display())?;
    for b in 0..spec.bridges {
        writeln!(
            o,
            "bridge br{b}: {}/{IPV4_PREFIX_LEN}  {}/{IPV6_PREFIX_LEN}",
            node_ipv4(b, 0),
            node_ipv6(b, 0)
        )?;
    }
    writeln!(o)?;
    let mut rows = vec![
        std::iter::once("HOST".to_owned())
            .chain((0..spec.bridges).map(|b| format!("eth{b}")))
            .collect::<Vec<_>>(),
    ];
    for node in spec.nodes() {
        let host = match node.kind {
            halo_lab::NodeKind::Host => lab.host(node.name)?,
            halo_lab::NodeKind::Ping => lab.ping_host(node.name)?,
        };
        let mut row = vec![node.name.to_owned()];
        for b in 0..spec.bridges {
            row.push(match (host.ipv4(b), host.ipv6(b)) {
                (Ok(v4), Ok(v6)) => format!("{v4} {v6}"),
                _ => "-".to_owned(),
            });
        }
        if node.kind == halo_lab::NodeKind::Ping {
            row.push("(ping host)".to_owned());
        }
        rows.push(row);
    }
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        writeln!(o, "{}", line.join("  ").trim_end())?;
    }
    if !spec.serial.is_empty() {
        writeln!(o)?;
        for s in lab.serial_links() {
            writeln!(
                o,
                "serial {}: {}:{} <-> {}:{}",
                s.index,
                s.a,
                s.device_a.display(),
                s.b,
                s.device_b.display()
            )?;
        }
    }
    writeln!(o)?;
    let f = &st.faults;
    if f.is_empty() {
        writeln!(o, "faults: none")?;
    } else {
        writeln!(o, "faults:")?;
        for p in &f.cut {
            writeln!(o, "  cut {} from br{}", p.node, p.bridge)?;
        }
        for w in &f.one_way {
            writeln!(
                o,
                "  one-way {} -> {} dropped on br{}",
                w.from, w.to, w.bridge
            )?;
        }
        if !f.partition.is_empty() {
            let groups: Vec<String> = f.partition.iter().map(|g| g.join(",")).collect();
            writeln!(o, "  partition {}", groups.join(" | "))?;
        }
        for l in &f.loss {
            let pct = f64::from(l.per_10k) / 100.0;
            let target = match &l.target {
                LossTarget::Node(n) => format!("{n} (all ports)"),
                LossTarget::Port(p) => format!("{} on br{}", p.node, p.bridge),
                LossTarget::Bridge(b) => format!("br{b}"),
            };
            writeln!(o, "  loss {pct}% at {target}")?;
        }
        for c in &f.serial_cut {
            let s = &spec.serial[c.link];
            let (from, to) = if c.to_b { (&s.a, &s.b) } else { (&s.b, &s.a) };
            writeln!(o, "  serial {} cut {from} -> {to}", c.link)?;
        }
    }
    let running: Vec<_> = st
        .procs
        .iter()
        .filter(|p| {
            halo_lab::state::Owner {
                pid: p.pid,
                start_time: p.start_time,
            }
            .alive()
        })
        .collect();
    if !running.is_empty() {
        writeln!(o, "\nprocesses started with `exec -d`:")?;
        for p in running {
            writeln!(
                o,
                "  {:>7} {:<10} {}  (log {})",
                p.pid,
                p.host,
                p.command,
                p.log.display()
            )?;
        }
    }
    writeln!(
        o,
        "\nenter a host: halo-lab --lab {} exec {} -- bash",
        lab.prefix(),
        spec.hosts.first().map_or("HOST", |h| h.name.as_str())
    )?;
    Ok(o)
}
