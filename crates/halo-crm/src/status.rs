//! The CIB status section: node states, operation histories, transient attributes,
//! and the views `halo status` shows.
//!
//! The status section is rebuilt by every join round from what the members report
//! (each node's own LRM history is authoritative for what runs on it) and then kept up
//! to date by the DC, which records every operation result here and raises fail counts
//! the way Pacemaker's controller does:
//!
//! | failed operation                 | `fail-count-RSC#OP_INTERVAL` |
//! | -------------------------------- | ---------------------------- |
//! | recurring monitor, promote, demote | +1                         |
//! | start                            | INFINITY if `start-failure-is-fatal` (default), else +1 |
//! | stop                             | INFINITY                     |
//! | probe (one-shot monitor)         | unchanged                    |
//!
//! with `last-failure-RSC#OP_INTERVAL` set to the time of the result. The policy
//! engine reads both (`migration-threshold`, `failure-timeout`).

use std::collections::BTreeMap;

use halo_cib::model::{
    Lrm, LrmResource, LrmResources, LrmRscOp, NodeState, NvPair, NvSet, Resource,
    TransientAttributes,
};
use halo_cib::{Cib, CibError, INFINITY};
use halo_types::NodeName;

use crate::types::{FailCount, FailedAction, OpOutcome, ResourceView};

/// The id the configuration gives node `uname` (its name when it is not listed).
pub fn node_id(cib: &Cib, uname: &str) -> String {
    cib.configuration
        .nodes
        .iter()
        .find(|n| n.uname == uname)
        .map_or_else(|| uname.to_string(), |n| n.id.clone())
}

/// The state entry of node `uname`, created if missing.
pub fn node_state_mut<'c>(cib: &'c mut Cib, uname: &str) -> &'c mut NodeState {
    let pos = match cib
        .status
        .iter()
        .position(|s| s.uname.as_deref() == Some(uname))
    {
        Some(p) => p,
        None => {
            let id = node_id(cib, uname);
            cib.status.push(NodeState {
                id,
                uname: Some(uname.to_string()),
                ..NodeState::default()
            });
            cib.status.len() - 1
        }
    };
    &mut cib.status[pos]
}

/// The state entry of node `uname`, if any.
pub fn node_state<'c>(cib: &'c Cib, uname: &str) -> Option<&'c NodeState> {
    cib.status
        .iter()
        .find(|s| s.uname.as_deref() == Some(uname))
}

/// How a node takes part, as the join round found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// A member that joined: it runs resources.
    Joined,
    /// A member that did not answer the join round.
    Unjoined,
    /// Not a member.
    Away,
}

/// Sets the membership flags of a node state the way Pacemaker's controller writes
/// them (`in_ccm`, `crmd`, `join`, `expected`).
pub fn set_presence(ns: &mut NodeState, p: Presence) {
    let (in_ccm, crmd, join, expected) = match p {
        Presence::Joined => ("true", "online", "member", "member"),
        Presence::Unjoined => ("true", "offline", "pending", "member"),
        Presence::Away => ("false", "offline", "down", "down"),
    };
    ns.in_ccm = Some(in_ccm.into());
    ns.crmd = Some(crmd.into());
    ns.join = Some(join.into());
    ns.expected = Some(expected.into());
    ns.crm_debug_origin = Some("halo-join".into());
}

/// The resource histories of a node state, created if missing.
fn lrm_list(ns: &mut NodeState) -> &mut Vec<LrmResource> {
    let id = ns.id.clone();
    let lrm = ns.lrm.get_or_insert(Lrm {
        id: Some(id),
        resources: None,
    });
    &mut lrm.resources.get_or_insert_with(LrmResources::default).list
}

/// Replaces (or adds) one resource history of a node.
pub fn put_lrm_resource(ns: &mut NodeState, r: LrmResource) {
    let list = lrm_list(ns);
    match list.iter_mut().find(|x| x.id == r.id) {
        Some(x) => *x = r,
        None => list.push(r),
    }
}

