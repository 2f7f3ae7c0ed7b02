//! The CIB on disk (`STATE/cib.xml`) and the order rule of its writes.

use std::path::{Path, PathBuf};

use halo_crm::Output;

/// What reading `STATE/cib.xml` at start found.
#[derive(Debug)]
pub enum Loaded {
    /// No file: the node takes the cluster's copy when it joins.
    Missing,
    /// A verified CIB.
    Cib(Box<halo_cib::Cib>),
    /// The file failed verification (torn, corrupt, not ours): it is not loaded, and
    /// was moved aside (or could not be, and says why).
    Damaged {
        /// Why it is not loaded.
        error: String,
        /// Where it went.
        aside: Result<PathBuf, String>,
    },
    /// The file could not be read at all.
    Unreadable(String),
}

/// Reads and verifies the CIB at `path` ([`halo_crm::persist::decode`]); a damaged
/// file is renamed to `cib.xml.damaged-SECONDS` so that it is never loaded, and kept
/// for the administrator.
pub fn load(path: &Path, epoch_secs: u64) -> Loaded {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Loaded::Missing,
        Err(e) => return Loaded::Unreadable(e.to_string()),
    };
    match halo_crm::persist::decode(&bytes) {
        Ok(cib) => Loaded::Cib(Box::new(cib)),
        Err(e) => {
            let aside = path.with_file_name(format!("cib.xml.damaged-{epoch_secs}"));
            Loaded::Damaged {
                error: e.to_string(),
                aside: std::fs::rename(path, &aside)
                    .map(|()| aside)
                    .map_err(|m| m.to_string()),
            }
        }
    }
}

/// Whether the [`Output::PersistCib`] at `i` can be skipped: a later copy in the same
/// batch replaces it and nothing that promises it is on disk (a message, a reply, an
/// LRM request) comes in between.
pub fn superseded(outputs: &[Output], i: usize) -> bool {
    outputs
        .get(i + 1..)
        .unwrap_or_default()
        .iter()
        .take_while(|o| matches!(o, Output::Event(_) | Output::PersistCib(_)))
        .any(|o| matches!(o, Output::PersistCib(_)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use halo_crm::{Channel, Event, Target};

    fn cib() -> halo_cib::Cib {
        let mut c = halo_cib::Cib {
            version: halo_cib::Version::new(0, 5, 2),
            ..halo_cib::Cib::default()
        };
        c.configuration
            .nodes
            .push(halo_cib::Node::new("node1", "node1"));
        c
    }

    #[test]
    fn a_verified_cib_loads_and_a_missing_one_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cib.xml");
        assert!(matches!(load(&path, 1), Loaded::Missing));
        std::fs::write(&path, halo_crm::persist::encode(&cib())).unwrap();
        match load(&path, 1) {
            Loaded::Cib(c) => assert_eq!(*c, cib()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_torn_or_foreign_file_is_moved_aside_and_never_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cib.xml");
        let good = halo_crm::persist::encode(&cib());
        for (n, bytes) in [
            good[..good.len() - 7].to_vec(),
            cib().to_xml().into_bytes(),
            b"".to_vec(),
        ]
        .into_iter()
        .enumerate()
        {
            std::fs::write(&path, &bytes).unwrap();
            let secs = 100 + n as u64;
            match load(&path, secs) {
                Loaded::Damaged { error, aside } => {
                    assert!(!error.is_empty());
                    let aside = aside.unwrap();
                    assert_eq!(aside, dir.path().join(format!("cib.xml.damaged-{secs}")));
                    assert_eq!(std::fs::read(&aside).unwrap(), bytes);
                }
                other => panic!("{n}: {other:?}"),
            }
            assert!(!path.exists(), "{n}: the damaged file stays in place");
            assert!(matches!(load(&path, secs), Loaded::Missing));
        }
    }

    #[test]
    fn only_a_copy_replaced_before_anything_is_promised_is_skipped() {
        let p = || Output::PersistCib(vec![1]);
        let ev = || {
            Output::Event(Event::Warning {
                text: String::new(),
            })
        };
        let send = || Output::Send {
            to: Target::All,
            channel: Channel::Cib,
            bytes: vec![],
        };
        let outs = [p(), ev(), p(), send(), p()];
        assert!(superseded(&outs, 0));
        assert!(!superseded(&outs, 2), "an acknowledgement follows");
        assert!(!superseded(&outs, 4), "the last one");
    }
}
