//! Errors: one located [`ConfigError`] per problem, many collected in [`ConfigErrors`].
//!
//! Every error says where (file, and line when there is one), what (the directive or field)
//! and why, in one line an administrator can act on:
//!
//! ```text
//! /etc/ha.d/ha.cf:12: deadtime: 1500ms must be more than twice keepalive (1s)
//! ```
//!
//! Errors about `authkeys` never contain key material: a word that might be a key is
//! described, never quoted.

use std::fmt;
use std::path::{Path, PathBuf};

use halo_types::NameError;

use crate::time::{Time, TimeError};

/// One problem in one configuration file. `Display` gives
/// `FILE[:LINE]: [DIRECTIVE: ]PROBLEM`.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The file, as the caller named it.
    pub file: PathBuf,
    /// The line (1-based), when the problem has one.
    pub line: Option<u32>,
    /// The directive or field concerned (`deadtime`, `node`, `auth`, `key 2`, …).
    pub directive: Option<String>,
    /// What is wrong.
    pub problem: Problem,
}

impl ConfigError {
    /// An error at `file:line` about `directive`.
    pub fn at(file: &Path, line: u32, directive: &str, problem: Problem) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: Some(line),
            directive: Some(directive.to_string()),
            problem,
        }
    }

    /// An error about the whole file (no line), optionally about one directive.
    pub fn file(file: &Path, directive: Option<&str>, problem: Problem) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: None,
            directive: directive.map(str::to_string),
            problem,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_location(f, &self.file, self.line, self.directive.as_deref())?;
        write!(f, "{}", self.problem)
    }
}

/// `FILE[:LINE]: [DIRECTIVE: ]`, the start of every error and notice.
pub(crate) fn write_location(
    f: &mut fmt::Formatter<'_>,
    file: &Path,
    line: Option<u32>,
    directive: Option<&str>,
) -> fmt::Result {
    write!(f, "{}", file.display())?;
    if let Some(line) = line {
        write!(f, ":{line}")?;
    }
    f.write_str(": ")?;
    if let Some(d) = directive {
        write!(f, "{d}: ")?;
    }
    Ok(())
}

/// Every problem found in one go, so that an administrator can fix them all at once.
/// Never empty. `Display` writes one error per line.
#[derive(Debug)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// Wraps a non-empty list; `None` when `errors` is empty.
    pub fn from_vec(errors: Vec<ConfigError>) -> Option<Self> {
        if errors.is_empty() {
            None
        } else {
            Some(ConfigErrors(errors))
        }
    }

    /// The errors, in file order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// The first error (there is always one).
    pub fn first(&self) -> &ConfigError {
        // The constructor guarantees at least one element; index 0 is in bounds.
        &self.0[0]
    }

    /// The errors, by value.
    pub fn into_vec(self) -> Vec<ConfigError> {
        self.0
    }

    pub(crate) fn extend(&mut self, other: ConfigErrors) {
        self.0.extend(other.0);
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.first())
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn suggest(s: &Option<String>) -> String {
    match s {
        Some(s) => format!("; did you mean {s:?}?"),
        None => String::new(),
    }
}

