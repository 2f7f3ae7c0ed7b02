//! Project automation: `cargo xtask verify | conformance | fuzz | bench | lab`.
//!
//! Implemented here:
//!
//! * `cargo xtask conformance [--update]` runs the Pacemaker scheduler corpus
//!   (`crates/halo-policy/tests/conformance.rs`) and prints pass counts per
//!   tier; `--update` rewrites `conformance/passing.txt` from the results.
//! * `cargo xtask bench-policy [OUTDIR]` compares `halo sim` with
//!   `crm_simulate` on generated CIBs (`crates/halo-policy/bench/compare.sh`).

use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("conformance") => conformance(&args[1..]),
        Some("bench-policy") => bench_policy(&args[1..]),
        Some(other) => bail!("unknown task '{other}' (known: conformance, bench-policy)"),
        None => bail!("usage: cargo xtask conformance [--update] | bench-policy [OUTDIR]"),
    }
}

fn conformance(args: &[String]) -> anyhow::Result<ExitCode> {
    let update = match args {
        [] => false,
        [flag] if flag == "--update" => true,
        _ => bail!("usage: cargo xtask conformance [--update]"),
    };
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "test",
        "-p",
        "halo-policy",
        "--test",
        "conformance",
        "--",
        "--nocapture",
    ]);
    if update {
        cmd.env("HALO_CONFORMANCE_UPDATE", "1");
    }
    status(cmd)
}

fn bench_policy(args: &[String]) -> anyhow::Result<ExitCode> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("no workspace root")?
        .to_path_buf();
    let mut cmd = Command::new(root.join("crates/halo-policy/bench/compare.sh"));
    cmd.args(args);
    status(cmd)
}

fn status(mut cmd: Command) -> anyhow::Result<ExitCode> {
    let st = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    Ok(if st.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
