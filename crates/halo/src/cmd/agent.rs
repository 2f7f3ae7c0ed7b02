//! `halo agent`: list, describe and run resource agents on this machine.
//!
//! No daemon is involved: like `crm_resource --force-*`, `halo agent run` runs the
//! agent here and now, through the same code the LRM uses (meta-data, required
//! parameters, timeouts, exit-code rules), and records nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use halo_lrm::agent::AgentConfig;
use halo_lrm::metadata::{AgentMetadata, parse_duration_ms};
use halo_lrm::{AgentSpec, Agents, Class, OpRequest, OpResult, ResourceDef};

use crate::Global;

/// Arguments of `halo agent`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,

    /// Where agents are: OCF roots (repeatable, searched in order).
    #[arg(long = "ocf-root", global = true, value_name = "DIR")]
    ocf_roots: Vec<PathBuf>,

    /// LSB init scripts.
    #[arg(long, global = true, value_name = "DIR", default_value = "/etc/init.d")]
    init_d: PathBuf,

    /// Heartbeat release-1 scripts.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/etc/ha.d/resource.d"
    )]
    resource_d: PathBuf,

    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List agents: all, one class (`ocf`, `lsb`, …) or one OCF provider (`ocf:heartbeat`).
    List {
        /// CLASS or CLASS:PROVIDER.
        filter: Option<String>,
    },
    /// Show an agent's meta-data (parameters, actions).
    Meta {
        /// The agent, e.g. `ocf:heartbeat:IPaddr2`, `lsb:nginx`, `heartbeat:IPaddr`.
        agent: String,
        /// Print the raw meta-data XML.
        #[arg(long)]
        xml: bool,
    },
    /// Run one action now (no daemon, nothing recorded).
    Run {
        /// The agent.
        agent: String,
        /// The action: start, stop, monitor, promote, validate-all, …
        action: String,
        /// Parameters as NAME=VALUE (heartbeat scripts: 1=…, 2=…).
        params: Vec<String>,
        /// Timeout, e.g. `20s`, `2min`, `500ms` (default: the agent's hint, else 20s).
        #[arg(long)]
        timeout: Option<String>,
        /// Resource id given to the agent (OCF_RESOURCE_INSTANCE).
        #[arg(long, default_value = "halo-adhoc")]
        id: String,
        /// Monitor depth (OCF_CHECK_LEVEL).
        #[arg(long)]
        check_level: Option<u32>,
        /// Interval the agent is told about (CRM_meta_interval; 0 means a probe).
        #[arg(long, default_value = "0")]
        interval: String,
    },
}

