//! The `ocf` class: `$OCF_ROOT/resource.d/PROVIDER/TYPE ACTION` with the OCF
//! environment (OCF resource agent API 1.1, as Pacemaker sets it).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::agent::process::{not_installed, run_mapped};
use crate::agent::{
    AgentConfig, AgentError, AgentSpec, BoxFuture, ExecOutcome, ExecRequest, ResourceAgent,
};
use crate::exec::{CancelSignal, Invocation};
use crate::rc::{ExecStatus, ocf2ocf};

/// An OCF resource agent.
#[derive(Debug)]
pub struct OcfAgent {
    spec: AgentSpec,
    cfg: Arc<AgentConfig>,
    env: Arc<Vec<(OsString, OsString)>>,
}

impl OcfAgent {
    pub(crate) fn new(
        spec: AgentSpec,
        cfg: Arc<AgentConfig>,
        env: Arc<Vec<(OsString, OsString)>>,
    ) -> Self {
        OcfAgent { spec, cfg, env }
    }

    fn provider(&self) -> &str {
        self.spec.provider.as_deref().unwrap_or_default()
    }

    /// The first OCF root holding the agent, and the agent's path there.
    pub fn locate(&self) -> Option<(PathBuf, PathBuf)> {
        self.cfg.ocf_roots.iter().find_map(|root| {
            let path = root
                .join("resource.d")
                .join(self.provider())
                .join(&self.spec.kind);
            path.exists().then(|| (root.clone(), path))
        })
    }

    fn searched(&self) -> Vec<PathBuf> {
        self.cfg
            .ocf_roots
            .iter()
            .map(|r| r.join("resource.d").join(self.provider()))
            .collect()
    }

    /// The environment of one call: the base environment plus the OCF variables.
    fn environment(&self, root: &std::path::Path, req: &ExecRequest) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = self.env.as_ref().clone();
        let mut set = |k: &str, v: &str| env.push((k.into(), v.into()));
        set("OCF_ROOT", &root.to_string_lossy());
        set("OCF_RA_VERSION_MAJOR", "1");
        set("OCF_RA_VERSION_MINOR", "1");
        set("OCF_EXIT_REASON_PREFIX", crate::exec::EXIT_REASON_PREFIX);
        set("OCF_RESOURCE_INSTANCE", &req.instance);
        set("OCF_RESOURCE_TYPE", &self.spec.kind);
        set("OCF_RESOURCE_PROVIDER", self.provider());
        set("OCF_RESKEY_crm_feature_set", &self.cfg.crm_feature_set);
        for (k, v) in &req.params {
            if k == "OCF_CHECK_LEVEL" {
                set("OCF_CHECK_LEVEL", v);
            } else {
                set(&format!("OCF_RESKEY_{k}"), v);
            }
        }
        for (k, v) in &req.meta {
            set(&format!("OCF_RESKEY_CRM_meta_{}", k.replace('-', "_")), v);
        }
        set("OCF_RESKEY_CRM_meta_timeout", &req.timeout_ms.to_string());
        set("OCF_RESKEY_CRM_meta_interval", &req.interval_ms.to_string());
        set("OCF_RESKEY_CRM_meta_name", &req.action);
        env.extend(req.env.iter().map(|(k, v)| (k.into(), v.into())));
        env
    }
}

impl ResourceAgent for OcfAgent {
    fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    fn execute<'a>(
        &'a self,
        req: &'a ExecRequest,
        cancel: CancelSignal,
    ) -> BoxFuture<'a, ExecOutcome> {
        Box::pin(async move {
            let Some((root, path)) = self.locate() else {
                let searched = self.searched();
                let refs: Vec<&std::path::Path> = searched.iter().map(|p| p.as_path()).collect();
                return not_installed(&self.spec.to_string(), &refs);
            };
            let inv = Invocation {
                program: path,
                args: vec![req.action.clone().into()],
                env: self.environment(&root, req),
                timeout: Duration::from_millis(req.timeout_ms),
                kill_grace: self.cfg.kill_grace,
                output_limit: self.cfg.output_limit,
                exit_reasons: true,
            };
            run_mapped(&inv, &req.action, "agent", cancel, |code, _| ocf2ocf(code)).await
        })
    }

    fn metadata_xml(&self) -> BoxFuture<'_, Result<String, AgentError>> {
        Box::pin(async move {
            let req = ExecRequest {
                instance: self.spec.kind.clone(),
                action: "meta-data".into(),
                interval_ms: 0,
                timeout_ms: u64::try_from(self.cfg.metadata_timeout.as_millis())
                    .unwrap_or(u64::MAX),
                ..ExecRequest::default()
            };
            let out = self.execute(&req, CancelSignal::never()).await;
            if out.status == ExecStatus::NotInstalled {
                return Err(AgentError::NotInstalled {
                    spec: self.spec.to_string(),
                    searched: self
                        .searched()
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            if out.status != ExecStatus::Done || out.rc.0 != 0 || out.stdout.text.trim().is_empty()
            {
                return Err(AgentError::MetadataFailed {
                    spec: self.spec.to_string(),
                    rc: out.rc,
                    status: out.status,
                    reason: out
                        .exit_reason
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default(),
                });
            }
            Ok(out.stdout.text)
        })
    }
}
