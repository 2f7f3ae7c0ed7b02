//! Result codes: what an agent's exit status means, and how bad a failure is.
//!
//! Three layers, as in Pacemaker:
//!
//! ```text
//!  agent exit status ──(per class: ocf2ocf, lsb2ocf, heartbeat text)──▶ OcfRc
//!  how the process ended (exited, timed out, signal, not found) ─────▶ ExecStatus
//!  (action, interval, OcfRc, ExecStatus, expected rc) ──(assess)──▶ Assessment
//! ```
//!
//! The first two are what the executor reports and what goes into the history
//! (`rc-code`, `op-status` of Pacemaker's `lrm_rsc_op`). The last is Pacemaker's
//! `remap_operation` (lib/pengine/unpack.c): only whoever knows the expected result can
//! say whether a result is a failure, and of which class: **soft** (recover in place),
//! **hard** (ban from this node) or **fatal** (stop everywhere).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An OCF result code, after the class-specific mapping. Any `i32` can be held so that
/// the history shows exactly what was decided, but [`ocf2ocf`] and [`lsb2ocf`] only
/// produce the codes named here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OcfRc(pub i32);

impl OcfRc {
    /// Success; for a monitor: running.
    pub const OK: OcfRc = OcfRc(0);
    /// Unspecified error.
    pub const ERR_GENERIC: OcfRc = OcfRc(1);
    /// Parameters invalid on this host.
    pub const ERR_ARGS: OcfRc = OcfRc(2);
    /// Action not implemented by the agent.
    pub const ERR_UNIMPLEMENTED: OcfRc = OcfRc(3);
    /// Insufficient privilege.
    pub const ERR_PERM: OcfRc = OcfRc(4);
    /// Software (or the agent itself) missing on this host.
    pub const ERR_INSTALLED: OcfRc = OcfRc(5);
    /// Parameters inherently invalid (anywhere).
    pub const ERR_CONFIGURED: OcfRc = OcfRc(6);
    /// Cleanly stopped (a state for monitors, not an error).
    pub const NOT_RUNNING: OcfRc = OcfRc(7);
    /// Running in the promoted role.
    pub const RUNNING_PROMOTED: OcfRc = OcfRc(8);
    /// Failed, possibly in the promoted role.
    pub const FAILED_PROMOTED: OcfRc = OcfRc(9);
    /// Running but degraded (treated as 0, shown as a warning).
    pub const DEGRADED: OcfRc = OcfRc(190);
    /// Promoted but degraded (treated as 8).
    pub const DEGRADED_PROMOTED: OcfRc = OcfRc(191);

    /// The code's name in `ocf-returncodes`, or `None` for a code OCF does not define.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "OCF_SUCCESS",
            1 => "OCF_ERR_GENERIC",
            2 => "OCF_ERR_ARGS",
            3 => "OCF_ERR_UNIMPLEMENTED",
            4 => "OCF_ERR_PERM",
            5 => "OCF_ERR_INSTALLED",
            6 => "OCF_ERR_CONFIGURED",
            7 => "OCF_NOT_RUNNING",
            8 => "OCF_RUNNING_PROMOTED",
            9 => "OCF_FAILED_PROMOTED",
            190 => "OCF_DEGRADED",
            191 => "OCF_DEGRADED_PROMOTED",
            _ => return None,
        })
    }

    /// Pacemaker's `pcmk__effective_rc`: degraded results count as their healthy twins.
    pub fn effective(self) -> OcfRc {
        match self {
            OcfRc::DEGRADED => OcfRc::OK,
            OcfRc::DEGRADED_PROMOTED => OcfRc::RUNNING_PROMOTED,
            other => other,
        }
    }
}

impl fmt::Display for OcfRc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} ({n})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// How an operation ended, independent of the agent's answer: Pacemaker's
/// `enum pcmk_exec_status`, with the same numbers (they go into `op-status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecStatus {
    /// In flight (`-1`).
    Pending,
    /// The agent ran and said something: look at the rc (`0`).
    Done,
    /// Cancelled before or while running; not a failure (`1`).
    Cancelled,
    /// Did not finish within its timeout; the process group was killed (`2`).
    Timeout,
    /// The agent does not support this action on a recurring basis (`3`).
    NotSupported,
    /// Failed to run, or failed in a way the executor saw (signal, exec error) (`4`).
    Error,
    /// Failed; do not retry on this node (`5`).
    ErrorHard,
    /// Failed; do not retry anywhere (`6`).
    ErrorFatal,
    /// The agent (or its class's service manager) is not installed here (`7`).
    NotInstalled,
}

