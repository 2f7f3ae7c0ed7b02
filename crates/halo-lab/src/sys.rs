//! The lab's contact with the system: running tools, entering namespaces, finding and
//! signalling processes by namespace, reading the mount table.

use std::collections::HashSet;
use std::ffi::{CString, OsStr};
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;

use crate::error::{LabError, Result};

/// Fail unless we are root.
pub fn require_root() -> Result<()> {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        Ok(())
    } else {
        Err(LabError::NotRoot(uid.as_raw()))
    }
}

/// A command line for error messages, shortened to stay readable.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    if s.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Run `cmd` to completion with `stdin` as its input; fail with its stderr unless it
/// exits 0.
pub fn run(cmd: &mut Command, stdin: Option<&str>) -> Result<Output> {
    let out = run_unchecked(cmd, stdin)?;
    if out.status.success() {
        Ok(out)
    } else {
        let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if stderr.is_empty() {
            stderr = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        }
        Err(LabError::Command {
            command: describe(cmd),
            status: out.status.to_string(),
            stderr,
        })
    }
}

/// Run `cmd` to completion and return whatever it did.
pub fn run_unchecked(cmd: &mut Command, stdin: Option<&str>) -> Result<Output> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = spawn(cmd)?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .map_err(|e| LabError::io(format!("writing to `{}`", describe(cmd)), e))?;
    }
    child
        .wait_with_output()
        .map_err(|e| LabError::io(format!("waiting for `{}`", describe(cmd)), e))
}

/// Spawn `cmd`, turning "not found" into a [`LabError::MissingTool`].
pub fn spawn(cmd: &mut Command) -> Result<std::process::Child> {
    cmd.spawn().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            LabError::MissingTool {
                tool: cmd.get_program().to_string_lossy().into_owned(),
            }
        } else {
            LabError::io(format!("starting `{}`", describe(cmd)), e)
        }
    })
}

/// Which namespaces a process should join before `exec`.
#[derive(Debug, Default)]
pub struct Enter {
    /// Network namespace file.
    pub net: Option<PathBuf>,
    /// UTS namespace file.
    pub uts: Option<PathBuf>,
    /// Mount namespace file.
    pub mnt: Option<PathBuf>,
    /// Start a new session (detach from the caller's terminal and process group).
    pub setsid: bool,
}

/// Make `cmd` join the namespaces of `enter` between fork and exec. The working directory
/// set on `cmd` (if any) is interpreted inside the mount namespace; without one it is `/`.
pub fn enter_namespaces(cmd: &mut Command, enter: &Enter) -> Result<()> {
    let open = |p: &Option<PathBuf>, flag: CloneFlags| -> Result<Option<(OwnedFd, CloneFlags)>> {
        p.as_ref()
            .map(|p| {
                File::open(p)
                    .map(|f| (OwnedFd::from(f), flag))
                    .map_err(|e| LabError::io(format!("opening namespace {}", p.display()), e))
            })
            .transpose()
    };
    // Mount last: it resets the root and working directory.
    let fds: Vec<(OwnedFd, CloneFlags)> = [
        open(&enter.net, CloneFlags::CLONE_NEWNET)?,
        open(&enter.uts, CloneFlags::CLONE_NEWUTS)?,
        open(&enter.mnt, CloneFlags::CLONE_NEWNS)?,
    ]
    .into_iter()
    .flatten()
    .collect();
    let cwd = cmd
        .get_current_dir()
        .map(|d| d.as_os_str().as_bytes().to_vec())
        .unwrap_or_else(|| b"/".to_vec());
    let cwd = CString::new(cwd)
        .map_err(|_| LabError::Invalid("working directory contains NUL".into()))?;
    let setsid = enter.setsid;
    let chdir = enter.mnt.is_some();
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe operations are allowed. It makes only system calls (setns(2),
    // setsid(2), chdir(2)) on file descriptors and a C string that were prepared before
    // the fork; it neither allocates nor takes locks (io::Error::from_raw_os_error does
    // not allocate).
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || {
            for (fd, flag) in &fds {
                nix::sched::setns(fd.as_fd(), *flag)
                    .map_err(|e| io::Error::from_raw_os_error(e as i32))?;
            }
            if setsid {
                nix::unistd::setsid().map_err(|e| io::Error::from_raw_os_error(e as i32))?;
            }
            if chdir {
                nix::unistd::chdir(cwd.as_c_str())
                    .map_err(|e| io::Error::from_raw_os_error(e as i32))?;
            }
            Ok(())
        });
    }
    Ok(())
}

