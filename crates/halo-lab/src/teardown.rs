//! Removing labs: one lab by prefix (teardown), and the leftovers of crashed runs
//! (cleanup). Both work from what exists on the machine, not from the state file, so
//! they also finish a lab whose creation or teardown was interrupted.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{LabError, Result};
use crate::state::{self, Paths};
use crate::sys;

/// How long teardown keeps killing processes that keep appearing in a lab's namespaces.
const KILL_LIMIT: Duration = Duration::from_secs(10);

/// Everything of lab `prefix` that exists on this machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Network namespace names (`/run/netns/PREFIX-*`).
    pub netns: Vec<String>,
    /// Mount points under the lab directory (namespace files, the `ns` directory).
    pub mounts: Vec<PathBuf>,
    /// Processes in the lab's namespaces.
    pub pids: Vec<u32>,
    /// The lab directory, if it exists.
    pub dir: Option<PathBuf>,
}

impl Leftovers {
    /// Nothing left.
    pub fn is_empty(&self) -> bool {
        *self == Leftovers::default()
    }
}

/// Namespace identities of lab `prefix`: its named network namespaces and the UTS and
/// mount namespace files in its `ns` directory.
fn ns_ids(paths: &Paths, netns: &[String]) -> HashSet<sys::NsId> {
    let mut ids: HashSet<sys::NsId> = netns
        .iter()
        .filter_map(|n| sys::ns_id(&Path::new(state::NETNS_DIR).join(n)))
        .collect();
    // Only files that are namespace bind mounts count; an empty placeholder file has
    // the identity of an ordinary file, which no process has as a namespace.
    for entry in fs::read_dir(paths.ns_dir()).into_iter().flatten().flatten() {
        if let Some(id) = sys::ns_id(&entry.path()) {
            ids.insert(id);
        }
    }
    ids
}

/// Find what exists of lab `prefix`.
pub fn survey(prefix: &str) -> Result<Leftovers> {
    let paths = Paths::new(prefix);
    let netns: Vec<String> = state::lab_netns()
        .into_iter()
        .filter(|n| state::prefix_of_netns(n) == Some(prefix))
        .collect();
    let mut mounts: Vec<PathBuf> = sys::mounts()?
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|m| m.starts_with(&paths.dir))
        .collect();
    mounts.dedup();
    let mut pids = sys::pids_in(&ns_ids(&paths, &netns));
    pids.sort_unstable();
    let dir = paths.dir.exists().then(|| paths.dir.clone());
    Ok(Leftovers {
        netns,
        mounts,
        pids,
        dir,
    })
}

/// Remove everything of lab `prefix`: kill every process in its namespaces, delete its
/// links and network namespaces, unmount its namespace files, remove its directory.
/// Touches only objects named with `prefix`.
pub fn teardown_prefix(prefix: &str) -> Result<()> {
    if !state::is_lab_prefix(prefix) {
        return Err(LabError::Invalid(format!("{prefix:?} is not a lab prefix")));
    }
    let paths = Paths::new(prefix);
    let mut left = Vec::new();
    let netns: Vec<String> = state::lab_netns()
        .into_iter()
        .filter(|n| state::prefix_of_netns(n) == Some(prefix))
        .collect();

    // 1. Processes: anything in the lab's namespaces (hosts' processes, relays).
    let (killed, remaining) = sys::kill_all_in(&ns_ids(&paths, &netns), KILL_LIMIT);
    if killed > 0 {
        tracing::debug!(lab = prefix, killed, "killed processes");
    }
    if !remaining.is_empty() {
        left.push(format!("processes {remaining:?} would not die"));
    }

    // 2. Links: delete the switch's bridges and ports (each veth takes its peer in the
    // node with it), so nothing survives even if something still pins a namespace.
    let switch = paths.netns_name(crate::spec::SWITCH);
    if netns.contains(&switch)
        && let Err(e) = delete_links(&switch)
    {
        left.push(format!("links in {switch}: {e}"));
    }

    // 3. Network namespaces (their nft tables and remaining links go with them).
    for n in &netns {
        if let Err(e) = sys::run(Command::new("ip").args(["netns", "delete", n]), None) {
            left.push(format!("network namespace {n}: {e}"));
        }
    }

    // 4. Mounts under the lab directory, innermost first: namespace files, then `ns`.
    match sys::mounts() {
        Ok(mounts) => {
            let mut ours: Vec<PathBuf> = mounts
                .into_iter()
                .map(|m| m.mount_point)
                .filter(|m| m.starts_with(&paths.dir))
                .collect();
            ours.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
            ours.dedup();
            for m in ours {
                if let Err(e) = sys::umount_lazy(&m) {
                    left.push(e.to_string());
                }
            }
        }
        Err(e) => left.push(e.to_string()),
    }

    // 5. The lab directory (its name is checked above: BASE_DIR/hlXXXXXX).
    if paths.dir.exists()
        && let Err(e) = fs::remove_dir_all(&paths.dir)
    {
        left.push(format!("{}: {e}", paths.dir.display()));
    }

    if left.is_empty() {
        tracing::info!(lab = prefix, "lab down");
        Ok(())
    } else {
        Err(LabError::Teardown {
            lab: prefix.to_owned(),
            left,
        })
    }
}

