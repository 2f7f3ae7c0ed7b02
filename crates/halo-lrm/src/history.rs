//! Operation history: what ran on each resource, kept across restarts.
//!
//! ```text
//!  OpResult ──record()──▶ ResourceHistory { resource, ops: [OpRecord; ≤ limit] }
//!                               │ save: write tmp, fsync, rename, fsync dir
//!                               ▼
//!                      STATE_DIR/lrm/<resource>.json
//!                               │ lrm_rsc_ops()
//!                               ▼
//!  RSC_last_0, RSC_monitor_<ms>, RSC_last_failure_0   (Pacemaker's lrm_rsc_op entries)
//! ```
//!
//! The records carry the attributes of Pacemaker's `lrm_rsc_op` (call-id, rc-code,
//! op-status, last-rc-change, exec-time, queue-time, op-digest, exit-reason, …) so the
//! cluster resource manager can write them into the CIB status section unchanged. The
//! log per resource is bounded; the derived entries are what the CIB needs.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::agent::AgentSpec;
use crate::rc::{ExecStatus, ResourceState, Severity};

/// How a resource is defined to the LRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDef {
    /// Resource id (`OCF_RESOURCE_INSTANCE`).
    pub id: String,
    /// Its agent.
    pub agent: AgentSpec,
    /// Instance parameters.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Meta-attributes passed to the agent as `OCF_RESKEY_CRM_meta_*`.
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
}

/// One operation as recorded: the attributes of Pacemaker's `lrm_rsc_op`, plus what
/// halo adds (verdict, bounded output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct OpRecord {
    /// `RSC_ACTION_INTERVAL`, Pacemaker's operation key.
    pub operation_key: String,
    /// The action.
    pub operation: String,
    /// Interval in milliseconds; 0 for one-shot ops (a monitor with 0 is a probe).
    pub interval: u64,
    /// Executor call id: orders a resource's history.
    pub call_id: i64,
    /// OCF rc after the class's mapping (what the agent said).
    pub rc_code: i32,
    /// Execution status code, as Pacemaker numbers it (`op-status`).
    pub op_status: i32,
    /// The rc the requester expected (the target rc of Pacemaker's transition key).
    pub target_rc: i32,
    /// The requester's own tag for the op (Pacemaker's transition key), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_key: Option<String>,
    /// Exit reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_reason: Option<String>,
    /// The node the op ran on.
    pub on_node: String,
    /// Epoch seconds when this op's result last changed.
    pub last_rc_change: u64,
    /// Epoch seconds when it last ran.
    pub last_run: u64,
    /// Wall-clock start, epoch milliseconds.
    pub start_ms: u64,
    /// Run time, milliseconds.
    pub exec_time: u64,
    /// Time spent waiting for the resource or a slot, milliseconds.
    pub queue_time: u64,
    /// MD5 of the parameters (Pacemaker's `op-digest`).
    pub op_digest: String,
    /// Failure class, when the result is a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Severity>,
    /// What the result says about the resource.
    pub state: ResourceState,
    /// Start of the agent's stdout (bounded further for storage).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    /// Start of the agent's stderr (bounded further for storage).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

impl OpRecord {
    /// The execution status, if the code is one we know.
    pub fn exec_status(&self) -> Option<ExecStatus> {
        ExecStatus::from_code(self.op_status)
    }
}

/// One entry of the CIB status section (`<lrm_rsc_op>`), derived from the records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LrmRscOp {
    /// `RSC_last_0`, `RSC_monitor_<ms>` or `RSC_last_failure_0`.
    pub id: String,
    /// The record it shows.
    #[serde(flatten)]
    pub op: OpRecord,
}

/// A resource's definition and bounded operation log, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceHistory {
    /// The definition.
    pub resource: ResourceDef,
    /// Operations, oldest first.
    pub ops: Vec<OpRecord>,
}

impl ResourceHistory {
    /// An empty history.
    pub fn new(resource: ResourceDef) -> Self {
        ResourceHistory {
            resource,
            ops: Vec::new(),
        }
    }

    /// Appends `rec`, fixing its `last_rc_change` against the previous record of the
    /// same operation key, and drops the oldest records beyond `limit`.
    pub fn push(&mut self, mut rec: OpRecord, limit: usize) {
        if let Some(prev) = self
            .ops
            .iter()
            .rev()
            .find(|o| o.operation_key == rec.operation_key)
            && prev.rc_code == rec.rc_code
            && prev.op_status == rec.op_status
        {
            rec.last_rc_change = prev.last_rc_change;
        }
        self.ops.push(rec);
        if self.ops.len() > limit {
            let excess = self.ops.len() - limit;
            self.ops.drain(..excess);
        }
    }

