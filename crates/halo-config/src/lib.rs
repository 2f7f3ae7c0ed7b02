//! Reads heartbeat's configuration files into typed configuration.
//!
//! ```text
//!  ha.cf ──────▶ HaCf::parse ──────────▶ HaCf (timing, media, nodes, ping, logging, Later)
//!  authkeys ───▶ AuthKeys::read ───────▶ AuthKeys (signing key, verifying keys)
//!                 (refuses group/other access, wrong owner)
//!  haresources ▶ HaResources::parse ───▶ HaResources (groups: node + resources)
//!                 (needs the node list of ha.cf)
//!  InitOptions + random key ─▶ init::render ─▶ RenderedConfig ─▶ init::write ─▶ a config dir
//!
//!  every parser: Ok(Parsed { value, notices }) or Err(ConfigErrors)
//! ```
//!
//! [`load_dir`] does all three for `halod`, resolving this node's name against ha.cf.
//!
//! ```
//! use std::path::Path;
//! use std::time::Duration;
//! use halo_config::HaCf;
//!
//! let text = b"keepalive 100ms\ndeadtime 1\nucast eth0 10.0.0.2\nnode a b\nwatchdog /dev/watchdog\n";
//! let parsed = HaCf::parse(Path::new("/etc/ha.d/ha.cf"), text).unwrap();
//! assert_eq!(parsed.value.timing.deadtime, Duration::from_secs(1));
//! assert_eq!(parsed.value.local_node("A").unwrap().as_str(), "a");
//! // watchdog is kept for later, and says so:
//! assert_eq!(
//!     parsed.notices[0].to_string(),
//!     "/etc/ha.d/ha.cf:5: watchdog: kept for later: halo does not act on it yet \
//!      (comes with fencing)"
//! );
//!
//! let bad = HaCf::parse(Path::new("/etc/ha.d/ha.cf"), b"node a\nbcast eth0\nkeepalive 1\ndeadtime 1500ms\n");
//! assert_eq!(
//!     bad.unwrap_err().to_string(),
//!     "/etc/ha.d/ha.cf:4: deadtime: 1500ms must be more than twice keepalive (1s)"
//! );
//! ```
//!
//! **Errors** ([`ConfigError`]) name file, line and directive:
//! `/etc/ha.d/ha.cf:12: deadtime: 1500ms must be more than twice keepalive (1s)`.
//! A parser reports every line error it finds, not just the first ([`ConfigErrors`]).
//! **Notices** ([`Notice`]) are returned as values, never logged here: a directive halo
//! keeps for later, an alias, a default that differs from heartbeat's, a `crc` key.
//!
//! The crate reads the files it is given and does nothing else: no clocks, sockets,
//! processes or name resolution. Key material is never part of an error, a notice or a
//! `Debug` output, and is wiped from memory when dropped.
//!
//! Compatibility with heartbeat 3.0.6, and where halo deliberately differs, is described
//! per file: [`hacf`], [`authkeys`], [`haresources`], and time values in [`time`].

pub mod authkeys;
mod error;
pub mod fuzzing;
pub mod hacf;
pub mod haresources;
pub mod init;
mod lex;
mod load;
mod notice;
#[cfg(test)]
mod testutil;
pub mod time;

pub use authkeys::{AuthKeys, Key, Secret};
pub use error::{ConfigError, ConfigErrors, Problem};
pub use hacf::{HaCf, Medium, MediumKind, Timing};
pub use haresources::{HaResource, HaResources, ResourceGroup};
pub use load::{Config, load_dir};
pub use notice::{Notice, Severity};

/// A parsed file and what is worth telling the administrator about it.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// The typed contents.
    pub value: T,
    /// Notices, in file order where they have a line. `halod` logs them at start-up.
    pub notices: Vec<Notice>,
}
