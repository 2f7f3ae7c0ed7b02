//! The scheduler's working state: nodes, resources, actions, constraints.
//!
//! Everything lives in arenas indexed by small integers ([`NodeId`], [`RscId`],
//! [`ActionId`]); relations between them are index lists. The stages in the
//! other modules read and update this state in a fixed order (see the crate
//! documentation). Lists that Pacemaker builds by prepending are stored in
//! insertion order here and walked backwards where the walking order matters.

use std::collections::BTreeMap;

use halo_cib::model::{INFINITY, NvSet, Op};

use crate::util::{is_op_key, op_key};

/// The hash maps of the scheduler: a fast hash with a random seed per
/// process (nothing may depend on their order: the determinism test runs
/// every input twice).
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// See [`HashMap`].
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Index of a node in [`Scheduler::nodes`] (which is sorted by name).
pub type NodeId = usize;
/// Index of a resource in [`Scheduler::rscs`].
pub type RscId = usize;
/// Index of an action in [`Scheduler::actions`]; also its creation number.
pub type ActionId = usize;

/// A role, with `Unknown` below all others (Pacemaker's numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Not known (yet).
    Unknown = 0,
    /// Stopped.
    Stopped = 1,
    /// Started.
    Started = 2,
    /// Unpromoted.
    Unpromoted = 3,
    /// Promoted.
    Promoted = 4,
}

impl Role {
    /// Pacemaker's role text.
    pub fn text(self) -> &'static str {
        match self {
            Role::Unknown => "Unknown",
            Role::Stopped => "Stopped",
            Role::Started => "Started",
            Role::Unpromoted => "Unpromoted",
            Role::Promoted => "Promoted",
        }
    }

    /// Parses a role name (legacy names accepted); `None` if invalid.
    pub fn parse(s: &str) -> Option<Role> {
        halo_cib::model::Role::parse(s).map(Role::from)
    }
}

impl From<halo_cib::model::Role> for Role {
    fn from(r: halo_cib::model::Role) -> Role {
        match r {
            halo_cib::model::Role::Stopped => Role::Stopped,
            halo_cib::model::Role::Started => Role::Started,
            halo_cib::model::Role::Unpromoted => Role::Unpromoted,
            halo_cib::model::Role::Promoted => Role::Promoted,
        }
    }
}

/// Scheduler-wide flags.
pub mod sf {
    pub const QUORATE: u64 = 1 << 0;
    pub const SYMMETRIC: u64 = 1 << 1;
    pub const IN_MAINTENANCE: u64 = 1 << 2;
    pub const FENCING_ENABLED: u64 = 1 << 3;
    pub const HAVE_FENCING: u64 = 1 << 4;
    pub const CONCURRENT_FENCING: u64 = 1 << 5;
    pub const STOP_REMOVED_RESOURCES: u64 = 1 << 6;
    pub const CANCEL_REMOVED_ACTIONS: u64 = 1 << 7;
    pub const STOP_ALL: u64 = 1 << 8;
    pub const START_FAILURE_FATAL: u64 = 1 << 9;
    pub const STARTUP_FENCING: u64 = 1 << 10;
    pub const PROBE_RESOURCES: u64 = 1 << 11;
    pub const ENABLE_UNFENCING: u64 = 1 << 12;
    pub const SHUTDOWN_LOCK: u64 = 1 << 13;
    pub const FENCE_REMOTE_NO_QUORUM: u64 = 1 << 14;
}

/// Resource flags (Pacemaker's `pcmk__rsc_*`).
pub mod rf {
    pub const REMOVED: u64 = 1 << 0;
    pub const MANAGED: u64 = 1 << 1;
    pub const BLOCKED: u64 = 1 << 2;
    pub const NOTIFY: u64 = 1 << 4;
    pub const UNIQUE: u64 = 1 << 5;
    pub const FENCE_DEVICE: u64 = 1 << 6;
    pub const PROMOTABLE: u64 = 1 << 7;
    pub const UNASSIGNED: u64 = 1 << 8;
    pub const ASSIGNING: u64 = 1 << 9;
    pub const UPDATING_NODES: u64 = 1 << 10;
    pub const RESTARTING: u64 = 1 << 11;
    pub const STOP_IF_FAILED: u64 = 1 << 12;
    pub const RELOAD: u64 = 1 << 13;
    pub const CRITICAL: u64 = 1 << 15;
    pub const FAILED: u64 = 1 << 16;
    pub const START_PENDING: u64 = 1 << 19;
    pub const EXCLUSIVE_PROBES: u64 = 1 << 20;
    pub const STOP_UNEXPECTED: u64 = 1 << 22;
    pub const MIGRATABLE: u64 = 1 << 23;
    pub const IGNORE_FAILURE: u64 = 1 << 24;
    pub const MAINTENANCE: u64 = 1 << 26;
    pub const NEEDS_QUORUM: u64 = 1 << 28;
    pub const NEEDS_FENCING: u64 = 1 << 29;
    pub const NEEDS_UNFENCING: u64 = 1 << 30;
}

