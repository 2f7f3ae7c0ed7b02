//! Every CIB of the Pacemaker scheduler corpus parses, and writing it back gives
//! an equal model (the round-trip the replication layer relies on).

use std::path::PathBuf;

use halo_cib::Cib;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/pacemaker-scheduler/xml")
}

#[test]
fn every_corpus_cib_parses_and_round_trips() {
    let mut entries: Vec<_> = std::fs::read_dir(corpus())
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    entries.sort();
    assert!(entries.len() > 300, "corpus is incomplete");
    let mut failures = Vec::new();
    for path in &entries {
        let text = std::fs::read_to_string(path).expect("read");
        match Cib::from_xml(&text) {
            Ok(cib) => {
                let again = Cib::from_xml(&cib.to_xml()).expect("written CIB reads back");
                assert_eq!(cib, again, "{} does not round-trip", path.display());
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
