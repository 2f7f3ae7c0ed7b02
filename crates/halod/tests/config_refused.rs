//! halod refuses to start on a bad configuration: exit code 1 and a message naming the
//! file, the line and the directive (or the fix). These run outside the lab: halod stops
//! before opening any socket, and the only medium configured is loopback, so nothing
//! could leave the machine even if it did start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const HALOD: &str = env!("CARGO_BIN_EXE_halod");

const GOOD_HA_CF: &str = "keepalive 100ms\ndeadtime 500ms\nucast lo 127.0.0.1\nnode node1 node2\n";
const AUTHKEYS: &str = "auth 1\n1 sha256 0123456789abcdef0123456789abcdef\n";

/// Run halod on `dir` (config, state and run directories inside it), killing it if it
/// has not exited after a generous limit (a daemon that started is itself a failure).
fn run_halod(dir: &Path) -> Output {
    let mut child = Command::new(HALOD)
        .arg("--config-dir")
        .arg(dir.join("etc"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--run-dir")
        .arg(dir.join("run"))
        .args(["--node", "node1", "--foreground"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn config_dir(ha_cf: &str, authkeys_mode: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    fs::create_dir(&etc).unwrap();
    fs::write(etc.join("ha.cf"), ha_cf).unwrap();
    let keys = etc.join("authkeys");
    fs::write(&keys, AUTHKEYS).unwrap();
    fs::set_permissions(&keys, fs::Permissions::from_mode(authkeys_mode)).unwrap();
    dir
}

fn refused(out: &Output, dir: &Path) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "exit code 1: {out:?}");
    assert!(stderr.contains("does not start"), "{stderr}");
    assert!(
        !dir.join("run/halod.sock").exists(),
        "no API socket: the daemon never ran"
    );
    stderr
}

#[test]
fn authkeys_readable_by_others_is_refused_with_the_fix() {
    let dir = config_dir(GOOD_HA_CF, 0o644);
    let out = run_halod(dir.path());
    let stderr = refused(&out, dir.path());
    let keys = dir.path().join("etc/authkeys");
    assert!(
        stderr.contains(&format!("{}: mode 0644", keys.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("chmod 600 {}", keys.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("0123456789abcdef"), "never shows the key");
}

#[test]
fn authkeys_0600_with_the_same_files_is_accepted_by_check() {
    // The control for the test above: the same files with mode 0600 pass `--check`, so
    // the refusal was about the mode and nothing else.
    let dir = config_dir(GOOD_HA_CF, 0o600);
    let out = Command::new(HALOD)
        .arg("--config-dir")
        .arg(dir.path().join("etc"))
        .args(["--node", "node1", "--check"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK for node node1"));
}

#[test]
fn bad_ha_cf_is_refused_naming_file_line_and_directive() {
    let cases = [
        (
            "# comment\nkeepalive 100ms\nkeepalvie 2\nucast lo 127.0.0.1\nnode node1 node2\n",
            ":3: keepalvie: unknown directive; did you mean \"keepalive\"?",
        ),
        (
            "keepalive 100ms\nucast lo 127.0.0.1\ndeadtime 150ms\nnode node1 node2\n",
            ":3: deadtime: 150ms must be more than twice keepalive (100ms)",
        ),
        (
            "keepalive 100ms\nucast lo 127.0.0.1\nnode node1 node2\nudpport 99999\n",
            ":4: udpport: ",
        ),
        (
            "keepalive 100ms\nmcast lo 10.0.0.1 694 1 0\nnode node1 node2\n",
            ":2: mcast: \"10.0.0.1\" is not a multicast (class D) group",
        ),
    ];
    for (ha_cf, want) in cases {
        let dir = config_dir(ha_cf, 0o600);
        let out = run_halod(dir.path());
        let stderr = refused(&out, dir.path());
        let want = format!("{}{want}", dir.path().join("etc/ha.cf").display());
        assert!(stderr.contains(&want), "want {want:?} in:\n{stderr}");
    }
}