/// Action flags (Pacemaker's `pcmk__action_*`).
pub mod af {
    pub const PSEUDO: u32 = 1 << 0;
    pub const RUNNABLE: u32 = 1 << 1;
    pub const OPTIONAL: u32 = 1 << 2;
    pub const ALWAYS_IN_GRAPH: u32 = 1 << 3;
    pub const MIGRATABLE: u32 = 1 << 7;
    pub const MIGRATION_ABORT: u32 = 1 << 11;
    pub const DETECT_LOOP: u32 = 1 << 14;
    pub const ON_DC: u32 = 1 << 16;
    pub const RESCHEDULE: u32 = 1 << 17;
    pub const ADDED_TO_GRAPH: u32 = 1 << 18;
    pub const INPUTS_DEDUPLICATED: u32 = 1 << 19;
}

/// Ordering relation flags (Pacemaker's `pcmk__ar_*`).
pub mod ar {
    pub const NONE: u32 = 0;
    pub const ORDERED: u32 = 1 << 0;
    pub const IF_FIRST_UNMIGRATABLE: u32 = 1 << 1;
    pub const THEN_IMPLIES_FIRST: u32 = 1 << 4;
    pub const FIRST_IMPLIES_THEN: u32 = 1 << 5;
    pub const PROMOTED_THEN_IMPLIES_FIRST: u32 = 1 << 6;
    pub const UNMIGRATABLE_THEN_BLOCKS: u32 = 1 << 7;
    pub const UNRUNNABLE_FIRST_BLOCKS: u32 = 1 << 8;
    pub const FIRST_ELSE_THEN: u32 = 1 << 9;
    pub const FIRST_IMPLIES_SAME_NODE_THEN: u32 = 1 << 10;
    pub const NESTED_REMOTE_PROBE: u32 = 1 << 11;
    pub const INTERMEDIATE_STOP: u32 = 1 << 12;
    pub const SERIALIZE: u32 = 1 << 14;
    pub const IF_ON_SAME_NODE: u32 = 1 << 15;
    pub const THEN_IMPLIES_FIRST_GRAPHED: u32 = 1 << 16;
    pub const FIRST_IMPLIES_THEN_GRAPHED: u32 = 1 << 17;
    pub const ASYMMETRIC: u32 = 1 << 20;
    pub const IF_ON_SAME_NODE_OR_TARGET: u32 = 1 << 21;
    pub const MIN_RUNNABLE: u32 = 1 << 22;
    pub const IF_REQUIRED_ON_SAME_NODE: u32 = 1 << 23;
    pub const GUEST_ALLOWED: u32 = 1 << 24;
    pub const THEN_CANCELS_FIRST: u32 = 1 << 25;
}

/// Node flags.
pub mod nf {
    pub const STANDBY: u32 = 1 << 0;
    pub const FAIL_STANDBY: u32 = 1 << 1;
    pub const EXPECTED_UP: u32 = 1 << 2;
    pub const SEEN: u32 = 1 << 3;
    pub const UNPACKED: u32 = 1 << 4;
    pub const PROBES_ALLOWED: u32 = 1 << 5;
}

/// What to do when quorum is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoQuorumPolicy {
    Freeze,
    Stop,
    Ignore,
    Fence,
    Demote,
}

/// How to react to an operation failure (ordered by severity, like Pacemaker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OnFail {
    Ignore = 0,
    Demote,
    Restart,
    Ban,
    Block,
    Stop,
    StandbyNode,
    FenceNode,
}

/// What an action needs before it may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requires {
    Nothing,
    Quorum,
    Fencing,
}

/// Probe policy of a node for a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeMode {
    Always = 0,
    Never = 1,
    Exclusive = 2,
}

/// Policy for a resource active on several nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiplyActive {
    Restart,
    Stop,
    Block,
    Unexpected,
}

