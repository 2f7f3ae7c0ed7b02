//! The persisted CIB: XML behind a header that carries its length and checksum.
//!
//! ```text
//!   halo-cib 1 sha256=<64 hex digits> bytes=<length of the XML>\n
//!   <cib admin_epoch=… epoch=… num_updates=…> … </cib>
//! ```
//!
//! `halod` writes the encoded bytes atomically (write a temporary file, fsync, rename,
//! fsync the directory). Atomic renames already rule out most torn files; the header
//! catches the rest — a file cut short by a full disk or a crash inside a file system
//! that does not order data before the rename, a bit flip, an editor's accidental save —
//! so that such a file is detected and **never loaded**: a node that loaded half a
//! configuration could win the join round with it. [`decode`] checks the header, the
//! length, the checksum and then parses; any failure is an error that names what was
//! wrong, and the caller starts without a CIB (the join round gives it the cluster's).

use std::fmt::Write as _;

use halo_cib::Cib;
use sha2::{Digest, Sha256};

/// First word of the header line; the number after it is the format version.
pub const MAGIC: &str = "halo-cib";

/// The format version written by [`encode`].
pub const FORMAT: u32 = 1;

/// Why a persisted CIB is not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersistError {
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// The first line is not a halo CIB header.
    #[error("no halo-cib header line (is this a raw cib.xml? load it with `halo configure load`)")]
    NoHeader,
    /// The header is malformed or of another format version.
    #[error("bad header: {0}")]
    BadHeader(String),
    /// The body is not as long as the header says.
    #[error("the file holds {actual} bytes of XML, the header says {expected}: torn write")]
    Length {
        /// Bytes announced.
        expected: usize,
        /// Bytes found.
        actual: usize,
    },
    /// The body does not match its checksum.
    #[error("checksum mismatch: the file is corrupt")]
    Checksum,
    /// The body is not UTF-8.
    #[error("the XML is not UTF-8")]
    NotUtf8,
    /// The body is not a valid CIB.
    #[error("the XML is not a valid CIB: {0}")]
    Cib(#[from] halo_cib::CibError),
}

fn sha256_hex(data: &[u8]) -> String {
    let sum = Sha256::digest(data);
    let mut hex = String::with_capacity(64);
    for b in sum {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The bytes to persist for `cib`.
pub fn encode(cib: &Cib) -> Vec<u8> {
    let xml = cib.to_xml();
    let mut out = format!(
        "{MAGIC} {FORMAT} sha256={} bytes={}\n",
        sha256_hex(xml.as_bytes()),
        xml.len()
    )
    .into_bytes();
    out.extend_from_slice(xml.as_bytes());
    out
}

/// Verifies and parses persisted bytes.
pub fn decode(bytes: &[u8]) -> Result<Cib, PersistError> {
    if bytes.is_empty() {
        return Err(PersistError::Empty);
    }
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(PersistError::NoHeader)?;
    let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| PersistError::NoHeader)?;
    let body = &bytes[nl + 1..];
    let mut words = header.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(PersistError::NoHeader);
    }
    let version = words.next().unwrap_or("");
    if version != FORMAT.to_string() {
        return Err(PersistError::BadHeader(format!(
            "format version {version:?}, this halo reads {FORMAT}"
        )));
    }
    let mut sum = None;
    let mut len = None;
    for w in words {
        if let Some(v) = w.strip_prefix("sha256=") {
            sum = Some(v);
        } else if let Some(v) = w.strip_prefix("bytes=") {
            len = Some(
                v.parse::<usize>()
                    .map_err(|_| PersistError::BadHeader(format!("bytes={v:?}")))?,
            );
        } else {
            return Err(PersistError::BadHeader(format!("unknown field {w:?}")));
        }
    }
    let sum = sum.ok_or_else(|| PersistError::BadHeader("no sha256 field".into()))?;
    let len = len.ok_or_else(|| PersistError::BadHeader("no bytes field".into()))?;
    if body.len() != len {
        return Err(PersistError::Length {
            expected: len,
            actual: body.len(),
        });
    }
    if sha256_hex(body) != sum {
        return Err(PersistError::Checksum);
    }
    let text = std::str::from_utf8(body).map_err(|_| PersistError::NotUtf8)?;
    Ok(Cib::from_xml(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo_cib::{Node, Version};

    fn cib() -> Cib {
        let mut cib = Cib {
            version: Version::new(0, 7, 3),
            ..Cib::default()
        };
        cib.configuration.nodes.push(Node::new("a", "a"));
        cib
    }

    #[test]
    fn round_trips() {
        let bytes = encode(&cib());
        assert!(bytes.starts_with(b"halo-cib 1 sha256="));
        assert_eq!(decode(&bytes), Ok(cib()));
    }

    #[test]
    fn a_torn_file_is_refused() {
        let bytes = encode(&cib());
        for cut in [bytes.len() - 1, bytes.len() / 2, 40] {
            let err = decode(&bytes[..cut]).expect_err("torn");
            assert!(
                matches!(err, PersistError::Length { .. } | PersistError::NoHeader),
                "{cut}: {err}"
            );
        }
    }

    #[test]
    fn a_flipped_byte_is_refused() {
        let mut bytes = encode(&cib());
        let i = bytes.len() - 10;
        bytes[i] ^= 0x01;
        assert_eq!(decode(&bytes), Err(PersistError::Checksum));
    }

    #[test]
    fn a_raw_cib_or_garbage_is_refused() {
        assert_eq!(decode(b""), Err(PersistError::Empty));
        assert_eq!(
            decode(cib().to_xml().as_bytes()),
            Err(PersistError::NoHeader)
        );
        let other = b"halo-cib 2 sha256=00 bytes=0\n";
        assert!(matches!(decode(other), Err(PersistError::BadHeader(_))));
        let extra = b"halo-cib 1 sha256=00 bytes=0 colour=red\n";
        assert!(matches!(decode(extra), Err(PersistError::BadHeader(_))));
    }

    #[test]
    fn a_valid_checksum_over_invalid_xml_is_still_refused() {
        let xml = "<cib><nonsense/></cib>";
        let mut bytes = format!(
            "halo-cib 1 sha256={} bytes={}\n",
            sha256_hex(xml.as_bytes()),
            xml.len()
        )
        .into_bytes();
        bytes.extend_from_slice(xml.as_bytes());
        assert!(matches!(decode(&bytes), Err(PersistError::Cib(_))));
    }
}
