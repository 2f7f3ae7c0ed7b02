//! The `systemd` class: units driven over systemd's D-Bus API, never `systemctl`
//! (Pacemaker `lib/services/systemd.c`).
//!
//! ```text
//!  LoadUnit(name) ─▶ unit path ─▶ LoadState "not-found"? ─▶ not installed (stop: ok)
//!  monitor: ActiveState  active|reloading → 0, activating|deactivating → pending
//!           (asked again until settled), anything else → 7
//!  start:   drop-in (Restart=no, Before=halod) → Reload → StartUnit(name, "replace")
//!           → wait for JobRemoved of that job → "done" → 0
//!  stop:    StopUnit(name, "replace") → JobRemoved → remove drop-in → 0
//! ```
//!
//! Where systemd does not run (no `/run/systemd/system`, the marker `sd_booted()`
//! checks; or no `org.freedesktop.systemd1` on the bus), every unit is "not installed"
//! (rc 5, status not installed), except that `stop` succeeds: a unit that cannot exist
//! is stopped. The bus address is configurable so tests can put their own systemd
//! double on a private bus and drive this very code.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use zbus::proxy::CacheProperties;
use zbus::zvariant::OwnedObjectPath;
use zbus::{Connection, DBusError, Proxy};

use crate::agent::{
    AgentConfig, AgentError, AgentSpec, BoxFuture, Class, ExecOutcome, ExecRequest, ResourceAgent,
};
use crate::exec::{CancelSignal, Captured, now_epoch_ms};
use crate::metadata::synthesize;
use crate::rc::{ExecStatus, OcfRc};

const DEST: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const UNIT: &str = "org.freedesktop.systemd1.Unit";

/// How to reach systemd.
#[derive(Debug, Clone)]
pub struct SystemdConfig {
    /// A D-Bus address to use instead of the system bus (tests).
    pub bus_address: Option<String>,
    /// The directory whose existence means "booted with systemd" (`sd_booted()`), also
    /// where runtime drop-ins go: `/run/systemd/system`.
    pub runtime_dir: PathBuf,
}

impl Default for SystemdConfig {
    fn default() -> Self {
        SystemdConfig {
            bus_address: None,
            runtime_dir: PathBuf::from("/run/systemd/system"),
        }
    }
}

/// The unit name systemd knows: `.service` is added when there is no unit suffix, and
/// a template `name@` gets the instance `halo`.
pub fn unit_name(name: &str) -> String {
    const SUFFIXES: &[&str] = &[
        ".service",
        ".socket",
        ".device",
        ".mount",
        ".automount",
        ".swap",
        ".target",
        ".path",
        ".timer",
        ".snapshot",
        ".slice",
        ".scope",
    ];
    if SUFFIXES.iter().any(|s| name.ends_with(s)) {
        name.to_string()
    } else if name.ends_with('@') {
        format!("{name}halo.service")
    } else {
        format!("{name}.service")
    }
}

/// Why systemd cannot be asked.
#[derive(Debug)]
enum Unreachable {
    /// Not booted with systemd, or no systemd on the bus.
    NotRunning(String),
    /// The bus itself failed.
    Bus(String),
}

/// What went wrong in a D-Bus exchange.
#[derive(Debug)]
enum CallError {
    /// The unit does not exist.
    NoUnit(String),
    /// systemd is not on the bus.
    NotRunning(String),
    /// Anything else.
    Other(String),
}

impl From<zbus::Error> for CallError {
    fn from(e: zbus::Error) -> Self {
        let name = match &e {
            zbus::Error::MethodError(n, _, _) => Some(n.to_string()),
            zbus::Error::FDO(f) => Some(f.name().to_string()),
            _ => None,
        };
        match name.as_deref() {
            Some(
                "org.freedesktop.systemd1.NoSuchUnit"
                | "org.freedesktop.systemd1.LoadFailed"
                | "org.freedesktop.systemd1.InvalidName",
            ) => CallError::NoUnit(e.to_string()),
            Some(
                "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner",
            ) => CallError::NotRunning(e.to_string()),
            // The bus tried to start systemd on demand and could not.
            Some(n) if n.starts_with("org.freedesktop.DBus.Error.Spawn.") => {
                CallError::NotRunning(e.to_string())
            }
            _ => CallError::Other(e.to_string()),
        }
    }
}