/// A node as the scheduler sees it.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub name: String,
    /// Node attributes, including `#uname`, `#id`, `#kind`, `#is_dc`.
    pub attrs: HashMap<String, String>,
    /// Capacities.
    pub utilization: BTreeMap<String, String>,
    pub online: bool,
    pub unclean: bool,
    pub shutdown: bool,
    pub pending: bool,
    pub maintenance: bool,
    pub flags: u32,
    /// The node's base score (`-INFINITY` when it cannot run anything).
    pub weight: i32,
    pub priority: i32,
    pub num_resources: i32,
    /// Resources active here, in discovery order.
    pub running: Vec<RscId>,
    /// The `fail-count-*` and `last-failure-*` attributes sorted by name
    /// ([`Node::index_failures`]): fail counts are looked up for every
    /// resource on every node, and a scan of all attributes each time
    /// would grow with resources × nodes × failures.
    pub failures: Vec<(String, String)>,
    /// The resource names those attributes are for (the part before `#`,
    /// with and without a clone instance suffix): most resources have no
    /// failures, and this says so at once.
    pub failed: HashSet<String>,
}

impl Node {
    pub fn new(id: &str, name: &str, weight: i32) -> Self {
        let mut attrs = HashMap::default();
        attrs.insert("#kind".to_string(), "cluster".to_string());
        Node {
            id: id.to_string(),
            name: name.to_string(),
            attrs,
            utilization: BTreeMap::new(),
            online: false,
            unclean: false,
            shutdown: false,
            pending: false,
            maintenance: false,
            flags: nf::PROBES_ALLOWED,
            weight,
            priority: 0,
            num_resources: 0,
            running: Vec::new(),
            failures: Vec::new(),
            failed: HashSet::default(),
        }
    }

    /// Rebuilds [`Node::failures`] from the attributes (after they change).
    pub fn index_failures(&mut self) {
        self.failures = self
            .attrs
            .iter()
            .filter(|(k, _)| k.starts_with("fail-count-") || k.starts_with("last-failure-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.failures.sort_unstable();
        self.failed.clear();
        for (k, _) in &self.failures {
            let rest = k
                .strip_prefix("fail-count-")
                .or_else(|| k.strip_prefix("last-failure-"))
                .unwrap_or(k);
            if let Some((name, _)) = rest.split_once('#') {
                self.failed.insert(name.to_string());
                self.failed
                    .insert(crate::history::clone_strip(name).to_string());
            }
        }
    }

    /// The failure attributes whose names start with `prefix` then `name`.
    pub fn failures_of<'n>(
        &'n self,
        prefix: &'n str,
        name: &'n str,
    ) -> impl Iterator<Item = (&'n str, &'n str)> + 'n {
        // Names with that start are contiguous in sorted order, from the
        // first one not below `prefix + name`.
        let below = |k: &str| {
            let (k, p) = (k.as_bytes(), prefix.as_bytes());
            let n = k.len().min(p.len());
            match k[..n].cmp(&p[..n]) {
                std::cmp::Ordering::Equal if k.len() < p.len() => true,
                std::cmp::Ordering::Equal => &k[p.len()..] < name.as_bytes(),
                o => o == std::cmp::Ordering::Less,
            }
        };
        let first = self.failures.partition_point(|(k, _)| below(k));
        self.failures[first..]
            .iter()
            .take_while(move |(k, _)| {
                k.strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with(name))
            })
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn standby(&self) -> bool {
        self.flags & nf::STANDBY != 0
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
}

/// A node's entry in a resource's allowed-node table (Pacemaker's node copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub score: i32,
    pub probe_mode: ProbeMode,
    pub count: i32,
}

/// A table of allowed nodes, indexed by [`NodeId`].
pub type NodeTable = Vec<Option<Allowed>>;

/// Resource kinds, ordered like Pacemaker's variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    Primitive = 0,
    Group = 1,
    Clone = 2,
}

/// Clone settings.
#[derive(Debug, Clone, Default)]
pub struct CloneData {
    pub max: i32,
    pub node_max: i32,
    pub promoted_max: i32,
    pub promoted_node_max: i32,
    pub ordered: bool,
    pub total: i32,
    /// Promotion scores were added (`pcmk__clone_promotion_added`).
    pub promotion_added: bool,
    /// Promotion priorities were constrained (`pcmk__clone_promotion_constrained`).
    pub promotion_constrained: bool,
}

