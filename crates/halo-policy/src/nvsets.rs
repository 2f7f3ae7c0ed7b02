//! Name/value sets, references (`id-ref`) and rules.
//!
//! Pacemaker evaluates a list of sets by sorting them by `score` (highest first,
//! document order among equals) and taking, for each name, the value from the
//! first set whose rule passes. `id-ref` points at a set, pair or rule defined
//! elsewhere in the configuration.

use std::collections::BTreeMap;

use crate::sched::HashMap;

use halo_cib::model::{
    BooleanOp, Cib, CloneChild, NvPair, NvSet, Operations, Primitive, Resource, Rule, RuleExpr,
};

use crate::util::{numeric_strcasecmp, parse_interval, scan_ll};

/// Everything in the configuration that can be referenced by `id-ref`.
#[derive(Debug, Default)]
pub struct Refs<'a> {
    pub sets: HashMap<&'a str, &'a NvSet>,
    pub pairs: HashMap<&'a str, &'a NvPair>,
    pub rules: HashMap<&'a str, &'a Rule>,
    pub operations: HashMap<&'a str, &'a Operations>,
}

impl<'a> Refs<'a> {
    /// Indexes a CIB's configuration.
    pub fn new(cib: &'a Cib) -> Self {
        let mut r = Refs::default();
        let c = &cib.configuration;
        r.add_sets(&c.crm_config);
        if let Some(d) = &c.rsc_defaults {
            r.add_sets(d);
        }
        if let Some(d) = &c.op_defaults {
            r.add_sets(d);
        }
        for n in &c.nodes {
            r.add_sets(&n.attributes);
            r.add_sets(&n.utilization);
        }
        for res in &c.resources {
            match res {
                Resource::Primitive(p) => r.add_primitive(p),
                Resource::Group(g) => {
                    r.add_sets(&g.meta);
                    r.add_sets(&g.instance);
                    r.add_sets(&g.utilization);
                    for m in &g.members {
                        r.add_primitive(m);
                    }
                }
                Resource::Clone(cl) => {
                    r.add_sets(&cl.meta);
                    r.add_sets(&cl.instance);
                    match &cl.child {
                        CloneChild::Primitive(p) => r.add_primitive(p),
                        CloneChild::Group(g) => {
                            r.add_sets(&g.meta);
                            r.add_sets(&g.instance);
                            r.add_sets(&g.utilization);
                            for m in &g.members {
                                r.add_primitive(m);
                            }
                        }
                    }
                }
            }
        }
        for con in &c.constraints {
            if let halo_cib::model::Constraint::Location(l) = con {
                for rule in &l.rules {
                    r.add_rule(rule);
                }
            }
        }
        r
    }

    fn add_primitive(&mut self, p: &'a Primitive) {
        self.add_sets(&p.meta);
        self.add_sets(&p.instance);
        self.add_sets(&p.utilization);
        if let Some(ops) = &p.operations {
            if let Some(id) = &ops.id {
                self.operations.insert(id, ops);
            }
            for op in &ops.ops {
                self.add_sets(&op.meta);
                self.add_sets(&op.instance);
            }
        }
    }

    fn add_sets(&mut self, sets: &'a [NvSet]) {
        for s in sets {
            if let Some(id) = &s.id {
                self.sets.entry(id).or_insert(s);
            }
            for p in &s.pairs {
                if let Some(id) = &p.id {
                    self.pairs.entry(id).or_insert(p);
                }
            }
            if let Some(rule) = &s.rule {
                self.add_rule(rule);
            }
        }
    }

    fn add_rule(&mut self, rule: &'a Rule) {
        if let Some(id) = &rule.id {
            self.rules.entry(id).or_insert(rule);
        }
        for e in &rule.expressions {
            if let RuleExpr::Rule(r) = e {
                self.add_rule(r);
            }
        }
    }

