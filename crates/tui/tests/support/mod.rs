//! What the tests that check coldfront against peers share: the release binary users
//! run, and a venv of pinned peer packages under target/.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target directory these tests were built in.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // target/debug/deps/<test binary>
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("inside target/").to_path_buf()
}

/// The release binary, built (or brought up to date) by cargo itself.
pub fn release_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "coldfront", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --release -p coldfront failed");
    target_dir().join("release/coldfront")
}

/// `target/<name>/bin/python` with `packages` installed (`.ci/run` makes it up front;
/// made here when missing), checked by running `check` in it. Tests sharing a venv take
/// a lock so only one installs.
pub fn peer_venv(name: &str, packages: &[&str], check: &str) -> PathBuf {
    let venv = target_dir().join(name);
    let python = venv.join("bin/python");
    let lock = std::fs::File::create(target_dir().join(format!("{name}.lock"))).expect("lock file");
    lock.lock().expect("lock");
    let ready = Command::new(&python)
        .args(["-c", check])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let ok = Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .status()
            .expect("venv")
            .success()
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(packages)
                .status()
                .expect("pip")
                .success();
        assert!(
            ok,
            "could not install {packages:?} into {} (run .ci/run)",
            venv.display()
        );
    }
    python
}
