//! The typed CIB model and its conversion from and to the XML tree.
//!
//! Each type mirrors one element of Pacemaker's CIB schema (the subset halo
//! supports) and has `from_element` (which rejects any attribute or child it does
//! not know, naming its line) and `to_element`. Values whose meaning Pacemaker
//! interprets loosely (nvpair values, time specifications, node-state flags) stay
//! strings here; the policy engine interprets them. Values with a closed set of
//! meanings (roles, scores, booleans, order kinds, exit codes) are typed.

use std::fmt;

use crate::error::{CibError, ErrorKind};
use crate::read::{Attrs, bool_str, boolean, duplicate_child, int, unsupported_child};
use crate::version::Version;
use crate::xml::{Element, Pull, TextReader, TreeReader};

/// `INFINITY` in Pacemaker's score arithmetic.
pub const INFINITY: i32 = 1_000_000;

/// A constraint or preference score: an integer clamped to ±[`INFINITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Score(pub i32);

impl Score {
    /// `INFINITY`.
    pub const INFINITY: Score = Score(INFINITY);
    /// `-INFINITY`.
    pub const MINUS_INFINITY: Score = Score(-INFINITY);

    /// Parses a score the way Pacemaker does: `INFINITY`, `+INFINITY`,
    /// `-INFINITY`, the health colours `red`/`yellow`/`green` (given their
    /// values), or an integer (like `strtoll`: a leading integer, anything after
    /// it ignored, so `1.0` is 1), clamped to ±INFINITY. Returns `None` when
    /// there is no number.
    pub fn parse_with_colors(s: &str, red: i32, yellow: i32, green: i32) -> Option<Score> {
        match s {
            "INFINITY" | "+INFINITY" => return Some(Score::INFINITY),
            "-INFINITY" => return Some(Score::MINUS_INFINITY),
            _ => {}
        }
        match s.to_ascii_lowercase().as_str() {
            "red" => return Some(Score(red)),
            "yellow" => return Some(Score(yellow)),
            "green" => return Some(Score(green)),
            _ => {}
        }
        let v: i64 = parse_leading_int(s)?;
        Some(Score(
            v.clamp(-i64::from(INFINITY), i64::from(INFINITY)) as i32
        ))
    }

    /// Parses a score (health colours count as 0 here).
    pub fn parse(s: &str) -> Option<Score> {
        Score::parse_with_colors(s, -INFINITY, 0, 0)
    }

    /// The score as Pacemaker prints it (`INFINITY`, `-INFINITY` or the number).
    pub fn text(self) -> String {
        self.to_string()
    }
}

impl std::ops::Add for Score {
    type Output = Score;

    /// Adds two scores with Pacemaker's rules: -INFINITY dominates, then +INFINITY,
    /// and sums are clamped.
    fn add(self, other: Score) -> Score {
        Score(add_scores(self.0, other.0))
    }
}

/// Pacemaker's score addition on plain integers.
pub fn add_scores(a: i32, b: i32) -> i32 {
    if a <= -INFINITY || b <= -INFINITY {
        return -INFINITY;
    }
    if a >= INFINITY || b >= INFINITY {
        return INFINITY;
    }
    (a + b).clamp(-INFINITY, INFINITY)
}

/// Parses an optionally signed decimal prefix like `strtoll` (leading whitespace
/// allowed, at least one digit, anything after the digits ignored).
fn parse_leading_int(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: &str = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    Some(if neg { -v } else { v })
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= INFINITY {
            f.write_str("INFINITY")
        } else if self.0 <= -INFINITY {
            f.write_str("-INFINITY")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A resource role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Not running.
    Stopped,
    /// Running (non-promotable resources).
    Started,
    /// Running in the unpromoted role (formerly "Slave").
    Unpromoted,
    /// Running in the promoted role (formerly "Master").
    Promoted,
}

impl Role {
    /// Parses a role name, case-insensitively, accepting the legacy names.
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stopped" => Some(Role::Stopped),
            "started" => Some(Role::Started),
            "unpromoted" | "slave" => Some(Role::Unpromoted),
            "promoted" | "master" => Some(Role::Promoted),
            _ => None,
        }
    }

    /// The role's name as written by Pacemaker 3.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Stopped => "Stopped",
            Role::Started => "Started",
            Role::Unpromoted => "Unpromoted",
            Role::Promoted => "Promoted",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `kind` of an ordering constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// Only applies if both actions are scheduled.
    Optional,
    /// `then` cannot happen unless `first` does.
    Mandatory,
    /// The two must not run at the same time.
    Serialize,
}

impl OrderKind {
    /// Parses the schema spelling; `None` for anything else (Pacemaker then uses
    /// `Mandatory` and logs a configuration error).
    pub fn parse(s: &str) -> Option<OrderKind> {
        match s {
            "Optional" => Some(OrderKind::Optional),
            "Mandatory" => Some(OrderKind::Mandatory),
            "Serialize" => Some(OrderKind::Serialize),
            _ => None,
        }
    }

    /// The schema spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::Optional => "Optional",
            OrderKind::Mandatory => "Mandatory",
            OrderKind::Serialize => "Serialize",
        }
    }
}

/// `resource-discovery` of a location constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Discovery {
    /// Probe everywhere (default).
    Always,
    /// Never probe on the constraint's nodes.
    Never,
    /// Probe only on nodes named by exclusive constraints.
    Exclusive,
}

impl Discovery {
    fn parse(s: &str) -> Option<Discovery> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(Discovery::Always),
            "never" => Some(Discovery::Never),
            "exclusive" => Some(Discovery::Exclusive),
            _ => None,
        }
    }

    /// The schema spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Discovery::Always => "always",
            Discovery::Never => "never",
            Discovery::Exclusive => "exclusive",
        }
    }
}

// ---------------------------------------------------------------------------
// name/value sets and rules

/// One `<nvpair>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NvPair {
    /// XML id.
    pub id: Option<String>,
    /// Reference to another nvpair whose name and value are used.
    pub id_ref: Option<String>,
    /// Attribute name.
    pub name: Option<String>,
    /// Attribute value.
    pub value: Option<String>,
}

impl NvPair {
    /// A pair with an id, name and value.
    pub fn new(id: &str, name: &str, value: &str) -> Self {
        NvPair {
            id: Some(id.to_string()),
            id_ref: None,
            name: Some(name.to_string()),
            value: Some(value.to_string()),
        }
    }

    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let p = NvPair {
            id: a.opt("id"),
            id_ref: a.opt("id-ref"),
            name: a.opt("name"),
            value: a.opt("value"),
        };
        a.finish()?;
        if let Some(c) = el.children.first() {
            return Err(unsupported_child(el, c));
        }
        if p.id.is_none() && p.id_ref.is_none() {
            return Err(CibError::at(
                el.line,
                ErrorKind::Missing {
                    element: "nvpair".into(),
                    attribute: "id".into(),
                },
            ));
        }
        Ok(p)
    }

    fn to_element(&self) -> Element<'static> {
        Element::new("nvpair")
            .with_opt("id", self.id.as_deref())
            .with_opt("id-ref", self.id_ref.as_deref())
            .with_opt("name", self.name.as_deref())
            .with_opt("value", self.value.as_deref())
    }
}

/// A block of name/value pairs: `cluster_property_set`, `instance_attributes`,
/// `meta_attributes` or `utilization`, optionally conditional on a rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NvSet {
    /// XML id.
    pub id: Option<String>,
    /// Reference to another set of the same kind.
    pub id_ref: Option<String>,
    /// Precedence among sets (higher first).
    pub score: Option<Score>,
    /// Condition for the set to apply.
    pub rule: Option<Rule>,
    /// The pairs, in document order.
    pub pairs: Vec<NvPair>,
}

impl NvSet {
    /// An unconditional set with the given pairs.
    pub fn new(id: &str, pairs: Vec<NvPair>) -> Self {
        NvSet {
            id: Some(id.to_string()),
            pairs,
            ..NvSet::default()
        }
    }

    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let mut set = NvSet {
            id: a.opt("id"),
            id_ref: a.opt("id-ref"),
            score: a.opt_parse("score", "a score", Score::parse)?,
            ..NvSet::default()
        };
        a.finish()?;
        if set.id.is_none() && set.id_ref.is_none() {
            return Err(CibError::at(
                el.line,
                ErrorKind::Missing {
                    element: el.name.to_string(),
                    attribute: "id".into(),
                },
            ));
        }
        for c in &el.children {
            match c.name.as_ref() {
                "nvpair" => set.pairs.push(NvPair::from_element(c)?),
                "rule" if set.rule.is_none() => set.rule = Some(Rule::from_element(c)?),
                "rule" => return Err(duplicate_child(el, c)),
                _ => return Err(unsupported_child(el, c)),
            }
        }
        Ok(set)
    }

    fn to_element(&self, name: &str) -> Element<'static> {
        let mut el = Element::new(name)
            .with_opt("id", self.id.as_deref())
            .with_opt("id-ref", self.id_ref.as_deref())
            .with_opt("score", self.score.map(|s| s.text()).as_deref());
        if let Some(r) = &self.rule {
            el.children.push(r.to_element());
        }
        el.children
            .extend(self.pairs.iter().map(NvPair::to_element));
        el
    }

    /// The value of `name` in this set (ignoring rules and references).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| p.value.as_deref())
    }
}

/// `boolean-op` of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BooleanOp {
    /// All sub-expressions must pass (default).
    And,
    /// At least one must pass.
    Or,
}

/// A rule: a boolean combination of expressions, with a score for location rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// XML id.
    pub id: Option<String>,
    /// Reference to another rule.
    pub id_ref: Option<String>,
    /// Score contributed when the rule passes (location rules).
    pub score: Option<Score>,
    /// Node attribute whose value is the score (location rules).
    pub score_attribute: Option<String>,
    /// How sub-expressions combine.
    pub boolean_op: Option<BooleanOp>,
    /// Role the rule applies to (location rules).
    pub role: Option<Role>,
    /// Sub-expressions in document order.
    pub expressions: Vec<RuleExpr>,
}

