//! The systemd class's real D-Bus code against a systemd double on a private bus.
//!
//! These machines do not run systemd, so the test starts its own `dbus-daemon` and
//! serves `org.freedesktop.systemd1` there with the parts of systemd's API the LRM
//! uses (LoadUnit, StartUnit, StopUnit, Reload, Subscribe, ListUnitFiles, the JobRemoved
//! signal, the units' LoadState/ActiveState/Description). The LRM's client code is the
//! one halod uses against the real systemd.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::BufRead as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use halo_lrm::agent::SystemdConfig;
use halo_lrm::{AgentSpec, Class, ExecStatus, OcfRc};
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{ObjectPath, OwnedObjectPath};

/// A private bus daemon, killed (by pid) when dropped.
struct Bus {
    child: std::process::Child,
    address: String,
}

impl Bus {
    fn start(dir: &std::path::Path) -> Bus {
        // Our own configuration: no service directories, so nothing is started on
        // demand and a missing name is just missing.
        let conf = dir.join("bus.conf");
        std::fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.join("bus").display()
            ),
        )
        .unwrap();
        let mut child = std::process::Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("dbus-daemon (package dbus-daemon) must be installed");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Bus {
            child,
            address: line.trim().to_string(),
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct Units {
    /// unit name → ActiveState, for the units that "exist".
    active: HashMap<String, String>,
    next_job: u32,
}

struct Manager {
    units: Arc<Mutex<Units>>,
}

fn unit_path(name: &str) -> OwnedObjectPath {
    let escaped: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("_{b:02x}")
            }
        })
        .collect();
    OwnedObjectPath::try_from(format!("/org/freedesktop/systemd1/unit/{escaped}")).unwrap()
}

struct Unit {
    name: String,
    units: Arc<Mutex<Units>>,
}

#[zbus::interface(name = "org.freedesktop.systemd1.Unit")]
impl Unit {
    #[zbus(property)]
    fn load_state(&self) -> String {
        if self.units.lock().unwrap().active.contains_key(&self.name) {
            "loaded"
        } else {
            "not-found"
        }
        .into()
    }

    #[zbus(property)]
    fn active_state(&self) -> String {
        self.units
            .lock()
            .unwrap()
            .active
            .get(&self.name)
            .cloned()
            .unwrap_or_else(|| "inactive".into())
    }

    #[zbus(property)]
    fn description(&self) -> String {
        format!("The {} double", self.name)
    }
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl Manager {
    async fn load_unit(
        &self,
        name: String,
        #[zbus(object_server)] server: &zbus::ObjectServer,
    ) -> zbus::fdo::Result<OwnedObjectPath> {
        let path = unit_path(&name);
        server
            .at(
                &path,
                Unit {
                    name,
                    units: Arc::clone(&self.units),
                },
            )
            .await
            .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))?;
        Ok(path)
    }

    fn reload(&self) {}

    fn subscribe(&self) {}

    fn list_unit_files(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .units
            .lock()
            .unwrap()
            .active
            .keys()
            .map(|u| (format!("/lib/systemd/system/{u}"), "enabled".to_string()))
            .collect();
        v.sort();
        v
    }

    async fn start_unit(
        &self,
        name: String,
        _mode: String,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> OwnedObjectPath {
        self.job(name, "active", emitter).await
    }

    async fn stop_unit(
        &self,
        name: String,
        _mode: String,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> OwnedObjectPath {
        self.job(name, "inactive", emitter).await
    }

    #[zbus(signal)]
    async fn job_removed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        job: ObjectPath<'_>,
        unit: &str,
        result: &str,
    ) -> zbus::Result<()>;
}

impl Manager {
    /// Queues a job: after a moment the unit reaches `target` and JobRemoved is sent,
    /// except for `hang.service` (never) and `fail.service` (result "failed").
    async fn job(&self, name: String, target: &str, emitter: SignalEmitter<'_>) -> OwnedObjectPath {
        let id = {
            let mut u = self.units.lock().unwrap();
            u.next_job += 1;
            u.next_job
        };
        let job = OwnedObjectPath::try_from(format!("/org/freedesktop/systemd1/job/{id}")).unwrap();
        if name == "hang.service" {
            return job;
        }
        let units = Arc::clone(&self.units);
        let emitter = emitter.into_owned();
        let target = target.to_string();
        let job2 = job.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let result = if name == "fail.service" {
                "failed"
            } else {
                units.lock().unwrap().active.insert(name.clone(), target);
                "done"
            };
            Manager::job_removed(&emitter, id, job2.as_ref(), &name, result)
                .await
                .unwrap();
        });
        job
    }
}