/// Removes one resource history of a node; whether there was one.
pub fn remove_lrm_resource(ns: &mut NodeState, id: &str) -> bool {
    let list = lrm_list(ns);
    let before = list.len();
    list.retain(|r| r.id != id);
    list.len() != before
}

/// Replaces every resource history of a node.
pub fn set_lrm_resources(ns: &mut NodeState, list: Vec<LrmResource>) {
    *lrm_list(ns) = list;
}

/// The transient attributes of a node, in order.
pub fn transient_attrs(ns: &NodeState) -> Vec<(String, String)> {
    ns.transient
        .iter()
        .flat_map(|t| &t.attributes)
        .flat_map(|s| &s.pairs)
        .filter_map(|p| Some((p.name.clone()?, p.value.clone()?)))
        .collect()
}

/// Sets (`Some`) or removes (`None`) a transient attribute of a node.
pub fn set_transient(ns: &mut NodeState, name: &str, value: Option<&str>) {
    let set_id = format!("status-{}", ns.id);
    let t = ns.transient.get_or_insert_with(|| TransientAttributes {
        id: Some(ns.id.clone()),
        ..TransientAttributes::default()
    });
    match value {
        Some(v) => {
            for s in &mut t.attributes {
                if let Some(p) = s.pairs.iter_mut().find(|p| p.name.as_deref() == Some(name)) {
                    p.value = Some(v.to_string());
                    return;
                }
            }
            if t.attributes.is_empty() {
                t.attributes.push(NvSet::new(&set_id, Vec::new()));
            }
            let pair_id = format!("{set_id}-{}", sanitize_id(name));
            t.attributes[0].pairs.push(NvPair::new(&pair_id, name, v));
        }
        None => {
            for s in &mut t.attributes {
                s.pairs.retain(|p| p.name.as_deref() != Some(name));
            }
        }
    }
}

fn sanitize_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `fail-count-` and `last-failure-` attribute names for an operation.
fn fail_attrs(resource: &str, action: &str, interval_ms: u64) -> (String, String) {
    let suffix = format!("{resource}#{action}_{interval_ms}");
    (
        format!("fail-count-{suffix}"),
        format!("last-failure-{suffix}"),
    )
}

/// The resource id a history name refers to in attribute names: anonymous clone
/// instances (`rsc:2`) count under the clone's primitive (`rsc`).
fn base_id(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

/// Raises the fail count of a failed operation (see the module table). Returns the
/// attributes changed, for replication.
pub fn record_failure(
    ns: &mut NodeState,
    outcome: &OpOutcome,
    start_failure_is_fatal: bool,
) -> Vec<(String, Option<String>)> {
    let probe = outcome.action == "monitor" && outcome.interval_ms == 0;
    if !outcome.failed || probe {
        return Vec::new();
    }
    let rsc = base_id(&outcome.resource);
    let (count_attr, last_attr) = fail_attrs(rsc, &outcome.action, outcome.interval_ms);
    let current: i64 = transient_attrs(ns)
        .into_iter()
        .find(|(n, _)| *n == count_attr)
        .and_then(|(_, v)| parse_count(&v))
        .unwrap_or(0);
    let infinity = i64::from(INFINITY);
    let next = match outcome.action.as_str() {
        "start" if start_failure_is_fatal => infinity,
        "stop" => infinity,
        _ => (current + 1).min(infinity),
    };
    let count = if next >= infinity {
        "INFINITY".to_string()
    } else {
        next.to_string()
    };
    let last = outcome.epoch_secs.to_string();
    set_transient(ns, &count_attr, Some(&count));
    set_transient(ns, &last_attr, Some(&last));
    vec![(count_attr, Some(count)), (last_attr, Some(last))]
}

fn parse_count(v: &str) -> Option<i64> {
    match v {
        "INFINITY" | "+INFINITY" => Some(i64::from(INFINITY)),
        _ => v.trim().parse().ok(),
    }
}

/// Whether a transient attribute name is a fail count or last failure of `rsc`
/// (`fail-count-rsc`, `fail-count-rsc#op_interval`, clone instances `rsc:N`).
fn is_fail_attr_of(name: &str, rsc: Option<&str>) -> bool {
    let Some(rest) = name
        .strip_prefix("fail-count-")
        .or_else(|| name.strip_prefix("last-failure-"))
    else {
        return false;
    };
    match rsc {
        None => true,
        Some(r) => {
            let id = rest.split('#').next().unwrap_or(rest);
            base_id(id) == r
        }
    }
}

/// Removes the fail counts and last failures of `rsc` (every resource when `None`)
/// from a node; returns the removed names.
pub fn clear_failures(ns: &mut NodeState, rsc: Option<&str>) -> Vec<String> {
    let names: Vec<String> = transient_attrs(ns)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| is_fail_attr_of(n, rsc))
        .collect();
    for n in &names {
        set_transient(ns, n, None);
    }
    names
}

