//! Local resource manager: runs OCF, LSB, heartbeat-1 and systemd resource agents as child processes with timeouts.
