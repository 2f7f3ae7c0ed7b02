//! Stage 10: the transition graph — the actions that will run, each with the
//! actions it must wait for (Pacemaker's `pcmk__create_graph`).
//!
//! An action is in the graph when it is runnable and required (or a pseudo
//! action standing for a synchronisation point); an input is kept when its
//! ordering can still matter. Resources contribute their actions in
//! scheduling order (each resource's newest action first, then its
//! children's), then the node-level actions (fencing, shutdown).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::nvsets::{Refs, RuleInput, unpack_into_btree};
use crate::sched::*;
use crate::util::op_key;

/// The kind of a graph action, which decides how it is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// A resource agent operation on a node.
    Resource,
    /// A synchronisation point that runs nowhere.
    Pseudo,
    /// Fencing a node.
    Fence,
    /// A cluster action (`do_shutdown`, `clear_failcount`, `lrm_delete`).
    Cluster,
}

/// One action of the transition graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphAction {
    /// Index in [`crate::Transition::actions`] (the synapse number).
    pub id: usize,
    /// The scheduler's number for the action (stable across formats).
    pub action_id: usize,
    /// How the action is executed.
    pub kind: ActionKind,
    /// Operation key (`rsc_start_0`, `grp_running_0`), with the resource's
    /// history id for resource actions.
    pub key: String,
    /// Task (`start`, `stop`, `monitor`, `stonith`, `running`, `cancel`, ...).
    pub task: String,
    /// The resource (its scheduler id, e.g. `rsc:1`), if any.
    pub resource: Option<String>,
    /// The name the executor knows the resource by (its history id).
    pub history_name: Option<String>,
    /// The resource name operation keys are recorded under (the
    /// configured id for anonymous clone instances).
    pub op_rsc: Option<String>,
    /// Agent class, provider and type of the resource.
    pub agent: Option<(String, Option<String>, String)>,
    /// Node it runs on, if any.
    pub node: Option<String>,
    /// Interval for recurring operations (ms).
    pub interval_ms: u32,
    /// Fence action (`reboot`, `off`, `on`) for fencing.
    pub fence_action: Option<String>,
    /// Expected result (7 = not running, 8 = promoted) where not 0.
    pub target_rc: Option<i32>,
    /// Notification type and operation (`pre`/`post`, `start`) for notifies.
    pub notify: Option<(String, String)>,
    /// Synapse ids of the actions that must complete first.
    pub inputs: Vec<usize>,
    /// Inputs that are not themselves in the graph (the action waits forever).
    pub blocked_by: Vec<String>,
    /// The parameters the agent is called with, as Pacemaker puts them into a
    /// graph action: the resource's instance attributes evaluated for the node,
    /// then the operation's own instance attributes (`OCF_CHECK_LEVEL`, ...).
    /// The executor's `op-digest` is computed over these, so a transition
    /// engine that passes them unchanged records digests the scheduler accepts.
    pub params: BTreeMap<String, String>,
    /// The action's meta-attributes (Pacemaker's `CRM_meta_*` without the
    /// prefix): `timeout` and `interval` in milliseconds, `on-fail`, and the
    /// scheduler's own (`op_target_rc`, notification keys, ...).
    pub meta: BTreeMap<String, String>,
}

impl<'a> Scheduler<'a> {
    /// `pcmk__deduplicate_action_inputs`: sorts inputs by action number and
    /// merges duplicates.
    fn deduplicate_inputs(&mut self, a: ActionId) {
        let mut before = std::mem::take(&mut self.actions[a].before);
        before.sort_by_key(|r| r.action);
        let mut out: Vec<Rel> = Vec::with_capacity(before.len());
        for r in before {
            match out.last_mut() {
                Some(last) if last.action == r.action => {
                    last.flags |= r.flags;
                    last.graphed |= r.graphed;
                }
                _ => out.push(Rel {
                    graphed: false,
                    ..r
                }),
            }
        }
        self.actions[a].before = out;
    }

    /// `should_add_action_to_graph`.
    fn should_add_action_to_graph(&self, a: ActionId) -> bool {
        let act = &self.actions[a];
        if act.flags & af::RUNNABLE == 0 {
            return false;
        }
        if act.flags & af::OPTIONAL != 0 && act.flags & af::ALWAYS_IN_GRAPH == 0 {
            return false;
        }
        if let Some(r) = act.rsc
            && !self.rflag(r, rf::MANAGED)
            && act.task != "monitor"
            && act.interval_ms == 0
        {
            return false;
        }
        if act.flags & af::PSEUDO != 0 || act.task == "stonith" || act.task == "do_shutdown" {
            return true;
        }
        let Some(n) = act.node else { return false };
        if act.flags & af::ON_DC != 0 {
            return true;
        }
        let node = &self.nodes[n];
        node.online && !node.unclean
    }

