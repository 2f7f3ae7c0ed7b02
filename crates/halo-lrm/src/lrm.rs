//! The local resource manager: resources, their operations, recurring monitors and
//! history.
//!
//! ```text
//!  OpRequest ─▶ per-resource FIFO lock ─▶ global slot (max_parallel) ─▶ perform()
//!                                                                        │ meta-data (cached)
//!                                                                        │ required params?
//!                                                                        │ agent.execute()
//!                                                                        ▼
//!  OpResult { outcome (rc, status, reason, output), assessment, call id, digest }
//!     ├─▶ history (recorded, persisted) ─▶ lrm_rsc_op entries for the CIB
//!     └─▶ events (broadcast): every one-shot result; recurring ones when they change,
//!                             plus a periodic "still running"
//! ```
//!
//! Rules, as in Pacemaker's executor and controller: operations on one resource run one
//! at a time in arrival order; different resources run in parallel up to a limit; a
//! recurring monitor is re-armed `interval` after each completion; `stop` first cancels
//! the resource's recurring operations; cancelling a running recurring operation kills
//! it and records "cancelled", which is not a failure.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinHandle;

use crate::agent::{AgentConfig, AgentError, AgentSpec, Agents, Class, ExecOutcome, ExecRequest};
use crate::digest::op_digest;
use crate::exec::{CancelSignal, Canceller, cancel_pair};
use crate::history::{HistoryError, HistoryStore, OpRecord, ResourceDef, ResourceHistory};
use crate::rc::{Assessment, ExecStatus, OcfRc, OpKind, assess, default_expected_rc};

/// How the LRM runs.
#[derive(Debug, Clone)]
pub struct LrmConfig {
    /// Where agents are and what they get.
    pub agents: AgentConfig,
    /// State directory; the history lives in `STATE_DIR/lrm`.
    pub state_dir: PathBuf,
    /// This node's name (`on_node` of the records).
    pub node: String,
    /// Operations running at once, over all resources.
    pub max_parallel: usize,
    /// A recurring operation whose result has not changed is reported as "still
    /// running" this often.
    pub still_running_every: Duration,
    /// Records kept per resource.
    pub history_limit: usize,
    /// Bytes of stdout and of stderr kept in stored records.
    pub stored_output: usize,
    /// Timeout when neither the request nor the agent's meta-data gives one
    /// (Pacemaker's default op timeout).
    pub default_timeout: Duration,
    /// `HA_RSCTMP`, created at start when missing (agents keep state there).
    pub rsc_tmp_dir: Option<PathBuf>,
}

impl LrmConfig {
    /// Defaults for `node` with state in `state_dir`.
    pub fn new(node: &str, state_dir: PathBuf) -> Self {
        LrmConfig {
            agents: AgentConfig::default(),
            state_dir,
            node: node.to_string(),
            // glue lrmd's default: max(4, CPUs/2); Pacemaker throttles at 2×cores.
            max_parallel: std::thread::available_parallelism()
                .map(|n| (n.get() * 2).max(4))
                .unwrap_or(4),
            still_running_every: Duration::from_secs(60),
            history_limit: 50,
            stored_output: 4096,
            default_timeout: Duration::from_secs(20),
            rsc_tmp_dir: Some(PathBuf::from("/run/resource-agents")),
        }
    }
}

/// A request to run one operation on a registered resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpRequest {
    /// The resource.
    pub resource: String,
    /// The action.
    pub action: String,
    /// Interval in milliseconds: 0 for one-shot ops, more for recurring monitors.
    #[serde(default)]
    pub interval_ms: u64,
    /// Timeout in milliseconds; default: the agent's hint, else the configured default.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Operation parameters added to the resource's (e.g. `OCF_CHECK_LEVEL`).
    #[serde(default)]
    pub op_params: BTreeMap<String, String>,
    /// Meta-attributes added to the resource's (`OCF_RESKEY_CRM_meta_*`).
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    /// Extra environment for this call only (diagnostics such as `OCF_TRACE_RA`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The rc that means success; default 7 for probes, else 0.
    #[serde(default)]
    pub expected_rc: Option<i32>,
    /// Delay before the first run of a recurring operation, in milliseconds.
    #[serde(default)]
    pub start_delay_ms: u64,
    /// The requester's tag, kept with the result (Pacemaker's transition key).
    #[serde(default)]
    pub transition_key: Option<String>,
}

