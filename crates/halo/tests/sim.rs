//! `halo sim` end to end: the binary on corpus inputs, compared with what
//! Pacemaker's `crm_simulate -S` printed for the same inputs.

use std::path::PathBuf;
use std::process::Command;

fn corpus(kind: &str, name: &str, ext: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../conformance/pacemaker-scheduler")
        .join(kind)
        .join(format!("{name}.{ext}"))
}

fn halo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_halo"))
        .args(args)
        .output()
        .expect("run halo")
}

/// The whole output of `halo sim -S` equals crm_simulate's for these inputs
/// (status, summary, executed actions, revised status).
#[test]
fn simulate_output_matches_crm_simulate() {
    for name in [
        "clone-interleave-2",
        "promoted-8",
        "group1",
        "rec-node-14",
        "utilization",
    ] {
        let xml = corpus("xml", name, "xml");
        let out = halo(&["sim", "-x", xml.to_str().expect("path"), "-S"]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected =
            std::fs::read_to_string(corpus("summary", name, "summary")).expect("summary");
        let actual = String::from_utf8_lossy(&out.stdout);
        let norm = |t: &str| t.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
        assert_eq!(norm(&actual), norm(&expected), "{name}");
    }
}

#[test]
fn explain_names_the_constraint_that_decided() {
    let xml = corpus("xml", "promoted-8", "xml");
    let out = halo(&[
        "sim",
        "-x",
        xml.to_str().expect("path"),
        "--explain",
        "DcIPaddr",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("It is placed on c001n03"), "{text}");
    assert!(
        text.contains("location constraint cant_run_DcIPaddr"),
        "{text}"
    );
    assert!(text.contains("Move       DcIPaddr"), "{text}");
}

#[test]
fn explain_of_unknown_resource_fails() {
    let xml = corpus("xml", "group1", "xml");
    let out = halo(&[
        "sim",
        "-x",
        xml.to_str().expect("path"),
        "--explain",
        "nope",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no resource nope"));
}

#[test]
fn graph_is_saved_as_json_and_dot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let xml = corpus("xml", "group1", "xml");
    let json = dir.path().join("g.json");
    let dot = dir.path().join("g.dot");
    for f in [&json, &dot] {
        let out = halo(&[
            "sim",
            "-x",
            xml.to_str().expect("path"),
            "--save-graph",
            f.to_str().expect("path"),
        ]);
        assert!(out.status.success());
    }
    let actions: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parse");
    let keys: Vec<&str> = actions
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["key"].as_str())
        .collect();
    assert!(keys.contains(&"child_rsc1_start_0"), "{keys:?}");
    let dot = std::fs::read_to_string(&dot).expect("dot");
    assert!(
        dot.contains("\"child_rsc1_start_0 node1\" -> \"child_rsc2_start_0 node1\""),
        "{dot}"
    );
}

#[test]
fn bad_xml_names_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("bad.xml");
    std::fs::write(
        &f,
        "<cib admin_epoch=\"0\" epoch=\"1\" num_updates=\"0\">\n<configuration>\n<crm_config/>\n<nodes/>\n<resources><bogus/></resources>\n<constraints/>\n</configuration>\n<status/>\n</cib>\n",
    )
    .expect("write");
    let out = halo(&["sim", "-x", f.to_str().expect("path")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.xml") && err.contains("line 5"), "{err}");
}