/// A resource: a primitive, group, clone or clone instance.
#[derive(Debug, Clone)]
pub struct Rsc<'a> {
    pub id: String,
    /// The id in the configuration (without any `:N` instance suffix).
    pub xml_id: String,
    pub variant: Variant,
    pub parent: Option<RscId>,
    pub children: Vec<RscId>,
    /// Agent class, provider, type (primitives).
    pub class: String,
    pub provider: Option<String>,
    pub agent: String,
    /// Configured operations (primitives).
    pub ops: &'a [Op],
    pub meta_sets: &'a [NvSet],
    pub instance_sets: &'a [NvSet],
    pub util_sets: &'a [NvSet],
    pub meta: HashMap<String, String>,
    pub utilization: BTreeMap<String, String>,
    pub flags: u64,
    pub orig_role: Role,
    pub next_role: Role,
    pub priority: i32,
    pub stickiness: i32,
    pub ban_after_failures: i32,
    pub failure_expiration_ms: u32,
    pub multiply_active: MultiplyActive,
    pub allowed: NodeTable,
    pub probed: Vec<bool>,
    pub active_nodes: Vec<NodeId>,
    pub assigned: Option<NodeId>,
    pub actions: Vec<ActionId>,
    pub this_with: Vec<usize>,
    pub with_this: Vec<usize>,
    pub history_id: Option<String>,
    pub pending_node: Option<NodeId>,
    /// The pending (recorded but unfinished) action, for display.
    pub pending_action: Option<String>,
    pub clone: Option<CloneData>,
    /// Node the resource is locked to by a clean shutdown (`shutdown-lock`).
    pub lock_node: Option<NodeId>,
    /// When that lock started (epoch seconds).
    pub lock_time: i64,
    /// Score of the node copy the resource was assigned with.
    pub assigned_score: i32,
    /// Promotion priority (promotable clone instances).
    pub promotion_priority: i32,
    /// Notification pseudo-actions per [`crate::notify::NotifyKind`].
    pub notify: [Option<crate::notify::NotifyOps>; 4],
    /// Group ordered/colocated flags.
    pub group_ordered: bool,
    pub group_colocated: bool,
}

/// An action (Pacemaker's `pcmk_action_t`).
#[derive(Debug, Clone)]
pub struct Action<'a> {
    pub rsc: Option<RscId>,
    pub task: String,
    pub uuid: String,
    pub interval_ms: u32,
    pub node: Option<NodeId>,
    pub flags: u32,
    pub reason: Option<String>,
    pub needs: Requires,
    pub on_fail: OnFail,
    pub fail_role: Role,
    pub op_entry: Option<&'a Op>,
    /// Meta values the graph needs (`stonith_action`, target rc, ...).
    pub meta: BTreeMap<String, String>,
    /// Inputs: actions ordered before this one (insertion order).
    pub before: Vec<Rel>,
    /// Outputs: actions ordered after this one (insertion order).
    pub after: Vec<Rel>,
    pub required_runnable_before: i32,
    pub runnable_before: i32,
}

/// One side of an ordering between two actions.
#[derive(Debug, Clone, Copy)]
pub struct Rel {
    pub action: ActionId,
    pub flags: u32,
    /// Whether this input made it into the transition graph.
    pub graphed: bool,
}

/// An ordering constraint before it is resolved to actions
/// (Pacemaker's `pcmk__action_relation_t`).
#[derive(Debug, Clone)]
pub struct Ordering {
    pub flags: u32,
    pub rsc1: Option<RscId>,
    pub action1: Option<ActionId>,
    pub task1: Option<String>,
    pub rsc2: Option<RscId>,
    pub action2: Option<ActionId>,
    pub task2: Option<String>,
}

/// A colocation constraint.
#[derive(Debug, Clone)]
pub struct Colocation {
    pub id: String,
    pub dependent: RscId,
    pub primary: RscId,
    pub score: i32,
    pub dependent_role: Role,
    pub primary_role: Role,
    pub node_attribute: String,
    pub influence: bool,
    pub explicit: bool,
}

/// A location constraint resolved to node scores.
#[derive(Debug, Clone)]
pub struct Location {
    pub id: String,
    pub rsc: RscId,
    pub nodes: Vec<(NodeId, i32)>,
    pub role_filter: Role,
    pub probe_mode: ProbeMode,
}

/// A message for the administrator (Pacemaker's configuration errors and
/// warnings), collected instead of logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    /// `true` for a configuration error, `false` for a warning.
    pub error: bool,
    /// The text.
    pub text: String,
}

