//! `halo configure`: show, edit and load the cluster's configuration (the CIB).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use halo_ipc::{Change, Reply, Request};

use crate::Global;
use crate::client;
use crate::cmd::change::{self, ChangeOpts};

/// Arguments of `halo configure`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Decide from the content: XML is a CIB, anything else haresources.
    Auto,
    /// A CIB in Pacemaker's schema (`<cib …>`).
    Cib,
    /// A heartbeat-1 haresources file.
    Haresources,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print this node's copy of the CIB (the configuration; --status adds the status
    /// section with every node's operation history).
    Show {
        /// Include the status section.
        #[arg(long)]
        status: bool,
        /// Print `{"version", "synced", "xml"}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Edit the configuration in $VISUAL or $EDITOR, then load it.
    ///
    /// The edited CIB is validated by the policy engine before it is committed; if it
    /// is refused, the file is kept and its path printed, so you can fix it and
    /// `halo configure load` it.
    Edit {
        #[command(flatten)]
        opts: ChangeOpts,
    },
    /// Replace the configuration with FILE ('-' for stdin): a CIB (XML in Pacemaker's
    /// schema) or a heartbeat-1 haresources file.
    ///
    /// A haresources file is imported as halod imports one at start-up (a group per
    /// line, location preference for the line's node, stickiness from auto_failback).
    /// The change is validated by the policy engine and committed on every member, or
    /// refused with the reason.
    Load {
        /// The file.
        file: PathBuf,
        /// What FILE holds.
        #[arg(long, value_enum, default_value = "auto")]
        format: Format,
        #[command(flatten)]
        opts: ChangeOpts,
    },
}

/// Runs `halo configure`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Show { status, json } => show(global, status, json),
        Command::Edit { opts } => edit(global, &opts),
        Command::Load { file, format, opts } => {
            let text = read(&file)?;
            let change = load_change(&file, text, format)?;
            change::send(global, change, &opts)
        }
    }
}

fn read(file: &Path) -> anyhow::Result<String> {
    if file == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the standard input")?;
        return Ok(s);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// The change that loads `text` (read from `file`) in `format`.
pub fn load_change(file: &Path, text: String, format: Format) -> anyhow::Result<Change> {
    let format = match format {
        Format::Auto if text.trim_start().starts_with('<') => Format::Cib,
        Format::Auto => Format::Haresources,
        f => f,
    };
    if text.trim().is_empty() {
        anyhow::bail!("{} is empty", file.display());
    }
    Ok(match format {
        Format::Cib | Format::Auto => Change::ConfigureLoad { cib_xml: text },
        Format::Haresources => Change::ConfigureLoadHaresources {
            file: file.display().to_string(),
            text,
        },
    })
}

/// This node's CIB: (xml, version, synced).
fn fetch(global: &Global, status: bool) -> anyhow::Result<(String, String, bool)> {
    match client::call(&global.socket, &Request::Cib { status })?.0 {
        Reply::Cib {
            xml,
            version,
            synced,
        } => Ok((xml, version, synced)),
        other => anyhow::bail!("unexpected reply from halod: {other:?}"),
    }
}

fn show(global: &Global, status: bool, json: bool) -> anyhow::Result<ExitCode> {
    let (xml, version, synced) = fetch(global, status)?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "version": version, "synced": synced, "xml": xml })
        );
    } else {
        if !synced {
            eprintln!(
                "halo: note: this node has not received the cluster's CIB yet; this is its \
                 own copy (version {version})"
            );
        }
        print!("{xml}");
        if !xml.ends_with('\n') {
            println!();
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn edit(global: &Global, opts: &ChangeOpts) -> anyhow::Result<ExitCode> {
    let (xml, version, _) = fetch(global, false)?;
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "halo-cib-{}-{}.xml",
        version.replace('.', "_"),
        std::process::id()
    ));
    std::fs::write(&path, &xml).with_context(|| format!("cannot write {}", path.display()))?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_string());
    // The editor may carry arguments ("code -w"): let the shell split them.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .with_context(|| format!("cannot run the editor {editor}"))?;
    if !status.success() {
        anyhow::bail!(
            "the editor {editor} failed ({status}); nothing loaded, your edit is in {}",
            path.display()
        );
    }
    let edited = read(&path)?;
    if edited == xml {
        let _ = std::fs::remove_file(&path);
        println!("no change");
        return Ok(ExitCode::SUCCESS);
    }
    match change::send(global, Change::ConfigureLoad { cib_xml: edited }, opts) {
        Ok(code) => {
            let _ = std::fs::remove_file(&path);
            Ok(code)
        }
        Err(e) => Err(e.context(format!(
            "your edit is kept in {}: fix it and run `halo configure load {}`",
            path.display(),
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_format_is_recognised_from_the_content() {
        let p = Path::new("f");
        assert!(matches!(
            load_change(p, "  <cib/>".into(), Format::Auto).unwrap(),
            Change::ConfigureLoad { .. }
        ));
        assert!(matches!(
            load_change(p, "node1 10.0.0.1 httpd\n".into(), Format::Auto).unwrap(),
            Change::ConfigureLoadHaresources { .. }
        ));
        assert!(matches!(
            load_change(p, "<x/>".into(), Format::Haresources).unwrap(),
            Change::ConfigureLoadHaresources { .. }
        ));
        assert!(load_change(p, " \n".into(), Format::Auto).is_err());
    }
}
