//! Logging that never blocks the heartbeat path.
//!
//! ```text
//!  tracing event ──▶ fmt layer (formats on the caller's thread)
//!                      │ try-send one line into a bounded queue
//!                      ▼
//!                 worker thread ──▶ logfile / debugfile / stderr / syslog (/dev/log)
//! ```
//!
//! Every sink has a bounded queue and its own worker thread. When a queue is full the
//! line is dropped and counted; [`LogDrops::take_new`] reports how many were dropped so
//! the daemon can log the number later ("N log messages dropped"). The caller's thread
//! only formats and enqueues: a slow disk or a stuck syslog daemon cannot delay a
//! heartbeat.

use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use anyhow::{Context, Result, bail};
use tracing::{Level, Metadata};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Lines each sink may hold before it starts dropping.
const QUEUE_LINES: usize = 4096;

/// Where and how much to log: the `ha.cf` logging directives plus `--foreground`.
#[derive(Debug, Clone, Default)]
pub struct LogSettings {
    /// `logfile`: informational messages.
    pub logfile: Option<PathBuf>,
    /// `debugfile`: everything, at the debug level.
    pub debugfile: Option<PathBuf>,
    /// `logfacility`: a syslog facility name, or `None` for no syslog.
    pub syslog_facility: Option<String>,
    /// `debug`: 0 (off), 1 (debug), 2+ (trace).
    pub debug: u32,
    /// Also log to stderr (when running in the foreground).
    pub stderr: bool,
}

/// Counts lines dropped by every sink, so that the daemon can report them later.
#[derive(Debug, Clone, Default)]
pub struct LogDrops {
    counters: Vec<ErrorCounter>,
    syslog: Arc<AtomicU64>,
    reported: Arc<AtomicU64>,
    /// Syslog's socket: whether `/dev/log` refused the last line, and how many lines it
    /// refused in all. Kept apart from the drops above: a missing syslog daemon is not
    /// a writer falling behind, and is reported once, not every housekeeping round.
    syslog_down: Arc<AtomicBool>,
    syslog_refused: Arc<AtomicU64>,
    syslog_down_reported: Arc<AtomicBool>,
}

impl LogDrops {
    /// Total lines dropped since start.
    pub fn total(&self) -> u64 {
        let files: usize = self.counters.iter().map(|c| c.dropped_lines()).sum();
        files as u64 + self.syslog.load(Ordering::Relaxed)
    }

    /// Lines dropped since the previous call (0 if none).
    pub fn take_new(&self) -> u64 {
        let total = self.total();
        let before = self.reported.swap(total, Ordering::Relaxed);
        total.saturating_sub(before)
    }

    /// Lines `/dev/log` refused since start (no syslog daemon listening).
    pub fn syslog_refused(&self) -> u64 {
        self.syslog_refused.load(Ordering::Relaxed)
    }

    /// Whether syslog went down (`Some(true)`) or came back (`Some(false)`) since the
    /// previous call; `None` when nothing changed.
    pub fn take_syslog_change(&self) -> Option<bool> {
        let down = self.syslog_down.load(Ordering::Relaxed);
        (self.syslog_down_reported.swap(down, Ordering::Relaxed) != down).then_some(down)
    }
}

/// Keeps the logging worker threads alive; dropping it flushes what is queued.
#[derive(Debug)]
pub struct LogGuard {
    _guards: Vec<WorkerGuard>,
}

fn level_for(debug: u32) -> LevelFilter {
    match debug {
        0 => LevelFilter::INFO,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

fn open_append(path: &Path) -> Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create log directory {}", dir.display()))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open log file {}", path.display()))
}

/// Installs the global subscriber. `HALO_LOG` (an `EnvFilter` directive such as
/// `halod=debug`) overrides the levels chosen by `debug`.
pub fn init(settings: &LogSettings) -> Result<(LogGuard, LogDrops)> {
    let mut guards = Vec::new();
    let mut drops = LogDrops::default();
    let mut layers: Vec<Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>> = Vec::new();
    let base = level_for(settings.debug);

    let mut file_layer = |file: std::fs::File, level: LevelFilter, name: &str| {
        let (writer, guard) = NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(QUEUE_LINES)
            .thread_name(name)
            .finish(file);
        drops.counters.push(writer.error_counter());
        guards.push(guard);
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(false)
            .with_target(false)
            .with_filter(level)
            .boxed()
    };
    if let Some(path) = &settings.logfile {
        let f = open_append(path)?;
        layers.push(file_layer(f, base, "halod-logfile"));
    }
    if let Some(path) = &settings.debugfile {
        let f = open_append(path)?;
        let level = base.max(LevelFilter::DEBUG);
        layers.push(file_layer(f, level, "halod-debugfile"));
    }
    if settings.stderr {
        let (writer, guard) = NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(QUEUE_LINES)
            .thread_name("halod-stderr")
            .finish(io::stderr());
        drops.counters.push(writer.error_counter());
        guards.push(guard);
        layers.push(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(std::io::IsTerminal::is_terminal(&io::stderr()))
                .with_target(false)
                .with_filter(base)
                .boxed(),
        );
    }
    if let Some(facility) = &settings.syslog_facility {
        let code = facility_code(facility)?;
        let make = SyslogWriter::spawn(code, drops.clone(), Path::new("/dev/log"))?;
        layers.push(
            tracing_subscriber::fmt::layer()
                .with_writer(make)
                .with_ansi(false)
                .with_target(false)
                .without_time()
                .with_level(false)
                .with_filter(base)
                .boxed(),
        );
    }

    let env = EnvFilter::try_from_env("HALO_LOG").ok();
    tracing_subscriber::registry()
        .with(layers)
        .with(env)
        .try_init()
        .context("cannot install the logger")?;
    Ok((LogGuard { _guards: guards }, drops))
}

