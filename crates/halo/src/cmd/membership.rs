//! `halo membership`: the recent memberships this node installed, and why each changed.

use std::process::ExitCode;

use halo_ipc::{Reply, Request};

use crate::Global;
use crate::client;

/// Arguments of `halo membership`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the history as JSON.
    #[arg(long)]
    pub json: bool,
}

fn age(ms: u64) -> String {
    match ms {
        ms if ms < 60_000 => format!("{:.1} s ago", ms as f64 / 1000.0),
        ms if ms < 3_600_000 => format!("{} min ago", ms / 60_000),
        ms => format!("{:.1} h ago", ms as f64 / 3_600_000.0),
    }
}

/// Runs `halo membership`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    let records = match client::call(&global.socket, &Request::Memberships)?.0 {
        Reply::Memberships { memberships } => memberships,
        other => anyhow::bail!("unexpected reply from halod: {other:?}"),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&records)?);
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        println!("no membership installed yet");
    }
    let names =
        |v: &[halo_types::NodeName]| v.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(" ");
    for r in &records {
        let m = &r.membership;
        let mut why = Vec::new();
        if !r.joined.is_empty() {
            why.push(format!("joined: {}", names(&r.joined)));
        }
        if !r.left.is_empty() {
            why.push(format!("left: {}", names(&r.left)));
        }
        println!(
            "{:>6}  {:<12}  {}  [{}, {}/{} votes, by {}]{}",
            m.id,
            age(r.age_ms),
            names(&m.members),
            if m.quorate { "quorate" } else { "NO QUORUM" },
            r.votes,
            r.quorum,
            r.coordinator,
            if why.is_empty() {
                String::new()
            } else {
                format!("  {}", why.join("; "))
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
