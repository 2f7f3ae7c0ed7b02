//! The agent rules `ocf-tester` (resource-agents) checks, run through the LRM.
//!
//! ```text
//!  (Lrm, agent, params) ─▶ register a scratch resource ─▶ the ocf-tester sequence,
//!                          each op through Lrm::execute ─▶ Report { checks: [Check] }
//! ```
//!
//! The sequence and messages follow `/usr/sbin/ocf-tester` 4.12: meta-data (also as
//! `nobody`, also with "binaries missing"), validate-all, cleanup of a running
//! instance, monitor/probe of the stopped resource, start, monitor, probe, notify,
//! promote/demote (twice each when supported), stop, restart, double start, double
//! stop, and the optional migrate and reload. Where ocf-tester validates meta-data
//! against `ra-api-1.dtd` with `xmllint`, this checks what the LRM needs from it: it
//! parses, names the agent and advertises start, stop, monitor and meta-data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent::{AgentSpec, Class};
use crate::history::ResourceDef;
use crate::lrm::{Lrm, LrmError, OpRequest, OpResult};
use crate::metadata;
use crate::rc::{ExecStatus, OcfRc};

/// One rule and how the agent fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked (ocf-tester's wording).
    pub rule: String,
    /// Passed; `None` for informational steps (optional actions).
    pub passed: Option<bool>,
    /// What happened.
    pub detail: String,
}

/// The outcome of a conformance run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Every step, in order.
    pub checks: Vec<Check>,
}

impl Report {
    /// Rules that failed.
    pub fn failures(&self) -> Vec<&Check> {
        self.checks
            .iter()
            .filter(|c| c.passed == Some(false))
            .collect()
    }

    /// Whether every rule passed.
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    fn push(&mut self, rule: &str, passed: Option<bool>, detail: String) {
        self.checks.push(Check {
            rule: rule.to_string(),
            passed,
            detail,
        });
    }
}

/// Drives the scratch resource.
struct Run<'a> {
    lrm: &'a Lrm,
    id: String,
    report: Report,
    timeout_ms: u64,
}

impl Run<'_> {
    async fn op(
        &mut self,
        action: &str,
        interval_ms: u64,
        env: &[(&str, &str)],
    ) -> Result<OpResult, LrmError> {
        let mut req = OpRequest::new(&self.id, action, interval_ms);
        req.timeout_ms = Some(self.timeout_ms);
        req.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // ocf-tester calls a monitor with an interval once, to tell it from a probe.
        let r = self.lrm.execute_once(req).await?;
        Ok(r)
    }

    /// Runs `action` and checks its rc is one of `want`.
    async fn expect(
        &mut self,
        rule: &str,
        action: &str,
        interval_ms: u64,
        want: &[i32],
    ) -> Result<i32, LrmError> {
        let r = self.op(action, interval_ms, &[]).await?;
        let rc = effective_rc(&r);
        let ok = want.contains(&rc);
        self.report.push(rule, Some(ok), describe(action, &r));
        Ok(rc)
    }

    /// Runs an optional action: 3 means "not supported" (informational), else `want`.
    async fn optional(&mut self, rule: &str, action: &str, want: i32) -> Result<bool, LrmError> {
        let r = self.op(action, 20_000, &[]).await?;
        let rc = effective_rc(&r);
        if rc == OcfRc::ERR_UNIMPLEMENTED.0 {
            self.report
                .push(rule, None, format!("{action}: not supported (optional)"));
            Ok(false)
        } else {
            self.report
                .push(rule, Some(rc == want), describe(action, &r));
            Ok(true)
        }
    }
}

/// The rc as the agent gave it, or the executor's verdict when it did not exit.
fn effective_rc(r: &OpResult) -> i32 {
    if r.outcome.status == ExecStatus::Done {
        r.outcome.rc.0
    } else {
        -1
    }
}

fn describe(action: &str, r: &OpResult) -> String {
    let mut s = format!("{action}: rc {} ({})", r.outcome.rc, r.outcome.status);
    if let Some(reason) = &r.outcome.exit_reason {
        s.push_str(": ");
        s.push_str(reason);
    }
    s
}

