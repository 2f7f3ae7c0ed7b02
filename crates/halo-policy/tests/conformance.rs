//! Conformance with Pacemaker's scheduler regression corpus.
//!
//! Runs every test in `conformance/pacemaker-scheduler` (see its README), compares
//! our Transition Summary with the expected one (whitespace-normalized, in
//! order), and prints pass counts per tier with the failing test names.
//!
//! `conformance/passing.txt` lists the tests known to pass: this test fails if
//! any of them stops passing. Set `HALO_CONFORMANCE_UPDATE=1` to rewrite the list
//! from the current results (`cargo xtask conformance --update` does that).
//! `HALO_CONFORMANCE_ONLY=name[,name]` runs only the named tests and prints
//! their expected and actual summaries.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Duration;

use halo_cib::Cib;
use halo_types::Timestamp;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance")
}

fn corpus() -> PathBuf {
    root().join("pacemaker-scheduler")
}

/// The normalized lines of the Transition Summary block of a summary file.
fn expected_summary(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines
        .iter()
        .position(|l| l.trim_end() == "Transition Summary:")
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut i = start + 1;
    while i < lines.len() {
        let l = lines[i];
        let is_header = !l.starts_with(' ') && l.trim_end().ends_with(':') && !l.trim().is_empty();
        if is_header {
            break;
        }
        let norm = normalize(l);
        if !norm.is_empty() {
            out.push(norm);
        }
        i += 1;
    }
    out
}

