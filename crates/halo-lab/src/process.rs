//! Processes on lab hosts: start (output to a per-host log), signal, stop, kill, wait.
//!
//! The lab only ever signals processes it can prove are its own: children it started
//! and has not reaped yet (their PIDs cannot be reused), or processes found inside the
//! lab's namespaces (signalled through a pidfd after re-checking the namespace).

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::error::{LabError, Result};
use crate::lab::Lab;
use crate::spec::{NodeKind, SWITCH};
use crate::state::ProcRecord;
use crate::sys::{self, Enter};

/// How often waits poll a child.
const POLL: Duration = Duration::from_millis(5);

/// A process the lab started on a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proc {
    /// Its PID (the same inside and outside: hosts share the PID namespace).
    pub pid: u32,
    /// The host it runs on (`switch` for the lab's own relays).
    pub host: String,
    /// File receiving its stdout and stderr.
    pub log: PathBuf,
}

impl Proc {
    /// What it has written so far (stdout and stderr interleaved), lossily decoded.
    pub fn log_text(&self) -> String {
        fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

/// A child the lab started, until reaped (then its exit status).
#[derive(Debug)]
pub(crate) struct Tracked {
    child: Option<Child>,
    status: Option<ExitStatus>,
    log: PathBuf,
}

/// How to start `halod` on a host: `BINARY --config-dir D --state-dir S --run-dir R
/// --node HOST --foreground [EXTRA…]`. Paths are as the host sees them; the defaults are
/// the host's private `/etc/ha.d`, `/var/lib/halo` and `/run/halo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halod {
    /// The `halod` executable (outside path; e.g. `env!("CARGO_BIN_EXE_halod")`).
    pub binary: PathBuf,
    /// `--config-dir`.
    pub config_dir: PathBuf,
    /// `--state-dir`.
    pub state_dir: PathBuf,
    /// `--run-dir`.
    pub run_dir: PathBuf,
    /// Arguments after the standard ones.
    pub extra_args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(OsString, OsString)>,
}

impl Halod {
    /// `halod` at `binary` with the default directories.
    pub fn new(binary: impl Into<PathBuf>) -> Halod {
        Halod {
            binary: binary.into(),
            config_dir: PathBuf::from("/etc/ha.d"),
            state_dir: PathBuf::from("/var/lib/halo"),
            run_dir: PathBuf::from("/run/halo"),
            extra_args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Use another configuration directory (inside the host).
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Halod {
        self.config_dir = dir.into();
        self
    }

    /// Use another state directory (inside the host).
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Halod {
        self.state_dir = dir.into();
        self
    }

    /// Use another run directory (inside the host).
    pub fn run_dir(mut self, dir: impl Into<PathBuf>) -> Halod {
        self.run_dir = dir.into();
        self
    }

    /// Add an argument after the standard ones.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Halod {
        self.extra_args.push(arg.into());
        self
    }

    /// Set an environment variable (e.g. `RUST_LOG`).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Halod {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The command line (without the binary) for node `node`.
    pub fn args(&self, node: &str) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec![
            "--config-dir".into(),
            self.config_dir.clone().into(),
            "--state-dir".into(),
            self.state_dir.clone().into(),
            "--run-dir".into(),
            self.run_dir.clone().into(),
            "--node".into(),
            node.into(),
            "--foreground".into(),
        ];
        v.extend(self.extra_args.iter().cloned());
        v
    }
}

impl Lab {
    fn check_host(&self, host: &str) -> Result<()> {
        match self.spec.node(host) {
            Some(n) if n.kind == NodeKind::Host => Ok(()),
            _ => Err(self.unknown(format!(
                "no host named {host:?} (hosts: {})",
                self.spec.host_names().join(", ")
            ))),
        }
    }

