//! Running one agent process: spawn, capture, time out, kill the group.
//!
//! ```text
//!  Invocation ──spawn (own process group, stdin /dev/null, env as given)──▶ child
//!     │                          stdout ─┐  bounded capture, reading never stops
//!     │                          stderr ─┤  (so a chatty agent cannot block on a full
//!     │                                  │   pipe), exit reasons scanned on the way
//!     ▼                                  ▼
//!  wait ── exit ─────────────▶ final non-blocking read, never wait for EOF
//!       ── timeout / cancel ─▶ SIGTERM to the group, grace, SIGKILL to the group
//!     ▼
//!  ProcessOutcome { ending, stdout, stderr, exit reason, pid, duration }
//! ```
//!
//! Pacemaker's executor does the same things for the same reasons: an agent that
//! starts a daemon leaves that daemon holding the output pipes, so end-of-file cannot
//! mark the end of an operation; only the agent's own exit can. And an agent that hangs
//! may have children (a `sleep`, a hung `mount`), so the whole process group is killed,
//! not just the agent. Unlike Pacemaker (straight SIGKILL) we send SIGTERM first, as the
//! release-2 LRM did, so agents that trap it can clean up; a grace period later SIGKILL
//! goes to the whole group whether or not the agent itself is gone, which catches
//! grandchildren that ignore SIGTERM.

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tokio::net::unix::pipe;
use tokio::sync::watch;

/// The prefix Pacemaker's agents put before an exit reason on stderr.
pub const EXIT_REASON_PREFIX: &str = "ocf-exit-reason:";

/// Most bytes read from a stream after the agent exited.
const FINAL_READ_BUDGET: usize = 1 << 20;

/// Longest exit reason kept, in bytes; longer lines are cut.
pub const MAX_REASON_LEN: usize = 4096;

/// One process to run.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The executable.
    pub program: PathBuf,
    /// Arguments after `argv[0]` (which is `program`).
    pub args: Vec<OsString>,
    /// The complete environment (nothing is inherited).
    pub env: Vec<(OsString, OsString)>,
    /// How long the process may run.
    pub timeout: Duration,
    /// How long after SIGTERM the group gets SIGKILL.
    pub kill_grace: Duration,
    /// Bytes kept of each of stdout and stderr; the rest is read and counted.
    pub output_limit: usize,
    /// Whether to look for `ocf-exit-reason:` lines on stderr (OCF agents only).
    pub exit_reasons: bool,
}

/// How the process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Ending {
    /// It exited with this status.
    Exited {
        /// The exit status.
        code: i32,
    },
    /// A signal ended it (not one we sent).
    Signaled {
        /// The signal number.
        signal: i32,
    },
    /// It ran past its timeout and its process group was killed.
    TimedOut,
    /// It was cancelled and its process group was killed.
    Cancelled,
    /// It could not be started.
    SpawnFailed {
        /// `errno` of the failed `execve`/`fork`, if the OS gave one.
        errno: Option<i32>,
        /// The error as text.
        message: String,
    },
}

/// What a bounded capture of one stream kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captured {
    /// The first bytes of the stream, at most the limit, as (lossy) UTF-8.
    pub text: String,
    /// How many bytes the stream carried in all.
    pub total_bytes: u64,
    /// Whether bytes beyond the limit were dropped.
    pub truncated: bool,
}

impl Captured {
    fn from_bytes(data: &[u8], total: u64, truncated: bool) -> Self {
        Captured {
            text: String::from_utf8_lossy(data).into_owned(),
            total_bytes: total,
            truncated,
        }
    }
}

/// The whole story of one process.
#[derive(Debug, Clone)]
pub struct ProcessOutcome {
    /// How it ended.
    pub ending: Ending,
    /// Its process id (also its process group id), if it started.
    pub pid: Option<u32>,
    /// Standard output.
    pub stdout: Captured,
    /// Standard error.
    pub stderr: Captured,
    /// Text after the last `ocf-exit-reason:` on stderr, if any and not empty.
    pub exit_reason: Option<String>,
    /// Wall-clock start, milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// How long it ran.
    pub duration: Duration,
}

/// Cancels a running operation. Cheap to clone; every clone cancels the same thing.
#[derive(Debug, Clone)]
pub struct Canceller(std::sync::Arc<watch::Sender<bool>>);

/// The receiving side of a [`Canceller`].
#[derive(Debug, Clone)]
pub struct CancelSignal(watch::Receiver<bool>);

/// A connected canceller and signal.
pub fn cancel_pair() -> (Canceller, CancelSignal) {
    let (tx, rx) = watch::channel(false);
    (Canceller(std::sync::Arc::new(tx)), CancelSignal(rx))
}

