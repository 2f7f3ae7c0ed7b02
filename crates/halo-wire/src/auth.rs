//! Keys and digests: the `authkeys` keyring, signing and constant-time verification.

use std::fmt;

use halo_types::AuthMethod;
use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

/// The longest digest any method produces (HMAC-SHA256, 32 bytes).
pub const MAX_DIGEST_LEN: usize = 32;

/// The number of digest bytes a method appends to every packet.
pub fn digest_len(method: AuthMethod) -> usize {
    match method {
        AuthMethod::Sha256 => 32,
        AuthMethod::Sha1 => 20,
        AuthMethod::Md5 => 16,
        AuthMethod::Crc => 4,
    }
}

/// A computed digest: up to [`MAX_DIGEST_LEN`] bytes, without allocation.
#[derive(Clone, Copy)]
pub struct Digest {
    bytes: [u8; MAX_DIGEST_LEN],
    len: usize,
}

impl Digest {
    fn from_slice(s: &[u8]) -> Digest {
        let mut bytes = [0u8; MAX_DIGEST_LEN];
        let len = s.len().min(MAX_DIGEST_LEN);
        bytes[..len].copy_from_slice(&s[..len]);
        Digest { bytes, len }
    }

    /// The digest bytes, as they travel at the end of a packet.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Compares with `other` in time that depends only on the lengths, never on where
    /// the first differing byte is: a timing oracle would let an attacker forge a
    /// digest byte by byte.
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        // Lengths are public (they follow from the method), so comparing them first
        // leaks nothing secret.
        self.len == other.len() && bool::from(self.as_bytes().ct_eq(other))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn hmac<D>(secret: &[u8], data: &[u8]) -> Digest
where
    Hmac<D>: KeyInit + Mac,
    D: hmac::EagerHash,
{
    // HMAC accepts keys of any length (long keys are hashed, short ones padded), so
    // `new_from_slice` cannot fail for `Hmac`; the fallback keeps this panic-free anyway
    // and can never verify against a real digest because its length is zero.
    match <Hmac<D> as KeyInit>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(data);
            Digest::from_slice(&mac.finalize().into_bytes())
        }
        Err(_) => Digest {
            bytes: [0; MAX_DIGEST_LEN],
            len: 0,
        },
    }
}

/// Computes the digest of `data` with `method` and `secret`.
pub fn compute_digest(method: AuthMethod, secret: &[u8], data: &[u8]) -> Digest {
    match method {
        AuthMethod::Sha256 => hmac::<sha2::Sha256>(secret, data),
        AuthMethod::Sha1 => hmac::<sha1::Sha1>(secret, data),
        AuthMethod::Md5 => hmac::<md5::Md5>(secret, data),
        AuthMethod::Crc => Digest::from_slice(&CRC32.checksum(data).to_be_bytes()),
    }
}

/// One key of the keyring: its `authkeys` index, method and secret.
#[derive(Clone)]
pub struct Key {
    index: u16,
    method: AuthMethod,
    secret: Vec<u8>,
}

impl Key {
    /// The key's `authkeys` index, carried in every packet it signs.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The key's method.
    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// The digest of `data` under this key.
    pub fn digest(&self, data: &[u8]) -> Digest {
        compute_digest(self.method, &self.secret, data)
    }
}

impl fmt::Debug for Key {
    /// Never prints the secret: keyrings end up in debug logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("index", &self.index)
            .field("method", &self.method)
            .field("secret", &format_args!("<{} bytes>", self.secret.len()))
            .finish()
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        // Best effort: do not leave the secret in freed memory. (Not a guarantee: the
        // compiler may have copied it; this only shortens its life.)
        self.secret.iter_mut().for_each(|b| *b = 0);
    }
}

/// Why a keyring cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// The signing index (`auth N`) names no listed key.
    #[error("the signing key index {0} is not among the listed keys")]
    SigningKeyMissing(u16),
    /// Two keys share an index.
    #[error("key index {0} is listed twice")]
    DuplicateIndex(u16),
    /// An HMAC method was given an empty secret: that authenticates nothing.
    #[error("key index {index} ({method}) has an empty secret")]
    EmptySecret {
        /// The key's index.
        index: u16,
        /// Its method.
        method: AuthMethod,
    },
}

/// The keys of `authkeys`: one signs, every one verifies.
///
/// Key rotation without downtime: list the new key on every node (still signing with
/// the old one), then switch `auth` to the new key node by node, then remove the old
/// key. At every step every node verifies what every other node signs.
#[derive(Debug, Clone)]
pub struct Keyring {
    /// Sorted by index; a handful of entries, so lookups scan.
    keys: Vec<Key>,
    signing: usize,
}