/// One condition inside a [`Rule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleExpr {
    /// `<expression>`: compares a node attribute (or parameter/meta value).
    Attr(Expression),
    /// `<rsc_expression>`: matches the resource agent.
    Rsc {
        /// XML id.
        id: Option<String>,
        /// Agent class.
        class: Option<String>,
        /// Agent provider.
        provider: Option<String>,
        /// Agent type.
        agent: Option<String>,
    },
    /// `<op_expression>`: matches the operation name and interval.
    Op {
        /// XML id.
        id: Option<String>,
        /// Operation name.
        name: String,
        /// Interval specification.
        interval: Option<String>,
    },
    /// A nested `<rule>`.
    Rule(Rule),
}

/// `<expression>`: `attribute operation value`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expression {
    /// XML id.
    pub id: Option<String>,
    /// Node attribute name.
    pub attribute: String,
    /// `lt`, `gt`, `lte`, `gte`, `eq`, `ne`, `defined`, `not_defined`.
    pub operation: String,
    /// Value to compare with.
    pub value: Option<String>,
    /// `string`, `integer`, `number`, `version` (or legacy `int`).
    pub value_type: Option<String>,
    /// `literal`, `param` or `meta`.
    pub value_source: Option<String>,
}

const EXPRESSION_OPS: &[&str] = &[
    "lt",
    "gt",
    "lte",
    "gte",
    "eq",
    "ne",
    "defined",
    "not_defined",
];

impl Rule {
    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let mut r = Rule {
            id: a.opt("id"),
            id_ref: a.opt("id-ref"),
            score: a.opt_parse("score", "a score", Score::parse)?,
            score_attribute: a.opt("score-attribute"),
            boolean_op: a.opt_parse("boolean-op", "and or or", |s| {
                match s.to_ascii_lowercase().as_str() {
                    "and" => Some(BooleanOp::And),
                    "or" => Some(BooleanOp::Or),
                    _ => None,
                }
            })?,
            role: a.opt_parse("role", "a role", Role::parse)?,
            expressions: Vec::new(),
        };
        a.finish()?;
        for c in &el.children {
            let e = match c.name.as_ref() {
                "expression" => {
                    let mut a = Attrs::new(c);
                    let e = Expression {
                        id: a.opt("id"),
                        attribute: a.req("attribute")?,
                        operation: a.req("operation")?,
                        value: a.opt("value"),
                        value_type: a.opt("type"),
                        value_source: a.opt("value-source"),
                    };
                    if !EXPRESSION_OPS.contains(&e.operation.as_str()) {
                        return Err(a.bad(
                            "operation",
                            &e.operation,
                            "lt, gt, lte, gte, eq, ne, defined or not_defined",
                        ));
                    }
                    a.finish()?;
                    no_children(c)?;
                    RuleExpr::Attr(e)
                }
                "rsc_expression" => {
                    let mut a = Attrs::new(c);
                    let e = RuleExpr::Rsc {
                        id: a.opt("id"),
                        class: a.opt("class"),
                        provider: a.opt("provider"),
                        agent: a.opt("type"),
                    };
                    a.finish()?;
                    no_children(c)?;
                    e
                }
                "op_expression" => {
                    let mut a = Attrs::new(c);
                    let e = RuleExpr::Op {
                        id: a.opt("id"),
                        name: a.req("name")?,
                        interval: a.opt("interval"),
                    };
                    a.finish()?;
                    no_children(c)?;
                    e
                }
                "rule" => RuleExpr::Rule(Rule::from_element(c)?),
                "date_expression" => {
                    return Err(CibError::at(
                        c.line,
                        ErrorKind::Unsupported(
                            "element <date_expression> (date-based rules are tier 4)".into(),
                        ),
                    ));
                }
                _ => return Err(unsupported_child(el, c)),
            };
            r.expressions.push(e);
        }
        Ok(r)
    }

    fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("rule")
            .with_opt("id", self.id.as_deref())
            .with_opt("id-ref", self.id_ref.as_deref())
            .with_opt("score", self.score.map(|s| s.text()).as_deref())
            .with_opt("score-attribute", self.score_attribute.as_deref())
            .with_opt(
                "boolean-op",
                self.boolean_op.map(|b| match b {
                    BooleanOp::And => "and",
                    BooleanOp::Or => "or",
                }),
            )
            .with_opt("role", self.role.map(Role::as_str));
        for e in &self.expressions {
            el.children.push(match e {
                RuleExpr::Attr(x) => Element::new("expression")
                    .with_opt("id", x.id.as_deref())
                    .with_attr("attribute", &x.attribute)
                    .with_attr("operation", &x.operation)
                    .with_opt("value", x.value.as_deref())
                    .with_opt("type", x.value_type.as_deref())
                    .with_opt("value-source", x.value_source.as_deref()),
                RuleExpr::Rsc {
                    id,
                    class,
                    provider,
                    agent,
                } => Element::new("rsc_expression")
                    .with_opt("id", id.as_deref())
                    .with_opt("class", class.as_deref())
                    .with_opt("provider", provider.as_deref())
                    .with_opt("type", agent.as_deref()),
                RuleExpr::Op { id, name, interval } => Element::new("op_expression")
                    .with_opt("id", id.as_deref())
                    .with_attr("name", name)
                    .with_opt("interval", interval.as_deref()),
                RuleExpr::Rule(r) => r.to_element(),
            });
        }
        el
    }
}

fn no_children(el: &Element<'_>) -> Result<(), CibError> {
    match el.children.first() {
        Some(c) => Err(unsupported_child(el, c)),
        None => Ok(()),
    }
}

/// Reads child sets named `name` into `into`; returns whether the child was one.
fn take_set(c: &Element<'_>, name: &str, into: &mut Vec<NvSet>) -> Result<bool, CibError> {
    if c.name == name {
        into.push(NvSet::from_element(c)?);
        Ok(true)
    } else {
        Ok(false)
    }
}

fn push_sets(el: &mut Element, name: &str, sets: &[NvSet]) {
    el.children.extend(sets.iter().map(|s| s.to_element(name)));
}

// ---------------------------------------------------------------------------
// nodes

/// A node in the `<nodes>` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// Node id (the cluster layer's id, often a number or the name).
    pub id: String,
    /// Node name.
    pub uname: String,
    /// `member` (default), `remote` or `ping`.
    pub node_type: Option<String>,
    /// Base score for every resource on this node.
    pub score: Option<Score>,
    /// Free text.
    pub description: Option<String>,
    /// Permanent node attributes.
    pub attributes: Vec<NvSet>,
    /// Capacities for `placement-strategy`.
    pub utilization: Vec<NvSet>,
}

impl Node {
    /// A cluster node with the given id and name.
    pub fn new(id: &str, uname: &str) -> Self {
        Node {
            id: id.to_string(),
            uname: uname.to_string(),
            ..Node::default()
        }
    }

    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let mut n = Node {
            id: a.req("id")?,
            uname: a.req("uname")?,
            node_type: a.opt("type"),
            score: a.opt_parse("score", "a score", Score::parse)?,
            description: a.opt("description"),
            ..Node::default()
        };
        if let Some(t) = &n.node_type
            && !matches!(t.as_str(), "member" | "remote" | "ping" | "normal")
        {
            return Err(a.bad("type", t, "member, remote or ping"));
        }
        a.finish()?;
        for c in &el.children {
            if !(take_set(c, "instance_attributes", &mut n.attributes)?
                || take_set(c, "utilization", &mut n.utilization)?)
            {
                return Err(unsupported_child(el, c));
            }
        }
        Ok(n)
    }

    fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("node")
            .with_attr("id", &self.id)
            .with_attr("uname", &self.uname)
            .with_opt("type", self.node_type.as_deref())
            .with_opt("score", self.score.map(|s| s.text()).as_deref())
            .with_opt("description", self.description.as_deref());
        push_sets(&mut el, "instance_attributes", &self.attributes);
        push_sets(&mut el, "utilization", &self.utilization);
        el
    }
}

// ---------------------------------------------------------------------------
// resources

/// An operation definition (`<op>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Op {
    /// XML id.
    pub id: String,
    /// Action name (`monitor`, `start`, ...).
    pub name: String,
    /// Interval specification (`0`, `10s`, `P1D`, ...).
    pub interval: String,
    /// Timeout specification.
    pub timeout: Option<String>,
    /// Delay before the first run.
    pub start_delay: Option<String>,
    /// Anchor time for recurring operations.
    pub interval_origin: Option<String>,
    /// Role the operation applies to.
    pub role: Option<Role>,
    /// What to do when it fails.
    pub on_fail: Option<String>,
    /// Whether the operation is enabled.
    pub enabled: Option<bool>,
    /// Whether pending state is recorded.
    pub record_pending: Option<bool>,
    /// Legacy per-operation `requires`.
    pub requires: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Operation meta-attributes.
    pub meta: Vec<NvSet>,
    /// Operation-specific agent parameters.
    pub instance: Vec<NvSet>,
}

impl Op {
    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let mut op = Op {
            id: a.req("id")?,
            name: a.req("name")?,
            interval: a.req("interval")?,
            timeout: a.opt("timeout"),
            start_delay: a.opt("start-delay"),
            interval_origin: a.opt("interval-origin"),
            role: a.opt_parse("role", "a role", Role::parse)?,
            on_fail: a.opt("on-fail"),
            enabled: a.opt_parse("enabled", "a boolean", boolean)?,
            record_pending: a.opt_parse("record-pending", "a boolean", boolean)?,
            requires: a.opt("requires"),
            description: a.opt("description"),
            ..Op::default()
        };
        a.finish()?;
        for c in &el.children {
            if !(take_set(c, "meta_attributes", &mut op.meta)?
                || take_set(c, "instance_attributes", &mut op.instance)?)
            {
                return Err(unsupported_child(el, c));
            }
        }
        Ok(op)
    }

    fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("op")
            .with_attr("id", &self.id)
            .with_attr("name", &self.name)
            .with_attr("interval", &self.interval)
            .with_opt("timeout", self.timeout.as_deref())
            .with_opt("start-delay", self.start_delay.as_deref())
            .with_opt("interval-origin", self.interval_origin.as_deref())
            .with_opt("role", self.role.map(Role::as_str))
            .with_opt("on-fail", self.on_fail.as_deref())
            .with_opt("enabled", self.enabled.map(bool_str))
            .with_opt("record-pending", self.record_pending.map(bool_str))
            .with_opt("requires", self.requires.as_deref())
            .with_opt("description", self.description.as_deref());
        push_sets(&mut el, "meta_attributes", &self.meta);
        push_sets(&mut el, "instance_attributes", &self.instance);
        el
    }
}

