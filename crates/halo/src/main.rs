//! `halo`, the administrator's command.
//!
//! Parse first, decide second: `clap` turns the command line into [`Cli`], each
//! subcommand lives in its own module under `cmd/`, and exit codes are decided here in
//! one place: 0 success, 1 failure (message on stderr), 2 usage (clap's own).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod client;
mod cmd;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// halo — high-availability cluster manager.
///
/// `halo` talks to the local `halod` over a UNIX socket (`$HALO_SOCKET`, default
/// /run/halo/halod.sock). Commands that show state accept `--json` for scripts.
#[derive(Debug, Parser)]
#[command(name = "halo", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// The local halod's control socket.
    #[arg(
        long,
        global = true,
        env = "HALO_SOCKET",
        default_value = "/run/halo/halod.sock"
    )]
    socket: PathBuf,
}

/// What every subcommand may need from the global options.
#[derive(Debug)]
pub struct Global {
    /// The local halod's control socket.
    pub socket: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a working configuration directory (ha.cf, authkeys) with a fresh key.
    Init(cmd::init::Args),
    /// Show this node, its peers and their links, membership and resources.
    Status(cmd::status::Args),
    /// List the nodes (and ping nodes) with their states.
    Nodes(cmd::status::Args),
    /// List every link to every node with its state.
    Links(cmd::status::Args),
    /// Show the recent memberships this node installed, and why each changed.
    Membership(cmd::membership::Args),
    /// Stream node, link, membership and resource events (transitions, actions,
    /// failures) as they happen.
    Watch(cmd::watch::Args),
    /// Send a message to one node or to all members.
    Send(cmd::message::SendArgs),
    /// Print messages sent with `halo send` as they arrive.
    Listen(cmd::message::ListenArgs),
    /// Simulate the policy engine on a CIB file (like crm_simulate).
    Sim(cmd::sim::Args),
    /// List, describe and run resource agents on this machine.
    Agent(cmd::agent::Args),
    /// Show the local resource manager's operation history.
    Lrm(cmd::lrm::Args),
    /// List resources; start, stop, move, unmove, clean up or restart one.
    #[command(after_help = RESOURCE_EXAMPLES)]
    Resource(cmd::resource::Args),
    /// Put a node in standby, online again, or in maintenance.
    #[command(after_help = NODE_EXAMPLES)]
    Node(cmd::node::Args),
    /// Show, edit or load the cluster's configuration (CIB XML or haresources).
    #[command(after_help = CONFIGURE_EXAMPLES)]
    Configure(cmd::configure::Args),
    /// heartbeat's hb_standby: move groups away from this node (all, local or foreign).
    /// heartbeat's cl_status queries (hbstatus, listnodes, nodestatus, nodetype,
    /// listhblinks, hblinkstatus), with its output and exit codes.
    #[command(name = "cl_status", alias = "cl-status")]
    ClStatus(cmd::cl_status::Args),
    #[command(alias = "hb_standby")]
    Standby(cmd::failover::Args),
    /// heartbeat's hb_takeover: bring groups to this node (all, local or foreign).
    #[command(alias = "hb_takeover")]
    Takeover(cmd::failover::Args),
}

const RESOURCE_EXAMPLES: &str = "Examples:
  halo resource list                       what runs where
  halo resource move web node2             run group web on node2 (until unmove)
  halo resource move web                   move it away from the node it runs on
  halo resource unmove web                 let the configuration decide again
  halo resource stop db; halo resource start db
  halo resource cleanup db --node node3    forget db's failures on node3

Every change goes to the DC, is validated by the policy engine and is committed only when \
valid; the command returns once every member has it. A refused change prints the reason and \
exits with status 1.";

const NODE_EXAMPLES: &str = "Examples:
  halo node standby node2        move everything off node2 (e.g. before maintenance)
  halo node online node2         let it run resources again
  halo node maintenance          leave this node's resources alone (not monitored, not moved)
  halo node maintenance --off";

const CONFIGURE_EXAMPLES: &str = "Examples:
  halo configure show > cib.xml
  halo configure load cib.xml                 a Pacemaker-style CIB
  halo configure load /etc/ha.d/haresources   a heartbeat-1 haresources file
  halo configure edit                         in $VISUAL or $EDITOR, then load";

/// Restores the default action of SIGPIPE, so that `halo status | head` ends quietly
/// like any Unix tool instead of failing on a closed pipe.
fn default_sigpipe() {
    // SAFETY: called first thing in main, before any thread exists; `signal` with
    // SIG_DFL installs no handler code, it only resets the disposition.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    default_sigpipe();
    let cli = Cli::parse();
    let global = Global { socket: cli.socket };
    let result = match cli.command {
        Command::Init(a) => cmd::init::run(&global, a),
        Command::Status(a) => cmd::status::run(&global, a, cmd::status::View::Status),
        Command::Nodes(a) => cmd::status::run(&global, a, cmd::status::View::Nodes),
        Command::Links(a) => cmd::status::run(&global, a, cmd::status::View::Links),
        Command::Watch(a) => cmd::watch::run(&global, a),
        Command::ClStatus(a) => cmd::cl_status::run(&global, a),
        Command::Membership(a) => cmd::membership::run(&global, a),
        Command::Send(a) => cmd::message::send(&global, a),
        Command::Listen(a) => cmd::message::listen(&global, a),
        Command::Sim(a) => cmd::sim::run(&global, a),
        Command::Agent(a) => cmd::agent::run(&global, a),
        Command::Lrm(a) => cmd::lrm::run(&global, a),
        Command::Resource(a) => cmd::resource::run(&global, a),
        Command::Node(a) => cmd::node::run(&global, a),
        Command::Configure(a) => cmd::configure::run(&global, a),
        Command::Standby(a) => cmd::failover::standby(&global, a),
        Command::Takeover(a) => cmd::failover::takeover(&global, a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("halo: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
