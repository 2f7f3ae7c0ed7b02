//! A transition with many resources: how long halo takes from `halo configure load` of
//! a CIB with N primitives to all of them started on a 3-node lab cluster, and how much
//! of that is the policy engine planning.
//!
//! ```text
//!  bulk CIB (N primitives) ──halo configure load──▶ DC: validate, commit on members,
//!                                                   plan (policy engine), execute:
//!                                                   3N probes + N starts over the LRMs
//!  status over the API socket, polled every 50 ms ──▶ all N "Started": done
//!
//!  the same CIB with 3 online nodes in its status ──▶ halo_policy::schedule, in process:
//!                                                     planning time alone
//! ```
//!
//! The agent: Debian's `ocf:heartbeat:Dummy` sources the OCF shell functions on every
//! operation (a bash start-up of some milliseconds each); the benchmark's own
//! `ocf:halobench:Cheap` is a few lines of POSIX sh (dash on Debian) keeping a state file
//! per resource, so the figures show halo's overhead rather than bash's. It is written
//! into each host's private copy of `/usr/lib/ocf` (the machine's stays untouched).
//! Neither has a recurring monitor, so only probes, starts and nothing else run.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use halo_lab::{Halod, Lab, LabSpec};

use crate::cluster::{HaloCluster, wait_for, write_mode};
use crate::config::{HaCf, Timing, authkeys, random_secret};
use crate::error::{BenchError, Result};
use crate::failover::{ms, node_names, wall_string};

/// The test-written agent's provider and type.
pub const CHEAP: (&str, &str) = ("halobench", "Cheap");

/// The cheap agent: start/stop/monitor a state file; meta-data for the LRM.
pub const CHEAP_AGENT: &str = r#"#!/bin/sh
# halo-bench's cheap OCF agent: one state file per resource, nothing else.
f="/run/resource-agents/halobench-${OCF_RESOURCE_INSTANCE}"
case "$1" in
start) : > "$f" ;;
stop) rm -f "$f" ;;
monitor|status) [ -e "$f" ] || exit 7 ;;
validate-all) ;;
meta-data) cat <<'EOF'
<?xml version="1.0"?>
<resource-agent name="Cheap" version="1.0">
<version>1.0</version>
<longdesc lang="en">A state file per resource: for benchmarks of the resource manager.</longdesc>
<shortdesc lang="en">Cheap stand-in resource</shortdesc>
<parameters/>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="5s"/>
</actions>
</resource-agent>
EOF
;;
*) exit 3 ;;
esac
exit 0
"#;

/// Which agent the bulk resources use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agent {
    /// `ocf:halobench:Cheap` (this module's sh script).
    Cheap,
    /// Debian's `ocf:heartbeat:Dummy`.
    Dummy,
}

impl Agent {
    fn provider_type(self) -> (&'static str, &'static str) {
        match self {
            Agent::Cheap => CHEAP,
            Agent::Dummy => ("heartbeat", "Dummy"),
        }
    }
}

/// A CIB with `n` primitives of `agent`, no fencing; with `online`, a nodes section and
/// a status section showing those nodes online (for planning alone).
pub fn bulk_cib(n: usize, agent: Agent, online: &[String]) -> String {
    let (provider, kind) = agent.provider_type();
    let mut x = String::from(
        "<cib admin_epoch=\"0\" epoch=\"1\" num_updates=\"0\" have-quorum=\"true\" validate-with=\"pacemaker-3.0\">\n\
         <configuration>\n<crm_config><cluster_property_set id=\"opts\">\
         <nvpair id=\"opts-stonith\" name=\"stonith-enabled\" value=\"false\"/>\
         </cluster_property_set></crm_config>\n<nodes>\n",
    );
    for (i, node) in online.iter().enumerate() {
        let _ = writeln!(
            x,
            "<node id=\"{}\" uname=\"{node}\" type=\"member\"/>",
            i + 1
        );
    }
    x.push_str("</nodes>\n<resources>\n");
    for i in 1..=n {
        let _ = writeln!(
            x,
            "<primitive id=\"r{i:04}\" class=\"ocf\" provider=\"{provider}\" type=\"{kind}\"/>"
        );
    }
    x.push_str("</resources>\n<constraints/>\n</configuration>\n<status>\n");
    for (i, node) in online.iter().enumerate() {
        let _ = writeln!(
            x,
            "<node_state id=\"{}\" uname=\"{node}\" in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\"/>",
            i + 1
        );
    }
    x.push_str("</status>\n</cib>\n");
    x
}

/// The policy engine alone on the bulk CIB with 3 online nodes: (parse, plan, actions)
/// for each of `runs` runs.
pub fn plan_only(n: usize, agent: Agent, runs: usize) -> Result<Vec<(Duration, Duration, usize)>> {
    let text = bulk_cib(n, agent, &node_names(3));
    let mut out = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let cib = halo_cib::Cib::from_xml(&text).map_err(|e| BenchError::Daemon {
            host: "halo-bench".into(),
            message: format!("the bulk CIB does not parse: {e}"),
        })?;
        let t1 = Instant::now();
        let now = halo_types::Timestamp::from_duration(Duration::from_secs(1_700_000_000));
        let t = halo_policy::schedule(&cib, now).map_err(|e| BenchError::Daemon {
            host: "halo-bench".into(),
            message: format!("the policy engine refused the bulk CIB: {e}"),
        })?;
        let t2 = Instant::now();
        out.push((t1 - t0, t2 - t1, t.actions.len()));
    }
    Ok(out)
}

