//! A blocking client of halod's control socket (one request per connection).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{Context, Result, bail};
use halo_ipc::{Event, Reply, Request, decode_line, encode_line};

/// An open connection whose request has been answered.
#[derive(Debug)]
pub struct Connection {
    reader: BufReader<UnixStream>,
}

/// Whether halod answers on `socket` (a socket file that accepts connections).
pub fn daemon_runs(socket: &Path) -> bool {
    UnixStream::connect(socket).is_ok()
}

/// Connects, sends `request`, and returns the reply (and the connection, for streams).
pub fn call(socket: &Path, request: &Request) -> Result<(Reply, Connection)> {
    let mut stream = UnixStream::connect(socket).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                " — is halod running? (set HALO_SOCKET or --socket for another instance)"
            }
            std::io::ErrorKind::PermissionDenied => {
                " — halo needs root or membership of group haclient"
            }
            _ => "",
        };
        anyhow::anyhow!("cannot connect to {}: {e}{hint}", socket.display())
    })?;
    stream
        .write_all(&encode_line(request))
        .with_context(|| format!("cannot send to {}", socket.display()))?;
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .with_context(|| format!("cannot read from {}", socket.display()))?;
    if line.is_empty() {
        bail!("halod closed the connection without answering");
    }
    let reply: Reply = decode_line(&line).context("halod sent a reply this halo cannot read")?;
    if let Reply::Error { message } = &reply {
        bail!("halod: {message}");
    }
    Ok((reply, Connection { reader }))
}

impl Connection {
    /// The next streamed event, or `None` when halod hangs up.
    pub fn next_event(&mut self) -> Result<Option<(Event, Vec<u8>)>> {
        let mut line = Vec::new();
        let n = self.reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(None);
        }
        let ev = decode_line(&line).context("halod sent an event this halo cannot read")?;
        Ok(Some((ev, line)))
    }
}