/// A cluster option from the configuration (`cib-bootstrap-options` first).
pub fn cluster_option<'c>(cib: &'c Cib, name: &str) -> Option<&'c str> {
    let sets = &cib.configuration.crm_config;
    sets.iter()
        .filter(|s| s.id.as_deref() == Some("cib-bootstrap-options"))
        .chain(
            sets.iter()
                .filter(|s| s.id.as_deref() != Some("cib-bootstrap-options")),
        )
        .filter(|s| s.rule.is_none())
        .find_map(|s| s.get(name))
}

/// Parses a Pacemaker boolean.
pub fn truthy(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" | "1" => Some(true),
        "false" | "no" | "off" | "n" | "0" => Some(false),
        _ => None,
    }
}

/// Wraps a node state in a CIB so it can travel as XML.
pub fn node_state_to_xml(ns: &NodeState) -> String {
    Cib {
        status: vec![ns.clone()],
        ..Cib::default()
    }
    .to_xml()
}

/// Reads a node state written by [`node_state_to_xml`].
pub fn node_state_from_xml(xml: &str) -> Result<NodeState, CibError> {
    Cib::from_xml(xml)?
        .status
        .into_iter()
        .next()
        .ok_or_else(|| {
            CibError::at(
                0,
                halo_cib::ErrorKind::Structure("no <node_state> in the message".into()),
            )
        })
}

/// Wraps one resource history so it can travel as XML.
pub fn lrm_resource_to_xml(r: &LrmResource) -> String {
    let mut ns = NodeState {
        id: "x".into(),
        ..NodeState::default()
    };
    put_lrm_resource(&mut ns, r.clone());
    node_state_to_xml(&ns)
}

/// Reads a resource history written by [`lrm_resource_to_xml`].
pub fn lrm_resource_from_xml(xml: &str) -> Result<LrmResource, CibError> {
    let ns = node_state_from_xml(xml)?;
    ns.lrm_resources().first().cloned().ok_or_else(|| {
        CibError::at(
            0,
            halo_cib::ErrorKind::Structure("no <lrm_resource> in the message".into()),
        )
    })
}

/// The target rc of a transition key `action:transition:rc:uuid`.
pub fn key_target_rc(key: Option<&str>) -> Option<i32> {
    key?.split(':').nth(2)?.trim().parse().ok()
}

/// What a resource's history says about it on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Not running.
    Stopped,
    /// Running.
    Started,
    /// Running, promoted.
    Promoted,
    /// Running, unpromoted (after a demote).
    Unpromoted,
    /// Being started.
    Starting,
    /// Being stopped.
    Stopping,
    /// Failed: in an unknown or broken state.
    Failed,
}

impl RunState {
    /// Whether the resource may be active (anything but cleanly stopped).
    pub fn active(self) -> bool {
        self != RunState::Stopped
    }

