//! `coldfront run --backend aws` end to end against `coldfront serve`: real forced cold
//! starts through the AWS SDK, the same samples and summary as the local backend, and
//! `kill -9` mid-run followed by `coldfront aws restore` leaving the function as it was.

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn coldfront() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coldfront"));
    command
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    command
}

struct Serve {
    child: Child,
    url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Serve {
    let mut child = coldfront()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-throttle",
            "--json",
            "--update-delay-ms",
            "100",
        ])
        .arg("--out")
        .arg(dir.join("served.jsonl"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    Serve {
        child,
        url: ready["listen"].as_str().unwrap().to_owned(),
    }
}

/// `GetFunctionConfiguration` with a bare HTTP request: (environment, memory size).
fn configuration(url: &str) -> (serde_json::Value, u64) {
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /2015-03-31/functions/control/configuration HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body: serde_json::Value = serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap();
    (
        body["Environment"]["Variables"].clone(),
        body["MemorySize"].as_u64().unwrap(),
    )
}

fn aws_args<'a>(url: &'a str, journal: &'a Path) -> Vec<&'a std::ffi::OsStr> {
    vec![
        "--endpoint-url".as_ref(),
        url.as_ref(),
        "--region".as_ref(),
        "us-east-1".as_ref(),
        "--journal-dir".as_ref(),
        journal.as_os_str(),
    ]
}

#[test]
fn forced_cold_starts_through_the_sdk_are_summarised_like_local_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let before = configuration(&server.url);
    let journal = dir.path().join("journal");
    let out = dir.path().join("aws.jsonl");
    let output = coldfront()
        .args([
            "run",
            "--backend",
            "aws",
            "control",
            "-n",
            "3",
            "--memory",
            "256",
            "--json",
            "--out",
        ])
        .arg(&out)
        .args(aws_args(&server.url, &journal))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["cold_starts"], 3, "{summary}");
    assert_eq!(summary["functions"][0]["memory_mb"], 256, "{summary}");
    let samples: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(samples.len(), 3);
    assert!(
        samples
            .iter()
            .all(|s| s["backend"] == "aws" && s["init"]["duration_ms"].as_f64().is_some())
    );
    assert_eq!(configuration(&server.url), before, "the function is as it was");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0, "no journal left");
}

#[test]
fn kill_9_mid_run_then_aws_restore_puts_the_function_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let before = configuration(&server.url);
    let journal = dir.path().join("journal");
    let out = dir.path().join("aws.jsonl");
    let mut run = coldfront()
        .args([
            "run",
            "--backend",
            "aws",
            "control",
            "-n",
            "500",
            "--memory",
            "1024",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .args(aws_args(&server.url, &journal))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::read_to_string(&out).map_or(0, |t| t.lines().count()) < 2 {
        assert!(Instant::now() < deadline, "no cold start was recorded");
        std::thread::sleep(Duration::from_millis(20));
    }
    run.kill().unwrap();
    run.wait().unwrap();
    let (_, memory) = configuration(&server.url);
    assert_eq!(memory, 1024, "killed mid-run, the function is still changed");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 1, "its journal is left");

    let restore = coldfront()
        .args(["aws", "restore"])
        .args(aws_args(&server.url, &journal))
        .output()
        .unwrap();
    assert_eq!(
        restore.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&restore.stderr)
    );
    assert!(String::from_utf8_lossy(&restore.stdout).contains("Restored: control"));
    assert_eq!(
        configuration(&server.url),
        before,
        "the configuration equals the journaled original"
    );
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0);
    let again = coldfront()
        .args(["aws", "restore"])
        .args(aws_args(&server.url, &journal))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("Nothing to restore"));
}

#[test]
fn the_aws_backend_refuses_what_it_cannot_do() {
    for (args, expected) in [
        (vec!["run", "--backend", "aws"], "needs the functions to run"),
        (
            vec!["run", "--backend", "aws", "f", "--invokes", "3"],
            "one invoke per forced cold start",
        ),
        (vec!["run", "--backend", "aws", "f", "--event", "{nope"], "--event"),
    ] {
        let output = coldfront().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
