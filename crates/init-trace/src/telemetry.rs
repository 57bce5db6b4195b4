//! Telemetry API platform events, in the schema Lambda sends to extensions
//! (`PUT /2022-07-01/telemetry`; docs/sources.md, "Lambda Telemetry API").

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One Telemetry API event: `{time, type, record}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryEvent {
    /// ISO 8601 timestamp with milliseconds, as Lambda sends it.
    pub time: String,
    /// `platform.initStart`, `platform.report`, ...
    #[serde(rename = "type")]
    pub event_type: String,
    /// The event's record.
    pub record: Value,
}

fn event(at: DateTime<Utc>, event_type: &str, record: Value) -> TelemetryEvent {
    TelemetryEvent {
        time: at.to_rfc3339_opts(SecondsFormat::Millis, true),
        event_type: event_type.to_owned(),
        record,
    }
}

/// Rounds to the three decimals Lambda uses in telemetry metrics.
fn ms3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// `platform.initStart`.
pub fn init_start(at: DateTime<Utc>, runtime_version: &str, runtime_version_arn: &str) -> TelemetryEvent {
    event(
        at,
        "platform.initStart",
        json!({
            "initializationType": "on-demand",
            "phase": "init",
            "runtimeVersion": runtime_version,
            "runtimeVersionArn": runtime_version_arn,
        }),
    )
}

/// `platform.initRuntimeDone`; `status` is `success`, `error` or `timeout`.
pub fn init_runtime_done(at: DateTime<Utc>, status: &str, error_type: Option<&str>) -> TelemetryEvent {
    let mut record = json!({"initializationType": "on-demand", "phase": "init", "status": status});
    if let Some(error_type) = error_type {
        record["errorType"] = json!(error_type);
    }
    event(at, "platform.initRuntimeDone", record)
}

/// `platform.initReport`.
pub fn init_report(at: DateTime<Utc>, duration_ms: f64, status: &str) -> TelemetryEvent {
    event(
        at,
        "platform.initReport",
        json!({
            "initializationType": "on-demand",
            "phase": "init",
            "status": status,
            "metrics": {"durationMs": ms3(duration_ms)},
        }),
    )
}

/// `platform.start`.
pub fn start(at: DateTime<Utc>, request_id: &str, version: &str, trace_header: &str) -> TelemetryEvent {
    event(
        at,
        "platform.start",
        json!({
            "requestId": request_id,
            "version": version,
            "tracing": {"type": "X-Amzn-Trace-Id", "value": trace_header},
        }),
    )
}

/// `platform.runtimeDone`; `status` is `success`, `error`, `timeout` or `failure`.
pub fn runtime_done(
    at: DateTime<Utc>,
    request_id: &str,
    status: &str,
    duration_ms: f64,
    produced_bytes: u64,
) -> TelemetryEvent {
    event(
        at,
        "platform.runtimeDone",
        json!({
            "requestId": request_id,
            "status": status,
            "metrics": {"durationMs": ms3(duration_ms), "producedBytes": produced_bytes},
        }),
    )
}

/// The figures of a `platform.report` event.
#[derive(Debug, Clone, Copy)]
pub struct ReportMetrics {
    /// Invoke duration.
    pub duration_ms: f64,
    /// Billed duration.
    pub billed_duration_ms: u64,
    /// Init Duration, on the cold invoke only.
    pub init_duration_ms: Option<f64>,
    /// Peak memory so far.
    pub max_memory_used_mb: u64,
    /// Configured memory.
    pub memory_size_mb: u32,
}

/// `platform.report`.
pub fn report(at: DateTime<Utc>, request_id: &str, status: &str, metrics: ReportMetrics) -> TelemetryEvent {
    let mut values = json!({
        "billedDurationMs": metrics.billed_duration_ms,
        "durationMs": ms3(metrics.duration_ms),
        "maxMemoryUsedMB": metrics.max_memory_used_mb,
        "memorySizeMB": metrics.memory_size_mb,
    });
    if let Some(init_ms) = metrics.init_duration_ms {
        values["initDurationMs"] = json!(ms3(init_ms));
    }
    event(
        at,
        "platform.report",
        json!({"requestId": request_id, "status": status, "metrics": values}),
    )
}
