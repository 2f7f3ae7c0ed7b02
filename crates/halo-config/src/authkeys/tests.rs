use std::fs::{self, Permissions};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::*;

const FILE: &str = "/etc/ha.d/authkeys";
const SECRET: &str = "correct-horse-battery-staple";

fn parse(text: &str) -> Result<Parsed<AuthKeys>, ConfigErrors> {
    AuthKeys::parse(Path::new(FILE), text.as_bytes())
}

fn ok(text: &str) -> Parsed<AuthKeys> {
    crate::testutil::ok(text, parse(text))
}

fn errors(text: &str) -> Vec<String> {
    crate::testutil::errors(text, parse(text))
}

#[test]
fn one_key() {
    let p = ok(&format!("# comment\n\nauth 1\n1 sha256 {SECRET}\n"));
    let k = p.value.signing_key();
    assert_eq!((k.index, k.method, k.line), (1, AuthMethod::Sha256, 4));
    assert_eq!(
        k.secret.as_ref().map(Secret::expose),
        Some(SECRET.as_bytes())
    );
    assert!(p.notices.is_empty());
}

#[test]
fn several_keys_the_auth_one_signs_all_verify() {
    let p = ok(&format!(
        "2 sha1 {SECRET}-2\n1 md5 {SECRET}-1\nauth 2\n15 sha256 {SECRET}-15\n"
    ));
    let a = &p.value;
    assert_eq!(a.signing_key().index, 2);
    assert_eq!(
        a.keys().iter().map(|k| k.index).collect::<Vec<_>>(),
        [1, 2, 15]
    );
    assert_eq!(a.key(1).map(|k| k.method), Some(AuthMethod::Md5));
    assert_eq!(a.key(15).map(|k| k.method), Some(AuthMethod::Sha256));
    assert!(a.key(3).is_none());
}

#[test]
fn methods_are_case_insensitive_and_index_zero_is_allowed() {
    let p = ok(&format!("auth 0\n0 SHA1 {SECRET}\n"));
    assert_eq!(p.value.signing_key().method, AuthMethod::Sha1);
}

#[test]
fn crc_parses_with_a_loud_notice() {
    let p = ok("auth 1\n1 crc\n");
    assert!(p.value.signing_key().secret.is_none());
    assert_eq!(p.notices.len(), 1);
    assert_eq!(p.notices[0].severity, Severity::Critical);
    assert_eq!(
        p.notices[0].to_string(),
        "/etc/ha.d/authkeys:2: key 1: crc authenticates nothing: anyone who can send a packet to this cluster can forge one and take its services over; use sha256 (halo init writes such a key)"
    );
    // A trailing comment is not a key.
    assert!(
        ok("auth 1\n1 crc # test only\n")
            .value
            .signing_key()
            .secret
            .is_none()
    );
}

#[test]
fn short_secrets_are_warned_about() {
    let p = ok("auth 1\n1 sha1 anclab-secret\n");
    assert_eq!(
        p.notices
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "/etc/ha.d/authkeys:2: key 1: the secret is only 13 characters long; use at least 16 random characters (halo init writes 64)"
        ]
    );
    assert_eq!(p.notices[0].severity, Severity::Warning);
}

#[test]
fn a_hash_inside_a_key_is_part_of_it_and_a_trailing_comment_is_allowed() {
    let p = ok("auth 1\n1 sha256 abc#def-ghi-jkl-mno # the key\n");
    assert_eq!(
        p.value.signing_key().secret.as_ref().map(Secret::expose),
        Some(&b"abc#def-ghi-jkl-mno"[..])
    );
}

