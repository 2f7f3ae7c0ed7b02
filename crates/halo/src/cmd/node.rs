//! `halo node`: standby, online and maintenance of a node.

use std::process::ExitCode;

use halo_ipc::Change;
use halo_types::NodeName;

use crate::Global;
use crate::cmd::change::{self, ChangeOpts};

/// Arguments of `halo node`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Put a node in standby: its resources move elsewhere and it runs none until
    /// `halo node online` (node attribute standby=on).
    Standby {
        /// The node [default: this node].
        node: Option<NodeName>,
        #[command(flatten)]
        opts: ChangeOpts,
    },
    /// Take a node out of standby: it may run resources again.
    Online {
        /// The node [default: this node].
        node: Option<NodeName>,
        #[command(flatten)]
        opts: ChangeOpts,
    },
    /// Put a node in maintenance (or out of it with --off): its resources are left
    /// alone — not monitored, not stopped, not started — while you work on them.
    Maintenance {
        /// The node [default: this node].
        node: Option<NodeName>,
        /// End the maintenance.
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        opts: ChangeOpts,
    },
}

/// Runs `halo node`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    let (change, opts) = match args.command {
        Command::Standby { node, opts } => (Change::NodeStandby { node }, opts),
        Command::Online { node, opts } => (Change::NodeOnline { node }, opts),
        Command::Maintenance { node, off, opts } => {
            (Change::NodeMaintenance { node, on: !off }, opts)
        }
    };
    change::send(global, change, &opts)
}
