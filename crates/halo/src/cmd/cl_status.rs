//! `halo cl_status`: heartbeat's `cl_status` queries, with its output and exit codes, so
//! that scripts written for heartbeat keep working.
//!
//! | query | prints | exit code |
//! | --- | --- | --- |
//! | `hbstatus` | `Heartbeat is running on this machine.` | 0 running, 1 stopped |
//! | `listnodes [-p\|-n]` | one node per line (`-p` ping nodes only, `-n` normal only) | 0 |
//! | `nodestatus NODE` | `init`, `up`, `active`, `dead` or `ping` | 0 for active/up/ping, 1 otherwise |
//! | `nodetype NODE` | `normal` or `ping` | 0 |
//! | `listhblinks NODE` | one link per line | 0 |
//! | `hblinkstatus NODE LINK` | `up` or `dead` | 0 |
//! | `rscstatus` | `none`, `local`, `foreign`, `all` or `transition` | 0 |
//!
//! `rscstatus` says which resource groups this node holds, in heartbeat's terms:
//! `local` groups prefer this node (their `haresources` line names it, or their highest
//! location preference does), `foreign` groups prefer another; `all` is both. While the
//! cluster has not settled (this node's CIB is not yet the membership's, or the DC is
//! still executing a transition) it says `transition`, as heartbeat did while resources
//! moved.

use std::process::ExitCode;

use halo_cib::Cib;
use halo_ipc::{NodeKind, NodeStatus, Request, Status};
use halo_types::NodeState;

use crate::{Global, client};

/// Arguments of `halo cl_status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    query: Query,
}

#[derive(Debug, clap::Subcommand)]
enum Query {
    /// Whether halod runs on this machine.
    Hbstatus,
    /// List the nodes.
    Listnodes {
        /// Ping nodes only.
        #[arg(short = 'p', conflicts_with = "normal")]
        ping: bool,
        /// Normal nodes only.
        #[arg(short = 'n')]
        normal: bool,
    },
    /// A node's state.
    Nodestatus {
        /// The node.
        node: String,
    },
    /// A node's type: normal or ping.
    Nodetype {
        /// The node.
        node: String,
    },
    /// The links to a node.
    Listhblinks {
        /// The node.
        node: String,
    },
    /// The state of one link to a node.
    Hblinkstatus {
        /// The node.
        node: String,
        /// The link (interface or device).
        link: String,
    },
    /// Which resource groups this node holds: none, local, foreign, all (or transition
    /// while the cluster settles).
    Rscstatus,
}

fn find<'a>(s: &'a Status, name: &str) -> anyhow::Result<&'a NodeStatus> {
    let lower = name.to_ascii_lowercase();
    s.nodes
        .iter()
        .find(|n| n.name == lower)
        .ok_or_else(|| anyhow::anyhow!("{name} is not a node of this cluster"))
}

/// What a query prints (one line each) and whether it succeeds.
type Answer = (Vec<String>, bool);

/// Answers every query but `hbstatus` and `rscstatus` from `s`.
fn answer(query: &Query, s: &Status) -> anyhow::Result<Answer> {
    Ok(match query {
        Query::Hbstatus | Query::Rscstatus => {
            anyhow::bail!("{query:?} is not answered from the status alone")
        }
        Query::Listnodes { ping, normal } => (
            s.nodes
                .iter()
                .filter(|n| match n.kind {
                    NodeKind::Ping => !normal,
                    NodeKind::Normal => !ping,
                })
                .map(|n| n.name.clone())
                .collect(),
            true,
        ),
        Query::Nodestatus { node } => {
            let n = find(s, node)?;
            (
                vec![n.state.to_string()],
                matches!(n.state, NodeState::Active | NodeState::Up | NodeState::Ping),
            )
        }
        Query::Nodetype { node } => {
            let kind = match find(s, node)?.kind {
                NodeKind::Normal => "normal",
                NodeKind::Ping => "ping",
            };
            (vec![kind.to_owned()], true)
        }
        Query::Listhblinks { node } => (
            find(s, node)?
                .links
                .iter()
                .map(|l| l.name.clone())
                .collect(),
            true,
        ),
        Query::Hblinkstatus { node, link } => {
            let l = find(s, node)?
                .links
                .iter()
                .find(|l| &l.name == link)
                .ok_or_else(|| anyhow::anyhow!("{node} has no link named {link}"))?;
            (vec![l.state.to_string()], true)
        }
    })
}