impl Canceller {
    /// Requests cancellation; idempotent.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

impl CancelSignal {
    /// A signal that never fires.
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        // Keep the sender alive forever so `changed()` never reports a closed channel.
        std::mem::forget(tx);
        CancelSignal(rx)
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once cancellation is requested (never, if the canceller is dropped
    /// without cancelling).
    pub async fn cancelled(&mut self) {
        if self.0.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Runs `inv` to its end. Never hangs past `timeout + kill_grace` (plus the time the
/// kernel takes to deliver SIGKILL), never panics.
pub async fn run(inv: &Invocation, cancel: &CancelSignal) -> ProcessOutcome {
    let started_ms = now_epoch_ms();
    let t0 = Instant::now();
    let mut outcome = ProcessOutcome {
        ending: Ending::Cancelled,
        pid: None,
        stdout: Captured::default(),
        stderr: Captured::default(),
        exit_reason: None,
        started_ms,
        duration: Duration::ZERO,
    };
    if cancel.is_cancelled() {
        return outcome;
    }

    let mut cmd = tokio::process::Command::new(&inv.program);
    cmd.args(&inv.args)
        .env_clear()
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            outcome.ending = Ending::SpawnFailed {
                errno: e.raw_os_error(),
                message: e.to_string(),
            };
            outcome.duration = t0.elapsed();
            return outcome;
        }
    };
    let pid = child.id();
    outcome.pid = pid;

    let stdout = child.stdout.take().map(|s| s.into_owned_fd());
    let stderr = child.stderr.take().map(|s| s.into_owned_fd());
    let (exited_tx, exited_rx) = watch::channel(false);

    let out_fut = pump(stdout, inv.output_limit, exited_rx.clone(), None);
    let err_fut = pump(
        stderr,
        inv.output_limit,
        exited_rx,
        inv.exit_reasons.then(ReasonScanner::default),
    );
    let wait_fut = async {
        let ending = supervise(&mut child, pid, inv, cancel.clone()).await;
        exited_tx.send_replace(true);
        ending
    };
    let (out, err, ending) = tokio::join!(out_fut, err_fut, wait_fut);

    outcome.ending = ending;
    outcome.stdout = out.captured;
    outcome.stderr = err.captured;
    outcome.exit_reason = err.reason;
    outcome.duration = t0.elapsed();
    outcome
}

/// Waits for the child, enforcing the timeout and honouring cancellation.
async fn supervise(
    child: &mut tokio::process::Child,
    pid: Option<u32>,
    inv: &Invocation,
    mut cancel: CancelSignal,
) -> Ending {
    let deadline = tokio::time::sleep(inv.timeout);
    tokio::pin!(deadline);
    let killed_as = tokio::select! {
        status = child.wait() => return ending_of(status),
        () = &mut deadline => Ending::TimedOut,
        () = cancel.cancelled() => Ending::Cancelled,
    };
    terminate_group(child, pid, inv.kill_grace).await;
    killed_as
}

fn ending_of(status: io::Result<std::process::ExitStatus>) -> Ending {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => Ending::Exited { code },
            (None, Some(signal)) => Ending::Signaled { signal },
            (None, None) => Ending::Exited { code: -1 },
        },
        Err(e) => Ending::SpawnFailed {
            errno: e.raw_os_error(),
            message: format!("waiting for the agent failed: {e}"),
        },
    }
}

/// SIGTERM to the group, up to `grace` for the leader to go, then SIGKILL to the group
/// (grandchildren included), then reap the leader.
async fn terminate_group(child: &mut tokio::process::Child, pid: Option<u32>, grace: Duration) {
    let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()).map(Pid::from_raw) else {
        let _ = child.start_kill();
        let _ = child.wait().await;
        return;
    };
    signal_group(pgid, Signal::SIGTERM);
    let _ = tokio::time::timeout(grace, child.wait()).await;
    // The group outlives its leader while any member lives, and Linux does not reuse a
    // process group id that is still in use, so this reaches exactly the leftovers.
    signal_group(pgid, Signal::SIGKILL);
    let _ = child.wait().await;
}

fn signal_group(pgid: Pid, sig: Signal) {
    match killpg(pgid, sig) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
        Err(e) => tracing::warn!(
            pgid = pgid.as_raw(),
            ?sig,
            "cannot signal process group: {e}"
        ),
    }
}

/// What [`pump`] collected from one stream.
struct Pumped {
    captured: Captured,
    reason: Option<String>,
}

/// A bounded sink for one stream.
struct Sink {
    limit: usize,
    kept: Vec<u8>,
    total: u64,
    scanner: Option<ReasonScanner>,
}

impl Sink {
    fn take(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let room = self.limit.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&data[..data.len().min(room)]);
        if let Some(s) = self.scanner.as_mut() {
            s.feed(data);
        }
    }

    fn finish(self) -> Pumped {
        let truncated = self.total > self.kept.len() as u64;
        Pumped {
            captured: Captured::from_bytes(&self.kept, self.total, truncated),
            reason: self.scanner.and_then(ReasonScanner::finish),
        }
    }
}