    /// The name `halo status` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Stopped => "Stopped",
            RunState::Started => "Started",
            RunState::Promoted => "Promoted",
            RunState::Unpromoted => "Unpromoted",
            RunState::Starting => "Starting",
            RunState::Stopping => "Stopping",
            RunState::Failed => "FAILED",
        }
    }
}

fn op_ok(op: &LrmRscOp) -> bool {
    op.op_status == 0 && key_target_rc(op.transition_key.as_deref()).is_none_or(|t| t == op.rc_code)
}

/// The state one resource history implies (a display approximation of the policy
/// engine's history replay: the last one-shot operation decides, a failed recurring
/// monitor after it means failed, pending operations are in progress).
pub fn run_state(r: &LrmResource) -> RunState {
    if let Some(p) = r.ops.iter().find(|o| o.op_status == -1 && o.call_id == -1) {
        return match p.operation.as_str() {
            "stop" | "demote" => RunState::Stopping,
            _ => RunState::Starting,
        };
    }
    let last = r
        .ops
        .iter()
        .filter(|o| o.interval == 0 && o.op_status != 1)
        .max_by_key(|o| o.call_id);
    let Some(last) = last else {
        return RunState::Stopped;
    };
    let mut state = match (last.operation.as_str(), last.rc_code) {
        ("stop", 0) if last.op_status == 0 => RunState::Stopped,
        ("stop", _) => RunState::Failed,
        ("monitor", 7) if last.op_status == 0 => RunState::Stopped,
        ("monitor", 0) if last.op_status == 0 => RunState::Started,
        ("monitor", 8) if last.op_status == 0 => RunState::Promoted,
        ("promote", 0) if op_ok(last) => RunState::Promoted,
        ("demote", 0) if op_ok(last) => RunState::Unpromoted,
        ("start" | "migrate_from" | "reload" | "reload-agent", 0) if op_ok(last) => {
            RunState::Started
        }
        ("notify" | "meta-data" | "validate-all", _) => RunState::Started,
        _ => RunState::Failed,
    };
    if state != RunState::Stopped {
        let failed_after = r
            .ops
            .iter()
            .filter(|o| o.interval > 0 && o.call_id > last.call_id)
            .any(|o| !op_ok(o));
        if failed_after {
            state = RunState::Failed;
        }
    }
    state
}

/// Where each resource history says something is active: `(history name, node,
/// state)` for every node state that is not cleanly stopped.
pub fn active(cib: &Cib) -> Vec<(String, NodeName, RunState)> {
    let mut out = Vec::new();
    for ns in &cib.status {
        let Some(node) = ns.uname.as_deref().and_then(|u| NodeName::new(u).ok()) else {
            continue;
        };
        for r in ns.lrm_resources() {
            let s = run_state(r);
            if s.active() {
                out.push((r.id.clone(), node.clone(), s));
            }
        }
    }
    out
}

/// Nodes where resource `id` (a primitive, group or clone) is active.
pub fn active_nodes(cib: &Cib, id: &str) -> Vec<NodeName> {
    let prims = primitives_of(cib, id);
    let mut nodes: Vec<NodeName> = active(cib)
        .into_iter()
        .filter(|(r, _, _)| prims.iter().any(|p| p == base_id(r)))
        .map(|(_, n, _)| n)
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes
}

/// The primitive ids inside resource `id` (itself if it is a primitive); empty when
/// there is no such resource.
pub fn primitives_of(cib: &Cib, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for r in &cib.configuration.resources {
        collect_prims(r, id, false, &mut out);
    }
    out
}

