//! The policy engine: given the CIB and "now", decide what must run where and
//! in what order to get there.
//!
//! ```text
//!            ┌──────────────────── schedule_with(&cib, now, opts) ─────────────────┐
//!  Cib ────▶ │  1 unpack config, nodes, resources       (unpack.rs)               │
//!            │  2 unpack status: node states, history   (history.rs) ──▶ status    │
//!            │  3 unpack constraints, node health        (constraints.rs)          │
//!            │  4 node criteria: shutdown locks, locations, stickiness,            │
//!            │    failure thresholds, exclusive discovery (assign.rs)              │
//!            │  5 internal constraints, config changes   (create.rs, group.rs,     │
//!            │                                            clone.rs, promotable.rs) │
//!            │  6 assign resources to nodes, roles       (assign.rs, coloc.rs,     │
//!            │                                            utilization.rs, ...)     │
//!            │  7 probes, actions, recurring monitors    (probes.rs, create.rs,    │
//!            │                                            recurring.rs, notify.rs) │
//!            │  8 fencing and shutdowns                  (fencing.rs)              │
//!            │  9 orderings: resolve and propagate       (ordering.rs)             │
//!            │ 10 Transition Summary, graph              (summary.rs, graph.rs)    │
//!            └──────┬─────────────────────────┬───────────────────────┬────────────┘
//!                   ▼                         ▼                       ▼
//!   Transition { status, summary,      scores, notices       explanation (--explain)
//!                actions (graph), dot }
//!                   │
//!                   ▼ simulate(&cib, &t, now): execute on paper ──▶ revised Cib ──▶ status()
//! ```
//!
//! The stages and their semantics follow Pacemaker's scheduler (3.x) closely
//! enough to reproduce its decisions on its regression corpus (see
//! `conformance/`): score arithmetic clamped at ±1,000,000, the same node and
//! resource orderings, the same propagation of "required" and "runnable" along
//! ordering constraints, the same Transition Summary text, node scores, status
//! display and, mostly, the same executed transition.
//!
//! Pure: no clock, no I/O. `now` is wall-clock time expressed as a
//! [`Timestamp`] measured from the Unix epoch (failure timeouts compare it with
//! the epoch times recorded in the CIB). Deterministic: the same input gives the
//! same output, byte for byte (no hash-map iteration decides anything).
//!
//! Not supported (rejected with [`PolicyError::Unsupported`] or a notice):
//! Pacemaker Remote nodes, guest nodes and bundles, tickets, migration
//! (`allow-migrate` resources are stopped and started), per-instance clone
//! notification actions in the graph (their pseudo-actions are there).

mod actions;
mod assign;
mod clone;
mod coloc;
mod constraints;
mod create;
mod digest;
pub mod explain;
mod fencing;
mod graph;
mod group;
mod history;
mod notify;
mod nvsets;
mod ordering;
mod probes;
mod promotable;
mod recurring;
mod sched;
mod simulate;
mod status;
mod summary;
mod transition;
mod unpack;
pub mod util;
mod utilization;

use halo_cib::Cib;
use halo_types::Timestamp;

pub use digest::params_digest;
pub use explain::{Explanation, format_explanation};
pub use sched::Notice;
pub use simulate::{Simulation, simulate};
pub use summary::{SummaryLine, format_summary};
pub use transition::{ActionKind, GraphAction, Transition};

/// Why scheduling could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The CIB uses a feature halo does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// What to compute besides the transition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Render the graph in Graphviz syntax ([`Transition::dot`]).
    pub dot: bool,
    /// Record the node scores ([`Transition::scores`], `--show-scores`):
    /// one line per resource and node, which on large clusters costs more
    /// than the assignment itself.
    pub scores: bool,
    /// Explain the placement of this resource ([`Transition::explanation`]).
    pub explain: Option<String>,
}

/// Computes the transition for `cib` at time `now` (see the crate docs).
pub fn schedule(cib: &Cib, now: Timestamp) -> Result<Transition, PolicyError> {
    schedule_with(cib, now, &Options::default())
}

/// [`schedule`] with extra outputs.
pub fn schedule_with(cib: &Cib, now: Timestamp, opts: &Options) -> Result<Transition, PolicyError> {
    let mut s = sched::Scheduler::new(cib, epoch_secs(now));
    s.explain_id = opts.explain.clone();
    if opts.scores {
        s.score_lines = Some(Vec::new());
    }
    let refs = s.run()?;
    Ok(transition::build(&mut s, &refs, opts))
}

/// The cluster status of `cib` without scheduling anything, as
/// `crm_simulate` prints the revised status (pending actions not shown).
pub fn status(cib: &Cib, now: Timestamp) -> Result<Vec<String>, PolicyError> {
    let mut s = sched::Scheduler::new(cib, epoch_secs(now));
    let refs = nvsets::Refs::new(cib);
    s.unpack_all(&refs)?;
    Ok(s.status_lines(false))
}

fn epoch_secs(now: Timestamp) -> i64 {
    i64::try_from(now.as_duration().as_secs()).unwrap_or(i64::MAX)
}

/// "Now" for a CIB: its `execution-date` (epoch seconds) if present.
pub fn execution_date(cib: &Cib) -> Option<i64> {
    cib.execution_date
        .as_deref()
        .and_then(util::scan_ll)
        .map(|(v, _)| v)
}

