//! Local resource manager: runs OCF, LSB, heartbeat-1 and systemd resource agents as
//! child processes with timeouts.

pub mod agent;
pub mod digest;
pub mod exec;
pub mod metadata;
pub mod rc;