fn collect_prims(r: &Resource, id: &str, inside: bool, out: &mut Vec<String>) {
    let hit = inside || r.id() == id;
    match r {
        Resource::Primitive(p) => {
            if hit {
                out.push(p.id.clone());
            }
        }
        Resource::Group(g) => {
            for m in &g.members {
                if hit || m.id == id {
                    out.push(m.id.clone());
                }
            }
        }
        Resource::Clone(c) => match &c.child {
            halo_cib::model::CloneChild::Primitive(p) => {
                if hit || p.id == id {
                    out.push(p.id.clone());
                }
            }
            halo_cib::model::CloneChild::Group(g) => {
                let ghit = hit || g.id == id;
                for m in &g.members {
                    if ghit || m.id == id {
                        out.push(m.id.clone());
                    }
                }
            }
        },
    }
}

/// Whether resource `id` exists (at any level).
pub fn resource_exists(cib: &Cib, id: &str) -> bool {
    !primitives_of(cib, id).is_empty() || cib.configuration.resources.iter().any(|r| r.id() == id)
}

/// Every primitive with its parent (group or clone) and whether it is cloned.
fn all_primitives(cib: &Cib) -> Vec<(&halo_cib::model::Primitive, Option<&str>, bool)> {
    let mut out = Vec::new();
    for r in &cib.configuration.resources {
        match r {
            Resource::Primitive(p) => out.push((p, None, false)),
            Resource::Group(g) => {
                for m in &g.members {
                    out.push((m, Some(g.id.as_str()), false));
                }
            }
            Resource::Clone(c) => match &c.child {
                halo_cib::model::CloneChild::Primitive(p) => {
                    out.push((p, Some(c.id.as_str()), true));
                }
                halo_cib::model::CloneChild::Group(g) => {
                    for m in &g.members {
                        out.push((m, Some(c.id.as_str()), true));
                    }
                }
            },
        }
    }
    out
}

/// Whether primitive (or history name) `id` belongs to a clone.
pub fn is_cloned(cib: &Cib, id: &str) -> bool {
    all_primitives(cib)
        .iter()
        .any(|(p, _, cloned)| *cloned && p.id == base_id(id))
}

fn meta_value<'c>(sets: &'c [NvSet], name: &str) -> Option<&'c str> {
    sets.iter()
        .filter(|s| s.rule.is_none())
        .find_map(|s| s.get(name))
}

/// The resources as `halo status` lists them: one line per primitive and node where
/// it is active, or one `Stopped` line.
pub fn resource_views(cib: &Cib) -> Vec<ResourceView> {
    let act = active(cib);
    let mut out = Vec::new();
    for (p, parent, _) in all_primitives(cib) {
        let target_role = meta_value(&p.meta, "target-role").map(str::to_string);
        let base = ResourceView {
            id: p.id.clone(),
            parent: parent.map(str::to_string),
            class: p.class.clone(),
            provider: p.provider.clone(),
            kind: p.agent.clone(),
            role: RunState::Stopped.as_str().to_string(),
            node: None,
            target_role,
        };
        let mut any = false;
        for (name, node, state) in &act {
            if base_id(name) == p.id {
                any = true;
                out.push(ResourceView {
                    id: name.clone(),
                    role: state.as_str().to_string(),
                    node: Some(node.clone()),
                    ..base.clone()
                });
            }
        }
        if !any {
            out.push(base);
        }
    }
    out
}

/// The failed operations recorded in the status section (`RSC_last_failure_0`
/// entries and failed recurring monitors).
pub fn failed_actions(cib: &Cib) -> Vec<FailedAction> {
    let mut out = Vec::new();
    for ns in &cib.status {
        let Some(node) = ns.uname.as_deref().and_then(|u| NodeName::new(u).ok()) else {
            continue;
        };
        for r in ns.lrm_resources() {
            for op in &r.ops {
                let is_last_failure = op.id.ends_with("_last_failure_0");
                let probe_ok = op.operation == "monitor"
                    && op.interval == 0
                    && op.op_status == 0
                    && matches!(op.rc_code, 0 | 7 | 8);
                if !is_last_failure || op_ok(op) || probe_ok {
                    continue;
                }
                out.push(FailedAction {
                    resource: r.id.clone(),
                    key: op
                        .operation_key
                        .clone()
                        .unwrap_or_else(|| format!("{}_{}_{}", r.id, op.operation, op.interval)),
                    node: node.clone(),
                    rc: op.rc_code,
                    op_status: op.op_status,
                    exit_reason: op.exit_reason.clone().filter(|s| !s.is_empty()),
                    last_rc_change: op.last_rc_change.clone(),
                });
            }
        }
    }
    out
}

