//! Shared test fixture: a private directory tree for agents, state and fake tools.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use halo_lrm::agent::SystemdConfig;
use halo_lrm::{
    AgentConfig, AgentSpec, Lrm, LrmConfig, LrmEvent, OpRequest, OpResult, ResourceDef,
};

/// The system's OCF root, where Debian's resource-agents live.
pub const SYSTEM_OCF: &str = "/usr/lib/ocf";

/// A test's own directories.
pub struct Fx {
    pub dir: tempfile::TempDir,
    pub ocf_root: PathBuf,
    pub init_d: PathBuf,
    pub ha_d: PathBuf,
    pub state_dir: PathBuf,
    pub rsctmp: PathBuf,
    pub bin: PathBuf,
    pub work: PathBuf,
}

impl Fx {
    pub fn new() -> Fx {
        let dir = tempfile::Builder::new()
            .prefix("halo-lrm-")
            .tempdir()
            .unwrap();
        let p = dir.path().to_path_buf();
        let fx = Fx {
            ocf_root: p.join("ocf"),
            init_d: p.join("init.d"),
            ha_d: p.join("resource.d"),
            state_dir: p.join("state"),
            rsctmp: p.join("rsctmp"),
            bin: p.join("bin"),
            work: p.join("work"),
            dir,
        };
        for d in [
            &fx.ocf_root.join("resource.d/halotest"),
            &fx.init_d,
            &fx.ha_d,
            &fx.bin,
            &fx.work,
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        fx
    }

    pub fn agent_config(&self) -> AgentConfig {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        AgentConfig {
            ocf_roots: vec![self.ocf_root.clone(), PathBuf::from(SYSTEM_OCF)],
            init_d: self.init_d.clone(),
            ha_resource_d: self.ha_d.clone(),
            systemd: SystemdConfig {
                bus_address: None,
                runtime_dir: self.dir.path().join("no-systemd"),
            },
            env: vec![
                ("PATH".into(), path),
                ("HA_RSCTMP".into(), self.rsctmp.display().to_string()),
            ],
            kill_grace: Duration::from_millis(500),
            ..AgentConfig::default()
        }
    }

    pub fn config(&self) -> LrmConfig {
        let mut c = LrmConfig::new("node1", self.state_dir.clone());
        c.agents = self.agent_config();
        c.rsc_tmp_dir = Some(self.rsctmp.clone());
        c
    }

    pub fn lrm(&self) -> Lrm {
        Lrm::open(self.config()).unwrap()
    }

    fn write_exec(path: &Path, body: &str) -> PathBuf {
        std::fs::write(path, body).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_path_buf()
    }

    /// An OCF agent `ocf:halotest:NAME`.
    pub fn ocf_agent(&self, name: &str, body: &str) -> AgentSpec {
        Self::write_exec(&self.ocf_root.join("resource.d/halotest").join(name), body);
        AgentSpec::ocf("halotest", name)
    }

    pub fn init_script(&self, name: &str, body: &str) -> PathBuf {
        Self::write_exec(&self.init_d.join(name), body)
    }

    pub fn hb_script(&self, name: &str, body: &str) -> PathBuf {
        Self::write_exec(&self.ha_d.join(name), body)
    }

    /// A program on the agents' PATH.
    pub fn tool(&self, name: &str, body: &str) -> PathBuf {
        Self::write_exec(&self.bin.join(name), body)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }
}

pub fn params(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub async fn register(lrm: &Lrm, id: &str, agent: &AgentSpec, kv: &[(&str, &str)]) {
    lrm.register(ResourceDef {
        id: id.to_string(),
        agent: agent.clone(),
        params: params(kv),
        meta: BTreeMap::new(),
    })
    .await
    .unwrap();
}

/// Runs a one-shot op with a generous timeout.
pub async fn op(lrm: &Lrm, id: &str, action: &str) -> OpResult {
    let mut req = OpRequest::new(id, action, 0);
    req.timeout_ms = Some(60_000);
    lrm.execute(req).await.unwrap()
}

/// The same, with a timeout in milliseconds.
pub async fn op_timeout(lrm: &Lrm, id: &str, action: &str, timeout_ms: u64) -> OpResult {
    let mut req = OpRequest::new(id, action, 0);
    req.timeout_ms = Some(timeout_ms);
    lrm.execute(req).await.unwrap()
}

/// Waits (up to a generous deadline) for a `Completed` event matching `pred`.
pub async fn wait_event(
    rx: &mut tokio::sync::broadcast::Receiver<LrmEvent>,
    pred: impl Fn(&OpResult) -> bool,
) -> OpResult {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("no matching event within 60 s")
            .expect("event channel closed");
        if let LrmEvent::Completed { result } = ev
            && pred(&result)
        {
            return *result;
        }
    }
}

/// Waits for `cond` to become true, polling, up to a generous deadline.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a process is gone (no /proc entry, or a zombie nobody reaped: it no longer
/// runs).
pub fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|s| s.split_whitespace().next());
            matches!(state, Some("Z" | "X"))
        }
    }
}
