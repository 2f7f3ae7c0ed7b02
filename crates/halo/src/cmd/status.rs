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
        out.push_str(&render_header(s));
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
        out.push_str(&render_resources(s));
        out.push_str(&render_failures(s));
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

/// Cluster, membership, DC, CIB version and warnings.
fn render_header(s: &Status) -> String {
    let mut out = String::new();
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
    let _ = write!(out, "DC: {}", s.dc.as_ref().map_or("none", |d| d.as_str()));
    if let Some(c) = &s.crm {
        let _ = write!(out, "   CIB: {}", c.cib_version);
        if !c.synced {
            out.push_str(" (not yet the cluster's)");
        }
        if c.idle == Some(false) {
            out.push_str("   (transition in progress)");
        }
    }
    out.push('\n');
    if let Some(c) = &s.crm {
        for (what, nodes) in [("Standby", &c.standby), ("Maintenance", &c.maintenance)] {
            if !nodes.is_empty() {
                let names: Vec<&str> = nodes.iter().map(|n| n.as_str()).collect();
                let _ = writeln!(out, "{what}: {}", names.join(" "));
            }
        }
    }
    if let Some(c) = &s.crm {
        if c.lease_lost {
            warn(
                &mut out,
                "this node does not hear a quorum: its resource lease is lost, it has \
                 stopped its resources and starts none",
            );
        }
        for w in &c.warnings {
            warn(&mut out, w);
        }
    }
    out
}

