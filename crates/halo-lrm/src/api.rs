//! The LRM's request/response API, for `halod`'s socket and the `halo` command.
//!
//! Each request is a serde value; [`Lrm::handle`] answers it. The socket layer only
//! has to frame these values and pass events from [`Lrm::subscribe`] along.

use serde::{Deserialize, Serialize};

use crate::agent::{AgentSpec, Class};
use crate::history::{LrmRscOp, ResourceDef, ResourceHistory};
use crate::lrm::{Lrm, OpRequest, OpResult};
use crate::metadata::AgentMetadata;

/// What a client can ask the LRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "request")]
pub enum LrmRequest {
    /// Agents installed here, optionally of one class (and OCF provider).
    ListAgents {
        /// The class.
        #[serde(default)]
        class: Option<Class>,
        /// The OCF provider.
        #[serde(default)]
        provider: Option<String>,
    },
    /// OCF providers installed here.
    ListProviders,
    /// An agent's parsed meta-data.
    Metadata {
        /// The agent.
        agent: AgentSpec,
    },
    /// Define (or redefine) a resource.
    Register {
        /// The definition.
        resource: ResourceDef,
    },
    /// Forget a resource (its recurring ops are cancelled, its history removed).
    Unregister {
        /// The resource id.
        id: String,
    },
    /// Registered resources.
    Resources,
    /// Run an operation. One-shot ops answer with their result; recurring ones
    /// (interval > 0) answer with their call id and report through events.
    Execute {
        /// The operation.
        op: OpRequest,
    },
    /// Cancel a recurring operation.
    Cancel {
        /// The resource.
        resource: String,
        /// The action.
        action: String,
        /// The interval in milliseconds.
        interval_ms: u64,
    },
    /// Operation histories (all resources when `resource` is `None`).
    History {
        /// One resource.
        #[serde(default)]
        resource: Option<String>,
    },
    /// The `lrm_rsc_op` entries for the CIB status section.
    StatusEntries {
        /// One resource.
        #[serde(default)]
        resource: Option<String>,
    },
    /// Probe every resource.
    ProbeAll,
}

/// The LRM's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "response")]
pub enum LrmResponse {
    /// Done, nothing to return.
    Ok,
    /// Agents.
    Agents {
        /// The agents.
        agents: Vec<AgentSpec>,
    },
    /// OCF providers.
    Providers {
        /// The providers.
        providers: Vec<String>,
    },
    /// Meta-data.
    Metadata {
        /// The parsed meta-data.
        metadata: Box<AgentMetadata>,
    },
    /// Resources.
    Resources {
        /// The definitions.
        resources: Vec<ResourceDef>,
    },
    /// A one-shot operation's result.
    Result {
        /// The result.
        result: Box<OpResult>,
    },
    /// A recurring operation started (or was already running).
    Recurring {
        /// Its call id.
        call_id: i64,
    },
    /// Histories.
    History {
        /// Per resource.
        histories: Vec<ResourceHistory>,
    },
    /// CIB status entries per resource.
    StatusEntries {
        /// `(resource definition, entries)`.
        resources: Vec<(ResourceDef, Vec<LrmRscOp>)>,
    },
    /// Probe results.
    Probes {
        /// One per resource; failures to run are in `errors`.
        results: Vec<OpResult>,
        /// Probes that could not run.
        errors: Vec<String>,
    },
    /// The request failed.
    Error {
        /// Why.
        message: String,
    },
}

impl Lrm {
    /// Answers one request.
    pub async fn handle(&self, req: LrmRequest) -> LrmResponse {
        let err = |e: &dyn std::fmt::Display| LrmResponse::Error {
            message: e.to_string(),
        };
        match req {
            LrmRequest::ListAgents { class, provider } => {
                match self.agents().list(class, provider.as_deref()).await {
                    Ok(agents) => LrmResponse::Agents { agents },
                    Err(e) => err(&e),
                }
            }
            LrmRequest::ListProviders => match self.agents().ocf_providers() {
                Ok(providers) => LrmResponse::Providers { providers },
                Err(e) => err(&e),
            },
            LrmRequest::Metadata { agent } => match self.agents().metadata(&agent).await {
                Ok(md) => LrmResponse::Metadata {
                    metadata: Box::new((*md).clone()),
                },
                Err(e) => err(&e),
            },
            LrmRequest::Register { resource } => match self.register(resource).await {
                Ok(()) => LrmResponse::Ok,
                Err(e) => err(&e),
            },
            LrmRequest::Unregister { id } => match self.unregister(&id).await {
                Ok(()) => LrmResponse::Ok,
                Err(e) => err(&e),
            },
            LrmRequest::Resources => LrmResponse::Resources {
                resources: self.resources(),
            },
            LrmRequest::Execute { op } if op.interval_ms > 0 => {
                match self.start_recurring(op).await {
                    Ok(call_id) => LrmResponse::Recurring { call_id },
                    Err(e) => err(&e),
                }
            }
            LrmRequest::Execute { op } => match self.execute(op).await {
                Ok(r) => LrmResponse::Result {
                    result: Box::new(r),
                },
                Err(e) => err(&e),
            },
            LrmRequest::Cancel {
                resource,
                action,
                interval_ms,
            } => match self.cancel(&resource, &action, interval_ms).await {
                Ok(()) => LrmResponse::Ok,
                Err(e) => err(&e),
            },
            LrmRequest::History { resource } => match resource {
                None => LrmResponse::History {
                    histories: self.histories(),
                },
                Some(id) => match self.history(&id) {
                    Some(h) => LrmResponse::History { histories: vec![h] },
                    None => err(&format!("unknown resource '{id}'")),
                },
            },
            LrmRequest::StatusEntries { resource } => {
                let hs: Vec<ResourceHistory> = match resource {
                    None => self.histories(),
                    Some(id) => match self.history(&id) {
                        Some(h) => vec![h],
                        None => return err(&format!("unknown resource '{id}'")),
                    },
                };
                LrmResponse::StatusEntries {
                    resources: hs
                        .into_iter()
                        .map(|h| {
                            let ops = h.lrm_rsc_ops();
                            (h.resource, ops)
                        })
                        .collect(),
                }
            }
            LrmRequest::ProbeAll => {
                let mut results = Vec::new();
                let mut errors = Vec::new();
                for r in self.probe_all().await {
                    match r {
                        Ok(r) => results.push(r),
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                LrmResponse::Probes { results, errors }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_a_stable_json_shape() {
        let r: LrmRequest = serde_json::from_str(
            r#"{"request":"execute","op":{"resource":"ip","action":"start","timeout_ms":20000}}"#,
        )
        .expect("parses");
        let LrmRequest::Execute { op } = r else {
            panic!("wrong variant");
        };
        assert_eq!(
            (op.resource.as_str(), op.action.as_str(), op.interval_ms),
            ("ip", "start", 0)
        );
        let r: LrmRequest =
            serde_json::from_str(r#"{"request":"metadata","agent":"ocf:heartbeat:Dummy"}"#)
                .expect("parses");
        assert_eq!(
            r,
            LrmRequest::Metadata {
                agent: AgentSpec::ocf("heartbeat", "Dummy")
            }
        );
        let bad =
            serde_json::from_str::<LrmRequest>(r#"{"request":"metadata","agent":"ocf:Dummy"}"#)
                .expect_err("bad spec");
        assert!(bad.to_string().contains("ocf:PROVIDER:TYPE"), "{bad}");
    }
}
