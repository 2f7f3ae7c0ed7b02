//! Executing a transition on paper (`crm_simulate -S`): every action succeeds
//! with its expected result, in the order a transition engine would run them,
//! and the CIB's status section is updated as the cluster would update it.
//!
//! ```text
//!   Transition ──▶ passes over the synapses: fire each one whose inputs
//!                  have completed (pseudo actions complete at once)
//!              ──▶ "Executing Cluster Transition" lines
//!   Cib ─────────▶ history entries for resource actions, fenced nodes down
//!              ──▶ revised Cib (its status is the "Revised Cluster Status")
//! ```

use halo_cib::Cib;
use halo_cib::model::{Lrm, LrmResource, LrmResources, LrmRscOp, NodeState};
use halo_types::Timestamp;

use crate::graph::{ActionKind, GraphAction};
use crate::transition::Transition;

/// The result of [`simulate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// What was executed, in order, in `crm_simulate`'s words.
    pub executed: Vec<String>,
    /// The CIB after the transition.
    pub cib: Cib,
}

/// Executes `transition` against `cib` at time `now`.
pub fn simulate(cib: &Cib, transition: &Transition, now: Timestamp) -> Simulation {
    let now = i64::try_from(now.as_duration().as_secs()).unwrap_or(i64::MAX);
    let mut cib = cib.clone();
    let actions = &transition.actions;
    let mut done = vec![false; actions.len()];
    let mut executed = Vec::new();
    loop {
        let mut progress = false;
        for (i, a) in actions.iter().enumerate() {
            if done[i] || !a.blocked_by.is_empty() || a.inputs.iter().any(|&j| !done[j]) {
                continue;
            }
            done[i] = true;
            progress = true;
            execute(&mut cib, a, now, &mut executed);
        }
        if !progress {
            break;
        }
    }
    Simulation { executed, cib }
}

fn execute(cib: &mut Cib, a: &GraphAction, now: i64, out: &mut Vec<String>) {
    let node = a.node.as_deref().unwrap_or("");
    match a.kind {
        ActionKind::Pseudo => out.push(format!("Pseudo action:   {}", a.key)),
        ActionKind::Fence => {
            let op = a.fence_action.as_deref().unwrap_or("reboot");
            out.push(format!("Fencing {node} ({op})"));
            if !op.eq_ignore_ascii_case("on") {
                fence(cib, node);
            }
        }
        ActionKind::Cluster => match &a.op_rsc {
            Some(r) => out.push(format!("Cluster action:  {} for {r} on {node}", a.task)),
            None => out.push(format!("Cluster action:  {} on {node}", a.task)),
        },
        ActionKind::Resource => {
            let name = a.history_name.as_deref().unwrap_or("");
            if a.interval_ms > 0 {
                out.push(format!(
                    "Resource action: {name:<15} {}={} on {node}",
                    a.task, a.interval_ms
                ));
            } else {
                out.push(format!("Resource action: {name:<15} {} on {node}", a.task));
            }
            // Deleting history is shown but leaves no history entry.
            if a.task != "delete" {
                record_result(cib, a, now);
            }
        }
    }
}

/// The node's state entry, created (with the configured node id) if needed.
fn node_state<'c>(cib: &'c mut Cib, uname: &str) -> &'c mut NodeState {
    let pos = cib
        .status
        .iter()
        .position(|s| s.uname.as_deref() == Some(uname))
        .unwrap_or_else(|| {
            let id = cib
                .configuration
                .nodes
                .iter()
                .find(|n| n.uname == uname)
                .map_or_else(|| uname.to_string(), |n| n.id.clone());
            cib.status.push(NodeState {
                id,
                uname: Some(uname.to_string()),
                ..NodeState::default()
            });
            cib.status.len() - 1
        });
    &mut cib.status[pos]
}

/// A fenced node is down, with its resource history and attributes gone.
fn fence(cib: &mut Cib, uname: &str) {
    let ns = node_state(cib, uname);
    ns.in_ccm = Some("false".into());
    ns.crmd = Some("offline".into());
    ns.join = Some("down".into());
    ns.expected = Some("down".into());
    ns.crm_debug_origin = Some("halo-sim".into());
    ns.lrm = None;
    ns.transient = None;
}

/// `pcmk__inject_resource_history` + `pcmk__create_history_xml` for a
/// successful result.
fn record_result(cib: &mut Cib, a: &GraphAction, now: i64) {
    let (Some(node), Some(name), Some(op_rsc)) = (&a.node, &a.history_name, &a.op_rsc) else {
        return;
    };
    let ns = node_state(cib, node);
    let node_id = ns.id.clone();
    let lrm = ns.lrm.get_or_insert(Lrm {
        id: Some(node_id),
        resources: None,
    });
    let list = &mut lrm.resources.get_or_insert_with(LrmResources::default).list;
    let pos = list.iter().position(|r| r.id == *name).unwrap_or_else(|| {
        let (class, provider, agent) = a.agent.clone().unwrap_or_default();
        list.push(LrmResource {
            id: name.clone(),
            class: Some(class),
            provider,
            agent: Some(agent),
            ..LrmResource::default()
        });
        list.len() - 1
    });
    let history = &mut list[pos];
    let call_id = history
        .ops
        .iter()
        .map(|o| o.call_id)
        .max()
        .unwrap_or(0)
        .max(0)
        + 1;
    let rc = a.target_rc.unwrap_or(0);
    let key = crate::util::op_key(op_rsc, &a.task, a.interval_ms);
    let id = match &a.notify {
        Some((ty, op)) => format!("{op_rsc}_{ty}_notify_{op}_0"),
        None if a.interval_ms > 0 => key.clone(),
        None => crate::util::op_key(op_rsc, "last", 0),
    };
    let pos = history
        .ops
        .iter()
        .position(|o| o.id == id)
        .unwrap_or_else(|| {
            history.ops.push(LrmRscOp {
                id: id.clone(),
                ..LrmRscOp::default()
            });
            history.ops.len() - 1
        });
    let op = &mut history.ops[pos];
    let transition_key = format!("{call_id}:-1:{rc}:halo-sim");
    op.operation_key = Some(key);
    op.operation = a.task.clone();
    op.crm_debug_origin = Some("halo-sim".into());
    op.transition_magic = Some(format!("0:{rc};{transition_key}"));
    op.transition_key = Some(transition_key);
    op.exit_reason = Some(String::new());
    op.on_node = Some(node.clone());
    op.call_id = call_id;
    op.rc_code = rc;
    op.op_status = 0;
    op.interval = u64::from(a.interval_ms);
    op.last_rc_change = Some(now.to_string());
    op.last_run = Some(now.to_string());
    op.exec_time = Some("0".into());
    op.queue_time = Some("0".into());
}
