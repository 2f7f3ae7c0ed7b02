//! `authkeys`: the keys that sign and verify every packet.
//!
//! ```text
//! auth 2                  # key 2 signs what we send
//! 1 sha256 old-secret     # every listed key verifies what we receive (key rotation)
//! 2 sha256 new-secret
//! ```
//!
//! Lines are `auth N` (the signing key's index) and `N METHOD [SECRET]`; blank lines and
//! lines whose first non-blank character is `#` are skipped (a `#` inside a key is part of
//! the key, as in heartbeat). Methods ([`AuthMethod`]): `sha256` (halo's, the default of
//! `halo init`), `sha1` and `md5` (heartbeat's), all needing a secret; `crc`, which must
//! have none, is accepted for old files but authenticates nothing, so it yields a
//! [`Severity::Critical`] notice. The secret is one word; its bytes are the HMAC key.
//! Indices are 0 to 15 (heartbeat's parser accepts 0).
//!
//! Differences from heartbeat: the `auth` line may come anywhere (heartbeat needed it
//! before the key line it names); words after the secret are an error (heartbeat ignored
//! them, silently truncating a passphrase with blanks) unless they start a `#` comment;
//! a secret shorter than [`MIN_SECRET_LEN`] gets a warning.
//!
//! **Secrets never leave this module in text**: errors describe a word that might be a
//! secret instead of quoting it, [`Secret`]'s `Debug` is redacted, and its bytes are wiped
//! when dropped.
//!
//! **Permissions.** [`AuthKeys::read`] opens the file once, checks the opened file's
//! owner and mode ([`check_permissions`]) and reads from that same handle, so the file
//! checked is the file read. Stricter than heartbeat (which refused only group/other
//! *read* bits): any group or other bit, or another owner, is refused, with the command
//! that fixes it.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use halo_types::AuthMethod;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Parsed;
use crate::error::{ConfigError, ConfigErrors, Problem};
use crate::lex;
use crate::notice::{Notice, Severity};

/// Secrets shorter than this get a warning. `halo init` writes 64 hex characters (32
/// random bytes).
pub const MIN_SECRET_LEN: usize = 16;

/// Highest key index.
pub const MAX_KEY_INDEX: u8 = 15;

/// A secret key. `Debug` does not show it; it is wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps key bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    /// The key bytes, for the HMAC. Keep the borrow short and never log it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the key is empty (never, for a parsed key).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One key line.
#[derive(Debug, Clone)]
pub struct Key {
    /// The index (0 to 15) carried in packets to say which key signed them.
    pub index: u8,
    /// The method.
    pub method: AuthMethod,
    /// The secret; `None` for `crc`.
    pub secret: Option<Secret>,
    /// Where it was listed.
    pub line: u32,
}

/// The contents of authkeys: which key signs, and all keys that verify.
#[derive(Debug, Clone)]
pub struct AuthKeys {
    signing: u8,
    keys: Vec<Key>,
}

impl AuthKeys {
    /// The key that signs outgoing packets (`auth N`).
    pub fn signing_key(&self) -> &Key {
        // `parse` guarantees that the signing index is listed; the fallback is unreachable
        // but keeps this total.
        self.key(self.signing).unwrap_or(&self.keys[0])
    }

    /// The key with `index`, if listed: incoming packets name the key that signed them.
    pub fn key(&self, index: u8) -> Option<&Key> {
        self.keys.iter().find(|k| k.index == index)
    }

    /// Every listed key, by index. Never empty.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// For the fuzzing invariants: replace secrets in place.
    pub(crate) fn keys_mut(&mut self) -> &mut [Key] {
        &mut self.keys
    }

    /// Parses authkeys from its bytes. `file` is only used in messages. Permissions are not
    /// checked here: see [`AuthKeys::read`].
    pub fn parse(file: &Path, bytes: &[u8]) -> Result<Parsed<AuthKeys>, ConfigErrors> {
        let mut errors = Vec::new();
        let mut notices = Vec::new();
        let mut auth: Option<(u8, u32)> = None;
        let mut keys: Vec<Key> = Vec::new();
        for line in lex::lines(file, bytes, &mut errors) {
            let words = lex::words(line.text);
            let Some(first) = words.first() else {
                continue;
            };
            if first.starts_with('#') {
                continue;
            }
            let result = if *first == "auth" {
                parse_auth(&words[1..], line.no, &mut auth).map_err(|p| (String::from("auth"), p))
            } else {
                parse_key(&words, line.no, &keys).map(|k| {
                    keys.push(k);
                })
            };
            if let Err((directive, problem)) = result {
                errors.push(ConfigError::at(file, line.no, &directive, problem));
            }
        }
        // Whole-file checks only when every line was fine, so that one mistake is not
        // reported twice ("auth x" is not also "no auth line").
        if let Some(e) = ConfigErrors::from_vec(std::mem::take(&mut errors)) {
            return Err(e);
        }
        match auth {
            None => errors.push(ConfigError::file(file, Some("auth"), Problem::NoAuthLine)),
            Some((index, line)) if keys.iter().all(|k| k.index != index) && !keys.is_empty() => {
                errors.push(ConfigError::at(
                    file,
                    line,
                    "auth",
                    Problem::SigningKeyMissing { index },
                ));
            }
            Some(_) => {}
        }
        if keys.is_empty() {
            errors.push(ConfigError::file(file, None, Problem::NoKeys));
        }
        if let Some(errors) = ConfigErrors::from_vec(errors) {
            return Err(errors);
        }
        for k in &keys {
            let directive = format!("key {}", k.index);
            match &k.secret {
                None => notices.push(Notice::new(
                    Severity::Critical,
                    file,
                    Some(k.line),
                    Some(&directive),
                    "crc authenticates nothing: anyone who can send a packet to this cluster can \
                     forge one and take its services over; use sha256 (halo init writes such a key)",
                )),
                Some(s) if s.len() < MIN_SECRET_LEN => notices.push(Notice::new(
                    Severity::Warning,
                    file,
                    Some(k.line),
                    Some(&directive),
                    format!(
                        "the secret is only {} characters long; use at least {MIN_SECRET_LEN} \
                         random characters (halo init writes 64)",
                        s.len()
                    ),
                )),
                Some(_) => {}
            }
        }
        keys.sort_by_key(|k| k.index);
        let signing = auth.map_or(0, |(i, _)| i);
        Ok(Parsed {
            value: AuthKeys { signing, keys },
            notices,
        })
    }