/// Appends a warning, `! ` then the text wrapped at 80 columns, continued with `  `.
fn warn(out: &mut String, text: &str) {
    const WIDTH: usize = 80;
    let mut line = String::from("!");
    for word in text.split_whitespace() {
        if line.len() > 2 && line.len() + 1 + word.len() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from(" ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

fn agent(r: &halo_ipc::ResourceStatus) -> String {
    match &r.provider {
        Some(p) => format!("{}:{}:{}", r.class, p, r.kind),
        None => format!("{}:{}", r.class, r.kind),
    }
}

/// The resources, grouped as configured, with their role and node (crm_mon's "Full
/// List of Resources").
pub fn render_resources(s: &Status) -> String {
    let mut out = String::new();
    if s.resources.is_empty() {
        out.push_str("Resources: none configured\n");
        return out;
    }
    let mut rows = vec![vec![
        "RESOURCE".to_string(),
        "AGENT".to_string(),
        "ROLE".to_string(),
        "NODE".to_string(),
    ]];
    let mut group: Option<&str> = None;
    for r in &s.resources {
        let parent = r.parent.as_deref();
        if parent.is_some() && parent != group {
            rows.push(vec![
                format!("{}:", parent.unwrap_or_default()),
                "group".to_string(),
                String::new(),
                String::new(),
            ]);
        }
        group = parent;
        let mut role = r.role.clone();
        if r.target_role.as_deref() == Some("Stopped") && r.role == "Stopped" {
            role.push_str(" (disabled)");
        }
        if stop_failed(s, r) {
            // Without fencing nothing can prove it stopped: it stays here, and what
            // depends on it starts nowhere else, until `halo resource cleanup`.
            role.push_str(" (blocked)");
        }
        rows.push(vec![
            if parent.is_some() {
                format!("  {}", r.id)
            } else {
                r.id.clone()
            },
            agent(r),
            role,
            r.node.as_ref().map_or("-".to_string(), |n| n.to_string()),
        ]);
    }
    out.push_str(&table(&rows));
    out
}

/// Whether `r`'s stop failed where it is (Pacemaker's "blocked" when fencing cannot
/// settle it).
fn stop_failed(s: &Status, r: &halo_ipc::ResourceStatus) -> bool {
    let fencing = s.crm.as_ref().is_some_and(|c| c.fencing_enabled);
    let stop = format!("{}_stop_", r.id);
    !fencing
        && s.failed_actions.iter().any(|f| {
            f.resource == r.id && Some(&f.node) == r.node.as_ref() && f.operation.starts_with(&stop)
        })
}

fn epoch_ago(t: Option<u64>) -> String {
    let Some(t) = t else {
        return String::new();
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    ago(Some(now.saturating_sub(t).saturating_mul(1000)))
}

fn status_name(code: i32) -> String {
    halo_lrm::ExecStatus::from_code(code)
        .map(|s| s.describe().to_string())
        .unwrap_or_else(|| format!("status {code}"))
}

/// Failed operations and fail counts (crm_mon's "Failed Resource Actions" and
/// "Migration Summary").
fn render_failures(s: &Status) -> String {
    let mut out = String::new();
    if !s.failed_actions.is_empty() {
        out.push_str("\nFailed resource actions:\n");
        for f in &s.failed_actions {
            let _ = write!(
                out,
                "  {} on {}: rc {}, {}",
                f.operation,
                f.node,
                halo_lrm::OcfRc(f.rc),
                status_name(f.op_status)
            );
            if let Some(r) = &f.exit_reason {
                let _ = write!(out, ": {r}");
            }
            let when = epoch_ago(f.last_rc_change);
            if !when.is_empty() {
                let _ = write!(out, " ({when})");
            }
            out.push('\n');
        }
    }
    if !s.fail_counts.is_empty() {
        out.push_str("\nFail counts:\n");
        for f in &s.fail_counts {
            let count = if f.count >= 1_000_000 {
                "INFINITY".to_string()
            } else {
                f.count.to_string()
            };
            let _ = write!(out, "  {} on {}: {count}", f.resource, f.node);
            if let Some(op) = &f.operation {
                let _ = write!(out, " ({op})");
            }
            out.push('\n');
        }
        out.push_str("  (`halo resource cleanup RESOURCE` forgets them)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use halo_ipc::{
        Counters, CrmStatus, FailCountStatus, FailedActionStatus, Membership, ResourceStatus,
    };
    use halo_types::{Generation, NodeName};

    fn n(s: &str) -> NodeName {
        NodeName::new(s).unwrap()
    }

    fn rsc(id: &str, parent: Option<&str>, role: &str, node: Option<&str>) -> ResourceStatus {
        ResourceStatus {
            id: id.into(),
            class: "ocf".into(),
            kind: "Dummy".into(),
            role: role.into(),
            node: node.map(n),
            provider: Some("heartbeat".into()),
            parent: parent.map(str::to_string),
            target_role: None,
        }
    }

    #[test]
    fn long_warnings_wrap_at_80_columns_and_lose_no_word() {
        let text = "fencing is disabled (fencing-enabled=false): without fencing a node that \
                    stops responding is assumed down; the resource lease stops its resources \
                    first";
        let mut out = String::new();
        warn(&mut out, text);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines.iter().all(|l| l.len() <= 80), "{out}");
        assert!(lines[0].starts_with("! fencing"), "{out}");
        assert!(lines[1..].iter().all(|l| l.starts_with("  ")), "{out}");
        let words: Vec<&str> = out.split_whitespace().filter(|w| *w != "!").collect();
        assert_eq!(words, text.split_whitespace().collect::<Vec<_>>());
    }

    #[test]
    fn the_status_reads_like_crm_mon() {
        let mut stopped = rsc("db", None, "Stopped", None);
        stopped.target_role = Some("Stopped".into());
        let s = Status {
            node: n("node1"),
            cluster: "lab".into(),
            generation: Generation(7),
            nodes: vec![],
            membership: Membership {
                id: 3,
                members: vec![n("node1"), n("node2")],
                quorate: true,
            },
            dc: Some(n("node1")),
            resources: vec![
                rsc("ip", Some("web"), "Started", Some("node2")),
                rsc("httpd", Some("web"), "Started", Some("node2")),
                stopped,
                rsc("fs", None, "FAILED", Some("node1")),
            ],
            counters: Counters::default(),
            failed_actions: vec![
                FailedActionStatus {
                    resource: "httpd".into(),
                    operation: "httpd_monitor_10000".into(),
                    node: n("node1"),
                    rc: 7,
                    op_status: 0,
                    exit_reason: Some("no pid".into()),
                    last_rc_change: None,
                },
                FailedActionStatus {
                    resource: "fs".into(),
                    operation: "fs_stop_0".into(),
                    node: n("node1"),
                    rc: 1,
                    op_status: 0,
                    exit_reason: Some("umount: target is busy".into()),
                    last_rc_change: None,
                },
            ],
            fail_counts: vec![FailCountStatus {
                resource: "httpd".into(),
                node: n("node1"),
                operation: Some("monitor_10000".into()),
                count: 1,
            }],
            crm: Some(CrmStatus {
                cib_version: "0.4.12".into(),
                synced: true,
                lease_lost: false,
                fencing_enabled: false,
                idle: Some(true),
                warnings: vec!["fencing is not implemented yet".into()],
                standby: vec![n("node2"), n("node3")],
                maintenance: vec![],
            }),
        };
        let text = render(&s, View::Status);
        let expect = [
            "Membership 3: node1 node2 (quorate)",
            "DC: node1   CIB: 0.4.12",
            "! fencing is not implemented yet",
            "Standby: node2 node3",
            "RESOURCE  AGENT                ROLE                NODE",
            "web:      group",
            "  ip      ocf:heartbeat:Dummy  Started             node2",
            "  httpd   ocf:heartbeat:Dummy  Started             node2",
            "db        ocf:heartbeat:Dummy  Stopped (disabled)  -",
            "fs        ocf:heartbeat:Dummy  FAILED (blocked)    node1",
            "Failed resource actions:",
            "  httpd_monitor_10000 on node1: rc 7 (OCF_NOT_RUNNING), complete: no pid",
            "Fail counts:",
            "  httpd on node1: 1 (monitor_10000)",
        ];
        for line in expect {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
        assert!(!text.contains("Maintenance:"), "{text}");
    }
}