impl ExecStatus {
    /// The number Pacemaker stores as `op-status`.
    pub fn code(self) -> i32 {
        match self {
            ExecStatus::Pending => -1,
            ExecStatus::Done => 0,
            ExecStatus::Cancelled => 1,
            ExecStatus::Timeout => 2,
            ExecStatus::NotSupported => 3,
            ExecStatus::Error => 4,
            ExecStatus::ErrorHard => 5,
            ExecStatus::ErrorFatal => 6,
            ExecStatus::NotInstalled => 7,
        }
    }

    /// The status with Pacemaker's number `code`.
    pub fn from_code(code: i32) -> Option<ExecStatus> {
        [
            ExecStatus::Pending,
            ExecStatus::Done,
            ExecStatus::Cancelled,
            ExecStatus::Timeout,
            ExecStatus::NotSupported,
            ExecStatus::Error,
            ExecStatus::ErrorHard,
            ExecStatus::ErrorFatal,
            ExecStatus::NotInstalled,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }

    /// Pacemaker's human name for the status.
    pub fn describe(self) -> &'static str {
        match self {
            ExecStatus::Pending => "pending",
            ExecStatus::Done => "complete",
            ExecStatus::Cancelled => "cancelled",
            ExecStatus::Timeout => "timed out",
            ExecStatus::NotSupported => "not supported",
            ExecStatus::Error => "error",
            ExecStatus::ErrorHard => "hard error",
            ExecStatus::ErrorFatal => "fatal error",
            ExecStatus::NotInstalled => "not installed",
        }
    }
}

impl fmt::Display for ExecStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// How far a failure reaches, as Pacemaker's policy engine reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Recover in place (restart), counting toward `migration-threshold`.
    Soft,
    /// Ban the resource from this node.
    Hard,
    /// Stop the resource and allow it nowhere.
    Fatal,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Soft => "soft",
            Severity::Hard => "hard",
            Severity::Fatal => "fatal",
        })
    }
}

/// Maps an OCF agent's exit status (Pacemaker `services__ocf2ocf`): 0–9, 190 and 191
/// pass, anything else (including negative values) is a generic error.
pub fn ocf2ocf(exit_status: i32) -> OcfRc {
    match exit_status {
        0..=9 | 190 | 191 => OcfRc(exit_status),
        _ => OcfRc::ERR_GENERIC,
    }
}

/// LSB status-action codes that differ from OCF (LSB 4.1, "status" table).
pub mod lsb_status {
    /// Running.
    pub const OK: i32 = 0;
    /// Dead, pid file left behind.
    pub const VAR_PID: i32 = 1;
    /// Dead, lock file left behind.
    pub const VAR_LOCK: i32 = 2;
    /// Not running.
    pub const NOT_RUNNING: i32 = 3;
    /// Unknown.
    pub const UNKNOWN: i32 = 4;
    /// Pacemaker-internal: not installed.
    pub const NOT_INSTALLED: i32 = 150;
    /// Pacemaker-internal: insufficient privilege.
    pub const INSUFFICIENT_PRIV: i32 = 151;
}

/// Whether `action` is a status query for classes that call it `status`.
pub fn is_status_action(action: &str) -> bool {
    action == "status" || action == "monitor"
}

