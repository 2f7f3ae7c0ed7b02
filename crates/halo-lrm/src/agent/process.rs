//! What the three process-based classes (ocf, lsb, heartbeat) share: turning a
//! [`ProcessOutcome`] into an [`ExecOutcome`] the way Pacemaker's executor does.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::agent::ExecOutcome;
use crate::exec::{self, CancelSignal, Captured, Ending, Invocation};
use crate::rc::{ExecStatus, OcfRc};

/// Runs `inv` and maps its ending. `map_exit` turns an exit status (and stdout, for the
/// heartbeat class) into an OCF rc; `what` names the thing run in messages ("agent",
/// "init script").
pub(crate) async fn run_mapped(
    inv: &Invocation,
    action: &str,
    what: &str,
    cancel: CancelSignal,
    map_exit: impl FnOnce(i32, &Captured) -> OcfRc,
) -> ExecOutcome {
    let p = exec::run(inv, &cancel).await;
    let mut out = ExecOutcome {
        rc: OcfRc::ERR_GENERIC,
        status: ExecStatus::Error,
        exit_reason: None,
        exit_code: None,
        signal: None,
        stdout: p.stdout,
        stderr: p.stderr,
        pid: p.pid,
        started_ms: p.started_ms,
        duration_ms: u64::try_from(p.duration.as_millis()).unwrap_or(u64::MAX),
    };
    match p.ending {
        Ending::Exited { code } => {
            out.exit_code = Some(code);
            out.rc = map_exit(code, &out.stdout);
            out.status = ExecStatus::Done;
            out.exit_reason = p.exit_reason;
        }
        Ending::Signaled { signal } => {
            out.signal = Some(signal);
            let name = Signal::try_from(signal)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| format!("signal {signal}"));
            out.exit_reason = Some(format!("{action} {what} interrupted by {name}"));
        }
        Ending::TimedOut => {
            out.status = ExecStatus::Timeout;
            out.exit_reason = Some(format!(
                "{action} {what} did not complete within {}",
                readable(inv.timeout)
            ));
        }
        Ending::Cancelled => {
            out.rc = OcfRc::OK;
            out.status = ExecStatus::Cancelled;
        }
        Ending::SpawnFailed { errno, message } => {
            let (rc, status) = exec_error(errno);
            out.rc = rc;
            out.status = status;
            out.exit_reason = Some(format!("{}: {message}", inv.program.display()));
        }
    }
    out
}

/// Pacemaker's `services__handle_exec_error`: a missing or unrunnable file is "not
/// installed", a permission problem is "insufficient privilege", anything else a
/// generic error.
fn exec_error(errno: Option<i32>) -> (OcfRc, ExecStatus) {
    use nix::errno::Errno;
    match errno.map(Errno::from_raw) {
        Some(Errno::ENOENT | Errno::EISDIR | Errno::ENOTDIR | Errno::EINVAL | Errno::ENOEXEC) => {
            (OcfRc::ERR_INSTALLED, ExecStatus::NotInstalled)
        }
        Some(Errno::EACCES | Errno::EPERM) => (OcfRc::ERR_PERM, ExecStatus::Error),
        _ => (OcfRc::ERR_GENERIC, ExecStatus::Error),
    }
}

/// The outcome for an agent file that is not there.
pub(crate) fn not_installed(what: &str, searched: &[&Path]) -> ExecOutcome {
    let places: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
    ExecOutcome::decided(
        OcfRc::ERR_INSTALLED,
        ExecStatus::NotInstalled,
        Some(format!("{what}: not found in {}", places.join(", "))),
    )
}

/// "20s", "1m30s", "250ms".
pub(crate) fn readable(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_durations() {
        assert_eq!(readable(Duration::from_millis(250)), "250ms");
        assert_eq!(readable(Duration::from_secs(20)), "20s");
        assert_eq!(readable(Duration::from_secs(90)), "1m30s");
        assert_eq!(readable(Duration::from_secs(120)), "2m");
    }

    #[test]
    fn exec_errors_like_pacemaker() {
        assert_eq!(
            exec_error(Some(libc_errno::ENOENT)),
            (OcfRc::ERR_INSTALLED, ExecStatus::NotInstalled)
        );
        assert_eq!(
            exec_error(Some(libc_errno::ENOEXEC)),
            (OcfRc::ERR_INSTALLED, ExecStatus::NotInstalled)
        );
        assert_eq!(
            exec_error(Some(libc_errno::EACCES)),
            (OcfRc::ERR_PERM, ExecStatus::Error)
        );
        assert_eq!(
            exec_error(Some(libc_errno::ENOMEM)),
            (OcfRc::ERR_GENERIC, ExecStatus::Error)
        );
        assert_eq!(exec_error(None), (OcfRc::ERR_GENERIC, ExecStatus::Error));
    }

    mod libc_errno {
        use nix::errno::Errno;
        pub const ENOENT: i32 = Errno::ENOENT as i32;
        pub const ENOEXEC: i32 = Errno::ENOEXEC as i32;
        pub const EACCES: i32 = Errno::EACCES as i32;
        pub const ENOMEM: i32 = Errno::ENOMEM as i32;
    }
}
