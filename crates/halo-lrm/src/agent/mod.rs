//! Resource agent classes behind one trait.
//!
//! ```text
//!  "ocf:heartbeat:IPaddr2" ──parse──▶ AgentSpec ──Agents::resolve──▶ Box<dyn ResourceAgent>
//!                                                                    │ execute(ExecRequest)
//!                                        ocf / lsb / heartbeat: a child process (exec.rs)
//!                                        systemd: D-Bus calls to systemd1
//!                                                                    ▼
//!                                                              ExecOutcome (rc, status, …)
//! ```
//!
//! `service:NAME` resolves to `lsb` when `/etc/init.d/NAME` exists, else to `systemd`
//! when systemd knows the unit, else to `lsb` (Pacemaker's `expand_resource_class`).
//! `stonith:` is recognised and refused: fencing devices are run by the fencing service.
//! `ocf:halo:IPaddr` is built in ([`builtin`]): it runs in-process, not as a script.

pub mod builtin;
mod heartbeat;
mod lsb;
mod ocf;
mod process;
mod systemd;

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::exec::{CancelSignal, Captured};
use crate::metadata::{self, AgentMetadata, MetadataError};
use crate::rc::{ExecStatus, OcfRc};

pub use heartbeat::HeartbeatAgent;
pub use lsb::LsbAgent;
pub use ocf::OcfAgent;
pub use systemd::{SystemdAgent, SystemdConfig, unit_name};

/// A boxed, sendable future (what [`ResourceAgent`] methods return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The resource agent classes ("standards" in Pacemaker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Open Cluster Framework agents, `ocf:PROVIDER:TYPE`.
    Ocf,
    /// LSB init scripts, `lsb:NAME`.
    Lsb,
    /// Heartbeat release-1 scripts, `heartbeat:NAME`.
    Heartbeat,
    /// systemd units, `systemd:UNIT`.
    Systemd,
    /// `service:NAME`: lsb or systemd, whichever has it.
    Service,
    /// Fence devices: reserved for the fencing service.
    Stonith,
}

impl Class {
    /// All classes, in listing order.
    pub const ALL: [Class; 6] = [
        Class::Ocf,
        Class::Lsb,
        Class::Heartbeat,
        Class::Systemd,
        Class::Service,
        Class::Stonith,
    ];

    /// The class's name as written in agent specs.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Ocf => "ocf",
            Class::Lsb => "lsb",
            Class::Heartbeat => "heartbeat",
            Class::Systemd => "systemd",
            Class::Service => "service",
            Class::Stonith => "stonith",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Class {
    type Err = AgentError;
    fn from_str(s: &str) -> Result<Self, AgentError> {
        Class::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| AgentError::BadSpec {
                spec: s.to_string(),
                why: "unknown class (expected ocf, lsb, heartbeat, systemd, service or stonith)"
                    .into(),
            })
    }
}

/// Which agent: `class[:provider]:type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentSpec {
    /// The class.
    pub class: Class,
    /// The provider (OCF only).
    pub provider: Option<String>,
    /// The agent's type: script, unit or OCF type name.
    pub kind: String,
}

impl AgentSpec {
    /// An OCF spec.
    pub fn ocf(provider: &str, kind: &str) -> Self {
        AgentSpec {
            class: Class::Ocf,
            provider: Some(provider.to_string()),
            kind: kind.to_string(),
        }
    }

    /// A spec of a class without providers.
    pub fn simple(class: Class, kind: &str) -> Self {
        AgentSpec {
            class,
            provider: None,
            kind: kind.to_string(),
        }
    }
}

impl fmt::Display for AgentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.provider {
            Some(p) => write!(f, "{}:{}:{}", self.class, p, self.kind),
            None => write!(f, "{}:{}", self.class, self.kind),
        }
    }
}

