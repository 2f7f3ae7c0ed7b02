//! Names, paths and the state file that lets later invocations (and `cleanup`) find a lab.
//!
//! ```text
//! /run/halo-lab/PREFIX/            the lab directory (created first, removed last)
//!   lab.json                       LabState: spec, owner, faults, detached processes
//!   lock                           flock(2) taken around every state change
//!   ns/                            private bind mount holding the namespace files
//!     HOST.uts  HOST.mnt           UTS and mount namespaces of each host
//!   hosts/HOST/root/run …          the host's private directories, by in-host path
//!   hosts/HOST/logs/NNN-PROG.log   stdout+stderr of processes started on the host
//! /run/netns/PREFIX-NODE           network namespaces (hosts, ping hosts)
//! /run/netns/PREFIX-switch         the switch: bridges, switch ports, nft tables, relays
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{LabError, Result};
use crate::faults::Faults;
use crate::spec::{LabSpec, SWITCH};
use crate::sys;

/// Where labs live. On this machine `/run` is not cleared by a reboot, but the lab's
/// namespaces are; `halo-lab cleanup` removes what a crash or reboot left.
pub const BASE_DIR: &str = "/run/halo-lab";
/// Where `ip netns` keeps named network namespaces.
pub const NETNS_DIR: &str = "/run/netns";
/// The state file's format version.
pub const STATE_FORMAT: u32 = 1;

/// Is `s` a lab prefix: `hl` followed by six lowercase hexadecimal digits? Everything the
/// lab creates outside its own namespaces carries such a prefix, and cleanup touches
/// nothing else.
pub fn is_lab_prefix(s: &str) -> bool {
    s.len() == 8
        && s.starts_with("hl")
        && s[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The lab prefix of a network namespace name like `hl01ab23-node1`, if it has one.
pub fn prefix_of_netns(name: &str) -> Option<&str> {
    let (prefix, rest) = name.split_once('-')?;
    (is_lab_prefix(prefix) && !rest.is_empty()).then_some(prefix)
}

/// A fresh random prefix.
pub fn random_prefix() -> Result<String> {
    let mut b = [0u8; 3];
    getrandom::fill(&mut b).map_err(|e| LabError::Invalid(format!("no randomness: {e}")))?;
    Ok(format!("hl{:02x}{:02x}{:02x}", b[0], b[1], b[2]))
}

/// The process that owns a lab: while it lives, `cleanup` leaves the lab alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// Its PID.
    pub pid: u32,
    /// Its start time, so a reused PID is not mistaken for it.
    pub start_time: u64,
}

impl Owner {
    /// This process.
    pub fn me() -> Option<Owner> {
        Owner::of(std::process::id())
    }

    /// Process `pid` as it is now.
    pub fn of(pid: u32) -> Option<Owner> {
        sys::start_time(pid).map(|start_time| Owner { pid, start_time })
    }

    /// Is the owner still running?
    pub fn alive(&self) -> bool {
        sys::same_process_alive(self.pid, self.start_time)
    }
}

/// A process started in the background through the `halo-lab` command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcRecord {
    /// Its PID.
    pub pid: u32,
    /// Its start time.
    pub start_time: u64,
    /// The host it runs on.
    pub host: String,
    /// The command line.
    pub command: String,
    /// Its log file.
    pub log: PathBuf,
}

/// Everything a later invocation needs to find and drive a lab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabState {
    /// Format version ([`STATE_FORMAT`]).
    pub format: u32,
    /// The lab's prefix.
    pub prefix: String,
    /// The lab directory.
    pub dir: PathBuf,
    /// What the lab is made of (private directories resolved on this machine).
    pub spec: LabSpec,
    /// The owning process; `None` for labs made by `halo-lab up` (they stay until `down`).
    pub owner: Option<Owner>,
    /// Current faults.
    pub faults: Faults,
    /// Processes started in the background by the `halo-lab` command.
    pub procs: Vec<ProcRecord>,
}

/// Paths of one lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// The lab prefix.
    pub prefix: String,
    /// The lab directory.
    pub dir: PathBuf,
}

impl Paths {
    /// Paths of the lab `prefix` under [`BASE_DIR`].
    pub fn new(prefix: &str) -> Paths {
        Paths {
            prefix: prefix.to_owned(),
            dir: Path::new(BASE_DIR).join(prefix),
        }
    }

    /// The state file.
    pub fn state(&self) -> PathBuf {
        self.dir.join("lab.json")
    }

    /// The lock file.
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// The directory of namespace files (a private bind mount).
    pub fn ns_dir(&self) -> PathBuf {
        self.dir.join("ns")
    }

