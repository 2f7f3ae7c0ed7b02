//! Things that happen, timestamped on arrival: halod's event streams (`watch`,
//! `listen`) read straight from its API socket, and log files followed as they grow.
//!
//! ```text
//!  halod.sock ──Watch/Listen──▶ reader thread ─┐
//!  ha-log (grows) ──poll 1 ms──▶ reader thread ─┼─▶ Recorder: [(Instant, T)] + condvar
//!                                               │        ▲ wait_for(pred, limit)
//! ```
//!
//! The timestamp is taken when the line is read, so it is as close to the daemon's own
//! decision as a separate process can see it (the daemon writes, the kernel wakes the
//! reader). Benchmarks measure from a fault to these timestamps.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use halo_ipc::{Event, Reply, Request, decode_line, encode_line};

use crate::error::{BenchError, Result};

/// One recorded item and when it arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct Stamped<T> {
    /// Arrival time.
    pub at: Instant,
    /// What arrived.
    pub item: T,
}

#[derive(Debug)]
struct Shared<T> {
    items: Mutex<(Vec<Stamped<T>>, bool)>,
    cond: Condvar,
}

/// Items in arrival order, shared between a reader thread and waiters.
#[derive(Debug)]
pub struct Recorder<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Recorder<T> {
    fn clone(&self) -> Self {
        Recorder {
            shared: self.shared.clone(),
        }
    }
}