    /// Opens `path`, refuses it unless it passes [`check_permissions`] for
    /// `expected_uid` (the daemon's effective user), then reads and parses it — all
    /// through one file handle.
    pub fn read(path: &Path, expected_uid: u32) -> Result<Parsed<AuthKeys>, ConfigErrors> {
        let io = |e| ConfigErrors::from(ConfigError::file(path, None, Problem::Io(e)));
        let mut f = std::fs::File::open(path).map_err(io)?;
        let meta = f.metadata().map_err(io)?;
        check_permissions(path, &meta, expected_uid)?;
        let mut bytes = zeroize::Zeroizing::new(Vec::new());
        f.read_to_end(&mut bytes).map_err(io)?;
        Self::parse(path, &bytes)
    }
}

/// Refuses a key file that is not a regular file, is not owned by `expected_uid`, or has
/// any group or other permission bit. The error says what to run.
pub fn check_permissions(
    path: &Path,
    meta: &std::fs::Metadata,
    expected_uid: u32,
) -> Result<(), ConfigError> {
    if !meta.is_file() {
        return Err(ConfigError::file(path, None, Problem::NotRegularFile));
    }
    if meta.uid() != expected_uid {
        return Err(ConfigError::file(
            path,
            None,
            Problem::WrongOwner {
                owner: meta.uid(),
                expected: expected_uid,
                path: path.to_path_buf(),
            },
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(ConfigError::file(
            path,
            None,
            Problem::BadPermissions {
                mode,
                path: path.to_path_buf(),
            },
        ));
    }
    Ok(())
}

/// A key index: a number 0–15. The word is never quoted (it might be a secret).
fn index(word: &str) -> Result<u8, Problem> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) || word.len() > 5 {
        return Err(Problem::BadKeyIndex);
    }
    let v: u64 = word.parse().map_err(|_| Problem::BadKeyIndex)?;
    if v > u64::from(MAX_KEY_INDEX) {
        return Err(Problem::KeyIndexOutOfRange { index: v });
    }
    Ok(v as u8)
}

fn parse_auth(args: &[&str], line: u32, auth: &mut Option<(u8, u32)>) -> Result<(), Problem> {
    let [word, rest @ ..] = args else {
        return Err(Problem::MissingValue {
            expected: "the index of the key that signs (auth 1)",
        });
    };
    if rest.first().is_some_and(|w| !w.starts_with('#')) {
        return Err(Problem::TooManyValues {
            expected: "one key index",
            found: args.len(),
            hint: String::new(),
        });
    }
    let i = index(word)?;
    if let Some((_, first_line)) = auth {
        return Err(Problem::Duplicate {
            first_line: *first_line,
        });
    }
    *auth = Some((i, line));
    Ok(())
}

fn parse_key(words: &[&str], line: u32, keys: &[Key]) -> Result<Key, (String, Problem)> {
    let i = index(words[0]).map_err(|p| ("key".to_string(), p))?;
    let directive = format!("key {i}");
    let fail = |p| (directive.clone(), p);
    let Some(method) = words.get(1) else {
        return Err(fail(Problem::MissingValue {
            expected: "a method after the index: sha256, sha1, md5 or crc",
        }));
    };
    let method: AuthMethod = method.parse().map_err(|_| fail(Problem::UnknownMethod))?;
    // After the method: the secret (for methods that need one), then nothing but an
    // optional `# comment`.
    let rest = &words[2..];
    let (secret, extra) = match rest.split_first() {
        Some((s, extra)) if method.needs_key() => (Some(*s), extra),
        _ => (None, rest),
    };
    if extra.first().is_some_and(|w| !w.starts_with('#')) {
        return Err(fail(if method.needs_key() {
            Problem::KeyHasBlanks
        } else {
            Problem::KeyNotAllowed
        }));
    }
    let secret = match secret {
        Some(s) => Some(Secret::new(s.as_bytes().to_vec())),
        None if method.needs_key() => return Err(fail(Problem::KeyRequired { method })),
        None => None,
    };
    if let Some(k) = keys.iter().find(|k| k.index == i) {
        return Err(fail(Problem::DuplicateKey {
            index: i,
            first_line: k.line,
        }));
    }
    Ok(Key {
        index: i,
        method,
        secret,
        line,
    })
}

#[cfg(test)]
mod tests;