/// The fail counts in the status section.
pub fn fail_counts(cib: &Cib) -> Vec<FailCount> {
    let mut out = Vec::new();
    for ns in &cib.status {
        let Some(node) = ns.uname.as_deref().and_then(|u| NodeName::new(u).ok()) else {
            continue;
        };
        for (name, value) in transient_attrs(ns) {
            let Some(rest) = name.strip_prefix("fail-count-") else {
                continue;
            };
            let (rsc, op) = match rest.split_once('#') {
                Some((r, o)) => (r.to_string(), Some(o.to_string())),
                None => (rest.to_string(), None),
            };
            if let Some(count) = parse_count(&value).filter(|&c| c > 0) {
                out.push(FailCount {
                    resource: rsc,
                    node: node.clone(),
                    operation: op,
                    count,
                });
            }
        }
    }
    out
}

/// A pending `lrm_rsc_op` entry for an operation in flight (reported in join replies so
/// that a new DC knows what is being started or stopped).
pub fn pending_op(
    resource: &str,
    action: &str,
    interval_ms: u64,
    key: &str,
    node: &str,
) -> LrmRscOp {
    LrmRscOp {
        id: format!("{resource}_pending_{action}_{interval_ms}"),
        operation_key: Some(format!("{resource}_{action}_{interval_ms}")),
        operation: action.to_string(),
        call_id: -1,
        rc_code: 193,
        op_status: -1,
        interval: interval_ms,
        transition_key: Some(key.to_string()),
        transition_magic: Some(format!("-1:193;{key}")),
        on_node: Some(node.to_string()),
        crm_debug_origin: Some("halo-pending".into()),
        ..LrmRscOp::default()
    }
}