/// What the live run measured.
#[derive(Clone, Debug)]
pub struct Live {
    /// `halo configure load` run time (validated and committed on the members).
    pub load: Duration,
    /// From the start of the load to every resource started (seen on node1).
    pub all_started: Duration,
    /// halod's log lines about the CIB and transitions during the run (node1, the DC).
    pub log: Vec<String>,
}

/// Start 3 halods with no resources, load the bulk CIB on node1 and wait for every
/// resource to be started.
pub fn live(halod: &std::path::Path, n: usize, agent: Agent, limit: Duration) -> Result<Live> {
    let spec = LabSpec::new().hosts(3).private_dir("/usr/lib/ocf", true);
    let lab = Lab::create(&spec)?;
    let nodes = node_names(3);
    let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let cf = HaCf::new(Timing::FAST, &refs)
        .line("cluster bulk")
        .line("auto_failback off")
        .ucast_all(1)
        .render();
    let key = authkeys("sha256", &random_secret());
    for h in &nodes {
        let host = lab.host(h)?;
        write_mode(&host.path("/etc/ha.d/ha.cf")?, &cf, 0o644)?;
        write_mode(&host.path("/etc/ha.d/authkeys")?, &key, 0o600)?;
        write_mode(&host.path("/etc/ha.d/haresources")?, "", 0o644)?;
        let dir = host.path("/usr/lib/ocf/resource.d/halobench")?;
        std::fs::create_dir_all(&dir)
            .map_err(|e| BenchError::io(format!("creating {}", dir.display()), e))?;
        write_mode(&dir.join("Cheap"), CHEAP_AGENT, 0o755)?;
    }
    let cluster = HaloCluster::new(&lab, halod.to_path_buf());
    let daemon = Halod::new(halod.to_path_buf()).env("RUST_LOG", "info");
    let mut procs = Vec::new();
    for h in &nodes {
        procs.push(lab.start_halod(h, &daemon)?);
    }
    for h in &nodes {
        wait_for(&format!("{h} to see a DC"), limit, || {
            cluster.status(h).ok().and_then(|s| s.dc)
        })?;
    }
    let file = "/etc/ha.d/bulk.xml";
    write_mode(
        &lab.host("node1")?.path(file)?,
        &bulk_cib(n, agent, &[]),
        0o644,
    )?;
    println!("# load at {}", wall_string(std::time::SystemTime::now()));
    let t0 = Instant::now();
    let out = cluster.halo("node1", &["configure", "load", file])?;
    let load = t0.elapsed();
    if !out.status.success() {
        return Err(BenchError::Daemon {
            host: "node1".into(),
            message: format!(
                "halo configure load: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    wait_for(&format!("{n} resources started"), limit, || {
        let s = cluster.status("node1").ok()?;
        let started = s.resources.iter().filter(|r| r.role == "Started").count();
        (started >= n).then_some(())
    })?;
    let all_started = t0.elapsed();
    let log = procs[0]
        .log_text()
        .lines()
        .filter(|l| l.contains("transition") || l.contains("ommitted") || l.contains("Refused"))
        .map(str::to_owned)
        .collect();
    Ok(Live {
        load,
        all_started,
        log,
    })
}

/// Print both measurements.
pub fn report(halod: &std::path::Path, n: usize, agent: Agent) -> Result<()> {
    let plans = plan_only(n, agent, 5)?;
    for (parse, plan, actions) in &plans {
        println!(
            "policy engine alone: parse {:.1} ms, plan {:.1} ms, {actions} actions",
            ms(*parse),
            ms(*plan)
        );
    }
    let live = live(halod, n, agent, Duration::from_secs(600))?;
    for l in &live.log {
        println!("node1: {l}");
    }
    println!(
        "# {n} resources ({agent:?}): configure load returned after {:.1} ms; all started after {:.1} ms",
        ms(live.load),
        ms(live.all_started)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bulk_cib_parses_and_plans_every_start() {
        let text = bulk_cib(5, Agent::Cheap, &node_names(3));
        let cib = halo_cib::Cib::from_xml(&text).unwrap();
        assert_eq!(text.matches("<primitive ").count(), 5);
        // A real date: at the epoch itself the scheduler plans nothing.
        let now = halo_types::Timestamp::from_duration(Duration::from_secs(1_700_000_000));
        let t = halo_policy::schedule(&cib, now).unwrap();
        let starts = t
            .actions
            .iter()
            .filter(|a| format!("{a:?}").contains("start"))
            .count();
        assert!(starts >= 5, "{:?}", t.actions);
    }
}