/// A systemd unit.
#[derive(Debug)]
pub struct SystemdAgent {
    spec: AgentSpec,
    unit: String,
    cfg: Arc<AgentConfig>,
}

impl SystemdAgent {
    pub(crate) fn new(name: &str, cfg: Arc<AgentConfig>) -> Self {
        SystemdAgent {
            spec: AgentSpec::simple(Class::Systemd, name),
            unit: unit_name(name),
            cfg,
        }
    }

    async fn connect(&self) -> Result<Connection, Unreachable> {
        let sd = &self.cfg.systemd;
        let conn = match &sd.bus_address {
            Some(addr) => {
                let builder = zbus::connection::Builder::address(addr.as_str())
                    .map_err(|e| Unreachable::Bus(format!("bad D-Bus address {addr}: {e}")))?;
                builder.build().await
            }
            None => {
                if !sd.runtime_dir.is_dir() {
                    return Err(Unreachable::NotRunning(format!(
                        "systemd is not running on this host ({} does not exist)",
                        sd.runtime_dir.display()
                    )));
                }
                Connection::system().await
            }
        };
        conn.map_err(|e| Unreachable::Bus(format!("cannot connect to the system bus: {e}")))
    }

    async fn manager(conn: &Connection) -> Result<Proxy<'static>, CallError> {
        Ok(zbus::proxy::Builder::new(conn)
            .destination(DEST)?
            .path(MANAGER_PATH)?
            .interface(MANAGER)?
            .cache_properties(CacheProperties::No)
            .build()
            .await?)
    }

    async fn unit_proxy(
        conn: &Connection,
        path: OwnedObjectPath,
    ) -> Result<Proxy<'static>, CallError> {
        Ok(zbus::proxy::Builder::new(conn)
            .destination(DEST)?
            .path(path)?
            .interface(UNIT)?
            .cache_properties(CacheProperties::No)
            .build()
            .await?)
    }

    /// The unit's object, or `NoUnit` when systemd does not know it.
    async fn load(&self, conn: &Connection, mgr: &Proxy<'_>) -> Result<Proxy<'static>, CallError> {
        let path: OwnedObjectPath = mgr.call("LoadUnit", &(self.unit.as_str(),)).await?;
        let unit = Self::unit_proxy(conn, path).await?;
        let load_state: String = unit.get_property("LoadState").await?;
        if load_state == "not-found" {
            return Err(CallError::NoUnit(format!(
                "systemd unit {} not found",
                self.unit
            )));
        }
        Ok(unit)
    }

    /// Whether systemd runs and knows this unit (for `service:`).
    pub async fn unit_exists(&self) -> bool {
        let Ok(conn) = self.connect().await else {
            return false;
        };
        let Ok(mgr) = Self::manager(&conn).await else {
            return false;
        };
        self.load(&conn, &mgr).await.is_ok()
    }

    /// Service units systemd has files for; empty where systemd does not run.
    pub async fn list_units(&self) -> Vec<String> {
        let Ok(conn) = self.connect().await else {
            return Vec::new();
        };
        let Ok(mgr) = Self::manager(&conn).await else {
            return Vec::new();
        };
        let files: Vec<(String, String)> = match mgr.call("ListUnitFiles", &()).await {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!("systemd ListUnitFiles failed: {e}");
                return Vec::new();
            }
        };
        let mut units: Vec<String> = files
            .into_iter()
            .filter_map(|(path, _state)| {
                let name = path.rsplit('/').next()?.to_string();
                (name.ends_with(".service") && !name.ends_with("@.service")).then_some(name)
            })
            .collect();
        units.sort();
        units.dedup();
        units
    }

    fn dropin_path(&self) -> PathBuf {
        self.cfg
            .systemd
            .runtime_dir
            .join(format!("{}.d", self.unit))
            .join("50-halo.conf")
    }

    async fn write_dropin(&self) -> std::io::Result<()> {
        let path = self.dropin_path();
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let mut text = format!(
            "[Unit]\nDescription=Cluster Controlled {}\nBefore=halod.service\n",
            self.unit
        );
        if self.unit.ends_with(".service") {
            text.push_str("\n[Service]\nRestart=no\n");
        }
        tokio::fs::write(&path, text).await
    }

    async fn remove_dropin(&self) {
        let path = self.dropin_path();
        if let Err(e) = tokio::fs::remove_file(&path).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove {}: {e}", path.display());
        }
        if let Some(dir) = path.parent() {
            let _ = tokio::fs::remove_dir(dir).await;
        }
    }

    /// Calls `method(unit, "replace")` and waits for its job to be removed; returns the
    /// job's result ("done", "failed", "canceled", "timeout", "dependency", …).
    async fn run_job(&self, mgr: &Proxy<'_>, method: &str) -> Result<String, CallError> {
        // Signals are only sent to subscribed clients; failing to subscribe is harmless
        // when the bus delivers them anyway.
        if let Err(e) = mgr.call::<_, _, ()>("Subscribe", &()).await {
            tracing::debug!("systemd Subscribe failed: {e}");
        }
        let mut removed = mgr.receive_signal("JobRemoved").await?;
        let job: OwnedObjectPath = mgr.call(method, &(self.unit.as_str(), "replace")).await?;
        while let Some(msg) = removed.next().await {
            let Ok((_id, path, _unit, result)) = msg
                .body()
                .deserialize::<(u32, OwnedObjectPath, String, String)>()
            else {
                continue;
            };
            if path == job {
                return Ok(result);
            }
        }
        Err(CallError::Other(
            "the bus connection closed while waiting for the job".into(),
        ))
    }

    /// `ActiveState` mapped to an rc, or `None` while it is changing.
    async fn state(unit: &Proxy<'_>) -> Result<(Option<OcfRc>, String), CallError> {
        let state: String = unit.get_property("ActiveState").await?;
        let rc = match state.as_str() {
            "active" | "reloading" => Some(OcfRc::OK),
            "activating" | "deactivating" => None,
            _ => Some(OcfRc::NOT_RUNNING),
        };
        Ok((rc, state))
    }

    async fn run(
        &self,
        conn: &Connection,
        action: &str,
    ) -> Result<(OcfRc, Option<String>), CallError> {
        let mgr = Self::manager(conn).await?;
        let unit = self.load(conn, &mgr).await?;
        match action {
            "monitor" | "status" => loop {
                // Pending states are asked again until they settle (the timeout bounds
                // this), as Pacemaker's follow-up monitors do.
                match Self::state(&unit).await? {
                    (Some(rc), state) => {
                        return Ok((rc, (rc == OcfRc::NOT_RUNNING).then_some(state)));
                    }
                    (None, _) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            },
            "start" => {
                self.write_dropin().await.map_err(|e| {
                    CallError::Other(format!("cannot write the drop-in for {}: {e}", self.unit))
                })?;
                mgr.call::<_, _, ()>("Reload", &()).await?;
                let result = self.run_job(&mgr, "StartUnit").await?;
                job_outcome(action, &self.unit, &result)
            }
            "stop" => {
                let result = self.run_job(&mgr, "StopUnit").await?;
                self.remove_dropin().await;
                job_outcome(action, &self.unit, &result)
            }
            "restart" => {
                let result = self.run_job(&mgr, "RestartUnit").await?;
                job_outcome(action, &self.unit, &result)
            }
            other => Ok((
                OcfRc::ERR_UNIMPLEMENTED,
                Some(format!(
                    "action {other} is not implemented for systemd resources"
                )),
            )),
        }
    }

    fn synthesized_metadata(&self, description: Option<&str>) -> String {
        let desc = description
            .map(str::to_string)
            .unwrap_or_else(|| format!("systemd unit file for {}", self.spec.kind));
        synthesize(
            &self.spec.kind,
            &desc,
            &desc,
            &[],
            &[
                ("start", "100s", None),
                ("stop", "100s", None),
                ("status", "100s", None),
                ("monitor", "100s", Some("60s")),
                ("meta-data", "5s", None),
            ],
            None,
        )
    }
}