/// Attribute changes as a map (for tests and replication).
pub fn attr_map(ns: &NodeState) -> BTreeMap<String, String> {
    transient_attrs(ns).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(action: &str, interval_ms: u64, failed: bool) -> OpOutcome {
        OpOutcome {
            resource: "ip".into(),
            action: action.into(),
            interval_ms,
            call_id: 5,
            rc: if failed { 7 } else { 0 },
            op_status: if failed { 4 } else { 0 },
            expected_rc: 0,
            failed,
            transition_key: None,
            exit_reason: None,
            epoch_secs: 1_700_000_123,
        }
    }

    fn ns() -> NodeState {
        NodeState {
            id: "a".into(),
            uname: Some("a".into()),
            ..NodeState::default()
        }
    }

    #[test]
    fn monitor_failures_count_up_start_and_stop_failures_are_infinite() {
        let mut n = ns();
        record_failure(&mut n, &outcome("monitor", 10_000, true), true);
        record_failure(&mut n, &outcome("monitor", 10_000, true), true);
        let attrs = attr_map(&n);
        assert_eq!(attrs["fail-count-ip#monitor_10000"], "2");
        assert_eq!(attrs["last-failure-ip#monitor_10000"], "1700000123");
        record_failure(&mut n, &outcome("start", 0, true), true);
        assert_eq!(attr_map(&n)["fail-count-ip#start_0"], "INFINITY");
        record_failure(&mut n, &outcome("start", 0, true), false);
        // INFINITY stays INFINITY.
        assert_eq!(attr_map(&n)["fail-count-ip#start_0"], "INFINITY");
        record_failure(&mut n, &outcome("stop", 0, true), false);
        assert_eq!(attr_map(&n)["fail-count-ip#stop_0"], "INFINITY");
    }

    #[test]
    fn probes_and_successes_do_not_count() {
        let mut n = ns();
        assert!(record_failure(&mut n, &outcome("monitor", 0, true), true).is_empty());
        assert!(record_failure(&mut n, &outcome("monitor", 10_000, false), true).is_empty());
        assert!(attr_map(&n).is_empty());
    }

    #[test]
    fn start_failure_not_fatal_counts_one() {
        let mut n = ns();
        record_failure(&mut n, &outcome("start", 0, true), false);
        assert_eq!(attr_map(&n)["fail-count-ip#start_0"], "1");
    }

    #[test]
    fn clearing_removes_only_that_resource() {
        let mut n = ns();
        record_failure(&mut n, &outcome("monitor", 10_000, true), true);
        set_transient(&mut n, "fail-count-db#monitor_5000", Some("1"));
        set_transient(&mut n, "standby-ish", Some("x"));
        let removed = clear_failures(&mut n, Some("ip"));
        assert_eq!(removed.len(), 2);
        let left = attr_map(&n);
        assert!(left.contains_key("fail-count-db#monitor_5000"));
        assert!(left.contains_key("standby-ish"));
        clear_failures(&mut n, None);
        assert_eq!(attr_map(&n).len(), 1);
    }

    #[test]
    fn node_state_and_history_travel_as_xml() {
        let mut n = ns();
        set_transient(&mut n, "fail-count-ip#start_0", Some("INFINITY"));
        put_lrm_resource(
            &mut n,
            LrmResource {
                id: "ip".into(),
                class: Some("ocf".into()),
                provider: Some("heartbeat".into()),
                agent: Some("IPaddr2".into()),
                ops: vec![pending_op("ip", "start", 0, "3:1:0:x", "a")],
                ..LrmResource::default()
            },
        );
        let back = node_state_from_xml(&node_state_to_xml(&n)).expect("parses");
        assert_eq!(back, n);
        let r = n.lrm_resources()[0].clone();
        assert_eq!(lrm_resource_from_xml(&lrm_resource_to_xml(&r)), Ok(r));
    }

    fn op(id: &str, operation: &str, interval: u64, call: i64, rc: i32, target: i32) -> LrmRscOp {
        LrmRscOp {
            id: id.into(),
            operation: operation.into(),
            interval,
            call_id: call,
            rc_code: rc,
            transition_key: Some(format!("1:1:{target}:x")),
            ..LrmRscOp::default()
        }
    }

    #[test]
    fn run_state_follows_the_history() {
        let mut r = LrmResource {
            id: "ip".into(),
            ..LrmResource::default()
        };
        assert_eq!(run_state(&r), RunState::Stopped);
        r.ops = vec![op("ip_last_0", "start", 0, 3, 0, 0)];
        assert_eq!(run_state(&r), RunState::Started);
        r.ops
            .push(op("ip_monitor_10000", "monitor", 10_000, 4, 0, 0));
        assert_eq!(run_state(&r), RunState::Started);
        r.ops[1].rc_code = 7;
        assert_eq!(run_state(&r), RunState::Failed);
        r.ops = vec![op("ip_last_0", "monitor", 0, 3, 7, 7)];
        assert_eq!(run_state(&r), RunState::Stopped);
        r.ops = vec![op("ip_last_0", "monitor", 0, 3, 0, 7)];
        assert_eq!(run_state(&r), RunState::Started);
        r.ops = vec![op("ip_last_0", "stop", 0, 3, 0, 0)];
        assert_eq!(run_state(&r), RunState::Stopped);
        r.ops = vec![op("ip_last_0", "start", 0, 3, 1, 0)];
        assert_eq!(run_state(&r), RunState::Failed);
        r.ops.push(pending_op("ip", "stop", 0, "1:2:0:x", "a"));
        assert_eq!(run_state(&r), RunState::Stopping);
    }
}