/// The whole working state.
#[derive(Debug)]
pub struct Scheduler<'a> {
    pub cib: &'a halo_cib::Cib,
    /// "Now", in seconds since the Unix epoch.
    pub now: i64,
    pub flags: u64,
    pub options: HashMap<String, String>,
    pub no_quorum_policy: NoQuorumPolicy,
    pub fence_action: String,
    pub placement_strategy: String,
    pub priority_fencing_ms: u32,
    pub node_pending_ms: u32,
    pub shutdown_lock_ms: u32,
    pub nodes: Vec<Node>,
    pub node_by_name: HashMap<String, NodeId>,
    pub dc_node: Option<NodeId>,
    pub rscs: Vec<Rsc<'a>>,
    /// Top-level resources in scheduling and output order.
    pub top: Vec<RscId>,
    /// Resources by id (every level, including clone instances).
    pub rsc_by_id: HashMap<String, RscId>,
    pub actions: Vec<Action<'a>>,
    /// Actions without a resource, by uuid.
    pub singletons: HashMap<String, ActionId>,
    pub orderings: Vec<Ordering>,
    pub colocations: Vec<Colocation>,
    pub locations: Vec<Location>,
    pub rsc_defaults: &'a [NvSet],
    pub op_defaults: &'a [NvSet],
    pub notices: Vec<Notice>,
    /// The resource whose score changes are recorded (`--explain`), by id
    /// until resources are unpacked.
    pub explain_id: Option<String>,
    pub trace: Option<RscId>,
    pub trace_log: Vec<crate::explain::ScoreChange>,
    /// The traced resource's table when it was assigned.
    pub trace_final: Option<NodeTable>,
    /// Probes that failed in a way that is masked (not installed, invalid
    /// parameters), by node, for display.
    pub failed_probes: Vec<(NodeId, &'a halo_cib::model::LrmRscOp)>,
    /// The cluster status as unpacked (before scheduling), for display.
    pub status: Vec<String>,
    /// Score lines for `--show-scores`, in the order they were computed.
    pub score_lines: Option<Vec<String>>,
    /// History entries (by address) of recurring actions whose failure
    /// expired: their restart digest counts as changed.
    pub expired_recurring: HashSet<usize>,
    /// Union of the flags of the orderings between two actions.
    pub relations: HashMap<(ActionId, ActionId), u32>,
    /// Per-(resource, node) parameter cache for digests and rules.
    pub param_cache: HashMap<(RscId, Option<NodeId>), BTreeMap<String, String>>,
}

impl<'a> Scheduler<'a> {
    pub fn err(&mut self, text: String) {
        self.notices.push(Notice { error: true, text });
    }

    pub fn warn(&mut self, text: String) {
        self.notices.push(Notice { error: false, text });
    }