    fn set(&self, s: &'a NvSet) -> Option<&'a NvSet> {
        match &s.id_ref {
            Some(r) => self.sets.get(r.as_str()).copied(),
            None => Some(s),
        }
    }

    fn rule(&self, r: &'a Rule) -> Option<&'a Rule> {
        match &r.id_ref {
            Some(id) => self.rules.get(id.as_str()).copied(),
            None => Some(r),
        }
    }

    /// The operations of a primitive, following an `id-ref`.
    pub fn ops(&self, p: &'a Primitive) -> &'a [halo_cib::model::Op] {
        match &p.operations {
            None => &[],
            Some(o) => match &o.id_ref {
                Some(r) => self.operations.get(r.as_str()).map_or(&[], |o| &o.ops),
                None => &o.ops,
            },
        }
    }
}

/// What a rule is evaluated against.
#[derive(Debug, Default, Clone, Copy)]
pub struct RuleInput<'b> {
    pub node_attrs: Option<&'b HashMap<String, String>>,
    pub rsc_standard: Option<&'b str>,
    pub rsc_provider: Option<&'b str>,
    pub rsc_agent: Option<&'b str>,
    pub op_name: Option<&'b str>,
    pub op_interval_ms: u32,
    pub rsc_params: Option<&'b BTreeMap<String, String>>,
    pub rsc_meta: Option<&'b HashMap<String, String>>,
    /// Resource id and `rsc-pattern` submatches (for `%N` / `\N` expansion).
    pub rsc_id_submatches: Option<&'b [String]>,
}

/// Evaluates a rule (`pcmk_evaluate_rule`).
pub fn eval_rule(refs: &Refs<'_>, rule: &Rule, input: &RuleInput<'_>) -> bool {
    let Some(rule) = (match &rule.id_ref {
        Some(id) => refs.rules.get(id.as_str()).copied(),
        None => Some(rule),
    }) else {
        return false;
    };
    if rule.expressions.is_empty() {
        return true;
    }
    let or = rule.boolean_op == Some(BooleanOp::Or);
    for e in &rule.expressions {
        let pass = match e {
            RuleExpr::Rule(r) => eval_rule(refs, r, input),
            RuleExpr::Attr(x) => eval_attr(x, input),
            RuleExpr::Rsc {
                class,
                provider,
                agent,
                ..
            } => {
                class
                    .as_deref()
                    .is_none_or(|c| Some(c) == input.rsc_standard)
                    && provider
                        .as_deref()
                        .is_none_or(|p| Some(p) == input.rsc_provider)
                    && agent.as_deref().is_none_or(|a| Some(a) == input.rsc_agent)
            }
            RuleExpr::Op { name, interval, .. } => {
                Some(name.as_str()) == input.op_name
                    && interval
                        .as_deref()
                        .is_none_or(|i| parse_interval(Some(i)) == input.op_interval_ms)
            }
        };
        if pass && or {
            return true;
        }
        if !pass && !or {
            return false;
        }
    }
    !or
}

/// Replaces `%N` and `\N` with submatch N of an `rsc-pattern` match.
pub fn expand_submatches(s: &str, subs: Option<&[String]>) -> String {
    let Some(subs) = subs else {
        return s.to_string();
    };
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if (c == '%' || c == '\\')
            && let Some(d) = chars.peek().and_then(|d| d.to_digit(10))
        {
            chars.next();
            if let Some(m) = subs.get(d as usize) {
                out.push_str(m);
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn eval_attr(x: &halo_cib::model::Expression, input: &RuleInput<'_>) -> bool {
    let attr = expand_submatches(&x.attribute, input.rsc_id_submatches);
    let actual: Option<&str> = input
        .node_attrs
        .and_then(|m| m.get(&attr))
        .map(String::as_str);
    let op = x.operation.to_ascii_lowercase();
    match op.as_str() {
        "defined" => return actual.is_some(),
        "not_defined" => return actual.is_none(),
        _ => {}
    }
    let Some(value) = x.value.as_deref() else {
        return false;
    };
    let reference: Option<String> = match x
        .value_source
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("literal") => Some(value.to_string()),
        Some("param") => input.rsc_params.and_then(|p| p.get(value)).cloned(),
        Some("meta") => input.rsc_meta.and_then(|m| m.get(value)).cloned(),
        Some(_) => return false,
    };
    let reference = reference.as_deref();
    let ty = match x
        .value_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => match op.as_str() {
            "lt" | "lte" | "gt" | "gte" => {
                if actual.is_some_and(|a| a.contains('.'))
                    || reference.is_some_and(|r| r.contains('.'))
                {
                    "number"
                } else {
                    "integer"
                }
            }
            _ => "string",
        },
        Some("string") => "string",
        Some("integer") | Some("int") => "integer",
        Some("number") => "number",
        Some("version") => "version",
        Some(_) => return false,
    };
    let cmp = cmp_by_type(actual, reference, ty);
    match op.as_str() {
        "eq" => cmp == std::cmp::Ordering::Equal,
        "ne" => cmp != std::cmp::Ordering::Equal,
        _ if actual.is_none() || reference.is_none() => false,
        "lt" => cmp == std::cmp::Ordering::Less,
        "lte" => cmp != std::cmp::Ordering::Greater,
        "gt" => cmp == std::cmp::Ordering::Greater,
        "gte" => cmp != std::cmp::Ordering::Less,
        _ => false,
    }
}

fn strcasecmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase())
}

fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim();
    // strtod accepts a leading numeric prefix.
    let end = t
        .char_indices()
        .take_while(|(i, c)| {
            c.is_ascii_digit()
                || *c == '.'
                || ((*c == '-' || *c == '+') && *i == 0)
                || *c == 'e'
                || *c == 'E'
        })
        .map(|(i, c)| i + c.len_utf8())
        .last()?;
    t[..end].parse().ok()
}

