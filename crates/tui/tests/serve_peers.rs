//! `coldfront serve` driven by clients we did not write: boto3 and the AWS CLI (pinned,
//! in target/venv-serve) create a function from a zip, invoke it with `--log-type Tail`,
//! change its configuration and wait with their own waiters, publish a version, send bad
//! input, and read X-Ray traces (tests/peers/lambda_clients.py holds every check). The
//! server is the release binary users run; what it records must feed `coldfront report`.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};

mod support;

const PEERS: &[&str] = &["awscli==1.46.3", "boto3==1.44.8", "botocore==1.44.8"];

#[test]
fn boto3_and_the_aws_cli_drive_serve_as_they_drive_lambda() {
    let binary = support::release_binary();
    let python = support::peer_venv("venv-serve", PEERS, "import boto3, awscli");
    let work = tempfile::tempdir().unwrap();
    let samples = work.path().join("served.jsonl");
    let store = work.path().join("store");
    let mut server = Command::new(&binary)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--json",
            "--update-delay-ms",
            "300",
            "--out",
        ])
        .arg(&samples)
        .arg("--store")
        .arg(&store)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("coldfront serve starts");
    let mut stdout = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap_or_else(|e| panic!("{e}: {ready:?}"));
    let endpoint = ready["listen"].as_str().expect("the address").to_owned();

    let venv_bin = python.parent().unwrap();
    let path = format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default());
    let clients = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/lambda_clients.py"))
        .arg(&endpoint)
        .arg(work.path())
        .env("PATH", path)
        .output()
        .expect("python runs");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let mut summary = String::new();
    stdout.read_line(&mut summary).unwrap();
    let output = server.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        clients.status.success(),
        "the clients' checks failed:\n{}\n{}\nserve's stderr:\n{stderr}",
        String::from_utf8_lossy(&clients.stdout),
        String::from_utf8_lossy(&clients.stderr)
    );
    println!("{}", String::from_utf8_lossy(&clients.stdout));
    assert_eq!(output.status.code(), Some(130), "stopped with Ctrl-C: {stderr}");

    // Every environment's life was written: peer before and after its change, its
    // version 1, control before and after its change.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&samples)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |name: &str| lines.iter().filter(|s| s["function"] == name).count();
    assert!(of("peer") >= 3 && of("control") >= 2, "samples: {summary}");
    let invokes: usize = lines.iter().map(|s| s["invokes"].as_array().unwrap().len()).sum();
    // peer: cold, warm, cold after the change, the error (warm), version 1; control: two colds.
    assert_eq!(invokes, 7, "invokes recorded: {summary}");
    // Nothing the bad zip held was written anywhere.
    assert!(!work.path().join("escaped.py").exists() && !store.join("escaped.py").exists());

    let report = Command::new(&binary)
        .arg("report")
        .arg(&samples)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "coldfront report on served samples: {}",
        String::from_utf8_lossy(&report.stderr)
    );
}
