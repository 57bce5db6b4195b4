//! The `coldfront` binary as a user runs it: exit codes, files, JSON, errors, Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use init_trace::sample::read_samples;

fn coldfront() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coldfront"));
    command.env("NO_COLOR", "1");
    command
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../init-trace/tests/fixtures")
        .join(name)
}

#[test]
fn run_writes_samples_and_prints_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("samples.jsonl");
    let output = coldfront()
        .args(["run", "control", "-n", "2", "--invokes", "2", "--json", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(summary["cold_starts"], 2);
    assert_eq!(summary["functions"][0]["function"], "control");
    assert_eq!(summary["functions"][0]["init"]["n"], 2);
    assert_eq!(summary["functions"][0]["warm_invoke"]["n"], 2);
    let loaded = read_samples(&out).expect("readable");
    assert_eq!(loaded.samples.len(), 2);
    assert!(loaded.truncated_tail.is_none());
    assert!(
        loaded
            .samples
            .iter()
            .all(init_trace::sample::ColdStartSample::succeeded)
    );
}

#[test]
fn text_output_has_samples_reports_and_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("s.jsonl");
    let output = coldfront()
        .args(["run", "control", "-n", "1", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("control #1") && stdout.contains("Init Duration"),
        "{stdout}"
    );
    assert!(stdout.contains("REPORT RequestId: "), "{stdout}");
    assert!(
        stdout.contains("Init Duration (mean ± σ)") && stdout.contains("1 samples written to"),
        "{stdout}"
    );
}

#[test]
fn bad_spec_file_names_the_line_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("src")).expect("mkdir");
    let config = dir.path().join("coldfront.toml");
    std::fs::write(
        &config,
        "[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"a.b\"\nmemroy_mb = 512\n",
    )
    .expect("write");
    let output = coldfront()
        .args(["run", "api", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("coldfront.toml:5:") && stderr.contains("did you mean `memory_mb`"),
        "{stderr}"
    );
}

#[test]
fn unknown_function_lists_the_known_ones() {
    let output = coldfront()
        .args(["run", "wikki"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown function \"wikki\"") && stderr.contains("control, wiki"),
        "{stderr}"
    );
}

#[test]
fn failing_function_exits_1_with_the_failure_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("coldfront.toml");
    std::fs::write(
        &config,
        format!(
            "[functions.broken]\nruntime = \"python\"\ncode = {:?}\nhandler = \"handler.handle\"\n",
            fixture("import_missing").display().to_string()
        ),
    )
    .expect("write");
    let out = dir.path().join("s.jsonl");
    let output = coldfront()
        .args(["run", "broken", "-n", "2", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("2 × init error: Runtime.ImportModuleError"), "{stdout}");
    assert!(stdout.contains("INIT_REPORT Init Duration:"), "{stdout}");
    assert_eq!(read_samples(&out).expect("readable").samples.len(), 2);
}

#[test]
fn ctrl_c_stops_cleanly_and_keeps_every_sample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("s.jsonl");
    let child = coldfront()
        .args(["run", "control", "-n", "500", "--no-throttle", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let started = Instant::now();
    while std::fs::read_to_string(&out).map_or(0, |t| t.lines().count()) < 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "no samples written");
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("signal");
    let output = child.wait_with_output().expect("exits");
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let loaded = read_samples(&out).expect("every line is whole");
    assert!(loaded.truncated_tail.is_none());
    let n = loaded.samples.len();
    assert!((3..500).contains(&n), "{n}");
    assert!(
        stdout.contains(&format!("Stopped after {n} of 500 cold starts")),
        "{stdout}"
    );
    // The cold start the stop cut short is kept, and counted as stopped, not failed.
    assert!(stdout.contains("Failures:                  none"), "{stdout}");
}

#[test]
fn functions_lists_bundled_ones() {
    let output = coldfront()
        .args(["functions", "--json"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let names: Vec<&str> = listed["functions"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["control", "wiki"]);
}

#[test]
fn help_has_examples_and_exit_codes() {
    let output = coldfront().args(["run", "--help"]).output().expect("runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Examples:") && text.contains("--cold-starts"), "{text}");
    let output = coldfront().arg("--help").output().expect("runs");
    assert!(String::from_utf8_lossy(&output.stdout).contains("Exit codes"));
    assert_eq!(
        coldfront()
            .args(["run", "-n", "0"])
            .output()
            .expect("runs")
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn sigterm_and_sighup_stop_like_ctrl_c_and_still_write_the_reports() {
    for (signal, code) in [
        (nix::sys::signal::Signal::SIGTERM, 143),
        (nix::sys::signal::Signal::SIGHUP, 129),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = dir.path().join("run");
        let child = coldfront()
            .args([
                "trace",
                "--subject",
                "control",
                "--control",
                "none",
                "-n",
                "500",
                "--warmup",
                "0",
                "--no-throttle",
                "--out",
            ])
            .arg(&run)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let samples = run.join("samples.jsonl");
        let started = Instant::now();
        while std::fs::read_to_string(&samples).map_or(0, |t| t.lines().count()) < 3 {
            assert!(started.elapsed() < Duration::from_secs(60), "no samples written");
            std::thread::sleep(Duration::from_millis(20));
        }
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).expect("signal");
        let output = child.wait_with_output().expect("exits");
        assert_eq!(
            output.status.code(),
            Some(code),
            "{signal}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let loaded = read_samples(&samples).expect("every line is whole");
        assert!(loaded.truncated_tail.is_none());
        let report = std::fs::read_to_string(run.join("report.md")).expect("the report is written");
        assert!(report.contains("control"), "{signal}");
        assert!(run.join("summary.json").is_file());
    }
}