/// `rscstatus` from this node's status and CIB (see the module docs).
fn rscstatus(s: &Status, cib: &Cib) -> &'static str {
    let settled = s
        .crm
        .as_ref()
        .is_some_and(|c| c.synced && c.idle != Some(false));
    if !settled {
        return "transition";
    }
    let held_here = |top: &str| {
        s.resources.iter().any(|r| {
            (r.id == top || r.parent.as_deref() == Some(top))
                && r.node.as_ref() == Some(&s.node)
                && r.role != "Stopped"
        })
    };
    let (mut local, mut foreign) = (false, false);
    for top in cib.configuration.resources.iter().map(|r| r.id()) {
        if held_here(top) {
            if halo_crm::preferred_node(cib, top).as_deref() == Some(s.node.as_str()) {
                local = true;
            } else {
                foreign = true;
            }
        }
    }
    match (local, foreign) {
        (false, false) => "none",
        (true, false) => "local",
        (false, true) => "foreign",
        (true, true) => "all",
    }
}

/// This node's CIB, parsed.
fn fetch_cib(global: &Global) -> anyhow::Result<Cib> {
    match client::call(&global.socket, &Request::Cib { status: false })?.0 {
        halo_ipc::Reply::Cib { xml, .. } => {
            Cib::from_xml(&xml).map_err(|e| anyhow::anyhow!("halod's CIB does not parse: {e}"))
        }
        other => anyhow::bail!("unexpected reply from halod: {other:?}"),
    }
}

