//! `halod`, the halo node daemon.
//!
//! A thin I/O shell around the pure engines: it reads the configuration, opens the
//! media, runs the failure detector and the messaging engine on one single-threaded
//! event loop (so the heartbeat path never waits on a lock), and serves the local API.
//!
//! ```text
//!  media readers ──▶ ┐
//!  ping replies  ──▶ ├─▶ core loop (node.rs) ──▶ media senders (never block)
//!  API calls     ──▶ ┤        │    ▲ memberships, CIB/CRM messages, lease
//!  timer, signals──▶ ┘        │    ▼ messages to send
//!                             │  crm thread (crm/): halo_crm engine, LRM (agents),
//!  API resource/CIB calls ────┼─▶ CIB on disk, policy engine runs
//!                             └─▶ events ─▶ API watchers, log
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

mod api;
mod crm;
mod logging;
mod media;
mod node;
mod persist;
mod ping;
mod realtime;
mod serial;
mod state;

/// halod — the halo node daemon.
///
/// Reads ha.cf and authkeys from the configuration directory, joins the cluster over
/// the media ha.cf lists, and serves the local API (`halo status`, `halo watch`, …) on
/// a UNIX socket in the run directory. SIGTERM leaves the cluster cleanly.
#[derive(Debug, Parser)]
#[command(name = "halod", version)]
pub struct Args {
    /// Directory holding ha.cf, authkeys and (optionally) haresources.
    #[arg(long, default_value = "/etc/ha.d", value_name = "DIR")]
    pub config_dir: PathBuf,

    /// Directory for persistent state (the generation number, histories).
    #[arg(long, default_value = "/var/lib/halo", value_name = "DIR")]
    pub state_dir: PathBuf,

    /// Directory for the control socket and the pid file.
    #[arg(long, default_value = "/run/halo", value_name = "DIR")]
    pub run_dir: PathBuf,

    /// This node's name, as listed in ha.cf's `node` lines [default: uname -n].
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,

    /// Stay in the foreground and also log to stderr (halod never forks itself; run it
    /// under a service manager or with `&`).
    #[arg(long, short = 'f')]
    pub foreground: bool,