/// A name part must not walk out of its directory or hide.
fn check_part(spec: &str, what: &str, part: &str) -> Result<(), AgentError> {
    let bad = |why: String| AgentError::BadSpec {
        spec: spec.to_string(),
        why,
    };
    if part.is_empty() {
        return Err(bad(format!("the {what} is empty")));
    }
    if part.starts_with('.') {
        return Err(bad(format!("the {what} '{part}' starts with '.'")));
    }
    if let Some(c) = part
        .chars()
        .find(|c| *c == '/' || *c == '\0' || c.is_whitespace())
    {
        return Err(bad(format!("the {what} '{part}' contains {c:?}")));
    }
    Ok(())
}

impl FromStr for AgentSpec {
    type Err = AgentError;
    fn from_str(s: &str) -> Result<Self, AgentError> {
        let parts: Vec<&str> = s.split(':').collect();
        let class: Class = parts[0].parse().map_err(|_| AgentError::BadSpec {
            spec: s.to_string(),
            why: format!(
                "unknown class '{}' (expected ocf, lsb, heartbeat, systemd, service or stonith)",
                parts[0]
            ),
        })?;
        let spec = match (class, parts.len()) {
            (Class::Ocf, 3) => {
                check_part(s, "provider", parts[1])?;
                AgentSpec::ocf(parts[1], parts[2])
            }
            (Class::Ocf, _) => {
                return Err(AgentError::BadSpec {
                    spec: s.to_string(),
                    why: "OCF agents are written ocf:PROVIDER:TYPE".into(),
                });
            }
            (_, 2) => AgentSpec::simple(class, parts[1]),
            (_, _) => {
                return Err(AgentError::BadSpec {
                    spec: s.to_string(),
                    why: format!("{class} agents are written {class}:NAME"),
                });
            }
        };
        check_part(s, "type", &spec.kind)?;
        Ok(spec)
    }
}

impl TryFrom<String> for AgentSpec {
    type Error = AgentError;
    fn try_from(s: String) -> Result<Self, AgentError> {
        s.parse()
    }
}

impl From<AgentSpec> for String {
    fn from(s: AgentSpec) -> String {
        s.to_string()
    }
}

/// Errors of agent lookup and meta-data (an operation's own failure is an
/// [`ExecOutcome`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The spec is malformed.
    #[error("bad agent '{spec}': {why}")]
    BadSpec {
        /// What was given.
        spec: String,
        /// What is wrong.
        why: String,
    },
    /// `stonith:` agents belong to the fencing service.
    #[error("'{0}': stonith agents are run by the fencing service, not the LRM")]
    Reserved(String),
    /// The agent is not installed.
    #[error("{spec}: not installed (looked in {searched})")]
    NotInstalled {
        /// The agent.
        spec: String,
        /// Where we looked.
        searched: String,
    },
    /// `meta-data` did not succeed.
    #[error("{spec}: meta-data failed: {status}, rc {rc}{reason}")]
    MetadataFailed {
        /// The agent.
        spec: String,
        /// The rc it returned.
        rc: OcfRc,
        /// How it ended.
        status: ExecStatus,
        /// ": exit reason", or empty.
        reason: String,
    },
    /// The meta-data could not be parsed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// A directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Where agents live and what they get, shared by every class.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// OCF roots, searched in order; the first that holds the agent is its `OCF_ROOT`.
    pub ocf_roots: Vec<PathBuf>,
    /// LSB init scripts (`/etc/init.d`).
    pub init_d: PathBuf,
    /// Heartbeat release-1 scripts (`/etc/ha.d/resource.d`).
    pub ha_resource_d: PathBuf,
    /// The systemd class.
    pub systemd: SystemdConfig,
    /// Environment variables every agent gets, on top of [`AgentConfig::inherit_env`]
    /// (later entries win). Tests put their own `PATH` here.
    pub env: Vec<(String, String)>,
    /// Whether agents inherit this process's environment (minus `OCF_*`/`CRM_meta_*`).
    pub inherit_env: bool,
    /// Bytes of stdout and of stderr kept per operation.
    pub output_limit: usize,
    /// SIGTERM → SIGKILL grace when an operation times out or is cancelled.
    pub kill_grace: Duration,
    /// Timeout of `meta-data` calls.
    pub metadata_timeout: Duration,
    /// The Pacemaker feature set announced to agents (`OCF_RESKEY_crm_feature_set`),
    /// which some use to pick between `crm_master` and `crm_attribute -p`.
    pub crm_feature_set: String,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            ocf_roots: vec![PathBuf::from("/usr/lib/ocf")],
            init_d: PathBuf::from("/etc/init.d"),
            ha_resource_d: PathBuf::from("/etc/ha.d/resource.d"),
            systemd: SystemdConfig::default(),
            env: Vec::new(),
            inherit_env: true,
            output_limit: 64 * 1024,
            kill_grace: Duration::from_secs(5),
            metadata_timeout: Duration::from_secs(30),
            crm_feature_set: "3.16.2".to_string(),
        }
    }
}

