//! Project automation: `cargo xtask verify | conformance | fuzz | bench | lab`.
//!
//! Implemented here:
//!
//! * `cargo xtask conformance [--update]` runs the Pacemaker scheduler corpus
//!   (`crates/halo-policy/tests/conformance.rs`) and prints pass counts per
//!   tier; `--update` rewrites `conformance/passing.txt` from the results.
//! * `cargo xtask bench-policy [OUTDIR]` compares `halo sim` with
//!   `crm_simulate` on generated CIBs (`crates/halo-policy/bench/compare.sh`).
//! * `cargo xtask purity` checks ARCHITECTURE.md's first invariant: the pure crates
//!   use no sockets, clocks, processes, threads, async runtime or ambient randomness
//!   (outside their tests).
//! * `cargo xtask verify` runs fmt, clippy `-D warnings`, rustdoc `-D warnings` and
//!   `purity`: what `scripts/test` checks before the tests.

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
        Some("purity") => purity(),
        Some("verify") => verify(),
        Some(other) => {
            bail!("unknown task '{other}' (known: conformance, bench-policy, purity, verify)")
        }
        None => bail!(
            "usage: cargo xtask conformance [--update] | bench-policy [OUTDIR] | purity | verify"
        ),
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

/// The crates that must stay pure (ARCHITECTURE.md), and what they must not use.
const PURE_CRATES: &[&str] = &[
    "halo-types",
    "halo-wire",
    "halo-messaging",
    "halo-heartbeat",
    "halo-membership",
    "halo-ipc",
    "halo-cib",
    "halo-policy",
    "halo-crm",
];
const IMPURE: &[(&str, &str)] = &[
    ("tokio", "an async runtime"),
    ("UdpSocket", "sockets"),
    ("TcpStream", "sockets"),
    ("TcpListener", "sockets"),
    ("UnixStream", "sockets"),
    ("UnixDatagram", "sockets"),
    ("std::process", "processes"),
    ("std::thread", "threads"),
    ("std::fs", "the file system"),
    ("SystemTime::now", "the wall clock"),
    ("Instant::now", "the monotonic clock"),
    ("rand::rng", "ambient randomness"),
    ("thread_rng", "ambient randomness"),
    ("getrandom", "ambient randomness"),
];

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn purity() -> anyhow::Result<ExitCode> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("no workspace root")?;
    let mut problems = Vec::new();
    for krate in PURE_CRATES {
        let mut files = Vec::new();
        rust_files(&root.join("crates").join(krate).join("src"), &mut files)?;
        files.sort();
        for file in files {
            // Unit-test modules may use what they like: skip `tests.rs` files and
            // everything after a file's first `#[cfg(test)]`.
            if file.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            for (i, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("#[cfg(test)]") {
                    break;
                }
                let code = line.split("//").next().unwrap_or("");
                for (needle, what) in IMPURE {
                    if code.contains(needle) {
                        problems.push(format!(
                            "{}:{}: pure crate {krate} uses {what} ({needle})",
                            file.strip_prefix(root).unwrap_or(&file).display(),
                            i + 1
                        ));
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        println!(
            "purity: {} pure crates use no I/O, clock or ambient randomness",
            PURE_CRATES.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!(
            "purity: {} violations (take time, randomness and I/O as arguments)",
            problems.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

/// A verification step: its name, cargo's arguments, and an environment variable.
type Step<'a> = (&'a str, &'a [&'a str], Option<(&'a str, &'a str)>);

fn verify() -> anyhow::Result<ExitCode> {
    let cargo = env!("CARGO");
    let steps: &[Step] = &[
        ("format", &["fmt", "--all", "--", "--check"], None),
        (
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
            None,
        ),
        (
            "rustdoc",
            &["doc", "--workspace", "--no-deps", "--locked", "--quiet"],
            Some(("RUSTDOCFLAGS", "-D warnings")),
        ),
    ];
    for (name, args, env) in steps {
        println!("==> {name}");
        let mut cmd = Command::new(cargo);
        cmd.args(*args);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        if status(cmd)? != ExitCode::SUCCESS {
            bail!("{name} failed");
        }
    }
    println!("==> purity");
    purity()
}
