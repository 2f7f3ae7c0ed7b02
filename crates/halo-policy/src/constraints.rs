//! Stage 3: unpack constraints — locations (scores or rules), colocations and
//! orderings, with resource sets — into the scheduler's constraint lists, in
//! configuration order (Pacemaker's `pcmk__unpack_constraints`).

use halo_cib::model::{
    Colocation as CibColocation, Constraint, INFINITY, Location as CibLocation, Order, OrderKind,
    ResourceSet,
};

use crate::nvsets::{Refs, RuleInput, eval_rule, expand_submatches};
use crate::sched::*;
use crate::unpack::parse_score;
use crate::util::op_key;

/// Ordering kinds after defaulting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Optional,
    Mandatory,
    Serialize,
}

/// Symmetry of an ordering relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Symmetry {
    Asymmetric,
    Symmetric,
    Inverse,
}

fn invert_action(a: &str) -> Option<&'static str> {
    Some(match a {
        "start" => "stop",
        "stop" => "start",
        "promote" => "demote",
        "demote" => "promote",
        "promoted" => "demoted",
        "demoted" => "promoted",
        "running" => "stopped",
        "stopped" => "running",
        _ => return None,
    })
}

fn is_up_action(a: &str) -> bool {
    matches!(a, "start" | "promote" | "migrate_from")
}

fn flags_for_kind(kind: Kind, first: &str, sym: Symmetry) -> u32 {
    match kind {
        Kind::Optional => ar::ORDERED,
        Kind::Serialize => ar::SERIALIZE,
        Kind::Mandatory => {
            ar::ORDERED
                | match sym {
                    Symmetry::Asymmetric => ar::ASYMMETRIC,
                    Symmetry::Symmetric => {
                        ar::FIRST_IMPLIES_THEN
                            | if is_up_action(first) {
                                ar::UNRUNNABLE_FIRST_BLOCKS
                            } else {
                                0
                            }
                    }
                    Symmetry::Inverse => ar::THEN_IMPLIES_FIRST,
                }
        }
    }
}

/// `get_ordering_type` from a kind attribute and deprecated score.
fn kind_of(kind: Option<&str>, score: Option<halo_cib::model::Score>) -> (Kind, bool) {
    match kind {
        None => match score {
            Some(s) if s.0 == 0 => (Kind::Optional, true),
            _ => (Kind::Mandatory, true),
        },
        Some(k) => match OrderKind::parse(k) {
            Some(OrderKind::Optional) => (Kind::Optional, true),
            Some(OrderKind::Mandatory) => (Kind::Mandatory, true),
            Some(OrderKind::Serialize) => (Kind::Serialize, true),
            None => (Kind::Mandatory, false),
        },
    }
}

fn symmetry_of(kind: Kind, symmetrical: Option<bool>) -> Symmetry {
    match symmetrical {
        Some(true) => {
            if kind == Kind::Serialize {
                Symmetry::Asymmetric
            } else {
                Symmetry::Symmetric
            }
        }
        Some(false) => Symmetry::Asymmetric,
        None => {
            if kind == Kind::Serialize {
                Symmetry::Asymmetric
            } else {
                Symmetry::Symmetric
            }
        }
    }
}

impl<'a> Scheduler<'a> {
    /// `pcmk__find_constraint_resource`.
    pub fn constraint_rsc(&self, id: &str) -> Option<RscId> {
        if let Some(&r) = self.rsc_by_id.get(id) {
            return Some(r);
        }
        self.rscs
            .iter()
            .position(|r| r.history_id.as_deref() == Some(id))
            .map(|r| self.top_of(r))
    }

    /// Unpacks every constraint in configuration order.
    pub fn unpack_constraints(&mut self, refs: &Refs<'a>) {
        let cib = self.cib;
        for c in &cib.configuration.constraints {
            match c {
                Constraint::Order(o) => self.unpack_order(o),
                Constraint::Colocation(c) => self.unpack_colocation(c),
                Constraint::Location(l) => self.unpack_location(refs, l),
            }
        }
    }

    // -----------------------------------------------------------------------
    // locations