    /// Make `cmd` run on `host`: in its network, UTS and mount namespaces. Set the
    /// working directory (a path inside the host) before calling this; without one the
    /// command starts in `/`.
    pub fn prepare(&self, host: &str, cmd: &mut Command) -> Result<()> {
        self.check_host(host)?;
        sys::enter_namespaces(
            cmd,
            &Enter {
                net: Some(self.paths.netns(host)),
                uts: Some(self.paths.uts(host)),
                mnt: Some(self.paths.mnt(host)),
                setsid: false,
            },
        )
    }

    /// A `Command` for `program` that runs on `host` (see [`Lab::prepare`]). It is not
    /// tracked: use [`Lab::spawn`] for background processes.
    pub fn command(&self, host: &str, program: impl AsRef<OsStr>) -> Result<Command> {
        let mut cmd = Command::new(program);
        self.prepare(host, &mut cmd)?;
        Ok(cmd)
    }

    /// Run `argv` on `host` to completion and return its output. A non-zero exit is not
    /// an error here: look at `status`.
    pub fn output<S: AsRef<OsStr>>(&self, host: &str, argv: &[S]) -> Result<Output> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| LabError::Invalid("empty command".into()))?;
        let mut cmd = self.command(host, program)?;
        cmd.args(args);
        sys::run_unchecked(&mut cmd, None)
    }

    /// Run a shell script on `host` (`sh -c SCRIPT`) to completion.
    pub fn sh(&self, host: &str, script: &str) -> Result<Output> {
        self.output(host, &["sh", "-c", script])
    }

    /// Start `cmd` on `host` in the background. Its stdin is empty, its stdout and
    /// stderr go to a new log file of the host (see [`Proc::log`]). The lab kills it at
    /// teardown if it is still running.
    pub fn spawn(&self, host: &str, mut cmd: Command) -> Result<Proc> {
        self.check_host(host)?;
        sys::enter_namespaces(
            &mut cmd,
            &Enter {
                net: Some(self.paths.netns(host)),
                uts: Some(self.paths.uts(host)),
                mnt: Some(self.paths.mnt(host)),
                setsid: self.setsid,
            },
        )?;
        self.spawn_logged(host, &self.paths.logs(host), cmd)
    }

    /// Start `argv` on `host` in the background (see [`Lab::spawn`]).
    pub fn spawn_args<S: AsRef<OsStr>>(&self, host: &str, argv: &[S]) -> Result<Proc> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| LabError::Invalid("empty command".into()))?;
        let mut cmd = Command::new(program);
        cmd.args(args);
        self.spawn(host, cmd)
    }

    /// Start `halod` on `host` as `halod` describes. Creates the state and run
    /// directories when they are private to the host.
    pub fn start_halod(&self, host: &str, halod: &Halod) -> Result<Proc> {
        let h = self.host(host)?;
        for dir in [&halod.state_dir, &halod.run_dir] {
            if let Ok(outside) = h.path(dir) {
                fs::create_dir_all(&outside)
                    .map_err(|e| LabError::io(format!("creating {}", outside.display()), e))?;
            }
        }
        let mut cmd = Command::new(&halod.binary);
        cmd.args(halod.args(host));
        for (k, v) in &halod.env {
            cmd.env(k, v);
        }
        self.spawn(host, cmd)
    }

    /// A relay in the switch namespace (serial links).
    pub(crate) fn spawn_in_switch(&self, name: &str, mut cmd: Command) -> Result<Proc> {
        sys::enter_namespaces(
            &mut cmd,
            &Enter {
                net: Some(self.paths.switch()),
                setsid: self.setsid,
                ..Enter::default()
            },
        )?;
        let dir = self.paths.dir.join("relays");
        let log_name = Some(name);
        self.spawn_logged_named(SWITCH, &dir, cmd, log_name)
    }

    fn spawn_logged(&self, host: &str, dir: &Path, cmd: Command) -> Result<Proc> {
        self.spawn_logged_named(host, dir, cmd, None)
    }

    fn spawn_logged_named(
        &self,
        host: &str,
        dir: &Path,
        mut cmd: Command,
        name: Option<&str>,
    ) -> Result<Proc> {
        fs::create_dir_all(dir)
            .map_err(|e| LabError::io(format!("creating {}", dir.display()), e))?;
        let prog = Path::new(cmd.get_program())
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "proc".into());
        let label: String = name
            .unwrap_or(&prog)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        // A new file for each process, also when several processes (tests, commands)
        // start processes on the same lab at once.
        let (log, file) = loop {
            let seq = self.seq.fetch_add(1, Ordering::SeqCst);
            let log = dir.join(format!("{seq:03}-{label}.log"));
            match OpenOptions::new().create_new(true).append(true).open(&log) {
                Ok(f) => break (log, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(LabError::io(format!("creating {}", log.display()), e)),
            }
        };
        let err = file
            .try_clone()
            .map_err(|e| LabError::io(format!("duplicating {}", log.display()), e))?;
        cmd.stdin(Stdio::null()).stdout(file).stderr(err);
        let child = sys::spawn(&mut cmd)?;
        let pid = child.id();
        tracing::debug!(lab = %self.paths.prefix, host, pid, command = %sys::describe(&cmd), "started");
        self.children_lock().insert(
            pid,
            Tracked {
                child: Some(child),
                status: None,
                log: log.clone(),
            },
        );
        Ok(Proc {
            pid,
            host: host.to_owned(),
            log,
        })
    }

    fn children_lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<u32, Tracked>> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record a background process started through the `halo-lab` command, so that
    /// `status` can list it. The process stays running when this object is dropped.
    pub fn record_detached(&self, proc: &Proc, command: &str) -> Result<()> {
        let mut children = self.children_lock();
        if let Some(t) = children.get_mut(&proc.pid) {
            // Forget the handle without killing or waiting: the process outlives us.
            t.child.take();
        }
        drop(children);
        let record = ProcRecord {
            pid: proc.pid,
            start_time: sys::start_time(proc.pid).unwrap_or(0),
            host: proc.host.clone(),
            command: command.to_owned(),
            log: proc.log.clone(),
        };
        self.paths.update(|st| {
            st.procs
                .retain(|p| sys::same_process_alive(p.pid, p.start_time));
            st.procs.push(record);
            Ok(())
        })
    }

    /// Send `signal` to a process this lab started (and has not reaped).
    pub fn signal(&self, proc: &Proc, signal: Signal) -> Result<()> {
        let mut children = self.children_lock();
        let t = children
            .get_mut(&proc.pid)
            .ok_or(LabError::NotOurs(proc.pid))?;
        if t.status.is_some() {
            return Ok(()); // already exited: nothing to signal
        }
        let Some(child) = t.child.as_mut() else {
            return Err(LabError::NotOurs(proc.pid));
        };
        if let Some(status) = child
            .try_wait()
            .map_err(|e| LabError::io(format!("checking pid {}", proc.pid), e))?
        {
            t.status = Some(status);
            return Ok(());
        }
        // Not reaped, so the PID still names our child.
        let pid = nix::unistd::Pid::from_raw(
            i32::try_from(proc.pid).map_err(|_| LabError::NotOurs(proc.pid))?,
        );
        nix::sys::signal::kill(pid, signal)
            .map_err(|e| LabError::io(format!("signalling pid {}", proc.pid), e.into()))
    }

    /// Its exit status if it has exited (reaping it), else `None`.
    pub fn try_wait(&self, proc: &Proc) -> Result<Option<ExitStatus>> {
        let mut children = self.children_lock();
        let t = children
            .get_mut(&proc.pid)
            .ok_or(LabError::NotOurs(proc.pid))?;
        if let Some(s) = t.status {
            return Ok(Some(s));
        }
        let Some(child) = t.child.as_mut() else {
            return Err(LabError::NotOurs(proc.pid));
        };
        let status = child
            .try_wait()
            .map_err(|e| LabError::io(format!("checking pid {}", proc.pid), e))?;
        t.status = status;
        Ok(status)
    }

    /// Is it still running?
    pub fn is_running(&self, proc: &Proc) -> Result<bool> {
        Ok(self.try_wait(proc)?.is_none())
    }

    /// Wait up to `limit` for it to exit.
    pub fn wait(&self, proc: &Proc, limit: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.try_wait(proc)? {
                return Ok(s);
            }
            if Instant::now() >= deadline {
                return Err(LabError::Timeout {
                    what: format!("pid {} on {} to exit", proc.pid, proc.host),
                    seconds: limit.as_secs_f64(),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// SIGTERM, then wait up to `grace` for it to exit; SIGKILL if it has not. Returns its
    /// exit status (a signal status if it had to be killed).
    pub fn stop(&self, proc: &Proc, grace: Duration) -> Result<ExitStatus> {
        self.signal(proc, Signal::SIGTERM)?;
        match self.wait(proc, grace) {
            Err(LabError::Timeout { .. }) => self.kill(proc),
            other => other,
        }
    }

    /// SIGKILL and reap it.
    pub fn kill(&self, proc: &Proc) -> Result<ExitStatus> {
        self.signal(proc, Signal::SIGKILL)?;
        // SIGKILL cannot be caught; a process in uninterruptible sleep still dies soon.
        self.wait(proc, Duration::from_secs(60))
    }

    /// Send `signal` to every process on `host` (anything in its namespaces, whoever
    /// started it), as when a node crashes. Returns the PIDs signalled.
    pub fn signal_host(&self, host: &str, signal: Signal) -> Result<Vec<u32>> {
        self.check_host(host)?;
        Ok(sys::signal_pids_in(&self.host_ns_ids(host), signal))
    }

    /// PIDs of every process on `host` (in any of its namespaces).
    pub fn pids_on(&self, host: &str) -> Result<Vec<u32>> {
        self.check_host(host)?;
        let mut v = sys::pids_in(&self.host_ns_ids(host));
        v.sort_unstable();
        Ok(v)
    }

    fn host_ns_ids(&self, host: &str) -> std::collections::HashSet<sys::NsId> {
        [
            self.paths.netns(host),
            self.paths.uts(host),
            self.paths.mnt(host),
        ]
        .iter()
        .filter_map(|p| sys::ns_id(p))
        .collect()
    }

    /// SIGKILL every tracked child that is still running (teardown, first step).
    pub(crate) fn kill_tracked(&self) {
        let mut children = self.children_lock();
        for (pid, t) in children.iter_mut() {
            if t.status.is_some() {
                continue;
            }
            if let Some(child) = t.child.as_mut()
                && let Err(e) = child.kill()
            {
                tracing::debug!(pid, error = %e, "kill at teardown");
            }
        }
    }

    /// Reap every tracked child (teardown, last step), so none is left a zombie.
    pub(crate) fn reap_tracked(&self) {
        let mut children = self.children_lock();
        for t in children.values_mut() {
            if let Some(mut child) = t.child.take()
                && t.status.is_none()
            {
                t.status = child.wait().ok();
            }
        }
    }

    /// Print the tail of every tracked process's log to stderr (when a test panics, so
    /// that its output shows what the hosts said before the lab goes away).
    pub(crate) fn dump_logs(&self) {
        let children = self.children_lock();
        for (pid, t) in children.iter() {
            let text = File::open(&t.log)
                .ok()
                .and_then(|_| fs::read(&t.log).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            if tail.is_empty() {
                continue;
            }
            eprintln!(
                "--- halo-lab {}: pid {pid} log {} (last {} lines)",
                self.paths.prefix,
                t.log.display(),
                tail.len()
            );
            for l in tail {
                eprintln!("{l}");
            }
        }
    }
}
