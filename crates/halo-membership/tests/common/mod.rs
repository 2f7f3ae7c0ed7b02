//! A small data-driven test runner in the style of raft-rs's `datadriven` files.
//!
//! A test file is a sequence of cases:
//!
//! ```text
//! # comments and blank lines between cases are kept
//! command arg=value …
//! optional input lines
//! ----
//! expected output lines
//! (blank line)
//! ```
//!
//! Each case runs in order against the same state, so a file can tell a story. With
//! `HALO_REWRITE=1` in the environment the expected outputs are replaced by the actual
//! ones (review the diff before committing it).

use std::fmt::Write as _;
use std::path::Path;

/// One case of a test file.
#[derive(Debug)]
pub struct Case {
    /// Line number of the command (1-based).
    pub line: usize,
    /// The command line.
    pub command: String,
    /// Lines between the command and `----`.
    pub input: Vec<String>,
    /// Lines after `----` up to the blank line.
    pub expected: Vec<String>,
}

enum Chunk {
    Text(String),
    Case(Case),
}

fn parse(text: &str) -> Vec<Chunk> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.trim().is_empty() || l.starts_with('#') {
            out.push(Chunk::Text(l.to_string()));
            i += 1;
            continue;
        }
        let line = i + 1;
        let command = l.to_string();
        i += 1;
        let mut input = Vec::new();
        while i < lines.len() && lines[i] != "----" {
            input.push(lines[i].to_string());
            i += 1;
        }
        assert!(i < lines.len(), "line {line}: case without ----");
        i += 1;
        let mut expected = Vec::new();
        while i < lines.len() && !lines[i].is_empty() {
            expected.push(lines[i].to_string());
            i += 1;
        }
        out.push(Chunk::Case(Case {
            line,
            command,
            input,
            expected,
        }));
    }
    out
}

/// Runs every case of `path` through `run`, which returns the actual output. Panics with
/// every mismatch (file and line) unless rewriting.
pub fn run_file(path: &Path, mut run: impl FnMut(&Case) -> String) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rewrite = std::env::var_os("HALO_REWRITE").is_some_and(|v| v == "1");
    let mut failures = String::new();
    let mut rewritten = String::new();
    let mut cases = 0;
    for chunk in parse(&text) {
        match chunk {
            Chunk::Text(t) => {
                rewritten.push_str(&t);
                rewritten.push('\n');
            }
            Chunk::Case(case) => {
                cases += 1;
                let actual = run(&case);
                let actual: Vec<&str> = actual.trim_end().lines().collect();
                if actual != case.expected {
                    let _ = write!(
                        failures,
                        "\n{}:{}: {}\n  expected:\n    {}\n  actual:\n    {}\n",
                        path.display(),
                        case.line,
                        case.command,
                        case.expected.join("\n    "),
                        actual.join("\n    ")
                    );
                }
                rewritten.push_str(&case.command);
                rewritten.push('\n');
                for l in &case.input {
                    rewritten.push_str(l);
                    rewritten.push('\n');
                }
                rewritten.push_str("----\n");
                for l in &actual {
                    rewritten.push_str(l);
                    rewritten.push('\n');
                }
            }
        }
    }
    assert!(cases > 0, "{}: no cases", path.display());
    if rewrite {
        std::fs::write(path, rewritten).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    } else {
        assert!(
            failures.is_empty(),
            "mismatches (HALO_REWRITE=1 to accept):{failures}"
        );
    }
}

/// Splits `key=value` arguments after the command word.
pub fn args(command: &str) -> (String, Vec<(String, String)>) {
    let mut words = command.split_whitespace();
    let cmd = words.next().unwrap_or_default().to_string();
    let args = words
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (w.to_string(), String::new()),
        })
        .collect();
    (cmd, args)
}