fn cmp_by_type(a: Option<&str>, b: Option<&str>, ty: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let (a, b) = match (a, b) {
        (None, None) => return Equal,
        (Some(_), None) => return Greater,
        (None, Some(_)) => return Less,
        (Some(a), Some(b)) => (a, b),
    };
    match ty {
        "integer" => match (scan_ll(a), scan_ll(b)) {
            (Some((x, _)), Some((y, _))) => x.cmp(&y),
            _ => strcasecmp(a, b),
        },
        "number" => match (parse_double(a), parse_double(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Equal),
            _ => strcasecmp(a, b),
        },
        "version" => compare_versions(a, b),
        _ => strcasecmp(a, b),
    }
}

/// `pcmk__compare_versions`: dot-separated numeric components.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |s: &str| -> Vec<i64> {
        s.split('.')
            .map(|p| scan_ll(p).map_or(0, |(v, _)| v))
            .collect()
    };
    let (va, vb) = (parse(a), parse(b));
    for i in 0..va.len().max(vb.len()) {
        let x = va.get(i).copied().unwrap_or(0);
        let y = vb.get(i).copied().unwrap_or(0);
        match x.cmp(&y) {
            std::cmp::Ordering::Equal => {}
            o => return o,
        }
    }
    let _ = numeric_strcasecmp;
    std::cmp::Ordering::Equal
}

/// A string map that sets can be unpacked into.
pub trait AttrMap {
    fn has(&self, name: &str) -> bool;
    fn put(&mut self, name: &str, value: &str);
    fn remove_name(&mut self, name: &str);
}

impl AttrMap for HashMap<String, String> {
    fn has(&self, name: &str) -> bool {
        self.contains_key(name)
    }
    fn put(&mut self, name: &str, value: &str) {
        self.insert(name.to_string(), value.to_string());
    }
    fn remove_name(&mut self, name: &str) {
        self.remove(name);
    }
}

impl AttrMap for BTreeMap<String, String> {
    fn has(&self, name: &str) -> bool {
        self.contains_key(name)
    }
    fn put(&mut self, name: &str, value: &str) {
        self.insert(name.to_string(), value.to_string());
    }
    fn remove_name(&mut self, name: &str) {
        self.remove(name);
    }
}

/// Unpacks a list of sets into `map` without overwriting existing names
/// (`pe__unpack_dataset_nvpairs`), honouring scores, rules and references.
/// `first_id` names a set to process first regardless of score. The deprecated
/// value `#default` removes a name set so far.
pub fn unpack_sets<'a>(
    refs: &Refs<'a>,
    sets: &'a [NvSet],
    input: &RuleInput<'_>,
    map: &mut dyn AttrMap,
    first_id: Option<&str>,
) {
    let mut blocks: Vec<&'a NvSet> = sets.iter().filter_map(|s| refs.set(s)).collect();
    // Stable sort: the first_id set first, then higher scores first.
    let key = |s: &NvSet| -> (bool, i32) {
        let first = first_id.is_some() && s.id.as_deref() == first_id;
        (!first, -s.score.map_or(0, |x| x.0))
    };
    blocks.sort_by_key(|s| key(s));
    for b in blocks {
        if let Some(rule) = &b.rule
            && !refs.rule(rule).is_some_and(|r| eval_rule(refs, r, input))
        {
            continue;
        }
        for p in &b.pairs {
            let p = match &p.id_ref {
                Some(r) => match refs.pairs.get(r.as_str()) {
                    Some(p) => *p,
                    None => continue,
                },
                None => p,
            };
            let (Some(name), Some(value)) = (&p.name, &p.value) else {
                continue;
            };
            if value.eq_ignore_ascii_case("#default") {
                map.remove_name(name);
            } else if !map.has(name) {
                map.put(name, value);
            }
        }
    }
}

/// Unpacks sets into a map (no overwrite).
pub fn unpack_into_map<'a>(
    refs: &Refs<'a>,
    sets: &'a [NvSet],
    input: &RuleInput<'_>,
    map: &mut HashMap<String, String>,
    first_id: Option<&str>,
) {
    unpack_sets(refs, sets, input, map, first_id);
}

/// Unpacks sets into an ordered map (no overwrite).
pub fn unpack_into_btree<'a>(
    refs: &Refs<'a>,
    sets: &'a [NvSet],
    input: &RuleInput<'_>,
    map: &mut BTreeMap<String, String>,
) {
    unpack_sets(refs, sets, input, map, None);
}
