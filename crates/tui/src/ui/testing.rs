//! Fake samples for tests and the UI benchmark (`coldfront bench-ui`): deterministic cold starts that carry
//! the evidence attribution reads (bootstrap marks and an `-X importtime` tree).

use init_trace::sample::ColdStartSample;
use init_trace::spec::FunctionSpec;

/// A successful cold start of `function` with the given Init Duration.
pub(crate) fn sample(function: &str, index: u64, init_ms: f64) -> ColdStartSample {
    let spawn = 1_000_000_000_u64;
    let ns = |ms: f64| spawn + (ms * 1e6) as u64;
    let import_end = init_ms - 1.0;
    let handler_self_us = ((import_end - 12.0) * 0.3 * 1000.0) as u64;
    let json_us = ((import_end - 12.0) * 0.7 * 1000.0) as u64;
    let stderr = format!(
        "import time: self [us] | cumulative | imported package\nimport time: {json_us:>9} | {json_us:>10} |   json\nimport time: {handler_self_us:>9} | {:>10} | handler\n",
        json_us + handler_self_us
    );
    let text = serde_json::json!({
        "schema_version": 1, "function": function, "handler": "handler.handle", "sample_index": index,
        "started_at": "2026-11-27T09:00:00Z", "memory_size_mb": 512, "backend": "local",
        "runtime": {"kind": "python", "program": "/usr/bin/python3", "args": [], "interpreter_version": "3.11.7", "runtime_version": "python:3.11.local"},
        "init": {"status": "success", "duration_ms": init_ms, "elapsed_ms": init_ms, "error": null, "spawn_monotonic_ns": spawn,
                 "ready_monotonic_ns": ns(init_ms), "marks": {"first_line": ns(10.0), "handler_import_start": ns(12.0), "handler_import_end": ns(import_end)}},
        "invokes": [{"request_id": "r", "trace_header": "t", "cold": true, "status": "success", "duration_ms": 2.0, "billed_duration_ms": 3,
                     "max_memory_used_mb": 30, "response_bytes": 2, "response_preview": "ok", "error": null},
                    {"request_id": "r2", "trace_header": "t", "cold": false, "status": "success", "duration_ms": 1.0, "billed_duration_ms": 1,
                     "max_memory_used_mb": 30, "response_bytes": 2, "response_preview": "ok", "error": null}],
        "platform_log": [], "telemetry": [], "xray_documents": [],
        "process": {"pid": 1, "exit_code": null, "exit_signal": null, "killed_by_emulator": true, "peak_rss_kb": 30000, "peak_rss_source": "", "user_cpu_ms": 1.0, "system_cpu_ms": 1.0, "leftover_processes_killed": 0},
        "sandbox": {"throttling": {"state": "applied"}, "cgroup": null}, "runtime_api_problems": [],
        "stdout": {"text": "", "total_bytes": 0, "truncated": false}, "stderr": {"text": stderr, "total_bytes": 0, "truncated": false},
    });
    serde_json::from_value(text).expect("a valid sample")
}

/// A cold start whose INIT failed with an import error.
#[cfg(test)]
pub(crate) fn failed_sample(function: &str, index: u64) -> ColdStartSample {
    let mut sample = sample(function, index, 30.0);
    sample.init.status = init_trace::sample::InitStatus::Error;
    sample.init.duration_ms = None;
    sample.init.error = Some(init_trace::sample::FunctionError::platform(
        "Runtime.ImportModuleError",
        "Unable to import module 'handler': No module named 'nope'",
    ));
    sample.invokes.clear();
    sample.stderr.text = "Traceback (most recent call last):\n  File \"handler.py\", line 1\nModuleNotFoundError: No module named 'nope'".to_owned();
    sample
}

/// The functions a test app offers (the bundled specs, without touching the disk).
pub(crate) fn functions() -> Vec<FunctionSpec> {
    ["control", "wiki"]
        .iter()
        .map(|name| FunctionSpec {
            name: (*name).to_owned(),
            runtime: init_trace::spec::RuntimeKind::Python,
            code_dir: std::path::PathBuf::from(format!("/bundle/{name}")),
            handler: "handler.handle".to_owned(),
            command: None,
            interpreter: "python3".to_owned(),
            site_packages: false,
            memory_mb: 512,
            ephemeral_storage_mb: 512,
            layers: Vec::new(),
            timeout_ms: 3_000,
            init_timeout_ms: 10_000,
            invokes: 2,
            event: "{}".to_owned(),
            env: std::collections::BTreeMap::new(),
            description: String::new(),
        })
        .collect()
}
