//! The emulator against real runtime processes: the bundled functions, Lambda's headers,
//! environment and reports, and the shapes of its failures.

mod common;

use common::*;
use init_trace::local::{Cancel, EmulatorOptions, LocalEmulator};
use init_trace::platform_log::parse_report;
use init_trace::sample::{InitStatus, InvokeStatus, Throttling};
use init_trace::spec::SpecSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_functions_cold_start_like_lambda() {
    let specs = SpecSet::bundled().expect("bundle");
    for name in ["control", "wiki"] {
        let spec = specs.get(name).expect("bundled");
        let sample = cold_start(spec).await;
        assert!(
            sample.succeeded(),
            "{name}: {} / stderr: {}",
            sample.outcome(),
            sample.stderr.text
        );
        let init_ms = sample.init.duration_ms.expect("init duration");
        assert!(init_ms > 1.0 && init_ms < 10_000.0, "{name}: {init_ms}");
        assert_eq!(sample.invokes.len(), spec.invokes as usize);
        assert!(sample.invokes[0].cold && sample.invokes[1..].iter().all(|i| !i.cold));
        assert!(
            sample.runtime.program.is_absolute() && !sample.runtime.program.to_string_lossy().contains("shims"),
            "{:?}",
            sample.runtime.program
        );

        // Platform log: INIT_START, then START/END/REPORT/XRAY per invoke.
        assert!(
            sample.platform_log[0].starts_with("INIT_START Runtime Version: python:3."),
            "{:?}",
            sample.platform_log[0]
        );
        let reports: Vec<_> = sample.platform_log.iter().filter_map(|l| parse_report(l)).collect();
        assert_eq!(reports.len(), sample.invokes.len());
        for (report, invoke) in reports.iter().zip(&sample.invokes) {
            assert_eq!(report.request_id, invoke.request_id);
            assert_eq!(report.memory_size_mb, spec.memory_mb);
            assert_eq!(report.max_memory_used_mb, invoke.max_memory_used_mb);
            assert!(
                invoke.max_memory_used_mb >= 5,
                "a Python process uses more than 5 MB: {}",
                invoke.max_memory_used_mb
            );
        }
        assert!((reports[0].init_duration_ms.expect("cold REPORT has Init Duration") - init_ms).abs() < 0.006);
        assert!(reports[1..].iter().all(|r| r.init_duration_ms.is_none()));
        assert!(
            reports[0].billed_duration_ms as f64 >= init_ms,
            "INIT is billed on the cold invoke"
        );
        assert!(sample.platform_log.iter().any(|l| l.starts_with("XRAY TraceId: 1-")));

        // Telemetry API events in Lambda's order.
        let types: Vec<&str> = sample.telemetry.iter().map(|e| e.event_type.as_str()).collect();
        let mut expected = vec!["platform.initStart", "platform.initRuntimeDone", "platform.initReport"];
        for _ in 0..sample.invokes.len() {
            expected.extend(["platform.start", "platform.runtimeDone", "platform.report"]);
        }
        assert_eq!(types, expected);
        assert_eq!(sample.telemetry[1].record["status"], "success");
        let cold_report = &sample.telemetry[5].record;
        assert_eq!(cold_report["metrics"]["memorySizeMB"], spec.memory_mb);
        assert!(cold_report["metrics"]["initDurationMs"].as_f64().is_some());
        assert!(sample.telemetry[0].time.ends_with('Z') && sample.telemetry[0].time.contains('T'));

        assert!(sample.process.killed_by_emulator);
        assert_eq!(sample.process.leftover_processes_killed, 0);
        assert!(sample.process.peak_rss_kb > 5_000);
        assert!(
            sample.runtime_api_problems.is_empty(),
            "{:?}",
            sample.runtime_api_problems
        );
        assert!(crate::common::is_reaped(sample.process.pid as i32));
    }
}

