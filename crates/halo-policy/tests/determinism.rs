//! Same input, same output, byte for byte: every corpus CIB is scheduled twice
//! (hash maps get different random seeds each time) and the two transitions
//! must serialize identically.

use std::path::PathBuf;
use std::time::Duration;

use halo_types::Timestamp;

#[test]
fn scheduling_is_deterministic() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/pacemaker-scheduler/xml");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let Ok(cib) = halo_cib::Cib::from_xml(&text) else {
            continue;
        };
        let now = Timestamp::from_duration(Duration::from_secs(1_900_000_000));
        let opts = halo_policy::Options {
            dot: true,
            scores: true,
            explain: None,
        };
        let (Ok(a), Ok(b)) = (
            halo_policy::schedule_with(&cib, now, &opts),
            halo_policy::schedule_with(&cib, now, &opts),
        ) else {
            continue;
        };
        let (ja, jb) = (
            serde_json::to_string(&a).expect("json"),
            serde_json::to_string(&b).expect("json"),
        );
        assert!(ja == jb, "{} differs between runs", path.display());
        checked += 1;
    }
    assert!(checked > 300, "only {checked} inputs scheduled");
}