impl AgentConfig {
    /// The environment every agent starts from.
    pub fn base_env(&self) -> Vec<(OsString, OsString)> {
        let mut env: BTreeMap<OsString, OsString> = BTreeMap::new();
        if self.inherit_env {
            for (k, v) in std::env::vars_os() {
                let ks = k.to_string_lossy();
                if ks.starts_with("OCF_") || ks.starts_with("CRM_meta") {
                    continue;
                }
                env.insert(k, v);
            }
        }
        env.entry("PATH".into())
            .or_insert_with(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
        for (k, v) in &self.env {
            env.insert(k.into(), v.into());
        }
        env.into_iter().collect()
    }
}

/// One operation for an agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRequest {
    /// The resource's id (`OCF_RESOURCE_INSTANCE`).
    pub instance: String,
    /// The action (`start`, `monitor`, …).
    pub action: String,
    /// Interval in milliseconds, 0 for one-shot ops and probes.
    pub interval_ms: u64,
    /// Timeout in milliseconds.
    pub timeout_ms: u64,
    /// Instance parameters (OCF: `OCF_RESKEY_*`; heartbeat: `"1"`, `"2"`, …; an
    /// `OCF_CHECK_LEVEL` entry becomes that variable).
    pub params: BTreeMap<String, String>,
    /// Meta-attributes (`OCF_RESKEY_CRM_meta_*`, `-` written `_`); timeout, interval and
    /// name are always set from the fields above.
    pub meta: BTreeMap<String, String>,
    /// Extra environment for this call only (diagnostics such as `OCF_TRACE_RA`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// What an agent said, in the executor's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecOutcome {
    /// OCF result after the class's mapping.
    pub rc: OcfRc,
    /// How the execution ended.
    pub status: ExecStatus,
    /// Why, when the agent or the executor said (`ocf-exit-reason:`, timeout, signal).
    pub exit_reason: Option<String>,
    /// The raw exit status, when the process exited.
    pub exit_code: Option<i32>,
    /// The signal that ended the process, when one did.
    pub signal: Option<i32>,
    /// Standard output (bounded).
    pub stdout: Captured,
    /// Standard error (bounded).
    pub stderr: Captured,
    /// The agent's process id, if a process ran.
    pub pid: Option<u32>,
    /// Start, milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// Run time in milliseconds.
    pub duration_ms: u64,
}

impl ExecOutcome {
    /// An outcome the executor decided without running anything.
    pub fn decided(rc: OcfRc, status: ExecStatus, reason: Option<String>) -> Self {
        ExecOutcome {
            rc,
            status,
            exit_reason: reason,
            exit_code: None,
            signal: None,
            stdout: Captured::default(),
            stderr: Captured::default(),
            pid: None,
            started_ms: crate::exec::now_epoch_ms(),
            duration_ms: 0,
        }
    }
}

/// One resource agent of any class.
///
/// Requirements on implementations: `execute` never panics and never outlives
/// `timeout_ms` plus the configured kill grace by more than scheduling noise; every
/// way of failing is an [`ExecOutcome`] (not installed, timed out, …), never an error.
pub trait ResourceAgent: Send + Sync + fmt::Debug {
    /// The agent's spec, with the class resolved (never `service`).
    fn spec(&self) -> &AgentSpec;

