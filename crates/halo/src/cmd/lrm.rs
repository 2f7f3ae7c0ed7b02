//! `halo lrm`.

use std::process::ExitCode;

use crate::Global;

/// Arguments of `halo lrm`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `halo lrm`.
pub fn run(_global: &Global, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("'halo lrm' is not implemented yet")
}