    /// The entries Pacemaker keeps in the CIB for this resource: the last one-shot op
    /// (`_last_0`), each recurring op still active (`_<action>_<interval>`, dropped
    /// once cancelled) and the last failure (`_last_failure_0`).
    pub fn lrm_rsc_ops(&self) -> Vec<LrmRscOp> {
        let id = &self.resource.id;
        let mut out = Vec::new();
        if let Some(last) = self.ops.iter().rev().find(|o| o.interval == 0) {
            out.push(LrmRscOp {
                id: format!("{id}_last_0"),
                op: last.clone(),
            });
        }
        let mut recurring: BTreeMap<&str, &OpRecord> = BTreeMap::new();
        for o in self.ops.iter().filter(|o| o.interval > 0) {
            recurring.insert(&o.operation_key, o);
        }
        // A stop ends every recurring op before it (they are cancelled first).
        let last_stop = self
            .ops
            .iter()
            .rposition(|o| o.operation == "stop" && o.interval == 0);
        for (key, o) in recurring {
            let cancelled = o.op_status == ExecStatus::Cancelled.code();
            let before_stop = last_stop.is_some_and(|s| {
                self.ops
                    .iter()
                    .rposition(|x| x.operation_key == key)
                    .is_some_and(|p| p < s)
            });
            if !cancelled && !before_stop {
                out.push(LrmRscOp {
                    id: key.to_string(),
                    op: o.clone(),
                });
            }
        }
        if let Some(fail) = self.ops.iter().rev().find(|o| o.failure.is_some()) {
            out.push(LrmRscOp {
                id: format!("{id}_last_failure_0"),
                op: fail.clone(),
            });
        }
        out
    }

    /// The largest call id recorded.
    pub fn max_call_id(&self) -> i64 {
        self.ops.iter().map(|o| o.call_id).max().unwrap_or(0)
    }
}

/// History storage problems, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A history file is not valid.
    #[error("{path}, line {line}, column {column}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// The history directory: one JSON file per resource.
#[derive(Debug, Clone)]
pub struct HistoryStore {
    dir: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> HistoryError + '_ {
    move |source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file name for a resource id: safe characters kept, others as `%XX`.
pub fn file_name(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b':')
            || (b == b'.' && !out.is_empty())
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push_str(".json");
    out
}

