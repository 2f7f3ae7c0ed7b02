//! `halo status`, `halo nodes`, `halo links`: this node's view of the cluster.

use std::fmt::Write as _;
use std::process::ExitCode;

use halo_ipc::{NodeKind, Reply, Request, Status};

use crate::Global;
use crate::client;

/// Arguments of `halo status`, `halo nodes` and `halo links`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the status as JSON (a stable contract: see halo-ipc's `Status`).
    #[arg(long)]
    pub json: bool,
}

/// Which view to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Everything.
    Status,
    /// One line per node.
    Nodes,
    /// One line per node and link.
    Links,
}

/// Fetches the status from halod.
pub fn fetch(global: &Global) -> anyhow::Result<Status> {
    match client::call(&global.socket, &Request::Status)?.0 {
        Reply::Status(s) => Ok(*s),
        other => anyhow::bail!("unexpected reply from halod: {other:?}"),
    }
}

/// Runs `halo status` / `nodes` / `links`.
pub fn run(global: &Global, args: Args, view: View) -> anyhow::Result<ExitCode> {
    let status = fetch(global)?;
    if args.json {
        let out = match view {
            View::Status => serde_json::to_string_pretty(&status)?,
            View::Nodes | View::Links => serde_json::to_string_pretty(&status.nodes)?,
        };
        println!("{out}");
    } else {
        print!("{}", render(&status, view));
    }
    Ok(ExitCode::SUCCESS)
}

fn ago(ms: Option<u64>) -> String {
    match ms {
        None => "never".to_string(),
        Some(ms) if ms < 10_000 => format!("{ms} ms ago"),
        Some(ms) if ms < 600_000 => format!("{:.1} s ago", ms as f64 / 1000.0),
        Some(ms) => format!("{} min ago", ms / 60_000),
    }
}

/// Renders a table: columns padded to their widest cell.
fn table(rows: &[Vec<String>]) -> String {
    let mut widths = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The human view of a status.
pub fn render(s: &Status, view: View) -> String {
    let mut out = String::new();
    if view == View::Status {
        let _ = writeln!(
            out,
            "Node {} in cluster {} (generation {})",
            s.node, s.cluster, s.generation
        );
        let m = &s.membership;
        let members: Vec<&str> = m.members.iter().map(|n| n.as_str()).collect();
        let _ = writeln!(
            out,
            "Membership {}: {} ({})",
            m.id,
            if members.is_empty() {
                "none".to_string()
            } else {
                members.join(" ")
            },
            if m.quorate { "quorate" } else { "no quorum" }
        );
        let _ = writeln!(out, "DC: {}", s.dc.as_ref().map_or("none", |d| d.as_str()));
        out.push('\n');
    }
    match view {
        View::Status | View::Nodes => {
            let mut rows = vec![vec![
                "NODE".to_string(),
                "TYPE".to_string(),
                "STATE".to_string(),
                "LINKS".to_string(),
                "LAST HEARD".to_string(),
            ]];
            for n in &s.nodes {
                let links: Vec<String> = n
                    .links
                    .iter()
                    .map(|l| format!("{}:{}", l.name, l.state))
                    .collect();
                let me = n.name == s.node.as_str();
                rows.push(vec![
                    if me {
                        format!("{} (this node)", n.name)
                    } else {
                        n.name.clone()
                    },
                    match n.kind {
                        NodeKind::Normal => "normal".to_string(),
                        NodeKind::Ping => "ping".to_string(),
                    },
                    n.state.to_string(),
                    if links.is_empty() {
                        "-".to_string()
                    } else {
                        links.join(" ")
                    },
                    if me {
                        "-".to_string()
                    } else {
                        ago(n.last_heard_ms)
                    },
                ]);
            }
            out.push_str(&table(&rows));
        }
        View::Links => {
            let mut rows = vec![vec![
                "NODE".to_string(),
                "LINK".to_string(),
                "STATE".to_string(),
            ]];
            for n in &s.nodes {
                for l in &n.links {
                    rows.push(vec![n.name.clone(), l.name.clone(), l.state.to_string()]);
                }
            }
            out.push_str(&table(&rows));
        }
    }
    if view == View::Status {
        out.push('\n');
        if s.resources.is_empty() {
            out.push_str("Resources: none configured\n");
        } else {
            let mut rows = vec![vec![
                "RESOURCE".to_string(),
                "AGENT".to_string(),
                "ROLE".to_string(),
                "NODE".to_string(),
            ]];
            for r in &s.resources {
                rows.push(vec![
                    r.id.clone(),
                    format!("{}:{}", r.class, r.kind),
                    r.role.clone(),
                    r.node.as_ref().map_or("-".to_string(), |n| n.to_string()),
                ]);
            }
            out.push_str(&table(&rows));
        }
        let rejected: Vec<String> = s
            .counters
            .values
            .iter()
            .filter(|(k, v)| k.starts_with("rejected_") && **v > 0)
            .map(|(k, v)| format!("{}={v}", k.trim_start_matches("rejected_")))
            .collect();
        if !rejected.is_empty() {
            let _ = writeln!(out, "\nRejected packets: {}", rejected.join(" "));
        }
    }
    out
}
