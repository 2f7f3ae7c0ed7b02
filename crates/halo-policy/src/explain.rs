//! `halo sim --explain RSC`: why a resource is placed where it is, in plain
//! words — the node scores it was assigned with, and every step that changed
//! them (location constraints, stickiness, colocations, failures, capacity),
//! recorded while the scheduler ran.

use halo_cib::model::Score;
use serde::Serialize;

use crate::sched::*;

/// One change to the traced resource's score on a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoreChange {
    /// The node.
    pub node: String,
    /// The score before (`None`: the node was not allowed yet).
    pub before: Option<String>,
    /// The score after.
    pub after: String,
    /// What changed it.
    pub reason: String,
}

/// A node's final score for the resource and whether it can run resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeScore {
    /// The node.
    pub node: String,
    /// The score the resource was assigned with (`None`: not allowed).
    pub score: Option<String>,
    /// Why the node cannot run resources, if it cannot.
    pub unavailable: Option<String>,
}

/// The explanation for one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The resource asked about.
    pub resource: String,
    /// Whether such a resource exists.
    pub found: bool,
    /// Nodes it is active on now.
    pub current: Vec<String>,
    /// Node it is assigned to (`None`: stopped).
    pub next: Option<String>,
    /// Role it will have.
    pub next_role: String,
    /// Final score per node.
    pub nodes: Vec<NodeScore>,
    /// Every recorded change, in order.
    pub changes: Vec<ScoreChange>,
    /// The explanation in sentences.
    pub text: Vec<String>,
}

/// What a `resource_location` tag means.
pub fn describe_tag(tag: &str) -> String {
    match tag {
        "symmetric_default" => "symmetric cluster: every node starts at 0".into(),
        "stickiness" => "resource-stickiness: prefers the node it runs on".into(),
        "__fail_limit__" => "fail count reached migration-threshold".into(),
        "not_managed_default" => "unmanaged: stays where it runs".into(),
        "target-role" => "target-role says Stopped".into(),
        "collective_limit_reached" => "clone-max instances are already placed".into(),
        "__limit_utilization__" => "not enough free capacity (utilization)".into(),
        "shutdown-lock" => "locked to the node it ran on before a clean shutdown".into(),
        "hard-error" => "a hard error on this node in its history".into(),
        "fatal-error" => "a fatal error in its history".into(),
        "masked-probe-failure" => "a probe found it cannot run there".into(),
        "__stateful_without_ticket__" => "promotion needs a ticket it lacks".into(),
        t if t.starts_with("migrate-on-red")
            || t.starts_with("only-green")
            || t.starts_with("progressive")
            || t.starts_with("custom") =>
        {
            format!("node health ({t})")
        }
        t => t.to_string(),
    }
}

impl<'a> Scheduler<'a> {
    /// Whether score changes of `r` are being recorded.
    pub fn traced(&self, r: RscId) -> bool {
        self.trace == Some(r)
    }

    /// The traced resource's table if `r` is it or one of its ancestors.
    pub fn trace_snapshot(&self, r: RscId) -> Option<NodeTable> {
        let t = self.trace?;
        let mut x = Some(t);
        while let Some(i) = x {
            if i == r {
                return Some(self.rscs[t].allowed.clone());
            }
            x = self.rscs[i].parent;
        }
        None
    }

    /// Records the differences between `before` and the traced resource's
    /// table now.
    pub fn trace_diff(&mut self, before: Option<NodeTable>, reason: &dyn Fn(&Self) -> String) {
        let (Some(before), Some(t)) = (before, self.trace) else {
            return;
        };
        let mut text: Option<String> = None;
        for (n, prev) in before.iter().enumerate() {
            let (b, a) = (
                prev.map(|x| x.score),
                self.rscs[t].allowed[n].map(|x| x.score),
            );
            if b == a {
                continue;
            }
            let Some(a) = a else { continue };
            let why = text.get_or_insert_with(|| reason(self)).clone();
            self.trace_log.push(ScoreChange {
                node: self.nodes[n].name.clone(),
                before: b.map(|s| Score(s).to_string()),
                after: Score(a).to_string(),
                reason: why,
            });
        }
    }

    /// Why a node cannot run resources, if it cannot.
    fn unavailable_reason(&self, n: NodeId) -> Option<String> {
        let node = &self.nodes[n];
        if node.unclean {
            Some("unclean (will be fenced)".into())
        } else if !node.online {
            Some("offline".into())
        } else if node.shutdown {
            Some("shutting down".into())
        } else if node.standby() {
            Some("in standby".into())
        } else if node.maintenance {
            Some("in maintenance".into())
        } else {
            None
        }
    }

