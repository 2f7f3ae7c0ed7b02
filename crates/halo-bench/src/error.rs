//! The harness's one error type.

use std::io;

/// Anything that can go wrong driving a cluster on the lab.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The lab failed (building it, running a command on a host, a fault).
    #[error(transparent)]
    Lab(#[from] halo_lab::LabError),
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path involved.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A condition did not come true in time.
    #[error("timed out after {seconds:.1} s waiting for {what}")]
    Timeout {
        /// The condition, in words.
        what: String,
        /// How long was waited.
        seconds: f64,
    },
    /// A daemon or the `halo` command answered with an error or something unreadable.
    #[error("{host}: {message}")]
    Daemon {
        /// The host it runs on.
        host: String,
        /// What it said.
        message: String,
    },
}

impl BenchError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: io::Error) -> BenchError {
        BenchError::Io {
            what: what.into(),
            source,
        }
    }
}

/// Result with [`BenchError`].
pub type Result<T, E = BenchError> = std::result::Result<T, E>;

/// Fails with "BINARY is missing: apt-get install PACKAGES" unless `binary` exists:
/// the stacks a benchmark compares with come from Debian packages.
pub fn require_installed(binary: &str, packages: &str) -> Result<()> {
    if std::path::Path::new(binary).exists() {
        Ok(())
    } else {
        Err(BenchError::Daemon {
            host: "this machine".into(),
            message: format!("{binary} is missing: apt-get install {packages}"),
        })
    }
}
