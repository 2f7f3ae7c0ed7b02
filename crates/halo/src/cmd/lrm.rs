//! `halo lrm`: the local resource manager's records.
//!
//! Asked of the running halod (its LRM holds the newest records, some perhaps not yet
//! written); when no halod runs, read from the state directory it left.

use std::fmt::Write as _;

use anyhow::Context as _;
use std::path::PathBuf;
use std::process::ExitCode;

use halo_lrm::history::{HistoryStore, ResourceHistory};
use halo_lrm::{ExecStatus, OcfRc};

use crate::Global;

/// Arguments of `halo lrm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Show each resource's operation history.
    History {
        /// Only this resource.
        resource: Option<String>,
        /// The state directory halod uses (read when no halod runs).
        #[arg(long, default_value = "/var/lib/halo")]
        state_dir: PathBuf,
        /// Read the state directory even when halod runs.
        #[arg(long)]
        offline: bool,
        /// Show the CIB status entries (last op, active recurring ops, last failure)
        /// instead of the whole log.
        #[arg(long)]
        status: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `halo lrm`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::History {
            resource,
            state_dir,
            offline,
            status,
            json,
        } => {
            if !offline && crate::client::daemon_runs(&global.socket) {
                let request = halo_ipc::Request::LrmHistory {
                    resource: resource.clone(),
                };
                let histories: Vec<ResourceHistory> =
                    match crate::client::call(&global.socket, &request)?.0 {
                        halo_ipc::Reply::LrmHistory { histories } => {
                            serde_json::from_value(histories)
                                .context("halod sent histories this halo cannot read")?
                        }
                        other => anyhow::bail!("unexpected reply from halod: {other:?}"),
                    };
                print_histories(&histories, status, json)
            } else {
                history(&state_dir, resource.as_deref(), status, json)
            }
        }
    }
}

fn history(
    state_dir: &std::path::Path,
    only: Option<&str>,
    status: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = HistoryStore::existing(state_dir);
    let mut histories = Vec::new();
    let mut damaged = Vec::new();
    for h in store.load_all()? {
        match h {
            Ok(h) if only.is_none_or(|id| id == h.resource.id) => histories.push(h),
            Ok(_) => {}
            Err(e) => damaged.push(e.to_string()),
        }
    }
    for d in &damaged {
        eprintln!("halo: warning: {d}");
    }
    if let Some(id) = only
        && histories.is_empty()
    {
        anyhow::bail!(
            "no history for resource '{id}' in {}",
            store.dir().display()
        );
    }
    print_histories(&histories, status, json)
}

fn print_histories(
    histories: &[ResourceHistory],
    status: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if json {
        let out = if status {
            let v: Vec<serde_json::Value> = histories
                .iter()
                .map(|h| serde_json::json!({ "resource": h.resource, "lrm_rsc_ops": h.lrm_rsc_ops() }))
                .collect();
            serde_json::to_string_pretty(&v)?
        } else {
            serde_json::to_string_pretty(&histories)?
        };
        println!("{out}");
    } else {
        print!("{}", render(histories, status));
    }
    Ok(ExitCode::SUCCESS)
}

fn status_name(code: i32) -> String {
    ExecStatus::from_code(code)
        .map(|s| s.describe().to_string())
        .unwrap_or_else(|| format!("status {code}"))
}

fn render(histories: &[ResourceHistory], status: bool) -> String {
    let mut s = String::new();
    if histories.is_empty() {
        s.push_str("no resources\n");
    }
    for h in histories {
        let _ = writeln!(s, "{} ({})", h.resource.id, h.resource.agent);
        let rows: Vec<(String, halo_lrm::OpRecord)> = if status {
            h.lrm_rsc_ops().into_iter().map(|o| (o.id, o.op)).collect()
        } else {
            h.ops
                .iter()
                .map(|o| (o.operation_key.clone(), o.clone()))
                .collect()
        };
        for (key, o) in &rows {
            let _ = write!(
                s,
                "  call {:>4}  {:<32} rc {:<24} {:<12} {:>6} ms",
                o.call_id,
                key,
                OcfRc(o.rc_code).to_string(),
                status_name(o.op_status),
                o.exec_time
            );
            if let Some(f) = o.failure {
                let _ = write!(s, "  {f} failure");
            }
            if let Some(r) = &o.exit_reason {
                let _ = write!(s, "  ({r})");
            }
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A real LRM writes the history; the command reads it back.
    #[test]
    fn history_reads_what_the_lrm_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("d.state");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut cfg = halo_lrm::LrmConfig::new("n1", dir.path().join("state"));
            cfg.rsc_tmp_dir = None;
            let lrm = halo_lrm::Lrm::open(cfg).unwrap();
            lrm.register(halo_lrm::ResourceDef {
                id: "d1".into(),
                agent: "ocf:heartbeat:Dummy".parse().unwrap(),
                params: [("state".to_string(), state.display().to_string())].into(),
                meta: Default::default(),
            })
            .await
            .unwrap();
            for action in ["start", "frobnicate"] {
                lrm.execute(halo_lrm::OpRequest::new("d1", action, 0))
                    .await
                    .unwrap();
            }
            lrm.flush().await;
        });
        let store = HistoryStore::existing(&dir.path().join("state"));
        let hs: Vec<ResourceHistory> = store
            .load_all()
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let text = render(&hs, false);
        assert!(text.contains("d1 (ocf:heartbeat:Dummy)"), "{text}");
        assert!(
            text.contains("d1_start_0") && text.contains("rc 0 (OCF_SUCCESS)"),
            "{text}"
        );
        assert!(
            text.contains("d1_frobnicate_0") && text.contains("hard failure"),
            "{text}"
        );
        let status = render(&hs, true);
        assert!(
            status.contains("d1_last_0") && status.contains("d1_last_failure_0"),
            "{status}"
        );
        assert_eq!(
            history(&dir.path().join("state"), Some("d1"), true, true).unwrap(),
            ExitCode::SUCCESS
        );
        assert!(history(&dir.path().join("state"), Some("nope"), false, false).is_err());
    }
}