    pub fn is(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    pub fn find_node(&self, name: &str) -> Option<NodeId> {
        self.node_by_name.get(&name.to_ascii_lowercase()).copied()
    }

    pub fn rflag(&self, r: RscId, f: u64) -> bool {
        self.rscs[r].flags & f != 0
    }

    pub fn set_rflag(&mut self, r: RscId, f: u64) {
        self.rscs[r].flags |= f;
    }

    pub fn clear_rflag(&mut self, r: RscId, f: u64) {
        self.rscs[r].flags &= !f;
    }

    pub fn aflag(&self, a: ActionId, f: u32) -> bool {
        self.actions[a].flags & f != 0
    }

    pub fn is_clone(&self, r: RscId) -> bool {
        self.rscs[r].variant == Variant::Clone
    }

    pub fn is_group(&self, r: RscId) -> bool {
        self.rscs[r].variant == Variant::Group
    }

    pub fn is_primitive(&self, r: RscId) -> bool {
        self.rscs[r].variant == Variant::Primitive
    }

    /// `uber_parent`: the topmost ancestor.
    pub fn top_of(&self, mut r: RscId) -> RscId {
        while let Some(p) = self.rscs[r].parent {
            r = p;
        }
        r
    }

    pub fn is_anonymous_clone(&self, r: RscId) -> bool {
        self.is_clone(r) && !self.rflag(r, rf::UNIQUE)
    }

    pub fn is_unique_clone(&self, r: Option<RscId>) -> bool {
        r.is_some_and(|r| self.is_clone(r) && self.rflag(r, rf::UNIQUE))
    }

    /// `pcmk__node_available`.
    pub fn node_available(&self, n: NodeId, score: Option<i32>) -> bool {
        let node = &self.nodes[n];
        if !node.online || node.shutdown || node.unclean || node.standby() || node.maintenance {
            return false;
        }
        !matches!(score, Some(s) if s < 0)
    }

    /// `pcmk__any_node_available` on a table.
    pub fn any_node_available(&self, t: &NodeTable) -> bool {
        t.iter()
            .enumerate()
            .any(|(n, a)| a.is_some_and(|a| self.node_available(n, Some(a.score))))
    }

    /// `pe_can_fence`.
    pub fn can_fence(&self, n: Option<NodeId>) -> bool {
        if !self.is(sf::FENCING_ENABLED) || !self.is(sf::HAVE_FENCING) {
            return false;
        }
        if self.is(sf::QUORATE) || self.no_quorum_policy == NoQuorumPolicy::Ignore {
            return true;
        }
        match n {
            None => false,
            Some(n) => self.nodes[n].online,
        }
    }

    /// The active node of a resource per `pe__count_active_node` (the first clean
    /// node for resources that do not need fencing), with counts of all and clean
    /// active nodes.
    pub fn active_node(&self, r: RscId) -> (Option<NodeId>, usize, usize) {
        let rsc = &self.rscs[r];
        let mut active: Option<NodeId> = None;
        let mut all = 0;
        let mut clean = 0;
        for &n in &rsc.active_nodes {
            let node = &self.nodes[n];
            let happy = node.online && !node.unclean;
            all += 1;
            if happy {
                clean += 1;
            }
            if rsc.flags & rf::NEEDS_FENCING == 0 {
                let cur_bad = active.is_none_or(|a| {
                    let an = &self.nodes[a];
                    !an.online || an.unclean
                });
                if happy && cur_bad {
                    active = Some(n);
                }
            }
            if active.is_none() {
                active = Some(n);
            }
        }
        (active, all, clean)
    }

    /// `pcmk__current_node`.
    pub fn current_node(&self, r: RscId) -> Option<NodeId> {
        self.active_node(r).0
    }

    /// Resource state (`fns->state`): for collective resources, the highest role
    /// of any descendant.
    pub fn rsc_state(&self, r: RscId, current: bool) -> Role {
        let rsc = &self.rscs[r];
        if rsc.children.is_empty() {
            return if current {
                rsc.orig_role
            } else {
                rsc.next_role
            };
        }
        rsc.children
            .iter()
            .map(|&c| self.rsc_state(c, current))
            .max()
            .unwrap_or(Role::Unknown)
    }

    /// `fns->active(rsc, all)`.
    pub fn rsc_active(&self, r: RscId, all: bool) -> bool {
        let rsc = &self.rscs[r];
        match rsc.variant {
            Variant::Primitive => rsc.active_nodes.iter().any(|&n| {
                let node = &self.nodes[n];
                node.unclean || node.online || rsc.flags & rf::MANAGED == 0
            }),
            Variant::Group => {
                let states: Vec<bool> = rsc
                    .children
                    .iter()
                    .map(|&c| self.rsc_active(c, all))
                    .collect();
                let any = states.iter().any(|&b| b);
                let every = states.iter().all(|&b| b);
                any && (!all || every)
            }
            Variant::Clone => {
                if all {
                    rsc.children.iter().all(|&c| self.rsc_active(c, true))
                } else {
                    rsc.children.iter().any(|&c| self.rsc_active(c, false))
                }
            }
        }
    }

    /// `fns->location(rsc, list, target)`: nodes where the resource (or its
    /// descendants) is active (`current`), pending, or assigned.
    pub fn rsc_location(
        &self,
        r: RscId,
        current: bool,
        pending: bool,
        assigned: bool,
    ) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = Vec::new();
        self.rsc_location_into(r, current, pending, assigned, &mut out);
        out
    }

