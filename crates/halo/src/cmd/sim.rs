//! `halo sim`: run the policy engine on a CIB file, like `crm_simulate`.
//!
//! ```text
//!   cib.xml ──▶ halo_cib::Cib ──▶ halo_policy::schedule_with(now)
//!                                   │
//!          ┌────────────────────────┼──────────────────────────────┐
//!          ▼                        ▼                              ▼
//!   Current cluster status   Transition Summary        --simulate: executed
//!   (--show-scores: scores)  (--save-graph: graph)     actions, Revised status
//! ```
//!
//! "Now" is the CIB's `execution-date` when it has one (so old inputs replay
//! as they were computed), otherwise `--date`, otherwise the wall clock.
//! Output is text in `crm_simulate`'s layout, or JSON with `--json`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use halo_cib::Cib;
use halo_policy::{Options, Transition};
use halo_types::Timestamp;

use crate::Global;

/// Arguments of `halo sim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CIB to simulate (an XML file, e.g. from `cibadmin -Q`).
    #[arg(short = 'x', long = "xml-file", value_name = "FILE")]
    xml: PathBuf,
    /// Show the node scores each resource was placed with.
    #[arg(short = 's', long)]
    show_scores: bool,
    /// Write the transition graph to FILE: Graphviz when it ends in `.dot`,
    /// JSON otherwise.
    #[arg(long, value_name = "FILE")]
    save_graph: Option<PathBuf>,
    /// Execute the transition (every action succeeds) and show the result.
    #[arg(short = 'S', long)]
    simulate: bool,
    /// Explain in plain words why RSC is placed where it is.
    #[arg(long, value_name = "RSC")]
    explain: Option<String>,
    /// "Now" as epoch seconds when the CIB has no execution-date.
    #[arg(long, value_name = "EPOCH")]
    date: Option<u64>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Scheduling recurses along ordering chains; give it room for large CIBs.
const STACK: usize = 512 * 1024 * 1024;

/// Runs `halo sim`.
pub fn run(_global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.xml)
        .with_context(|| format!("cannot read {}", args.xml.display()))?;
    let cib = Cib::from_xml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.xml.display()))?;
    let (now, from_cib) = match halo_policy::execution_date(&cib) {
        Some(secs) => (u64::try_from(secs).unwrap_or(0), true),
        None => match args.date {
            Some(d) => (d, false),
            None => (
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                false,
            ),
        },
    };
    let now = Timestamp::from_duration(Duration::from_secs(now));
    let opts = Options {
        dot: args
            .save_graph
            .as_deref()
            .is_some_and(|p| p.extension().is_some_and(|e| e == "dot")),
        scores: args.show_scores,
        explain: args.explain.clone(),
    };
    let (transition, sim) = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(STACK)
            .spawn_scoped(scope, || -> anyhow::Result<_> {
                let t = halo_policy::schedule_with(&cib, now, &opts)?;
                let sim = if args.simulate {
                    let s = halo_policy::simulate(&cib, &t, now);
                    let revised = halo_policy::status(&s.cib, now)?;
                    Some((s.executed, revised))
                } else {
                    None
                };
                Ok((t, sim))
            })
            .context("cannot start the scheduler thread")?
            .join()
            .map_err(|_| anyhow::anyhow!("the scheduler panicked"))?
    })?;
    if let Some(path) = &args.save_graph {
        save_graph(path, &transition)?;
    }
    if args.json {
        print_json(&args, from_cib, now, &transition, sim.as_ref())?;
    } else {
        print_text(&args, from_cib, now, &transition, sim.as_ref())
            .context("cannot write the output")?;
    }
    if let Some(e) = &transition.explanation
        && !e.found
    {
        bail!("there is no resource {}", e.resource);
    }
    // The process ends here: leave the (possibly huge) structures to the OS
    // instead of freeing them piece by piece.
    std::mem::forget((transition, sim, cib, text));
    Ok(ExitCode::SUCCESS)
}

fn save_graph(path: &Path, t: &Transition) -> anyhow::Result<()> {
    let body = match &t.dot {
        Some(dot) => dot.clone(),
        None => serde_json::to_string_pretty(&t.actions)? + "\n",
    };
    std::fs::write(path, body).with_context(|| format!("cannot write {}", path.display()))
}

fn epoch(now: Timestamp) -> i64 {
    i64::try_from(now.as_duration().as_secs()).unwrap_or(i64::MAX)
}

fn print_text(
    args: &Args,
    from_cib: bool,
    now: Timestamp,
    t: &Transition,
    sim: Option<&(Vec<String>, Vec<String>)>,
) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if from_cib {
        writeln!(
            out,
            "Using the original execution date of: {}",
            halo_policy::util::format_utc(epoch(now))
        )?;
    }
    writeln!(out, "Current cluster status:")?;
    for l in &t.status {
        writeln!(out, "{l}")?;
    }
    writeln!(out)?;
    if args.show_scores {
        writeln!(out, "Assignment Scores:")?;
        for l in &t.scores {
            writeln!(out, "  * {l}")?;
        }
        writeln!(out)?;
    }
    writeln!(out, "Transition Summary:")?;
    for l in halo_policy::format_summary(&t.summary) {
        writeln!(out, "{l}")?;
    }
    if let Some((executed, revised)) = sim {
        writeln!(out)?;
        writeln!(out, "Executing Cluster Transition:")?;
        for l in executed {
            writeln!(out, "  * {l}")?;
        }
        writeln!(out)?;
        writeln!(out, "Revised Cluster Status:")?;
        for l in revised {
            writeln!(out, "{l}")?;
        }
    }
    if let Some(e) = &t.explanation {
        writeln!(out)?;
        writeln!(out, "Explanation for {}:", e.resource)?;
        for l in halo_policy::format_explanation(e) {
            if l.is_empty() {
                writeln!(out)?;
            } else {
                writeln!(out, "  {l}")?;
            }
        }
    }
    out.flush()?;
    for n in &t.notices {
        let kind = if n.error { "error" } else { "warning" };
        eprintln!("halo sim: {kind}: {}", n.text);
    }
    Ok(())
}

fn print_json(
    args: &Args,
    from_cib: bool,
    now: Timestamp,
    t: &Transition,
    sim: Option<&(Vec<String>, Vec<String>)>,
) -> anyhow::Result<()> {
    let summary = halo_policy::format_summary(&t.summary);
    let mut v = serde_json::json!({
        "now": epoch(now),
        "now_from_cib": from_cib,
        "status": t.status,
        "summary": t.summary,
        "summary_text": summary,
        "actions": t.actions,
        "notices": t.notices,
    });
    if args.show_scores {
        v["scores"] = serde_json::json!(t.scores);
    }
    if let Some((executed, revised)) = sim {
        v["executed"] = serde_json::json!(executed);
        v["revised_status"] = serde_json::json!(revised);
    }
    if let Some(e) = &t.explanation {
        v["explanation"] = serde_json::to_value(e)?;
    }
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}