/// Reads `fd` until end of file, or until the child has exited and nothing more is
/// immediately available, keeping at most `limit` bytes.
async fn pump(
    fd: Option<io::Result<OwnedFd>>,
    limit: usize,
    mut exited: watch::Receiver<bool>,
    scanner: Option<ReasonScanner>,
) -> Pumped {
    let mut sink = Sink {
        limit,
        kept: Vec::new(),
        total: 0,
        scanner,
    };
    let rx = match fd.map(|r| r.and_then(pipe::Receiver::from_owned_fd)) {
        Some(Ok(rx)) => rx,
        Some(Err(e)) => {
            tracing::warn!("cannot read agent output: {e}");
            return sink.finish();
        }
        None => return sink.finish(),
    };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            biased;
            ready = rx.readable() => {
                if ready.is_err() {
                    break;
                }
                match rx.try_read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => sink.take(&buf[..n]),
                    Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                    Err(_) => break,
                }
            }
            _ = exited.wait_for(|x| *x) => {
                // The agent is gone: take what is already in the pipe and stop, even if
                // a daemon it started still holds the write end.
                // Bounded, so that a daemon writing without pause cannot hold us here.
                let mut budget = FINAL_READ_BUDGET;
                while budget > 0 {
                    match rx.try_read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            sink.take(&buf[..n]);
                            budget = budget.saturating_sub(n);
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                break;
            }
        }
    }
    sink.finish()
}

/// Finds the text after the last `ocf-exit-reason:` on a stream, to the end of its
/// line, without keeping the stream (Pacemaker's `parse_exit_reason_from_stderr`). An
/// occurrence is found however long its line is; the reason is cut at
/// [`MAX_REASON_LEN`] bytes.
#[derive(Debug, Default)]
pub struct ReasonScanner {
    /// The last bytes of the current line (fewer than the prefix), to find a prefix
    /// split across reads.
    carry: Vec<u8>,
    /// The reason being collected on the current line, after its last prefix so far.
    current: Option<Vec<u8>>,
    /// The reason of the last finished line that had one.
    last: Option<Vec<u8>>,
}

impl ReasonScanner {
    /// Feeds more bytes of the stream.
    pub fn feed(&mut self, data: &[u8]) {
        let mut rest = data;
        loop {
            match rest.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    self.segment(&rest[..nl]);
                    self.end_line();
                    rest = &rest[nl + 1..];
                }
                None => {
                    self.segment(rest);
                    return;
                }
            }
        }
    }

    /// A piece of the current line.
    fn segment(&mut self, seg: &[u8]) {
        let prefix = EXIT_REASON_PREFIX.as_bytes();
        let mut joined = std::mem::take(&mut self.carry);
        joined.extend_from_slice(seg);
        let found = joined.windows(prefix.len()).rposition(|w| w == prefix);
        match found {
            Some(at) => {
                let after = &joined[at + prefix.len()..];
                self.current = Some(after[..after.len().min(MAX_REASON_LEN)].to_vec());
            }
            None => {
                if let Some(cur) = self.current.as_mut() {
                    let room = MAX_REASON_LEN.saturating_sub(cur.len());
                    cur.extend_from_slice(&seg[..seg.len().min(room)]);
                }
            }
        }
        let keep = prefix.len() - 1;
        self.carry = joined[joined.len().saturating_sub(keep)..].to_vec();
    }

    fn end_line(&mut self) {
        if let Some(cur) = self.current.take() {
            self.last = Some(cur);
        }
        self.carry.clear();
    }

    /// The reason, if the last occurrence carried one.
    pub fn finish(mut self) -> Option<String> {
        self.end_line();
        let last = self.last?;
        let text = String::from_utf8_lossy(&last);
        let text = text.trim_end_matches('\r');
        (!text.is_empty()).then(|| text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&str]) -> Option<String> {
        let mut s = ReasonScanner::default();
        for c in chunks {
            s.feed(c.as_bytes());
        }
        s.finish()
    }

    #[test]
    fn exit_reason_is_the_last_one_to_end_of_line() {
        assert_eq!(
            scan(&["ocf-exit-reason:first\nnoise\nocf-exit-reason:second\nmore\n"]),
            Some("second".into())
        );
        assert_eq!(
            scan(&["ocf-exit-rea", "son:split across reads\n"]),
            Some("split across reads".into())
        );
        assert_eq!(
            scan(&["ERROR: x ocf-exit-reason:inside a line"]),
            Some("inside a line".into())
        );
        assert_eq!(scan(&["nothing here\n"]), None);
        // An empty last reason means none, as in Pacemaker.
        assert_eq!(scan(&["ocf-exit-reason:real\nocf-exit-reason:\n"]), None);
        // However long the line, and however the reads split it.
        let long = "x".repeat(100_000);
        assert_eq!(
            scan(&[&long, "ocf-exit-", "reason:at the end"]),
            Some("at the end".into())
        );
        assert_eq!(
            scan(&["ocf-exit-reason:a", &long, "\n"]).map(|r| r.len()),
            Some(MAX_REASON_LEN)
        );
        assert_eq!(
            scan(&["ocf-exit-reason:first ", "ocf-exit-reason:second"]),
            Some("second".into())
        );
    }
}
