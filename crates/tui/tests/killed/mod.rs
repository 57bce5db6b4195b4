//! A `coldfront run` killed with SIGKILL mid-run, and the run after it: what the killed
//! one left (sandbox `/tmp`s, cgroups) must be gone once the next run has started a
//! sandbox.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use init_trace::local::CgroupSupport;

/// What a killed run was and where its sandboxes' `/tmp`s went.
pub struct KilledRun {
    /// The killed coldfront process.
    pub pid: i32,
    /// `TMPDIR` of both runs.
    pub tmp: tempfile::TempDir,
    /// The killed run's leftovers right after the kill.
    pub left_tmp_dirs: Vec<PathBuf>,
    pub left_cgroups: Vec<PathBuf>,
    _out: tempfile::TempDir,
}

fn coldfront(tmp: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coldfront"));
    command
        .env("NO_COLOR", "1")
        .env("TMPDIR", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// The sandbox `/tmp`s of `pid` in `tmp`.
pub fn tmp_dirs_of(tmp: &Path, pid: i32) -> Vec<PathBuf> {
    let prefix = format!("coldfront-sandbox-{pid}-");
    std::fs::read_dir(tmp)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// The sandbox cgroups of `pid`, in every hierarchy coldfront uses here.
pub fn cgroups_of(pid: i32) -> Vec<PathBuf> {
    let parents = match CgroupSupport::detect() {
        CgroupSupport::V2 { parent } => vec![parent],
        CgroupSupport::V1 {
            cpu_parent,
            memory_parent,
        } => vec![cpu_parent, memory_parent],
        CgroupSupport::Unavailable(_) => Vec::new(),
    };
    let prefix = format!("{pid}-");
    parents
        .iter()
        .flat_map(|parent| std::fs::read_dir(parent).into_iter().flatten().filter_map(Result::ok))
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

/// A `coldfront run control` of 1,000 cold starts with its own `TMPDIR`, once it has
/// finished two (so it holds a pooled cgroup and a spare sandbox `/tmp`).
struct Running {
    child: std::process::Child,
    tmp: tempfile::TempDir,
    out: tempfile::TempDir,
}

fn start_a_run(with_cgroups: bool) -> Running {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let samples = out.path().join("first.jsonl");
    let mut child = coldfront(tmp.path())
        .args(["run", "control", "-n", "1000", "--quiet", "--out"])
        .arg(&samples)
        .spawn()
        .expect("starts");
    let pid = child.id() as i32;
    let started = Instant::now();
    loop {
        let done = std::fs::read_to_string(&samples).map_or(0, |t| t.lines().count());
        let ready =
            done >= 2 && !tmp_dirs_of(tmp.path(), pid).is_empty() && (!with_cgroups || !cgroups_of(pid).is_empty());
        if ready {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no cold starts (or no sandbox to stop) within 60 s: {done} samples"
        );
        assert!(child.try_wait().expect("status").is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(10));
    }
    Running { child, tmp, out }
}

/// Starts `coldfront run control`, kills it with SIGKILL once it has finished two cold
/// starts, then runs one cold start with the same `TMPDIR`.
pub fn kill_a_run_then_run_again(with_cgroups: bool) -> KilledRun {
    let Running { mut child, tmp, out } = start_a_run(with_cgroups);
    let pid = child.id() as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).expect("kill");
    let status = child.wait().expect("reaped");
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
    let left_tmp_dirs = tmp_dirs_of(tmp.path(), pid);
    let left_cgroups = if with_cgroups { cgroups_of(pid) } else { Vec::new() };

    let output = coldfront(tmp.path())
        .args(["run", "control", "-n", "1", "--quiet", "--out"])
        .arg(out.path().join("next.jsonl"))
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "the next run: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    KilledRun {
        pid,
        tmp,
        left_tmp_dirs,
        left_cgroups,
        _out: out,
    }
}

/// Starts `coldfront run control` and stops it with SIGTERM once it has finished two cold
/// starts; returns what the stopped run left: its sandbox `/tmp`s and, with
/// `with_cgroups`, its cgroups.
pub fn terminate_a_run(with_cgroups: bool) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let Running { child, tmp, out: _out } = start_a_run(with_cgroups);
    let pid = child.id() as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM).expect("kill");
    let output = child.wait_with_output().expect("exits");
    assert_eq!(
        output.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cgroups = if with_cgroups { cgroups_of(pid) } else { Vec::new() };
    (tmp_dirs_of(tmp.path(), pid), cgroups)
}
