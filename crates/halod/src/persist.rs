//! Durable writes off the event loop.
//!
//! The core loop must never wait on a disk, yet some state must survive a restart (the
//! last installed membership seq). A [`Persister`] hands each write to one background
//! thread, which performs them in order with `state::write_atomic` (write, fsync,
//! rename, fsync the directory). Writes of the same file that queue up behind a slow
//! disk are coalesced: only the newest content is written. The in-memory state stays
//! authoritative; the file only has to catch up before the next start.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use anyhow::{Context, Result};

#[derive(Debug, Default)]
struct Queue {
    pending: VecDeque<(PathBuf, Vec<u8>)>,
    closed: bool,
}

/// A sequential background writer.
#[derive(Debug, Clone)]
pub struct Persister {
    shared: Arc<(Mutex<Queue>, Condvar)>,
}

impl Persister {
    /// Starts the writer thread.
    pub fn start() -> Result<Persister> {
        let shared = Arc::new((Mutex::new(Queue::default()), Condvar::new()));
        let worker = shared.clone();
        std::thread::Builder::new()
            .name("halod-persist".into())
            .stack_size(128 * 1024)
            .spawn(move || run(&worker))
            .context("cannot start the state writer thread")?;
        Ok(Persister { shared })
    }

    /// Queues `data` to be written to `path` (replacing a queued write of the same path).
    /// Never blocks on the disk.
    pub fn write(&self, path: PathBuf, data: Vec<u8>) {
        let (lock, cv) = &*self.shared;
        let mut q = lock.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = q.pending.iter_mut().find(|(p, _)| *p == path) {
            slot.1 = data;
        } else {
            q.pending.push_back((path, data));
        }
        cv.notify_one();
    }

    /// Stops the thread after the queued writes are done, and waits for it (shutdown).
    pub fn finish(&self) {
        let (lock, cv) = &*self.shared;
        let mut q = lock.lock().unwrap_or_else(PoisonError::into_inner);
        q.closed = true;
        cv.notify_all();
        while !q.pending.is_empty() {
            q = cv.wait(q).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

fn run(shared: &(Mutex<Queue>, Condvar)) {
    let (lock, cv) = shared;
    loop {
        let next = {
            let mut q = lock.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(item) = q.pending.front().cloned() {
                    break Some(item);
                }
                if q.closed {
                    break None;
                }
                q = cv.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let Some((path, data)) = next else { return };
        if let Err(e) = crate::state::write_atomic(&path, &data, 0o644) {
            tracing::error!("cannot save {}: {e:#}", path.display());
        }
        let mut q = lock.lock().unwrap_or_else(PoisonError::into_inner);
        // Remove what was written, unless a newer version of it replaced it meanwhile.
        if q.pending
            .front()
            .is_some_and(|(p, d)| *p == path && *d == data)
        {
            q.pending.pop_front();
        }
        cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_land_in_order_and_the_newest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let p = Persister::start().unwrap();
        let f = dir.path().join("membership");
        for i in 0..100 {
            p.write(f.clone(), format!("{i}\n").into_bytes());
        }
        p.write(dir.path().join("other"), b"x".to_vec());
        p.finish();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "99\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("other")).unwrap(),
            "x"
        );
    }
}