    /// Runs one action. `cancel` kills it (the outcome is then "cancelled").
    fn execute<'a>(
        &'a self,
        req: &'a ExecRequest,
        cancel: CancelSignal,
    ) -> BoxFuture<'a, ExecOutcome>;

    /// The agent's meta-data as OCF XML (run or synthesized).
    fn metadata_xml(&self) -> BoxFuture<'_, Result<String, AgentError>>;
}

/// Looks agents up and caches their meta-data.
#[derive(Debug, Clone)]
pub struct Agents {
    config: Arc<AgentConfig>,
    base_env: Arc<Vec<(OsString, OsString)>>,
    cache: Arc<Mutex<HashMap<AgentSpec, Arc<AgentMetadata>>>>,
    /// The built-in agents' netlink connection (opened on first use).
    net: builtin::SharedNet,
}

impl Agents {
    /// Agents found through `config`.
    pub fn new(config: AgentConfig) -> Self {
        let base_env = Arc::new(config.base_env());
        Agents {
            config: Arc::new(config),
            base_env,
            cache: Arc::new(Mutex::new(HashMap::new())),
            net: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The agent for `spec`. A missing agent is not an error here: running it reports
    /// "not installed", as Pacemaker does.
    pub async fn resolve(&self, spec: &AgentSpec) -> Result<Arc<dyn ResourceAgent>, AgentError> {
        let cfg = Arc::clone(&self.config);
        let env = Arc::clone(&self.base_env);
        Ok(match spec.class {
            Class::Ocf if builtin::is_builtin(spec) => {
                Arc::new(builtin::IpAddrAgent::new(Arc::clone(&self.net)))
            }
            Class::Ocf => Arc::new(OcfAgent::new(spec.clone(), cfg, env)),
            Class::Lsb => Arc::new(LsbAgent::new(&spec.kind, cfg, env)),
            Class::Heartbeat => Arc::new(HeartbeatAgent::new(&spec.kind, cfg, env)),
            Class::Systemd => Arc::new(SystemdAgent::new(&spec.kind, cfg)),
            Class::Service => {
                if lsb::script_path(&self.config, &spec.kind).is_file() {
                    Arc::new(LsbAgent::new(&spec.kind, cfg, env))
                } else {
                    let sd = SystemdAgent::new(&spec.kind, Arc::clone(&cfg));
                    if sd.unit_exists().await {
                        Arc::new(sd)
                    } else {
                        Arc::new(LsbAgent::new(&spec.kind, cfg, env))
                    }
                }
            }
            Class::Stonith => return Err(AgentError::Reserved(spec.to_string())),
        })
    }

    /// The parsed meta-data of `spec`, from the cache or by asking the agent.
    pub async fn metadata(&self, spec: &AgentSpec) -> Result<Arc<AgentMetadata>, AgentError> {
        if let Some(md) = self.cached(spec) {
            return Ok(md);
        }
        let agent = self.resolve(spec).await?;
        let xml = agent.metadata_xml().await?;
        let md = Arc::new(metadata::parse(&spec.to_string(), &xml)?);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(spec.clone(), Arc::clone(&md));
        }
        Ok(md)
    }

    /// Meta-data already cached for `spec`.
    pub fn cached(&self, spec: &AgentSpec) -> Option<Arc<AgentMetadata>> {
        self.cache.lock().ok().and_then(|c| c.get(spec).cloned())
    }

    /// Forgets cached meta-data (after an agent was upgraded).
    pub fn forget_metadata(&self, spec: Option<&AgentSpec>) {
        if let Ok(mut c) = self.cache.lock() {
            match spec {
                Some(s) => {
                    c.remove(s);
                }
                None => c.clear(),
            }
        }
    }

    /// OCF providers present under the OCF roots (and `halo`, whose agents are built
    /// in), sorted.
    pub fn ocf_providers(&self) -> Result<Vec<String>, AgentError> {
        let mut out = vec![builtin::PROVIDER.to_string()];
        for root in &self.config.ocf_roots {
            let dir = root.join("resource.d");
            for name in list_dir(&dir, |p| p.is_dir())? {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Agents of `class` (all classes when `None`), OCF ones of `provider` only when
    /// given. Sorted by class then name.
    pub async fn list(
        &self,
        class: Option<Class>,
        provider: Option<&str>,
    ) -> Result<Vec<AgentSpec>, AgentError> {
        let mut out = Vec::new();
        let classes: Vec<Class> = match class {
            Some(c) => vec![c],
            None => vec![Class::Ocf, Class::Lsb, Class::Heartbeat, Class::Systemd],
        };
        for c in classes {
            match c {
                Class::Ocf => {
                    let providers = match provider {
                        Some(p) => vec![p.to_string()],
                        None => self.ocf_providers()?,
                    };
                    for p in providers {
                        if p == builtin::PROVIDER {
                            out.extend(
                                builtin::TYPES
                                    .iter()
                                    .map(|t| AgentSpec::ocf(builtin::PROVIDER, t)),
                            );
                        }
                        for root in &self.config.ocf_roots {
                            let dir = root.join("resource.d").join(&p);
                            for t in list_dir(&dir, is_executable_file)? {
                                let s = AgentSpec::ocf(&p, &t);
                                if !out.contains(&s) {
                                    out.push(s);
                                }
                            }
                        }
                    }
                }
                Class::Lsb => {
                    for t in list_dir(&self.config.init_d, is_executable_file)? {
                        out.push(AgentSpec::simple(Class::Lsb, &t));
                    }
                }
                Class::Heartbeat => {
                    for t in list_dir(&self.config.ha_resource_d, is_executable_file)? {
                        out.push(AgentSpec::simple(Class::Heartbeat, &t));
                    }
                }
                Class::Systemd => {
                    let sd = SystemdAgent::new("", Arc::clone(&self.config));
                    for u in sd.list_units().await {
                        out.push(AgentSpec::simple(Class::Systemd, &u));
                    }
                }
                Class::Service => {
                    for t in list_dir(&self.config.init_d, is_executable_file)? {
                        out.push(AgentSpec::simple(Class::Service, &t));
                    }
                    let sd = SystemdAgent::new("", Arc::clone(&self.config));
                    for u in sd.list_units().await {
                        let name = u.strip_suffix(".service").unwrap_or(&u).to_string();
                        let s = AgentSpec::simple(Class::Service, &name);
                        if !out.contains(&s) {
                            out.push(s);
                        }
                    }
                }
                Class::Stonith => return Err(AgentError::Reserved("stonith".into())),
            }
        }
        Ok(out)
    }
}

/// Regular (or symlinked) executable files.
pub(crate) fn is_executable_file(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Sorted names of non-hidden entries of `dir` that pass `keep`; a missing directory is
/// empty.
fn list_dir(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<String>, AgentError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(AgentError::Io {
                path: dir.to_path_buf(),
                source: e,
            });
        }
    };
    let mut out = Vec::new();
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if keep(&entry.path()) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print() {
        for s in [
            "ocf:heartbeat:Dummy",
            "lsb:postgresql",
            "heartbeat:IPaddr",
            "systemd:nginx.service",
            "service:foo",
            "stonith:fence_dummy",
        ] {
            let spec: AgentSpec = s.parse().expect(s);
            assert_eq!(spec.to_string(), s);
        }
        let spec: AgentSpec = "OCF:pacemaker:Stateful"
            .parse()
            .expect("case-insensitive class");
        assert_eq!(spec.class, Class::Ocf);
    }

    #[test]
    fn bad_specs_say_why() {
        for (s, why) in [
            ("ocf:Dummy", "ocf:PROVIDER:TYPE"),
            ("lsb:a:b", "lsb:NAME"),
            ("nfs:x", "unknown class"),
            ("ocf:heartbeat:sub/sh", "contains '/'"),
            ("ocf:heartbeat:../sh", "starts with '.'"),
            ("lsb:.hidden", "starts with '.'"),
            ("lsb:", "empty"),
        ] {
            let e = s.parse::<AgentSpec>().expect_err(s).to_string();
            assert!(e.contains(why), "{s}: {e}");
        }
    }
}
