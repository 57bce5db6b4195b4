//! HdrHistogram interval logs of Init Duration, one tagged histogram per function and
//! memory size, readable by HdrHistogram's tools (HistogramLogAnalyzer, `hdrhistogram`'s
//! `IntervalLogIterator`). Values are microseconds.

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use crate::sample::ColdStartSample;
use crate::stats::{duration_histogram, record_ms};

/// The log text for the measured (non-warm-up) successful cold starts of a run.
pub fn init_duration_log(samples: &[ColdStartSample]) -> Result<String, std::io::Error> {
    let mut keys: Vec<(String, u32)> = Vec::new();
    for s in samples {
        let key = (s.function.clone(), s.memory_size_mb);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let mut buffer = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let start = samples
        .first()
        .map_or(std::time::UNIX_EPOCH, |s| std::time::SystemTime::from(s.started_at));
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment("coldfront Init Duration, microseconds; one interval per function@memory, tagged")
        .with_start_time(start)
        .with_base_time(start)
        .with_max_value_divisor(1000.0)
        .begin_log_with(&mut buffer, &mut serializer)?;
    for (function, memory) in &keys {
        let mut histogram = duration_histogram();
        let members: Vec<&ColdStartSample> = samples
            .iter()
            .filter(|s| &s.function == function && s.memory_size_mb == *memory && !s.labels.warmup)
            .collect();
        for s in &members {
            if let Some(ms) = s.init.duration_ms {
                record_ms(&mut histogram, ms);
            }
        }
        let first = members
            .first()
            .map_or(start, |s| std::time::SystemTime::from(s.started_at));
        let last = members
            .last()
            .map_or(start, |s| std::time::SystemTime::from(s.started_at));
        let offset = first.duration_since(start).unwrap_or_default();
        let length = last.duration_since(first).unwrap_or_default();
        // Tags may not contain commas or whitespace; function names are identifiers.
        let label: String = format!("{function}@{memory}MB")
            .chars()
            .map(|c| if c == ',' || c.is_whitespace() { '_' } else { c })
            .collect();
        writer
            .write_histogram(&histogram, offset, length, Tag::new(&label))
            .map_err(|e| std::io::Error::other(format!("cannot write the histogram log: {e}")))?;
    }
    drop(writer);
    String::from_utf8(buffer).map_err(std::io::Error::other)
}
