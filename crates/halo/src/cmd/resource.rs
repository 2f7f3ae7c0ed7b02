//! `halo resource`: list resources and tell the cluster what to do with them.

use std::process::ExitCode;

use halo_ipc::Change;
use halo_types::NodeName;

use crate::Global;
use crate::cmd::change::{self, ChangeOpts};

/// Arguments of `halo resource`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List every resource with its agent, role and node.
    List {
        /// Print the list as JSON (`resources[]` of `halo status --json`).
        #[arg(long)]
        json: bool,
    },
    /// Let a stopped resource run again (removes its target-role).
    ///
    /// The policy engine then starts it where the constraints prefer.
    Start {
        /// The resource: a primitive, group or clone id.
        id: String,
        #[command(flatten)]
        opts: ChangeOpts,
    },
    /// Stop a resource everywhere and keep it stopped (target-role=Stopped).
    ///
    /// It stays stopped across failures and restarts until `halo resource start`.
    Stop {
        /// The resource.
        id: String,
        #[command(flatten)]
        opts: ChangeOpts,
    },
    /// Stop a resource everywhere, wait until it is stopped, start it again.
    Restart {
        /// The resource.
        id: String,
        #[command(flatten)]
        opts: ChangeOpts,
    },
    /// Move a resource to NODE, or away from where it runs when no node is given.
    ///
    /// A move is a constraint (`cli-prefer-ID` on NODE, or `cli-ban-ID-on-NODE`, as
    /// Pacemaker's crm_resource writes them): it stays until `halo resource unmove`.
    Move {
        /// The resource.
        id: String,
        /// Where to run it.
        node: Option<NodeName>,
        #[command(flatten)]
        opts: ChangeOpts,
    },
    /// Remove the constraints of earlier moves, standbys and takeovers of a resource.
    Unmove {
        /// The resource.
        id: String,
        #[command(flatten)]
        opts: ChangeOpts,
    },
    /// Forget failures (fail counts, failed operations) so the resource may run again
    /// where it failed; it is probed anew.
    Cleanup {
        /// The resource [default: every resource].
        id: Option<String>,
        /// Only on this node [default: every node].
        #[arg(long)]
        node: Option<NodeName>,
        #[command(flatten)]
        opts: ChangeOpts,
    },
}

/// Runs `halo resource`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    let (change, opts) = match args.command {
        Command::List { json } => return list(global, json),
        Command::Start { id, opts } => (Change::ResourceStart { id }, opts),
        Command::Stop { id, opts } => (Change::ResourceStop { id }, opts),
        Command::Restart { id, opts } => (Change::ResourceRestart { id }, opts),
        Command::Move { id, node, opts } => (Change::ResourceMove { id, node }, opts),
        Command::Unmove { id, opts } => (Change::ResourceUnmove { id }, opts),
        Command::Cleanup { id, node, opts } => (Change::ResourceCleanup { id, node }, opts),
    };
    change::send(global, change, &opts)
}

fn list(global: &Global, json: bool) -> anyhow::Result<ExitCode> {
    let status = crate::cmd::status::fetch(global)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status.resources)?);
    } else {
        print!("{}", crate::cmd::status::render_resources(&status));
    }
    Ok(ExitCode::SUCCESS)
}