impl<'a> sched::Scheduler<'a> {
    /// An empty scheduler for `cib` at `now` (epoch seconds).
    pub fn new(cib: &'a Cib, now: i64) -> Self {
        sched::Scheduler {
            cib,
            now,
            flags: 0,
            options: Default::default(),
            no_quorum_policy: sched::NoQuorumPolicy::Stop,
            fence_action: "reboot".into(),
            placement_strategy: "default".into(),
            priority_fencing_ms: 0,
            node_pending_ms: 0,
            shutdown_lock_ms: 0,
            nodes: Vec::new(),
            node_by_name: Default::default(),
            dc_node: None,
            rscs: Vec::new(),
            top: Vec::new(),
            rsc_by_id: Default::default(),
            actions: Vec::new(),
            singletons: Default::default(),
            orderings: Vec::new(),
            colocations: Vec::new(),
            locations: Vec::new(),
            rsc_defaults: cib.configuration.rsc_defaults.as_deref().unwrap_or(&[]),
            op_defaults: cib.configuration.op_defaults.as_deref().unwrap_or(&[]),
            notices: Vec::new(),
            score_lines: None,
            param_cache: Default::default(),
            relations: Default::default(),
            expired_recurring: Default::default(),
            status: Vec::new(),
            failed_probes: Vec::new(),
            explain_id: None,
            trace: None,
            trace_log: Vec::new(),
            trace_final: None,
        }
    }

    /// Runs the pipeline.
    pub fn run(&mut self) -> Result<nvsets::Refs<'a>, PolicyError> {
        let refs = nvsets::Refs::new(self.cib);
        self.unpack_all(&refs)?;
        self.status = self.status_lines(true);
        self.apply_node_health();
        self.unpack_constraints(&refs);
        self.apply_node_criteria(&refs);
        for r in self.top.clone() {
            self.internal_constraints(&refs, r);
        }
        self.handle_rsc_config_changes(&refs);
        self.assign_resources();
        self.schedule_resource_actions(&refs);
        self.schedule_fencing_and_shutdowns(&refs);
        self.apply_orderings(&refs);
        Ok(refs)
    }

    /// Stages 1 and 2: configuration, nodes, resources and status.
    fn unpack_all(&mut self, refs: &nvsets::Refs<'a>) -> Result<(), PolicyError> {
        if self.cib.have_quorum == Some(true) {
            self.flags |= sched::sf::QUORATE;
        }
        self.unpack_config(refs);
        self.unpack_nodes(refs);
        self.unpack_resources(refs);
        if let Some(id) = self.explain_id.take() {
            self.trace = self.find_resource(&id);
            self.explain_id = Some(id);
        }
        self.check_supported()?;
        self.unpack_status(refs);
        Ok(())
    }

    fn check_supported(&self) -> Result<(), PolicyError> {
        for r in &self.rscs {
            if r.class == "ocf" && r.provider.as_deref() == Some("pacemaker") && r.agent == "remote"
            {
                return Err(PolicyError::Unsupported(format!(
                    "resource {} is a Pacemaker Remote connection (remote nodes are tier 4)",
                    r.id
                )));
            }
            if r.meta.contains_key("remote-node") || r.meta.contains_key("container") {
                return Err(PolicyError::Unsupported(format!(
                    "resource {} defines a guest node or launcher (tier 4)",
                    r.id
                )));
            }
        }
        Ok(())
    }

    /// `pcmk__apply_node_health`: each node's summed `#health*` attributes
    /// (colors mapped per strategy) become a location score for every
    /// resource (negative ones spare `allow-unhealthy-nodes` resources).
    fn apply_node_health(&mut self) {
        let strategy = self
            .option("node-health-strategy")
            .unwrap_or("none")
            .to_ascii_lowercase();
        let strategy = match strategy.as_str() {
            "none" | "migrate-on-red" | "only-green" | "progressive" | "custom" => strategy,
            other => {
                self.err(format!(
                    "Using default of \"none\" for node-health-strategy because '{other}' is not a valid value"
                ));
                return;
            }
        };
        if strategy == "none" {
            return;
        }
        let (red, yellow, green) = self.health_colors(&strategy);
        let base = if strategy == "progressive" {
            self.option("node-health-base")
                .and_then(|v| halo_cib::model::Score::parse_with_colors(v, red, yellow, green))
                .map_or(0, |s| s.0)
        } else {
            0
        };
        for n in 0..self.nodes.len() {
            let mut health = base;
            for v in self.health_values(n) {
                if let Some(s) = halo_cib::model::Score::parse_with_colors(v, red, yellow, green) {
                    health = halo_cib::model::add_scores(s.0, health);
                }
            }
            if health == 0 {
                continue;
            }
            for r in self.top.clone() {
                let constrain = health >= 0
                    || !util::is_true(
                        self.rscs[r]
                            .meta
                            .get("allow-unhealthy-nodes")
                            .map(String::as_str),
                    );
                if constrain {
                    self.new_location(&strategy, r, health, None, Some(n));
                }
            }
        }
    }

    /// The values of a node's `#health*` attributes, by attribute name.
    pub(crate) fn health_values(&self, n: sched::NodeId) -> Vec<&str> {
        let mut attrs: Vec<(&String, &String)> = self.nodes[n]
            .attrs
            .iter()
            .filter(|(k, _)| k.starts_with("#health"))
            .collect();
        attrs.sort();
        attrs.into_iter().map(|(_, v)| v.as_str()).collect()
    }
}
