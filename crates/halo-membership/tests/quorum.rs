//! Quorum, as text tables: `testdata/quorum.txt`.
//!
//! - `config nodes=a,b,c [votes=a:2,b:0] [expected=N] [two_node=on] [wait_for_all=on|off]
//!   [policy=P]` starts a fresh tracker (or prints why the settings are refused);
//! - `install a,b` computes quorum for a membership that is now installed (remembered:
//!   it may satisfy `wait_for_all` or raise the expected votes);
//! - `evaluate a,b` computes it without remembering.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use halo_membership::quorum::{QuorumConfig, QuorumStatus, QuorumTracker};
use halo_types::NodeName;

fn names(s: &str) -> Vec<NodeName> {
    s.split(',')
        .filter(|x| !x.is_empty() && *x != "-")
        .map(|x| NodeName::new(x).unwrap())
        .collect()
}

fn on(v: &str) -> bool {
    match v {
        "on" => true,
        "off" => false,
        _ => panic!("expected on or off, got {v}"),
    }
}

fn show(s: &QuorumStatus) -> String {
    let mut out = format!(
        "{} votes={}/{} quorum={} policy={}",
        if s.quorate { "quorate" } else { "NOT quorate" },
        s.votes,
        s.expected_votes,
        s.quorum,
        s.no_quorum_policy
    );
    if s.fencing_required {
        out.push_str(" fencing-required");
    }
    if s.waiting_for_all {
        out.push_str(" waiting-for-all");
    }
    out
}

#[test]
fn quorum_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/quorum.txt");
    let mut tracker: Option<QuorumTracker> = None;
    common::run_file(&path, |case| {
        let (cmd, args) = common::args(&case.command);
        match cmd.as_str() {
            "config" => {
                let mut c = QuorumConfig::default();
                for (k, v) in &args {
                    match k.as_str() {
                        "nodes" => c.nodes = names(v),
                        "votes" => {
                            c.votes = v
                                .split(',')
                                .map(|nv| {
                                    let (n, x) = nv.split_once(':').unwrap();
                                    (NodeName::new(n).unwrap(), x.parse().unwrap())
                                })
                                .collect::<BTreeMap<_, _>>()
                        }
                        "expected" => c.expected_votes = Some(v.parse().unwrap()),
                        "two_node" => c.two_node = on(v),
                        "wait_for_all" => c.wait_for_all = Some(on(v)),
                        "policy" => c.no_quorum_policy = v.parse().unwrap(),
                        _ => panic!("line {}: unknown argument {k}", case.line),
                    }
                }
                match QuorumTracker::new(c) {
                    Ok(t) => {
                        let c = t.config();
                        let out = format!(
                            "ok: expected {} wait_for_all={}",
                            c.configured_expected(),
                            if c.wait_for_all() { "on" } else { "off" }
                        );
                        tracker = Some(t);
                        out
                    }
                    Err(e) => {
                        tracker = None;
                        format!("error: {e}")
                    }
                }
            }
            "install" | "evaluate" => {
                let t = tracker
                    .as_mut()
                    .unwrap_or_else(|| panic!("line {}: no valid config", case.line));
                let members = names(args.first().map(|(k, _)| k.as_str()).unwrap_or(""));
                let s = if cmd == "install" {
                    t.install(members.iter())
                } else {
                    t.evaluate(members.iter())
                };
                show(&s)
            }
            _ => panic!("line {}: unknown command {cmd}", case.line),
        }
    });
}
