//! Serial links: a tty in raw mode carrying COBS-encoded frames, each ended by a 0 byte.
//!
//! COBS removes every 0 from the frame body, so a 0 always marks a frame boundary: after
//! line noise or a partial frame the receiver resynchronises at the next 0 and the bad
//! frame fails to decode (or fails authentication) and is counted. Writes go through a
//! small queue to a writer task: at 19200 baud a tty drains about 2 KB/s, so when it
//! falls behind, new frames are dropped and counted rather than delaying anything.
//! A tty that fails (a pty whose other side went away, a USB adapter unplugged) is
//! reopened every second.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::sys::termios::{self, BaudRate, ControlFlags, SetArg};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use crate::media::{MAX_PACKET, Received};

/// Frames waiting for the tty; more are dropped.
const WRITE_QUEUE: usize = 4;

fn baud_rate(baud: u32) -> Result<BaudRate> {
    Ok(match baud {
        1200 => BaudRate::B1200,
        2400 => BaudRate::B2400,
        4800 => BaudRate::B4800,
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115200 => BaudRate::B115200,
        230400 => BaudRate::B230400,
        460800 => BaudRate::B460800,
        other => bail!("unsupported baud rate {other}"),
    })
}

fn open_tty(device: &std::path::Path, baud: u32) -> Result<OwnedFd> {
    let fd = open(
        device,
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("cannot open serial device {}", device.display()))?;
    let mut t =
        termios::tcgetattr(&fd).with_context(|| format!("{} is not a tty", device.display()))?;
    termios::cfmakeraw(&mut t);
    t.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
    let rate = baud_rate(baud)?;
    termios::cfsetspeed(&mut t, rate)?;
    termios::tcsetattr(&fd, SetArg::TCSANOW, &t)?;
    Ok(fd)
}

/// Encodes one frame: COBS body then the 0 delimiter.
pub fn encode_frame(packet: &[u8]) -> Vec<u8> {
    let mut out = cobs::encode_vec(packet);
    out.push(0);
    out
}

/// Splits a byte stream into decoded frames.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Frames that failed to decode or were too long.
    pub bad: u64,
}

impl FrameReader {
    /// Feeds bytes; returns the complete frames they finish.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        for &b in bytes {
            if b == 0 {
                if !self.buf.is_empty() {
                    match cobs::decode_vec(&self.buf) {
                        Ok(f) => frames.push(f),
                        Err(_) => self.bad += 1,
                    }
                    self.buf.clear();
                }
            } else if self.buf.len() > MAX_PACKET + MAX_PACKET / 254 + 2 {
                // An over-long run without a delimiter: line noise. Drop until the next 0.
                self.bad += 1;
                self.buf.clear();
            } else {
                self.buf.push(b);
            }
        }
        frames
    }
}

/// Starts the reader/writer task for one serial link and returns its send queue.
pub fn spawn(
    device: PathBuf,
    baud: u32,
    link: usize,
    rx: mpsc::Sender<Received>,
    dropped: Arc<AtomicU64>,
) -> mpsc::Sender<Vec<u8>> {
    let (tx, mut out) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
    tokio::spawn(async move {
        let mut warned = false;
        loop {
            let fd = match open_tty(&device, baud).and_then(|fd| Ok(crate::media::async_fd(fd)?)) {
                Ok(fd) => fd,
                Err(e) => {
                    if !warned {
                        tracing::warn!("serial link {}: {e:#}; retrying", device.display());
                        warned = true;
                    }
                    // Drain what queued meanwhile, counting it as dropped.
                    while out.try_recv().is_ok() {
                        dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if std::mem::take(&mut warned) {
                tracing::info!("serial link {} open", device.display());
            }
            if let Err(e) = run(&fd, link, &rx, &mut out).await {
                if rx.is_closed() {
                    return;
                }
                tracing::warn!("serial link {}: {e}; reopening", device.display());
                warned = true;
                tokio::time::sleep(Duration::from_secs(1)).await;
            } else {
                return;
            }
        }
    });
    tx
}

async fn run(
    fd: &AsyncFd<OwnedFd>,
    link: usize,
    rx: &mpsc::Sender<Received>,
    out: &mut mpsc::Receiver<Vec<u8>>,
) -> io::Result<()> {
    let mut reader = FrameReader::default();
    let mut buf = vec![0u8; 4096];
    let mut pending: Option<(Vec<u8>, usize)> = None;
    loop {
        tokio::select! {
            r = fd.ready(Interest::READABLE) => {
                let mut guard = r?;
                match nix::unistd::read(fd.get_ref().as_fd(), &mut buf) {
                    Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "hang-up")),
                    Ok(n) => {
                        for data in reader.feed(&buf[..n]) {
                            if rx.send(Received { link, data }).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                    Err(nix::errno::Errno::EAGAIN) => guard.clear_ready(),
                    Err(e) => return Err(e.into()),
                }
            }
            r = fd.ready(Interest::WRITABLE), if pending.is_some() => {
                let mut guard = r?;
                if let Some((frame, off)) = pending.as_mut() {
                    match nix::unistd::write(fd.get_ref(), &frame[*off..]) {
                        Ok(n) => {
                            *off += n;
                            if *off >= frame.len() {
                                pending = None;
                            }
                        }
                        Err(nix::errno::Errno::EAGAIN) => guard.clear_ready(),
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            msg = out.recv(), if pending.is_none() => {
                match msg {
                    Some(p) => pending = Some((encode_frame(&p), 0)),
                    None => return Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_survive_zeros_and_resync_after_noise() {
        let a = vec![0u8, 1, 0, 2, 0];
        let b = vec![7u8; 600];
        let mut stream = vec![9, 9, 9]; // noise before the first delimiter
        stream.push(0);
        stream.extend(encode_frame(&a));
        stream.extend(encode_frame(&b));
        let mut r = FrameReader::default();
        // Feed in odd-sized chunks.
        let mut frames = Vec::new();
        for chunk in stream.chunks(7) {
            frames.extend(r.feed(chunk));
        }
        // The noise decodes to *something* or counts as bad; the real frames follow intact.
        let tail: Vec<_> = frames.iter().rev().take(2).rev().cloned().collect();
        assert_eq!(tail, vec![a, b]);
    }

    #[test]
    fn unsupported_baud_is_an_error() {
        assert!(baud_rate(12345).is_err());
        assert!(baud_rate(19200).is_ok());
    }
}
