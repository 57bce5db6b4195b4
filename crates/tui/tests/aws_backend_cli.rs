//! `coldfront run --backend aws` end to end against `coldfront serve`: real forced cold
//! starts through the AWS SDK, the same samples and summary as the local backend, and
//! `kill -9` mid-run followed by `coldfront aws restore` leaving the function as it was;
//! `coldfront trace --backend aws` writing the local backend's report pages from what
//! AWS exposes (the REPORT line, Lambda's X-Ray Initialization span and the function's
//! own subsegments); the functions a run creates (copies, the control, variants) and the
//! variants the user names, including `kill -9` while they exist.

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
    serve_with(dir, &[])
}

fn serve_with(dir: &Path, extra: &[&std::ffi::OsStr]) -> Serve {
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
        .args(extra)
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

/// `GetFunctionConfiguration` of `control` with a bare HTTP request: (environment, memory size).
fn configuration(url: &str) -> (serde_json::Value, u64) {
    configuration_of(url, "control")
}

fn configuration_of(url: &str, function: &str) -> (serde_json::Value, u64) {
    let body = lambda_api(url, "GET", &format!("functions/{function}/configuration"), None).1;
    (
        body["Environment"]["Variables"].clone(),
        body["MemorySize"].as_u64().unwrap(),
    )
}

/// One Lambda API request to serve over bare HTTP (not the SDK under test): the status
/// line and the JSON body.
fn lambda_api(url: &str, method: &str, path: &str, body: Option<&serde_json::Value>) -> (String, serde_json::Value) {
    let address = url.trim_start_matches("http://");
    let body = body.map(serde_json::Value::to_string).unwrap_or_default();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} /2015-03-31/{path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, serde_json::from_str(body).unwrap())
}

/// Waits (polling, with a two-minute deadline) until `done`, while `child` runs.
fn wait_while_running(child: &mut Child, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "not reached in time: {what}");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended early, before {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many lines a file has (0 before it exists).
fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// A command that must have exited 0; its standard error says why when it did not.
fn assert_succeeded(output: &std::process::Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `coldfront aws restore` with the run's journal; it must succeed. Its standard output.
fn aws_restore(url: &str, journal: &Path) -> String {
    let restore = coldfront()
        .args(["aws", "restore"])
        .args(aws_args(url, journal))
        .output()
        .unwrap();
    assert_succeeded(&restore);
    String::from_utf8_lossy(&restore.stdout).into_owned()
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
    assert_succeeded(&output);
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
    wait_while_running(&mut run, "a cold start is recorded", || line_count(&out) >= 2);
    run.kill().unwrap();
    run.wait().unwrap();
    let (_, memory) = configuration(&server.url);
    assert_eq!(memory, 1024, "killed mid-run, the function is still changed");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 1, "its journal is left");

    assert!(aws_restore(&server.url, &journal).contains("Restored: control"));
    assert_eq!(
        configuration(&server.url),
        before,
        "the configuration equals the journaled original"
    );
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0);
    assert!(aws_restore(&server.url, &journal).contains("Nothing to restore"));
}

/// A Python function that times a block of its INIT with coldfront's `segment()`, which
/// reaches X-Ray as the function's own subsegment, and the bundled control beside it.
fn traced_functions(dir: &Path) -> std::path::PathBuf {
    let code = dir.join("traced");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::write(
        code.join("handler.py"),
        "from coldfront_trace import segment\n\nwith segment(\"load-config\"):\n    import json\n    CONFIG = json.loads('{\"a\": 1}')\n\n\ndef handle(event, context):\n    return CONFIG\n",
    )
    .unwrap();
    let control = Path::new(env!("CARGO_MANIFEST_DIR")).join("../init-trace/fixtures/control");
    let spec = dir.join("coldfront.toml");
    std::fs::write(
        &spec,
        format!(
            "[functions.traced]\nruntime = \"python\"\ncode = {:?}\nhandler = \"handler.handle\"\n\n[functions.control]\nruntime = \"python\"\ncode = {:?}\nhandler = \"handler.handle\"\n",
            code.display().to_string(),
            control.display().to_string()
        ),
    )
    .unwrap();
    spec
}

