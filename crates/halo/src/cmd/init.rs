//! `halo init`: write a working configuration directory with a fresh random key.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use halo_config::init::{InitMedium, InitOptions, TimingPreset};
use halo_types::{ClusterName, NodeName};

use crate::Global;

/// Arguments of `halo init`.
///
/// Writes ha.cf and authkeys (mode 0600, a fresh 256-bit sha256 key) for a cluster of
/// the given nodes. Copy the same two files to every node (the key must match). Example:
///
///   halo init --nodes alpha,beta,gamma --bcast eth0 --bcast eth1
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Where to write ha.cf and authkeys.
    #[arg(long, default_value = "/etc/ha.d", value_name = "DIR")]
    pub dir: PathBuf,

    /// Every cluster node, comma-separated, as `uname -n` names them.
    #[arg(long, value_delimiter = ',', required = true, value_name = "NODES")]
    pub nodes: Vec<NodeName>,

    /// Heartbeat by UDP broadcast on this interface (repeat for redundant links).
    #[arg(long, value_name = "IFACE")]
    pub bcast: Vec<String>,

    /// Heartbeat by UDP unicast on IFACE to each ADDR, e.g. `eth0=10.0.0.1,10.0.0.2`
    /// (list every node's address; one file then serves all nodes). Repeatable.
    #[arg(long, value_name = "IFACE=ADDR,…")]
    pub ucast: Vec<String>,

    /// Heartbeat by IPv4 multicast, e.g. `eth0=239.0.0.1:694` (TTL 1). Repeatable.
    #[arg(long, value_name = "IFACE=GROUP:PORT")]
    pub mcast: Vec<String>,

    /// The cluster's name (packets of other clusters are dropped).
    #[arg(long, default_value = "default")]
    pub cluster: ClusterName,

    /// Timing preset: standard (keepalive 200 ms, deadtime 2 s), fast (100 ms / 500 ms),
    /// fastest (10 ms / 40 ms, dedicated network), heartbeat (1 s / 30 s).
    #[arg(long, default_value = "standard", value_name = "PRESET")]
    pub timing: TimingPreset,

    /// UDP port for bcast and ucast [default: 694].
    #[arg(long, value_name = "PORT")]
    pub udpport: Option<u16>,

    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

fn media(args: &Args) -> anyhow::Result<Vec<InitMedium>> {
    let mut media: Vec<InitMedium> = args
        .bcast
        .iter()
        .map(|i| InitMedium::Bcast { iface: i.clone() })
        .collect();
    for u in &args.ucast {
        let (iface, addrs) = u
            .split_once('=')
            .with_context(|| format!("--ucast {u:?}: expected IFACE=ADDR[,ADDR…]"))?;
        let peers = addrs
            .split(',')
            .map(|a| {
                a.trim()
                    .parse::<IpAddr>()
                    .with_context(|| format!("--ucast {iface}: {a:?} is not an IP address"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        media.push(InitMedium::Ucast {
            iface: iface.to_string(),
            peers,
        });
    }
    for m in &args.mcast {
        let parsed = m.split_once('=').and_then(|(iface, rest)| {
            let (group, port) = rest.split_once(':')?;
            Some((
                iface,
                group.parse::<Ipv4Addr>().ok()?,
                port.parse::<u16>().ok()?,
            ))
        });
        let Some((iface, group, port)) = parsed else {
            bail!("--mcast {m:?}: expected IFACE=GROUP:PORT, e.g. eth0=239.0.0.1:694");
        };
        media.push(InitMedium::Mcast {
            iface: iface.to_string(),
            group,
            port,
            ttl: 1,
        });
    }
    if media.is_empty() {
        bail!("no medium given: use --bcast IFACE, --ucast IFACE ADDR… or --mcast …");
    }
    Ok(media)
}

/// Runs `halo init`.
pub fn run(_global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    let opts = InitOptions {
        cluster: args.cluster.clone(),
        nodes: args.nodes.clone(),
        media: media(&args)?,
        timing: args.timing,
        udpport: args.udpport,
    };
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).context("no randomness available for the key")?;
    let rendered = halo_config::init::render(&opts, &key)?;
    key.fill(0);
    let written = halo_config::init::write(&args.dir, &rendered, args.force)?;
    for p in &written {
        println!("wrote {}", p.display());
    }
    println!(
        "copy {} and {} to every node, then start halod there",
        args.dir.join("ha.cf").display(),
        args.dir.join("authkeys").display()
    );
    Ok(ExitCode::SUCCESS)
}
