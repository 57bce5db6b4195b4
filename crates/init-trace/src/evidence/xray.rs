//! Custom segments from the X-Ray documents a function sent: blocks it timed itself.
//!
//! Documents from coldfront's `segment()` helper carry exact `CLOCK_MONOTONIC` times in
//! `metadata.coldfront`; any other document is placed by its epoch `start_time` and
//! `end_time`, relative to the sample's wall-clock start.
//!
//! On AWS the trace also holds Lambda's own segments: an `AWS::Lambda` segment for the
//! service and an `AWS::Lambda::Function` segment whose `Initialization`, `Invocation`
//! and `Overhead` subsegments span those phases. Those are not blocks the function timed;
//! the `Initialization` span is where INIT began on AWS's clock, so the function's own
//! blocks are placed relative to it (the runtime process's monotonic clock, which exact
//! times are read on, is unknown there).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sample::ColdStartSample;

/// A block the function timed, placed on the sample's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomSegment {
    /// The document's `name`.
    pub name: String,
    /// Start, ms after the runtime process started.
    pub start_ms: f64,
    /// End, ms after the runtime process started.
    pub end_ms: f64,
    /// Whether the times came from exact monotonic timestamps (else epoch seconds).
    pub exact: bool,
    /// The document had `fault` or `error` set.
    pub failed: bool,
}

impl CustomSegment {
    /// Its duration.
    pub fn duration_ms(&self) -> f64 {
        (self.end_ms - self.start_ms).max(0.0)
    }
}

/// The origin of Lambda's service segment, none of whose parts the function timed.
const LAMBDA_SERVICE_ORIGIN: &str = "AWS::Lambda";
/// The origin of Lambda's segment for the function; its phase subsegments are Lambda's.
const LAMBDA_FUNCTION_ORIGIN: &str = "AWS::Lambda::Function";
/// The names of Lambda's phase subsegments of [`LAMBDA_FUNCTION_ORIGIN`].
const LAMBDA_PHASES: [&str; 3] = ["Initialization", "Invocation", "Overhead"];

/// Where a block's times are read from.
#[derive(Clone, Copy)]
struct Origin {
    /// The runtime process's spawn on `CLOCK_MONOTONIC`, when exact times can be used.
    monotonic_ns: Option<u64>,
    /// What epoch second is 0 ms.
    epoch_s: f64,
}

fn segments_in(document: &Value, origin: Origin, lambdas: bool, out: &mut Vec<CustomSegment>) {
    let name = document.get("name").and_then(Value::as_str);
    let lambda_own = lambdas && {
        let origin = document.get("origin").and_then(Value::as_str);
        origin == Some(LAMBDA_FUNCTION_ORIGIN) || name.is_some_and(|n| LAMBDA_PHASES.contains(&n))
    };
    if lambdas && document.get("origin").and_then(Value::as_str) == Some(LAMBDA_SERVICE_ORIGIN) {
        return;
    }
    let exact = origin.monotonic_ns.and_then(|_| {
        document
            .pointer("/metadata/coldfront/monotonic_start_ns")
            .and_then(Value::as_u64)
            .zip(
                document
                    .pointer("/metadata/coldfront/monotonic_end_ns")
                    .and_then(Value::as_u64),
            )
    });
    let failed = [document.get("fault"), document.get("error")]
        .iter()
        .any(|v| v.and_then(Value::as_bool) == Some(true));
    let placed = match exact {
        Some((start, end)) => Some((
            (start as f64 - origin.monotonic_ns.unwrap_or_default() as f64) / 1e6,
            (end as f64 - origin.monotonic_ns.unwrap_or_default() as f64) / 1e6,
            true,
        )),
        None => document
            .get("start_time")
            .and_then(Value::as_f64)
            .zip(document.get("end_time").and_then(Value::as_f64))
            .map(|(start, end)| {
                (
                    (start - origin.epoch_s) * 1000.0,
                    (end - origin.epoch_s) * 1000.0,
                    false,
                )
            }),
    };
    if let (Some(name), Some((start_ms, end_ms, exact))) = (name, placed)
        && end_ms >= start_ms
        && !lambda_own
    {
        {
            out.push(CustomSegment {
                name: name.to_owned(),
                start_ms,
                end_ms,
                exact,
                failed,
            });
        }
    }
    for child in document
        .get("subsegments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        segments_in(child, origin, lambdas, out);
    }
}

/// Lambda's `Initialization` span in an AWS sample's trace (epoch seconds): INIT as AWS
/// recorded it. None on a warm or proactively initialised invoke, or without a trace.
pub fn lambda_initialization_s(sample: &ColdStartSample) -> Option<(f64, f64)> {
    sample.xray_documents.iter().find_map(|d| {
        let document = &d.document;
        if document.get("origin").and_then(Value::as_str) != Some(LAMBDA_FUNCTION_ORIGIN) {
            return None;
        }
        document
            .get("subsegments")
            .and_then(Value::as_array)?
            .iter()
            .find(|s| s.get("name").and_then(Value::as_str) == Some("Initialization"))
            .and_then(|s| Some((s.get("start_time")?.as_f64()?, s.get("end_time")?.as_f64()?)))
    })
}

/// Every block the function timed in the sample's X-Ray documents, by start time.
///
/// A local sample's blocks are placed from the runtime's spawn. An AWS sample's are placed
/// from the start of Lambda's `Initialization` span, Lambda's own segments left out; an
/// AWS sample without that span (no trace, or not a cold start) has none placed.
pub fn custom_segments(sample: &ColdStartSample) -> Vec<CustomSegment> {
    let lambdas = sample.backend == "aws";
    let origin = if lambdas {
        let Some((init_start_s, _)) = lambda_initialization_s(sample) else {
            return Vec::new();
        };
        Origin {
            monotonic_ns: None,
            epoch_s: init_start_s,
        }
    } else {
        Origin {
            monotonic_ns: Some(sample.init.spawn_monotonic_ns),
            epoch_s: sample.started_at.timestamp_micros() as f64 / 1e6,
        }
    };
    let mut out = Vec::new();
    for document in &sample.xray_documents {
        segments_in(&document.document, origin, lambdas, &mut out);
    }
    out.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    out
}