/// Runs the ocf-tester rules against `agent` with `params`, as resource `id` (which
/// must not be in use; it is unregistered afterwards). Only OCF agents qualify.
pub async fn check_agent(
    lrm: &Lrm,
    agent: &AgentSpec,
    id: &str,
    params: BTreeMap<String, String>,
) -> Result<Report, LrmError> {
    if agent.class != Class::Ocf {
        return Err(LrmError::Invalid(format!(
            "{agent}: ocf-tester rules apply to OCF agents only"
        )));
    }
    if lrm.history(id).is_some() {
        return Err(LrmError::Invalid(format!("resource '{id}' already exists")));
    }
    lrm.register(ResourceDef {
        id: id.to_string(),
        agent: agent.clone(),
        params,
        meta: BTreeMap::new(),
    })
    .await?;
    let mut run = Run {
        lrm,
        id: id.to_string(),
        report: Report::default(),
        timeout_ms: 20_000,
    };
    let result = sequence(&mut run, agent).await;
    let unregistered = lrm.unregister(id).await;
    result?;
    unregistered?;
    Ok(run.report)
}

async fn sequence(run: &mut Run<'_>, agent: &AgentSpec) -> Result<(), LrmError> {
    // 1. meta-data, as nobody: the agent must be readable and executable by anyone.
    let nobody = crate::conformance::run_as_nobody(run.lrm, agent).await;
    match nobody {
        Some(Ok(())) => run.report.push(
            "Your agent has too restrictive permissions: should be 755",
            Some(true),
            "meta-data as nobody: rc 0".into(),
        ),
        Some(Err(why)) => run.report.push(
            "Your agent has too restrictive permissions: should be 755",
            Some(false),
            why,
        ),
        None => run.report.push(
            "Your agent has too restrictive permissions: should be 755",
            None,
            "not root: cannot run as nobody".into(),
        ),
    }

    // 2. meta-data usable.
    match run.lrm.agents().resolve(agent).await?.metadata_xml().await {
        Ok(xml) => match metadata::parse(&agent.to_string(), &xml) {
            Ok(md) => {
                let missing: Vec<&str> = ["start", "stop", "monitor", "meta-data"]
                    .into_iter()
                    .filter(|a| !md.supports(a))
                    .collect();
                let ok = !md.name.is_empty() && missing.is_empty();
                run.report.push(
                    "Your agent produces meta-data which does not conform to ra-api-1.dtd",
                    Some(ok),
                    if ok {
                        format!(
                            "{} parameters, {} actions",
                            md.parameters.len(),
                            md.actions.len()
                        )
                    } else {
                        format!(
                            "name '{}', actions missing: {}",
                            md.name,
                            missing.join(", ")
                        )
                    },
                );
            }
            Err(e) => run.report.push(
                "Your agent produces meta-data which does not conform to ra-api-1.dtd",
                Some(false),
                e.to_string(),
            ),
        },
        Err(e) => run.report.push(
            "Your agent produces meta-data which does not conform to ra-api-1.dtd",
            Some(false),
            e.to_string(),
        ),
    }

    // 3. meta-data must succeed even with its binaries "missing".
    let r = run
        .op("meta-data", 0, &[("OCF_TESTER_FAIL_HAVE_BINARY", "1")])
        .await?;
    let ok = effective_rc(&r) == 0;
    run.report.push(
        "The meta-data action cannot fail and must return 0",
        Some(ok),
        describe("meta-data", &r),
    );

    // 4. validate-all.
    let rc = run
        .expect(
            "Validation failed.  Did you supply enough options with -o ?",
            "validate-all",
            0,
            &[0],
        )
        .await?;
    if rc != 0 {
        return Ok(());
    }

    // 5. current state; clean up a running instance.
    let r = run.op("monitor", 20_000, &[]).await?;
    match effective_rc(&r) {
        3 => {
            run.report.push(
                "Your agent does not support the monitor action",
                Some(false),
                describe("monitor", &r),
            );
            return Ok(());
        }
        8 => {
            run.expect(
                "Your agent was promoted and could not be demoted",
                "demote",
                20_000,
                &[0],
            )
            .await?;
            run.expect(
                "Your agent was promoted and could not be stopped",
                "stop",
                20_000,
                &[0],
            )
            .await?;
        }
        7 => {}
        _ => {
            run.expect(
                "Your agent was active and could not be stopped",
                "stop",
                20_000,
                &[0],
            )
            .await?;
        }
    }
    run.expect(
        "Monitoring a stopped resource should return 7",
        "monitor",
        20_000,
        &[7],
    )
    .await?;
    let r = run
        .op("monitor", 0, &[("OCF_TESTER_FAIL_HAVE_BINARY", "1")])
        .await?;
    let rc = effective_rc(&r);
    run.report.push(
        "The initial probe for a stopped resource should return 7 or 5 even if all binaries are missing",
        Some(rc == 7 || rc == 5),
        describe("probe", &r),
    );

    // 6. start, monitor, probe, notify.
    let rc = run
        .expect(
            "Start failed.  Did you supply enough options with -o ?",
            "start",
            20_000,
            &[0],
        )
        .await?;
    if rc != 0 {
        return Ok(());
    }
    run.expect(
        "Monitoring an active resource should return 0",
        "monitor",
        20_000,
        &[0],
    )
    .await?;
    run.expect(
        "Probing an active resource should return 0",
        "monitor",
        0,
        &[0],
    )
    .await?;
    run.optional(
        "The notify action cannot fail and must return 0",
        "notify",
        0,
    )
    .await?;

    // 7. promote/demote.
    let has_demote = run
        .op("demote", 20_000, &[])
        .await
        .map(|r| effective_rc(&r) != 3)?;
    let has_promote = run
        .op("promote", 20_000, &[])
        .await
        .map(|r| effective_rc(&r) != 3)?;
    match (has_promote, has_demote) {
        (true, true) => {
            for (rule, action) in [
                ("Demoting a start resource should not fail", "demote"),
                ("Promote failed", "promote"),
                ("Demote failed", "demote"),
                ("Demoting a demoted resource should not fail", "demote"),
                ("Promote failed", "promote"),
                ("Promoting a promoted resource should not fail", "promote"),
                ("Demote failed", "demote"),
            ] {
                run.expect(rule, action, 20_000, &[0]).await?;
            }
        }
        (false, false) => run.report.push(
            "Your agent does not support promotable clones (optional)",
            None,
            "neither promote nor demote".into(),
        ),
        _ => run.report.push(
            "Your agent partially supports promotable clones",
            Some(false),
            format!("promote: {has_promote}, demote: {has_demote}"),
        ),
    }

    // 8. stop and restart, twice each.
    for (rule, action, want) in [
        ("Stop failed", "stop", 0),
        (
            "Monitoring a stopped resource should return 7",
            "monitor",
            7,
        ),
        ("Start failed", "start", 0),
        (
            "Monitoring an active resource should return 0",
            "monitor",
            0,
        ),
        (
            "Starting a running resource is required to succeed",
            "start",
            0,
        ),
        (
            "Monitoring an active resource should return 0",
            "monitor",
            0,
        ),
        ("Stop could not clean up after multiple starts", "stop", 0),
        (
            "Monitoring a stopped resource should return 7",
            "monitor",
            7,
        ),
        (
            "Stopping a stopped resource is required to succeed",
            "stop",
            0,
        ),
        (
            "Monitoring a stopped resource should return 7",
            "monitor",
            7,
        ),
    ] {
        run.expect(rule, action, 20_000, &[want]).await?;
    }

    // 9. optional: migrate, reload (ocf-tester only reports these).
    for action in ["migrate_to", "migrate_from", "reload"] {
        let r = run.op(action, 0, &[]).await?;
        let supported = effective_rc(&r) != 3;
        run.report.push(
            &format!("Checking for {action} action"),
            None,
            if supported {
                describe(action, &r)
            } else {
                format!("{action}: not supported (optional)")
            },
        );
    }
    Ok(())
}

