//! The `heartbeat` class: release-1 scripts, `SCRIPT ARG1 … ARGn ACTION`, whose
//! `status` is read from what they print, not from their exit code.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::agent::lsb::lsb_action;
use crate::agent::process::{not_installed, run_mapped};
use crate::agent::{
    AgentConfig, AgentError, AgentSpec, BoxFuture, Class, ExecOutcome, ExecRequest, ResourceAgent,
};
use crate::exec::{CancelSignal, Invocation};
use crate::metadata::{SynthParam, synthesize};
use crate::rc::{heartbeat_status, is_status_action, lsb2ocf};

/// A heartbeat release-1 resource script.
#[derive(Debug)]
pub struct HeartbeatAgent {
    spec: AgentSpec,
    cfg: Arc<AgentConfig>,
    env: Arc<Vec<(OsString, OsString)>>,
}

impl HeartbeatAgent {
    pub(crate) fn new(
        name: &str,
        cfg: Arc<AgentConfig>,
        env: Arc<Vec<(OsString, OsString)>>,
    ) -> Self {
        HeartbeatAgent {
            spec: AgentSpec::simple(Class::Heartbeat, name),
            cfg,
            env,
        }
    }

    /// `resource.d/NAME`, else `init.d/NAME`, as release-1 `ResourceManager` looked.
    pub fn locate(&self) -> Option<PathBuf> {
        [&self.cfg.ha_resource_d, &self.cfg.init_d]
            .into_iter()
            .map(|d| d.join(&self.spec.kind))
            .find(|p| p.exists())
    }
}

/// The positional arguments: parameters named `1`, `2`, … in numeric order, gaps
/// skipped; other names are not arguments.
pub fn positional_args(params: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    let mut numbered: Vec<(u32, &String)> = params
        .iter()
        .filter_map(|(k, v)| k.parse::<u32>().ok().map(|n| (n, v)))
        .collect();
    numbered.sort_by_key(|(n, _)| *n);
    numbered.into_iter().map(|(_, v)| v.clone()).collect()
}

impl ResourceAgent for HeartbeatAgent {
    fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    fn execute<'a>(
        &'a self,
        req: &'a ExecRequest,
        cancel: CancelSignal,
    ) -> BoxFuture<'a, ExecOutcome> {
        Box::pin(async move {
            let Some(path) = self.locate() else {
                return not_installed(
                    &self.spec.to_string(),
                    &[&self.cfg.ha_resource_d, &self.cfg.init_d],
                );
            };
            let action = lsb_action(&req.action).to_string();
            let mut args: Vec<OsString> = positional_args(&req.params)
                .into_iter()
                .map(Into::into)
                .collect();
            args.push(action.clone().into());
            let inv = Invocation {
                program: path,
                args,
                env: crate::agent::lsb::with_extra(&self.env, req),
                timeout: Duration::from_millis(req.timeout_ms),
                kill_grace: self.cfg.kill_grace,
                output_limit: self.cfg.output_limit,
                exit_reasons: false,
            };
            run_mapped(&inv, &req.action, "script", cancel, |code, stdout| {
                if is_status_action(&action) {
                    heartbeat_status(stdout.text.as_bytes())
                } else {
                    lsb2ocf(&action, code)
                }
            })
            .await
        })
    }

    fn metadata_xml(&self) -> BoxFuture<'_, Result<String, AgentError>> {
        Box::pin(async move {
            if self.locate().is_none() {
                return Err(AgentError::NotInstalled {
                    spec: self.spec.to_string(),
                    searched: format!(
                        "{}, {}",
                        self.cfg.ha_resource_d.display(),
                        self.cfg.init_d.display()
                    ),
                });
            }
            let name = &self.spec.kind;
            let params: Vec<SynthParam<'_>> = ["1", "2", "3", "4", "5"]
                .into_iter()
                .map(|n| SynthParam {
                    name: n,
                    desc: "positional argument",
                })
                .collect();
            Ok(synthesize(
                name,
                &format!("{name}: a heartbeat release-1 resource script"),
                &format!(
                    "{name} is called as '{name} [ARG…] start|stop|status'; status is read from its output."
                ),
                &params,
                &[
                    ("start", "15s", None),
                    ("stop", "15s", None),
                    ("status", "15s", None),
                    ("monitor", "15s", Some("15s")),
                    ("meta-data", "5s", None),
                ],
                None,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_arguments_in_numeric_order_with_gaps() {
        let p: std::collections::BTreeMap<String, String> =
            [("10", "ten"), ("2", "two"), ("1", "one"), ("name", "x")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(positional_args(&p), vec!["one", "two", "ten"]);
    }
}