    /// `should_add_input_to_graph` (may disable the input, as Pacemaker does).
    fn should_add_input_to_graph(&mut self, a: ActionId, i: usize) -> bool {
        let input = self.actions[a].before[i];
        if input.graphed {
            return true;
        }
        let ia = input.action;
        let iflags = self.actions[ia].flags;
        let runnable = iflags & af::RUNNABLE != 0;
        let can_change = input.flags
            & !(ar::THEN_IMPLIES_FIRST_GRAPHED | ar::FIRST_IMPLIES_THEN_GRAPHED | ar::ORDERED)
            != 0;
        let disable = |s: &mut Self| s.actions[a].before[i].flags = ar::NONE;
        if input.flags == ar::NONE {
            return false;
        }
        if !runnable && !can_change {
            return false;
        }
        if !runnable && input.flags & ar::MIN_RUNNABLE != 0 {
            return false;
        }
        if input.flags & ar::UNMIGRATABLE_THEN_BLOCKS != 0 && !runnable {
            return false;
        }
        if input.flags & ar::IF_FIRST_UNMIGRATABLE != 0 && iflags & af::MIGRATABLE != 0 {
            return false;
        }
        if input.flags == ar::ORDERED
            && iflags & af::MIGRATABLE != 0
            && self.actions[ia].uuid.ends_with("_stop_0")
        {
            return false;
        }
        if input.flags == ar::IF_ON_SAME_NODE_OR_TARGET {
            let input_node = self.actions[ia].node;
            let act = &self.actions[a];
            if let Some(r) = act.rsc
                && act.task == "migrate_to"
            {
                if input_node != self.rscs[r].assigned {
                    disable(self);
                    return false;
                }
            } else if input_node != act.node || iflags & af::OPTIONAL != 0 {
                disable(self);
                return false;
            }
            return true;
        }
        if input.flags == ar::IF_REQUIRED_ON_SAME_NODE {
            let (inode, anode) = (self.actions[ia].node, self.actions[a].node);
            if (inode.is_some() && anode.is_some() && inode != anode) || iflags & af::OPTIONAL != 0
            {
                disable(self);
                return false;
            }
            return true;
        }
        if let Some(ir) = self.actions[ia].rsc
            && Some(ir) != self.actions[a].rsc
            && self.rflag(ir, rf::FAILED)
            && !self.rflag(ir, rf::MANAGED)
            && self.actions[ia].uuid.ends_with("_stop_0")
            && self.actions[a].rsc.is_some_and(|r| self.is_clone(r))
        {
            return false;
        }
        if iflags & af::OPTIONAL != 0
            && iflags & (af::ALWAYS_IN_GRAPH | af::ADDED_TO_GRAPH) == 0
            && !self.should_add_action_to_graph(ia)
        {
            return false;
        }
        true
    }

    /// `add_action_to_graph`.
    fn add_action_to_graph(&mut self, a: ActionId, order: &mut Vec<ActionId>) {
        if !self.aflag(a, af::INPUTS_DEDUPLICATED) {
            self.deduplicate_inputs(a);
            self.actions[a].flags |= af::INPUTS_DEDUPLICATED;
        }
        if self.aflag(a, af::ADDED_TO_GRAPH) || !self.should_add_action_to_graph(a) {
            return;
        }
        self.actions[a].flags |= af::ADDED_TO_GRAPH;
        order.push(a);
        for i in 0..self.actions[a].before.len() {
            if self.should_add_input_to_graph(a, i) {
                self.actions[a].before[i].graphed = true;
            }
        }
    }

    /// `add_actions_to_graph` method.
    fn add_rsc_actions_to_graph(&mut self, refs: &Refs<'a>, r: RscId, order: &mut Vec<ActionId>) {
        if self.is_clone(r) {
            // pcmk__clone_add_actions_to_graph: the clone's own flags first,
            // then the notifications.
            for a in self.rscs[r].actions.clone().into_iter().rev() {
                self.clone_action_flags(a, None);
            }
            self.create_clone_notifications(refs, r);
            for c in self.rscs[r].children.clone() {
                self.add_rsc_actions_to_graph(refs, c, order);
            }
        }
        for a in self.rscs[r].actions.clone().into_iter().rev() {
            self.add_action_to_graph(a, order);
        }
        for c in self.rscs[r].children.clone() {
            self.add_rsc_actions_to_graph(refs, c, order);
        }
    }

