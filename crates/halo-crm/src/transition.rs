//! One transition graph being executed by the DC.
//!
//! ```text
//!   GraphAction[i] ── all inputs Done, nothing blocking, not aborted ──▶ ready
//!   ready ── pseudo: Done at once; resource: sent to the node's LRM ──▶ Running
//!   Running ── result = target rc ──▶ Done      otherwise ──▶ Failed + abort
//!   aborted: nothing new starts; once nothing is Running the run is finished
//! ```
//!
//! Actions whose inputs failed or are blocked never become ready; the run finishes
//! when nothing runs and nothing more can start (Pacemaker's "Transition complete"
//! with skipped actions).

use halo_policy::{GraphAction, Transition};
use halo_types::{NodeName, Timestamp};

/// The state of one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Not started.
    Waiting,
    /// Sent to a node; a result is due before the deadline.
    Running {
        /// The node.
        node: NodeName,
        /// When the DC stops waiting.
        deadline: Timestamp,
    },
    /// Completed as expected.
    Done,
    /// Failed, timed out, or refused.
    Failed,
}

/// A transition in execution.
#[derive(Debug, Clone)]
pub struct Run {
    /// Transition number (part of every action's transition key).
    pub id: u64,
    /// The graph.
    pub actions: Vec<GraphAction>,
    /// One step per action.
    pub steps: Vec<Step>,
    /// Why the run was aborted, if it was.
    pub aborted: Option<String>,
}

impl Run {
    /// A run of `t` numbered `id`.
    pub fn new(id: u64, t: Transition) -> Self {
        let n = t.actions.len();
        Run {
            id,
            actions: t.actions,
            steps: vec![Step::Waiting; n],
            aborted: None,
        }
    }

    /// Actions that may start now.
    pub fn ready(&self) -> Vec<usize> {
        if self.aborted.is_some() {
            return Vec::new();
        }
        self.actions
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                self.steps[*i] == Step::Waiting
                    && a.blocked_by.is_empty()
                    && a.inputs
                        .iter()
                        .all(|&j| self.steps.get(j) == Some(&Step::Done))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Actions sent and not answered.
    pub fn in_flight(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s, Step::Running { .. }))
            .count()
    }

    /// Whether nothing runs and nothing more can start.
    pub fn finished(&self) -> bool {
        self.in_flight() == 0 && self.ready().is_empty()
    }

    /// The earliest deadline of a running action.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Running { deadline, .. } => Some(*deadline),
                _ => None,
            })
            .min()
    }

    /// Actions running on `node`.
    pub fn running_on(&self, node: &NodeName) -> Vec<usize> {
        self.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Step::Running { node: n, .. } if n == node))
            .map(|(i, _)| i)
            .collect()
    }
}

/// `action:transition:target-rc:uuid`, Pacemaker's transition key.
pub fn key(action: usize, transition: u64, target_rc: i32, uuid: &str) -> String {
    format!("{action}:{transition}:{target_rc}:{uuid}")
}

/// The action and transition of a key issued by `uuid`.
pub fn parse_key(key: &str, uuid: &str) -> Option<(usize, u64)> {
    let mut it = key.splitn(4, ':');
    let action = it.next()?.parse().ok()?;
    let transition = it.next()?.parse().ok()?;
    let _rc: i32 = it.next()?.parse().ok()?;
    (it.next()? == uuid).then_some((action, transition))
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo_policy::ActionKind;

    fn action(id: usize, inputs: Vec<usize>) -> GraphAction {
        GraphAction {
            id,
            action_id: id,
            kind: ActionKind::Pseudo,
            key: format!("a{id}"),
            task: "start".into(),
            resource: None,
            history_name: None,
            op_rsc: None,
            agent: None,
            node: None,
            interval_ms: 0,
            fence_action: None,
            target_rc: None,
            notify: None,
            inputs,
            blocked_by: Vec::new(),
            params: Default::default(),
            meta: Default::default(),
        }
    }

    fn run(actions: Vec<GraphAction>) -> Run {
        let n = actions.len();
        Run {
            id: 1,
            actions,
            steps: vec![Step::Waiting; n],
            aborted: None,
        }
    }

    #[test]
    fn actions_become_ready_when_their_inputs_are_done() {
        let mut r = run(vec![
            action(0, vec![]),
            action(1, vec![0]),
            action(2, vec![]),
        ]);
        assert_eq!(r.ready(), [0, 2]);
        r.steps[0] = Step::Done;
        assert_eq!(r.ready(), [1, 2]);
        r.steps[2] = Step::Failed;
        r.steps[1] = Step::Done;
        assert!(r.finished());
    }

    #[test]
    fn a_failed_input_blocks_and_abort_stops_new_starts() {
        let mut r = run(vec![
            action(0, vec![]),
            action(1, vec![0]),
            action(2, vec![]),
        ]);
        r.steps[0] = Step::Failed;
        assert_eq!(r.ready(), [2]);
        r.aborted = Some("x".into());
        assert!(r.ready().is_empty());
        let n = NodeName::new("a").expect("name");
        r.steps[2] = Step::Running {
            node: n.clone(),
            deadline: Timestamp::from_millis(5),
        };
        assert!(!r.finished());
        assert_eq!(r.running_on(&n), [2]);
        assert_eq!(r.next_deadline(), Some(Timestamp::from_millis(5)));
    }

    #[test]
    fn keys_round_trip_only_for_their_issuer() {
        let k = key(7, 3, 0, "a-5");
        assert_eq!(k, "7:3:0:a-5");
        assert_eq!(parse_key(&k, "a-5"), Some((7, 3)));
        assert_eq!(parse_key(&k, "a-6"), None);
        assert_eq!(parse_key("garbage", "a-5"), None);
    }
}
