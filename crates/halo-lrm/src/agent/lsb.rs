//! The `lsb` class: `/etc/init.d/NAME ACTION`, no parameters, LSB status codes.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::agent::process::{not_installed, run_mapped};
use crate::agent::{
    AgentConfig, AgentError, AgentSpec, BoxFuture, Class, ExecOutcome, ExecRequest, ResourceAgent,
};
use crate::exec::{CancelSignal, Invocation};
use crate::metadata::{parse_init_info, synthesize};
use crate::rc::lsb2ocf;

/// The init script `name` under the configured init directory.
pub(crate) fn script_path(cfg: &AgentConfig, name: &str) -> PathBuf {
    cfg.init_d.join(name)
}

/// The base environment plus the request's extra variables.
pub(crate) fn with_extra(
    base: &[(OsString, OsString)],
    req: &ExecRequest,
) -> Vec<(OsString, OsString)> {
    let mut env = base.to_vec();
    env.extend(req.env.iter().map(|(k, v)| (k.into(), v.into())));
    env
}

/// An LSB init script.
#[derive(Debug)]
pub struct LsbAgent {
    spec: AgentSpec,
    cfg: Arc<AgentConfig>,
    env: Arc<Vec<(OsString, OsString)>>,
}

impl LsbAgent {
    pub(crate) fn new(
        name: &str,
        cfg: Arc<AgentConfig>,
        env: Arc<Vec<(OsString, OsString)>>,
    ) -> Self {
        LsbAgent {
            spec: AgentSpec::simple(Class::Lsb, name),
            cfg,
            env,
        }
    }
}

/// What an init script is asked for an OCF action: `monitor` is `status`.
pub(crate) fn lsb_action(action: &str) -> &str {
    if action == "monitor" {
        "status"
    } else {
        action
    }
}

impl ResourceAgent for LsbAgent {
    fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    fn execute<'a>(
        &'a self,
        req: &'a ExecRequest,
        cancel: CancelSignal,
    ) -> BoxFuture<'a, ExecOutcome> {
        Box::pin(async move {
            let path = script_path(&self.cfg, &self.spec.kind);
            if !path.exists() {
                return not_installed(&self.spec.to_string(), &[&self.cfg.init_d]);
            }
            let action = lsb_action(&req.action).to_string();
            let inv = Invocation {
                program: path,
                args: vec![action.clone().into()],
                env: with_extra(&self.env, req),
                timeout: Duration::from_millis(req.timeout_ms),
                kill_grace: self.cfg.kill_grace,
                output_limit: self.cfg.output_limit,
                exit_reasons: false,
            };
            run_mapped(&inv, &req.action, "init script", cancel, |code, _| {
                lsb2ocf(&action, code)
            })
            .await
        })
    }

    fn metadata_xml(&self) -> BoxFuture<'_, Result<String, AgentError>> {
        Box::pin(async move {
            let path = script_path(&self.cfg, &self.spec.kind);
            let script = tokio::fs::read(&path).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    AgentError::NotInstalled {
                        spec: self.spec.to_string(),
                        searched: self.cfg.init_d.display().to_string(),
                    }
                } else {
                    AgentError::Io {
                        path: path.clone(),
                        source: e,
                    }
                }
            })?;
            let info = parse_init_info(&String::from_utf8_lossy(&script));
            let name = &self.spec.kind;
            let short = info.get("Short-Description").unwrap_or(name).to_string();
            let long = info.get("Description").unwrap_or(&short).to_string();
            Ok(synthesize(
                name,
                &short,
                &long,
                &[],
                &[
                    ("meta-data", "5s", None),
                    ("start", "15s", None),
                    ("stop", "15s", None),
                    ("status", "15s", None),
                    ("restart", "15s", None),
                    ("force-reload", "15s", None),
                    ("monitor", "15s", Some("15s")),
                ],
                Some(("LSB", &info.fields)),
            ))
        })
    }
}