#[test]
fn every_error_with_its_line() {
    let cases: &[(&str, &[&str])] = &[
        (
            "1 sha256 x\n",
            &["/etc/ha.d/authkeys: auth: no \"auth N\" line says which key signs outgoing packets"],
        ),
        (
            "auth 1\n",
            &[
                "/etc/ha.d/authkeys: no key is listed; add a line \"1 sha256 SECRET\" (halo init writes one)",
            ],
        ),
        (
            "auth 2\n1 sha256 x\n",
            &[
                "/etc/ha.d/authkeys:1: auth: key 2 signs outgoing packets, but no line \"2 METHOD [KEY]\" lists it",
            ],
        ),
        (
            "auth\n1 crc\n",
            &[
                "/etc/ha.d/authkeys:1: auth: missing value: expected the index of the key that signs (auth 1)",
            ],
        ),
        (
            "auth 1 2\n1 crc\n",
            &["/etc/ha.d/authkeys:1: auth: expected one key index, found 2 values"],
        ),
        (
            "auth 1\nauth 1\n1 crc\n",
            &["/etc/ha.d/authkeys:2: auth: already set on line 1; give it once"],
        ),
        (
            "auth 16\n1 crc\n",
            &["/etc/ha.d/authkeys:1: auth: key index 16 is out of range (0 to 15)"],
        ),
        (
            "auth 1\n1 sha1\n",
            &["/etc/ha.d/authkeys:2: key 1: sha1 needs a key: \"INDEX sha1 SECRET\""],
        ),
        (
            "auth 1\n1 md5\n",
            &["/etc/ha.d/authkeys:2: key 1: md5 needs a key: \"INDEX md5 SECRET\""],
        ),
        (
            "auth 1\n1 sha256\n",
            &["/etc/ha.d/authkeys:2: key 1: sha256 needs a key: \"INDEX sha256 SECRET\""],
        ),
        (
            "auth 1\n1 crc abc\n",
            &[
                "/etc/ha.d/authkeys:2: key 1: crc takes no key (and authenticates nothing); use sha256 with this key instead",
            ],
        ),
        (
            "auth 1\n1\n",
            &[
                "/etc/ha.d/authkeys:2: key 1: missing value: expected a method after the index: sha256, sha1, md5 or crc",
            ],
        ),
        (
            "auth 1\n1 crc\n1 crc\n",
            &["/etc/ha.d/authkeys:3: key 1: key 1 is already listed on line 2"],
        ),
        (
            "auth 1\n1 crc\n20 crc\n",
            &["/etc/ha.d/authkeys:3: key: key index 20 is out of range (0 to 15)"],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(&errors(text), expected, "{text:?}");
    }
}

/// Words that might be secrets must never appear in a message.
#[test]
fn errors_never_quote_what_might_be_a_secret() {
    let leaks = [
        ("auth 1\nhunter2-secret sha1 x\n", "hunter2-secret"),
        ("auth 1\n1 hunter2-secret\n", "hunter2-secret"),
        ("auth 1\n1 sha1 my pass phrase\n", "pass"),
        ("auth 1\n1 sha1 my pass phrase\n", "phrase"),
        ("auth hunter2-secret\n1 crc\n", "hunter2-secret"),
        ("auth 1\n1 crc hunter2-secret\n", "hunter2-secret"),
    ];
    for (text, secret) in leaks {
        let e = errors(text).join("\n");
        assert!(!e.contains(secret), "{text:?} leaked {secret:?} in: {e}");
        assert!(e.contains("/etc/ha.d/authkeys:"), "{e}");
    }
    assert_eq!(
        errors("auth 1\n1 sha1 my pass phrase\n"),
        [
            "/etc/ha.d/authkeys:2: key 1: more than one word after the method; a key is a single word without blanks (the words are not shown)"
        ]
    );
    assert_eq!(
        errors("auth 1\n1 hunter2-secret\n"),
        [
            "/etc/ha.d/authkeys:2: key 1: unknown authentication method (the word is not shown in case it is a secret); expected sha256, sha1, md5 or crc"
        ]
    );
    assert_eq!(
        errors("auth 1\nhunter2 sha1 x\n"),
        [
            "/etc/ha.d/authkeys:2: key: the line must start with a key index (a number from 0 to 15); the word found is not shown in case it is a secret"
        ]
    );
}

#[test]
fn debug_output_never_shows_the_secret() {
    let p = ok(&format!("auth 1\n1 sha256 {SECRET}\n2 md5 {SECRET}-two\n"));
    let dbg = format!("{:?} {:#?}", p.value, p);
    assert!(!dbg.contains(SECRET), "{dbg}");
    assert!(dbg.contains("Secret(<redacted>)"), "{dbg}");
}

fn write_keys(dir: &Path, mode: u32) -> std::path::PathBuf {
    let path = dir.join("authkeys");
    fs::write(&path, format!("auth 1\n1 sha256 {SECRET}\n")).unwrap();
    fs::set_permissions(&path, Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn read_accepts_0600_and_0400_owned_by_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o600, 0o400] {
        let path = write_keys(dir.path(), mode);
        let uid = fs::metadata(&path).unwrap().uid();
        let p = AuthKeys::read(&path, uid).unwrap();
        assert_eq!(
            p.value.signing_key().secret.as_ref().map(Secret::expose),
            Some(SECRET.as_bytes())
        );
    }
}

#[test]
fn read_refuses_group_or_other_bits_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o660] {
        let path = write_keys(dir.path(), mode);
        let uid = fs::metadata(&path).unwrap().uid();
        let e = AuthKeys::read(&path, uid).unwrap_err().to_string();
        let p = path.display();
        assert_eq!(
            e,
            format!(
                "{p}: mode {mode:04o} gives group or others access to the cluster keys; run \"chmod 600 {p}\""
            ),
            "mode {mode:o}"
        );
        assert!(!e.contains(SECRET));
    }
}

#[test]
fn read_refuses_another_owner() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_keys(dir.path(), 0o600);
    let uid = fs::metadata(&path).unwrap().uid();
    let other = uid.wrapping_add(1);
    let e = AuthKeys::read(&path, other).unwrap_err().to_string();
    let p = path.display();
    assert_eq!(
        e,
        format!(
            "{p}: owned by uid {uid}, but halod runs as uid {other}; run \"chown {other} {p}\" and \"chmod 600 {p}\""
        )
    );
}

#[test]
fn read_refuses_a_directory_and_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let uid = fs::metadata(dir.path()).unwrap().uid();
    let e = AuthKeys::read(dir.path(), uid).unwrap_err().to_string();
    assert_eq!(e, format!("{}: not a regular file", dir.path().display()));
    let missing = dir.path().join("nope");
    let e = AuthKeys::read(&missing, uid).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: cannot read the file: ", missing.display())),
        "{e}"
    );
}
