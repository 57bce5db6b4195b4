//! `coldfront serve` as a command: refusals name the flag and value at fault, RIE's port
//! serves RIE's path, and SIGTERM ends it cleanly with the summary of what it recorded.

use std::io::{BufRead as _, Read as _, Write as _};
use std::process::{Command, Stdio};

fn coldfront() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coldfront"));
    command.env("NO_COLOR", "1");
    command
}

#[test]
fn bad_serve_arguments_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    for (args, expected) in [
        (
            vec!["serve", "--listen", "0.0.0.0:0"],
            "--listen 0.0.0.0:0: not a loopback address",
        ),
        (vec!["serve", "--rie-listen", "0.0.0.0:0"], "--rie-listen 0.0.0.0:0"),
        (vec!["serve", "--rie-function", "contrl"], "control"),
        (
            vec!["--attach", "http://127.0.0.1:1", "run"],
            "--attach is for the interactive UI",
        ),
    ] {
        let output = coldfront().args(&args).current_dir(dir.path()).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn rie_port_serves_ries_path_and_sigterm_writes_the_samples() {
    let dir = tempfile::tempdir().unwrap();
    let samples = dir.path().join("s.jsonl");
    let mut server = coldfront()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rie-listen",
            "127.0.0.1:0",
            "--no-throttle",
            "--json",
        ])
        .arg("--out")
        .arg(&samples)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    let rie = ready["rie_listen"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_owned();

    // As RIE's documentation shows it: curl -d '{}' localhost:9000/2015-03-31/functions/function/invocations
    let mut stream = std::net::TcpStream::connect(&rie).unwrap();
    write!(
        stream,
        "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: {rie}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut summary = String::new();
    stdout.read_line(&mut summary).unwrap();
    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["functions"][0]["function"], "control", "{summary}");
    assert_eq!(summary["functions"][0]["environments"], 1, "{summary}");
    let lines = std::fs::read_to_string(&samples).unwrap();
    assert_eq!(lines.lines().count(), 1, "the environment's life, written at shutdown");
}