/// Maps an LSB init script's exit status (Pacemaker `services__lsb2ocf`). Status has
/// its own codes (1, 2, 3 mean stopped); every other action shares 0–7 with OCF and
/// anything else is a generic error.
pub fn lsb2ocf(action: &str, exit_status: i32) -> OcfRc {
    if !is_status_action(action) {
        return if (0..=7).contains(&exit_status) {
            OcfRc(exit_status)
        } else {
            OcfRc::ERR_GENERIC
        };
    }
    match exit_status {
        lsb_status::OK => OcfRc::OK,
        lsb_status::NOT_INSTALLED => OcfRc::ERR_INSTALLED,
        lsb_status::INSUFFICIENT_PRIV => OcfRc::ERR_PERM,
        lsb_status::VAR_PID | lsb_status::VAR_LOCK | lsb_status::NOT_RUNNING => OcfRc::NOT_RUNNING,
        _ => OcfRc::ERR_GENERIC,
    }
}

/// Decides a heartbeat-1 script's `status` from its standard output, exactly as
/// release-1 `ResourceManager` did (its exit code is ignored):
///
/// ```text
/// case `$script status` in
///   *[Nn][Oo][Tt] *[Rr]unning*) stopped ;;
///   *[Rr]unning*|*OK*)          running ;;
///   *)                          stopped ;;
/// ```
///
/// In those shell patterns `*` is any text, so "not" is followed by one space and then
/// anything before "running".
pub fn heartbeat_status(stdout: &[u8]) -> OcfRc {
    let text = String::from_utf8_lossy(stdout);
    if matches_not_running(&text) {
        OcfRc::NOT_RUNNING
    } else if text.contains("running") || text.contains("Running") || text.contains("OK") {
        OcfRc::OK
    } else {
        OcfRc::NOT_RUNNING
    }
}

/// `*[Nn][Oo][Tt] *[Rr]unning*`.
fn matches_not_running(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        if bytes[i..i + 3].eq_ignore_ascii_case(b"not") && bytes[i + 3] == b' ' {
            let rest = &text[i + 4..];
            if rest.contains("running") || rest.contains("Running") {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// The verdict on one result, given what was expected (Pacemaker `remap_operation` and
/// the probe masking of `pcmk_xe_mask_probe_failure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// The rc after remapping (degraded → healthy; masked probe failures → 7).
    pub rc: OcfRc,
    /// The status after remapping: `Done` when the result is acceptable.
    pub status: ExecStatus,
    /// `None` when the result is not a failure; otherwise how far it reaches.
    pub failure: Option<Severity>,
    /// What the result says about the resource.
    pub state: ResourceState,
    /// The agent reported a degraded state (190/191): fine, but worth a warning.
    pub degraded: bool,
    /// Why the verdict is what it is, for logs and `halo agent run`.
    pub why: String,
}

/// What a result tells about the resource's state on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceState {
    /// Running (started or unpromoted).
    Running,
    /// Running in the promoted role.
    Promoted,
    /// Cleanly stopped.
    Stopped,
    /// Failed; needs recovery.
    Failed,
    /// This result says nothing about the state (meta-data, validate-all, cancelled).
    Unknown,
}

/// What an operation was, for [`assess`].
#[derive(Debug, Clone, Copy)]
pub struct OpKind<'a> {
    /// Action name (`start`, `monitor`, …).
    pub action: &'a str,
    /// Interval in milliseconds; 0 is one-shot.
    pub interval_ms: u64,
}

impl OpKind<'_> {
    /// A probe is a one-shot monitor: it asks, it does not expect.
    pub fn is_probe(&self) -> bool {
        self.interval_ms == 0 && is_status_action(self.action)
    }
}

/// The rc an operation is expected to return when nothing else is known: 7 for
/// probes (Pacemaker's target rc for a probe of a resource believed stopped), 0 for
/// everything else.
pub fn default_expected_rc(op: OpKind<'_>) -> OcfRc {
    if op.is_probe() {
        OcfRc::NOT_RUNNING
    } else {
        OcfRc::OK
    }
}

