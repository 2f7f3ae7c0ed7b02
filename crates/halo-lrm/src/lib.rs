//! Local resource manager: runs OCF, LSB, heartbeat-1 and systemd resource agents as
//! child processes with timeouts.

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