    fn rsc_location_into(
        &self,
        r: RscId,
        current: bool,
        pending: bool,
        assigned: bool,
        out: &mut Vec<NodeId>,
    ) {
        let rsc = &self.rscs[r];
        let mut result: Vec<NodeId> = Vec::new();
        if !rsc.children.is_empty() {
            for &c in &rsc.children {
                self.rsc_location_into(c, current, pending, assigned, &mut result);
            }
        } else {
            if current {
                result.extend(&rsc.active_nodes);
            }
            if pending
                && let Some(p) = rsc.pending_node
                && !result.contains(&p)
            {
                result.push(p);
            }
            if assigned && let Some(a) = rsc.assigned {
                result.push(a);
            }
        }
        for n in result {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }

    /// Single node from [`Scheduler::rsc_location`] (`None` unless exactly one).
    pub fn rsc_location_one(
        &self,
        r: RscId,
        current: bool,
        pending: bool,
        assigned: bool,
    ) -> Option<NodeId> {
        let l = self.rsc_location(r, current, pending, assigned);
        (l.len() == 1).then(|| l[0])
    }

    /// The configured action definition for `name` with `interval_ms`.
    pub fn find_op_config(
        &self,
        r: RscId,
        name: &str,
        interval_ms: u32,
        include_disabled: bool,
    ) -> Option<&'a Op> {
        let ops = self.rscs[r].ops;
        let find = |name: &str, interval: u32| {
            ops.iter().find(|op| {
                if !include_disabled && op.enabled == Some(false) {
                    return false;
                }
                op.name == name && crate::util::parse_interval(Some(&op.interval)) == interval
            })
        };
        find(name, interval_ms).or_else(|| {
            if name == "migrate_to" || name == "migrate_from" {
                find("migrate", 0)
            } else {
                None
            }
        })
    }

    /// Adds a score for `r` (and its descendants) on node `n`
    /// (`resource_location` with a node).
    pub fn resource_node_score(&mut self, r: RscId, n: NodeId, score: i32, tag: &str) {
        let skip = tag == "symmetric_default" && self.rflag(r, rf::EXCLUSIVE_PROBES);
        if skip {
            return;
        }
        let children = self.rscs[r].children.clone();
        for c in children {
            self.resource_node_score(c, n, score, tag);
        }
        let weight = self.nodes[n].weight;
        let before = self.rscs[r].allowed[n].map(|a| a.score);
        let entry = self.rscs[r].allowed[n].get_or_insert(Allowed {
            score: weight,
            probe_mode: ProbeMode::Always,
            count: 0,
        });
        entry.score = halo_cib::model::add_scores(entry.score, score);
        let after = entry.score;
        if self.traced(r) && before != Some(after) {
            self.trace_log.push(crate::explain::ScoreChange {
                node: self.nodes[n].name.clone(),
                before: before.map(|b| halo_cib::model::Score(b).to_string()),
                after: halo_cib::model::Score(after).to_string(),
                reason: crate::explain::describe_tag(tag),
            });
        }
    }

    /// `resource_location`: with `Some(node)` that node, otherwise every node.
    pub fn resource_location(&mut self, r: RscId, n: Option<NodeId>, score: i32, tag: &str) {
        match n {
            Some(n) => self.resource_node_score(r, n, score, tag),
            None => {
                for n in 0..self.nodes.len() {
                    self.resource_node_score(r, n, score, tag);
                }
            }
        }
        if n.is_none() && score == -INFINITY && self.rscs[r].assigned.is_some() {
            self.rscs[r].assigned = None;
        }
    }

    pub fn set_next_role(&mut self, r: RscId, role: Role) {
        self.rscs[r].next_role = role;
    }

    // -----------------------------------------------------------------------
    // actions

    /// `find_actions`: actions of `list` with key `key` on `node` (or any node),
    /// oldest first. An action without a node found while looking for a node is
    /// given that node (Pacemaker does the same).
    pub fn find_actions(
        &mut self,
        list: &[ActionId],
        key: &str,
        node: Option<NodeId>,
    ) -> Vec<ActionId> {
        let found = list
            .iter()
            .copied()
            .filter(|&a| self.actions[a].uuid == key)
            .collect();
        self.claim_for_node(found, node)
    }

    /// The part of `find_actions` after matching the key: with a node, the
    /// actions on it, and those on no node yet, which are placed there.
    fn claim_for_node(&mut self, found: Vec<ActionId>, node: Option<NodeId>) -> Vec<ActionId> {
        let Some(n) = node else {
            return found;
        };
        let mut result = found;
        result.retain(|&a| match self.actions[a].node {
            None => {
                self.actions[a].node = Some(n);
                true
            }
            Some(an) => an == n,
        });
        result
    }

