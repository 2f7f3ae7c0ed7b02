//! Notices: things worth telling the administrator that do not stop the daemon.
//!
//! Parsers return them as values ([`crate::Parsed::notices`]); `halod` logs them at start-up
//! and `halo` can show them. They have the same `FILE[:LINE]: [DIRECTIVE: ]MESSAGE` shape as
//! errors.

use std::fmt;
use std::path::{Path, PathBuf};

/// How much a notice matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// For information: a directive kept for later, an alias, a default that differs from
    /// heartbeat's.
    Info,
    /// Probably not what was meant, or risky.
    Warning,
    /// Dangerous: the cluster is not protected (e.g. `crc` authenticates nothing).
    Critical,
}

impl Severity {
    /// Lower-case name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One notice about one configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// How much it matters.
    pub severity: Severity,
    /// The file, as the caller named it.
    pub file: PathBuf,
    /// The line, when there is one.
    pub line: Option<u32>,
    /// The directive or field concerned.
    pub directive: Option<String>,
    /// What to know, in one line.
    pub message: String,
}

impl Notice {
    pub(crate) fn new(
        severity: Severity,
        file: &Path,
        line: Option<u32>,
        directive: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Notice {
            severity,
            file: file.to_path_buf(),
            line,
            directive: directive.map(str::to_string),
            message: message.into(),
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::error::write_location(f, &self.file, self.line, self.directive.as_deref())?;
        f.write_str(&self.message)
    }
}
