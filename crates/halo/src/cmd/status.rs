//! `halo status`.

use std::process::ExitCode;

use crate::Global;

/// Arguments of `halo status`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `halo status`.
pub fn run(_global: &Global, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'halo status' is not implemented yet")
}