/// `<operations>`: a primitive's operations, or a reference to another's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Operations {
    /// XML id.
    pub id: Option<String>,
    /// Reference to another `<operations>` block.
    pub id_ref: Option<String>,
    /// The operations.
    pub ops: Vec<Op>,
}

/// A primitive resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Primitive {
    /// Resource id.
    pub id: String,
    /// Agent class (`ocf`, `lsb`, `systemd`, `stonith`, `heartbeat`, ...).
    pub class: String,
    /// Agent provider (OCF only).
    pub provider: Option<String>,
    /// Agent type.
    pub agent: String,
    /// Free text.
    pub description: Option<String>,
    /// Meta-attributes (cluster options for this resource).
    pub meta: Vec<NvSet>,
    /// Agent parameters.
    pub instance: Vec<NvSet>,
    /// Resource utilization.
    pub utilization: Vec<NvSet>,
    /// Operations.
    pub operations: Option<Operations>,
}

impl Primitive {
    /// A primitive with class, provider and type.
    pub fn new(id: &str, class: &str, provider: Option<&str>, agent: &str) -> Self {
        Primitive {
            id: id.to_string(),
            class: class.to_string(),
            provider: provider.map(str::to_string),
            agent: agent.to_string(),
            ..Primitive::default()
        }
    }

    /// The configured operations (empty if none or only a reference).
    pub fn ops(&self) -> &[Op] {
        self.operations.as_ref().map_or(&[], |o| &o.ops)
    }

    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        if a.opt("template").is_some() {
            return Err(CibError::at(
                el.line,
                ErrorKind::Unsupported(
                    "attribute 'template' on <primitive> (templates are tier 4)".into(),
                ),
            ));
        }
        let mut p = Primitive {
            id: a.req("id")?,
            class: a.req("class")?,
            provider: a.opt("provider"),
            agent: a.req("type")?,
            description: a.opt("description"),
            ..Primitive::default()
        };
        a.finish()?;
        for c in &el.children {
            if take_set(c, "meta_attributes", &mut p.meta)?
                || take_set(c, "instance_attributes", &mut p.instance)?
                || take_set(c, "utilization", &mut p.utilization)?
            {
                continue;
            }
            if c.name == "operations" {
                if p.operations.is_some() {
                    return Err(duplicate_child(el, c));
                }
                let mut a = Attrs::new(c);
                let mut ops = Operations {
                    id: a.opt("id"),
                    id_ref: a.opt("id-ref"),
                    ops: Vec::new(),
                };
                a.finish()?;
                for o in &c.children {
                    if o.name != "op" {
                        return Err(unsupported_child(c, o));
                    }
                    ops.ops.push(Op::from_element(o)?);
                }
                p.operations = Some(ops);
                continue;
            }
            return Err(unsupported_child(el, c));
        }
        Ok(p)
    }

    fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("primitive")
            .with_attr("id", &self.id)
            .with_attr("class", &self.class)
            .with_opt("provider", self.provider.as_deref())
            .with_attr("type", &self.agent)
            .with_opt("description", self.description.as_deref());
        push_sets(&mut el, "meta_attributes", &self.meta);
        push_sets(&mut el, "instance_attributes", &self.instance);
        push_sets(&mut el, "utilization", &self.utilization);
        if let Some(ops) = &self.operations {
            let mut o = Element::new("operations")
                .with_opt("id", ops.id.as_deref())
                .with_opt("id-ref", ops.id_ref.as_deref());
            o.children.extend(ops.ops.iter().map(Op::to_element));
            el.children.push(o);
        }
        el
    }
}

/// A group: primitives started in order on one node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// Resource id.
    pub id: String,
    /// Free text.
    pub description: Option<String>,
    /// Meta-attributes (inherited by members).
    pub meta: Vec<NvSet>,
    /// Agent parameters (inherited by members).
    pub instance: Vec<NvSet>,
    /// Utilization (not used by Pacemaker for groups; kept for round-trips).
    pub utilization: Vec<NvSet>,
    /// Members in start order.
    pub members: Vec<Primitive>,
}

impl Group {
    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let mut g = Group {
            id: a.req("id")?,
            description: a.opt("description"),
            ..Group::default()
        };
        a.finish()?;
        for c in &el.children {
            if take_set(c, "meta_attributes", &mut g.meta)?
                || take_set(c, "instance_attributes", &mut g.instance)?
                || take_set(c, "utilization", &mut g.utilization)?
            {
                continue;
            }
            if c.name == "primitive" {
                g.members.push(Primitive::from_element(c)?);
                continue;
            }
            return Err(unsupported_child(el, c));
        }
        if g.members.is_empty() {
            return Err(CibError::at(
                el.line,
                ErrorKind::Structure(format!("group '{}' has no members", g.id)),
            ));
        }
        Ok(g)
    }

    fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("group")
            .with_attr("id", &self.id)
            .with_opt("description", self.description.as_deref());
        push_sets(&mut el, "meta_attributes", &self.meta);
        push_sets(&mut el, "instance_attributes", &self.instance);
        push_sets(&mut el, "utilization", &self.utilization);
        el.children
            .extend(self.members.iter().map(Primitive::to_element));
        el
    }
}

/// What a clone clones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloneChild {
    /// A cloned primitive.
    Primitive(Primitive),
    /// A cloned group.
    Group(Group),
}

impl CloneChild {
    /// The child's id.
    pub fn id(&self) -> &str {
        match self {
            CloneChild::Primitive(p) => &p.id,
            CloneChild::Group(g) => &g.id,
        }
    }
}

/// A clone (optionally promotable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clone {
    /// Resource id.
    pub id: String,
    /// Free text.
    pub description: Option<String>,
    /// Meta-attributes (`clone-max`, `promotable`, ...).
    pub meta: Vec<NvSet>,
    /// Agent parameters (inherited).
    pub instance: Vec<NvSet>,
    /// The cloned resource.
    pub child: CloneChild,
}

impl Clone {
    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let id = a.req("id")?;
        let description = a.opt("description");
        a.finish()?;
        let mut meta = Vec::new();
        let mut instance = Vec::new();
        let mut child = None;
        for c in &el.children {
            if take_set(c, "meta_attributes", &mut meta)?
                || take_set(c, "instance_attributes", &mut instance)?
            {
                continue;
            }
            let ch = match c.name.as_ref() {
                "primitive" => CloneChild::Primitive(Primitive::from_element(c)?),
                "group" => CloneChild::Group(Group::from_element(c)?),
                _ => return Err(unsupported_child(el, c)),
            };
            if child.is_some() {
                return Err(CibError::at(
                    c.line,
                    ErrorKind::Structure(format!("clone '{id}' has more than one child")),
                ));
            }
            child = Some(ch);
        }
        let child = child.ok_or_else(|| {
            CibError::at(
                el.line,
                ErrorKind::Structure(format!("clone '{id}' has no primitive or group")),
            )
        })?;
        Ok(Clone {
            id,
            description,
            meta,
            instance,
            child,
        })
    }

    fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("clone")
            .with_attr("id", &self.id)
            .with_opt("description", self.description.as_deref());
        push_sets(&mut el, "meta_attributes", &self.meta);
        push_sets(&mut el, "instance_attributes", &self.instance);
        el.children.push(match &self.child {
            CloneChild::Primitive(p) => p.to_element(),
            CloneChild::Group(g) => g.to_element(),
        });
        el
    }
}

/// A top-level resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A primitive.
    Primitive(Primitive),
    /// A group.
    Group(Group),
    /// A clone.
    Clone(Clone),
}

impl Resource {
    /// The resource id.
    pub fn id(&self) -> &str {
        match self {
            Resource::Primitive(p) => &p.id,
            Resource::Group(g) => &g.id,
            Resource::Clone(c) => &c.id,
        }
    }

    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        Ok(match el.name.as_ref() {
            "primitive" => Resource::Primitive(Primitive::from_element(el)?),
            "group" => Resource::Group(Group::from_element(el)?),
            "clone" => Resource::Clone(Clone::from_element(el)?),
            "bundle" | "template" | "master" => {
                return Err(CibError::at(
                    el.line,
                    ErrorKind::Unsupported(format!("element <{}> (tier 4)", el.name)),
                ));
            }
            _ => {
                return Err(CibError::at(
                    el.line,
                    ErrorKind::Unsupported(format!("element <{}> in <resources>", el.name)),
                ));
            }
        })
    }

    fn to_element(&self) -> Element<'static> {
        match self {
            Resource::Primitive(p) => p.to_element(),
            Resource::Group(g) => g.to_element(),
            Resource::Clone(c) => c.to_element(),
        }
    }
}

// ---------------------------------------------------------------------------
// constraints

/// `<resource_set>` inside a constraint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceSet {
    /// XML id.
    pub id: Option<String>,
    /// Reference to another set.
    pub id_ref: Option<String>,
    /// Whether members are ordered/colocated among themselves.
    pub sequential: Option<bool>,
    /// Whether all members are needed (ordering).
    pub require_all: Option<bool>,
    /// Legacy `ordering` (colocation sets).
    pub ordering: Option<String>,
    /// Action (ordering sets).
    pub action: Option<String>,
    /// Role (colocation and location sets).
    pub role: Option<Role>,
    /// Score (colocation and location sets).
    pub score: Option<Score>,
    /// Kind (ordering sets), as written (see [`OrderKind::parse`]).
    pub kind: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Member resource ids in order.
    pub resources: Vec<String>,
}