    /// The resource id and long id written into graph actions
    /// (`add_resource_details`).
    fn graph_rsc_ids(&self, r: RscId) -> (String, String) {
        let rsc = &self.rscs[r];
        if rsc.flags & rf::REMOVED != 0
            && let Some(h) = &rsc.history_id
        {
            return (h.clone(), rsc.id.clone());
        }
        if rsc.flags & rf::UNIQUE == 0 {
            let long = match &rsc.history_id {
                Some(h) if *h != rsc.xml_id => h.clone(),
                _ => rsc.id.clone(),
            };
            return (rsc.xml_id.clone(), long);
        }
        (rsc.id.clone(), rsc.id.clone())
    }

    /// The executor's name for a resource: the graph id if that names a
    /// resource, otherwise the long id (as the simulator looks it up).
    fn history_name(&self, r: RscId) -> String {
        let (id, long) = self.graph_rsc_ids(r);
        if self.find_resource(&id).is_some() {
            id
        } else {
            long
        }
    }

    /// `clone_op_key`: the operation key with the resource's history id.
    fn graph_key(&self, a: ActionId) -> String {
        let act = &self.actions[a];
        let Some(r) = act.rsc else {
            return act.uuid.clone();
        };
        let Some(hid) = self.rscs[r].history_id.as_deref() else {
            return act.uuid.clone();
        };
        if act.task == "notify" {
            let ty = act.meta.get("notify_type").map_or("", String::as_str);
            let op = act.meta.get("notify_operation").map_or("", String::as_str);
            return format!("{hid}_{ty}_notify_{op}_0");
        }
        let task = match act.task.as_str() {
            "cancel" => act.meta.get("operation").map_or("cancel", String::as_str),
            t => t,
        };
        op_key(hid, task, act.interval_ms)
    }

