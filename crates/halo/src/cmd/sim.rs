//! `halo sim`.

use std::process::ExitCode;

use crate::Global;

/// Arguments of `halo sim`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `halo sim`.
pub fn run(_global: &Global, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'halo sim' is not implemented yet")
}