    /// The explanation for resource `id` (after the scheduler has run).
    pub fn explain(&mut self, id: &str) -> Explanation {
        let Some(r) = self.find_resource(id) else {
            return Explanation {
                resource: id.to_string(),
                found: false,
                current: Vec::new(),
                next: None,
                next_role: Role::Unknown.text().into(),
                nodes: Vec::new(),
                changes: Vec::new(),
                text: vec![format!("There is no resource {id}.")],
            };
        };
        let rsc = &self.rscs[r];
        let current: Vec<String> = self
            .rsc_location(r, true, false, false)
            .iter()
            .map(|&n| self.nodes[n].name.clone())
            .collect();
        let next = self
            .rsc_location_one(r, false, false, true)
            .map(|n| self.nodes[n].name.clone());
        let next_role = self.rsc_state(r, false);
        let table = self
            .trace_final
            .clone()
            .unwrap_or_else(|| rsc.allowed.clone());
        let nodes: Vec<NodeScore> = (0..self.nodes.len())
            .map(|n| NodeScore {
                node: self.nodes[n].name.clone(),
                score: table[n].map(|a| Score(a.score).to_string()),
                unavailable: self.unavailable_reason(n),
            })
            .collect();
        let mut text = Vec::new();
        let kind = match rsc.variant {
            Variant::Primitive if rsc.parent.is_some() => "member",
            Variant::Primitive => "resource",
            Variant::Group => "group",
            Variant::Clone => "clone",
        };
        text.push(format!(
            "{} is a {kind}{}; it runs on {}.",
            rsc.id,
            rsc.parent
                .map(|p| format!(" of {}", self.rscs[p].id))
                .unwrap_or_default(),
            if current.is_empty() {
                "no node".to_string()
            } else {
                current.join(", ")
            }
        ));
        if rsc.flags & rf::MANAGED == 0 {
            text.push("It is not managed: the cluster leaves it where it is.".into());
        }
        match &next {
            Some(n) => text.push(format!("It is placed on {n} as {}.", next_role.text())),
            None if next_role == Role::Stopped || next_role == Role::Unknown => {
                text.push("It will not run anywhere.".into())
            }
            None => text.push(format!("It will be {}.", next_role.text())),
        }
        let usable: Vec<&NodeScore> = nodes
            .iter()
            .filter(|s| s.unavailable.is_none())
            .filter(|s| {
                s.score
                    .as_deref()
                    .and_then(Score::parse)
                    .is_some_and(|x| x.0 >= 0)
            })
            .collect();
        if rsc.variant == Variant::Primitive {
            if usable.is_empty() {
                text.push(
                    "No node can take it: every node is unavailable or has a negative score."
                        .into(),
                );
            } else if let Some(n) = &next {
                text.push(format!(
                    "{n} has the highest score among the {} node(s) that can run it; ties go to the node with fewer resources, then the node it runs on, then the name.",
                    usable.len()
                ));
            }
        } else {
            text.push(format!(
                "A {kind} is placed through its members; ask about a member for its scores."
            ));
        }
        Explanation {
            resource: rsc.id.clone(),
            found: true,
            current,
            next,
            next_role: next_role.text().into(),
            nodes,
            changes: std::mem::take(&mut self.trace_log),
            text,
        }
    }
}

/// The explanation as text lines.
pub fn format_explanation(e: &Explanation) -> Vec<String> {
    let mut out: Vec<String> = e.text.clone();
    if !e.found {
        return out;
    }
    out.push(String::new());
    out.push("Scores it was placed with (higher wins, -INFINITY = never):".into());
    for n in &e.nodes {
        let score = n.score.as_deref().unwrap_or("not allowed");
        match &n.unavailable {
            Some(why) => out.push(format!("  {}: {score} ({why})", n.node)),
            None => out.push(format!("  {}: {score}", n.node)),
        }
    }
    if !e.changes.is_empty() {
        out.push(String::new());
        out.push("How the scores came about, in order:".into());
        for c in &e.changes {
            let before = c.before.as_deref().unwrap_or("-");
            out.push(format!(
                "  {}: {before} -> {}  {}",
                c.node, c.after, c.reason
            ));
        }
    }
    out
}
