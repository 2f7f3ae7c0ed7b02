//! `halo watch`: a live stream of node, link and membership events, and of the
//! resource manager's transitions, actions and failures.

use std::process::ExitCode;

use halo_ipc::{Event, Request};

use crate::Global;
use crate::client;

/// Arguments of `halo watch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print each event as one JSON line.
    #[arg(long)]
    pub json: bool,
}

/// One event in words.
pub fn describe(e: &Event) -> String {
    match e {
        Event::Node {
            node,
            from,
            to,
            reason,
        } => match reason {
            Some(r) => format!("node {node}: {from} -> {to} ({r})"),
            None => format!("node {node}: {from} -> {to}"),
        },
        Event::Link { node, link, state } => format!("link {node}/{link}: {state}"),
        Event::Late { node, interval_ms } => {
            format!("late heartbeat from {node}: {interval_ms} ms since the previous one")
        }
        Event::Membership(m) => {
            let members: Vec<&str> = m.members.iter().map(|n| n.as_str()).collect();
            format!(
                "membership {}: {} ({})",
                m.id,
                members.join(" "),
                if m.quorate { "quorate" } else { "no quorum" }
            )
        }
        Event::Message { from, direct, body } => {
            format!(
                "message from {from}{}: {body}",
                if *direct { " (to us)" } else { "" }
            )
        }
        Event::Lagged { missed } => format!("({missed} events missed: reading too slowly)"),
        Event::TransitionStarted {
            id,
            actions,
            summary,
        } => {
            let mut s = format!("transition {id} started: {actions} actions");
            for line in summary {
                s.push_str("\n    ");
                s.push_str(line);
            }
            s
        }
        Event::TransitionComplete { id, aborted } => {
            if *aborted {
                format!("transition {id} ended (aborted; planning again)")
            } else {
                format!("transition {id} complete")
            }
        }
        Event::TransitionAborted { id, reason } => format!("transition {id} aborted: {reason}"),
        Event::Action {
            node,
            operation,
            rc,
            op_status,
            failed,
        } => format!(
            "{operation} on {node}: rc {}, {}{}",
            halo_lrm::OcfRc(*rc),
            halo_lrm::ExecStatus::from_code(*op_status).map_or_else(
                || format!("status {op_status}"),
                |s| s.describe().to_string()
            ),
            if *failed { " — FAILED" } else { "" }
        ),
        Event::ActionFailed {
            node,
            operation,
            detail,
        } => format!("action {operation} on {node} failed: {detail}"),
        Event::Crm { text, problem } => {
            if *problem {
                format!("crm: ! {text}")
            } else {
                format!("crm: {text}")
            }
        }
    }
}

/// Local wall-clock time of day, for event lines.
pub fn time_of_day() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        now.subsec_millis()
    )
}

/// Streams events from `request` until halod hangs up or the user interrupts.
pub fn stream(global: &Global, request: Request, json: bool) -> anyhow::Result<ExitCode> {
    let (_, mut conn) = client::call(&global.socket, &request)?;
    while let Some((ev, raw)) = conn.next_event()? {
        if json {
            print!("{}", String::from_utf8_lossy(&raw));
        } else {
            println!("{} {}", time_of_day(), describe(&ev));
        }
    }
    eprintln!("halo: halod closed the stream");
    Ok(ExitCode::FAILURE)
}

/// Runs `halo watch`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    stream(global, Request::Watch, args.json)
}