/// What is wrong. The location is in the enclosing [`ConfigError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    // ── any file ──────────────────────────────────────────────────────────────────────────
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    /// A line is not UTF-8.
    #[error("the line is not valid UTF-8")]
    NotUtf8,

    // ── ha.cf: directives and values ──────────────────────────────────────────────────────
    /// A directive that neither heartbeat nor halo knows.
    #[error("unknown directive{}", suggest(.suggestion))]
    UnknownDirective {
        /// A known directive with a similar name.
        suggestion: Option<String>,
    },
    /// The directive has no value.
    #[error("missing value: expected {expected}")]
    MissingValue {
        /// What was expected, in words.
        expected: &'static str,
    },
    /// More values than the directive takes.
    #[error("expected {expected}, found {found} values{hint}")]
    TooManyValues {
        /// What was expected, in words.
        expected: &'static str,
        /// How many values there were.
        found: usize,
        /// Extra advice, starting with "; " (or empty).
        hint: String,
    },
    /// A value of the wrong shape.
    #[error("{value:?} is not {expected}")]
    BadValue {
        /// The value as written.
        value: String,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// A time value that does not parse.
    #[error("{value:?}: {reason}")]
    BadTime {
        /// The value as written.
        value: String,
        /// Why it is not a time value.
        reason: TimeError,
    },
    /// A number outside its range.
    #[error("{value} is out of range ({range})")]
    OutOfRange {
        /// The value as written.
        value: String,
        /// The allowed range, in words.
        range: &'static str,
    },
    /// A single-valued directive given twice.
    #[error("already set on line {first_line}; give it once")]
    Duplicate {
        /// Where it was set first.
        first_line: u32,
    },
    /// A node or ping name that is not a valid name.
    #[error("{name:?} is not a valid name: {source}")]
    BadName {
        /// The name as written.
        name: String,
        /// Why.
        #[source]
        source: NameError,
    },
    /// Two pseudo-nodes or nodes share a name.
    #[error("{name:?} is already used by the {other} on line {first_line}")]
    NameClash {
        /// The shared name.
        name: String,
        /// What else uses it (`node`, `ping node`, `ping group`).
        other: &'static str,
        /// Where.
        first_line: u32,
    },
    /// `keepalive` rounds to zero.
    #[error("{0} is too short: keepalive must be at least 1ms")]
    KeepaliveZero(Time),
    /// heartbeat's rule: deadtime must be more than twice keepalive.
    #[error("{deadtime} must be more than twice keepalive ({keepalive})")]
    DeadtimeTooShort {
        /// The deadtime in effect.
        deadtime: Time,
        /// The keepalive in effect.
        keepalive: Time,
    },
    /// heartbeat's rule: initdead must not be shorter than deadtime.
    #[error("{initdead} must not be shorter than deadtime ({deadtime})")]
    InitdeadTooShort {
        /// The initdead in effect.
        initdead: Time,
        /// The deadtime in effect.
        deadtime: Time,
    },
    /// heartbeat's rule: an explicit deadping must be more than twice keepalive.
    /// Quorum settings that cannot work (membership and quorum directives).
    #[error("{0}")]
    Quorum(#[source] halo_membership::QuorumConfigError),
    #[error("{deadping} must be more than twice keepalive ({keepalive})")]
    DeadpingTooShort {
        /// The deadping given.
        deadping: Time,
        /// The keepalive in effect.
        keepalive: Time,
    },
    /// No heartbeat medium at all.
    #[error(
        "no heartbeat medium is configured: add at least one bcast, mcast, mcast6, ucast, \
         ucast6 or serial line"
    )]
    NoMedia,
    /// No `node` line.
    #[error("no cluster node is configured: add a line \"node NAME…\" listing every node")]
    NoNodes,
    /// The local node is not among the `node` lines.
    #[error(
        "this node's name is {name:?}, but no node line lists it (listed: {}); add \
         \"node {name}\" to ha.cf, or start halod with --node NAME",
        list(.listed)
    )]
    LocalNodeNotListed {
        /// The local node's name (from `--node` or `uname -n`), lower-cased.
        name: String,
        /// The nodes that are listed.
        listed: Vec<String>,
    },

    // ── authkeys ──────────────────────────────────────────────────────────────────────────
    /// No `auth N` line.
    #[error("no \"auth N\" line says which key signs outgoing packets")]
    NoAuthLine,
    /// No key line at all.
    #[error("no key is listed; add a line \"1 sha256 SECRET\" (halo init writes one)")]
    NoKeys,
    /// `auth N` names a key that is not listed.
    #[error("key {index} signs outgoing packets, but no line \"{index} METHOD [KEY]\" lists it")]
    SigningKeyMissing {
        /// The index given on the `auth` line.
        index: u8,
    },
    /// A key index that is not a number (the word is not shown: it might be a key).
    #[error(
        "the line must start with a key index (a number from 0 to 15); the word found is not \
         shown in case it is a secret"
    )]
    BadKeyIndex,
    /// A key index out of range.
    #[error("key index {index} is out of range (0 to 15)")]
    KeyIndexOutOfRange {
        /// The index as parsed.
        index: u64,
    },
    /// A method that is not known (the word is not shown: it might be a key).
    #[error(
        "unknown authentication method (the word is not shown in case it is a secret); \
         expected sha256, sha1, md5 or crc"
    )]
    UnknownMethod,
    /// `sha256`, `sha1` or `md5` without a key.
    #[error("{method} needs a key: \"INDEX {method} SECRET\"")]
    KeyRequired {
        /// The method.
        method: halo_types::AuthMethod,
    },
    /// `crc` with a key.
    #[error("crc takes no key (and authenticates nothing); use sha256 with this key instead")]
    KeyNotAllowed,
    /// Text after the key (the text is not shown).
    #[error(
        "more than one word after the method; a key is a single word without blanks (the \
         words are not shown)"
    )]
    KeyHasBlanks,
    /// Two lines for one index.
    #[error("key {index} is already listed on line {first_line}")]
    DuplicateKey {
        /// The index.
        index: u8,
        /// The first line listing it.
        first_line: u32,
    },
    /// The key file is readable or writable by group or others.
    #[error(
        "mode {mode:04o} gives group or others access to the cluster keys; run \"chmod 600 {}\"",
        .path.display()
    )]
    BadPermissions {
        /// The permission bits.
        mode: u32,
        /// The file (repeated here so that the advice can be pasted).
        path: PathBuf,
    },
    /// The key file belongs to another user.
    #[error(
        "owned by uid {owner}, but halod runs as uid {expected}; run \"chown {expected} {}\" and \
         \"chmod 600 {}\"",
        .path.display(), .path.display()
    )]
    WrongOwner {
        /// The file's owner.
        owner: u32,
        /// The daemon's user.
        expected: u32,
        /// The file.
        path: PathBuf,
    },
    /// The key file is a directory, device, …
    #[error("not a regular file")]
    NotRegularFile,

    // ── haresources ───────────────────────────────────────────────────────────────────────
    /// The group's node is not a configured node.
    #[error("node {name:?} is not listed in ha.cf (nodes: {}); every group must name a configured node", list(.listed))]
    UnknownNode {
        /// The node, lower-cased.
        name: String,
        /// The configured nodes.
        listed: Vec<String>,
    },
    /// A line with a node but no resource.
    #[error("the group has no resources: expected \"NODE RESOURCE…\"")]
    EmptyGroup,
    /// Two groups with the same first resource.
    #[error(
        "{key:?} already starts the group on line {first_line}; the first resource of each \
         line names its group and must be unique"
    )]
    DuplicateGroupKey {
        /// The key.
        key: String,
        /// The first group with it.
        first_line: u32,
    },
    /// A resource that cannot be a resource.
    #[error("{spec:?}: {reason}")]
    BadResource {
        /// The resource as written.
        spec: String,
        /// Why.
        reason: &'static str,
    },
}