fn job_outcome(
    action: &str,
    unit: &str,
    result: &str,
) -> Result<(OcfRc, Option<String>), CallError> {
    if result == "done" {
        Ok((OcfRc::OK, None))
    } else {
        Ok((
            OcfRc::ERR_GENERIC,
            Some(format!(
                "systemd job for {action} of {unit} ended with result '{result}'"
            )),
        ))
    }
}

impl ResourceAgent for SystemdAgent {
    fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    fn execute<'a>(
        &'a self,
        req: &'a ExecRequest,
        mut cancel: CancelSignal,
    ) -> BoxFuture<'a, ExecOutcome> {
        Box::pin(async move {
            let started = now_epoch_ms();
            let t0 = std::time::Instant::now();
            let finish = |rc: OcfRc, status: ExecStatus, reason: Option<String>| {
                let mut o = ExecOutcome::decided(rc, status, reason);
                o.started_ms = started;
                o.duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
                o
            };
            if req.action == "meta-data" {
                let mut o = finish(OcfRc::OK, ExecStatus::Done, None);
                o.stdout = Captured {
                    text: self.synthesized_metadata(None),
                    ..Captured::default()
                };
                o.stdout.total_bytes = o.stdout.text.len() as u64;
                return o;
            }
            let unknown = |why: String| {
                if req.action == "stop" {
                    // A unit that cannot exist is stopped (Pacemaker masks this too).
                    finish(OcfRc::OK, ExecStatus::Done, None)
                } else {
                    finish(OcfRc::ERR_INSTALLED, ExecStatus::NotInstalled, Some(why))
                }
            };
            let timeout = Duration::from_millis(req.timeout_ms);
            let work = async {
                let conn = match self.connect().await {
                    Ok(c) => c,
                    Err(Unreachable::NotRunning(why)) => return unknown(why),
                    Err(Unreachable::Bus(why)) => {
                        return finish(OcfRc::ERR_GENERIC, ExecStatus::Error, Some(why));
                    }
                };
                match self.run(&conn, &req.action).await {
                    Ok((rc, reason)) => finish(rc, ExecStatus::Done, reason),
                    Err(CallError::NoUnit(why)) => unknown(why),
                    Err(CallError::NotRunning(why)) => {
                        unknown(format!("systemd is not running on this bus: {why}"))
                    }
                    Err(CallError::Other(why)) => finish(
                        OcfRc::ERR_GENERIC,
                        ExecStatus::Error,
                        Some(format!("unable to invoke systemd D-Bus method: {why}")),
                    ),
                }
            };
            tokio::select! {
                r = tokio::time::timeout(timeout, work) => match r {
                    Ok(o) => o,
                    Err(_) => finish(
                        OcfRc::ERR_GENERIC,
                        ExecStatus::Timeout,
                        Some(format!("{} action for systemd unit {} did not complete in time", req.action, self.unit)),
                    ),
                },
                () = cancel.cancelled() => finish(OcfRc::OK, ExecStatus::Cancelled, None),
            }
        })
    }

    fn metadata_xml(&self) -> BoxFuture<'_, Result<String, AgentError>> {
        Box::pin(async move {
            let mut description = None;
            if let Ok(conn) = self.connect().await
                && let Ok(mgr) = Self::manager(&conn).await
                && let Ok(unit) = self.load(&conn, &mgr).await
            {
                description = unit.get_property::<String>("Description").await.ok();
            }
            Ok(self.synthesized_metadata(description.as_deref()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_like_pacemaker() {
        assert_eq!(unit_name("nginx"), "nginx.service");
        assert_eq!(unit_name("nginx.service"), "nginx.service");
        assert_eq!(unit_name("data.mount"), "data.mount");
        assert_eq!(unit_name("getty@"), "getty@halo.service");
    }
}
