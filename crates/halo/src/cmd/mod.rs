//! One module per subcommand. Each exposes `Args` (clap) and
//! `run(&Global, Args) -> anyhow::Result<ExitCode>`.

pub mod agent;
pub mod change;
pub mod cl_status;
pub mod configure;
pub mod failover;
pub mod init;
pub mod lrm;
pub mod membership;
pub mod message;
pub mod node;
pub mod resource;
pub mod sim;
pub mod status;
pub mod watch;