    /// `pcmk__create_graph`: the graph's actions in synapse order.
    pub fn create_graph(&mut self, refs: &Refs<'a>) -> Vec<GraphAction> {
        let mut order: Vec<ActionId> = Vec::new();
        for r in self.top.clone() {
            self.add_rsc_actions_to_graph(refs, r, &mut order);
        }
        for a in (0..self.actions.len()).rev() {
            self.add_action_to_graph(a, &mut order);
        }
        let mut index = vec![usize::MAX; self.actions.len()];
        for (i, &a) in order.iter().enumerate() {
            index[a] = i;
        }
        let params: Vec<BTreeMap<String, String>> =
            order.iter().map(|&a| self.action_params(refs, a)).collect();
        order
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let act = &self.actions[a];
                let pseudo = act.flags & af::PSEUDO != 0;
                let kind = match act.task.as_str() {
                    _ if pseudo => ActionKind::Pseudo,
                    "stonith" => ActionKind::Fence,
                    "do_shutdown" | "clear_failcount" | "lrm_delete" => ActionKind::Cluster,
                    _ => ActionKind::Resource,
                };
                let mut inputs = Vec::new();
                let mut blocked_by = Vec::new();
                for rel in act.before.iter().filter(|r| r.graphed) {
                    match index[rel.action] {
                        usize::MAX => blocked_by.push(self.actions[rel.action].uuid.clone()),
                        j => inputs.push(j),
                    }
                }
                let notify = match (
                    act.meta.get("notify_type"),
                    act.meta.get("notify_operation"),
                ) {
                    (Some(t), Some(o)) if act.task == "notify" => Some((t.clone(), o.clone())),
                    _ => None,
                };
                GraphAction {
                    id: i,
                    action_id: a,
                    kind,
                    key: self.graph_key(a),
                    task: act.task.clone(),
                    resource: act.rsc.map(|r| self.rscs[r].id.clone()),
                    history_name: act.rsc.map(|r| self.history_name(r)),
                    op_rsc: act.rsc.map(|r| self.graph_rsc_ids(r).0),
                    agent: act.rsc.map(|r| {
                        let rsc = &self.rscs[r];
                        (rsc.class.clone(), rsc.provider.clone(), rsc.agent.clone())
                    }),
                    node: act.node.map(|n| self.nodes[n].name.clone()),
                    interval_ms: act.interval_ms,
                    fence_action: act.meta.get("stonith_action").cloned(),
                    target_rc: act
                        .meta
                        .get("op_target_rc")
                        .and_then(|v| v.parse().ok())
                        .filter(|&rc| rc != 0),
                    notify,
                    inputs,
                    blocked_by,
                    params: params[i].clone(),
                    meta: act.meta.clone(),
                }
            })
            .collect()
    }

    /// The agent parameters of a resource action (empty for other actions):
    /// the resource's instance attributes for the action's node, then the
    /// operation's own instance attributes.
    fn action_params(&mut self, refs: &Refs<'a>, a: ActionId) -> BTreeMap<String, String> {
        let (Some(r), node) = (self.actions[a].rsc, self.actions[a].node) else {
            return BTreeMap::new();
        };
        let mut params = self.rsc_params(refs, r, node);
        if let Some(op) = self.actions[a].op_entry {
            let input = RuleInput {
                node_attrs: node.map(|n| &self.nodes[n].attrs),
                ..RuleInput::default()
            };
            unpack_into_btree(refs, &op.instance, &input, &mut params);
        }
        params
    }

    /// `create_action_name` (for the dot file).
    fn dot_action_name(&self, a: ActionId) -> String {
        let act = &self.actions[a];
        let host = match act.node {
            Some(n) => Some(self.nodes[n].name.as_str()),
            None if act.flags & af::PSEUDO == 0 => Some("<none>"),
            None => None,
        };
        let (prefix, task) = if act.task == "cancel" {
            (
                "Cancel ",
                act.meta
                    .get("operation")
                    .map_or(act.task.as_str(), String::as_str),
            )
        } else {
            ("", act.task.as_str())
        };
        let with_host = |base: String| match host {
            Some(h) => format!("{prefix}{base} {h}"),
            None => format!("{prefix}{base}"),
        };
        if let Some(hid) = act.rsc.and_then(|r| self.rscs[r].history_id.as_deref()) {
            let key = if act.task == "notify" || act.task == "notified" {
                let ty = act.meta.get("notify_key_type").map_or("", String::as_str);
                let op = act
                    .meta
                    .get("notify_key_operation")
                    .map_or("", String::as_str);
                format!("{hid}_{ty}_notify_{op}_0")
            } else {
                op_key(hid, task, act.interval_ms)
            };
            return with_host(key);
        }
        if act.task == "stonith" {
            let op = act.meta.get("stonith_action").map_or("", String::as_str);
            return format!("{prefix}stonith '{op}' {}", host.unwrap_or(""));
        }
        if act.rsc.is_some() && host.is_some() {
            return with_host(act.uuid.clone());
        }
        if host.is_some() {
            return with_host(act.task.clone());
        }
        act.uuid.clone()
    }

    /// The graph in Graphviz syntax as `crm_simulate -D` writes it: actions
    /// in the graph bold, required-but-unrunnable ones red (with `all`, also
    /// optional ones blue and unmanaged ones purple).
    pub fn graph_dot(&self, all: bool) -> String {
        let mut out = String::from(" digraph \"g\" {\n");
        let mut shown = vec![false; self.actions.len()];
        for a in (0..self.actions.len()).rev() {
            let act = &self.actions[a];
            let mut font = if act.flags & af::PSEUDO != 0 {
                "orange"
            } else {
                "black"
            };
            let (style, color) = if act.flags & af::ADDED_TO_GRAPH != 0 {
                ("bold", "green")
            } else if act.rsc.is_some_and(|r| !self.rflag(r, rf::MANAGED)) {
                font = "purple";
                if !all {
                    continue;
                }
                ("dashed", "red")
            } else if act.flags & af::OPTIONAL != 0 {
                if !all {
                    continue;
                }
                ("dashed", "blue")
            } else {
                ("dashed", "red")
            };
            shown[a] = true;
            out.push_str(&format!(
                "\"{}\" [ style={style} color=\"{color}\" fontcolor=\"{font}\"]\n",
                self.dot_action_name(a)
            ));
        }
        for a in (0..self.actions.len()).rev() {
            for rel in &self.actions[a].before {
                let style = if rel.graphed {
                    "bold"
                } else if rel.flags == ar::NONE {
                    continue;
                } else {
                    "dashed"
                };
                // Writing an action marks it as added, as crm_simulate does.
                let required = rel.graphed
                    || (shown[rel.action]
                        && shown[a]
                        && rel.flags != ar::IF_ON_SAME_NODE_OR_TARGET);
                if all || required {
                    out.push_str(&format!(
                        "\"{}\" -> \"{}\" [ style = {style}]\n",
                        self.dot_action_name(rel.action),
                        self.dot_action_name(a)
                    ));
                }
            }
        }
        out.push_str("}\n");
        out
    }
}
