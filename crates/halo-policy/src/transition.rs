//! The scheduler's result: the Transition Summary, the transition graph (the
//! actions to execute and the orderings between them), the node scores and any
//! configuration notices.

use serde::Serialize;

use crate::sched::*;
use crate::summary::SummaryLine;

/// One action of the transition graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphAction {
    /// Index of the action in [`Transition::actions`].
    pub id: usize,
    /// Operation key (`rsc_start_0`, `stonith-node1-reboot`, `grp_running_0`).
    pub key: String,
    /// Task (`start`, `stop`, `monitor`, `stonith`, `running`, ...).
    pub task: String,
    /// Resource, if any.
    pub resource: Option<String>,
    /// Node it runs on, if any.
    pub node: Option<String>,
    /// Interval for recurring operations (ms).
    pub interval_ms: u32,
    /// A pseudo-action: a synchronisation point that runs nowhere.
    pub pseudo: bool,
    /// Fence action (`reboot`, `off`, `on`) for fencing.
    pub fence_action: Option<String>,
    /// Expected result for probes (7 = not running, 8 = promoted).
    pub target_rc: Option<i32>,
    /// Ids of the actions that must complete first.
    pub inputs: Vec<usize>,
}

/// The result of [`crate::schedule`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The cluster status before the transition, as `crm_simulate` prints
    /// it under "Current cluster status:" (text lines).
    pub status: Vec<String>,
    /// The Transition Summary lines.
    pub summary: Vec<SummaryLine>,
    /// Actions to execute, in creation order.
    pub actions: Vec<GraphAction>,
    /// `--show-scores` lines (Pacemaker's format), in the order computed.
    pub scores: Vec<String>,
    /// Configuration errors and warnings found on the way.
    pub notices: Vec<Notice>,
}

/// Builds the transition from a scheduler that has run.
pub fn build(s: &mut Scheduler<'_>) -> Transition {
    let summary = s.summary();
    let in_graph: Vec<bool> = (0..s.actions.len())
        .map(|a| {
            let act = &s.actions[a];
            let runnable = act.flags & af::RUNNABLE != 0;
            let optional = act.flags & af::OPTIONAL != 0 && act.flags & af::ALWAYS_IN_GRAPH == 0;
            runnable && !optional
        })
        .collect();
    let mut index = vec![usize::MAX; s.actions.len()];
    let mut actions = Vec::new();
    for a in 0..s.actions.len() {
        if !in_graph[a] {
            continue;
        }
        index[a] = actions.len();
        let act = &s.actions[a];
        actions.push(GraphAction {
            id: actions.len(),
            key: act.uuid.clone(),
            task: act.task.clone(),
            resource: act.rsc.map(|r| s.rscs[r].id.clone()),
            node: act.node.map(|n| s.nodes[n].name.clone()),
            interval_ms: act.interval_ms,
            pseudo: act.flags & af::PSEUDO != 0,
            fence_action: act.meta.get("stonith_action").cloned(),
            target_rc: act.meta.get("op_target_rc").and_then(|v| v.parse().ok()),
            inputs: Vec::new(),
        });
    }
    for a in 0..s.actions.len() {
        if index[a] == usize::MAX {
            continue;
        }
        let mut inputs: Vec<usize> = s.actions[a]
            .before
            .iter()
            .filter(|r| r.flags != ar::NONE && index[r.action] != usize::MAX)
            .map(|r| index[r.action])
            .collect();
        inputs.sort_unstable();
        inputs.dedup();
        actions[index[a]].inputs = inputs;
    }
    let scores = s.score_lines.clone();
    Transition {
        status: s.status.clone(),
        summary,
        actions,
        scores,
        notices: s.notices.clone(),
    }
}

impl Transition {
    /// The graph in Graphviz `dot` syntax.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph \"transition\" {\n");
        let label = |a: &GraphAction| match &a.node {
            Some(n) if !a.pseudo => format!("{} {}", a.key, n),
            _ => a.key.clone(),
        };
        for a in &self.actions {
            let style = if a.pseudo { "dashed" } else { "bold" };
            out.push_str(&format!(
                "\"{}\" [ style={style} color=\"green\" fontcolor=\"{}\"]\n",
                label(a),
                if a.pseudo { "orange" } else { "black" }
            ));
        }
        for a in &self.actions {
            for &i in &a.inputs {
                out.push_str(&format!(
                    "\"{}\" -> \"{}\" [ style = bold]\n",
                    label(&self.actions[i]),
                    label(a)
                ));
            }
        }
        out.push_str("}\n");
        out
    }
}
