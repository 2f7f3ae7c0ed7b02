//! Sending a configuration change to halod, and printing its answer.
//!
//! Every change goes to the DC, which applies it to a copy of the CIB, has the policy
//! engine validate it, commits it only when valid and answers once every member has
//! it. A refusal comes back with its reason: printed on stderr, exit status 1.

use std::process::ExitCode;

use halo_ipc::{Change, Reply, Request};

use crate::Global;
use crate::client;

/// Options every changing command has.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeOpts {
    /// Print the answer as JSON (`{"message": …}`).
    #[arg(long)]
    pub json: bool,
}

/// Sends `change` and prints the outcome.
pub fn send(global: &Global, change: Change, opts: &ChangeOpts) -> anyhow::Result<ExitCode> {
    let reply = client::call(&global.socket, &Request::Change { change })?.0;
    match reply {
        Reply::Done { message } => {
            if opts.json {
                println!("{}", serde_json::json!({ "message": message }));
            } else {
                println!("{message}");
            }
            Ok(ExitCode::SUCCESS)
        }
        other => anyhow::bail!("unexpected reply from halod: {other:?}"),
    }
}
