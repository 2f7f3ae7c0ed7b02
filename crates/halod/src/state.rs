//! The state directory (`--state-dir`) and the run directory (`--run-dir`).
//!
//! - `STATE/generation`: this node's generation, incremented on every start and written
//!   durably (write, fsync, rename, fsync the directory) *before* the first packet goes
//!   out, so that peers can always tell a restart from a replay. When the file is missing
//!   (a new node, or a wiped disk) the generation starts from the wall clock in seconds,
//!   as heartbeat did, so it still grows past whatever peers remember.
//! - `RUN/halod.pid`: the daemon's pid, held with an exclusive lock for the daemon's
//!   life: a second daemon with the same run directory refuses to start.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use halo_types::Generation;
use nix::fcntl::{Flock, FlockArg};

/// Writes `data` to `path` atomically and durably: a crash leaves either the old or the
/// new content, never a torn file.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(f);
    fs::rename(&tmp, path).with_context(|| format!("cannot rename into {}", path.display()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))?;
    Ok(())
}

/// Reads, increments and durably stores the generation in `state_dir`.
pub fn next_generation(state_dir: &Path) -> Result<Generation> {
    fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create state directory {}", state_dir.display()))?;
    let path = state_dir.join("generation");
    let stored = match fs::read_to_string(&path) {
        Ok(text) => Some(text.trim().parse::<u64>().with_context(|| {
            format!(
                "{}: not a generation number: {:?} (remove the file to start afresh)",
                path.display(),
                text.trim()
            )
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let next = match stored {
        Some(g) => g.checked_add(1).context("generation counter overflow")?,
        None => clock.max(1),
    };
    write_atomic(&path, format!("{next}\n").as_bytes(), 0o644)?;
    Ok(Generation(next))
}

/// The locked pid file; the lock is released when this is dropped (or the process dies).
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    _lock: Flock<File>,
}

impl PidFile {
    /// Creates `run_dir/halod.pid`, locks it and writes our pid; fails if another live
    /// daemon holds it.
    pub fn acquire(run_dir: &Path) -> Result<PidFile> {
        fs::create_dir_all(run_dir)
            .with_context(|| format!("cannot create run directory {}", run_dir.display()))?;
        let path = run_dir.join("halod.pid");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                let other = fs::read_to_string(&path).unwrap_or_default();
                bail!(
                    "another halod (pid {}) is running with run directory {}",
                    other.trim(),
                    run_dir.display()
                );
            }
            Err((_, e)) => return Err(e).context(format!("cannot lock {}", path.display())),
        };
        lock.set_len(0)
            .and_then(|()| lock.write_all(format!("{}\n", std::process::id()).as_bytes()))
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(PidFile { path, _lock: lock })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_starts_from_the_clock_and_then_increments() {
        let dir = tempfile::tempdir().unwrap();
        let g1 = next_generation(dir.path()).unwrap();
        assert!(g1.0 > 1_600_000_000, "seeded from the clock: {g1}");
        let g2 = next_generation(dir.path()).unwrap();
        assert_eq!(g2.0, g1.0 + 1);
        let text = fs::read_to_string(dir.path().join("generation")).unwrap();
        assert_eq!(text.trim().parse::<u64>().unwrap(), g2.0);
    }

    #[test]
    fn a_corrupt_generation_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("generation"), "garbage").unwrap();
        let err = format!("{:#}", next_generation(dir.path()).unwrap_err());
        assert!(err.contains("not a generation number"), "{err}");
    }

    #[test]
    fn a_second_daemon_cannot_take_the_pid_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = PidFile::acquire(dir.path()).unwrap();
        let err = format!("{:#}", PidFile::acquire(dir.path()).unwrap_err());
        assert!(err.contains("another halod"), "{err}");
        drop(first);
        assert!(!dir.path().join("halod.pid").exists());
        PidFile::acquire(dir.path()).unwrap();
    }
}
