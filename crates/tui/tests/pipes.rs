//! Every command that prints to standard output, with a reader that goes away: `coldfront
//! ... | head -c 1`, and a reader that is gone before the first write. The command must stop
//! quietly — exit 0 (it finished before the pipe closed) or 141 (it noticed), no panic and
//! no "Broken pipe" on stderr — and keep what it measured in its files.
//!
//! Left out: `cdn audit` and `auth edge-budget --aws-function` (they need AWS credentials
//! and the network before they print anything) and the bare `coldfront` (the interactive
//! UI, which refuses a non-terminal stdout and says so on stderr).

use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use edge_auth::Algorithm;
use init_trace::sample::read_samples;
use serde_json::json;

/// Far beyond what any command here takes (the slowest, `auth compare --quick`, about 2 s).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
const SECRET: &str = "an-hs256-secret-of-at-least-32-bytes!";
const NOW_S: &str = "1700000000";

fn coldfront() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_coldfront"));
    command.env("NO_COLOR", "1");
    command
}

fn edge_auth_data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../edge-auth/tests/data")
        .join(name)
        .display()
        .to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// Reads one byte, then closes the pipe (`| head -c 1`).
    OneByte,
    /// Closes the pipe before the command writes anything (`| true`): every write fails.
    GoneBeforeFirstWrite,
}

#[derive(Debug)]
struct Case {
    args: Vec<String>,
    /// clap's `--help` and `--version`, which ignore a failed write and exit 0.
    clap_output: bool,
    /// A JSONL samples file the command writes, which must hold at least one whole sample
    /// afterwards, whatever happened to stdout.
    samples: Option<PathBuf>,
    /// The command measures while it prints (`run` in text mode): with nobody reading, it
    /// must stop at the next cold start rather than measure everything it planned.
    stops_measuring: Option<usize>,
}

impl Case {
    fn new(args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            clap_output: false,
            samples: None,
            stops_measuring: None,
        }
    }

    fn clap_output(mut self) -> Self {
        self.clap_output = true;
        self
    }

    fn samples(mut self, path: &Path) -> Self {
        self.samples = Some(path.to_owned());
        self
    }

    fn stops_measuring(mut self, planned: usize) -> Self {
        self.stops_measuring = Some(planned);
        self
    }

    fn command_line(&self) -> String {
        format!("coldfront {}", self.args.join(" "))
    }
}

/// What the command did: its exit (code, or signal) and its whole stderr.
struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
}

impl Outcome {
    fn exit(&self) -> String {
        match (self.code, self.signal) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "no exit status".to_owned(),
        }
    }
}

