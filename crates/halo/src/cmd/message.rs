//! `halo send` and `halo listen`: user messages over the cluster's reliable messaging.

use std::process::ExitCode;

use halo_ipc::Request;
use halo_types::NodeName;

use crate::Global;
use crate::client;

/// Arguments of `halo send`.
#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// Send to this node only [default: every member].
    #[arg(long, value_name = "NODE")]
    pub to: Option<NodeName>,
    /// The message (words are joined with spaces).
    #[arg(required = true, value_name = "TEXT")]
    pub text: Vec<String>,
}

/// Arguments of `halo listen`.
#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// Print each message as one JSON line.
    #[arg(long)]
    pub json: bool,
}

/// Runs `halo send`.
pub fn send(global: &Global, args: SendArgs) -> anyhow::Result<ExitCode> {
    let request = Request::Send {
        to: args.to,
        body: args.text.join(" "),
    };
    client::call(&global.socket, &request)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `halo listen`.
pub fn listen(global: &Global, args: ListenArgs) -> anyhow::Result<ExitCode> {
    crate::cmd::watch::stream(global, Request::Listen, args.json)
}
