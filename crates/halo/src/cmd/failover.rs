//! `halo standby` and `halo takeover`: heartbeat's `hb_standby` and `hb_takeover`.
//!
//! heartbeat's meaning of the scope, relative to the node the command runs on:
//! `local` is the groups whose preferred node (the `haresources` line's node, or the
//! highest location preference of a CIB) is this node, `foreign` the others, `all`
//! both. `standby` moves them away from this node, `takeover` brings them here. Unlike
//! heartbeat's one-shot request, the move is a constraint that stays until
//! `halo resource unmove` (or the opposite command) removes it.

use std::process::ExitCode;

use halo_ipc::{Change, Scope};

use crate::Global;
use crate::cmd::change::{self, ChangeOpts};

/// Arguments of `halo standby` / `halo takeover`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which groups: all, local (preferring this node) or foreign (preferring another).
    #[arg(value_enum, default_value = "all")]
    scope: ScopeArg,
    #[command(flatten)]
    opts: ChangeOpts,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ScopeArg {
    All,
    Local,
    Foreign,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Scope {
        match s {
            ScopeArg::All => Scope::All,
            ScopeArg::Local => Scope::Local,
            ScopeArg::Foreign => Scope::Foreign,
        }
    }
}

/// Runs `halo standby`.
pub fn standby(global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    let change = Change::Standby {
        scope: args.scope.into(),
    };
    change::send(global, change, &args.opts)
}

/// Runs `halo takeover`.
pub fn takeover(global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    let change = Change::Takeover {
        scope: args.scope.into(),
    };
    change::send(global, change, &args.opts)
}