    fn unpack_location(&mut self, refs: &Refs<'a>, l: &'a CibLocation) {
        if !l.sets.is_empty() {
            for set in &l.sets {
                let role = set.role.map(|r| r.as_str());
                let score = set.score.map(|s| s.text());
                for id in &set.resources {
                    let Some(r) = self.constraint_rsc(id) else {
                        self.err(format!(
                            "{}: No resource found for {id}",
                            set.id.as_deref().unwrap_or("")
                        ));
                        return;
                    };
                    self.unpack_rsc_location(refs, l, r, role, score.as_deref(), None);
                }
            }
            return;
        }
        if let Some(id) = &l.rsc {
            match self.constraint_rsc(id) {
                Some(r) => self.unpack_rsc_location(refs, l, r, None, None, None),
                None => self.warn(format!(
                    "Ignoring constraint '{}' because resource '{id}' does not exist",
                    l.id
                )),
            }
        }
        if let Some(pat) = &l.rsc_pattern {
            let (invert, pat) = match pat.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, pat.as_str()),
            };
            let Ok(re) = regex::Regex::new(pat) else {
                self.err(format!(
                    "Ignoring constraint '{}' because rsc-pattern has invalid value '{pat}'",
                    l.id
                ));
                return;
            };
            for r in self.top.clone() {
                let id = self.rscs[r].id.clone();
                match re.captures(&id) {
                    Some(caps) if !invert => {
                        let subs: Vec<String> = caps
                            .iter()
                            .map(|m| m.map_or(String::new(), |m| m.as_str().to_string()))
                            .collect();
                        self.unpack_rsc_location(refs, l, r, None, None, Some(&subs));
                    }
                    None if invert => self.unpack_rsc_location(refs, l, r, None, None, None),
                    _ => {}
                }
            }
        }
    }

    fn unpack_rsc_location(
        &mut self,
        refs: &Refs<'a>,
        l: &'a CibLocation,
        r: RscId,
        role_spec: Option<&str>,
        score: Option<&str>,
        subs: Option<&[String]>,
    ) {
        let discovery = l.resource_discovery.map(|d| d.as_str());
        let score_text = score
            .map(str::to_string)
            .or_else(|| l.score.map(|s| s.text()));
        if let (Some(node), Some(score)) = (&l.node, score_text) {
            let Some(n) = self.find_node(node) else {
                return;
            };
            let score = parse_score(Some(&score), 0);
            let role_text = role_spec
                .map(str::to_string)
                .or_else(|| l.role.map(|r| r.as_str().to_string()));
            let role = location_role(role_text.as_deref());
            let loc = self.new_location(&l.id, r, score, discovery, Some(n));
            self.locations[loc].role_filter = role;
            return;
        }
        let Some(rule) = l.rules.first() else { return };
        let rule = match &rule.id_ref {
            Some(id) => match refs.rules.get(id.as_str()) {
                Some(r) => *r,
                None => return,
            },
            None => rule,
        };
        let Some(rule_id) = rule.id.clone() else {
            self.err(format!(
                "Ignoring location constraint '{}' because its rule has no id",
                l.id
            ));
            return;
        };
        let role = location_role(rule.role.map(|r| r.as_str()));
        let score_attr = rule
            .score_attribute
            .as_deref()
            .map(|a| expand_submatches(a, subs));
        let score = match (&score_attr, rule.score) {
            (Some(_), _) => 0,
            (None, Some(s)) => s.0,
            (None, None) => {
                self.err(format!(
                    "Ignoring location constraint rule {rule_id} because neither score nor score-attribute was specified"
                ));
                return;
            }
        };
        let loc = self.new_location(&rule_id, r, 0, discovery, None);
        self.locations[loc].role_filter = role;
        let meta = self.rscs[r].meta.clone();
        for n in 0..self.nodes.len() {
            let params = self.rsc_params(refs, r, Some(n));
            let input = RuleInput {
                node_attrs: Some(&self.nodes[n].attrs),
                rsc_params: Some(&params),
                rsc_meta: Some(&meta),
                rsc_id_submatches: subs,
                ..RuleInput::default()
            };
            if !eval_rule(refs, rule, &input) {
                continue;
            }
            let s = match &score_attr {
                Some(attr) => match self.nodes[n].attr(attr).filter(|v| !v.is_empty()) {
                    Some(v) => match halo_cib::model::Score::parse(v) {
                        Some(s) => s.0,
                        None => continue,
                    },
                    None => continue,
                },
                None => score,
            };
            self.locations[loc].nodes.push((n, s));
        }
    }

    /// `pcmk__new_location`.
    pub fn new_location(
        &mut self,
        id: &str,
        r: RscId,
        score: i32,
        discovery: Option<&str>,
        node: Option<NodeId>,
    ) -> usize {
        let probe_mode = match discovery.map(str::to_ascii_lowercase).as_deref() {
            None | Some("always") => ProbeMode::Always,
            Some("never") => ProbeMode::Never,
            Some("exclusive") => {
                self.set_rflag(r, rf::EXCLUSIVE_PROBES);
                ProbeMode::Exclusive
            }
            Some(other) => {
                self.err(format!(
                    "Invalid resource-discovery value {other} in location constraint"
                ));
                ProbeMode::Always
            }
        };
        self.locations.push(Location {
            id: id.to_string(),
            rsc: r,
            nodes: node.map(|n| vec![(n, score)]).unwrap_or_default(),
            role_filter: Role::Unknown,
            probe_mode,
        });
        self.locations.len() - 1
    }

    // -----------------------------------------------------------------------
    // colocations

    fn unpack_colocation(&mut self, c: &'a CibColocation) {
        let score = c.score.map_or(0, |s| s.0);
        let influence = c.influence;
        let mut last: Option<&ResourceSet> = None;
        for set in &c.sets {
            if set.id.as_deref().is_none_or(str::is_empty) {
                self.err("Ignoring resource_set without id".into());
                continue;
            }
            self.unpack_colocation_set(set, score, influence);
            if let Some(prev) = last {
                self.colocate_sets(&c.id, prev, set, score, influence);
            }
            last = Some(set);
        }
        if last.is_some() {
            return;
        }
        let (Some(dep_id), Some(prim_id)) = (&c.rsc, &c.with_rsc) else {
            return;
        };
        let Some(primary) = self.constraint_rsc(prim_id) else {
            self.err(format!(
                "Ignoring constraint '{}' because resource '{prim_id}' does not exist",
                c.id
            ));
            return;
        };
        let Some(dependent) = self.constraint_rsc(dep_id) else {
            self.err(format!(
                "Ignoring constraint '{}' because resource '{dep_id}' does not exist",
                c.id
            ));
            return;
        };
        let infl = self.unpack_influence(dependent, influence);
        self.new_colocation(
            &c.id,
            c.node_attribute.as_deref(),
            score,
            dependent,
            primary,
            c.rsc_role.map(Role::from),
            c.with_rsc_role.map(Role::from),
            infl,
            true,
        );
    }

    fn unpack_influence(&self, r: RscId, influence: Option<bool>) -> bool {
        influence.unwrap_or_else(|| self.rflag(r, rf::CRITICAL))
    }

    fn unpack_colocation_set(&mut self, set: &ResourceSet, score: i32, influence: Option<bool>) {
        let local = set.score.map_or(score, |s| s.0);
        if local == 0 {
            return;
        }
        if set.sequential == Some(false) {
            return;
        }
        let role = set.role.map(Role::from);
        let set_id = set.id.clone().unwrap_or_default();
        let with_previous = set
            .ordering
            .as_deref()
            .is_none_or(|o| o.eq_ignore_ascii_case("group"));
        if local > 0 {
            let mut other: Option<RscId> = None;
            for id in &set.resources {
                let Some(r) = self.constraint_rsc(id) else {
                    self.err(format!(
                        "Ignoring {id} and later resources in set {set_id}: No such resource"
                    ));
                    return;
                };
                if let Some(o) = other {
                    let infl = self.unpack_influence(r, influence);
                    if with_previous {
                        self.new_colocation(&set_id, None, local, r, o, role, role, infl, true);
                    } else {
                        self.new_colocation(&set_id, None, local, o, r, role, role, infl, true);
                    }
                }
                other = Some(r);
            }
        } else {
            // Anti-colocation: every member with every later member.
            let members: Vec<Option<RscId>> = set
                .resources
                .iter()
                .map(|id| self.constraint_rsc(id))
                .collect();
            for (i, r) in members.iter().enumerate() {
                let Some(r) = *r else {
                    self.err(format!(
                        "{set_id}: No resource found for {}",
                        set.resources[i]
                    ));
                    return;
                };
                let infl = self.unpack_influence(r, influence);
                for o in members.iter().take(i).flatten() {
                    self.new_colocation(&set_id, None, local, r, *o, role, role, infl, true);
                }
            }
        }
    }

    fn colocate_sets(
        &mut self,
        id: &str,
        set1: &ResourceSet,
        set2: &ResourceSet,
        score: i32,
        influence: Option<bool>,
    ) {
        if score == 0 {
            return;
        }
        let role1 = set1.role.map(Role::from);
        let role2 = set2.role.map(Role::from);
        let rsc1 = if set1.sequential.is_none_or(|s| s) {
            match set1.resources.first() {
                Some(first) => match self.constraint_rsc(first) {
                    Some(r) => Some(r),
                    None => return,
                },
                None => None,
            }
        } else {
            None
        };
        let rsc2 = if set2.sequential.is_none_or(|s| s) {
            match set2.resources.last() {
                Some(last) => match self.constraint_rsc(last) {
                    Some(r) => Some(r),
                    None => return,
                },
                None => return,
            }
        } else {
            None
        };
        match (rsc1, rsc2) {
            (Some(a), Some(b)) => {
                let infl = self.unpack_influence(a, influence);
                self.new_colocation(id, None, score, a, b, role1, role2, infl, true);
            }
            (Some(a), None) => {
                let infl = self.unpack_influence(a, influence);
                for rid in &set2.resources {
                    if let Some(b) = self.constraint_rsc(rid) {
                        self.new_colocation(id, None, score, a, b, role1, role2, infl, true);
                    }
                }
            }
            (None, Some(b)) => {
                for rid in &set1.resources {
                    if let Some(a) = self.constraint_rsc(rid) {
                        let infl = self.unpack_influence(a, influence);
                        self.new_colocation(id, None, score, a, b, role1, role2, infl, true);
                    }
                }
            }
            (None, None) => {
                for rid in &set1.resources {
                    let Some(a) = self.constraint_rsc(rid) else {
                        continue;
                    };
                    let infl = self.unpack_influence(a, influence);
                    for rid2 in &set2.resources {
                        if let Some(b) = self.constraint_rsc(rid2) {
                            self.new_colocation(id, None, score, a, b, role1, role2, infl, true);
                        }
                    }
                }
            }
        }
    }

    /// `pcmk__new_colocation`.
    #[allow(clippy::too_many_arguments)]
    pub fn new_colocation(
        &mut self,
        id: &str,
        node_attr: Option<&str>,
        score: i32,
        dependent: RscId,
        primary: RscId,
        dependent_role: Option<Role>,
        primary_role: Option<Role>,
        influence: bool,
        explicit: bool,
    ) {
        if score == 0 {
            return;
        }
        let fix = |r: Option<Role>| match r {
            Some(Role::Started) | None => Role::Unknown,
            Some(r) => r,
        };
        let c = Colocation {
            id: id.to_string(),
            dependent,
            primary,
            score,
            dependent_role: fix(dependent_role),
            primary_role: fix(primary_role),
            node_attribute: node_attr.unwrap_or("#uname").to_string(),
            influence,
            explicit,
        };
        let ci = self.colocations.len();
        let (dr, pr) = (c.dependent_role, c.primary_role);
        self.colocations.push(c);
        self.add_this_with(dependent, ci);
        self.add_with_this(primary, ci);
        if score <= -INFINITY {
            self.anti_colocation_order(dependent, dr, primary, pr);
            self.anti_colocation_order(primary, pr, dependent, dr);
        }
    }

    /// Ordering of colocations in a resource's lists: by the other resource's
    /// priority, variant, promotability, then id (`cmp_colocation_priority`).
    pub fn cmp_coloc(&self, a: usize, b: usize, by_dependent: bool) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        let (ra, rb) = if by_dependent {
            (self.colocations[a].dependent, self.colocations[b].dependent)
        } else {
            (self.colocations[a].primary, self.colocations[b].primary)
        };
        let (x, y) = (&self.rscs[ra], &self.rscs[rb]);
        match y.priority.cmp(&x.priority) {
            Equal => {}
            o => return o,
        }
        match y.variant.cmp(&x.variant) {
            Equal => {}
            o => return o,
        }
        if x.variant == Variant::Clone {
            let (px, py) = (x.flags & rf::PROMOTABLE != 0, y.flags & rf::PROMOTABLE != 0);
            if px && !py {
                return Less;
            }
            if !px && py {
                return Greater;
            }
        }
        x.id.cmp(&y.id)
    }

    /// `pcmk__add_this_with` into a resource's own list.
    fn add_this_with(&mut self, r: RscId, ci: usize) {
        let mut list = std::mem::take(&mut self.rscs[r].this_with);
        crate::util::glib_insert_sorted(&mut list, ci, &mut |a, b| self.cmp_coloc(*a, *b, false));
        self.rscs[r].this_with = list;
    }

    fn add_with_this(&mut self, r: RscId, ci: usize) {
        let mut list = std::mem::take(&mut self.rscs[r].with_this);
        crate::util::glib_insert_sorted(&mut list, ci, &mut |a, b| self.cmp_coloc(*a, *b, true));
        self.rscs[r].with_this = list;
    }

    /// `pcmk__add_this_with` into an arbitrary list.
    pub fn list_add_this_with(&self, list: &mut Vec<usize>, ci: usize) {
        crate::util::glib_insert_sorted(list, ci, &mut |a, b| self.cmp_coloc(*a, *b, false));
    }

    /// `pcmk__add_with_this` into an arbitrary list.
    pub fn list_add_with_this(&self, list: &mut Vec<usize>, ci: usize) {
        crate::util::glib_insert_sorted(list, ci, &mut |a, b| self.cmp_coloc(*a, *b, true));
    }

    fn anti_colocation_order(
        &mut self,
        first: RscId,
        first_role: Role,
        then: RscId,
        then_role: Role,
    ) {
        let mut first_tasks: Vec<&str> = Vec::new();
        let mut then_tasks: Vec<&str> = Vec::new();
        if first_role == Role::Promoted {
            first_tasks.push("demote");
        } else {
            first_tasks.push("stop");
            if first_role == Role::Unpromoted {
                first_tasks.push("promote");
            }
        }
        if then_role == Role::Promoted {
            then_tasks.push("promote");
        } else {
            then_tasks.push("start");
            if then_role == Role::Unpromoted {
                then_tasks.push("demote");
            }
        }
        for f in &first_tasks {
            for t in &then_tasks {
                self.order_rsc_actions(first, f, then, t, ar::IF_REQUIRED_ON_SAME_NODE);
            }
        }
    }

    // -----------------------------------------------------------------------
    // orderings

    fn unpack_order(&mut self, o: &'a Order) {
        let (kind, valid) = kind_of(o.kind.as_deref(), o.score);
        if !valid {
            self.err(format!(
                "Resetting 'kind' for constraint {} to 'Mandatory' because '{}' is not valid",
                o.id,
                o.kind.as_deref().unwrap_or("")
            ));
        }
        let symmetry = symmetry_of(kind, o.symmetrical);
        let mut last: Option<&ResourceSet> = None;
        for set in &o.sets {
            if !self.unpack_order_set(set, kind, o.symmetrical) {
                return;
            }
            if let Some(prev) = last {
                if !self.order_sets(prev, set, kind, symmetry) {
                    return;
                }
                if symmetry == Symmetry::Symmetric
                    && !self.order_sets(set, prev, kind, Symmetry::Inverse)
                {
                    return;
                }
            }
            last = Some(set);
        }
        if last.is_none() {
            self.unpack_simple_order(o, kind, symmetry);
        }
    }

    fn unpack_simple_order(&mut self, o: &Order, kind: Kind, symmetry: Symmetry) {
        let Some(first_id) = &o.first else {
            self.err(format!("Ignoring constraint '{}' without first", o.id));
            return;
        };
        let Some(first) = self.constraint_rsc(first_id) else {
            self.err(format!(
                "Ignoring constraint '{}' because resource '{first_id}' does not exist",
                o.id
            ));
            return;
        };
        let Some(then_id) = &o.then else {
            self.err(format!("Ignoring constraint '{}' without then", o.id));
            return;
        };
        let Some(then) = self.constraint_rsc(then_id) else {
            self.err(format!(
                "Ignoring constraint '{}' because resource '{then_id}' does not exist",
                o.id
            ));
            return;
        };
        let action_first = o.first_action.as_deref().unwrap_or("start");
        let action_then = o.then_action.as_deref().unwrap_or(action_first);
        let flags = flags_for_kind(kind, action_first, symmetry);
        let min = self.min_first_instances(first, o.require_all);
        if min > 0 {
            self.clone_min_ordering(&o.id, first, action_first, then, action_then, flags, min);
        } else {
            self.order_rsc_actions(first, action_first, then, action_then, flags);
        }
        if symmetry == Symmetry::Symmetric {
            match (invert_action(action_first), invert_action(action_then)) {
                (Some(f), Some(t)) => {
                    let flags = flags_for_kind(kind, f, Symmetry::Inverse);
                    self.order_rsc_actions(then, t, first, f, flags);
                }
                _ => self.warn(format!(
                    "Cannot invert constraint '{}' (please specify inverse manually)",
                    o.id
                )),
            }
        }
    }

    fn min_first_instances(&self, r: RscId, require_all: Option<bool>) -> i32 {
        if !self.is_clone(r) {
            return 0;
        }
        if let Some(v) = self.rscs[r].meta.get("clone-min") {
            return crate::util::scan_ll(v)
                .map_or(0, |(n, _)| i32::try_from(n.max(0)).unwrap_or(0));
        }
        if require_all == Some(false) {
            return 1;
        }
        0
    }

    #[allow(clippy::too_many_arguments)]
    fn clone_min_ordering(
        &mut self,
        id: &str,
        first: RscId,
        action_first: &str,
        then: RscId,
        action_then: &str,
        flags: u32,
        min: i32,
    ) {
        let refs = Refs::default();
        let met = self.pseudo_op(&refs, &format!("clone-one-or-more:{id}"));
        self.actions[met].required_runnable_before = min;
        for child in self.rscs[first].children.clone() {
            let key = op_key(&self.rscs[child].id, action_first, 0);
            self.new_ordering(
                Some(child),
                Some(key),
                None,
                None,
                None,
                Some(met),
                ar::MIN_RUNNABLE | ar::FIRST_IMPLIES_THEN_GRAPHED,
            );
        }
        let key = op_key(&self.rscs[then].id, action_then, 0);
        self.new_ordering(
            None,
            None,
            Some(met),
            Some(then),
            Some(key),
            None,
            flags | ar::UNRUNNABLE_FIRST_BLOCKS,
        );
    }

    /// `unpack_order_set`; `false` if a resource does not exist.
    fn unpack_order_set(
        &mut self,
        set: &ResourceSet,
        parent_kind: Kind,
        parent_sym: Option<bool>,
    ) -> bool {
        let action = set.action.as_deref().unwrap_or("start");
        let local_kind = match set.kind.as_deref() {
            Some(k) => kind_of(Some(k), None).0,
            None => parent_kind,
        };
        let sequential = set.sequential.is_none_or(|s| s);
        // A set has no `symmetrical` of its own: it inherits the constraint's.
        let symmetry = symmetry_of(local_kind, parent_sym);
        let flags = flags_for_kind(local_kind, action, symmetry);
        let set_id = set.id.clone().unwrap_or_default();
        let mut resources = Vec::new();
        for id in &set.resources {
            match self.constraint_rsc(id) {
                Some(r) => resources.push(r),
                None => {
                    self.err(format!("{set_id}: No resource found for {id}"));
                    return false;
                }
            }
        }
        if resources.len() == 1 {
            return true;
        }
        let mut last: Option<RscId> = None;
        for (i, &r) in resources.iter().enumerate() {
            if local_kind == Kind::Serialize {
                for &then in &resources[i + 1..] {
                    let k1 = op_key(&self.rscs[r].id, action, 0);
                    let k2 = op_key(&self.rscs[then].id, action, 0);
                    self.new_ordering(Some(r), Some(k1), None, Some(then), Some(k2), None, flags);
                }
            } else if sequential {
                if let Some(l) = last {
                    self.order_rsc_actions(l, action, r, action, flags);
                }
                last = Some(r);
            }
        }
        if symmetry == Symmetry::Asymmetric {
            return true;
        }
        let Some(inv) = invert_action(action) else {
            return true;
        };
        let flags = flags_for_kind(local_kind, inv, Symmetry::Inverse);
        let mut last: Option<RscId> = None;
        for &r in &resources {
            if sequential {
                if let Some(l) = last {
                    self.order_rsc_actions(r, inv, l, inv, flags);
                }
                last = Some(r);
            }
        }
        true
    }

    /// `order_rsc_sets`; `false` if a resource does not exist.
    fn order_sets(
        &mut self,
        set1: &ResourceSet,
        set2: &ResourceSet,
        kind: Kind,
        symmetry: Symmetry,
    ) -> bool {
        let mut a1 = set1.action.as_deref().unwrap_or("start");
        let mut a2 = set2.action.as_deref().unwrap_or("start");
        let mut require_all = set1.require_all.unwrap_or(true);
        if symmetry == Symmetry::Inverse {
            a1 = invert_action(a1).unwrap_or(a1);
            a2 = invert_action(a2).unwrap_or(a2);
        }
        if a1 == "stop" || a1 == "demote" {
            require_all = true;
        }
        let flags = flags_for_kind(kind, a1, symmetry);
        let lookup = |s: &Self, ids: &[String]| -> Option<Vec<RscId>> {
            ids.iter().map(|i| s.constraint_rsc(i)).collect()
        };
        let (Some(r1s), Some(r2s)) = (lookup(self, &set1.resources), lookup(self, &set2.resources))
        else {
            self.err("Resource set refers to a missing resource".into());
            return false;
        };
        if !require_all {
            let refs = Refs::default();
            let name = format!("one-or-more:{}", set1.id.as_deref().unwrap_or(""));
            let pseudo = self.pseudo_op(&refs, &name);
            self.actions[pseudo].required_runnable_before = 1;
            for &r in &r1s {
                let k = op_key(&self.rscs[r].id, a1, 0);
                self.new_ordering(
                    Some(r),
                    Some(k),
                    None,
                    None,
                    None,
                    Some(pseudo),
                    ar::MIN_RUNNABLE | ar::FIRST_IMPLIES_THEN_GRAPHED,
                );
            }
            for &r in &r2s {
                let k = op_key(&self.rscs[r].id, a2, 0);
                self.new_ordering(
                    None,
                    None,
                    Some(pseudo),
                    Some(r),
                    Some(k),
                    None,
                    flags | ar::UNRUNNABLE_FIRST_BLOCKS,
                );
            }
            return true;
        }
        // Only an explicitly sequential set uses one member here.
        let seq1 = set1.sequential == Some(true);
        let seq2 = set2.sequential == Some(true);
        let rsc1 = if seq1 {
            if symmetry == Symmetry::Inverse {
                r1s.first().copied()
            } else {
                r1s.last().copied()
            }
        } else {
            None
        };
        let rsc2 = if seq2 {
            if symmetry == Symmetry::Inverse {
                r2s.last().copied()
            } else {
                r2s.first().copied()
            }
        } else {
            None
        };
        match (rsc1, rsc2) {
            (Some(x), Some(y)) => self.order_rsc_actions(x, a1, y, a2, flags),
            (Some(x), None) => {
                for &y in &r2s {
                    self.order_rsc_actions(x, a1, y, a2, flags);
                }
            }
            (None, Some(y)) => {
                for &x in &r1s {
                    self.order_rsc_actions(x, a1, y, a2, flags);
                }
            }
            (None, None) => {
                for &x in &r1s {
                    for &y in &r2s {
                        self.order_rsc_actions(x, a1, y, a2, flags);
                    }
                }
            }
        }
        true
    }
}

/// `parse_location_role`: Started and Unpromoted mean any role.
fn location_role(spec: Option<&str>) -> Role {
    match spec.and_then(Role::parse) {
        Some(Role::Started) | Some(Role::Unpromoted) | None => Role::Unknown,
        Some(r) => r,
    }
}
