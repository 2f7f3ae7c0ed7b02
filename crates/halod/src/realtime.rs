//! `realtime on`: lock memory and run the heartbeat path at real-time priority.
//!
//! Memory is locked with `MCL_ONFAULT` so that only pages actually touched are locked:
//! reserved-but-unused stack and heap do not count, which keeps the locked size to the
//! daemon's resident set (a few MB) and within `RLIMIT_MEMLOCK` on machines where it
//! cannot be raised. The scheduling policy is `SCHED_FIFO` with `SCHED_RESET_ON_FORK`:
//! threads and child processes created later (log writers, resource agents) start with
//! the normal policy, so a runaway agent can never starve the machine.
//!
//! Both are best effort: where the kernel refuses, the daemon says so and runs on.

use nix::sys::mman::{MlockAllFlags, mlockall};

/// Priority used for SCHED_FIFO: in the middle of the range, as heartbeat did, above
/// ordinary real-time helpers and below the kernel's own threads.
const RT_PRIORITY: i32 = 50;

/// Applies `realtime on`; returns what could not be done, for the log.
pub fn enable() -> Vec<String> {
    let mut problems = Vec::new();
    // nix has no MCL_ONFAULT; libc has the Linux value.
    let flags = MlockAllFlags::MCL_CURRENT
        | MlockAllFlags::MCL_FUTURE
        | MlockAllFlags::from_bits_retain(libc::MCL_ONFAULT);
    if let Err(e) = mlockall(flags) {
        problems.push(format!("cannot lock memory (mlockall): {e}"));
    }
    let param = libc::sched_param {
        sched_priority: RT_PRIORITY,
    };
    // SAFETY: sched_setscheduler only reads `param`, a valid, initialised struct that
    // outlives the call; pid 0 means the calling thread. No memory is handed to the kernel
    // beyond the call.
    #[allow(unsafe_code)]
    let rc = unsafe {
        libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
    };
    if rc != 0 {
        problems.push(format!(
            "cannot run at real-time priority (SCHED_FIFO {RT_PRIORITY}): {}",
            std::io::Error::last_os_error()
        ));
    }
    problems
}
