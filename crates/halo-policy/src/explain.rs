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
    /// The configured constraints that mention it (or a resource containing
    /// it), in words.
    pub constraints: Vec<String>,
    /// Its lines of the Transition Summary.
    pub summary: Vec<String>,
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

    /// The configured constraints that mention `r` or one of its ancestors.
    fn constraints_of(&self, r: RscId) -> Vec<String> {
        use halo_cib::model::Constraint;
        let mut ids: Vec<&str> = Vec::new();
        let mut x = Some(r);
        while let Some(i) = x {
            ids.push(self.rscs[i].xml_id.as_str());
            ids.push(self.rscs[i].id.as_str());
            x = self.rscs[i].parent;
        }
        let ours = |v: Option<&String>| v.is_some_and(|v| ids.contains(&v.as_str()));
        let in_sets = |sets: &[halo_cib::model::ResourceSet]| {
            sets.iter()
                .any(|set| set.resources.iter().any(|m| ids.contains(&m.as_str())))
        };
        let score = |s: Option<&Score>| s.map_or("INFINITY".to_string(), Score::to_string);
        let mut out = Vec::new();
        for c in &self.cib.configuration.constraints {
            match c {
                Constraint::Location(l) if ours(l.rsc.as_ref()) || in_sets(&l.sets) => {
                    let target = match (&l.node, l.rules.is_empty()) {
                        (Some(n), _) => format!("on {n} with score {}", score(l.score.as_ref())),
                        (None, false) => format!("by {} rule(s)", l.rules.len()),
                        (None, true) => "with resource sets".to_string(),
                    };
                    out.push(format!("location {}: {target}", l.id));
                }
                Constraint::Colocation(co)
                    if ours(co.rsc.as_ref()) || ours(co.with_rsc.as_ref()) || in_sets(&co.sets) =>
                {
                    let text = match (&co.rsc, &co.with_rsc) {
                        (Some(a), Some(b)) => {
                            format!("{a} with {b}, score {}", score(co.score.as_ref()))
                        }
                        _ => format!("resource sets, score {}", score(co.score.as_ref())),
                    };
                    out.push(format!("colocation {}: {text}", co.id));
                }
                Constraint::Order(o)
                    if ours(o.first.as_ref()) || ours(o.then.as_ref()) || in_sets(&o.sets) =>
                {
                    let text = match (&o.first, &o.then) {
                        (Some(a), Some(b)) => format!(
                            "{} {a} then {} {b}",
                            o.first_action.as_deref().unwrap_or("start"),
                            o.then_action
                                .as_deref()
                                .or(o.first_action.as_deref())
                                .unwrap_or("start"),
                        ),
                        _ => "resource sets".to_string(),
                    };
                    let kind = o.kind.as_deref().unwrap_or("Mandatory");
                    out.push(format!("order {} ({kind}): {text}", o.id));
                }
                _ => {}
            }
        }
        out
    }

    /// The explanation for resource `id` (after the scheduler has run), with
    /// the Transition Summary lines that concern it.
    pub fn explain(&mut self, id: &str, summary: &[crate::SummaryLine]) -> Explanation {
        let Some(r) = self.find_resource(id) else {
            return Explanation {
                resource: id.to_string(),
                found: false,
                current: Vec::new(),
                next: None,
                next_role: Role::Unknown.text().into(),
                nodes: Vec::new(),
                changes: Vec::new(),
                constraints: Vec::new(),
                summary: Vec::new(),
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
        let mut family: Vec<String> = vec![rsc.id.clone()];
        let mut stack = rsc.children.clone();
        while let Some(c) = stack.pop() {
            family.push(self.rscs[c].id.clone());
            stack.extend(self.rscs[c].children.iter().copied());
        }
        let lines: Vec<crate::SummaryLine> = summary
            .iter()
            .filter(
                |l| matches!(l, crate::SummaryLine::Resource { rsc, .. } if family.contains(rsc)),
            )
            .cloned()
            .collect();
        Explanation {
            constraints: self.constraints_of(r),
            summary: crate::format_summary(&lines)
                .into_iter()
                .map(|l| l.trim().trim_start_matches("* ").to_string())
                .collect(),
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
    if !e.constraints.is_empty() {
        out.push(String::new());
        out.push("Constraints that mention it:".into());
        for c in &e.constraints {
            out.push(format!("  {c}"));
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
    out.push(String::new());
    if e.summary.is_empty() {
        out.push("The transition leaves it as it is.".into());
    } else {
        out.push("The transition:".into());
        for l in &e.summary {
            out.push(format!("  {l}"));
        }
    }
    out
}