    /// `pe__resource_actions`: a resource's `task` actions (interval 0) on `node`.
    pub fn rsc_actions(
        &mut self,
        r: RscId,
        node: Option<NodeId>,
        task: &str,
        require_node: bool,
    ) -> Vec<ActionId> {
        let id = &self.rscs[r].id;
        let is_key = |a: &Action<'_>| is_op_key(&a.uuid, id, task, 0);
        if require_node {
            let Some(n) = node else { return Vec::new() };
            self.rscs[r]
                .actions
                .iter()
                .copied()
                .filter(|&a| self.actions[a].node == Some(n) && is_key(&self.actions[a]))
                .collect()
        } else {
            let found: Vec<ActionId> = self.rscs[r]
                .actions
                .iter()
                .copied()
                .filter(|&a| is_key(&self.actions[a]))
                .collect();
            self.claim_for_node(found, node)
        }
    }

    /// `find_first_action` on a resource's actions (newest first) by task.
    pub fn first_action_by_task(&self, r: RscId, task: &str) -> Option<ActionId> {
        self.rscs[r]
            .actions
            .iter()
            .rev()
            .copied()
            .find(|&a| self.actions[a].task == task)
    }

    /// `find_first_action` on a resource's actions (newest first) by uuid.
    pub fn first_action_by_uuid(&self, r: RscId, uuid: &str) -> Option<ActionId> {
        self.rscs[r]
            .actions
            .iter()
            .rev()
            .copied()
            .find(|&a| self.actions[a].uuid == uuid)
    }

    /// `order_actions`: adds an ordering between two actions unless one with an
    /// overlapping flag exists. Returns whether it was added.
    pub fn order_actions(&mut self, first: ActionId, then: ActionId, flags: u32) -> bool {
        if flags == ar::NONE || first == then {
            return false;
        }
        // The union of the flags of all orderings first -> then: a new one
        // is redundant when it shares a flag with any of them.
        let union = self.relations.entry((first, then)).or_insert(ar::NONE);
        if *union & flags != 0 {
            return false;
        }
        *union |= flags;
        self.actions[first].after.push(Rel {
            action: then,
            flags,
            graphed: false,
        });
        self.actions[then].before.push(Rel {
            action: first,
            flags,
            graphed: false,
        });
        true
    }

    /// `pcmk__new_ordering`.
    #[allow(clippy::too_many_arguments)]
    pub fn new_ordering(
        &mut self,
        rsc1: Option<RscId>,
        task1: Option<String>,
        action1: Option<ActionId>,
        rsc2: Option<RscId>,
        task2: Option<String>,
        action2: Option<ActionId>,
        flags: u32,
    ) {
        let rsc1 = rsc1.or_else(|| action1.and_then(|a| self.actions[a].rsc));
        let rsc2 = rsc2.or_else(|| action2.and_then(|a| self.actions[a].rsc));
        let task1 = task1.or_else(|| action1.map(|a| self.actions[a].uuid.clone()));
        let task2 = task2.or_else(|| action2.map(|a| self.actions[a].uuid.clone()));
        self.orderings.push(Ordering {
            flags,
            rsc1,
            action1,
            task1,
            rsc2,
            action2,
            task2,
        });
    }

    /// `pcmk__order_resource_actions`.
    pub fn order_rsc_actions(&mut self, r1: RscId, t1: &str, r2: RscId, t2: &str, flags: u32) {
        let k1 = op_key(&self.rscs[r1].id, t1, 0);
        let k2 = op_key(&self.rscs[r2].id, t2, 0);
        self.new_ordering(Some(r1), Some(k1), None, Some(r2), Some(k2), None, flags);
    }

    /// `pe_action_set_reason`.
    pub fn set_reason(&mut self, a: ActionId, reason: Option<&str>, overwrite: bool) {
        let act = &mut self.actions[a];
        if act.reason.is_none() || overwrite {
            act.reason = reason.map(str::to_string);
        }
    }

    /// `pe__action2reason`.
    pub fn action_reason_text(&self, a: ActionId, flag: u32) -> String {
        let change = match flag {
            af::RUNNABLE => "unrunnable",
            af::MIGRATABLE => "unmigrateable",
            af::OPTIONAL => "required",
            _ => "",
        };
        let act = &self.actions[a];
        match act.rsc {
            Some(r) => format!("{change} {} {}", self.rscs[r].id, act.task),
            None => format!("{change} {}", act.task),
        }
    }

    /// `pcmk__node_attr` with target `current`.
    pub fn node_attr(&self, n: NodeId, name: &str) -> Option<&str> {
        self.nodes[n].attr(name)
    }
}