    /// UTS namespace file of `host`.
    pub fn uts(&self, host: &str) -> PathBuf {
        self.ns_dir().join(format!("{host}.uts"))
    }

    /// Mount namespace file of `host`.
    pub fn mnt(&self, host: &str) -> PathBuf {
        self.ns_dir().join(format!("{host}.mnt"))
    }

    /// Name of the network namespace of `node` (or [`SWITCH`]).
    pub fn netns_name(&self, node: &str) -> String {
        format!("{}-{node}", self.prefix)
    }

    /// Network namespace file of `node` (or [`SWITCH`]).
    pub fn netns(&self, node: &str) -> PathBuf {
        Path::new(NETNS_DIR).join(self.netns_name(node))
    }

    /// The switch's network namespace file.
    pub fn switch(&self) -> PathBuf {
        self.netns(SWITCH)
    }

    /// Directory of `host`.
    pub fn host_dir(&self, host: &str) -> PathBuf {
        self.dir.join("hosts").join(host)
    }

    /// Outside directory whose tree mirrors `host`'s private directories.
    pub fn root(&self, host: &str) -> PathBuf {
        self.host_dir(host).join("root")
    }

    /// Where logs of processes on `host` go.
    pub fn logs(&self, host: &str) -> PathBuf {
        self.host_dir(host).join("logs")
    }

    /// Outside path of in-host path `inside` under `root(host)` (no check that it is in a
    /// private directory).
    pub fn mirror(&self, host: &str, inside: &Path) -> PathBuf {
        let rel = inside.strip_prefix("/").unwrap_or(inside);
        self.root(host).join(rel)
    }

    /// Read the state file.
    pub fn load(&self) -> Result<LabState> {
        let path = self.state();
        let text = fs::read_to_string(&path).map_err(|e| LabError::State {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        let state: LabState = serde_json::from_str(&text).map_err(|e| LabError::State {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        if state.format != STATE_FORMAT || state.prefix != self.prefix {
            return Err(LabError::State {
                path,
                msg: format!(
                    "format {} for lab {:?}; expected format {STATE_FORMAT} for {:?}",
                    state.format, state.prefix, self.prefix
                ),
            });
        }
        Ok(state)
    }

    /// Write the state file atomically (write, rename). No fsync: the state describes
    /// namespaces that do not survive a reboot anyway, and faults must change fast.
    pub fn save(&self, state: &LabState) -> Result<()> {
        let path = self.state();
        let tmp = self.dir.join("lab.json.tmp");
        let text = serde_json::to_string_pretty(state).map_err(|e| LabError::State {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| LabError::io(format!("writing {}", path.display()), e))
    }

    /// Load the state under the lab's lock, let `f` change it, save it, and return what
    /// `f` returned. Serialises changes from several processes (tests and the command).
    pub fn update<T>(&self, f: impl FnOnce(&mut LabState) -> Result<T>) -> Result<T> {
        let lock_path = self.lock();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| LabError::io(format!("opening {}", lock_path.display()), e))?;
        let _lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| LabError::io(format!("locking {}", lock_path.display()), e.into()))?;
        let mut state = self.load()?;
        let out = f(&mut state)?;
        self.save(&state)?;
        Ok(out)
    }
}

/// Prefixes of all lab directories under [`BASE_DIR`].
pub fn lab_dirs() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(BASE_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| is_lab_prefix(n))
        .collect();
    v.sort();
    v
}

/// Names of the network namespaces under [`NETNS_DIR`] that carry a lab prefix.
pub fn lab_netns() -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(NETNS_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| prefix_of_netns(n).is_some())
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_the_convention() {
        let p = random_prefix().unwrap();
        assert!(is_lab_prefix(&p), "{p}");
        assert!(!is_lab_prefix("hl01AB23"));
        assert!(!is_lab_prefix("hx01ab23"));
        assert!(!is_lab_prefix("hl01ab2"));
        assert_eq!(prefix_of_netns("hl01ab23-node1"), Some("hl01ab23"));
        assert_eq!(prefix_of_netns("hl01ab23-"), None);
        assert_eq!(prefix_of_netns("hl-notalab-x"), None);
        assert_eq!(prefix_of_netns("node1"), None);
    }

    #[test]
    fn paths_mirror_in_host_paths() {
        let p = Paths::new("hl01ab23");
        assert_eq!(
            p.mirror("node1", Path::new("/etc/ha.d/ha.cf")),
            Path::new("/run/halo-lab/hl01ab23/hosts/node1/root/etc/ha.d/ha.cf")
        );
        assert_eq!(p.switch(), Path::new("/run/netns/hl01ab23-switch"));
        assert_eq!(
            p.mnt("node2"),
            Path::new("/run/halo-lab/hl01ab23/ns/node2.mnt")
        );
    }
}
