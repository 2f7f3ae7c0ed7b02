//! Agents built into halo and run in-process: `ocf:halo:IPaddr`.
//!
//! Taking over a virtual IP address is on the failover path, so halo does not fork a
//! script for it: the LRM calls `halo_net::agent::run` (netlink to add or remove the
//! address, gratuitous ARP or unsolicited neighbour advertisements to announce it) on
//! its own runtime, with one long-lived [`halo_net::Net`] per [`Agents`](super::Agents)
//! (opened on first use, in the namespace and on the runtime of that first use: halod's
//! resource manager thread). The agent behaves exactly as the `halo-ipaddr` binary
//! installed as `/usr/lib/ocf/resource.d/halo/IPaddr` would (same code, same exit
//! codes, same meta-data), so users see an ordinary OCF agent in `halo agent list`
//! and `halo agent meta`, and the timeout and cancellation rules of every other agent
//! apply.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use halo_net::agent::{Action, Options, Params};

use crate::agent::{AgentError, AgentSpec, BoxFuture, ExecOutcome, ExecRequest, ResourceAgent};
use crate::exec::{CancelSignal, Captured};
use crate::rc::{ExecStatus, OcfRc};

/// The provider of the built-in agents.
pub const PROVIDER: &str = "halo";

/// The types of the built-in agents (all of provider [`PROVIDER`]).
pub const TYPES: [&str; 1] = ["IPaddr"];

/// Whether `spec` names a built-in agent.
pub fn is_builtin(spec: &AgentSpec) -> bool {
    spec.provider.as_deref() == Some(PROVIDER) && TYPES.contains(&spec.kind.as_str())
}

/// The netlink connection shared by the built-in agents, opened on first use.
pub(crate) type SharedNet = Arc<OnceLock<Result<halo_net::Net, String>>>;

/// `ocf:halo:IPaddr`, run in-process.
#[derive(Debug)]
pub struct IpAddrAgent {
    spec: AgentSpec,
    net: SharedNet,
}

impl IpAddrAgent {
    pub(crate) fn new(net: SharedNet) -> Self {
        IpAddrAgent {
            spec: AgentSpec::ocf(PROVIDER, "IPaddr"),
            net,
        }
    }

    fn net(&self) -> Result<&halo_net::Net, String> {
        self.net
            .get_or_init(|| halo_net::Net::open().map_err(|e| format!("cannot open netlink: {e}")))
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn rc_of(rc: halo_net::agent::OcfRc) -> OcfRc {
    OcfRc(rc.code())
}

fn text(s: Option<String>) -> Captured {
    let text = s.unwrap_or_default();
    Captured {
        total_bytes: u64::try_from(text.len()).unwrap_or(u64::MAX),
        text,
        truncated: false,
    }
}

impl ResourceAgent for IpAddrAgent {
    fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    fn execute<'a>(
        &'a self,
        req: &'a ExecRequest,
        mut cancel: CancelSignal,
    ) -> BoxFuture<'a, ExecOutcome> {
        Box::pin(async move {
            let Some(action) = Action::parse(&req.action) else {
                return ExecOutcome::decided(
                    OcfRc::ERR_UNIMPLEMENTED,
                    ExecStatus::Done,
                    Some(format!("ocf:halo:IPaddr has no action '{}'", req.action)),
                );
            };
            let offline = halo_net::agent::offline(action);
            let net = match (&offline, self.net()) {
                (None, Err(e)) => {
                    return ExecOutcome::decided(OcfRc::ERR_GENERIC, ExecStatus::Error, Some(e));
                }
                (_, net) => net.ok(),
            };
            let params = Params::from_pairs(
                req.params
                    .iter()
                    .filter(|(k, _)| k.as_str() != "OCF_CHECK_LEVEL")
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            let started = Instant::now();
            let mut out = ExecOutcome::decided(OcfRc::OK, ExecStatus::Done, None);
            let outcome = match (offline, net) {
                (Some(o), _) => o,
                (None, Some(net)) => {
                    let options = Options::default();
                    let run = halo_net::agent::run(net, action, &params, &options);
                    tokio::select! {
                        o = tokio::time::timeout(Duration::from_millis(req.timeout_ms), run) => match o {
                            Ok(o) => o,
                            Err(_) => {
                                out.rc = OcfRc::ERR_GENERIC;
                                out.status = ExecStatus::Timeout;
                                out.exit_reason = Some(format!(
                                    "{} did not finish within {} ms",
                                    req.action, req.timeout_ms
                                ));
                                out.duration_ms = elapsed_ms(started);
                                return out;
                            }
                        },
                        () = cancel.cancelled() => {
                            out.status = ExecStatus::Cancelled;
                            out.duration_ms = elapsed_ms(started);
                            return out;
                        }
                    }
                }
                (None, None) => unreachable_outcome(),
            };
            out.rc = rc_of(outcome.rc);
            out.exit_code = Some(outcome.rc.code());
            out.duration_ms = elapsed_ms(started);
            out.stdout = text(outcome.stdout);
            // A reason on success is a remark ("was already there"), not an exit reason.
            if outcome.rc == halo_net::agent::OcfRc::Success {
                out.stderr = text(outcome.reason);
            } else {
                out.exit_reason = outcome.reason;
            }
            out
        })
    }

    fn metadata_xml(&self) -> BoxFuture<'_, Result<String, AgentError>> {
        Box::pin(async { Ok(halo_net::agent::meta_data()) })
    }
}

/// `net` is `None` only when opening failed, which returned early above.
fn unreachable_outcome() -> halo_net::agent::Outcome {
    halo_net::agent::Outcome {
        rc: halo_net::agent::OcfRc::ErrGeneric,
        reason: Some("netlink is not available".into()),
        stdout: None,
    }
}

fn elapsed_ms(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> IpAddrAgent {
        IpAddrAgent::new(Arc::new(OnceLock::new()))
    }

    #[test]
    fn only_halo_ipaddr_is_built_in() {
        assert!(is_builtin(&"ocf:halo:IPaddr".parse().expect("spec")));
        assert!(!is_builtin(&"ocf:heartbeat:IPaddr".parse().expect("spec")));
        assert!(!is_builtin(&"ocf:halo:Dummy".parse().expect("spec")));
    }

    #[test]
    fn meta_data_and_unknown_actions_need_no_kernel() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let a = agent();
            let xml = a.metadata_xml().await.expect("meta-data");
            let md = crate::metadata::parse("ocf:halo:IPaddr", &xml).expect("parses");
            assert!(md.parameters.iter().any(|p| p.name == "ip" && p.required));
            let req = ExecRequest {
                instance: "vip".into(),
                action: "frobnicate".into(),
                timeout_ms: 1000,
                ..ExecRequest::default()
            };
            let out = a.execute(&req, CancelSignal::never()).await;
            assert_eq!(
                (out.rc, out.status),
                (OcfRc::ERR_UNIMPLEMENTED, ExecStatus::Done)
            );
            // Bad parameters are the configuration's fault wherever it runs.
            let req = ExecRequest {
                action: "monitor".into(),
                params: [("ip".to_string(), "not-an-address".to_string())].into(),
                ..req
            };
            let out = a.execute(&req, CancelSignal::never()).await;
            assert_eq!(out.rc, OcfRc::ERR_CONFIGURED, "{out:?}");
            assert!(out.exit_reason.is_some());
        });
    }
}