/// Judges one result as Pacemaker's policy engine would (`remap_operation`):
///
/// - degraded codes count as their healthy twins;
/// - a probe's "not installed" (rc 5, or status not installed) and "invalid
///   parameters" (rc 2) mean "not running here";
/// - a status other than done/error (timeout, cancelled, not installed, …) is final;
/// - otherwise the rc is compared with `expected`: a probe finding the resource
///   running is information, not a failure; 7 from a probe or when 7 was expected is a
///   state; 9 is always a failure; 6 is fatal; 3 is hard for one-shot ops and "not
///   supported" for recurring ones; 2, 4, 5 are hard; other mismatches are soft.
///
/// `stop` is held to the same rule: it expects 0, so a stop returning 7 is a failed
/// stop, which the cluster answers with fencing (or blocking).
pub fn assess(op: OpKind<'_>, rc: OcfRc, status: ExecStatus, expected: OcfRc) -> Assessment {
    let degraded = rc != rc.effective();
    let rc = rc.effective();
    let mut status = status;

    let probe = op.is_probe();
    if probe
        && (rc == OcfRc::ERR_INSTALLED
            || rc == OcfRc::ERR_ARGS
            || status == ExecStatus::NotInstalled)
    {
        return Assessment {
            rc: OcfRc::NOT_RUNNING,
            status: ExecStatus::Done,
            failure: None,
            state: ResourceState::Stopped,
            degraded,
            why: "equivalent probe result".into(),
        };
    }

    match status {
        ExecStatus::Done | ExecStatus::Error => {}
        ExecStatus::Pending | ExecStatus::Cancelled => {
            return Assessment {
                rc,
                status,
                failure: None,
                state: ResourceState::Unknown,
                degraded,
                why: "execution status".into(),
            };
        }
        other => {
            return Assessment {
                rc,
                status: other,
                failure: severity_of(other),
                state: ResourceState::Failed,
                degraded,
                why: "execution status".into(),
            };
        }
    }

    let mut why = if rc == expected {
        status = ExecStatus::Done;
        if degraded {
            "degraded result"
        } else {
            "expected result"
        }
    } else {
        status = ExecStatus::Error;
        "unexpected result"
    };

    match rc {
        OcfRc::OK => {
            if probe && expected == OcfRc::NOT_RUNNING {
                status = ExecStatus::Done;
                why = "probe";
            }
        }
        OcfRc::NOT_RUNNING => {
            if probe || expected == OcfRc::NOT_RUNNING {
                status = ExecStatus::Done;
                why = "exit status";
            }
        }
        OcfRc::RUNNING_PROMOTED => {
            if probe && rc != expected {
                status = ExecStatus::Done;
                why = "probe";
            }
        }
        OcfRc::FAILED_PROMOTED => {
            status = ExecStatus::Error;
            why = "exit status";
        }
        OcfRc::ERR_CONFIGURED => {
            status = ExecStatus::ErrorFatal;
            why = "exit status";
        }
        OcfRc::ERR_UNIMPLEMENTED => {
            status = if op.interval_ms == 0 {
                ExecStatus::ErrorHard
            } else {
                ExecStatus::NotSupported
            };
            why = "exit status";
        }
        OcfRc::ERR_INSTALLED | OcfRc::ERR_ARGS | OcfRc::ERR_PERM => {
            status = ExecStatus::ErrorHard;
            why = "exit status";
        }
        _ => {
            // Pacemaker treats any other code (1 included) as a failure, even when
            // it was the expected one.
            if status == ExecStatus::Done {
                why = "unknown exit status";
            }
            status = ExecStatus::Error;
        }
    }

    let failure = if status == ExecStatus::Done {
        None
    } else {
        severity_of(status)
    };
    let state = match (failure, rc) {
        (Some(_), _) => ResourceState::Failed,
        (None, _) if !touches_state(op.action) && !probe => ResourceState::Unknown,
        (None, OcfRc::NOT_RUNNING) => ResourceState::Stopped,
        (None, OcfRc::RUNNING_PROMOTED) => ResourceState::Promoted,
        (None, _) => match op.action {
            "stop" | "migrate_to" => ResourceState::Stopped,
            "promote" => ResourceState::Promoted,
            _ => ResourceState::Running,
        },
    };
    Assessment {
        rc,
        status,
        failure,
        state,
        degraded,
        why: why.into(),
    }
}

/// Actions whose success says something about the resource's state.
fn touches_state(action: &str) -> bool {
    matches!(
        action,
        "start"
            | "stop"
            | "monitor"
            | "status"
            | "promote"
            | "demote"
            | "reload"
            | "reload-agent"
            | "migrate_to"
            | "migrate_from"
    )
}

