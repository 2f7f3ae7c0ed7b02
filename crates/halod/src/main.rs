//! `halod`, the halo node daemon.
//!
//! A thin I/O shell around the pure engines: it reads the configuration, opens the
//! media, runs the failure detector and the messaging engine on one single-threaded
//! event loop (so the heartbeat path never waits on a lock), and serves the local API.
//!
//! ```text
//!  media readers ──▶ ┐
//!  ping replies  ──▶ ├─▶ core loop (node.rs) ──▶ media senders (never block)
//!  API calls     ──▶ ┤        │
//!  timer, signals──▶ ┘        └─▶ events ─▶ API watchers, log
//! ```

// The core loop that uses these modules lands with the engines; until then they are
// exercised by their unit tests only.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

mod api;
mod logging;
mod media;
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

fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("halod's core is not wired yet")
}