impl ResourceSet {
    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let mut s = ResourceSet {
            id: a.opt("id"),
            id_ref: a.opt("id-ref"),
            sequential: a.opt_parse("sequential", "a boolean", boolean)?,
            require_all: a.opt_parse("require-all", "a boolean", boolean)?,
            ordering: a.opt("ordering"),
            action: a.opt("action"),
            role: a.opt_parse("role", "a role", Role::parse)?,
            score: a.opt_parse("score", "a score", Score::parse)?,
            kind: a.opt("kind"),
            description: a.opt("description"),
            resources: Vec::new(),
        };
        a.finish()?;
        for c in &el.children {
            if c.name != "resource_ref" {
                return Err(unsupported_child(el, c));
            }
            let mut a = Attrs::new(c);
            s.resources.push(a.req("id")?);
            a.finish()?;
            no_children(c)?;
        }
        Ok(s)
    }

    fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("resource_set")
            .with_opt("id", self.id.as_deref())
            .with_opt("id-ref", self.id_ref.as_deref())
            .with_opt("sequential", self.sequential.map(bool_str))
            .with_opt("require-all", self.require_all.map(bool_str))
            .with_opt("ordering", self.ordering.as_deref())
            .with_opt("action", self.action.as_deref())
            .with_opt("role", self.role.map(Role::as_str))
            .with_opt("score", self.score.map(|s| s.text()).as_deref())
            .with_opt("kind", self.kind.as_deref())
            .with_opt("description", self.description.as_deref());
        for r in &self.resources {
            el.children
                .push(Element::new("resource_ref").with_attr("id", r));
        }
        el
    }
}

/// `<rsc_location>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// Constraint id.
    pub id: String,
    /// Resource.
    pub rsc: Option<String>,
    /// Regular expression matching resource ids.
    pub rsc_pattern: Option<String>,
    /// Role the constraint applies to.
    pub role: Option<Role>,
    /// Node (with `score`).
    pub node: Option<String>,
    /// Score (with `node`).
    pub score: Option<Score>,
    /// Probe policy for the constraint's nodes.
    pub resource_discovery: Option<Discovery>,
    /// Free text.
    pub description: Option<String>,
    /// Rules (instead of `node`/`score`).
    pub rules: Vec<Rule>,
    /// Resource sets (instead of `rsc`).
    pub sets: Vec<ResourceSet>,
}

/// `<rsc_colocation>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Colocation {
    /// Constraint id.
    pub id: String,
    /// Dependent resource.
    pub rsc: Option<String>,
    /// Primary resource.
    pub with_rsc: Option<String>,
    /// Dependent's role.
    pub rsc_role: Option<Role>,
    /// Primary's role.
    pub with_rsc_role: Option<Role>,
    /// Strength.
    pub score: Option<Score>,
    /// Node attribute that must match (default `#uname`).
    pub node_attribute: Option<String>,
    /// Whether the dependent may move the primary.
    pub influence: Option<bool>,
    /// Removed option, kept for round-trips.
    pub symmetrical: Option<bool>,
    /// Free text.
    pub description: Option<String>,
    /// Resource sets.
    pub sets: Vec<ResourceSet>,
}

/// `<rsc_order>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Order {
    /// Constraint id.
    pub id: String,
    /// First resource.
    pub first: Option<String>,
    /// Then resource.
    pub then: Option<String>,
    /// First action (default start).
    pub first_action: Option<String>,
    /// Then action (default: first action).
    pub then_action: Option<String>,
    /// Kind, as written (see [`OrderKind::parse`]; Pacemaker treats an unknown
    /// kind as `Mandatory`, so it is kept rather than rejected).
    pub kind: Option<String>,
    /// Deprecated score (0 means optional).
    pub score: Option<Score>,
    /// Whether the inverse ordering applies too.
    pub symmetrical: Option<bool>,
    /// Deprecated `require-all`.
    pub require_all: Option<bool>,
    /// Free text.
    pub description: Option<String>,
    /// Resource sets.
    pub sets: Vec<ResourceSet>,
}

const ORDER_ACTIONS: &[&str] = &[
    "start", "stop", "promote", "demote", "promoted", "demoted", "running", "stopped",
];

/// A constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// Location.
    Location(Location),
    /// Colocation.
    Colocation(Colocation),
    /// Ordering.
    Order(Order),
}

impl Constraint {
    /// The constraint id.
    pub fn id(&self) -> &str {
        match self {
            Constraint::Location(c) => &c.id,
            Constraint::Colocation(c) => &c.id,
            Constraint::Order(c) => &c.id,
        }
    }

    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let c = match el.name.as_ref() {
            "rsc_location" => {
                let mut l = Location {
                    id: a.req("id")?,
                    rsc: a.opt("rsc"),
                    rsc_pattern: a.opt("rsc-pattern"),
                    role: a.opt_parse("role", "a role", Role::parse)?,
                    node: a.opt("node"),
                    score: a.opt_parse("score", "a score", Score::parse)?,
                    resource_discovery: a.opt_parse(
                        "resource-discovery",
                        "always, never or exclusive",
                        Discovery::parse,
                    )?,
                    description: a.opt("description"),
                    ..Location::default()
                };
                if a.opt("lifetime").is_some() {
                    return Err(CibError::at(
                        el.line,
                        ErrorKind::Unsupported("attribute 'lifetime' on <rsc_location>".into()),
                    ));
                }
                for c in &el.children {
                    match c.name.as_ref() {
                        "rule" => l.rules.push(Rule::from_element(c)?),
                        "resource_set" => l.sets.push(ResourceSet::from_element(c)?),
                        _ => return Err(unsupported_child(el, c)),
                    }
                }
                if l.rsc.is_none() && l.rsc_pattern.is_none() && l.sets.is_empty() {
                    return Err(CibError::at(
                        el.line,
                        ErrorKind::Missing {
                            element: "rsc_location".into(),
                            attribute: "rsc".into(),
                        },
                    ));
                }
                Constraint::Location(l)
            }
            "rsc_colocation" => {
                let mut c = Colocation {
                    id: a.req("id")?,
                    rsc: a.opt("rsc"),
                    with_rsc: a.opt("with-rsc"),
                    rsc_role: a.opt_parse("rsc-role", "a role", Role::parse)?,
                    with_rsc_role: a.opt_parse("with-rsc-role", "a role", Role::parse)?,
                    score: a.opt_parse("score", "a score", Score::parse)?,
                    node_attribute: a.opt("node-attribute"),
                    influence: a.opt_parse("influence", "a boolean", boolean)?,
                    symmetrical: a.opt_parse("symmetrical", "a boolean", boolean)?,
                    description: a.opt("description"),
                    sets: Vec::new(),
                };
                for ch in &el.children {
                    if ch.name != "resource_set" {
                        return Err(unsupported_child(el, ch));
                    }
                    c.sets.push(ResourceSet::from_element(ch)?);
                }
                Constraint::Colocation(c)
            }
            "rsc_order" => {
                let mut o = Order {
                    id: a.req("id")?,
                    first: a.opt("first"),
                    then: a.opt("then"),
                    first_action: a.opt("first-action"),
                    then_action: a.opt("then-action"),
                    kind: a.opt("kind"),
                    score: a.opt_parse("score", "a score", Score::parse)?,
                    symmetrical: a.opt_parse("symmetrical", "a boolean", boolean)?,
                    require_all: a.opt_parse("require-all", "a boolean", boolean)?,
                    description: a.opt("description"),
                    sets: Vec::new(),
                };
                for (name, v) in [
                    ("first-action", &o.first_action),
                    ("then-action", &o.then_action),
                ] {
                    if let Some(v) = v
                        && !ORDER_ACTIONS.contains(&v.as_str())
                    {
                        return Err(a.bad(name, v, "an action name such as start or stop"));
                    }
                }
                for ch in &el.children {
                    if ch.name != "resource_set" {
                        return Err(unsupported_child(el, ch));
                    }
                    o.sets.push(ResourceSet::from_element(ch)?);
                }
                Constraint::Order(o)
            }
            "rsc_ticket" => {
                return Err(CibError::at(
                    el.line,
                    ErrorKind::Unsupported("element <rsc_ticket> (tickets are tier 4)".into()),
                ));
            }
            _ => {
                return Err(CibError::at(
                    el.line,
                    ErrorKind::Unsupported(format!("element <{}> in <constraints>", el.name)),
                ));
            }
        };
        a.finish()?;
        Ok(c)
    }

    fn to_element(&self) -> Element<'static> {
        match self {
            Constraint::Location(l) => {
                let mut el = Element::new("rsc_location")
                    .with_attr("id", &l.id)
                    .with_opt("rsc", l.rsc.as_deref())
                    .with_opt("rsc-pattern", l.rsc_pattern.as_deref())
                    .with_opt("role", l.role.map(Role::as_str))
                    .with_opt("node", l.node.as_deref())
                    .with_opt("score", l.score.map(|s| s.text()).as_deref())
                    .with_opt(
                        "resource-discovery",
                        l.resource_discovery.map(Discovery::as_str),
                    )
                    .with_opt("description", l.description.as_deref());
                el.children.extend(l.rules.iter().map(Rule::to_element));
                el.children
                    .extend(l.sets.iter().map(ResourceSet::to_element));
                el
            }
            Constraint::Colocation(c) => {
                let mut el = Element::new("rsc_colocation")
                    .with_attr("id", &c.id)
                    .with_opt("rsc", c.rsc.as_deref())
                    .with_opt("with-rsc", c.with_rsc.as_deref())
                    .with_opt("rsc-role", c.rsc_role.map(Role::as_str))
                    .with_opt("with-rsc-role", c.with_rsc_role.map(Role::as_str))
                    .with_opt("score", c.score.map(|s| s.text()).as_deref())
                    .with_opt("node-attribute", c.node_attribute.as_deref())
                    .with_opt("influence", c.influence.map(bool_str))
                    .with_opt("symmetrical", c.symmetrical.map(bool_str))
                    .with_opt("description", c.description.as_deref());
                el.children
                    .extend(c.sets.iter().map(ResourceSet::to_element));
                el
            }
            Constraint::Order(o) => {
                let mut el = Element::new("rsc_order")
                    .with_attr("id", &o.id)
                    .with_opt("first", o.first.as_deref())
                    .with_opt("then", o.then.as_deref())
                    .with_opt("first-action", o.first_action.as_deref())
                    .with_opt("then-action", o.then_action.as_deref())
                    .with_opt("kind", o.kind.as_deref())
                    .with_opt("score", o.score.map(|s| s.text()).as_deref())
                    .with_opt("symmetrical", o.symmetrical.map(bool_str))
                    .with_opt("require-all", o.require_all.map(bool_str))
                    .with_opt("description", o.description.as_deref());
                el.children
                    .extend(o.sets.iter().map(ResourceSet::to_element));
                el
            }
        }
    }
}