/// A lab directory younger than a minute without a state file is a lab being built.
fn recently_created(dir: &Path) -> bool {
    fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs(60))
}

fn delete_links(netns: &str) -> Result<()> {
    let out = sys::run(
        Command::new("ip").args(["-n", netns, "-o", "link", "show"]),
        None,
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut batch = String::new();
    for line in text.lines() {
        // "3: node1-e0@if2: <…> …": the name is the second field, before any '@'.
        let Some(name) = line.split(": ").nth(1) else {
            continue;
        };
        let name = name.split('@').next().unwrap_or(name);
        if name != "lo" {
            batch.push_str(&format!("link delete {name}\n"));
        }
    }
    if batch.is_empty() {
        return Ok(());
    }
    sys::run(
        Command::new("ip").args(["-n", netns, "-force", "-batch", "-"]),
        Some(&batch),
    )
    .map(drop)
}

/// What `cleanup` decided about one lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanupItem {
    /// The lab prefix.
    pub prefix: String,
    /// Why it is (or is not) removed.
    pub reason: String,
    /// Removed (or, in a dry run, would be).
    pub remove: bool,
    /// What existed of it.
    pub leftovers: Leftovers,
}

/// Find labs to clean up: those whose owner process is gone (crashed test runs), whose
/// state file is missing or unreadable, or whose namespaces have no lab directory at
/// all. Labs with a live owner, and labs made by `halo-lab up` (no owner), are kept
/// unless `all`. With `dry_run`, nothing is removed.
pub fn cleanup(all: bool, dry_run: bool) -> Result<Vec<CleanupItem>> {
    let mut prefixes: Vec<String> = state::lab_dirs();
    for n in state::lab_netns() {
        if let Some(p) = state::prefix_of_netns(&n) {
            prefixes.push(p.to_owned());
        }
    }
    for m in sys::mounts()? {
        let first = m
            .mount_point
            .strip_prefix(state::BASE_DIR)
            .ok()
            .and_then(|rest| rest.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        if let Some(name) = first.filter(|n| state::is_lab_prefix(n)) {
            prefixes.push(name);
        }
    }
    prefixes.sort();
    prefixes.dedup();

    let mut items = Vec::new();
    for prefix in prefixes {
        let paths = Paths::new(&prefix);
        let (remove, reason) = if all {
            (true, "--all".to_owned())
        } else if !paths.dir.exists() {
            (true, "no lab directory (interrupted teardown)".to_owned())
        } else {
            match paths.load() {
                Err(_) if recently_created(&paths.dir) => {
                    (false, "being created (no state yet)".to_owned())
                }
                Err(e) => (true, format!("unreadable state ({e})")),
                Ok(st) => match st.owner {
                    Some(o) if o.alive() => (false, format!("owner pid {} is running", o.pid)),
                    Some(o) => (true, format!("owner pid {} is gone", o.pid)),
                    None => (
                        false,
                        "made by `halo-lab up`; `halo-lab down` removes it".to_owned(),
                    ),
                },
            }
        };
        let leftovers = survey(&prefix)?;
        items.push(CleanupItem {
            prefix,
            reason,
            remove,
            leftovers,
        });
    }
    if !dry_run {
        for item in items.iter().filter(|i| i.remove) {
            teardown_prefix(&item.prefix)?;
        }
    }
    Ok(items)
}