/// The numeric code of a syslog facility name (RFC 5424 §6.2.1).
pub fn facility_code(name: &str) -> Result<u8> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        other => bail!("unknown syslog facility {other:?}"),
    })
}

/// Sends each formatted line as one datagram to `/dev/log`, from a worker thread fed
/// through a bounded queue.
#[derive(Clone)]
struct SyslogWriter {
    facility: u8,
    tx: SyncSender<Vec<u8>>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for SyslogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyslogWriter")
            .field("facility", &self.facility)
            .finish()
    }
}

impl SyslogWriter {
    /// Starts the writer thread sending to the syslog socket at `socket` (`/dev/log`).
    fn spawn(facility: u8, drops: LogDrops, socket: &Path) -> Result<Self> {
        let socket = socket.to_path_buf();
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE_LINES);
        let dropped = drops.syslog.clone();
        std::thread::Builder::new()
            .name("halod-syslog".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut sock: Option<UnixDatagram> = None;
                while let Ok(line) = rx.recv() {
                    if sock.is_none() {
                        sock = UnixDatagram::unbound().ok().and_then(|s| {
                            s.connect(&socket).ok()?;
                            Some(s)
                        });
                    }
                    let sent = sock.as_ref().is_some_and(|s| s.send(&line).is_ok());
                    if !sent {
                        sock = None;
                        drops.syslog_refused.fetch_add(1, Ordering::Relaxed);
                    }
                    drops.syslog_down.store(!sent, Ordering::Relaxed);
                }
            })
            .context("cannot start the syslog thread")?;
        Ok(SyslogWriter {
            facility,
            tx,
            dropped,
        })
    }
}

/// One event's line for syslog; sent on drop (fmt writes a whole event, then drops).
struct SyslogLine {
    prefix: Vec<u8>,
    buf: Vec<u8>,
    tx: SyncSender<Vec<u8>>,
    dropped: Arc<AtomicU64>,
}

impl Write for SyslogLine {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine {
    fn drop(&mut self) {
        while self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        if self.buf.is_empty() {
            return;
        }
        let mut line = std::mem::take(&mut self.prefix);
        line.append(&mut self.buf);
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(line) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn severity(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

impl<'a> MakeWriter<'a> for SyslogWriter {
    type Writer = SyslogLine;

    fn make_writer(&'a self) -> SyslogLine {
        self.line(6)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> SyslogLine {
        self.line(severity(meta.level()))
    }
}

impl SyslogWriter {
    fn line(&self, severity: u8) -> SyslogLine {
        let pri = u32::from(self.facility) * 8 + u32::from(severity);
        SyslogLine {
            prefix: format!("<{pri}>halod[{}]: ", std::process::id()).into_bytes(),
            buf: Vec::with_capacity(128),
            tx: self.tx.clone(),
            dropped: self.dropped.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_map_to_rfc_codes() {
        assert_eq!(facility_code("daemon").unwrap(), 3);
        assert_eq!(facility_code("LOCAL7").unwrap(), 23);
        assert!(facility_code("nope").is_err());
    }

    #[test]
    fn a_missing_syslog_socket_is_reported_once_and_its_return_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let drops = LogDrops::default();
        let w = SyslogWriter::spawn(3, drops.clone(), &path).unwrap();
        let send = |text: &str| {
            let mut l = w.line(6);
            writeln!(l, "{text}").unwrap();
        };
        let wait = |what: &str, f: &dyn Fn() -> bool| {
            let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while !f() {
                assert!(
                    std::time::Instant::now() < end,
                    "timed out waiting for {what}"
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        };
        assert_eq!(drops.take_syslog_change(), None);
        send("nobody listens");
        send("still nobody");
        wait("two refused lines", &|| drops.syslog_refused() == 2);
        // Refused lines are not "fell behind" drops, and syslog going down is news once.
        assert_eq!(drops.take_new(), 0);
        assert_eq!(drops.take_syslog_change(), Some(true));
        assert_eq!(drops.take_syslog_change(), None);

        let server = UnixDatagram::bind(&path).unwrap();
        send("someone listens");
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).ends_with("someone listens"));
        wait("the writer to note the send", &|| {
            !drops.syslog_down.load(Ordering::Relaxed)
        });
        assert_eq!(drops.take_syslog_change(), Some(false));
        assert_eq!(drops.take_syslog_change(), None);
        assert_eq!(drops.syslog_refused(), 2);
    }

    #[test]
    fn syslog_lines_are_dropped_and_counted_when_the_queue_is_full() {
        let (tx, rx) = sync_channel::<Vec<u8>>(1);
        let dropped = Arc::new(AtomicU64::new(0));
        let w = SyslogWriter {
            facility: 3,
            tx,
            dropped: dropped.clone(),
        };
        for i in 0..3 {
            let mut l = w.line(4);
            writeln!(l, "line {i}").unwrap();
        }
        assert_eq!(dropped.load(Ordering::Relaxed), 2);
        let first = rx.try_recv().unwrap();
        let text = String::from_utf8(first).unwrap();
        assert!(text.starts_with("<28>halod["), "{text}");
        assert!(text.ends_with("]: line 0"), "{text}");
    }
}