fn config(args: &Args) -> AgentConfig {
    let mut c = AgentConfig::default();
    if !args.ocf_roots.is_empty() {
        c.ocf_roots = args.ocf_roots.clone();
    }
    c.init_d = args.init_d.clone();
    c.ha_resource_d = args.resource_d.clone();
    c
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn parse_spec(s: &str) -> anyhow::Result<AgentSpec> {
    s.parse::<AgentSpec>().map_err(anyhow::Error::from)
}

fn duration_ms(what: &str, s: &str) -> anyhow::Result<u64> {
    parse_duration_ms(s).with_context(|| {
        format!("{what} '{s}': expected a number with an optional unit (ms, s, min, h)")
    })
}

/// Runs `halo agent`.
pub fn run(_global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    let agents = Agents::new(config(&args));
    let rt = runtime()?;
    match &args.command {
        Command::List { filter } => rt.block_on(list(&agents, filter.as_deref(), args.json)),
        Command::Meta { agent, xml } => rt.block_on(meta(&agents, agent, *xml, args.json)),
        Command::Run {
            agent,
            action,
            params,
            timeout,
            id,
            check_level,
            interval,
        } => {
            let spec = parse_spec(agent)?;
            let mut kv = BTreeMap::new();
            for p in params {
                let (k, v) = p
                    .split_once('=')
                    .with_context(|| format!("parameter '{p}': expected NAME=VALUE"))?;
                if k.is_empty() {
                    anyhow::bail!("parameter '{p}': the name is empty");
                }
                kv.insert(k.to_string(), v.to_string());
            }
            let mut req = OpRequest::new(id, action, duration_ms("--interval", interval)?);
            req.timeout_ms = timeout
                .as_deref()
                .map(|t| duration_ms("--timeout", t))
                .transpose()?;
            if let Some(level) = check_level {
                req.op_params
                    .insert("OCF_CHECK_LEVEL".into(), level.to_string());
            }
            let def = ResourceDef {
                id: id.clone(),
                agent: spec,
                params: kv,
                meta: BTreeMap::new(),
            };
            rt.block_on(run_action(&agents, &def, &req, args.json))
        }
    }
}

async fn list(agents: &Agents, filter: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let (class, provider) = match filter {
        None => (None, None),
        Some(f) => {
            let (c, p) = match f.split_once(':') {
                Some((c, p)) => (c, Some(p)),
                None => (f, None),
            };
            let class: Class = c.parse()?;
            if p.is_some() && class != Class::Ocf {
                anyhow::bail!("'{f}': only the ocf class has providers");
            }
            (Some(class), p)
        }
    };
    let list = agents.list(class, provider).await?;
    if json {
        let names: Vec<String> = list.iter().map(ToString::to_string).collect();
        println!("{}", serde_json::to_string_pretty(&names)?);
    } else {
        for a in &list {
            println!("{a}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn meta(agents: &Agents, agent: &str, xml: bool, json: bool) -> anyhow::Result<ExitCode> {
    let spec = parse_spec(agent)?;
    if xml {
        let raw = agents.resolve(&spec).await?.metadata_xml().await?;
        print!("{raw}");
        return Ok(ExitCode::SUCCESS);
    }
    let md = agents.metadata(&spec).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&*md)?);
    } else {
        print!("{}", render_meta(&spec, &md));
    }
    Ok(ExitCode::SUCCESS)
}

fn render_meta(spec: &AgentSpec, md: &AgentMetadata) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{spec}: {}",
        md.shortdesc.as_deref().unwrap_or("(no description)")
    );
    if let Some(v) = &md.ocf_version {
        let _ = writeln!(
            s,
            "OCF API {v}{}",
            md.agent_version
                .as_deref()
                .map(|a| format!(", agent version {a}"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(s, "\nParameters:");
    if md.parameters.is_empty() {
        let _ = writeln!(s, "  (none)");
    }
    for p in &md.parameters {
        let mut flags = Vec::new();
        if p.required {
            flags.push("required".to_string());
        }
        if p.unique {
            flags.push("unique".to_string());
        }
        if p.reloadable {
            flags.push("reloadable".to_string());
        }
        if p.deprecated {
            flags.push("deprecated".to_string());
        }
        if let Some(d) = &p.default {
            flags.push(format!("default {d:?}"));
        }
        let ty = p.content_type.as_deref().unwrap_or("string");
        let _ = writeln!(
            s,
            "  {} ({ty}{}{})",
            p.name,
            if flags.is_empty() { "" } else { ", " },
            flags.join(", ")
        );
        if let Some(d) = &p.shortdesc {
            let _ = writeln!(s, "      {d}");
        }
    }
    let _ = writeln!(s, "\nActions:");
    for a in &md.actions {
        let mut line = format!("  {}", a.name);
        if let Some(t) = a.timeout_ms {
            let _ = write!(line, " timeout={}s", t as f64 / 1000.0);
        }
        if let Some(i) = a.interval_ms {
            let _ = write!(line, " interval={}s", i as f64 / 1000.0);
        }
        if let Some(d) = a.depth {
            let _ = write!(line, " depth={d}");
        }
        if let Some(r) = &a.role {
            let _ = write!(line, " role={r}");
        }
        let _ = writeln!(s, "{line}");
    }
    s
}

async fn run_action(
    agents: &Agents,
    def: &ResourceDef,
    req: &OpRequest,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if def.agent.class == Class::Stonith {
        anyhow::bail!(
            "{}: stonith agents are run by the fencing service",
            def.agent
        );
    }
    let res = halo_lrm::lrm::perform(
        agents,
        def,
        req,
        0,
        Duration::from_secs(20),
        halo_lrm::exec::CancelSignal::never(),
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&res)?);
    } else {
        print!("{}", render_result(&res));
    }
    Ok(if res.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn render_result(r: &OpResult) -> String {
    let mut s = String::new();
    let o = &r.outcome;
    let _ = writeln!(
        s,
        "{} {} {}: rc {} — {}, {} ms",
        r.agent, r.resource, r.action, o.rc, o.status, o.duration_ms
    );
    match r.assessment.failure {
        None => {
            let _ = writeln!(
                s,
                "result: ok ({:?}){}",
                r.assessment.state,
                if r.assessment.degraded {
                    ", degraded"
                } else {
                    ""
                }
            );
        }
        Some(sev) => {
            let _ = writeln!(s, "result: {sev} failure (expected rc {})", r.expected_rc.0);
        }
    }
    if let Some(reason) = &o.exit_reason {
        let _ = writeln!(s, "reason: {reason}");
    }
    for (name, c) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        if c.text.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "--- {name}{}",
            if c.truncated {
                format!(" (first {} of {} bytes)", c.text.len(), c.total_bytes)
            } else {
                String::new()
            }
        );
        s.push_str(&c.text);
        if !c.text.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clap::Parser as _;

    fn parse(argv: &[&str]) -> Args {
        let cli = crate::Cli::try_parse_from(argv).expect("parses");
        match cli.command {
            crate::Command::Agent(a) => a,
            other => panic!("not agent: {other:?}"),
        }
    }

    fn global() -> Global {
        Global {
            socket: PathBuf::from("/nonexistent"),
        }
    }

    #[test]
    fn run_exit_code_mirrors_the_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("d.state");
        let state_arg = format!("state={}", state.display());
        let run_op = |action: &str| {
            run(
                &global(),
                parse(&[
                    "halo",
                    "agent",
                    "run",
                    "ocf:heartbeat:Dummy",
                    action,
                    &state_arg,
                ]),
            )
            .unwrap()
        };
        assert_eq!(
            run_op("monitor"),
            ExitCode::SUCCESS,
            "a probe finding it stopped is fine"
        );
        assert_eq!(run_op("start"), ExitCode::SUCCESS);
        assert!(state.exists(), "the agent really ran");
        assert_eq!(run_op("frobnicate"), ExitCode::FAILURE, "rc 3 is a failure");
        assert_eq!(run_op("stop"), ExitCode::SUCCESS);
        assert!(!state.exists());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for argv in [
            &["halo", "agent", "run", "ocf:Dummy", "start"][..],
            &[
                "halo",
                "agent",
                "run",
                "ocf:heartbeat:Dummy",
                "start",
                "novalue",
            ],
            &[
                "halo",
                "agent",
                "run",
                "ocf:heartbeat:Dummy",
                "start",
                "--timeout",
                "soon",
            ],
            &["halo", "agent", "list", "lsb:foo"],
            &["halo", "agent", "list", "nfs"],
        ] {
            let err = run(&global(), parse(argv)).expect_err("an error");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn meta_renders_parameters_and_actions() {
        let md = halo_lrm::metadata::parse(
            "x",
            r#"<resource-agent name="x"><version>1.1</version><parameters><parameter name="ip" required="1" unique="1"><shortdesc>IP</shortdesc><content type="string"/></parameter></parameters><actions><action name="monitor" timeout="20s" interval="10s" depth="0"/></actions></resource-agent>"#,
        )
        .unwrap();
        let text = render_meta(&AgentSpec::ocf("t", "x"), &md);
        assert!(text.contains("ip (string, required, unique)"), "{text}");
        assert!(
            text.contains("monitor timeout=20s interval=10s depth=0"),
            "{text}"
        );
    }
}
