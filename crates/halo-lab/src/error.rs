//! The lab's one error type.

use std::io;
use std::path::PathBuf;

/// Anything that can go wrong building, using or tearing down a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab description is wrong (names, numbers, references).
    #[error("lab spec: {0}")]
    Spec(String),
    /// A name that is not a host (or ping host, or serial link) of this lab.
    #[error("lab {lab}: {what}")]
    Unknown {
        /// The lab's prefix.
        lab: String,
        /// What was asked for and what exists.
        what: String,
    },
    /// An argument out of range (a loss fraction, a partition that misses a host, …).
    #[error("{0}")]
    Invalid(String),
    /// The lab needs root (namespaces, mounts, nftables).
    #[error("the lab needs root (namespaces, mounts and nftables); running as uid {0}")]
    NotRoot(u32),
    /// A system call or file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path involved.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A tool the lab runs is not installed.
    #[error(
        "`{tool}` is not installed (scripts/setup installs the lab's tools: iproute2, nftables, socat, util-linux)"
    )]
    MissingTool {
        /// The program name.
        tool: String,
    },
    /// A tool the lab runs failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line, shortened.
        command: String,
        /// Its exit status.
        status: String,
        /// What it wrote on stderr.
        stderr: String,
    },
    /// A lab's state file is missing or unreadable.
    #[error("lab state {path}: {msg}")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// Waiting for something took longer than allowed.
    #[error("timed out after {seconds:.1} s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        seconds: f64,
    },
    /// The process handle does not belong to a process this lab object started (or it
    /// was already reaped and forgotten).
    #[error("pid {0} is not a process this lab started")]
    NotOurs(u32),
    /// Teardown finished but could not remove everything; each entry says what is left.
    #[error("teardown of lab {lab} left: {}", left.join("; "))]
    Teardown {
        /// The lab's prefix.
        lab: String,
        /// What could not be removed, and why.
        left: Vec<String>,
    },
}

impl LabError {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: io::Error) -> Self {
        LabError::Io {
            what: what.into(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = LabError> = std::result::Result<T, E>;