impl Keyring {
    /// Builds a keyring from the signing index and the listed keys
    /// `(index, method, secret)`. For `crc` the secret is ignored (and may be empty).
    pub fn new(
        signing: u16,
        keys: impl IntoIterator<Item = (u16, AuthMethod, Vec<u8>)>,
    ) -> Result<Keyring, KeyringError> {
        let mut list: Vec<Key> = Vec::new();
        for (index, method, secret) in keys {
            if list.iter().any(|k| k.index == index) {
                return Err(KeyringError::DuplicateIndex(index));
            }
            if method.needs_key() && secret.is_empty() {
                return Err(KeyringError::EmptySecret { index, method });
            }
            list.push(Key {
                index,
                method,
                secret,
            });
        }
        list.sort_by_key(|k| k.index);
        let signing_pos = list
            .iter()
            .position(|k| k.index == signing)
            .ok_or(KeyringError::SigningKeyMissing(signing))?;
        Ok(Keyring {
            keys: list,
            signing: signing_pos,
        })
    }

    /// A keyring of one key that signs and verifies.
    pub fn single(
        index: u16,
        method: AuthMethod,
        secret: Vec<u8>,
    ) -> Result<Keyring, KeyringError> {
        Keyring::new(index, [(index, method, secret)])
    }

    /// The key that signs outgoing packets.
    pub fn signing_key(&self) -> &Key {
        // `signing` is a position found in `new` and `keys` never changes afterwards.
        &self.keys[self.signing]
    }

    /// The key with this index, if listed.
    pub fn key(&self, index: u16) -> Option<&Key> {
        self.keys.iter().find(|k| k.index == index)
    }

    /// Every listed key, by index.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    /// Whether the signing key authenticates anything (false for `crc`).
    pub fn signs_authenticated(&self) -> bool {
        self.signing_key().method.needs_key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 (HMAC-SHA256) and RFC 2202 test case 2 (HMAC-SHA1, HMAC-MD5):
    /// our glue must give the published digests, not just agree with itself.
    #[test]
    fn hmac_matches_published_vectors() {
        let data = b"what do ya want for nothing?";
        let hex = |d: Digest| format!("{d:?}");
        assert_eq!(
            hex(compute_digest(AuthMethod::Sha256, b"Jefe", data)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(compute_digest(AuthMethod::Sha1, b"Jefe", data)),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(compute_digest(AuthMethod::Md5, b"Jefe", data)),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        // The CRC-32 check value of "123456789".
        assert_eq!(
            hex(compute_digest(AuthMethod::Crc, b"", b"123456789")),
            "cbf43926"
        );
    }

    #[test]
    fn digest_lengths_match_methods() {
        for m in [
            AuthMethod::Sha256,
            AuthMethod::Sha1,
            AuthMethod::Md5,
            AuthMethod::Crc,
        ] {
            assert_eq!(
                compute_digest(m, b"k", b"x").as_bytes().len(),
                digest_len(m)
            );
        }
    }

    #[test]
    fn keyring_rejects_bad_configurations() {
        assert_eq!(
            Keyring::new(2, [(1, AuthMethod::Sha256, b"k".to_vec())]).unwrap_err(),
            KeyringError::SigningKeyMissing(2)
        );
        assert_eq!(
            Keyring::new(
                1,
                [
                    (1, AuthMethod::Sha256, b"k".to_vec()),
                    (1, AuthMethod::Md5, b"j".to_vec())
                ]
            )
            .unwrap_err(),
            KeyringError::DuplicateIndex(1)
        );
        assert_eq!(
            Keyring::new(1, [(1, AuthMethod::Sha1, Vec::new())]).unwrap_err(),
            KeyringError::EmptySecret {
                index: 1,
                method: AuthMethod::Sha1
            }
        );
        assert!(Keyring::new(1, [(1, AuthMethod::Crc, Vec::new())]).is_ok());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let ring = Keyring::single(1, AuthMethod::Sha256, b"supersecret".to_vec()).unwrap();
        let shown = format!("{ring:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert!(shown.contains("11 bytes"), "{shown}");
    }

    #[test]
    fn constant_time_compare_checks_length_and_content() {
        let d = compute_digest(AuthMethod::Sha256, b"k", b"data");
        let mut other = d.as_bytes().to_vec();
        assert!(d.ct_eq(&other));
        other[31] ^= 1;
        assert!(!d.ct_eq(&other));
        assert!(!d.ct_eq(&d.as_bytes()[..31]));
    }
}