impl OpRequest {
    /// A request with defaults for everything but resource, action and interval.
    pub fn new(resource: &str, action: &str, interval_ms: u64) -> Self {
        OpRequest {
            resource: resource.to_string(),
            action: action.to_string(),
            interval_ms,
            ..OpRequest::default()
        }
    }

    /// Pacemaker's operation key, `RSC_ACTION_INTERVAL`.
    pub fn key(&self) -> String {
        format!("{}_{}_{}", self.resource, self.action, self.interval_ms)
    }
}

/// The result of one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpResult {
    /// The resource.
    pub resource: String,
    /// Its agent.
    pub agent: AgentSpec,
    /// Executor call id (0 for ad-hoc runs).
    pub call_id: i64,
    /// The action.
    pub action: String,
    /// Interval in milliseconds.
    pub interval_ms: u64,
    /// The timeout applied, in milliseconds.
    pub timeout_ms: u64,
    /// The rc that means success.
    pub expected_rc: OcfRc,
    /// What the agent (or the executor) said.
    pub outcome: ExecOutcome,
    /// The verdict: failure class and resource state.
    pub assessment: Assessment,
    /// Time spent queued, in milliseconds.
    pub queue_ms: u64,
    /// Digest of the parameters (`op-digest`).
    pub op_digest: String,
    /// The requester's tag.
    pub transition_key: Option<String>,
}

impl OpResult {
    /// `RSC_ACTION_INTERVAL`.
    pub fn operation_key(&self) -> String {
        format!("{}_{}_{}", self.resource, self.action, self.interval_ms)
    }

    /// Whether the result is acceptable (no failure).
    pub fn ok(&self) -> bool {
        self.assessment.failure.is_none()
    }

    /// The record stored in the history, with output cut to `keep` bytes per stream.
    pub fn record(&self, node: &str, keep: usize) -> OpRecord {
        let secs = self.outcome.started_ms / 1000;
        OpRecord {
            operation_key: self.operation_key(),
            operation: self.action.clone(),
            interval: self.interval_ms,
            call_id: self.call_id,
            rc_code: self.outcome.rc.0,
            op_status: self.outcome.status.code(),
            target_rc: self.expected_rc.0,
            transition_key: self.transition_key.clone(),
            exit_reason: self.outcome.exit_reason.clone(),
            on_node: node.to_string(),
            last_rc_change: secs,
            last_run: secs,
            start_ms: self.outcome.started_ms,
            exec_time: self.outcome.duration_ms,
            queue_time: self.queue_ms,
            op_digest: self.op_digest.clone(),
            failure: self.assessment.failure,
            state: self.assessment.state,
            stdout: cut(&self.outcome.stdout.text, keep),
            stderr: cut(&self.outcome.stderr.text, keep),
        }
    }
}