/// Runs `halo cl_status`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    let fetch = || crate::cmd::status::fetch(global);
    let (lines, ok) = match &args.query {
        Query::Hbstatus => match fetch() {
            Ok(_) => (
                vec!["Heartbeat is running on this machine.".to_owned()],
                true,
            ),
            Err(_) => (
                vec!["Heartbeat is stopped on this machine.".to_owned()],
                false,
            ),
        },
        Query::Rscstatus => {
            let s = fetch()?;
            (vec![rscstatus(&s, &fetch_cib(global)?).to_owned()], true)
        }
        query => answer(query, &fetch()?)?,
    };
    for l in lines {
        println!("{l}");
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use halo_cib::haresources::{AutoFailback, HaGroup, HaResource, import};

    /// node1's status as halod reports it: node2 up on eth0 only, a ping node, and
    /// `resources` (id, parent, node) all started.
    fn status(resources: &[(&str, &str, &str)], synced: bool, idle: Option<bool>) -> Status {
        let rs: Vec<serde_json::Value> = resources
            .iter()
            .map(|(id, parent, node)| {
                serde_json::json!({"id": id, "class": "ocf", "type": "Dummy",
                    "role": "Started", "node": node, "parent": parent})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "node": "node1", "cluster": "c", "generation": 3,
            "nodes": [
                {"name": "node1", "kind": "normal", "state": "active", "links": []},
                {"name": "node2", "kind": "normal", "state": "dead",
                 "links": [{"name": "eth0", "state": "dead"}, {"name": "eth1", "state": "dead"}]},
                {"name": "10.0.0.254", "kind": "ping", "state": "ping", "links": []}
            ],
            "membership": {"id": 4, "members": ["node1"], "quorate": true},
            "dc": "node1", "resources": rs, "counters": {"values": {}},
            "crm": {"cib_version": "0.5.1", "synced": synced, "lease_lost": false,
                    "fencing_enabled": false, "idle": idle, "warnings": []}
        }))
        .unwrap()
    }

    fn ask(query: Query, s: &Status) -> (Vec<String>, bool) {
        answer(&query, s).unwrap()
    }

    #[test]
    fn node_and_link_queries_answer_like_heartbeat() {
        let s = status(&[], true, Some(true));
        assert_eq!(
            ask(
                Query::Listnodes {
                    ping: false,
                    normal: false
                },
                &s
            )
            .0,
            ["node1", "node2", "10.0.0.254"]
        );
        let only = |ping, normal| ask(Query::Listnodes { ping, normal }, &s).0;
        assert_eq!(only(true, false), ["10.0.0.254"]);
        assert_eq!(only(false, true), ["node1", "node2"]);
        let node = |n: &str| n.to_owned();
        // Exit status: success for active, up and ping; failure for dead.
        assert_eq!(
            ask(
                Query::Nodestatus {
                    node: node("node1")
                },
                &s
            ),
            (vec!["active".to_owned()], true)
        );
        assert_eq!(
            ask(
                Query::Nodestatus {
                    node: node("NODE2")
                },
                &s
            ),
            (vec!["dead".to_owned()], false)
        );
        assert_eq!(
            ask(
                Query::Nodestatus {
                    node: node("10.0.0.254")
                },
                &s
            ),
            (vec!["ping".to_owned()], true)
        );
        assert_eq!(
            ask(
                Query::Nodetype {
                    node: node("10.0.0.254")
                },
                &s
            )
            .0,
            ["ping"]
        );
        assert_eq!(
            ask(
                Query::Nodetype {
                    node: node("node2")
                },
                &s
            )
            .0,
            ["normal"]
        );
        assert_eq!(
            ask(
                Query::Listhblinks {
                    node: node("node2")
                },
                &s
            )
            .0,
            ["eth0", "eth1"]
        );
        assert_eq!(
            ask(
                Query::Hblinkstatus {
                    node: node("node2"),
                    link: "eth1".into()
                },
                &s
            ),
            (vec!["dead".to_owned()], true)
        );
        let err = answer(
            &Query::Nodestatus {
                node: node("node9"),
            },
            &s,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "node9 is not a node of this cluster");
        let err = answer(
            &Query::Hblinkstatus {
                node: node("node2"),
                link: "eth7".into(),
            },
            &s,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "node2 has no link named eth7");
    }

    #[test]
    fn rscstatus_tells_local_foreign_all_none_and_transition() {
        let groups = [("node1", "10.0.0.10"), ("node2", "10.0.0.20")].map(|(node, ip)| HaGroup {
            node: node.into(),
            resources: vec![
                HaResource::parse_token(ip),
                HaResource::parse_token("httpd"),
            ],
        });
        let nodes = ["node1".to_owned(), "node2".to_owned()];
        let cib = import(&groups, &nodes, AutoFailback::On, &|_| true).unwrap();
        let ids: Vec<&str> = cib.configuration.resources.iter().map(|r| r.id()).collect();
        let (mine, theirs) = (ids[0], ids[1]);
        assert_eq!(
            halo_crm::preferred_node(&cib, mine).as_deref(),
            Some("node1")
        );

        let held = |rs: &[(&str, &str, &str)]| rscstatus(&status(rs, true, Some(true)), &cib);
        assert_eq!(held(&[]), "none");
        assert_eq!(held(&[("ip1", mine, "node2")]), "none");
        assert_eq!(held(&[("ip1", mine, "node1")]), "local");
        assert_eq!(held(&[("ip2", theirs, "node1")]), "foreign");
        assert_eq!(
            held(&[("ip1", mine, "node1"), ("ip2", theirs, "node1")]),
            "all"
        );
        // Not settled: the CIB is not the membership's yet, or the DC is busy.
        let busy = status(&[("ip1", mine, "node1")], true, Some(false));
        assert_eq!(rscstatus(&busy, &cib), "transition");
        let unsynced = status(&[("ip1", mine, "node1")], false, None);
        assert_eq!(rscstatus(&unsynced, &cib), "transition");
        // A non-DC node does not know whether the DC is idle: settled once synced.
        let member = status(&[("ip1", mine, "node1")], true, None);
        assert_eq!(rscstatus(&member, &cib), "local");
    }
}