/// Run `f` on a short-lived thread that has joined the network namespace at `netns`.
/// Sockets created there stay in that namespace after the thread ends.
pub fn in_netns<T: Send>(netns: &Path, f: impl FnOnce() -> T + Send) -> Result<T> {
    let ns = File::open(netns)
        .map_err(|e| LabError::io(format!("opening namespace {}", netns.display()), e))?;
    std::thread::scope(|s| {
        s.spawn(move || {
            nix::sched::setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| {
                LabError::io(
                    format!("joining network namespace {}", netns.display()),
                    io::Error::from(e),
                )
            })?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Write a sysctl (`net/ipv6/conf/all/disable_ipv6` style key) inside a network
/// namespace. Missing keys are ignored when `optional`.
pub fn sysctl_in_netns(netns: &Path, key: &str, value: &str, optional: bool) -> Result<()> {
    let path = Path::new("/proc/sys").join(key);
    in_netns(netns, || match fs::write(&path, value) {
        Err(e) if optional && e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    })?
    .map_err(|e| LabError::io(format!("sysctl {key}={value} in {}", netns.display()), e))
}

/// Identity of a namespace (device and inode of its nsfs file).
pub type NsId = (u64, u64);

/// Namespace identity of a namespace file or `/proc/PID/ns/*` link.
pub fn ns_id(path: &Path) -> Option<NsId> {
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The namespaces of this process (the machine's own, normally). They are never
/// treated as a lab's, whatever a lab's files say: a lab must not reach outside itself.
fn own_ns_ids() -> HashSet<NsId> {
    ["net", "uts", "mnt"]
        .iter()
        .filter_map(|k| ns_id(&Path::new("/proc/self/ns").join(k)))
        .collect()
}

/// `ids` without this process's own namespaces (logged: it means a lab file names the
/// machine's namespace, which the lab never creates).
fn foreign(ids: &HashSet<NsId>) -> HashSet<NsId> {
    let own = own_ns_ids();
    if !ids.is_disjoint(&own) {
        tracing::error!("a lab namespace file refers to this process's own namespace; ignoring it");
    }
    ids.difference(&own).copied().collect()
}

/// PIDs of every process that is in one of the namespaces `ids` (any of net, uts, mnt).
/// Namespaces this process is in are ignored (see [`own_ns_ids`]).
pub fn pids_in(ids: &HashSet<NsId>) -> Vec<u32> {
    let mut pids = Vec::new();
    let ids = foreign(ids);
    if ids.is_empty() {
        return pids;
    }
    let Ok(dir) = fs::read_dir("/proc") else {
        return pids;
    };
    let me = std::process::id();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let ns = entry.path().join("ns");
        if ["net", "uts", "mnt"]
            .iter()
            .any(|k| ns_id(&ns.join(k)).is_some_and(|id| ids.contains(&id)))
        {
            pids.push(pid);
        }
    }
    pids
}

/// Start time of a process (clock ticks after boot, `/proc/PID/stat` field 22); with the
/// PID it identifies a process across PID reuse.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses; fields after the
    // last ')' are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Is process `pid` alive (not a zombie) and the one that started at `start`?
pub fn same_process_alive(pid: u32, start: u64) -> bool {
    start_time(pid) == Some(start) && !is_zombie(pid)
}

/// A pidfd for `pid`: a handle that keeps naming this process even if the PID is reused.
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new file descriptor or
    // -1; it touches no memory of ours.
    #[allow(unsafe_code)]
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    #[allow(unsafe_code)]
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Send `signal` to the process behind `pidfd`.
pub fn pidfd_signal(pidfd: &OwnedFd, signal: nix::sys::signal::Signal) -> io::Result<()> {
    // SAFETY: pidfd_send_signal(2) with a valid pidfd we own, a signal number, a null
    // siginfo (allowed: the kernel fills in a default) and no flags.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal as libc::c_int,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Signal every process in the namespaces `ids`. A process is signalled only after a
/// pidfd for it was taken and it was confirmed, through that handle's PID, to still be
/// in one of the namespaces, so a reused PID is never hit. Returns the PIDs signalled.
pub fn signal_pids_in(ids: &HashSet<NsId>, signal: nix::sys::signal::Signal) -> Vec<u32> {
    let mut hit = Vec::new();
    let ids = &foreign(ids);
    for pid in pids_in(ids) {
        let Ok(fd) = pidfd_open(pid) else { continue };
        // The pidfd pins the process identity: if the PID had been reused between the
        // scan and pidfd_open, the new process is checked here instead.
        let ns = PathBuf::from(format!("/proc/{pid}/ns"));
        let inside = ["net", "uts", "mnt"]
            .iter()
            .any(|k| ns_id(&ns.join(k)).is_some_and(|id| ids.contains(&id)));
        if inside && pidfd_signal(&fd, signal).is_ok() {
            hit.push(pid);
        }
    }
    hit
}

/// SIGKILL every process in the namespaces `ids` until none is left (processes may fork
/// while we kill), giving up after `limit`. Returns the number of processes killed and
/// the PIDs still there at the end (normally none).
pub fn kill_all_in(ids: &HashSet<NsId>, limit: Duration) -> (usize, Vec<u32>) {
    let deadline = Instant::now() + limit;
    let mut killed = HashSet::new();
    loop {
        let hit = signal_pids_in(ids, nix::sys::signal::Signal::SIGKILL);
        killed.extend(hit.iter().copied());
        // A killed process leaves its namespaces when it exits (even before it is
        // reaped), so "none found" means the namespaces are empty.
        let left: Vec<u32> = pids_in(ids)
            .into_iter()
            .filter(|&p| !is_zombie(p))
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            return (killed.len(), left);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// One line of `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Its file system type (`nsfs` for namespace files).
    pub fstype: String,
}

/// The mount table of this process's mount namespace.
pub fn mounts() -> Result<Vec<Mount>> {
    let text = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| LabError::io("reading /proc/self/mountinfo", e))?;
    Ok(parse_mountinfo(&text))
}

/// Parse mountinfo text (see proc(5)): field 5 is the mount point, the field after the
/// lone `-` is the file system type.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let sep = fields.iter().position(|f| *f == "-")?;
            Some(Mount {
                mount_point: PathBuf::from(unescape_octal(fields.get(4)?)),
                fstype: (*fields.get(sep + 1)?).to_owned(),
            })
        })
        .collect()
}

/// Undo the kernel's `\ooo` escaping of spaces, tabs, newlines and backslashes.
fn unescape_octal(s: &str) -> std::ffi::OsString {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..=i + 3].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    OsStr::from_bytes(&out).to_owned()
}

/// Lazily unmount `path` (it disappears now; busy users keep their view until done).
pub fn umount_lazy(path: &Path) -> Result<()> {
    nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH)
        .map_err(|e| LabError::io(format!("unmounting {}", path.display()), io::Error::from(e)))
}

/// Bind-mount `dir` onto itself and make it private, so that namespace files (including
/// mount namespace files) can be bind-mounted inside it.
pub fn make_private_mount(dir: &Path) -> Result<()> {
    use nix::mount::{MsFlags, mount};
    let err = |what: &str, e: nix::Error| {
        LabError::io(format!("{what} {}", dir.display()), io::Error::from(e))
    };
    mount(Some(dir), dir, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .map_err(|e| err("bind-mounting", e))?;
    mount(
        None::<&str>,
        dir,
        None::<&str>,
        MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| err("making private", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_are_parsed() {
        let text = "\
36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
601 25 0:4 net:[4026532361] /run/netns/hl01ab23-node1 rw shared:300 - nsfs nsfs rw
602 25 0:4 / /a\\040b rw - tmpfs tmpfs rw
";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].mount_point, Path::new("/mnt2"));
        assert_eq!(m[0].fstype, "ext3");
        assert_eq!(m[1].mount_point, Path::new("/run/netns/hl01ab23-node1"));
        assert_eq!(m[1].fstype, "nsfs");
        assert_eq!(m[2].mount_point, Path::new("/a b"));
    }

    #[test]
    fn the_machines_own_namespaces_are_never_a_labs() {
        // Every process on the machine is in these; a lab must find none of them.
        let own = own_ns_ids();
        assert_eq!(own.len(), 3);
        assert!(pids_in(&own).is_empty());
        assert!(signal_pids_in(&own, nix::sys::signal::Signal::SIGCONT).is_empty());
    }

    #[test]
    fn start_time_identifies_this_process() {
        let me = std::process::id();
        let t = start_time(me).expect("own stat");
        assert!(same_process_alive(me, t));
        assert!(!same_process_alive(me, t + 1));
    }
}
