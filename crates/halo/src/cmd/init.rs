//! `halo init`.

use std::process::ExitCode;

use crate::Global;

/// Arguments of `halo init`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `halo init`.
pub fn run(_global: &Global, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'halo init' is not implemented yet")
}
