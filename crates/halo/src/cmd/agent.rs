//! `halo agent`.

use std::process::ExitCode;

use crate::Global;

/// Arguments of `halo agent`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `halo agent`.
pub fn run(_global: &Global, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'halo agent' is not implemented yet")
}