/// Runs `meta-data` as user `nobody` when we are root: `None` when we are not.
async fn run_as_nobody(lrm: &Lrm, agent: &AgentSpec) -> Option<Result<(), String>> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let a = crate::agent::OcfAgent::new(
        agent.clone(),
        std::sync::Arc::new(lrm.agents().config().clone()),
        std::sync::Arc::new(lrm.agents().config().base_env()),
    );
    let Some((root, path)) = a.locate() else {
        return Some(Err(format!("{agent}: not installed")));
    };
    let nobody = nix::unistd::User::from_name("nobody").ok().flatten();
    let (uid, gid) = nobody
        .map(|u| (u.uid.as_raw(), u.gid.as_raw()))
        .unwrap_or((65534, 65534));
    let mut cmd = tokio::process::Command::new(&path);
    cmd.arg("meta-data")
        .env("OCF_ROOT", root)
        .env("OCF_RA_VERSION_MAJOR", "1")
        .env("OCF_RA_VERSION_MINOR", "1")
        .env("OCF_RESOURCE_INSTANCE", &agent.kind)
        .uid(uid)
        .gid(gid)
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), cmd.status()).await;
    Some(match status {
        Ok(Ok(s)) if s.success() => Ok(()),
        Ok(Ok(s)) => Err(format!("meta-data as nobody: {s}")),
        Ok(Err(e)) => Err(format!("meta-data as nobody: {e}")),
        Err(_) => Err("meta-data as nobody timed out".into()),
    })
}