fn normalize(l: &str) -> String {
    l.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "Now" for a test: its execution-date, or a fixed time in 2030 (the corpus
/// README says any time from 2026 to 2045 gives the same results).
fn now_for(cib: &Cib) -> Timestamp {
    let secs = halo_policy::execution_date(cib).unwrap_or(1_900_000_000);
    Timestamp::from_duration(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

enum Outcome {
    Pass,
    Fail(String),
}

/// The outcome for the summary, and whether the scores and the printed
/// cluster status match too.
struct Result {
    summary: Outcome,
    scores_match: bool,
    score_diff: String,
    status_match: bool,
    status_diff: String,
    executed_match: bool,
    revised_match: bool,
    sim_diff: String,
}

/// The lines of a block that starts after `header` and ends at the next
/// unindented header (trailing spaces and blank lines removed).
fn block(text: &str, header: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .skip_while(|l| l.trim_end() != header)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .map(|l| l.trim_end().to_string())
        .collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// The lines of the "Current cluster status:" block (trailing spaces and
/// trailing blank lines removed).
fn expected_status(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .skip_while(|l| l.trim_end() != "Current cluster status:")
        .skip(1)
        .take_while(|l| l.trim_end() != "Transition Summary:")
        .map(|l| l.trim_end().to_string())
        .collect();
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// Normalized, sorted score lines (older releases' function names mapped).
fn normalize_scores(lines: &[String]) -> Vec<String> {
    let mut v: Vec<String> = lines
        .iter()
        .map(|l| normalize(l))
        .filter(|l| !l.is_empty())
        .map(|l| l.replace("pcmk__clone_allocate", "pcmk__clone_assign"))
        .map(|l| l.replace("pcmk__native_allocate", "pcmk__primitive_assign"))
        .map(|l| l.replace("pcmk__group_allocate", "pcmk__group_assign"))
        .collect();
    v.sort();
    v
}

fn diff_lines(expected: &[String], actual: &[String]) -> String {
    let mut out = String::new();
    for l in expected {
        if actual.binary_search(l).is_err() {
            out.push_str(&format!("    - {l}\n"));
        }
    }
    for l in actual {
        if expected.binary_search(l).is_err() {
            out.push_str(&format!("    + {l}\n"));
        }
    }
    out
}

fn run_one(dir: &Path, name: &str) -> Result {
    let fail = |why: String| Result {
        summary: Outcome::Fail(why),
        scores_match: false,
        score_diff: String::new(),
        status_match: false,
        status_diff: String::new(),
        executed_match: false,
        revised_match: false,
        sim_diff: String::new(),
    };
    let xml = match std::fs::read_to_string(dir.join("xml").join(format!("{name}.xml"))) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read input: {e}")),
    };
    let (expected, status, executed, revised) =
        match std::fs::read_to_string(dir.join("summary").join(format!("{name}.summary"))) {
            Ok(t) => (
                expected_summary(&t),
                expected_status(&t),
                block(&t, "Executing Cluster Transition:"),
                block(&t, "Revised Cluster Status:"),
            ),
            Err(e) => return fail(format!("cannot read summary: {e}")),
        };
    let expected_scores: Vec<String> =
        std::fs::read_to_string(dir.join("scores").join(format!("{name}.scores")))
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default();
    let cib = match Cib::from_xml(&xml) {
        Ok(c) => c,
        Err(e) => return fail(format!("CIB rejected: {e}")),
    };
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let opts = halo_policy::Options {
            scores: true,
            ..halo_policy::Options::default()
        };
        halo_policy::schedule_with(&cib, now_for(&cib), &opts)
    }));
    let transition = match result {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return fail(format!("scheduler error: {e}")),
        Err(_) => return fail("scheduler panicked".into()),
    };
    let actual: Vec<String> = halo_policy::format_summary(&transition.summary)
        .iter()
        .map(|l| normalize(l))
        .collect();
    let (es, as_) = (
        normalize_scores(&expected_scores),
        normalize_scores(&transition.scores),
    );
    let scores_match = es == as_;
    let score_diff = if scores_match {
        String::new()
    } else {
        diff_lines(&es, &as_)
    };
    let summary = if actual == expected {
        Outcome::Pass
    } else {
        Outcome::Fail(format!(
            "expected:\n    {}\n  actual:\n    {}",
            expected.join("\n    "),
            actual.join("\n    ")
        ))
    };
    let actual_status: Vec<String> = transition
        .status
        .iter()
        .map(|l| l.trim_end().to_string())
        .collect();
    let status_match = actual_status == status;
    let status_diff = if status_match {
        String::new()
    } else {
        format!(
            "  expected:\n{}\n  actual:\n{}",
            status.join("\n"),
            actual_status.join("\n")
        )
    };
    let now = now_for(&cib);
    let sim = halo_policy::simulate(&cib, &transition, now);
    let actual_executed: Vec<String> = sim
        .executed
        .iter()
        .map(|l| normalize(&format!("* {l}")))
        .collect();
    let expected_executed: Vec<String> = executed.iter().map(|l| normalize(l)).collect();
    let executed_match = actual_executed == expected_executed;
    let actual_revised: Vec<String> = match halo_policy::status(&sim.cib, now) {
        Ok(lines) => lines.iter().map(|l| l.trim_end().to_string()).collect(),
        Err(e) => vec![format!("error: {e}")],
    };
    let revised_match = actual_revised == revised;
    let mut sim_diff = String::new();
    if !executed_match {
        sim_diff.push_str(&format!(
            "  executed expected:\n    {}\n  executed actual:\n    {}\n",
            expected_executed.join("\n    "),
            actual_executed.join("\n    ")
        ));
    }
    if !revised_match {
        sim_diff.push_str(&format!(
            "  revised expected:\n{}\n  revised actual:\n{}\n",
            revised.join("\n"),
            actual_revised.join("\n")
        ));
    }
    Result {
        summary,
        scores_match,
        score_diff,
        status_match,
        status_diff,
        executed_match,
        revised_match,
        sim_diff,
    }
}

#[test]
fn pacemaker_scheduler_corpus() {
    let dir = corpus();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut tests: Vec<(String, String)> = Vec::new();
    for line in manifest.lines() {
        if line.starts_with('#') || line.starts_with("name\t") || line.trim().is_empty() {
            continue;
        }
        let mut f = line.split('\t');
        let (Some(name), Some(tier)) = (f.next(), f.next()) else {
            continue;
        };
        tests.push((name.to_string(), tier.to_string()));
    }
    assert!(tests.len() > 300, "the corpus is incomplete");

    let only: Option<Vec<String>> = std::env::var("HALO_CONFORMANCE_ONLY")
        .ok()
        .map(|s| s.split(',').map(str::to_string).collect());
    let verbose = only.is_some();

    let mut per_tier: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut passing: Vec<String> = Vec::new();
    let mut scores_ok: BTreeMap<String, usize> = BTreeMap::new();
    let mut status_ok: BTreeMap<String, usize> = BTreeMap::new();
    let mut executed_ok: BTreeMap<String, usize> = BTreeMap::new();
    let mut revised_ok: BTreeMap<String, usize> = BTreeMap::new();
    for (name, tier) in &tests {
        if let Some(o) = &only
            && !o.contains(name)
        {
            continue;
        }
        let e = per_tier.entry(tier.clone()).or_default();
        e.1 += 1;
        let r = run_one(&dir, name);
        if r.scores_match {
            *scores_ok.entry(tier.clone()).or_default() += 1;
        } else if verbose {
            println!("SCORES {name} differ:\n{}", r.score_diff);
        }
        if r.status_match {
            *status_ok.entry(tier.clone()).or_default() += 1;
        } else if verbose {
            println!("STATUS {name} differs:\n{}", r.status_diff);
        }
        if r.executed_match {
            *executed_ok.entry(tier.clone()).or_default() += 1;
        }
        if r.revised_match {
            *revised_ok.entry(tier.clone()).or_default() += 1;
        }
        if verbose && !(r.executed_match && r.revised_match) {
            println!("SIMULATION {name} differs:\n{}", r.sim_diff);
        }
        match r.summary {
            Outcome::Pass => {
                e.0 += 1;
                passing.push(name.clone());
                if verbose {
                    println!("PASS {name}");
                }
            }
            Outcome::Fail(why) => {
                if verbose {
                    println!("FAIL {name}\n  {why}");
                }
                failing.entry(tier.clone()).or_default().push(name.clone());
            }
        }
    }
    for (tier, (pass, total)) in &per_tier {
        let get = |m: &BTreeMap<String, usize>| m.get(tier).copied().unwrap_or(0);
        println!(
            "tier {tier}: {pass}/{total} pass (identical: scores {}, status {}, executed transition {}, revised status {})",
            get(&scores_ok),
            get(&status_ok),
            get(&executed_ok),
            get(&revised_ok)
        );
    }
    for (tier, names) in &failing {
        println!("tier {tier} failing: {}", names.join(" "));
    }
    if only.is_some() {
        return;
    }

    let list_path = root().join("passing.txt");
    passing.sort();
    if std::env::var("HALO_CONFORMANCE_UPDATE").is_ok_and(|v| v == "1") {
        let mut text = String::from(
            "# Tests of conformance/pacemaker-scheduler whose Transition Summary halo reproduces.\n\
             # Maintained by `cargo xtask conformance --update`; a listed test that fails fails CI.\n",
        );
        for p in &passing {
            text.push_str(p);
            text.push('\n');
        }
        std::fs::write(&list_path, text).expect("write passing.txt");
        println!(
            "wrote {} passing tests to {}",
            passing.len(),
            list_path.display()
        );
        return;
    }
    let known = std::fs::read_to_string(&list_path).unwrap_or_default();
    let regressions: Vec<&str> = known
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| !passing.iter().any(|p| p == l))
        .collect();
    assert!(
        regressions.is_empty(),
        "{} previously passing tests fail now: {}",
        regressions.len(),
        regressions.join(" ")
    );
}