#[test]
fn trace_on_aws_writes_the_local_report_pages_from_xray_and_says_what_aws_hides() {
    let dir = tempfile::tempdir().unwrap();
    let spec = traced_functions(dir.path());
    let server = serve_with(dir.path(), &["--config".as_ref(), spec.as_os_str()]);
    let before = (
        configuration_of(&server.url, "traced"),
        configuration_of(&server.url, "control"),
    );
    let journal = dir.path().join("journal");
    let run = dir.path().join("run");
    let output = coldfront()
        .args([
            "trace",
            "--backend",
            "aws",
            "--subject",
            "traced",
            "--control",
            "control",
            "-n",
            "2",
            "--warmup",
            "1",
            "--xray-wait-s",
            "10",
            "--json",
            "--out",
        ])
        .arg(&run)
        .args(aws_args(&server.url, &journal))
        .output()
        .unwrap();
    assert_succeeded(&output);
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for name in ["summary.json", "report.md", "breakdown.svg", "init-duration.hlog"] {
        assert!(run.join(name).is_file(), "{name} written");
    }
    let samples: Vec<serde_json::Value> = std::fs::read_to_string(run.join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // (1 warm-up + 2) × 2 functions, interleaved, all measured on the AWS path with a trace.
    assert_eq!(samples.len(), 6);
    let roles: Vec<&str> = samples.iter().map(|s| s["labels"]["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        ["subject", "control", "subject", "control", "subject", "control"]
    );
    assert!(
        samples
            .iter()
            .all(|s| s["backend"] == "aws" && s["aws"]["xray_found"] == true)
    );

    let groups = summary["groups"].as_array().unwrap();
    let subject = groups.iter().find(|g| g["role"] == "subject").expect("subject group");
    assert_eq!(subject["init"]["n"], 2, "warm-ups left out: {subject}");
    let segments = subject["segments"].as_array().unwrap();
    let segment = |path: &str| segments.iter().find(|s| s["path"] == path);
    let custom = segment("custom: load-config").unwrap_or_else(|| panic!("the function's subsegment: {segments:?}"));
    let init_mean = subject["init"]["mean_ms"].as_f64().unwrap();
    let custom_mean = custom["mean_ms"].as_f64().unwrap();
    assert!(custom_mean > 0.0 && custom_mean <= init_mean, "{custom}");
    assert!(segment("unattributed").is_some(), "{segments:?}");
    assert!(
        segment("handler init").is_none() && segment("imports").is_none(),
        "AWS does not split INIT: {segments:?}"
    );
    let hidden: Vec<&str> = subject["not_observable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    for name in [
        "runtime start",
        "imports",
        "handler init",
        "runtime api",
        "network (VPC ENI)",
        "storage (EFS mount)",
    ] {
        assert!(hidden.contains(&name), "{name} listed as not exposed: {hidden:?}");
    }
    assert!(subject["sandbox_setup_mean_ms"].is_null(), "no local set-up claimed");
    let control = groups.iter().find(|g| g["role"] == "control").expect("control group");
    assert_eq!(control["init"]["n"], 2);
    assert!(
        !summary["comparisons"].as_array().unwrap().is_empty(),
        "subject compared with its control"
    );

    let page = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(page.contains("## Not observable on this backend"), "{page}");
    assert!(page.contains("AWS exposes INIT only whole"), "{page}");
    assert!(!page.contains("local sandbox set-up"), "{page}");
    assert!(
        page.contains("Measured by coldfront on AWS Lambda") && !page.contains("local Lambda emulator"),
        "{page}"
    );
    assert!(page.contains("| Where | AWS Lambda, "), "{page}");

    let after = (
        configuration_of(&server.url, "traced"),
        configuration_of(&server.url, "control"),
    );
    assert_eq!(after, before, "both functions are as they were");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0, "no journal left");
}

#[test]
fn parallel_cold_starts_cover_every_named_function_and_restore_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let before = (
        configuration_of(&server.url, "wiki"),
        configuration_of(&server.url, "control"),
    );
    let journal = dir.path().join("journal");
    let out = dir.path().join("aws.jsonl");
    let output = coldfront()
        .args([
            "run",
            "--backend",
            "aws",
            "wiki",
            "control",
            "--parallel",
            "2",
            "-n",
            "2",
            "--memory",
            "256",
            "--json",
            "--out",
        ])
        .arg(&out)
        .args(aws_args(&server.url, &journal))
        .output()
        .unwrap();
    assert_succeeded(&output);
    let samples: Vec<(String, u64)> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|s| {
            (
                s["function"].as_str().unwrap().to_owned(),
                s["sample_index"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        samples,
        [
            ("wiki".to_owned(), 0),
            ("control".to_owned(), 1),
            ("wiki".to_owned(), 2),
            ("control".to_owned(), 3)
        ],
        "each round's cold starts in the functions' order"
    );
    let after = (
        configuration_of(&server.url, "wiki"),
        configuration_of(&server.url, "control"),
    );
    assert_eq!(after, before, "both functions are as they were");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0);
}

#[test]
fn the_cost_estimate_comes_first_and_the_memory_sweep_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let before = configuration(&server.url);
    let journal = dir.path().join("journal");
    let run = dir.path().join("run");
    let trace = |extra: &[&str]| {
        coldfront()
            .args([
                "trace",
                "--backend",
                "aws",
                "--subject",
                "control",
                "--control",
                "none",
                "--memory",
                "128,256",
                "-n",
                "2",
                "--warmup",
                "0",
                "--xray-wait-s",
                "0",
                "--json",
                "--cost-limit-usd",
                "0",
                "--out",
            ])
            .arg(&run)
            .args(aws_args(&server.url, &journal))
            .args(extra)
            .output()
            .unwrap()
    };
    // Any run costs more than $0: refused before anything changes.
    let refused = trace(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Cost estimate: at most $"), "{stderr}");
    assert!(stderr.contains("4 invocations"), "{stderr}");
    assert!(
        stderr.contains("refusing to run") && stderr.contains("--yes") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert!(!run.exists(), "no run directory for a refused run");
    assert_eq!(std::fs::read_dir(&journal).map_or(0, Iterator::count), 0, "no journal");
    assert_eq!(configuration(&server.url), before);

    let ran = trace(&["--yes"]);
    assert_succeeded(&ran);
    let memory: Vec<u64> = std::fs::read_to_string(run.join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["memory_size_mb"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(memory, [128, 256, 128, 256], "MemorySize changed per round");
    let summary: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    let sizes: Vec<u64> = summary["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["memory_mb"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes.len(), 2, "one group per memory size: {sizes:?}");
    assert_eq!(
        configuration(&server.url),
        before,
        "memory size and environment restored"
    );
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0);
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
        (
            vec!["run", "--backend", "aws", "f", "g", "--parallel", "3"],
            "--parallel 3: name one function (coldfront runs it beside 2 copies it makes of it) or at least 3",
        ),
        (
            vec!["trace", "--backend", "aws", "--subject", "f", "--control", "f"],
            "is also the subject",
        ),
        (
            vec!["trace", "--backend", "aws", "--subject", "f", "--invokes", "2"],
            "one invoke per forced cold start",
        ),
    ] {
        let output = coldfront().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// The names ListFunctions gives, with a bare HTTP request.
fn function_names(url: &str) -> Vec<String> {
    lambda_api(url, "GET", "functions/", None).1["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["FunctionName"].as_str().unwrap().to_owned())
        .collect()
}

const ROLE: &str = "arn:aws:iam::123456789012:role/coldfront-test";

fn deploy_control_trace(url: &str, journal: &Path, run: &Path, cold_starts: &str) -> Command {
    aws_trace(
        url,
        journal,
        run,
        "wiki",
        cold_starts,
        &["--deploy-control", "--role", ROLE],
    )
}

#[test]
fn deploy_control_creates_the_control_runs_it_beside_the_subject_and_deletes_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let functions_before = function_names(&server.url);
    let before = configuration_of(&server.url, "wiki");
    let journal = dir.path().join("journal");
    let run = dir.path().join("run");
    let output = deploy_control_trace(&server.url, &journal, &run, "2").output().unwrap();
    assert_succeeded(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let samples: Vec<serde_json::Value> = std::fs::read_to_string(run.join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seen: Vec<(&str, &str)> = samples
        .iter()
        .map(|s| (s["function"].as_str().unwrap(), s["labels"]["role"].as_str().unwrap()))
        .collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
    let control = seen[1].0;
    assert!(control.starts_with("wiki-cfctl-"), "{seen:?}");
    assert_eq!(
        seen,
        [
            ("wiki", "subject"),
            (control, "control"),
            ("wiki", "subject"),
            (control, "control")
        ]
    );
    assert!(
        samples.iter().all(|s| s["memory_size_mb"] == 512),
        "the control runs at the subject's memory size"
    );
    assert!(
        stderr.contains(&format!("Created {control} (the bundled control for wiki)")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("Deleted {control}")), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(!summary["comparisons"].as_array().unwrap().is_empty(), "{summary}");
    assert_eq!(function_names(&server.url), functions_before, "the control is gone");
    assert_eq!(configuration_of(&server.url, "wiki"), before);
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0, "no journal left");
}

#[test]
fn kill_9_with_a_deployed_control_then_aws_restore_deletes_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let functions_before = function_names(&server.url);
    let before = configuration_of(&server.url, "wiki");
    let journal = dir.path().join("journal");
    let run = dir.path().join("run");
    let mut child = deploy_control_trace(&server.url, &journal, &run, "500")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let samples = run.join("samples.jsonl");
    wait_while_running(&mut child, "a cold start of the control is recorded", || {
        line_count(&samples) >= 3
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let left: Vec<String> = function_names(&server.url)
        .into_iter()
        .filter(|f| !functions_before.contains(f))
        .collect();
    assert_eq!(left.len(), 1, "killed mid-run, the control is still there: {left:?}");
    assert!(left[0].starts_with("wiki-cfctl-"), "{left:?}");

    let stdout = aws_restore(&server.url, &journal);
    assert!(stdout.contains("Restored: wiki"), "{stdout}");
    assert!(
        stdout.contains(&format!("Deleted (created by an interrupted run): {}", left[0])),
        "{stdout}"
    );
    assert_eq!(function_names(&server.url), functions_before, "the control is gone");
    assert_eq!(configuration_of(&server.url, "wiki"), before);
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0);
}

#[test]
fn deploy_control_refuses_what_it_cannot_do() {
    for (args, expected) in [
        (
            vec!["trace", "--backend", "aws", "--subject", "f", "--deploy-control"],
            "--role",
        ),
        (
            vec!["trace", "--backend", "aws", "--subject", "f", "--keep"],
            "add --deploy-control",
        ),
        (vec!["trace", "--deploy-control", "--role", ROLE], "add --backend aws"),
        (
            vec!["trace", "--no-vpc-variant", "f-novpc"],
            "--no-vpc-variant names a Lambda function: add --backend aws",
        ),
        (
            vec!["run", "--backend", "aws", "f", "--keep"],
            "--keep and --role are for the copies coldfront makes",
        ),
    ] {
        let output = coldfront().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn parallel_with_one_function_runs_copies_of_it_and_deletes_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let functions_before = function_names(&server.url);
    let before = configuration(&server.url);
    let journal = dir.path().join("journal");
    let out = dir.path().join("aws.jsonl");
    let output = coldfront()
        .args([
            "run",
            "--backend",
            "aws",
            "control",
            "--parallel",
            "3",
            "-n",
            "2",
            "--json",
            "--out",
        ])
        .arg(&out)
        .args(aws_args(&server.url, &journal))
        .output()
        .unwrap();
    assert_succeeded(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let functions: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|s| {
            assert!(
                s["invokes"][0]["cold"] == true && s["invokes"][0]["status"] == "success",
                "{s}"
            );
            s["function"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(functions.len(), 6, "{functions:?}");
    assert_eq!(
        functions[..3],
        functions[3..],
        "each round covers the function and its copies"
    );
    assert_eq!(functions[0], "control");
    assert!(
        functions[1].starts_with("control-cfcopy1-") && functions[2].starts_with("control-cfcopy2-"),
        "{functions:?}"
    );
    for copy in &functions[1..3] {
        assert!(stderr.contains(&format!("Created {copy}")), "{stderr}");
        assert!(stderr.contains(&format!("Deleted {copy}")), "{stderr}");
    }
    assert_eq!(function_names(&server.url), functions_before, "the copies are gone");
    assert_eq!(configuration(&server.url), before);
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0, "no journal left");
}

/// Sends UpdateFunctionConfiguration with a bare HTTP request and waits (polling, with a
/// deadline) until the change is in effect.
fn update_configuration(url: &str, function: &str, body: &serde_json::Value) {
    let path = format!("functions/{function}/configuration");
    let (status, response) = lambda_api(url, "PUT", &path, Some(body));
    assert!(status.starts_with("HTTP/1.1 200"), "{status}: {response}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, configuration) = lambda_api(url, "GET", &path, None);
        if configuration["LastUpdateStatus"] == "Successful" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the change did not take effect: {configuration}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn vpc_variants_report_network_and_storage_as_differences_and_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    update_configuration(
        &server.url,
        "control",
        &serde_json::json!({
            "VpcConfig": {"SubnetIds": ["subnet-0a1b"], "SecurityGroupIds": ["sg-0e4f"]},
            "FileSystemConfigs": [{
                "Arn": "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0",
                "LocalMountPath": "/mnt/data"
            }]
        }),
    );
    let functions_before = function_names(&server.url);
    let journal = dir.path().join("journal");
    let run = dir.path().join("run");
    let output = aws_trace(&server.url, &journal, &run, "control", "3", &["--vpc-variants"])
        .output()
        .unwrap();
    assert_succeeded(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let functions: Vec<String> = std::fs::read_to_string(run.join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["function"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(functions.len(), 9, "{functions:?}");
    assert_eq!(functions[..3], functions[3..6], "interleaved: {functions:?}");
    assert!(
        functions[1].starts_with("control-cfnoefs-") && functions[2].starts_with("control-cfnovpc-"),
        "{functions:?}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("differences.json")).unwrap()).unwrap();
    let found = report["differences"].as_array().unwrap();
    let names: Vec<&str> = found.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["storage mount", "network setup"]);
    assert_eq!(found[0]["with"], "control");
    assert_eq!(found[0]["without"], functions[1].as_str());
    assert_eq!(found[1]["with"], functions[1].as_str());
    assert_eq!(found[1]["without"], functions[2].as_str());
    for d in found {
        assert_eq!(
            (d["n_with"].as_u64(), d["n_without"].as_u64()),
            (Some(3), Some(3)),
            "{d}"
        );
        let (low, high) = (
            d["ci95_ms"]["low"].as_f64().unwrap(),
            d["ci95_ms"]["high"].as_f64().unwrap(),
        );
        let median = d["median_diff_ms"].as_f64().unwrap();
        assert!(low <= median && median <= high, "{d}");
        // coldfront timed each cold invoke's round trip too.
        let (low, high) = (
            d["round_trip_ci95_ms"]["low"].as_f64().unwrap(),
            d["round_trip_ci95_ms"]["high"].as_f64().unwrap(),
        );
        let median = d["round_trip_median_diff_ms"].as_f64().unwrap();
        assert!(low <= median && median <= high, "{d}");
    }
    assert!(
        report["caveat"].as_str().unwrap().contains("not AWS Lambda")
            && stderr.contains("coldfront serve does neither"),
        "{report} {stderr}"
    );
    assert!(
        stderr.contains("network setup @ ") && stderr.contains("storage mount @ "),
        "{stderr}"
    );
    // The report pages carry them too: summary.json (also on stdout) and report.md.
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary, written);
    assert_eq!(&summary["differences"], &report["differences"], "{summary}");
    assert!(
        summary["comparisons"].as_array().unwrap().is_empty(),
        "the variants are not controls: {summary}"
    );
    let page = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        page.contains("## What only AWS has: network setup and storage mount"),
        "{page}"
    );
    for d in found {
        let row = format!(
            "| {} | {} MB | `{}` | `{}` | {:+.1} ms |",
            d["name"].as_str().unwrap(),
            d["memory_mb"],
            d["with"].as_str().unwrap(),
            d["without"].as_str().unwrap(),
            d["median_diff_ms"].as_f64().unwrap()
        );
        assert!(page.contains(&row), "{row} in {page}");
    }
    assert!(page.contains("**Caveat**: measured against http://"), "{page}");
    // `coldfront report` re-renders them from the samples alone.
    std::fs::remove_file(run.join("report.md")).unwrap();
    let rerendered = coldfront().arg("report").arg(&run).arg("--json").output().unwrap();
    assert_eq!(rerendered.status.code(), Some(0));
    let again: serde_json::Value = serde_json::from_slice(&rerendered.stdout).unwrap();
    assert_eq!(again["differences"], summary["differences"]);
    assert_eq!(std::fs::read_to_string(run.join("report.md")).unwrap(), page);
    assert_eq!(function_names(&server.url), functions_before, "the variants are gone");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0, "no journal left");
}

/// Functions of one code directory (the bundled control's), for variants the user names:
/// `api` (put in a VPC with EFS by the test), `api-noefs`, `api-novpc`, and `api-big`,
/// which differs in memory size.
fn variant_functions(dir: &Path) -> std::path::PathBuf {
    let control = Path::new(env!("CARGO_MANIFEST_DIR")).join("../init-trace/fixtures/control");
    let spec = dir.join("coldfront.toml");
    let mut text = String::new();
    for (name, memory) in [("api", 512), ("api-noefs", 512), ("api-novpc", 512), ("api-big", 1024)] {
        text.push_str(&format!(
            "[functions.{name}]\nruntime = \"python\"\ncode = {:?}\nhandler = \"handler.handle\"\nmemory_mb = {memory}\n\n",
            control.display().to_string()
        ));
    }
    std::fs::write(&spec, text).unwrap();
    spec
}

/// Serve with the variant functions: `api` in a VPC with an EFS mount, `api-noefs` in the
/// same VPC without one, `api-novpc` in none, `api-big` with another memory size.
fn serve_variants(dir: &Path) -> Serve {
    let spec = variant_functions(dir);
    let server = serve_with(dir, &["--config".as_ref(), spec.as_os_str()]);
    let vpc = serde_json::json!({"SubnetIds": ["subnet-0a1b"], "SecurityGroupIds": ["sg-0e4f"]});
    update_configuration(
        &server.url,
        "api",
        &serde_json::json!({
            "VpcConfig": vpc,
            "FileSystemConfigs": [{
                "Arn": "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0",
                "LocalMountPath": "/mnt/data"
            }]
        }),
    );
    update_configuration(&server.url, "api-noefs", &serde_json::json!({"VpcConfig": vpc}));
    server
}

/// `coldfront trace --backend aws` of `subject` with no control of the user's, `extra`
/// saying what it runs beside (variants, a deployed control), with its run directory and
/// journal.
fn aws_trace(url: &str, journal: &Path, run: &Path, subject: &str, cold_starts: &str, extra: &[&str]) -> Command {
    let mut command = coldfront();
    command
        .args([
            "trace",
            "--backend",
            "aws",
            "--subject",
            subject,
            "--control",
            "none",
            "-n",
            cold_starts,
            "--warmup",
            "0",
            "--xray-wait-s",
            "0",
            "--yes",
            "--json",
            "--out",
        ])
        .arg(run)
        .args(extra)
        .args(aws_args(url, journal));
    command
}

/// `GetFunctionConfiguration` of `function`, whole.
fn whole_configuration(url: &str, function: &str) -> serde_json::Value {
    let mut body = lambda_api(url, "GET", &format!("functions/{function}/configuration"), None).1;
    // What serve changes on every update, not a setting.
    for volatile in ["LastModified", "RevisionId"] {
        body.as_object_mut().unwrap().remove(volatile);
    }
    body
}

#[test]
fn variants_named_by_the_user_are_checked_run_and_left_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_variants(dir.path());
    let names = ["api", "api-noefs", "api-novpc", "api-big"];
    let snapshot = || -> Vec<serde_json::Value> { names.iter().map(|n| whole_configuration(&server.url, n)).collect() };
    let before = snapshot();
    let functions_before = function_names(&server.url);
    let journal = dir.path().join("journal");
    let trace = |run: &Path, variants: &[&str]| {
        aws_trace(&server.url, &journal, run, "api", "3", variants)
            .output()
            .unwrap()
    };

    // Refused, naming the field or the part at fault, before anything is changed.
    for (variants, expected) in [
        (
            vec!["--no-vpc-variant", "api-big"],
            "--no-vpc-variant api-big: api-big cannot stand for api without its VPC: its MemorySize is 1024 MB, api's is 512 MB",
        ),
        (
            vec!["--no-vpc-variant", "api-noefs", "--no-efs-variant", "api-novpc"],
            "api-novpc cannot stand for api without its EFS file system: it is in no VPC",
        ),
        (
            vec!["--no-vpc-variant", "api-noefs"],
            "api-noefs cannot stand for api without its VPC: it is in a VPC (subnets subnet-0a1b)",
        ),
        (
            vec!["--no-vpc-variant", "api-novpc"],
            "--no-vpc-variant api-novpc: api mounts an EFS file system, so its INIT against api-novpc's holds the storage mount too",
        ),
        (
            vec!["--no-vpc-variant", "api", "--no-efs-variant", "api-noefs"],
            "--no-vpc-variant \"api\" is already the subject",
        ),
        (vec!["--no-efs-variant", "nope"], "--no-efs-variant nope"),
        (
            vec!["--no-efs-variant", "arn:aws:lambda:us-east-1:123456789012:function:api"],
            "--no-efs-variant arn:aws:lambda:us-east-1:123456789012:function:api is api, already the subject",
        ),
    ] {
        let output = trace(&dir.path().join("refused"), &variants);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{variants:?}: {stderr}");
        assert!(stderr.contains(expected), "{variants:?}: {stderr}");
        assert_eq!(snapshot(), before, "{variants:?} changed nothing");
    }
    assert!(!journal.exists() || std::fs::read_dir(&journal).unwrap().count() == 0);

    let run = dir.path().join("run");
    let output = trace(
        &run,
        &["--no-efs-variant", "api-noefs", "--no-vpc-variant", "api-novpc"],
    );
    assert_succeeded(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let seen: Vec<(String, String, Option<String>)> = std::fs::read_to_string(run.join("samples.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|s| {
            (
                s["function"].as_str().unwrap().to_owned(),
                s["labels"]["role"].as_str().unwrap().to_owned(),
                s["labels"]["variant"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let round = [
        ("api".to_owned(), "subject".to_owned(), None),
        (
            "api-noefs".to_owned(),
            "variant".to_owned(),
            Some("without_efs".to_owned()),
        ),
        (
            "api-novpc".to_owned(),
            "variant".to_owned(),
            Some("without_vpc".to_owned()),
        ),
    ];
    assert_eq!(seen, [round.clone(), round.clone(), round].concat());
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let found: Vec<(&str, &str, &str, u64)> = summary["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap(),
                d["with"].as_str().unwrap(),
                d["without"].as_str().unwrap(),
                d["n_with"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("storage mount", "api", "api-noefs", 3),
            ("network setup", "api-noefs", "api-novpc", 3)
        ]
    );
    assert!(!stderr.contains("Created ") && !stderr.contains("Deleted "), "{stderr}");
    assert_eq!(
        function_names(&server.url),
        functions_before,
        "nothing created or deleted"
    );
    assert_eq!(snapshot(), before, "every function is as it was");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0, "no journal left");
}

#[test]
fn kill_9_with_parallel_copies_then_aws_restore_deletes_them_and_restores_the_function() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    let functions_before = function_names(&server.url);
    let before = whole_configuration(&server.url, "control");
    assert_ne!(before["MemorySize"], 1024, "the run's memory size must be a change");
    let journal = dir.path().join("journal");
    let out = dir.path().join("aws.jsonl");
    let mut child = coldfront()
        .args([
            "run",
            "--backend",
            "aws",
            "control",
            "--parallel",
            "3",
            "-n",
            "500",
            "--memory",
            "1024",
            "--yes",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .args(aws_args(&server.url, &journal))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Until the copies exist and a first round of cold starts (the function's among them)
    // is recorded: by then every function has been changed.
    let copies = || -> Vec<String> {
        function_names(&server.url)
            .into_iter()
            .filter(|f| !functions_before.contains(f))
            .collect()
    };
    wait_while_running(&mut child, "two copies and a first round", || {
        copies().len() >= 2 && line_count(&out) >= 3
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let left = copies();
    assert_eq!(left.len(), 2, "killed mid-run, the copies are still there: {left:?}");
    assert!(left.iter().all(|f| f.starts_with("control-cfcopy")), "{left:?}");
    assert_eq!(
        whole_configuration(&server.url, "control")["MemorySize"],
        1024,
        "killed mid-run, the function is still changed"
    );

    let stdout = aws_restore(&server.url, &journal);
    assert!(stdout.contains("Restored: control"), "{stdout}");
    for copy in &left {
        assert!(stdout.contains(copy.as_str()), "{copy} deleted: {stdout}");
    }
    assert_eq!(function_names(&server.url), functions_before, "every copy is gone");
    assert_eq!(
        whole_configuration(&server.url, "control"),
        before,
        "the configuration equals the journaled original"
    );
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0, "no journal left");
}

#[test]
fn kill_9_with_variants_then_aws_restore_deletes_the_created_one_and_restores_the_named_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_variants(dir.path());
    let functions_before = function_names(&server.url);
    let before = [
        whole_configuration(&server.url, "api"),
        whole_configuration(&server.url, "api-noefs"),
    ];
    let journal = dir.path().join("journal");
    let run = dir.path().join("run");
    let mut child = aws_trace(
        &server.url,
        &journal,
        &run,
        "api",
        "500",
        &["--vpc-variants", "--no-efs-variant", "api-noefs"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Until a whole round (subject, created variant, named variant) is recorded: by then
    // the created one exists and every function has been changed.
    let samples = run.join("samples.jsonl");
    wait_while_running(&mut child, "a round of cold starts", || line_count(&samples) >= 3);
    child.kill().unwrap();
    child.wait().unwrap();
    let created: Vec<String> = function_names(&server.url)
        .into_iter()
        .filter(|f| !functions_before.contains(f))
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(
        created[0].starts_with("api-cfnovpc-"),
        "only the unnamed variant was created: {created:?}"
    );
    let changed = whole_configuration(&server.url, "api-noefs");
    assert_ne!(
        changed["Environment"], before[1]["Environment"],
        "killed mid-run, it is still changed"
    );

    let stdout = aws_restore(&server.url, &journal);
    assert!(
        stdout.contains("Restored: api, api-noefs") || stdout.contains("Restored: api-noefs, api"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("Deleted (created by an interrupted run): {}", created[0])),
        "{stdout}"
    );
    assert_eq!(
        function_names(&server.url),
        functions_before,
        "the created variant is gone, the named one is not"
    );
    assert_eq!(
        [
            whole_configuration(&server.url, "api"),
            whole_configuration(&server.url, "api-noefs")
        ],
        before
    );
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0, "no journal left");
}