impl HistoryStore {
    /// The store under `STATE_DIR/lrm`, created (mode 0700) if missing.
    pub fn open(state_dir: &Path) -> Result<Self, HistoryError> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = state_dir.join("lrm");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(io_err(&dir))?;
        Ok(HistoryStore { dir })
    }

    /// The store under `STATE_DIR/lrm`, for reading only: nothing is created.
    pub fn existing(state_dir: &Path) -> Self {
        HistoryStore {
            dir: state_dir.join("lrm"),
        }
    }

    /// Where the files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every resource's history. Leftover temporary files are ignored; a damaged file is
    /// an error naming it (the caller decides whether to go on without it).
    pub fn load_all(&self) -> Result<Vec<Result<ResourceHistory, HistoryError>>, HistoryError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&self.dir)(e)),
        };
        let mut paths: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        Ok(paths.iter().map(|p| Self::load_file(p)).collect())
    }

    fn load_file(path: &Path) -> Result<ResourceHistory, HistoryError> {
        let text = fs::read_to_string(path).map_err(io_err(path))?;
        serde_json::from_str(&text).map_err(|e| HistoryError::Corrupt {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// Writes `h` atomically: a temporary file is written and fsynced, renamed over
    /// the old one, and the directory fsynced, so a crash leaves the old or the new
    /// file, never half of one.
    pub fn save(&self, h: &ResourceHistory) -> Result<(), HistoryError> {
        let path = self.dir.join(file_name(&h.resource.id));
        let tmp = self.dir.join(format!(".{}.tmp", file_name(&h.resource.id)));
        let text = serde_json::to_vec_pretty(h).map_err(|e| HistoryError::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        {
            let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
            f.write_all(&text).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(&self.dir))?;
        Ok(())
    }

    /// Removes a resource's history.
    pub fn remove(&self, id: &str) -> Result<(), HistoryError> {
        let path = self.dir.join(file_name(id));
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::AgentSpec;

    fn rec(
        key: &str,
        op: &str,
        interval: u64,
        call_id: i64,
        rc: i32,
        status: ExecStatus,
        t: u64,
    ) -> OpRecord {
        OpRecord {
            operation_key: key.into(),
            operation: op.into(),
            interval,
            call_id,
            rc_code: rc,
            op_status: status.code(),
            target_rc: 0,
            transition_key: None,
            exit_reason: None,
            on_node: "n1".into(),
            last_rc_change: t,
            last_run: t,
            start_ms: t * 1000,
            exec_time: 1,
            queue_time: 0,
            op_digest: String::new(),
            failure: (rc != 0 && rc != 7).then_some(Severity::Soft),
            state: ResourceState::Running,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    fn def() -> ResourceDef {
        ResourceDef {
            id: "r1".into(),
            agent: AgentSpec::ocf("heartbeat", "Dummy"),
            params: BTreeMap::new(),
            meta: BTreeMap::new(),
        }
    }

    #[test]
    fn derived_entries_follow_pacemaker_conventions() {
        let mut h = ResourceHistory::new(def());
        h.push(
            rec("r1_monitor_0", "monitor", 0, 1, 7, ExecStatus::Done, 10),
            100,
        );
        h.push(
            rec("r1_start_0", "start", 0, 2, 0, ExecStatus::Done, 11),
            100,
        );
        h.push(
            rec(
                "r1_monitor_10000",
                "monitor",
                10000,
                3,
                0,
                ExecStatus::Done,
                12,
            ),
            100,
        );
        h.push(
            rec(
                "r1_monitor_10000",
                "monitor",
                10000,
                3,
                1,
                ExecStatus::Done,
                20,
            ),
            100,
        );
        let ids: Vec<String> = h.lrm_rsc_ops().into_iter().map(|o| o.id).collect();
        assert_eq!(
            ids,
            vec!["r1_last_0", "r1_monitor_10000", "r1_last_failure_0"]
        );
        h.push(rec("r1_stop_0", "stop", 0, 4, 0, ExecStatus::Done, 21), 100);
        let ids: Vec<String> = h.lrm_rsc_ops().into_iter().map(|o| o.id).collect();
        assert_eq!(ids, vec!["r1_last_0", "r1_last_failure_0"]);
        assert_eq!(h.lrm_rsc_ops()[0].op.operation, "stop");
    }

    #[test]
    fn last_rc_change_only_moves_when_the_result_changes() {
        let mut h = ResourceHistory::new(def());
        h.push(
            rec(
                "r1_monitor_1000",
                "monitor",
                1000,
                3,
                0,
                ExecStatus::Done,
                10,
            ),
            100,
        );
        h.push(
            rec(
                "r1_monitor_1000",
                "monitor",
                1000,
                3,
                0,
                ExecStatus::Done,
                20,
            ),
            100,
        );
        assert_eq!(h.ops[1].last_rc_change, 10);
        h.push(
            rec(
                "r1_monitor_1000",
                "monitor",
                1000,
                3,
                7,
                ExecStatus::Done,
                30,
            ),
            100,
        );
        assert_eq!(h.ops[2].last_rc_change, 30);
    }

    #[test]
    fn the_log_is_bounded() {
        let mut h = ResourceHistory::new(def());
        for i in 0..10 {
            h.push(rec("r1_start_0", "start", 0, i, 0, ExecStatus::Done, 1), 4);
        }
        assert_eq!(h.ops.len(), 4);
        assert_eq!(h.ops[0].call_id, 6);
        assert_eq!(h.max_call_id(), 9);
    }

    #[test]
    fn save_and_load_round_trip_and_corruption_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = HistoryStore::open(dir.path()).expect("open");
        let mut h = ResourceHistory::new(def());
        h.push(rec("r1_start_0", "start", 0, 1, 0, ExecStatus::Done, 1), 10);
        store.save(&h).expect("save");
        let loaded: Vec<ResourceHistory> = store
            .load_all()
            .expect("load")
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("valid");
        assert_eq!(loaded, vec![h]);
        std::fs::write(store.dir().join("bad.json"), "{\n  \"resource\": 5\n}").expect("write");
        let all = store.load_all().expect("load");
        let err = all.into_iter().find_map(Result::err).expect("an error");
        let msg = err.to_string();
        assert!(msg.contains("bad.json") && msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("web-ip"), "web-ip.json");
        assert_eq!(file_name("clone:1"), "clone:1.json");
        assert_eq!(file_name("../etc/passwd"), "%2E.%2Fetc%2Fpasswd.json");
    }
}