// ---------------------------------------------------------------------------
// fencing topology and alerts

/// `<fencing-level>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FencingLevel {
    /// XML id.
    pub id: String,
    /// Level (1 is tried first).
    pub index: u32,
    /// Comma-separated fence device ids.
    pub devices: String,
    /// Target node name.
    pub target: Option<String>,
    /// Regular expression matching target node names.
    pub target_pattern: Option<String>,
    /// Node attribute selecting targets.
    pub target_attribute: Option<String>,
    /// Value of `target_attribute`.
    pub target_value: Option<String>,
    /// Free text.
    pub description: Option<String>,
}

/// `<recipient>` of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipient {
    /// XML id.
    pub id: String,
    /// Recipient (address, file, ...).
    pub value: String,
    /// Free text.
    pub description: Option<String>,
    /// Meta-attributes.
    pub meta: Vec<NvSet>,
    /// Parameters.
    pub instance: Vec<NvSet>,
}

/// `<alert>`: an external agent called on cluster events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Alert {
    /// XML id.
    pub id: String,
    /// Agent path.
    pub path: String,
    /// Free text.
    pub description: Option<String>,
    /// Meta-attributes.
    pub meta: Vec<NvSet>,
    /// Parameters.
    pub instance: Vec<NvSet>,
    /// Recipients.
    pub recipients: Vec<Recipient>,
}

// ---------------------------------------------------------------------------
// configuration

/// The `<configuration>` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Configuration {
    /// `<crm_config>` cluster property sets.
    pub crm_config: Vec<NvSet>,
    /// `<rsc_defaults>` meta-attribute sets (`None` if the element is absent).
    pub rsc_defaults: Option<Vec<NvSet>>,
    /// `<op_defaults>` meta-attribute sets (`None` if the element is absent).
    pub op_defaults: Option<Vec<NvSet>>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Top-level resources in configuration order.
    pub resources: Vec<Resource>,
    /// Constraints in configuration order.
    pub constraints: Vec<Constraint>,
    /// `<fencing-topology>` (`None` if absent).
    pub fencing_topology: Option<Vec<FencingLevel>>,
    /// `<alerts>` (`None` if absent).
    pub alerts: Option<Vec<Alert>>,
    /// Whether an (empty) `<acls/>` element is present.
    pub acls: bool,
    /// Whether an (empty) `<tags/>` element is present.
    pub tags: bool,
}

impl Configuration {
    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        Attrs::new(el).finish()?;
        let mut c = Configuration::default();
        let mut seen: Vec<&str> = Vec::new();
        for ch in &el.children {
            if seen.contains(&ch.name.as_ref()) {
                return Err(duplicate_child(el, ch));
            }
            seen.push(&ch.name);
            match ch.name.as_ref() {
                "crm_config" => c.crm_config = sets_of(ch, "cluster_property_set")?,
                "rsc_defaults" => c.rsc_defaults = Some(sets_of(ch, "meta_attributes")?),
                "op_defaults" => c.op_defaults = Some(sets_of(ch, "meta_attributes")?),
                "nodes" => {
                    Attrs::new(ch).finish()?;
                    for n in &ch.children {
                        if n.name != "node" {
                            return Err(unsupported_child(ch, n));
                        }
                        c.nodes.push(Node::from_element(n)?);
                    }
                }
                "resources" => {
                    Attrs::new(ch).finish()?;
                    for r in &ch.children {
                        c.resources.push(Resource::from_element(r)?);
                    }
                }
                "constraints" => {
                    Attrs::new(ch).finish()?;
                    for r in &ch.children {
                        c.constraints.push(Constraint::from_element(r)?);
                    }
                }
                "fencing-topology" => {
                    Attrs::new(ch).finish()?;
                    let mut levels = Vec::new();
                    for l in &ch.children {
                        if l.name != "fencing-level" {
                            return Err(unsupported_child(ch, l));
                        }
                        let mut a = Attrs::new(l);
                        let lv = FencingLevel {
                            id: a.req("id")?,
                            index: a
                                .opt_parse("index", "a positive integer", int)?
                                .ok_or_else(|| {
                                    CibError::at(
                                        l.line,
                                        ErrorKind::Missing {
                                            element: "fencing-level".into(),
                                            attribute: "index".into(),
                                        },
                                    )
                                })?,
                            devices: a.req("devices")?,
                            target: a.opt("target"),
                            target_pattern: a.opt("target-pattern"),
                            target_attribute: a.opt("target-attribute"),
                            target_value: a.opt("target-value"),
                            description: a.opt("description"),
                        };
                        a.finish()?;
                        no_children(l)?;
                        levels.push(lv);
                    }
                    c.fencing_topology = Some(levels);
                }
                "alerts" => {
                    Attrs::new(ch).finish()?;
                    let mut alerts = Vec::new();
                    for al in &ch.children {
                        if al.name != "alert" {
                            return Err(unsupported_child(ch, al));
                        }
                        alerts.push(read_alert(al)?);
                    }
                    c.alerts = Some(alerts);
                }
                "acls" | "tags" => {
                    Attrs::new(ch).finish()?;
                    if let Some(x) = ch.children.first() {
                        return Err(CibError::at(
                            x.line,
                            ErrorKind::Unsupported(format!(
                                "element <{}> in <{}> ({} are not supported)",
                                x.name, ch.name, ch.name
                            )),
                        ));
                    }
                    if ch.name == "acls" {
                        c.acls = true;
                    } else {
                        c.tags = true;
                    }
                }
                _ => return Err(unsupported_child(el, ch)),
            }
        }
        Ok(c)
    }

    fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("configuration");
        let mut crm = Element::new("crm_config");
        push_sets(&mut crm, "cluster_property_set", &self.crm_config);
        el.children.push(crm);
        if let Some(d) = &self.rsc_defaults {
            let mut e = Element::new("rsc_defaults");
            push_sets(&mut e, "meta_attributes", d);
            el.children.push(e);
        }
        if let Some(d) = &self.op_defaults {
            let mut e = Element::new("op_defaults");
            push_sets(&mut e, "meta_attributes", d);
            el.children.push(e);
        }
        let mut nodes = Element::new("nodes");
        nodes
            .children
            .extend(self.nodes.iter().map(Node::to_element));
        el.children.push(nodes);
        let mut rs = Element::new("resources");
        rs.children
            .extend(self.resources.iter().map(Resource::to_element));
        el.children.push(rs);
        let mut cs = Element::new("constraints");
        cs.children
            .extend(self.constraints.iter().map(Constraint::to_element));
        el.children.push(cs);
        if let Some(levels) = &self.fencing_topology {
            let mut ft = Element::new("fencing-topology");
            for l in levels {
                ft.children.push(
                    Element::new("fencing-level")
                        .with_attr("id", &l.id)
                        .with_attr("index", &l.index.to_string())
                        .with_attr("devices", &l.devices)
                        .with_opt("target", l.target.as_deref())
                        .with_opt("target-pattern", l.target_pattern.as_deref())
                        .with_opt("target-attribute", l.target_attribute.as_deref())
                        .with_opt("target-value", l.target_value.as_deref())
                        .with_opt("description", l.description.as_deref()),
                );
            }
            el.children.push(ft);
        }
        if let Some(alerts) = &self.alerts {
            let mut ae = Element::new("alerts");
            for a in alerts {
                let mut e = Element::new("alert")
                    .with_attr("id", &a.id)
                    .with_attr("path", &a.path)
                    .with_opt("description", a.description.as_deref());
                push_sets(&mut e, "meta_attributes", &a.meta);
                push_sets(&mut e, "instance_attributes", &a.instance);
                for r in &a.recipients {
                    let mut re = Element::new("recipient")
                        .with_attr("id", &r.id)
                        .with_attr("value", &r.value)
                        .with_opt("description", r.description.as_deref());
                    push_sets(&mut re, "meta_attributes", &r.meta);
                    push_sets(&mut re, "instance_attributes", &r.instance);
                    e.children.push(re);
                }
                ae.children.push(e);
            }
            el.children.push(ae);
        }
        if self.acls {
            el.children.push(Element::new("acls"));
        }
        if self.tags {
            el.children.push(Element::new("tags"));
        }
        el
    }
}

fn sets_of(el: &Element<'_>, name: &str) -> Result<Vec<NvSet>, CibError> {
    Attrs::new(el).finish()?;
    let mut v = Vec::new();
    for c in &el.children {
        if !take_set(c, name, &mut v)? {
            return Err(unsupported_child(el, c));
        }
    }
    Ok(v)
}

fn read_alert(al: &Element<'_>) -> Result<Alert, CibError> {
    let mut a = Attrs::new(al);
    let mut alert = Alert {
        id: a.req("id")?,
        path: a.req("path")?,
        description: a.opt("description"),
        ..Alert::default()
    };
    a.finish()?;
    for c in &al.children {
        if take_set(c, "meta_attributes", &mut alert.meta)?
            || take_set(c, "instance_attributes", &mut alert.instance)?
        {
            continue;
        }
        if c.name != "recipient" {
            return Err(unsupported_child(al, c));
        }
        let mut a = Attrs::new(c);
        let mut r = Recipient {
            id: a.req("id")?,
            value: a.req("value")?,
            description: a.opt("description"),
            ..Recipient::default()
        };
        a.finish()?;
        for x in &c.children {
            if !(take_set(x, "meta_attributes", &mut r.meta)?
                || take_set(x, "instance_attributes", &mut r.instance)?)
            {
                return Err(unsupported_child(c, x));
            }
        }
        alert.recipients.push(r);
    }
    Ok(alert)
}