fn cut(s: &str, keep: usize) -> String {
    if s.len() <= keep {
        return s.to_string();
    }
    let mut end = keep;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// What the LRM tells its subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "event")]
pub enum LrmEvent {
    /// A one-shot operation finished, or a recurring one's result changed (its first
    /// result counts as a change).
    Completed {
        /// The result.
        result: Box<OpResult>,
    },
    /// A recurring operation still returns what it last reported.
    StillRunning {
        /// The resource.
        resource: String,
        /// `RSC_ACTION_INTERVAL`.
        operation_key: String,
        /// The recurring op's call id.
        call_id: i64,
        /// The unchanged rc.
        rc: OcfRc,
        /// The unchanged status.
        status: ExecStatus,
        /// When this run started, epoch milliseconds.
        started_ms: u64,
        /// How long it ran, milliseconds.
        duration_ms: u64,
    },
}

/// Errors of LRM requests (an agent's failure is an [`OpResult`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum LrmError {
    /// No resource with that id is registered.
    #[error("unknown resource '{0}'")]
    UnknownResource(String),
    /// No recurring operation with that key runs.
    #[error("no recurring operation {0}")]
    UnknownOperation(String),
    /// The request itself is not valid.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Agent lookup or meta-data failed.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The history could not be written or read.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// A directory could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// A running recurring operation.
#[derive(Debug)]
struct Recurring {
    call_id: i64,
    request: OpRequest,
    canceller: Canceller,
    task: Option<JoinHandle<()>>,
}

/// One registered resource.
#[derive(Debug)]
struct Slot {
    history: ResourceHistory,
    lock: Arc<tokio::sync::Mutex<()>>,
    recurring: HashMap<String, Recurring>,
}

#[derive(Debug)]
struct Inner {
    cfg: LrmConfig,
    agents: Agents,
    store: HistoryStore,
    slots: Mutex<HashMap<String, Slot>>,
    permits: Arc<Semaphore>,
    next_call: AtomicI64,
    events: broadcast::Sender<LrmEvent>,
    writes: Mutex<Writes>,
    written: tokio::sync::Notify,
}

/// History writes not yet on disk: the newest snapshot per resource (`None`: remove).
#[derive(Debug, Default)]
struct Writes {
    pending: BTreeMap<String, Option<ResourceHistory>>,
    writing: bool,
}

/// The local resource manager. Cheap to clone (a handle).
#[derive(Debug, Clone)]
pub struct Lrm {
    inner: Arc<Inner>,
}

/// Runs one operation without the LRM's bookkeeping: meta-data, the required-parameter
/// check, the agent, the verdict. Used by every path (and by `halo agent run`).
pub async fn perform(
    agents: &Agents,
    def: &ResourceDef,
    req: &OpRequest,
    call_id: i64,
    default_timeout: Duration,
    cancel: CancelSignal,
) -> Result<OpResult, LrmError> {
    let agent = agents.resolve(&def.agent).await?;
    let mut params = def.params.clone();
    params.extend(req.op_params.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut meta = def.meta.clone();
    meta.extend(req.meta.iter().map(|(k, v)| (k.clone(), v.clone())));

    // Meta-data is only worth asking OCF agents for here: the others have no required
    // parameters and no timeout hints of their own.
    let md = if agent.spec().class == Class::Ocf && req.action != "meta-data" {
        match agents.metadata(agent.spec()).await {
            Ok(md) => Some(md),
            Err(AgentError::NotInstalled { .. }) => None,
            Err(e) => {
                tracing::warn!(resource = %def.id, "meta-data unavailable: {e}");
                None
            }
        }
    } else {
        None
    };
    let timeout_ms = req
        .timeout_ms
        .or_else(|| {
            md.as_ref()
                .and_then(|m| m.action_timeout_ms(&req.action, req.interval_ms))
        })
        .unwrap_or(u64::try_from(default_timeout.as_millis()).unwrap_or(u64::MAX));
    let kind = OpKind {
        action: &req.action,
        interval_ms: req.interval_ms,
    };
    let expected_rc = req
        .expected_rc
        .map(OcfRc)
        .unwrap_or_else(|| default_expected_rc(kind));

    let missing: Vec<String> = match &md {
        Some(m) if req.action != "stop" && req.action != "meta-data" => m
            .missing_required(&params)
            .into_iter()
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let outcome = if !missing.is_empty() {
        // Reported before the agent runs: the configuration is wrong wherever it runs.
        ExecOutcome::decided(
            OcfRc::ERR_CONFIGURED,
            ExecStatus::ErrorFatal,
            Some(format!(
                "required parameter{} missing: {}",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", ")
            )),
        )
    } else {
        let exec = ExecRequest {
            instance: def.id.clone(),
            action: req.action.clone(),
            interval_ms: req.interval_ms,
            timeout_ms,
            params: params.clone(),
            meta,
            env: req.env.clone(),
        };
        agent.execute(&exec, cancel).await
    };
    let assessment = assess(kind, outcome.rc, outcome.status, expected_rc);
    if assessment.degraded {
        tracing::warn!(resource = %def.id, action = %req.action, "agent reports a degraded state");
    }
    Ok(OpResult {
        resource: def.id.clone(),
        agent: agent.spec().clone(),
        call_id,
        action: req.action.clone(),
        interval_ms: req.interval_ms,
        timeout_ms,
        expected_rc,
        outcome,
        assessment,
        queue_ms: 0,
        op_digest: op_digest(&params, req.interval_ms, timeout_ms),
        transition_key: req.transition_key.clone(),
    })
}

impl Lrm {
    /// Opens the LRM: creates `HA_RSCTMP` and the history directory, and loads every
    /// resource's history. A damaged history file is moved aside (`NAME.json.corrupt`)
    /// and reported, so one bad file does not stop the node.
    pub fn open(cfg: LrmConfig) -> Result<Self, LrmError> {
        if let Some(tmp) = &cfg.rsc_tmp_dir {
            std::fs::create_dir_all(tmp).map_err(|source| LrmError::Io {
                path: tmp.clone(),
                source,
            })?;
        }
        let store = HistoryStore::open(&cfg.state_dir)?;
        let mut slots = HashMap::new();
        let mut max_call = 0;
        for loaded in store.load_all()? {
            match loaded {
                Ok(h) => {
                    max_call = max_call.max(h.max_call_id());
                    slots.insert(
                        h.resource.id.clone(),
                        Slot {
                            history: h,
                            lock: Arc::new(tokio::sync::Mutex::new(())),
                            recurring: HashMap::new(),
                        },
                    );
                }
                Err(e) => {
                    tracing::error!("ignoring damaged LRM history: {e}");
                    if let HistoryError::Corrupt { path, .. } = &e {
                        let aside = path.with_extension("json.corrupt");
                        let _ = std::fs::rename(path, aside);
                    }
                }
            }
        }
        let (events, _) = broadcast::channel(4096);
        let agents = Agents::new(cfg.agents.clone());
        Ok(Lrm {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(cfg.max_parallel.max(1))),
                cfg,
                agents,
                store,
                slots: Mutex::new(slots),
                next_call: AtomicI64::new(max_call + 1),
                events,
                writes: Mutex::new(Writes::default()),
                written: tokio::sync::Notify::new(),
            }),
        })
    }

    /// The agent registry (meta-data cache included).
    pub fn agents(&self) -> &Agents {
        &self.inner.agents
    }

    /// The configuration.
    pub fn config(&self) -> &LrmConfig {
        &self.inner.cfg
    }

    /// Receives results and "still running" reports from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LrmEvent> {
        self.inner.events.subscribe()
    }

    /// Registers (or redefines) a resource. `stonith:` resources are refused.
    pub async fn register(&self, def: ResourceDef) -> Result<(), LrmError> {
        if def.id.is_empty() {
            return Err(LrmError::Invalid("resource id is empty".into()));
        }
        if def.agent.class == Class::Stonith {
            return Err(AgentError::Reserved(def.agent.to_string()).into());
        }
        let snapshot = {
            let mut slots = self.inner.lock_slots();
            let slot = slots.entry(def.id.clone()).or_insert_with(|| Slot {
                history: ResourceHistory::new(def.clone()),
                lock: Arc::new(tokio::sync::Mutex::new(())),
                recurring: HashMap::new(),
            });
            slot.history.resource = def;
            slot.history.clone()
        };
        self.inner
            .enqueue(&snapshot.resource.id.clone(), Some(snapshot));
        Ok(())
    }

    /// Forgets a resource: cancels its recurring operations and removes its history.
    pub async fn unregister(&self, id: &str) -> Result<(), LrmError> {
        self.cancel_all_recurring(id).await?;
        let removed = self.inner.lock_slots().remove(id);
        if removed.is_none() {
            return Err(LrmError::UnknownResource(id.to_string()));
        }
        self.inner.enqueue(id, None);
        Ok(())
    }

    /// Waits until every history change so far is on disk.
    ///
    /// Results are written behind: an operation's result is returned and broadcast at
    /// once, and its resource's history file is rewritten (atomically, fsynced) right
    /// after, bursts coalescing into one write per resource. A crash in between loses
    /// the newest records of that resource, never the file; the probe after a restart
    /// ([`Lrm::recover`]) finds the real state either way.
    pub async fn flush(&self) {
        loop {
            let notified = self.inner.written.notified();
            if self.inner.pending_is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Registered resources, sorted by id.
    pub fn resources(&self) -> Vec<ResourceDef> {
        let mut v: Vec<ResourceDef> = self
            .inner
            .lock_slots()
            .values()
            .map(|s| s.history.resource.clone())
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// One resource's history.
    pub fn history(&self, id: &str) -> Option<ResourceHistory> {
        self.inner.lock_slots().get(id).map(|s| s.history.clone())
    }

    /// Every resource's history, sorted by resource id.
    pub fn histories(&self) -> Vec<ResourceHistory> {
        let mut v: Vec<ResourceHistory> = self
            .inner
            .lock_slots()
            .values()
            .map(|s| s.history.clone())
            .collect();
        v.sort_by(|a, b| a.resource.id.cmp(&b.resource.id));
        v
    }

    /// Keys (`RSC_ACTION_INTERVAL`) of the recurring operations running.
    pub fn recurring(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .inner
            .lock_slots()
            .values()
            .flat_map(|s| s.recurring.keys().cloned())
            .collect();
        v.sort();
        v
    }

    /// Runs a one-shot operation (interval 0) and returns its result, which is also
    /// recorded and broadcast. A `stop` first cancels the resource's recurring ops.
    pub async fn execute(&self, req: OpRequest) -> Result<OpResult, LrmError> {
        if req.interval_ms != 0 {
            return Err(LrmError::Invalid(format!(
                "{} has an interval: start it with start_recurring",
                req.key()
            )));
        }
        self.execute_once(req).await
    }

    /// Runs one operation once, whatever its interval (a recurring op's single run,
    /// as ocf-tester does), records and broadcasts it.
    pub async fn execute_once(&self, req: OpRequest) -> Result<OpResult, LrmError> {
        if req.action == "stop" {
            self.cancel_all_recurring(&req.resource).await?;
        }
        let call_id = self.inner.next_call_id();
        let res = run_op(&self.inner, &req, call_id, CancelSignal::never(), |_| true).await?;
        res.ok_or_else(|| LrmError::UnknownResource(req.resource.clone()))
    }

    /// Starts a recurring operation and returns its call id; results arrive as
    /// [`LrmEvent`]s. The same request again keeps the running one; a different one
    /// for the same key replaces it.
    pub async fn start_recurring(&self, req: OpRequest) -> Result<i64, LrmError> {
        if req.interval_ms == 0 {
            return Err(LrmError::Invalid(format!("{} has no interval", req.key())));
        }
        let key = req.key();
        let old = {
            let mut slots = self.inner.lock_slots();
            let slot = slots
                .get_mut(&req.resource)
                .ok_or_else(|| LrmError::UnknownResource(req.resource.clone()))?;
            match slot.recurring.get(&key) {
                Some(r) if r.request == req => return Ok(r.call_id),
                Some(_) => slot.recurring.remove(&key),
                None => None,
            }
        };
        if let Some(old) = old {
            stop_recurring(old).await;
        }
        let call_id = self.inner.next_call_id();
        let (canceller, signal) = cancel_pair();
        let inner = Arc::clone(&self.inner);
        let task_req = req.clone();
        let task =
            tokio::spawn(async move { recurring_loop(inner, task_req, call_id, signal).await });
        let mut slots = self.inner.lock_slots();
        match slots.get_mut(&req.resource) {
            Some(slot) => {
                slot.recurring.insert(
                    key,
                    Recurring {
                        call_id,
                        request: req,
                        canceller,
                        task: Some(task),
                    },
                );
                Ok(call_id)
            }
            None => {
                canceller.cancel();
                Err(LrmError::UnknownResource(req.resource.clone()))
            }
        }
    }

    /// Cancels a recurring operation; a run in progress is killed and recorded as
    /// cancelled. Returns once it is gone.
    pub async fn cancel(
        &self,
        resource: &str,
        action: &str,
        interval_ms: u64,
    ) -> Result<(), LrmError> {
        let key = format!("{resource}_{action}_{interval_ms}");
        let r = {
            let mut slots = self.inner.lock_slots();
            let slot = slots
                .get_mut(resource)
                .ok_or_else(|| LrmError::UnknownResource(resource.to_string()))?;
            slot.recurring.remove(&key)
        };
        match r {
            Some(r) => {
                stop_recurring(r).await;
                Ok(())
            }
            None => Err(LrmError::UnknownOperation(key)),
        }
    }

    async fn cancel_all_recurring(&self, resource: &str) -> Result<(), LrmError> {
        let all: Vec<Recurring> = {
            let mut slots = self.inner.lock_slots();
            let slot = slots
                .get_mut(resource)
                .ok_or_else(|| LrmError::UnknownResource(resource.to_string()))?;
            slot.recurring.drain().map(|(_, r)| r).collect()
        };
        for r in all {
            stop_recurring(r).await;
        }
        Ok(())
    }

    /// Probes every registered resource (monitor, interval 0) in parallel, so a
    /// restarted node learns what is running. Results are recorded like any op.
    pub async fn probe_all(&self) -> Vec<Result<OpResult, LrmError>> {
        let ids: Vec<String> = self.resources().into_iter().map(|r| r.id).collect();
        let mut tasks = Vec::new();
        for id in ids {
            let me = self.clone();
            tasks.push(tokio::spawn(async move {
                me.execute(OpRequest::new(&id, "monitor", 0)).await
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(match t.await {
                Ok(r) => r,
                Err(e) => Err(LrmError::Invalid(format!("probe task failed: {e}"))),
            });
        }
        out
    }

    /// After a restart: probes every resource, then restarts the recurring operations
    /// that were active before on every resource the probe found running.
    pub async fn recover(&self) -> Vec<Result<OpResult, LrmError>> {
        let before: Vec<(String, Vec<OpRecord>)> = self
            .histories()
            .into_iter()
            .map(|h| {
                let active = h
                    .lrm_rsc_ops()
                    .into_iter()
                    .filter(|o| o.op.interval > 0)
                    .map(|o| o.op)
                    .collect();
                (h.resource.id, active)
            })
            .collect();
        let probes = self.probe_all().await;
        for (id, active) in before {
            let running = probes.iter().any(|p| {
                p.as_ref().is_ok_and(|r| {
                    r.resource == id
                        && matches!(
                            r.assessment.state,
                            crate::rc::ResourceState::Running | crate::rc::ResourceState::Promoted
                        )
                })
            });
            if !running {
                continue;
            }
            for op in active {
                let mut req = OpRequest::new(&id, &op.operation, op.interval);
                req.expected_rc = Some(op.target_rc);
                req.transition_key = op.transition_key.clone();
                if let Err(e) = self.start_recurring(req).await {
                    tracing::warn!("cannot resume {}: {e}", op.operation_key);
                }
            }
        }
        probes
    }

    /// Cancels every recurring operation (halod shutting down).
    pub async fn shutdown(&self) {
        let all: Vec<Recurring> = {
            let mut slots = self.inner.lock_slots();
            slots
                .values_mut()
                .flat_map(|s| s.recurring.drain().map(|(_, r)| r).collect::<Vec<_>>())
                .collect()
        };
        for r in all {
            stop_recurring(r).await;
        }
        self.flush().await;
    }
}

async fn stop_recurring(mut r: Recurring) {
    r.canceller.cancel();
    if let Some(t) = r.task.take() {
        let _ = t.await;
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HistoryError> + Send + 'static,
) -> Result<T, HistoryError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(HistoryError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other(e),
        }),
    }
}

impl Inner {
    fn lock_slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding this lock is a bug; the map itself stays consistent
        // (every update is a single insert/remove), so keep going.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next_call_id(&self) -> i64 {
        self.next_call.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues `snapshot` (or, with `None`, the removal) of resource `id` for the
    /// writer, replacing what was queued for it before, and makes sure a writer runs.
    fn enqueue(self: &Arc<Self>, id: &str, snapshot: Option<ResourceHistory>) {
        let start = {
            let mut w = self.lock_writes();
            w.pending.insert(id.to_string(), snapshot);
            !std::mem::replace(&mut w.writing, true)
        };
        if start {
            let me = Arc::clone(self);
            tokio::spawn(async move { me.write_pending().await });
        }
    }

    fn lock_writes(&self) -> std::sync::MutexGuard<'_, Writes> {
        self.writes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pending_is_empty(&self) -> bool {
        let w = self.lock_writes();
        w.pending.is_empty() && !w.writing
    }

    /// The writer: takes everything queued, writes it, until nothing is left.
    async fn write_pending(self: Arc<Self>) {
        loop {
            let batch = {
                let mut w = self.lock_writes();
                if w.pending.is_empty() {
                    w.writing = false;
                    drop(w);
                    self.written.notify_waiters();
                    return;
                }
                std::mem::take(&mut w.pending)
            };
            let store = self.store.clone();
            let done = run_blocking(move || {
                for (id, snap) in batch {
                    let r = match snap {
                        Some(h) => store.save(&h),
                        None => store.remove(&id),
                    };
                    if let Err(e) = r {
                        tracing::error!("cannot write the LRM history: {e}");
                    }
                }
                Ok(())
            })
            .await;
            if let Err(e) = done {
                tracing::error!("the LRM history writer failed: {e}");
            }
            self.written.notify_waiters();
        }
    }

    /// Appends `res` to its resource's history, saves it and broadcasts it.
    async fn record(self: &Arc<Self>, res: &OpResult) -> Result<(), LrmError> {
        let rec = res.record(&self.cfg.node, self.cfg.stored_output);
        let snapshot = {
            let mut slots = self.lock_slots();
            let Some(slot) = slots.get_mut(&res.resource) else {
                return Ok(());
            };
            slot.history.push(rec, self.cfg.history_limit);
            slot.history.clone()
        };
        self.enqueue(&res.resource, Some(snapshot));
        let _ = self.events.send(LrmEvent::Completed {
            result: Box::new(res.clone()),
        });
        Ok(())
    }
}

/// Runs one op under the resource's lock and a global slot; `keep` decides (under the
/// lock) whether the result is recorded. `Ok(None)`: the resource went away.
async fn run_op(
    inner: &Arc<Inner>,
    req: &OpRequest,
    call_id: i64,
    mut cancel: CancelSignal,
    keep: impl FnOnce(&OpResult) -> bool,
) -> Result<Option<OpResult>, LrmError> {
    let queued = Instant::now();
    let lock = {
        let slots = inner.lock_slots();
        match slots.get(&req.resource) {
            Some(s) => Arc::clone(&s.lock),
            None => return Err(LrmError::UnknownResource(req.resource.clone())),
        }
    };
    let wait = async {
        let guard = lock.lock_owned().await;
        let permit = Arc::clone(&inner.permits).acquire_owned().await;
        (guard, permit)
    };
    let (_guard, _permit) = tokio::select! {
        g = wait => g,
        () = cancel.cancelled() => {
            let def = inner.lock_slots().get(&req.resource).map(|s| s.history.resource.clone());
            let Some(def) = def else { return Ok(None) };
            let res = cancelled_result(&def, req, call_id);
            if keep(&res) {
                inner.record(&res).await?;
            }
            return Ok(Some(res));
        }
    };
    let def = {
        let slots = inner.lock_slots();
        match slots.get(&req.resource) {
            Some(s) => s.history.resource.clone(),
            None => return Ok(None),
        }
    };
    let mut res = perform(
        &inner.agents,
        &def,
        req,
        call_id,
        inner.cfg.default_timeout,
        cancel,
    )
    .await?;
    res.queue_ms = u64::try_from(queued.elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .saturating_sub(res.outcome.duration_ms);
    if keep(&res) {
        inner.record(&res).await?;
    }
    Ok(Some(res))
}

/// The record of a recurring op cancelled while it was not running.
fn cancelled_result(def: &ResourceDef, req: &OpRequest, call_id: i64) -> OpResult {
    let kind = OpKind {
        action: &req.action,
        interval_ms: req.interval_ms,
    };
    let outcome = ExecOutcome::decided(OcfRc::OK, ExecStatus::Cancelled, None);
    let expected_rc = req
        .expected_rc
        .map(OcfRc)
        .unwrap_or_else(|| default_expected_rc(kind));
    OpResult {
        resource: def.id.clone(),
        agent: def.agent.clone(),
        call_id,
        action: req.action.clone(),
        interval_ms: req.interval_ms,
        timeout_ms: req.timeout_ms.unwrap_or(0),
        expected_rc,
        assessment: assess(kind, outcome.rc, outcome.status, expected_rc),
        outcome,
        queue_ms: 0,
        op_digest: String::new(),
        transition_key: req.transition_key.clone(),
    }
}

/// A recurring operation: run, report if changed, sleep `interval`, again, until
/// cancelled.
async fn recurring_loop(inner: Arc<Inner>, req: OpRequest, call_id: i64, mut cancel: CancelSignal) {
    let interval = Duration::from_millis(req.interval_ms);
    let mut last: Option<(OcfRc, ExecStatus)> = None;
    let mut last_report = Instant::now();
    if req.start_delay_ms > 0 {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(req.start_delay_ms)) => {}
            () = cancel.cancelled() => {
                record_cancel(&inner, &req, call_id).await;
                return;
            }
        }
    }
    loop {
        let prev = last;
        let r = run_op(&inner, &req, call_id, cancel.clone(), |res| {
            let now = (res.outcome.rc, res.outcome.status);
            prev != Some(now)
        })
        .await;
        let res = match r {
            Ok(Some(res)) => res,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("recurring {} stopped: {e}", req.key());
                return;
            }
        };
        if res.outcome.status == ExecStatus::Cancelled {
            return;
        }
        let now = (res.outcome.rc, res.outcome.status);
        if prev == Some(now) {
            if last_report.elapsed() >= inner.cfg.still_running_every {
                last_report = Instant::now();
                let _ = inner.events.send(LrmEvent::StillRunning {
                    resource: req.resource.clone(),
                    operation_key: req.key(),
                    call_id,
                    rc: now.0,
                    status: now.1,
                    started_ms: res.outcome.started_ms,
                    duration_ms: res.outcome.duration_ms,
                });
            }
        } else {
            last = Some(now);
            last_report = Instant::now();
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = cancel.cancelled() => {
                record_cancel(&inner, &req, call_id).await;
                return;
            }
        }
    }
}

/// Records that a recurring op was cancelled between runs (under the resource's lock,
/// so it lands after any result still being written).
async fn record_cancel(inner: &Arc<Inner>, req: &OpRequest, call_id: i64) {
    let (lock, def) = {
        let slots = inner.lock_slots();
        match slots.get(&req.resource) {
            Some(s) => (Arc::clone(&s.lock), s.history.resource.clone()),
            None => return,
        }
    };
    let _guard = lock.lock().await;
    let res = cancelled_result(&def, req, call_id);
    if let Err(e) = inner.record(&res).await {
        tracing::warn!("cannot record the cancellation of {}: {e}", req.key());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_cut_on_char_boundaries() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("abc", 10), "abc");
    }
}