/// The failure class of an execution status that is not "done".
pub fn severity_of(status: ExecStatus) -> Option<Severity> {
    match status {
        ExecStatus::Done | ExecStatus::Pending | ExecStatus::Cancelled => None,
        ExecStatus::ErrorHard | ExecStatus::NotInstalled => Some(Severity::Hard),
        ExecStatus::ErrorFatal => Some(Severity::Fatal),
        ExecStatus::Error | ExecStatus::Timeout | ExecStatus::NotSupported => Some(Severity::Soft),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(action: &str, interval_ms: u64) -> OpKind<'_> {
        OpKind {
            action,
            interval_ms,
        }
    }

    #[test]
    fn ocf_codes_outside_the_table_become_generic_errors() {
        for code in [-1, 10, 99, 102, 189, 192, 255] {
            assert_eq!(ocf2ocf(code), OcfRc::ERR_GENERIC, "{code}");
        }
        for code in (0..=9).chain([190, 191]) {
            assert_eq!(ocf2ocf(code), OcfRc(code));
        }
    }

    #[test]
    fn lsb_status_codes_follow_pacemaker() {
        let expect = [
            (0, 0),
            (1, 7),
            (2, 7),
            (3, 7),
            (4, 1),
            (5, 1),
            (150, 5),
            (151, 4),
            (200, 1),
        ];
        for (lsb, ocf) in expect {
            assert_eq!(lsb2ocf("status", lsb), OcfRc(ocf), "status {lsb}");
            assert_eq!(lsb2ocf("monitor", lsb), OcfRc(ocf), "monitor {lsb}");
        }
        for code in 0..=7 {
            assert_eq!(lsb2ocf("start", code), OcfRc(code));
        }
        assert_eq!(lsb2ocf("stop", 8), OcfRc::ERR_GENERIC);
        assert_eq!(lsb2ocf("start", -1), OcfRc::ERR_GENERIC);
    }

    #[test]
    fn heartbeat_status_reads_text_like_resource_manager() {
        let cases: &[(&str, i32)] = &[
            ("", 7),
            ("INFO: Running OK\n", 0),
            ("INFO: Resource is stopped\n", 7),
            ("running\n", 0),
            ("Not currently running\n", 7),
            ("NOT Running", 7),
            ("notrunning", 0), // no space after "not": the first pattern does not match
            ("NOT RUNNING", 7), // neither [Rr]unning nor OK: stopped by default
            ("status: OK", 0),
            ("ok", 7),
            ("running (Primary)", 0),
            ("stopped (Secondary)", 7),
        ];
        for (text, rc) in cases {
            assert_eq!(heartbeat_status(text.as_bytes()), OcfRc(*rc), "{text:?}");
        }
    }

    #[test]
    fn stop_returning_not_running_is_a_failed_stop() {
        let a = assess(
            op("stop", 0),
            OcfRc::NOT_RUNNING,
            ExecStatus::Done,
            OcfRc::OK,
        );
        assert_eq!(a.failure, Some(Severity::Soft));
        assert_eq!(a.state, ResourceState::Failed);
        let a = assess(op("stop", 0), OcfRc::OK, ExecStatus::Done, OcfRc::OK);
        assert_eq!(a.failure, None);
        assert_eq!(a.state, ResourceState::Stopped);
    }

    #[test]
    fn monitor_not_running_is_a_state_for_probes_and_a_failure_for_recurring() {
        let probe = assess(
            op("monitor", 0),
            OcfRc::NOT_RUNNING,
            ExecStatus::Done,
            OcfRc::NOT_RUNNING,
        );
        assert_eq!((probe.failure, probe.state), (None, ResourceState::Stopped));
        let probe_found = assess(
            op("monitor", 0),
            OcfRc::OK,
            ExecStatus::Done,
            OcfRc::NOT_RUNNING,
        );
        assert_eq!(
            (probe_found.failure, probe_found.state),
            (None, ResourceState::Running)
        );
        let rec = assess(
            op("monitor", 10_000),
            OcfRc::NOT_RUNNING,
            ExecStatus::Done,
            OcfRc::OK,
        );
        assert_eq!(rec.failure, Some(Severity::Soft));
    }

    #[test]
    fn probe_masks_not_installed_and_invalid_params() {
        for (rc, st) in [
            (OcfRc::ERR_INSTALLED, ExecStatus::Done),
            (OcfRc::ERR_ARGS, ExecStatus::Done),
            (OcfRc::ERR_INSTALLED, ExecStatus::NotInstalled),
        ] {
            let a = assess(op("monitor", 0), rc, st, OcfRc::NOT_RUNNING);
            assert_eq!(a.rc, OcfRc::NOT_RUNNING);
            assert_eq!(a.failure, None);
        }
        // The same codes from a start are hard failures.
        let a = assess(
            op("start", 0),
            OcfRc::ERR_INSTALLED,
            ExecStatus::Done,
            OcfRc::OK,
        );
        assert_eq!(a.failure, Some(Severity::Hard));
    }

    #[test]
    fn every_code_from_start_is_classified() {
        let expect: &[(i32, Option<Severity>)] = &[
            (0, None),
            (1, Some(Severity::Soft)),
            (2, Some(Severity::Hard)),
            (3, Some(Severity::Hard)),
            (4, Some(Severity::Hard)),
            (5, Some(Severity::Hard)),
            (6, Some(Severity::Fatal)),
            (7, Some(Severity::Soft)),
            (8, Some(Severity::Soft)),
            (9, Some(Severity::Soft)),
            (190, None),
            (191, Some(Severity::Soft)),
        ];
        for (code, sev) in expect {
            let a = assess(op("start", 0), OcfRc(*code), ExecStatus::Done, OcfRc::OK);
            assert_eq!(a.failure, *sev, "start rc {code}");
        }
    }

    #[test]
    fn unimplemented_is_not_supported_on_recurring_ops() {
        let a = assess(
            op("monitor", 5000),
            OcfRc::ERR_UNIMPLEMENTED,
            ExecStatus::Done,
            OcfRc::OK,
        );
        assert_eq!(a.status, ExecStatus::NotSupported);
        let a = assess(
            op("monitor", 0),
            OcfRc::ERR_UNIMPLEMENTED,
            ExecStatus::Done,
            OcfRc::NOT_RUNNING,
        );
        assert_eq!(a.status, ExecStatus::ErrorHard);
    }

    #[test]
    fn failed_promoted_is_always_a_failure_even_when_expected() {
        let a = assess(
            op("monitor", 1000),
            OcfRc::FAILED_PROMOTED,
            ExecStatus::Done,
            OcfRc::FAILED_PROMOTED,
        );
        assert_eq!(a.failure, Some(Severity::Soft));
    }

    #[test]
    fn timeouts_and_cancellations() {
        let a = assess(
            op("start", 0),
            OcfRc::ERR_GENERIC,
            ExecStatus::Timeout,
            OcfRc::OK,
        );
        assert_eq!(
            (a.status, a.failure),
            (ExecStatus::Timeout, Some(Severity::Soft))
        );
        let a = assess(
            op("monitor", 1000),
            OcfRc::OK,
            ExecStatus::Cancelled,
            OcfRc::OK,
        );
        assert_eq!(a.failure, None);
        let a = assess(
            op("start", 0),
            OcfRc::ERR_INSTALLED,
            ExecStatus::NotInstalled,
            OcfRc::OK,
        );
        assert_eq!(a.failure, Some(Severity::Hard));
    }

    #[test]
    fn degraded_counts_as_healthy_with_a_warning() {
        let a = assess(
            op("monitor", 1000),
            OcfRc::DEGRADED,
            ExecStatus::Done,
            OcfRc::OK,
        );
        assert_eq!((a.rc, a.failure, a.degraded), (OcfRc::OK, None, true));
        let a = assess(
            op("monitor", 1000),
            OcfRc::DEGRADED_PROMOTED,
            ExecStatus::Done,
            OcfRc::RUNNING_PROMOTED,
        );
        assert_eq!(
            (a.rc, a.state),
            (OcfRc::RUNNING_PROMOTED, ResourceState::Promoted)
        );
    }
}
