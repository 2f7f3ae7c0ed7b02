//! The scheduler's result: the status before, the Transition Summary, the
//! transition graph (the actions to execute and the orderings between them),
//! the node scores and any configuration notices.

use serde::Serialize;

pub use crate::graph::{ActionKind, GraphAction};
use crate::sched::*;
use crate::summary::SummaryLine;

/// The result of [`crate::schedule`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The cluster status before the transition, as `crm_simulate` prints
    /// it under "Current cluster status:" (text lines).
    pub status: Vec<String>,
    /// The Transition Summary lines.
    pub summary: Vec<SummaryLine>,
    /// The transition graph: actions to execute in synapse order, each with
    /// the synapses it waits for.
    pub actions: Vec<GraphAction>,
    /// The graph in Graphviz syntax (`crm_simulate -D`), when requested.
    pub dot: Option<String>,
    /// `--show-scores` lines (Pacemaker's format), in the order computed;
    /// empty unless [`crate::Options::scores`] asked for them.
    pub scores: Vec<String>,
    /// Why the requested resource is placed where it is, when requested.
    pub explanation: Option<crate::explain::Explanation>,
    /// Configuration errors and warnings found on the way.
    pub notices: Vec<Notice>,
}

/// Builds the transition from a scheduler that has run.
pub fn build<'a>(
    s: &mut Scheduler<'a>,
    refs: &crate::nvsets::Refs<'a>,
    opts: &crate::Options,
) -> Transition {
    let summary = s.summary();
    let actions = s.create_graph(refs);
    let dot = opts.dot.then(|| s.graph_dot(false));
    let explanation = opts.explain.as_deref().map(|id| s.explain(id, &summary));
    Transition {
        status: std::mem::take(&mut s.status),
        summary,
        actions,
        dot,
        scores: s.score_lines.take().unwrap_or_default(),
        explanation,
        notices: std::mem::take(&mut s.notices),
    }
}