    /// Check the configuration, print what would run, and exit.
    #[arg(long)]
    pub check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("halod: error: {e:#}");
            tracing::error!("halod: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The node name: `--node`, else `uname -n`.
fn node_name(args: &Args) -> anyhow::Result<String> {
    match &args.node {
        Some(n) => Ok(n.clone()),
        None => Ok(nix::sys::utsname::uname()
            .context("cannot read the host name (uname)")?
            .nodename()
            .to_string_lossy()
            .into_owned()),
    }
}

fn load_config(args: &Args) -> anyhow::Result<halo_config::Config> {
    let name = node_name(args)?;
    let uid = nix::unistd::geteuid().as_raw();
    halo_config::load_dir(&args.config_dir, &name, uid).map_err(|errors| {
        // Every problem, one per line, each naming file, line and directive.
        anyhow::anyhow!(
            "configuration in {} is not valid; halod does not start:\n{errors}",
            args.config_dir.display()
        )
    })
}

fn log_settings(config: &halo_config::Config, foreground: bool) -> logging::LogSettings {
    let l = &config.ha_cf.logging;
    logging::LogSettings {
        logfile: l.logfile.clone(),
        debugfile: l.debugfile.clone(),
        syslog_facility: l
            .facility
            .filter(|f| *f != halo_config::hacf::LogFacility::None)
            .map(|f| f.name()),
        debug: u32::from(l.debug),
        stderr: foreground,
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = load_config(&args)?;
    if args.check {
        return check(&config);
    }
    let (_log_guard, log_drops) = logging::init(&log_settings(&config, args.foreground))?;
    for notice in &config.notices {
        match notice.severity {
            halo_config::Severity::Warning => tracing::warn!("{notice}"),
            _ => tracing::info!("{notice}"),
        }
    }
    let _pid = state::PidFile::acquire(&args.run_dir)?;
    let generation = state::next_generation(&args.state_dir)?;
    if config.ha_cf.realtime {
        for problem in realtime::enable() {
            tracing::warn!("realtime: {problem}; running without it");
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(4)
        .thread_stack_size(256 * 1024)
        .build()
        .context("cannot start the event loop")?;
    runtime.block_on(serve(args, config, generation, log_drops))
}

async fn serve(
    args: Args,
    config: halo_config::Config,
    generation: halo_types::Generation,
    log_drops: logging::LogDrops,
) -> anyhow::Result<()> {
    let (packet_tx, packets) = tokio::sync::mpsc::channel(1024);
    let (ping_tx, pings) = tokio::sync::mpsc::channel(256);
    let (call_tx, calls) = tokio::sync::mpsc::channel(64);
    let (events, _) = tokio::sync::broadcast::channel(1024);
    let (messages, _) = tokio::sync::broadcast::channel(1024);
    let media = media::Media::open(&node::medium_specs(&config), packet_tx)?;
    let ping_targets: Vec<std::net::IpAddr> = config
        .ha_cf
        .ping_nodes
        .iter()
        .map(|p| p.value)
        .chain(
            config
                .ha_cf
                .ping_groups
                .iter()
                .flat_map(|g| g.addrs.iter().copied()),
        )
        .collect();
    let pinger = if ping_targets.is_empty() {
        None
    } else {
        Some(ping::Pinger::open(&ping_targets, ping_tx)?)
    };
    let (to_crm, from_core) = tokio::sync::mpsc::unbounded_channel();
    let (to_core, from_crm) = tokio::sync::mpsc::channel(1024);
    let crm = crm::start(
        crm_settings(&args, &config, generation)?,
        from_core,
        to_core,
        events.clone(),
    )?;
    let socket = args.run_dir.join("halod.sock");
    api::serve(
        &socket,
        api::ApiContext {
            calls: call_tx,
            crm: Some(crm.calls.clone()),
            events: events.clone(),
            messages: messages.clone(),
            readonly_anyone: config.ha_cf.api_read_anyone,
        },
    )?;
    let persister = persist::Persister::start()?;
    let node_state = node::NodeState0 {
        state_dir: args.state_dir.clone(),
        last_membership_seq: node::last_membership_seq(&args.state_dir)?,
        persister: persister.clone(),
    };
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).context("no randomness available")?;
    let node = node::Node::new(
        &config,
        generation,
        media,
        pinger,
        events,
        messages,
        log_drops,
        u64::from_le_bytes(seed),
        node_state,
    )?;
    let result = node
        .run(node::Inputs {
            packets,
            pings,
            calls,
            crm: Some(node::CrmLink {
                tx: to_crm,
                rx: from_crm,
            }),
        })
        .await;
    let _ = std::fs::remove_file(&socket);
    // The core has hung up: the resource manager cancels its monitors and ends.
    crm.join();
    // State written behind the loop reaches the disk before we exit.
    persister.finish();
    result
}

/// The resource manager's settings from the configuration, with the start-up warnings
/// (logged here, and repeated in `halo status`).
fn crm_settings(
    args: &Args,
    config: &halo_config::Config,
    generation: halo_types::Generation,
) -> anyhow::Result<crm::Settings> {
    use halo_config::hacf::{AutoFailback as Af, Pacemaker};
    let h = &config.ha_cf;
    let nodes = h.node_names();
    let auto_failback = match (&h.later.auto_failback, &h.later.nice_failback) {
        (Some(a), _) => match a.value {
            Af::On => halo_cib::haresources::AutoFailback::On,
            Af::Off => halo_cib::haresources::AutoFailback::Off,
            Af::Legacy => halo_cib::haresources::AutoFailback::Legacy,
        },
        // heartbeat read nice_failback on as auto_failback off.
        (None, Some(n)) if n.value => halo_cib::haresources::AutoFailback::Off,
        _ => halo_cib::haresources::AutoFailback::Legacy,
    };
    let no_quorum_policy = h.quorum.no_quorum_policy.as_str().to_string();
    let import = crm::ImportSettings {
        nodes: nodes.clone(),
        auto_failback,
        no_quorum_policy: no_quorum_policy.clone(),
        resource_d: args.config_dir.join("resource.d"),
        init_d: std::path::PathBuf::from("/etc/init.d"),
    };
    let crm_on = h
        .later
        .pacemaker
        .as_ref()
        .is_some_and(|p| p.value != Pacemaker::Off);
    let mut warnings = Vec::new();
    let haresources = match (&config.haresources, crm_on) {
        (Some(_), true) => {
            warnings.push(format!(
                "{} is ignored: `crm`/`pacemaker` is on in ha.cf, so the CIB is the \
                 configuration (load it with `halo configure load`)",
                args.config_dir.join("haresources").display()
            ));
            None
        }
        (Some(hr), false) => {
            let path = args.config_dir.join("haresources");
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let groups: Vec<halo_cib::haresources::HaGroup> =
                hr.groups.iter().map(Into::into).collect();
            let init_scripts = groups
                .iter()
                .flat_map(|g| g.resources.iter())
                .filter(|r| r.args.is_empty() && import.is_init_script(&r.script))
                .map(|r| r.script.clone())
                .collect();
            Some(halo_crm::Haresources {
                groups,
                auto_failback,
                init_scripts,
                no_quorum_policy: Some(no_quorum_policy.clone()),
                digest: haresources_digest(&bytes, auto_failback, &no_quorum_policy),
            })
        }
        (None, _) => None,
    };
    warnings.push(
        "fencing is not implemented yet (fencing-enabled=false): a node that stops \
         responding is assumed down; its resource lease stops its resources before the \
         others recover them, assuming clocks run at the same rate and stops finish \
         within 2 x keepalive; if halod itself dies (killed, crashed) while the node stays \
         up, its resources keep running there until halod restarts and stops the extra \
         copy"
            .to_string(),
    );
    if nodes.len() == 2 {
        warnings.push(if h.quorum.two_node {
            "two-node cluster with two_node on and no fencing: if the two nodes lose \
             sight of each other, both keep quorum and both run the resources (split \
             brain). This is a documented risk until fencing lands: use redundant links"
                .to_string()
        } else {
            "two-node cluster without two_node: if the two nodes lose sight of each other, \
             neither has quorum and both stop their resources (no-quorum-policy)"
                .to_string()
        });
    }
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let mut engine = halo_crm::Config::new(config.local_node.clone(), nodes);
    engine.generation = generation.0;
    engine.haresources = haresources;
    Ok(crm::Settings {
        engine,
        state_dir: args.state_dir.clone(),
        config_dir: args.config_dir.clone(),
        import,
        warnings,
    })
}

/// A digest of the `haresources` file and the `ha.cf` settings imported with it: every
/// node must have the same (the DC compares them in the join round), and a change of
/// either imports the file again.
fn haresources_digest(
    bytes: &[u8],
    auto_failback: halo_cib::haresources::AutoFailback,
    no_quorum_policy: &str,
) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(bytes);
    h.update(format!(
        "\nauto_failback={auto_failback:?}\nno_quorum_policy={no_quorum_policy}\n"
    ));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `--check`: the configuration is valid; say what would run.
fn check(config: &halo_config::Config) -> anyhow::Result<()> {
    let h = &config.ha_cf;
    println!(
        "configuration OK for node {} in cluster {}",
        config.local_node, h.cluster
    );
    println!(
        "timing: keepalive {:?}, warntime {:?}, deadtime {:?}, initdead {:?}",
        h.timing.keepalive, h.timing.warntime, h.timing.deadtime, h.timing.initdead
    );
    println!("links: {}", h.link_names().join(", "));
    let nodes: Vec<String> = h.node_names().iter().map(|n| n.to_string()).collect();
    println!("nodes: {}", nodes.join(", "));
    for n in &config.notices {
        println!("notice: {n}");
    }
    Ok(())
}
