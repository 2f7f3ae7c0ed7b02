//! `halo cl_status`: heartbeat's `cl_status` queries, with its output and exit codes, so
//! that scripts written for heartbeat keep working.
//!
//! | query | prints | exit code |
//! | --- | --- | --- |
//! | `hbstatus` | `Heartbeat is running on this machine.` | 0 running, 1 stopped |
//! | `listnodes [-p\|-n]` | one node per line (`-p` ping nodes only, `-n` normal only) | 0 |
//! | `nodestatus NODE` | `init`, `up`, `active`, `dead` or `ping` | 0 for active/up/ping, 1 otherwise |
//! | `nodetype NODE` | `normal` or `ping` | 0 |
//! | `listhblinks NODE` | one link per line | 0 |
//! | `hblinkstatus NODE LINK` | `up` or `dead` | 0 |

use std::process::ExitCode;

use halo_ipc::{NodeKind, NodeStatus, Status};
use halo_types::NodeState;

use crate::Global;

/// Arguments of `halo cl_status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    query: Query,
}

#[derive(Debug, clap::Subcommand)]
enum Query {
    /// Whether halod runs on this machine.
    Hbstatus,
    /// List the nodes.
    Listnodes {
        /// Ping nodes only.
        #[arg(short = 'p', conflicts_with = "normal")]
        ping: bool,
        /// Normal nodes only.
        #[arg(short = 'n')]
        normal: bool,
    },
    /// A node's state.
    Nodestatus {
        /// The node.
        node: String,
    },
    /// A node's type: normal or ping.
    Nodetype {
        /// The node.
        node: String,
    },
    /// The links to a node.
    Listhblinks {
        /// The node.
        node: String,
    },
    /// The state of one link to a node.
    Hblinkstatus {
        /// The node.
        node: String,
        /// The link (interface or device).
        link: String,
    },
}

fn find<'a>(s: &'a Status, name: &str) -> anyhow::Result<&'a NodeStatus> {
    let lower = name.to_ascii_lowercase();
    s.nodes
        .iter()
        .find(|n| n.name == lower)
        .ok_or_else(|| anyhow::anyhow!("{name} is not a node of this cluster"))
}

/// Runs `halo cl_status`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    let fetch = || crate::cmd::status::fetch(global);
    match args.query {
        Query::Hbstatus => Ok(if fetch().is_ok() {
            println!("Heartbeat is running on this machine.");
            ExitCode::SUCCESS
        } else {
            println!("Heartbeat is stopped on this machine.");
            ExitCode::FAILURE
        }),
        Query::Listnodes { ping, normal } => {
            for n in &fetch()?.nodes {
                let keep = match n.kind {
                    NodeKind::Ping => !normal,
                    NodeKind::Normal => !ping,
                };
                if keep {
                    println!("{}", n.name);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Query::Nodestatus { node } => {
            let s = fetch()?;
            let n = find(&s, &node)?;
            println!("{}", n.state);
            Ok(
                if matches!(n.state, NodeState::Active | NodeState::Up | NodeState::Ping) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                },
            )
        }
        Query::Nodetype { node } => {
            let s = fetch()?;
            let n = find(&s, &node)?;
            println!(
                "{}",
                match n.kind {
                    NodeKind::Normal => "normal",
                    NodeKind::Ping => "ping",
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Query::Listhblinks { node } => {
            let s = fetch()?;
            for l in &find(&s, &node)?.links {
                println!("{}", l.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        Query::Hblinkstatus { node, link } => {
            let s = fetch()?;
            let n = find(&s, &node)?;
            let l = n
                .links
                .iter()
                .find(|l| l.name == link)
                .ok_or_else(|| anyhow::anyhow!("{node} has no link named {link}"))?;
            println!("{}", l.state);
            Ok(ExitCode::SUCCESS)
        }
    }
}
