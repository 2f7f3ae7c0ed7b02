//! One module per subcommand. Each exposes `Args` (clap) and
//! `run(&Global, Args) -> anyhow::Result<ExitCode>`.

pub mod agent;
pub mod init;
pub mod lrm;
pub mod membership;
pub mod message;
pub mod sim;
pub mod status;
pub mod watch;