/// The runtime asks for its next event right after answering, which can reach the server
/// before or after the emulator offers that event; either way every warm invoke must be
/// delivered once and succeed, and none may look like a `GET /next` without an answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_invokes_succeed_whichever_comes_first_get_next_or_the_event() {
    let mut spec = SpecSet::bundled()
        .expect("bundle")
        .get("control")
        .expect("bundled")
        .clone();
    spec.invokes = 6;
    for round in 0..8 {
        let sample = cold_start_unthrottled(&spec).await;
        let statuses: Vec<_> = sample
            .invokes
            .iter()
            .map(|i| (i.status, i.error.as_ref().map(|e| e.error_type.clone())))
            .collect();
        assert!(sample.succeeded(), "round {round}: {statuses:?}");
        assert_eq!(sample.invokes.len(), 6);
        assert!(
            sample.invokes.iter().all(|i| i.duration_ms > 0.0),
            "round {round}: every invoke takes time"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wiki_renders_a_page() {
    let specs = SpecSet::bundled().expect("bundle");
    let sample = cold_start(specs.get("wiki").expect("bundled")).await;
    assert!(sample.succeeded(), "{}", sample.stderr.text);
    let preview = &sample.invokes[0].response_preview;
    assert!(
        preview.contains("\"statusCode\": 200") || preview.contains("\"statusCode\":200"),
        "{preview}"
    );
    assert!(
        sample.invokes[0].response_bytes > 1_000,
        "a rendered page: {} bytes",
        sample.invokes[0].response_bytes
    );
}

const INTROSPECT: &str = r#"
import json, os
def handle(event, context):
    keys = ["_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_LOG_GROUP_NAME",
            "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_INITIALIZATION_TYPE",
            "AWS_XRAY_DAEMON_ADDRESS", "AWS_XRAY_CONTEXT_MISSING", "_X_AMZN_TRACE_ID", "TZ", "TMPDIR", "EXTRA"]
    found = {k: os.environ.get(k) for k in keys}
    found["remaining_ms"] = context.get_remaining_time_in_millis()
    found["arn"] = context.invoked_function_arn
    found["request_id"] = context.aws_request_id
    found["cwd"] = os.getcwd()
    with open(os.environ["REPORT_TO"], "w") as fh:
        json.dump(found, fh)
    return {"ok": True}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_sees_lambdas_environment_and_headers() {
    let dir = python_function(INTROSPECT);
    let out = dir.path().join("seen.json");
    let mut spec = python("introspect", dir.path());
    spec.memory_mb = 1024;
    spec.env.insert("REPORT_TO".into(), out.display().to_string());
    spec.env.insert("EXTRA".into(), "from-spec".into());
    // It reports through a file beside its code, and sees the task root where it is.
    let sample = cold_start_with(host_filesystem(EmulatorOptions::default()), &spec).await;
    assert!(sample.succeeded(), "{}", sample.stderr.text);
    let seen: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).expect("report written")).expect("json");
    assert_eq!(seen["_HANDLER"], "handler.handle");
    assert_eq!(seen["LAMBDA_TASK_ROOT"], dir.path().to_string_lossy().as_ref());
    assert_eq!(seen["cwd"], dir.path().to_string_lossy().as_ref());
    assert!(
        seen["AWS_LAMBDA_RUNTIME_API"]
            .as_str()
            .expect("set")
            .starts_with("127.0.0.1:")
    );
    assert!(
        seen["AWS_XRAY_DAEMON_ADDRESS"]
            .as_str()
            .expect("set")
            .starts_with("127.0.0.1:")
    );
    assert_eq!(seen["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "1024");
    assert_eq!(seen["AWS_LAMBDA_FUNCTION_NAME"], "introspect");
    assert_eq!(seen["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(seen["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/introspect");
    assert_eq!(seen["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
    assert!(
        seen["AWS_EXECUTION_ENV"]
            .as_str()
            .expect("set")
            .starts_with("AWS_Lambda_python3.")
    );
    assert_eq!(seen["EXTRA"], "from-spec");
    assert_eq!(seen["request_id"], sample.invokes[0].request_id.as_str());
    assert_eq!(seen["_X_AMZN_TRACE_ID"], sample.invokes[0].trace_header.as_str());
    let trace = seen["_X_AMZN_TRACE_ID"].as_str().expect("set");
    assert!(
        trace.starts_with("Root=1-") && trace.contains(";Parent=") && trace.ends_with(";Sampled=1"),
        "{trace}"
    );
    let arn = seen["arn"].as_str().expect("set");
    assert!(
        arn.starts_with("arn:aws:lambda:us-east-1:") && arn.ends_with(":function:introspect"),
        "{arn}"
    );
    // The deadline is epoch milliseconds: the remaining time is close to the 3 s timeout.
    let remaining = seen["remaining_ms"].as_i64().expect("number");
    assert!((1_000..=3_000).contains(&remaining), "{remaining}");
    // Each sandbox has its own TMPDIR, removed afterwards.
    let tmp = seen["TMPDIR"].as_str().expect("set");
    assert!(tmp.contains("coldfront-sandbox-"), "{tmp}");
    let removed = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(10));
        !std::path::Path::new(tmp).exists()
    });
    assert!(removed, "{tmp} was not removed");
}

/// The next sandbox's launch plan is made during the last teardown; it must carry that
/// sandbox's own addresses, and a changed function must not start with the old plan. Its
/// `/tmp` is always as new: a directory a sandbox left untouched may serve a later one,
/// one it wrote to or changed never does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sandbox_starts_with_its_own_addresses_and_the_functions_current_spec() {
    let dir = python_function(
        r#"
import json, os, socket
def handle(event, context):
    host, port = os.environ["AWS_XRAY_DAEMON_ADDRESS"].split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b'{"format":"json","version":1}\n{"name":"from-handler"}', (host, int(port)))
    keys = ["EXTRA", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "TMPDIR", "AWS_LAMBDA_LOG_STREAM_NAME"]
    tmp = os.environ["TMPDIR"]
    found = {"env": {k: os.environ.get(k) for k in keys}, "event": event,
             "tmp_entries": os.listdir(tmp), "tmp_mode": os.stat(tmp).st_mode}
    with open(os.environ["REPORT_TO"], "w") as fh:
        json.dump(found, fh)
    if event["leave"] == "file":
        with open(os.path.join(tmp, "left-behind"), "w") as fh:
            fh.write("for the next sandbox to find")
    elif event["leave"] == "mode":
        os.chmod(tmp, 0o777)
    elif event["leave"] == "into":
        # Into the /tmp of the sandbox before, waiting to serve the next one.
        with open(os.path.join(event["path"], "planted"), "w") as fh:
            fh.write("for the next sandbox to find")
    return "ok"
"#,
    );
    let out = dir.path().join("seen.json");
    let mut spec = python("replanned", dir.path());
    spec.env.insert("REPORT_TO".into(), out.display().to_string());
    // It reports through a file beside its code and leaves files in the host's sandbox
    // directories.
    let emulator = LocalEmulator::new(host_filesystem(EmulatorOptions::default()));
    let mut seen = Vec::new();
    let mut tracked_by_cgroup = true;
    for (index, extra, memory_mb, leave) in [
        (0, "first", 128, "nothing"),
        (1, "first", 128, "file"),
        (2, "second", 128, "mode"),
        (3, "second", 256, "nothing"),
        (4, "second", 256, "nothing"),
        (5, "second", 256, "into"),
        (6, "second", 256, "nothing"),
    ] {
        spec.env.insert("EXTRA".into(), extra.into());
        spec.memory_mb = memory_mb;
        // The event is not part of the launch: a new one keeps the plan, and still arrives.
        let previous_tmp = seen
            .last()
            .map_or("", |(tmp, _, _): &(String, String, u64)| tmp.as_str());
        spec.event = serde_json::json!({"round": index, "leave": leave, "path": previous_tmp}).to_string();
        let sample = emulator
            .cold_start(&spec, index, Cancel::never())
            .await
            .expect("the sandbox starts");
        // Succeeding at all means the runtime reached this sandbox's own Runtime API.
        assert!(sample.succeeded(), "round {index}: {}", sample.stderr.text);
        tracked_by_cgroup &= sample.sandbox.throttling == Throttling::Applied;
        let found: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).expect("report written")).expect("json");
        assert_eq!(found["event"]["round"], index, "round {index}");
        assert_eq!(found["env"]["EXTRA"], extra, "round {index}");
        assert_eq!(
            found["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
            memory_mb.to_string(),
            "round {index}"
        );
        assert_eq!(
            found["tmp_entries"],
            serde_json::json!([]),
            "round {index}: /tmp not empty"
        );
        // And its X-Ray address is this sandbox's listener's.
        let names: Vec<&str> = sample
            .xray_documents
            .iter()
            .filter_map(|d| d.document["name"].as_str())
            .collect();
        assert_eq!(names, ["from-handler"], "round {index}");
        seen.push((
            found["env"]["TMPDIR"].as_str().expect("set").to_owned(),
            found["env"]["AWS_LAMBDA_LOG_STREAM_NAME"]
                .as_str()
                .expect("set")
                .to_owned(),
            found["tmp_mode"].as_u64().expect("mode"),
        ));
    }
    for (i, a) in seen.iter().enumerate() {
        assert_eq!(a.2, seen[0].2, "round {i}: /tmp's permissions were not as new");
        for b in &seen[i + 1..] {
            assert_ne!(a.1, b.1, "two sandboxes shared a log stream");
        }
    }
    // Round 1 wrote into its /tmp, round 2 changed its permissions, and round 5 wrote
    // into round 4's while it waited to serve again: none may serve a later sandbox.
    for dirty in [1, 2, 4] {
        assert!(
            seen[dirty + 1..].iter().all(|later| later.0 != seen[dirty].0),
            "round {dirty}'s /tmp was handed on: {seen:?}"
        );
    }
    if tracked_by_cgroup {
        // Round 0 left its /tmp as it was made; two sandboxes later it serves again.
        assert_eq!(seen[2].0, seen[0].0, "{seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_error_is_reported_with_its_type_and_traceback() {
    // As in AWS's runtime: a failed import is Runtime.ImportModuleError, any other exception
    // at import keeps its own type.
    for (fixture_name, error_type) in [
        ("init_error", "RuntimeError"),
        ("import_missing", "Runtime.ImportModuleError"),
    ] {
        let sample = cold_start(&python(fixture_name, &fixture(fixture_name))).await;
        assert_eq!(sample.init.status, InitStatus::Error, "{fixture_name}");
        assert!(sample.init.duration_ms.is_none());
        let error = sample.init.error.as_ref().expect("error recorded");
        assert_eq!(error.error_type, error_type, "{fixture_name}: {error:?}");
        assert!(sample.invokes.is_empty());
        assert!(
            sample.stderr.text.contains("Traceback"),
            "{fixture_name}: {}",
            sample.stderr.text
        );
        let line = sample
            .platform_log
            .iter()
            .find(|l| l.starts_with("INIT_REPORT"))
            .expect("INIT_REPORT");
        assert!(
            line.contains(&format!("Phase: init\tStatus: error\tError Type: {error_type}")),
            "{line}"
        );
        assert_eq!(sample.telemetry[1].record["status"], "error");
        assert!(is_reaped(sample.process.pid as i32));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_during_init_is_an_init_error() {
    let sample = cold_start(&python("init_exit", &fixture("init_exit"))).await;
    assert_eq!(sample.init.status, InitStatus::Error);
    let error = sample.init.error.as_ref().expect("error");
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(error.error_message.contains("exit status 3"), "{}", error.error_message);
    assert_eq!(sample.process.exit_code, Some(3));
    assert!(!sample.process.killed_by_emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_timeout_kills_the_runtime() {
    let mut spec = python("init_hang", &fixture("init_hang"));
    spec.init_timeout_ms = 1_000;
    let started = std::time::Instant::now();
    let sample = cold_start(&spec).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "no hang: {:?}",
        started.elapsed()
    );
    assert_eq!(sample.init.status, InitStatus::Timeout);
    assert!(sample.init.elapsed_ms >= 1_000.0, "{}", sample.init.elapsed_ms);
    let line = sample
        .platform_log
        .iter()
        .find(|l| l.starts_with("INIT_REPORT"))
        .expect("INIT_REPORT");
    assert!(line.contains("Status: timeout"), "{line}");
    assert!(sample.process.killed_by_emulator);
    assert!(is_reaped(sample.process.pid as i32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_error_keeps_the_sandbox_alive() {
    let mut spec = python("handler_error", &fixture("handler_error"));
    spec.invokes = 2;
    let sample = cold_start(&spec).await;
    assert_eq!(sample.init.status, InitStatus::Success);
    assert_eq!(sample.invokes.len(), 2, "a handled error does not end the sandbox");
    for invoke in &sample.invokes {
        assert_eq!(invoke.status, InvokeStatus::Error);
        let error = invoke.error.as_ref().expect("error");
        assert_eq!(
            (error.error_type.as_str(), error.error_message.as_str()),
            ("ValueError", "boom")
        );
        assert!(!error.stack_trace.is_empty());
    }
    assert_eq!(sample.outcome(), "invoke error: ValueError");
    assert_eq!(
        sample
            .telemetry
            .iter()
            .find(|e| e.event_type == "platform.runtimeDone")
            .expect("runtimeDone")
            .record["status"],
        "error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_mid_invoke_is_recorded() {
    let mut spec = python("exit_mid_invoke", &fixture("exit_mid_invoke"));
    spec.invokes = 3;
    let sample = cold_start(&spec).await;
    assert_eq!(sample.invokes.len(), 1, "the sandbox is gone after the crash");
    let invoke = &sample.invokes[0];
    assert_eq!(invoke.status, InvokeStatus::RuntimeExit);
    assert!(
        invoke
            .error
            .as_ref()
            .expect("error")
            .error_message
            .contains("exit status 7")
    );
    assert_eq!(sample.process.exit_code, Some(7));
    assert!(
        sample.platform_log.iter().any(|l| l.starts_with("REPORT")),
        "a failed invoke still has a REPORT line"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_timeout_is_enforced() {
    let mut spec = python("invoke_timeout", &fixture("invoke_timeout"));
    spec.timeout_ms = 1_000;
    spec.invokes = 2;
    let started = std::time::Instant::now();
    let sample = cold_start(&spec).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    assert_eq!(sample.invokes.len(), 1);
    assert_eq!(sample.invokes[0].status, InvokeStatus::Timeout);
    assert!(sample.invokes[0].duration_ms >= 1_000.0);
    assert!(
        sample
            .platform_log
            .iter()
            .any(|l| l.ends_with("Task timed out after 1.00 seconds")),
        "{:?}",
        sample.platform_log
    );
    assert!(is_reaped(sample.process.pid as i32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_over_six_megabytes_is_rejected() {
    let mut spec = python("big_response", &fixture("big_response"));
    spec.invokes = 2;
    let sample = cold_start(&spec).await;
    assert_eq!(sample.invokes[0].status, InvokeStatus::ResponseTooLarge);
    assert_eq!(
        sample.invokes[0].error.as_ref().expect("error").error_type,
        "Function.ResponseSizeTooLarge"
    );
    assert!(sample.invokes[0].response_bytes > 6 * 1024 * 1024);
    assert!(sample.runtime_api_problems.iter().any(|p| p.status == 413));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_runtime_api_requests_get_4xx_and_are_logged() {
    let sample = cold_start(&provided_python("malformed", &fixture("malformed"))).await;
    assert!(sample.succeeded(), "{} {}", sample.outcome(), sample.stderr.text);
    let statuses: Vec<u16> = sample.runtime_api_problems.iter().map(|p| p.status).collect();
    assert_eq!(statuses, [400, 404, 405], "{:?}", sample.runtime_api_problems);
    assert!(sample.runtime_api_problems[0].message.contains("not-a-real-id"));
    assert!(sample.stdout.text.contains("STATUS 400"), "{}", sample.stdout.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemonised_grandchildren_are_killed_and_reaped() {
    for new_session in ["1", "0"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("grandchild.pid");
        let mut spec = python("grandchild", &fixture("grandchild"));
        spec.env
            .insert("GRANDCHILD_PID_FILE".into(), pid_file.display().to_string());
        spec.env.insert("GRANDCHILD_NEW_SESSION".into(), new_session.into());
        // The pid file is on the host.
        let throttled = host_filesystem(EmulatorOptions::default());
        let unthrottled = host_filesystem(EmulatorOptions {
            throttle: false,
            ..EmulatorOptions::default()
        });
        for sample in [
            cold_start_with(throttled, &spec).await,
            cold_start_with(unthrottled, &spec).await,
        ] {
            assert!(sample.succeeded(), "{}", sample.stderr.text);
            let pid: i32 = std::fs::read_to_string(&pid_file)
                .expect("pid written")
                .trim()
                .parse()
                .expect("pid");
            assert!(
                is_reaped(pid),
                "grandchild {pid} (new session {new_session}) is still there: {:?} leftovers {}",
                std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .unwrap_or_default()
                    .lines()
                    .take(7)
                    .collect::<Vec<_>>(),
                sample.process.leftover_processes_killed
            );
            assert!(sample.process.leftover_processes_killed >= 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xray_documents_are_kept_with_the_sample() {
    let dir = python_function(
        r#"
import json, os, socket, time
def _send(header, doc):
    host, port = os.environ["AWS_XRAY_DAEMON_ADDRESS"].split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto((header + "\n" + json.dumps(doc)).encode(), (host, int(port)))
t = time.time()
_send('{"format": "json", "version": 1}', {"type": "subsegment", "name": "config", "id": "70de5b6f19ff9a0a",
      "trace_id": "1-5e34a614-1b0e55d8bd4f9b8c3d1a2b3c", "parent_id": "53995c3f42cd8ad8", "start_time": t, "end_time": t + 0.001})
_send('{"format":"json","version":1}', {"name": "segment", "id": "70de5b6f19ff9a0b",
      "trace_id": "1-5e34a614-1b0e55d8bd4f9b8c3d1a2b3c", "start_time": t, "in_progress": True})
_send('garbage', {})
def handle(event, context):
    return "ok"
"#,
    );
    let sample = cold_start(&python("xray", dir.path())).await;
    assert!(sample.succeeded(), "{}", sample.stderr.text);
    let names: Vec<&str> = sample
        .xray_documents
        .iter()
        .filter_map(|d| d.document["name"].as_str())
        .collect();
    assert_eq!(names, ["config", "segment"]);
    assert!(
        sample
            .xray_documents
            .iter()
            .all(|d| d.received_ms > 0.0 && d.received_ms < sample.init.duration_ms.expect("ok"))
    );
    assert!(
        sample.runtime_api_problems.iter().any(|p| p.method == "UDP"),
        "the garbage datagram is logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_mid_init_keeps_a_record_and_reaps() {
    let (handle, cancel) = init_trace::local::cancel_pair();
    let spec = python("init_hang", &fixture("init_hang"));
    let emulator = init_trace::local::LocalEmulator::new(init_trace::local::EmulatorOptions::default());
    let run = tokio::spawn(async move { emulator.cold_start(&spec, 0, cancel).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    handle.cancel();
    let sample = tokio::time::timeout(std::time::Duration::from_secs(5), run)
        .await
        .expect("stops promptly")
        .expect("task")
        .expect("sample");
    assert_eq!(sample.init.status, InitStatus::Interrupted);
    assert!(is_reaped(sample.process.pid as i32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_executable_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = provided_python("nothing", dir.path());
    spec.command = Some(vec!["./bootstrap".into()]);
    let err = init_trace::local::LocalEmulator::new(init_trace::local::EmulatorOptions::default())
        .cold_start(&spec, 0, init_trace::local::Cancel::never())
        .await
        .expect_err("nothing to run");
    let text = err.to_string();
    assert!(
        text.contains("nothing") && text.contains("bootstrap") && text.contains("no such executable"),
        "{text}"
    );
}

/// The emulator prepares the next sandbox's servers during a teardown, on the caller's
/// runtime. A caller that moves to another runtime (the first one gone) must still get a
/// working sandbox, not a Runtime API whose server died with the old runtime.
#[test]
fn one_emulator_serves_callers_on_successive_runtimes() {
    let specs = SpecSet::bundled().expect("bundle");
    let control = specs.get("control").expect("bundled");
    let emulator = init_trace::local::LocalEmulator::new(init_trace::local::EmulatorOptions {
        throttle: false,
        ..init_trace::local::EmulatorOptions::default()
    });
    for round in 0..3_u64 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let sample = runtime
            .block_on(emulator.cold_start(control, round, init_trace::local::Cancel::never()))
            .expect("the sandbox starts");
        assert!(sample.succeeded(), "round {round}: {}", sample.outcome());
        drop(runtime);
    }
}

/// Max Memory Used is the peak of the whole process tree: a helper process the function
/// starts adds to the runtime's own, on the last invoke (read before the kill) as on the
/// others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_memory_used_counts_the_functions_child_processes() {
    let dir = python_function(
        r#"
import subprocess, sys
# A helper holding 80 MB, touched so it is resident, alive until the sandbox is killed;
# it reports its own peak once it holds the memory.
_helper = subprocess.Popen(
    [sys.executable, "-c", "import time; b = bytearray(80 << 20); b[::4096] = b'x' * len(b[::4096]); "
     "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1], flush=True); "
     "time.sleep(1000)"],
    stdout=subprocess.PIPE,
)
_helper_kb = int(_helper.stdout.readline())
def handle(event, context):
    own_kb = int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1])
    return {"helper_kb": _helper_kb, "own_kb": own_kb}
"#,
    );
    for invokes in [1, 2] {
        let mut spec = python("helper", dir.path());
        spec.invokes = invokes;
        let sample = cold_start(&spec).await;
        assert!(sample.succeeded(), "{}", sample.stderr.text);
        for invoke in &sample.invokes {
            let peaks: serde_json::Value = serde_json::from_str(&invoke.response_preview).expect("json");
            let (helper_kb, own_kb) = (
                peaks["helper_kb"].as_u64().expect("kB"),
                peaks["own_kb"].as_u64().expect("kB"),
            );
            assert!(helper_kb > 80 * 1024, "{peaks}");
            // Both processes together, give or take the rounding to whole MB.
            let both_mb = (helper_kb + own_kb) / 1024;
            assert!(
                invoke.max_memory_used_mb >= both_mb,
                "{invokes} invokes: Max Memory Used {} MB, but the runtime ({own_kb} kB) and its helper ({helper_kb} kB) held {both_mb} MB",
                invoke.max_memory_used_mb
            );
        }
        assert!(sample.process.peak_rss_kb >= 85 * 1024, "{:?}", sample.process);
    }
}

/// A runtime is cloned from the emulator's memory (`CLONE_VM`), and exec records that
/// memory's high-water mark in the runtime's `ru_maxrss`: a large coldfront would report
/// its own size as every small function's Max Memory Used. The emulator here holds 300 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_memory_used_is_the_functions_not_the_emulators() {
    let mut ballast = vec![0_u8; 300 << 20];
    for page in ballast.chunks_mut(4096) {
        page[0] = 1;
    }
    let control = SpecSet::bundled()
        .expect("bundle")
        .get("control")
        .expect("bundled")
        .clone();
    let mut crash = python("exit_mid_invoke", &fixture("exit_mid_invoke"));
    crash.invokes = 1;
    for spec in [&control, &crash] {
        let sample = cold_start_unthrottled(spec).await;
        let used_mb: Vec<u64> = sample.invokes.iter().map(|i| i.max_memory_used_mb).collect();
        assert!(
            used_mb.iter().all(|mb| (1..100).contains(mb)) && sample.process.peak_rss_kb < 100 * 1024,
            "{}: Max Memory Used {used_mb:?} MB, peak {} kB from {}",
            spec.name,
            sample.process.peak_rss_kb,
            sample.process.peak_rss_source
        );
    }
    assert!(std::hint::black_box(&ballast).iter().step_by(4096).all(|b| *b == 1));
}

// On a current-thread runtime, as coldfront's commands drive the emulator: the output
// readers share the thread with the Runtime API server and the sandbox task.
#[tokio::test(flavor = "current_thread")]
async fn output_is_kept_to_its_limit_and_counted_beyond() {
    // 300 kB at import is more than a pipe holds (64 kB): the runtime would block in INIT
    // unless the emulator drains its output while it runs.
    let code = python_function(
        "import sys\n\
         sys.stdout.write('x' * 299_999 + '\\n')\n\
         sys.stdout.flush()\n\
         def handle(event, context):\n\
         \x20   sys.stderr.write('the last line before the kill\\n')\n\
         \x20   sys.stderr.flush()\n\
         \x20   return 'ok'\n",
    );
    let spec = python("chatty", code.path());
    let sample = LocalEmulator::new(EmulatorOptions {
        throttle: false,
        capture_limit_bytes: 100_000,
        ..EmulatorOptions::default()
    })
    .cold_start(&spec, 0, Cancel::never())
    .await
    .expect("the sandbox starts");
    assert!(sample.succeeded(), "{} {}", sample.outcome(), sample.stderr.text);
    assert_eq!(sample.stdout.total_bytes, 300_000);
    assert!(sample.stdout.truncated);
    // The head and the tail within the limit, and what lay between counted.
    assert!(sample.stdout.text.starts_with(&"x".repeat(75_000)), "the head is kept");
    assert!(
        sample
            .stdout
            .text
            .contains("[coldfront: 200000 bytes of output not kept here]")
    );
    assert!(
        sample.stdout.text.ends_with(&format!("{}\n", "x".repeat(24_999))),
        "the tail is kept"
    );
    assert!(sample.stdout.text.len() < 100_100);
    assert!(!sample.stderr.truncated);
    assert!(
        sample.stderr.text.ends_with("the last line before the kill\n"),
        "{:?}",
        sample.stderr.text
    );
}