async fn serve_systemd(address: &str, units: &[&str]) -> zbus::Connection {
    let state = Arc::new(Mutex::new(Units::default()));
    for u in units {
        state
            .lock()
            .unwrap()
            .active
            .insert((*u).to_string(), "inactive".into());
    }
    zbus::connection::Builder::address(address)
        .unwrap()
        .name("org.freedesktop.systemd1")
        .unwrap()
        .serve_at("/org/freedesktop/systemd1", Manager { units: state })
        .unwrap()
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_units_over_dbus() {
    let fx = Fx::new();
    let bus = Bus::start(fx.dir.path());
    let runtime_dir = fx.dir.path().join("run-systemd");
    let mut cfg = fx.config();
    cfg.agents.systemd = SystemdConfig {
        bus_address: Some(bus.address.clone()),
        runtime_dir: runtime_dir.clone(),
    };
    let lrm = halo_lrm::Lrm::open(cfg).unwrap();
    register(&lrm, "demo", &"systemd:demo".parse().unwrap(), &[]).await;

    // A bus without systemd on it: not installed, stop succeeds.
    let r = op(&lrm, "demo", "start").await;
    assert_eq!(
        (r.outcome.rc, r.outcome.status),
        (OcfRc::ERR_INSTALLED, ExecStatus::NotInstalled),
        "{r:?}"
    );
    assert!(op(&lrm, "demo", "stop").await.ok());

    let _systemd = serve_systemd(
        &bus.address,
        &["demo.service", "hang.service", "fail.service"],
    )
    .await;

    let probe = op(&lrm, "demo", "monitor").await;
    assert_eq!(
        (probe.outcome.rc, probe.outcome.exit_reason.as_deref()),
        (OcfRc::NOT_RUNNING, Some("inactive"))
    );
    let start = op(&lrm, "demo", "start").await;
    assert!(start.ok(), "{start:?}");
    let dropin = runtime_dir.join("demo.service.d/50-halo.conf");
    let text = std::fs::read_to_string(&dropin).unwrap();
    assert!(
        text.contains("Restart=no") && text.contains("Cluster Controlled demo.service"),
        "{text}"
    );
    assert_eq!(op(&lrm, "demo", "monitor").await.outcome.rc, OcfRc::OK);
    assert!(op(&lrm, "demo", "stop").await.ok());
    assert!(!dropin.exists(), "the drop-in goes with the stop");
    assert_eq!(
        op(&lrm, "demo", "monitor").await.outcome.rc,
        OcfRc::NOT_RUNNING
    );
    let md = lrm
        .agents()
        .metadata(&"systemd:demo".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(md.shortdesc.as_deref(), Some("The demo.service double"));

    // A unit systemd does not know.
    register(&lrm, "ghost", &"systemd:ghost".parse().unwrap(), &[]).await;
    let r = op(&lrm, "ghost", "start").await;
    assert_eq!(
        (r.outcome.rc, r.outcome.status),
        (OcfRc::ERR_INSTALLED, ExecStatus::NotInstalled)
    );
    assert!(
        r.outcome
            .exit_reason
            .unwrap()
            .contains("ghost.service not found")
    );
    assert!(
        op(&lrm, "ghost", "stop").await.ok(),
        "a unit that does not exist is stopped"
    );

    // A job that never finishes times out; one that fails is a failure.
    register(&lrm, "hang", &"systemd:hang".parse().unwrap(), &[]).await;
    let r = op_timeout(&lrm, "hang", "start", 500).await;
    assert_eq!(r.outcome.status, ExecStatus::Timeout);
    register(&lrm, "fail", &"systemd:fail.service".parse().unwrap(), &[]).await;
    let r = op(&lrm, "fail", "start").await;
    assert_eq!(r.outcome.rc, OcfRc::ERR_GENERIC);
    assert!(r.outcome.exit_reason.unwrap().contains("result 'failed'"));
    register(&lrm, "odd", &"systemd:demo".parse().unwrap(), &[]).await;
    assert_eq!(
        op(&lrm, "odd", "promote").await.outcome.rc,
        OcfRc::ERR_UNIMPLEMENTED
    );

    // service: picks systemd when there is no init script but systemd has the unit.
    register(&lrm, "svc", &"service:demo".parse().unwrap(), &[]).await;
    let r = op(&lrm, "svc", "monitor").await;
    assert_eq!(r.agent, AgentSpec::simple(Class::Systemd, "demo"));
    let units = lrm.agents().list(Some(Class::Systemd), None).await.unwrap();
    assert_eq!(
        units.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>(),
        ["demo.service", "fail.service", "hang.service"]
    );
}
