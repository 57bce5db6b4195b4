//! Custom segments from the X-Ray documents a function sent: blocks it timed itself.
//!
//! Documents from coldfront's `segment()` helper carry exact `CLOCK_MONOTONIC` times in
//! `metadata.coldfront`; any other document is placed by its epoch `start_time` and
//! `end_time`, relative to the sample's wall-clock start.

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

fn segments_in(document: &Value, origin_ns: u64, origin_epoch_s: f64, out: &mut Vec<CustomSegment>) {
    let name = document.get("name").and_then(Value::as_str);
    let exact = document
        .pointer("/metadata/coldfront/monotonic_start_ns")
        .and_then(Value::as_u64)
        .zip(
            document
                .pointer("/metadata/coldfront/monotonic_end_ns")
                .and_then(Value::as_u64),
        );
    let failed = [document.get("fault"), document.get("error")]
        .iter()
        .any(|v| v.and_then(Value::as_bool) == Some(true));
    let placed = match exact {
        Some((start, end)) => Some((
            (start as f64 - origin_ns as f64) / 1e6,
            (end as f64 - origin_ns as f64) / 1e6,
            true,
        )),
        None => document
            .get("start_time")
            .and_then(Value::as_f64)
            .zip(document.get("end_time").and_then(Value::as_f64))
            .map(|(start, end)| {
                (
                    (start - origin_epoch_s) * 1000.0,
                    (end - origin_epoch_s) * 1000.0,
                    false,
                )
            }),
    };
    if let (Some(name), Some((start_ms, end_ms, exact))) = (name, placed)
        && end_ms >= start_ms
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
        segments_in(child, origin_ns, origin_epoch_s, out);
    }
}

/// Every timed block in the sample's X-Ray documents, by start time.
pub fn custom_segments(sample: &ColdStartSample) -> Vec<CustomSegment> {
    let origin_epoch_s = sample.started_at.timestamp_micros() as f64 / 1e6;
    let mut out = Vec::new();
    for document in &sample.xray_documents {
        segments_in(
            &document.document,
            sample.init.spawn_monotonic_ns,
            origin_epoch_s,
            &mut out,
        );
    }
    out.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    out
}