// ---------------------------------------------------------------------------
// status

/// One recorded resource operation (`<lrm_rsc_op>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LrmRscOp {
    /// Entry id (`RSC_last_0`, `RSC_monitor_10000`, `RSC_last_failure_0`).
    pub id: String,
    /// `RSC_TASK_INTERVAL`.
    pub operation_key: Option<String>,
    /// Action name.
    pub operation: String,
    /// Executor call number (-1: pending).
    pub call_id: i64,
    /// Agent exit code.
    pub rc_code: i32,
    /// Execution status.
    pub op_status: i32,
    /// Interval in milliseconds (0: one-shot).
    pub interval: u64,
    /// `action:transition:target-rc:uuid`.
    pub transition_key: Option<String>,
    /// `op-status:rc;transition-key`.
    pub transition_magic: Option<String>,
    /// Node the operation ran on.
    pub on_node: Option<String>,
    /// Feature set of the node that recorded it.
    pub crm_feature_set: Option<String>,
    /// Diagnostic origin.
    pub crm_debug_origin: Option<String>,
    /// Agent's reason for failure.
    pub exit_reason: Option<String>,
    /// Epoch seconds of the last run.
    pub last_run: Option<String>,
    /// Epoch seconds of the last change of result.
    pub last_rc_change: Option<String>,
    /// Execution time (ms).
    pub exec_time: Option<String>,
    /// Queue time (ms).
    pub queue_time: Option<String>,
    /// MD5 of the parameters the operation ran with.
    pub op_digest: Option<String>,
    /// MD5 of the non-reloadable parameters.
    pub op_restart_digest: Option<String>,
    /// Non-reloadable parameter names.
    pub op_force_restart: Option<String>,
    /// Private parameter names.
    pub op_secure_params: Option<String>,
    /// MD5 of the non-private parameters.
    pub op_secure_digest: Option<String>,
    /// Migration source (tier 4; kept for round-trips).
    pub migrate_source: Option<String>,
    /// Migration target (tier 4; kept for round-trips).
    pub migrate_target: Option<String>,
    /// Legacy underscore spellings (`last_run`, `last_rc_change`, `exec_time`,
    /// `queue_time`), which Pacemaker ignores; kept for round-trips.
    pub legacy_times: Vec<(String, String)>,
}

const LEGACY_TIMES: &[&str] = &["last_run", "last_rc_change", "exec_time", "queue_time"];

/// The attributes of `<lrm_rsc_op>`, in the order [`LrmRscOp::from_element`]
/// checks them.
const OP_FIELDS: [&str; 24] = [
    "id",
    "operation_key",
    "operation",
    "call-id",
    "rc-code",
    "op-status",
    "interval",
    "transition-key",
    "transition-magic",
    "on_node",
    "crm_feature_set",
    "crm-debug-origin",
    "exit-reason",
    "last-run",
    "last-rc-change",
    "exec-time",
    "queue-time",
    "op-digest",
    "op-restart-digest",
    "op-force-restart",
    "op-secure-params",
    "op-secure-digest",
    "migrate_source",
    "migrate_target",
];

/// The index of attribute `name` in [`OP_FIELDS`] (a `match` compiles to a
/// jump on the length, where a search compares with every name).
fn op_field(name: &str) -> Option<usize> {
    Some(match name {
        "id" => 0,
        "operation_key" => 1,
        "operation" => 2,
        "call-id" => 3,
        "rc-code" => 4,
        "op-status" => 5,
        "interval" => 6,
        "transition-key" => 7,
        "transition-magic" => 8,
        "on_node" => 9,
        "crm_feature_set" => 10,
        "crm-debug-origin" => 11,
        "exit-reason" => 12,
        "last-run" => 13,
        "last-rc-change" => 14,
        "exec-time" => 15,
        "queue-time" => 16,
        "op-digest" => 17,
        "op-restart-digest" => 18,
        "op-force-restart" => 19,
        "op-secure-params" => 20,
        "op-secure-digest" => 21,
        "migrate_source" => 22,
        "migrate_target" => 23,
        _ => return None,
    })
}

impl LrmRscOp {
    /// Reads one history entry. Large CIBs hold hundreds of thousands of
    /// these, so the attributes are matched in one pass instead of asked for
    /// one by one; the checks and their order are those of [`Attrs`].
    fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        const FIELDS: usize = OP_FIELDS.len();
        const NAMES: [&str; FIELDS] = OP_FIELDS;
        let mut v: [Option<&str>; FIELDS] = [None; FIELDS];
        let mut legacy: [Option<&str>; LEGACY_TIMES.len()] = [None; LEGACY_TIMES.len()];
        let mut unknown = None;
        for (name, value) in &el.attrs {
            if let Some(i) = op_field(name) {
                v[i] = Some(value);
            } else if let Some(i) = LEGACY_TIMES.iter().position(|n| n == name) {
                legacy[i] = Some(value);
            } else if unknown.is_none() {
                unknown = Some(name);
            }
        }
        let missing = |i: usize| {
            CibError::at(
                el.line,
                ErrorKind::Missing {
                    element: el.name.to_string(),
                    attribute: NAMES[i].to_string(),
                },
            )
        };
        let opt = |i: usize| v[i].map(str::to_string);
        let op = LrmRscOp {
            id: v[0].ok_or_else(|| missing(0))?.to_string(),
            operation_key: opt(1),
            operation: v[2].ok_or_else(|| missing(2))?.to_string(),
            call_id: int_attr(el, NAMES[3], v[3], "an integer")?.ok_or_else(|| missing(3))?,
            rc_code: int_attr(el, NAMES[4], v[4], "an integer")?.ok_or_else(|| missing(4))?,
            op_status: int_attr(el, NAMES[5], v[5], "an integer")?.ok_or_else(|| missing(5))?,
            interval: int_attr(el, NAMES[6], v[6], "milliseconds")?.unwrap_or(0),
            transition_key: opt(7),
            transition_magic: opt(8),
            on_node: opt(9),
            crm_feature_set: opt(10),
            crm_debug_origin: opt(11),
            exit_reason: opt(12),
            last_run: opt(13),
            last_rc_change: opt(14),
            exec_time: opt(15),
            queue_time: opt(16),
            op_digest: opt(17),
            op_restart_digest: opt(18),
            op_force_restart: opt(19),
            op_secure_params: opt(20),
            op_secure_digest: opt(21),
            migrate_source: opt(22),
            migrate_target: opt(23),
            legacy_times: LEGACY_TIMES
                .iter()
                .zip(legacy)
                .filter_map(|(n, v)| Some((n.to_string(), v?.to_string())))
                .collect(),
        };
        if let Some(name) = unknown {
            return Err(CibError::at(
                el.line,
                ErrorKind::Unsupported(format!("attribute '{name}' on <{}>", el.name)),
            ));
        }
        no_children(el)?;
        Ok(op)
    }

    fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("lrm_rsc_op")
            .with_attr("id", &self.id)
            .with_opt("operation_key", self.operation_key.as_deref())
            .with_attr("operation", &self.operation)
            .with_opt("crm-debug-origin", self.crm_debug_origin.as_deref())
            .with_opt("crm_feature_set", self.crm_feature_set.as_deref())
            .with_opt("transition-key", self.transition_key.as_deref())
            .with_opt("transition-magic", self.transition_magic.as_deref())
            .with_opt("exit-reason", self.exit_reason.as_deref())
            .with_opt("on_node", self.on_node.as_deref())
            .with_attr("call-id", &self.call_id.to_string())
            .with_attr("rc-code", &self.rc_code.to_string())
            .with_attr("op-status", &self.op_status.to_string())
            .with_attr("interval", &self.interval.to_string())
            .with_opt("last-run", self.last_run.as_deref())
            .with_opt("last-rc-change", self.last_rc_change.as_deref())
            .with_opt("exec-time", self.exec_time.as_deref())
            .with_opt("queue-time", self.queue_time.as_deref())
            .with_opt("op-digest", self.op_digest.as_deref())
            .with_opt("op-force-restart", self.op_force_restart.as_deref())
            .with_opt("op-restart-digest", self.op_restart_digest.as_deref())
            .with_opt("op-secure-params", self.op_secure_params.as_deref())
            .with_opt("op-secure-digest", self.op_secure_digest.as_deref())
            .with_opt("migrate_source", self.migrate_source.as_deref())
            .with_opt("migrate_target", self.migrate_target.as_deref());
        for (n, v) in &self.legacy_times {
            el.set_attr(n, v);
        }
        el
    }
}

/// Attribute `name` with value `value` (if present) parsed as an integer.
fn int_attr<T: std::str::FromStr>(
    el: &Element<'_>,
    name: &str,
    value: Option<&str>,
    expected: &str,
) -> Result<Option<T>, CibError> {
    let Some(v) = value else {
        return Ok(None);
    };
    int(v).map(Some).ok_or_else(|| {
        CibError::at(
            el.line,
            ErrorKind::BadValue {
                element: el.name.to_string(),
                attribute: name.to_string(),
                value: v.to_string(),
                expected: expected.to_string(),
            },
        )
    })
}

/// A resource's operation history on one node (`<lrm_resource>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LrmResource {
    /// Resource id (possibly with a clone instance suffix).
    pub id: String,
    /// Agent class at the time.
    pub class: Option<String>,
    /// Agent provider at the time.
    pub provider: Option<String>,
    /// Agent type at the time.
    pub agent: Option<String>,
    /// Launcher (tier 4; kept for round-trips).
    pub container: Option<String>,
    /// Shutdown lock time (epoch seconds).
    pub shutdown_lock: Option<String>,
    /// Operation history entries, in document order.
    pub ops: Vec<LrmRscOp>,
}

/// `<lrm>` of a node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lrm {
    /// XML id.
    pub id: Option<String>,
    /// `<lrm_resources>` (`None` when absent).
    pub resources: Option<LrmResources>,
}

