//! Local resource manager: runs OCF, LSB, heartbeat-1 and systemd resource agents as
//! child processes with timeouts, exactly as Pacemaker's executor would, and keeps
//! each resource's operation history.
//!
//! ```text
//!   halod socket / halo CLI            cluster resource manager (later)
//!        │ LrmRequest (serde)                 │ OpRequest, Lrm::subscribe()
//!        ▼                                    ▼
//!   ┌─────────────────────────── Lrm ───────────────────────────────────┐
//!   │ register(ResourceDef)  execute(OpRequest)  start_recurring  cancel │
//!   │   per-resource FIFO ─▶ global slots (max_parallel) ─▶ perform()   │
//!   │      meta-data cache, required parameters, timeout from hints     │
//!   │      agent::ResourceAgent ── ocf / lsb / heartbeat: exec.rs       │
//!   │                          └─ systemd: D-Bus (zbus)                 │
//!   │   rc.rs: exit code ─▶ OCF rc, exec status ─▶ Assessment          │
//!   │          (soft / hard / fatal, resource state)                    │
//!   └────────┬─────────────────────────────────────────┬────────────────┘
//!            │ OpResult (returned, broadcast)          │ history.rs
//!            ▼                                         ▼
//!   LrmEvent::Completed / StillRunning     STATE_DIR/lrm/<rsc>.json (atomic)
//!                                          ─▶ lrm_rsc_op entries for the CIB
//! ```
//!
//! Modules, bottom up: [`rc`] (result codes and Pacemaker's verdict rules, pure),
//! [`digest`] (Pacemaker's `op-digest`, pure), [`metadata`] (meta-data parsing and
//! synthesis, pure), [`exec`] (one child process: group, timeout, TERM→KILL, bounded
//! capture, exit reasons), [`agent`] (the classes behind [`ResourceAgent`]),
//! [`history`] (records and their storage), [`lrm`] (the manager), [`api`] (the
//! request/response types for `halod`'s socket), [`conformance`] (ocf-tester's rules
//! run through the LRM).
//!
//! Where the facts come from: Pacemaker's `lib/services/*`, `daemons/execd`,
//! `lib/pengine/unpack.c` (`remap_operation`), `lib/common/digest.c`; the OCF resource
//! agent API 1.1; heartbeat 1's `ResourceManager`; cluster-glue's `lrmd`. The shared
//! `agents.md` reference summarises them.

pub mod agent;
pub mod api;
pub mod conformance;
pub mod digest;
pub mod exec;
pub mod history;
pub mod lrm;
pub mod metadata;
pub mod rc;

pub use agent::{AgentConfig, AgentSpec, Agents, Class, ExecOutcome, ExecRequest, ResourceAgent};
pub use api::{LrmRequest, LrmResponse};
pub use history::{HistoryStore, LrmRscOp, OpRecord, ResourceDef, ResourceHistory};
pub use lrm::{Lrm, LrmConfig, LrmError, LrmEvent, OpRequest, OpResult};
pub use rc::{Assessment, ExecStatus, OcfRc, ResourceState, Severity};