/// Runs one command in `dir` with stdout piped to `reader`; `Err` when it did not end in time.
fn run_with_reader(dir: &Path, args: &[String], reader: Reader) -> Result<Outcome, String> {
    // "Gone before the first write" must be true before the command starts: a pipe whose
    // read end is closed here, so no write can land in the pipe's buffer first, however
    // the two processes are scheduled.
    let stdout_pipe = match reader {
        Reader::GoneBeforeFirstWrite => {
            let (read_end, write_end) = nix::unistd::pipe().map_err(|e| format!("cannot make a pipe: {e}"))?;
            drop(read_end);
            Stdio::from(write_end)
        }
        Reader::OneByte => Stdio::piped(),
    };
    let mut child = coldfront()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stdout_pipe)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let stdout = child.stdout.take();
    let mut stderr = child.stderr.take().expect("stderr is piped");
    // stderr is drained on a thread of its own, so a chatty stderr never blocks the command
    // while this thread waits for it.
    let (stderr_tx, stderr_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        let _ = stderr_tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    if let (Reader::OneByte, Some(mut stdout)) = (reader, stdout) {
        // On a thread too: a command that hangs before printing must still hit the
        // timeout below. Reading 0 bytes (end of file) is fine: it printed nothing.
        std::thread::spawn(move || {
            let mut byte = [0_u8; 1];
            let _ = stdout.read(&mut byte);
            drop(stdout);
        });
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("cannot wait: {e}"))? {
            break status;
        }
        if started.elapsed() > COMMAND_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
            return Err(format!(
                "still running after {COMMAND_TIMEOUT:?}, killed; stderr:\n{stderr}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = stderr_rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| "<stderr still open 30 s after the exit: a child process kept it>".to_owned());
    Ok(Outcome {
        code: status.code(),
        signal: status.signal(),
        stderr,
    })
}

/// The files the commands read: a key set, a token, the generated CloudFront Function, a
/// viewer-request event, signed cookies and a small csv trace.
struct Fixtures {
    keys: String,
    token: String,
    function: String,
    event: String,
    cookies: String,
    trace_csv: String,
}

fn fixtures(dir: &Path) -> Fixtures {
    let path = |name: &str| dir.join(name).display().to_string();
    let keys = path("keys.json");
    std::fs::write(
        &keys,
        json!({"keys": [
            {"kid": "hs-1", "alg": "HS256", "secret": SECRET},
            {"kid": "rs-1", "alg": "RS256", "pem_file": edge_auth_data("rsa2048.pub.pem")},
        ]})
        .to_string(),
    )
    .expect("write keys");
    let token = edge_auth::sign_hs(
        Algorithm::HS256,
        "hs-1",
        SECRET.as_bytes(),
        &json!({"sub": "ann", "tenant": "acme", "exp": 1_700_000_600}),
    )
    .expect("sign");

    let function = path("auth.js");
    let generated = coldfront()
        .args([
            "auth",
            "cf-function",
            "--alg",
            "HS256",
            "--keys",
            &keys,
            "--wiki-domain",
            "wiki.example",
            "--out",
            &function,
        ])
        .output()
        .expect("runs");
    assert_eq!(
        generated.status.code(),
        Some(0),
        "fixture: {}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let event = path("event.json");
    std::fs::write(
        &event,
        json!({"version": "1.0", "context": {"eventType": "viewer-request"}, "request": {"method": "GET", "uri": "/",
            "headers": {"host": {"value": "acme.wiki.example"}}, "cookies": {"token": {"value": token}}}})
        .to_string(),
    )
    .expect("write event");

    let signed = coldfront()
        .args([
            "auth",
            "cookie",
            "sign",
            "--key",
            &edge_auth_data("p256.key.pem"),
            "--key-pair-id",
            "K2JCJMDEHXQW5F",
            "--resource",
            "https://acme.wiki.example/*",
            "--expires-s",
            "1700003600",
            "--hash",
            "sha1",
            "--json",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        signed.status.code(),
        Some(0),
        "fixture: {}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let signed: serde_json::Value = serde_json::from_slice(&signed.stdout).expect("cookie sign prints JSON");
    let cookies = signed["cookies"]
        .as_array()
        .expect("cookies")
        .iter()
        .map(|pair| {
            format!(
                "{}={}",
                pair[0].as_str().expect("name"),
                pair[1].as_str().expect("value")
            )
        })
        .collect::<Vec<_>>()
        .join("; ");

    let trace_csv = path("t.csv");
    std::fs::write(&trace_csv, "0,1,100\n1,2,100\n2,1,100\n3,3,100\n4,2,100\n").expect("write trace");
    Fixtures {
        keys,
        token,
        function,
        event,
        cookies,
        trace_csv,
    }
}

/// Every command that prints to stdout, text and JSON, in an order where `report` follows
/// the `trace` that made its run directory. Paths are absolute, inside `dir`.
fn cases(dir: &Path, f: &Fixtures) -> Vec<Case> {
    let path = |name: &str| dir.join(name).display().to_string();
    let (samples, samples_json) = (path("s.jsonl"), path("s-json.jsonl"));
    let (trace, trace_json) = (path("trace"), path("trace-json"));
    let (design, design_json) = (path("design"), path("design-json"));
    let private_key = edge_auth_data("p256.key.pem");
    let public_key = edge_auth_data("p256.pub.pem");
    let trace_args = [
        "trace",
        "-n",
        "2",
        "--warmup",
        "0",
        "--control",
        "none",
        "--invokes",
        "1",
    ];
    let verify = [
        "auth",
        "verify",
        "--wiki-domain",
        "wiki.example",
        "--keys",
        &f.keys,
        "--host",
        "acme.wiki.example",
        "--now-s",
        NOW_S,
    ];
    let run_function = [
        "auth",
        "run-function",
        &f.function,
        "--event",
        &f.event,
        "--now-s",
        NOW_S,
    ];
    let cookie_sign = [
        "auth",
        "cookie",
        "sign",
        "--key",
        &private_key,
        "--key-pair-id",
        "K2JCJMDEHXQW5F",
        "--resource",
        "https://acme.wiki.example/*",
        "--expires-s",
        "1700003600",
        "--hash",
        "sha1",
    ];
    let cookie_verify = [
        "auth",
        "cookie",
        "verify",
        "--public-key",
        &public_key,
        "--url",
        "https://acme.wiki.example/Home",
        "--cookies",
        &f.cookies,
        "--now-s",
        NOW_S,
    ];
    vec![
        Case::new(&["--help"]).clap_output(),
        Case::new(&["--version"]).clap_output(),
        Case::new(&["run", "--help"]).clap_output(),
        Case::new(&["auth", "cookie", "sign", "--help"]).clap_output(),
        Case::new(&["functions"]),
        Case::new(&["functions", "--json"]),
        // Real cold starts of the bundled Python control function.
        Case::new(&["run", "control", "-n", "3", "--out", &samples])
            .samples(Path::new(&samples))
            .stops_measuring(3),
        Case::new(&["run", "control", "-n", "3", "--json", "--out", &samples_json]).samples(Path::new(&samples_json)),
        with(&trace_args, &["--out", &trace]).samples(&Path::new(&trace).join("samples.jsonl")),
        with(&trace_args, &["--json", "--out", &trace_json]).samples(&Path::new(&trace_json).join("samples.jsonl")),
        Case::new(&["report", &trace]),
        Case::new(&["report", &trace, "--json"]),
        Case::new(&["cdn", "design", "--preset", "seed", "--out", &design]),
        Case::new(&["cdn", "design", "--preset", "seed", "--json", "--out", &design_json]),
        Case::new(&["cdn", "cost", "--preset", "seed"]),
        Case::new(&["cdn", "cost", "--preset", "seed", "--json"]),
        Case::new(&["cdn", "simulate", "--trace", &f.trace_csv]),
        Case::new(&[
            "cdn",
            "simulate",
            "--policy",
            "lru",
            "--capacity",
            "2",
            "--json",
            "--trace",
            &f.trace_csv,
        ]),
        Case::new(&["cdn", "simulate", "--preset", "typical", "--requests", "20000"]),
        Case::new(&[
            "cdn",
            "simulate",
            "--preset",
            "typical",
            "--requests",
            "20000",
            "--json",
        ]),
        with(&verify, &[f.token.as_str()]),
        with(&verify, &["--json", f.token.as_str()]),
        Case::new(&[
            "auth",
            "cf-function",
            "--alg",
            "HS256",
            "--keys",
            &f.keys,
            "--wiki-domain",
            "wiki.example",
        ]),
        Case::new(&[
            "auth",
            "cf-function",
            "--wiki-domain",
            "wiki.example",
            "--alg",
            "RS256",
            "--variant",
            "limbs",
            "--keys",
            &f.keys,
            "--kvs",
        ]),
        Case::new(&[
            "auth",
            "cf-function",
            "--wiki-domain",
            "wiki.example",
            "--alg",
            "RS256",
            "--keys",
            &f.keys,
            "--json",
        ]),
        Case::new(&run_function),
        with(&run_function, &["--json"]),
        Case::new(&["auth", "edge-budget", "--quick"]),
        Case::new(&["auth", "edge-budget", "--quick", "--json"]),
        Case::new(&cookie_sign),
        with(&cookie_sign, &["--json"]),
        Case::new(&cookie_verify),
        with(&cookie_verify, &["--json"]),
        Case::new(&["auth", "compare", "--quick"]),
        Case::new(&["auth", "compare", "--quick", "--json"]),
        Case::new(&["bench-ui", "--mode", "memory", "--samples", "200"]),
        Case::new(&[
            "bench-ui",
            "--mode",
            "render",
            "--samples",
            "1000",
            "--frames",
            "5",
            "--width",
            "80",
            "--height",
            "24",
        ]),
    ]
}

/// A case of `base` followed by `more`.
fn with(base: &[&str], more: &[&str]) -> Case {
    Case::new(&[base, more].concat())
}

/// What is wrong with one case's outcome, if anything.
fn problems(case: &Case, reader: Reader, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    // Nobody reading from the start leaves a command that prints no way to finish its
    // output: it must notice and exit 141. With one byte read it may have written
    // everything before the pipe closed, and exit 0. clap's help ignores the failed write.
    let allowed: &[i32] = if reader == Reader::GoneBeforeFirstWrite && !case.clap_output {
        &[141]
    } else {
        &[0, 141]
    };
    if !outcome.code.is_some_and(|code| allowed.contains(&code)) {
        problems.push(format!("{}, expected one of {allowed:?}", outcome.exit()));
    }
    let lower = outcome.stderr.to_lowercase();
    if lower.contains("panicked") {
        problems.push("stderr says \"panicked\"".to_owned());
    }
    if lower.contains("broken pipe") {
        problems.push("stderr says \"Broken pipe\"".to_owned());
    }
    if let Some(path) = &case.samples {
        match read_samples(path) {
            Err(err) => problems.push(format!("samples file {}: {err}", path.display())),
            Ok(loaded) => {
                if loaded.samples.is_empty() {
                    problems.push(format!("samples file {} holds no complete sample", path.display()));
                }
                if let Some(tail) = &loaded.truncated_tail {
                    problems.push(format!("samples file {}: {tail}", path.display()));
                }
                if let Some(planned) = case.stops_measuring
                    && reader == Reader::GoneBeforeFirstWrite
                    && loaded.samples.len() >= planned
                {
                    problems.push(format!(
                        "measured all {planned} planned cold starts with nobody reading; it should stop at the next one"
                    ));
                }
            }
        }
    }
    problems
}

/// Runs every case with `reader` in a fresh directory and fails once, listing every case
/// that went wrong.
fn check_every_command(reader: Reader) {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures = fixtures(dir.path());
    let mut failures = Vec::new();
    for case in cases(dir.path(), &fixtures) {
        let started = Instant::now();
        match run_with_reader(dir.path(), &case.args, reader) {
            Err(err) => failures.push(format!("{}\n  {err}", case.command_line())),
            Ok(outcome) => {
                let problems = problems(&case, reader, &outcome);
                if !problems.is_empty() {
                    failures.push(format!(
                        "{}\n  {}\n  {} after {:.1?}; stderr:\n{}",
                        case.command_line(),
                        problems.join("\n  "),
                        outcome.exit(),
                        started.elapsed(),
                        outcome.stderr
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} command(s) misbehaved with stdout's reader {reader:?}:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_command_stops_quietly_when_the_reader_leaves_after_one_byte() {
    check_every_command(Reader::OneByte);
}

#[test]
fn every_command_exits_141_when_nobody_reads_its_output() {
    check_every_command(Reader::GoneBeforeFirstWrite);
}