/// `<lrm_resources>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LrmResources {
    /// XML id.
    pub id: Option<String>,
    /// Per-resource histories.
    pub list: Vec<LrmResource>,
}

impl Lrm {
    /// Reads an `<lrm>` whose start tag `el` has just been pulled.
    fn read<'t, 'a: 't>(p: &mut impl Pull<'t, 'a>, el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let mut lrm = Lrm {
            id: a.opt("id"),
            resources: None,
        };
        a.finish()?;
        while let Some(x) = p.child()? {
            if x.name != "lrm_resources" {
                return Err(unsupported_child(el, &x));
            }
            if lrm.resources.is_some() {
                return Err(duplicate_child(el, &x));
            }
            let mut a = Attrs::new(&x);
            let mut rs = LrmResources {
                id: a.opt("id"),
                list: Vec::new(),
            };
            a.finish()?;
            while let Some(r) = p.child()? {
                if r.name != "lrm_resource" {
                    return Err(unsupported_child(&x, &r));
                }
                rs.list.push(LrmResource::read(p, &r)?);
            }
            rs.list.shrink_to_fit();
            lrm.resources = Some(rs);
        }
        Ok(lrm)
    }
}

impl LrmResource {
    /// Reads an `<lrm_resource>` whose start tag `el` has just been pulled.
    fn read<'t, 'a: 't>(p: &mut impl Pull<'t, 'a>, el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let mut lr = LrmResource {
            id: a.req("id")?,
            class: a.opt("class"),
            provider: a.opt("provider"),
            agent: a.opt("type"),
            container: a.opt("container"),
            shutdown_lock: a.opt("shutdown-lock"),
            ops: Vec::new(),
        };
        a.finish()?;
        while let Some(o) = p.child()? {
            if o.name != "lrm_rsc_op" {
                return Err(unsupported_child(el, &o));
            }
            lr.ops.push(LrmRscOp::from_element(&*p.whole(o)?)?);
        }
        // Most histories hold one or two entries; a growing Vec holds room
        // for four (2 KB), hundreds of thousands of times over.
        lr.ops.shrink_to_fit();
        Ok(lr)
    }
}

/// `<transient_attributes>` of a node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransientAttributes {
    /// XML id.
    pub id: Option<String>,
    /// Attribute sets (fail counts, standby, shutdown, promotion scores, ...).
    pub attributes: Vec<NvSet>,
    /// Utilization set by the node.
    pub utilization: Vec<NvSet>,
}

/// One node's state (`<node_state>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeState {
    /// Node id.
    pub id: String,
    /// Node name.
    pub uname: Option<String>,
    /// Cluster membership: `true`/`false` or epoch seconds / 0.
    pub in_ccm: Option<String>,
    /// Controller: `online`/`offline` or epoch seconds / 0.
    pub crmd: Option<String>,
    /// Join state: `member`, `pending`, `down`, `banned`, `nack`.
    pub join: Option<String>,
    /// Expected state: `member` or `down`.
    pub expected: Option<String>,
    /// Legacy heartbeat state.
    pub ha: Option<String>,
    /// Diagnostic origin.
    pub crm_debug_origin: Option<String>,
    /// Legacy shutdown time.
    pub shutdown: Option<String>,
    /// Legacy.
    pub clear_shutdown: Option<String>,
    /// Remote node flag (tier 4; kept for round-trips).
    pub remote_node: Option<String>,
    /// Remote node fenced flag (tier 4).
    pub node_fenced: Option<String>,
    /// Remote node maintenance flag (tier 4).
    pub node_in_maintenance: Option<String>,
    /// Transient attributes.
    pub transient: Option<TransientAttributes>,
    /// Resource history.
    pub lrm: Option<Lrm>,
}

impl NodeState {
    /// Reads a `<node_state>` whose start tag `el` has just been pulled, and
    /// its children (the resource histories without a tree of their own).
    fn read<'t, 'a: 't>(p: &mut impl Pull<'t, 'a>, el: &Element<'_>) -> Result<Self, CibError> {
        let mut a = Attrs::new(el);
        let mut ns = NodeState {
            id: a.req("id")?,
            uname: a.opt("uname"),
            in_ccm: a.opt("in_ccm"),
            crmd: a.opt("crmd"),
            join: a.opt("join"),
            expected: a.opt("expected"),
            ha: a.opt("ha"),
            crm_debug_origin: a.opt("crm-debug-origin"),
            shutdown: a.opt("shutdown"),
            clear_shutdown: a.opt("clear_shutdown"),
            remote_node: a.opt("remote_node"),
            node_fenced: a.opt("node_fenced"),
            node_in_maintenance: a.opt("node_in_maintenance"),
            transient: None,
            lrm: None,
        };
        a.finish()?;
        while let Some(c) = p.child()? {
            match c.name.as_ref() {
                "transient_attributes" if ns.transient.is_none() => {
                    let c = p.whole(c)?;
                    let mut a = Attrs::new(&c);
                    let mut t = TransientAttributes {
                        id: a.opt("id"),
                        ..TransientAttributes::default()
                    };
                    a.finish()?;
                    for x in &c.children {
                        if !(take_set(x, "instance_attributes", &mut t.attributes)?
                            || take_set(x, "utilization", &mut t.utilization)?)
                        {
                            return Err(unsupported_child(&c, x));
                        }
                    }
                    ns.transient = Some(t);
                }
                "lrm" if ns.lrm.is_none() => ns.lrm = Some(Lrm::read(p, &c)?),
                "transient_attributes" | "lrm" => return Err(duplicate_child(el, &c)),
                _ => return Err(unsupported_child(el, &c)),
            }
        }
        Ok(ns)
    }

    fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("node_state")
            .with_attr("id", &self.id)
            .with_opt("uname", self.uname.as_deref())
            .with_opt("in_ccm", self.in_ccm.as_deref())
            .with_opt("crmd", self.crmd.as_deref())
            .with_opt("join", self.join.as_deref())
            .with_opt("expected", self.expected.as_deref())
            .with_opt("ha", self.ha.as_deref())
            .with_opt("crm-debug-origin", self.crm_debug_origin.as_deref())
            .with_opt("shutdown", self.shutdown.as_deref())
            .with_opt("clear_shutdown", self.clear_shutdown.as_deref())
            .with_opt("remote_node", self.remote_node.as_deref())
            .with_opt("node_fenced", self.node_fenced.as_deref())
            .with_opt("node_in_maintenance", self.node_in_maintenance.as_deref());
        if let Some(t) = &self.transient {
            let mut te = Element::new("transient_attributes").with_opt("id", t.id.as_deref());
            push_sets(&mut te, "instance_attributes", &t.attributes);
            push_sets(&mut te, "utilization", &t.utilization);
            el.children.push(te);
        }
        if let Some(lrm) = &self.lrm {
            let mut le = Element::new("lrm").with_opt("id", lrm.id.as_deref());
            if let Some(rs) = &lrm.resources {
                let mut rse = Element::new("lrm_resources").with_opt("id", rs.id.as_deref());
                for r in &rs.list {
                    let mut re = Element::new("lrm_resource")
                        .with_attr("id", &r.id)
                        .with_opt("class", r.class.as_deref())
                        .with_opt("provider", r.provider.as_deref())
                        .with_opt("type", r.agent.as_deref())
                        .with_opt("container", r.container.as_deref())
                        .with_opt("shutdown-lock", r.shutdown_lock.as_deref());
                    re.children.extend(r.ops.iter().map(LrmRscOp::to_element));
                    rse.children.push(re);
                }
                le.children.push(rse);
            }
            el.children.push(le);
        }
        el
    }

    /// The value of transient attribute `name` (first set that has it).
    pub fn transient_attr(&self, name: &str) -> Option<&str> {
        self.transient
            .as_ref()?
            .attributes
            .iter()
            .find_map(|s| s.get(name))
    }

    /// The resource histories on this node (empty when none are recorded).
    pub fn lrm_resources(&self) -> &[LrmResource] {
        self.lrm
            .as_ref()
            .and_then(|l| l.resources.as_ref())
            .map_or(&[], |r| &r.list)
    }
}

// ---------------------------------------------------------------------------
// the whole CIB

/// The cluster information base: configuration plus status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cib {
    /// `admin_epoch`, `epoch`, `num_updates`.
    pub version: Version,
    /// Schema the document validates against.
    pub validate_with: Option<String>,
    /// Feature set of the writer.
    pub crm_feature_set: Option<String>,
    /// Whether the partition that wrote this had quorum.
    pub have_quorum: Option<bool>,
    /// Id of the designated controller.
    pub dc_uuid: Option<String>,
    /// Time to use as "now" when simulating (`YYYY-MM-DD HH:MM:SSZ` or epoch).
    pub execution_date: Option<String>,
    /// Remote CIB TLS port.
    pub remote_tls_port: Option<String>,
    /// Remote CIB clear-text port.
    pub remote_clear_port: Option<String>,
    /// Fence even a never-quorate partition on `no-quorum-policy=fence`.
    pub no_quorum_panic: Option<bool>,
    /// When the CIB was last written (informational).
    pub cib_last_written: Option<String>,
    /// Node that made the last update (informational).
    pub update_origin: Option<String>,
    /// Client that made the last update (informational).
    pub update_client: Option<String>,
    /// User that made the last update (informational).
    pub update_user: Option<String>,
    /// The configuration.
    pub configuration: Configuration,
    /// Node states, in status-section order.
    pub status: Vec<NodeState>,
}

impl Cib {
    /// Parses CIB XML text.
    ///
    /// The configuration is read through an element tree; the status section
    /// (most of a large CIB) is built as it is read.
    pub fn from_xml(text: &str) -> Result<Self, CibError> {
        let mut p = TextReader::new(text);
        let cib = Cib::read(&mut p)?;
        p.finish()?;
        Ok(cib)
    }

    /// Writes the CIB as indented XML.
    pub fn to_xml(&self) -> String {
        self.to_element().to_xml()
    }

    /// Builds the typed model from an XML tree.
    pub fn from_element(el: &Element<'_>) -> Result<Self, CibError> {
        Cib::read(&mut TreeReader::new(el))
    }