impl<T: Clone> Default for Recorder<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone> Recorder<T> {
    /// An empty recorder.
    pub fn new() -> Recorder<T> {
        Recorder {
            shared: Arc::new(Shared {
                items: Mutex::new((Vec::new(), false)),
                cond: Condvar::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Stamped<T>>, bool)> {
        self.shared.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record `item` now.
    pub fn push(&self, item: T) {
        let at = Instant::now();
        self.lock().0.push(Stamped { at, item });
        self.shared.cond.notify_all();
    }

    /// Mark the source as ended (no more items will come).
    pub fn close(&self) {
        self.lock().1 = true;
        self.shared.cond.notify_all();
    }

    /// Whether the source has ended.
    pub fn is_closed(&self) -> bool {
        self.lock().1
    }

    /// Everything recorded so far.
    pub fn items(&self) -> Vec<Stamped<T>> {
        self.lock().0.clone()
    }

    /// How many items so far.
    pub fn len(&self) -> usize {
        self.lock().0.len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first item (from the start) for which `pred` holds, waiting up to `limit`
    /// for it to arrive. `None` when the limit passes or the source ends first.
    pub fn wait_for(
        &self,
        limit: Duration,
        mut pred: impl FnMut(&Stamped<T>) -> bool,
    ) -> Option<Stamped<T>> {
        let end = Instant::now() + limit;
        let mut guard = self.lock();
        let mut checked = 0;
        loop {
            if let Some(s) = guard.0[checked..].iter().find(|s| pred(s)) {
                return Some(s.clone());
            }
            checked = guard.0.len();
            let now = Instant::now();
            if now >= end || guard.1 {
                return None;
            }
            guard = self
                .shared
                .cond
                .wait_timeout(guard, end - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A `watch` or `listen` stream of one halod, read on its own thread.
#[derive(Debug)]
pub struct EventStream {
    socket: PathBuf,
    stream: UnixStream,
    recorder: Recorder<Event>,
    reader: Option<JoinHandle<()>>,
}

impl EventStream {
    /// Connect to halod's API socket (a path as this process sees it) and ask for
    /// `request` (`Watch` or `Listen`). When this returns, halod has answered, so the
    /// subscription is in place: every later event is recorded.
    pub fn connect(socket: &Path, request: &Request) -> Result<EventStream> {
        let shown = socket.display().to_string();
        let mut stream = UnixStream::connect(socket)
            .map_err(|e| BenchError::io(format!("connecting to {shown}"), e))?;
        stream
            .write_all(&encode_line(request))
            .map_err(|e| BenchError::io(format!("writing to {shown}"), e))?;
        let read_half = stream
            .try_clone()
            .map_err(|e| BenchError::io(format!("duplicating {shown}"), e))?;
        let mut reader = BufReader::new(read_half);
        let mut line = Vec::new();
        reader
            .read_until(b'\n', &mut line)
            .map_err(|e| BenchError::io(format!("reading {shown}"), e))?;
        match decode_line::<Reply>(&line) {
            Ok(Reply::Ok) => {}
            other => {
                return Err(BenchError::Daemon {
                    host: shown,
                    message: format!(
                        "unexpected answer to {request:?}: {other:?} ({:?})",
                        String::from_utf8_lossy(&line)
                    ),
                });
            }
        }
        let recorder = Recorder::new();
        let rec = recorder.clone();
        let reader = std::thread::Builder::new()
            .name("halo-events".into())
            .spawn(move || {
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => match decode_line::<Event>(&line) {
                            Ok(ev) => rec.push(ev),
                            Err(_) => break,
                        },
                    }
                }
                rec.close();
            })
            .map_err(|e| BenchError::io("starting a reader thread", e))?;
        Ok(EventStream {
            socket: socket.to_path_buf(),
            stream,
            recorder,
            reader: Some(reader),
        })
    }

    /// The events so far, stamped.
    pub fn recorder(&self) -> &Recorder<Event> {
        &self.recorder
    }

    /// The socket it reads.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// A log file followed as it grows (polled every millisecond), one item per line.
#[derive(Debug)]
pub struct LogFollower {
    recorder: Recorder<String>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

/// How often a followed file is checked for growth.
const LOG_POLL: Duration = Duration::from_millis(1);

impl LogFollower {
    /// Follow `path` from its current end (or from the start if it does not exist yet).
    pub fn start(path: &Path) -> Result<LogFollower> {
        let recorder = Recorder::new();
        let rec = recorder.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let path = path.to_path_buf();
        let start = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let reader = std::thread::Builder::new()
            .name("log-follower".into())
            .spawn(move || follow(&path, start, &rec, &stopped))
            .map_err(|e| BenchError::io("starting a log follower", e))?;
        Ok(LogFollower {
            recorder,
            stop,
            reader: Some(reader),
        })
    }

    /// The lines so far, stamped.
    pub fn recorder(&self) -> &Recorder<String> {
        &self.recorder
    }
}

fn follow(path: &Path, mut pos: u64, rec: &Recorder<String>, stop: &AtomicBool) {
    let mut file: Option<File> = None;
    let mut partial = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::Relaxed) {
        if file.is_none() {
            file = File::open(path).ok();
        }
        let mut grew = false;
        if let Some(f) = file.as_mut() {
            let len = f.metadata().map(|m| m.len()).unwrap_or(pos);
            if len < pos {
                pos = 0; // truncated: start over
                partial.clear();
            }
            if len > pos && f.seek(SeekFrom::Start(pos)).is_ok() {
                while let Ok(n) = f.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    pos += n as u64;
                    partial.extend_from_slice(&buf[..n]);
                    grew = true;
                }
            }
        }
        if grew {
            while let Some(i) = partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = partial.drain(..=i).collect();
                rec.push(String::from_utf8_lossy(&line[..i]).into_owned());
            }
        } else {
            std::thread::sleep(LOG_POLL);
        }
    }
    rec.close();
}

impl Drop for LogFollower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_waits_for_a_matching_item() {
        let rec: Recorder<u32> = Recorder::new();
        let r2 = rec.clone();
        let t = std::thread::spawn(move || {
            for i in 0..5 {
                r2.push(i);
            }
            r2.close();
        });
        let got = rec.wait_for(Duration::from_secs(10), |s| s.item == 3);
        assert_eq!(got.map(|s| s.item), Some(3));
        t.join().unwrap();
        assert!(
            rec.wait_for(Duration::from_secs(10), |s| s.item == 9)
                .is_none()
        );
        assert_eq!(rec.len(), 5);
    }

    #[test]
    fn follower_reads_lines_appended_later() {
        let dir = std::env::temp_dir().join(format!("halo-bench-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        std::fs::write(&path, "old line\n").unwrap();
        let f = LogFollower::start(&path).unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"first\nsec").unwrap();
        file.write_all(b"ond\n").unwrap();
        let got = f
            .recorder()
            .wait_for(Duration::from_secs(10), |s| s.item == "second");
        assert!(got.is_some());
        let lines: Vec<String> = f.recorder().items().into_iter().map(|s| s.item).collect();
        assert_eq!(lines, vec!["first", "second"]);
        drop(f);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
