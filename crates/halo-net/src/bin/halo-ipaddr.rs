//! `halo-ipaddr`: the `ocf:halo:IPaddr` resource agent.
//!
//! `halo-ipaddr ACTION` with parameters in `OCF_RESKEY_*`, exit code per OCF; see
//! `halo_net::agent`. Installed as `/usr/lib/ocf/resource.d/halo/IPaddr` (a symlink).
//! `halo-ipaddr announce` is internal: the detached sender of the announcements after the
//! first.

use std::io::IsTerminal;
use std::process::ExitCode;

use halo_net::Net;
use halo_net::agent::{self, Action, OcfRc, Options, Params};

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HALO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .init();

    let arg = std::env::args().nth(1).unwrap_or_default();
    let code = match run(&arg) {
        Ok(rc) => rc,
        Err(e) => {
            eprintln!("ocf-exit-reason:{e:#}");
            OcfRc::ErrGeneric.code()
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn run(arg: &str) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if arg == "announce" {
        return runtime.block_on(async {
            let net = Net::open()?;
            let sent = agent::announce_detached_main(&net)
                .await
                .map_err(anyhow::Error::msg)?;
            tracing::debug!(sent, "announcer done");
            Ok(0)
        });
    }
    let Some(action) = Action::parse(arg) else {
        eprint!("{}", agent::usage());
        eprintln!("ocf-exit-reason:unknown action {arg:?}");
        return Ok(OcfRc::ErrUnimplemented.code());
    };
    let outcome = match agent::offline(action) {
        // meta-data and usage open no socket (ocf-tester runs meta-data as nobody).
        Some(o) => o,
        None => {
            let params = Params::from_env();
            let options = Options {
                detach: std::env::current_exe().ok(),
            };
            let outcome = runtime.block_on(async {
                let net = match action {
                    Action::Start => Net::open()?,
                    _ => Net::open_without_announcements()?,
                };
                anyhow::Ok(agent::run(&net, action, &params, &options).await)
            });
            outcome?
        }
    };
    if let Some(out) = &outcome.stdout {
        print!("{out}");
        if !out.ends_with('\n') {
            println!();
        }
    }
    if let Some(reason) = &outcome.reason {
        if outcome.rc == OcfRc::Success {
            tracing::info!("{reason}");
        } else {
            eprintln!("ocf-exit-reason:{reason}");
        }
    }
    Ok(outcome.rc.code())
}