    /// Reads the root element and everything in it.
    fn read<'t, 'a: 't>(p: &mut impl Pull<'t, 'a>) -> Result<Self, CibError> {
        let el = p
            .child()?
            .ok_or_else(|| CibError::at(1, ErrorKind::Syntax("no root element".into())))?;
        if el.name != "cib" {
            return Err(CibError::at(
                el.line,
                ErrorKind::Structure(format!("root element is <{}>, expected <cib>", el.name)),
            ));
        }
        let mut a = Attrs::new(&el);
        let mut cib = Cib {
            version: Version {
                admin_epoch: a.opt_parse("admin_epoch", "an integer", int)?.unwrap_or(0),
                epoch: a.opt_parse("epoch", "an integer", int)?.unwrap_or(0),
                num_updates: a.opt_parse("num_updates", "an integer", int)?.unwrap_or(0),
            },
            validate_with: a.opt("validate-with"),
            crm_feature_set: a.opt("crm_feature_set"),
            have_quorum: a.opt_parse("have-quorum", "a boolean", boolean)?,
            dc_uuid: a.opt("dc-uuid"),
            execution_date: a.opt("execution-date"),
            remote_tls_port: a.opt("remote-tls-port"),
            remote_clear_port: a.opt("remote-clear-port"),
            no_quorum_panic: a.opt_parse("no-quorum-panic", "a boolean", boolean)?,
            cib_last_written: a.opt("cib-last-written"),
            update_origin: a.opt("update-origin"),
            update_client: a.opt("update-client"),
            update_user: a.opt("update-user"),
            ..Cib::default()
        };
        a.finish()?;
        let mut have_config = false;
        let mut have_status = false;
        while let Some(c) = p.child()? {
            match c.name.as_ref() {
                "configuration" if !have_config => {
                    cib.configuration = Configuration::from_element(&*p.whole(c)?)?;
                    have_config = true;
                }
                "status" if !have_status => {
                    Attrs::new(&c).finish()?;
                    while let Some(s) = p.child()? {
                        match s.name.as_ref() {
                            "node_state" => cib.status.push(NodeState::read(p, &s)?),
                            "tickets" => {
                                return Err(CibError::at(
                                    s.line,
                                    ErrorKind::Unsupported(
                                        "element <tickets> (tickets are tier 4)".into(),
                                    ),
                                ));
                            }
                            _ => return Err(unsupported_child(&c, &s)),
                        }
                    }
                    have_status = true;
                }
                "configuration" | "status" => return Err(duplicate_child(&el, &c)),
                _ => return Err(unsupported_child(&el, &c)),
            }
        }
        if !have_config {
            return Err(CibError::at(
                el.line,
                ErrorKind::Structure("<cib> has no <configuration>".into()),
            ));
        }
        Ok(cib)
    }

    /// Builds the XML tree of the model.
    pub fn to_element(&self) -> Element<'static> {
        let mut el = Element::new("cib")
            .with_attr("admin_epoch", &self.version.admin_epoch.to_string())
            .with_attr("epoch", &self.version.epoch.to_string())
            .with_attr("num_updates", &self.version.num_updates.to_string())
            .with_opt("validate-with", self.validate_with.as_deref())
            .with_opt("crm_feature_set", self.crm_feature_set.as_deref())
            .with_opt("have-quorum", self.have_quorum.map(bool_str))
            .with_opt("dc-uuid", self.dc_uuid.as_deref())
            .with_opt("execution-date", self.execution_date.as_deref())
            .with_opt("remote-tls-port", self.remote_tls_port.as_deref())
            .with_opt("remote-clear-port", self.remote_clear_port.as_deref())
            .with_opt("no-quorum-panic", self.no_quorum_panic.map(bool_str))
            .with_opt("cib-last-written", self.cib_last_written.as_deref())
            .with_opt("update-origin", self.update_origin.as_deref())
            .with_opt("update-client", self.update_client.as_deref())
            .with_opt("update-user", self.update_user.as_deref());
        el.children.push(self.configuration.to_element());
        let mut st = Element::new("status");
        st.children
            .extend(self.status.iter().map(NodeState::to_element));
        el.children.push(st);
        el
    }

    /// The node state of node `uname` (or with id `id`).
    pub fn node_state(&self, id: &str, uname: &str) -> Option<&NodeState> {
        self.status
            .iter()
            .find(|s| s.id == id || s.uname.as_deref() == Some(uname))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_arithmetic_clamps_and_infinities_dominate() {
        assert_eq!(Score::parse("INFINITY"), Some(Score::INFINITY));
        assert_eq!(Score::parse("+INFINITY"), Some(Score::INFINITY));
        assert_eq!(Score::parse("+inf"), None);
        assert_eq!(Score::parse("-INFINITY"), Some(Score::MINUS_INFINITY));
        assert_eq!(Score::parse("5000000"), Some(Score::INFINITY));
        assert_eq!(Score::parse("-12"), Some(Score(-12)));
        assert_eq!(Score::parse("abc"), None);
        assert_eq!(Score::parse("1.0"), Some(Score(1)));
        assert_eq!(Score::parse("infinity"), None);
        assert_eq!(Score(INFINITY) + Score(-INFINITY), Score(-INFINITY));
        assert_eq!(Score(999_999) + Score(5), Score(INFINITY));
        assert_eq!(Score(-999_999) + Score(-5), Score(-INFINITY));
        assert_eq!(Score(3) + Score(4), Score(7));
        assert_eq!(Score(INFINITY).to_string(), "INFINITY");
    }

    #[test]
    fn history_entry_fields_are_indexed_in_order() {
        for (i, name) in OP_FIELDS.iter().enumerate() {
            assert_eq!(op_field(name), Some(i), "{name}");
        }
        assert_eq!(op_field("last_run"), None);
    }

    #[test]
    fn legacy_role_names_parse() {
        assert_eq!(Role::parse("Master"), Some(Role::Promoted));
        assert_eq!(Role::parse("slave"), Some(Role::Unpromoted));
        assert_eq!(Role::parse("bogus"), None);
    }

    const SMALL: &str = r#"<cib admin_epoch="0" epoch="3" num_updates="7" validate-with="pacemaker-3.0" have-quorum="1">
  <configuration>
    <crm_config>
      <cluster_property_set id="opts">
        <nvpair id="o1" name="fencing-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="1" uname="node1"/>
    </nodes>
    <resources>
      <primitive id="ip" class="ocf" provider="heartbeat" type="IPaddr2">
        <instance_attributes id="ip-i"><nvpair id="ip-a" name="ip" value="10.0.0.1"/></instance_attributes>
        <operations><op id="ip-m" name="monitor" interval="10s"/></operations>
      </primitive>
    </resources>
    <constraints>
      <rsc_location id="l1" rsc="ip" node="node1" score="100"/>
    </constraints>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>
        <lrm_resource id="ip" class="ocf" provider="heartbeat" type="IPaddr2">
          <lrm_rsc_op id="ip_last_0" operation="start" call-id="3" rc-code="0" op-status="0" interval="0"/>
        </lrm_resource>
      </lrm_resources></lrm>
    </node_state>
  </status>
</cib>
"#;

    #[test]
    fn reads_typed_model() {
        let cib = Cib::from_xml(SMALL).expect("parse");
        assert_eq!(cib.version.epoch, 3);
        assert_eq!(cib.have_quorum, Some(true));
        assert_eq!(cib.configuration.nodes[0].uname, "node1");
        let Resource::Primitive(p) = &cib.configuration.resources[0] else {
            panic!("primitive expected");
        };
        assert_eq!(p.agent, "IPaddr2");
        assert_eq!(p.ops()[0].interval, "10s");
        assert_eq!(cib.status[0].lrm_resources()[0].ops[0].call_id, 3);
    }

    #[test]
    fn round_trips() {
        let cib = Cib::from_xml(SMALL).expect("parse");
        let again = Cib::from_xml(&cib.to_xml()).expect("reparse");
        assert_eq!(cib, again);
    }

    #[test]
    fn unknown_attribute_is_error_with_line() {
        let text = SMALL.replace(
            "<node id=\"1\" uname=\"node1\"/>",
            "<node id=\"1\" uname=\"node1\" colour=\"blue\"/>",
        );
        let err = Cib::from_xml(&text).expect_err("unknown attribute");
        assert_eq!(err.line, 9);
        assert!(err.to_string().contains("'colour'"), "{err}");
    }

    #[test]
    fn unknown_element_is_error_with_line() {
        let text = SMALL.replace("<constraints>", "<constraints>\n<rsc_ticket id=\"t\"/>");
        let err = Cib::from_xml(&text).expect_err("ticket");
        assert_eq!(err.line, 18);
        assert!(err.to_string().contains("rsc_ticket"), "{err}");
    }

    #[test]
    fn errors_in_the_status_section_name_their_line() {
        let text = "<cib>\n<configuration/>\n<status>\n<node_state id=\"1\">\n<lrm id=\"1\"><lrm_resources>\n<lrm_resource id=\"r\">\n<lrm_rsc_op id=\"r_last_0\" operation=\"start\" call-id=\"x\" rc-code=\"0\" op-status=\"0\"/>\n</lrm_resource></lrm_resources></lrm></node_state></status></cib>\n";
        let err = Cib::from_xml(text).expect_err("bad call-id");
        assert_eq!(err.line, 7);
        assert!(err.to_string().contains("call-id"), "{err}");
        let tree_err = Cib::from_element(&crate::xml::parse(text).expect("well-formed"))
            .expect_err("bad call-id");
        assert_eq!(err, tree_err);
        let good = text.replace("call-id=\"x\"", "call-id=\"3\"");
        assert!(Cib::from_xml(&good).is_ok());
        let unknown = good.replace("op-status=\"0\"", "op-status=\"0\" colour=\"red\"");
        let err = Cib::from_xml(&unknown).expect_err("unknown attribute");
        assert!(err.to_string().contains("'colour'"), "{err}");
        let nested = good.replace("<lrm_resources>", "<lrm_resources><lrm_resources/>");
        assert_eq!(Cib::from_xml(&nested).expect_err("nested").line, 5);
    }
}
