//! The origin latencies a run showed, for a CDN model: what a request waits at the origin
//! when it meets a warm sandbox (a warm invoke) and when it meets a cold start (Init
//! Duration plus the cold invoke). One derivation, used by `coldfront cdn --from-run` and
//! by the UI's cache view, so both read a run the same way: one function, warm-ups left
//! out, failed invokes left out.

use crate::sample::{ColdStartSample, InvokeStatus};

/// What one cold start contributes.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleLatencies {
    /// Init Duration plus the successful cold invoke, in ms; none when INIT or the cold
    /// invoke failed.
    pub cold_ms: Option<f64>,
    /// Successful warm invokes, in ms.
    pub warm_ms: Vec<f64>,
}

/// The latencies of one cold start (warm-up or not; [`origin_latencies`] filters).
pub fn sample_latencies(sample: &ColdStartSample) -> SampleLatencies {
    let ok = |cold: bool| {
        sample
            .invokes
            .iter()
            .filter(move |i| i.cold == cold && i.status == InvokeStatus::Success)
            .map(|i| i.duration_ms)
    };
    SampleLatencies {
        cold_ms: sample
            .init
            .duration_ms
            .and_then(|init_ms| ok(true).next().map(|cold_ms| init_ms + cold_ms)),
        warm_ms: ok(false).collect(),
    }
}

/// What one sample gives the origin model: its latencies, or `None` for a warm-up cold
/// start (a first start that warms caches the later ones find warm). The one filter
/// behind [`origin_latencies`] and the UI's running tally of cold starts as they arrive.
pub fn origin_sample(sample: &ColdStartSample) -> Option<SampleLatencies> {
    (!sample.labels.warmup).then(|| sample_latencies(sample))
}

/// One function's origin latencies in a run.
#[derive(Debug, Clone, PartialEq)]
pub struct OriginLatencies {
    /// The function they belong to.
    pub function: String,
    /// Warm invokes, ms.
    pub warm_ms: Vec<f64>,
    /// Cold requests (Init Duration + cold invoke), ms.
    pub cold_ms: Vec<f64>,
    /// Warm-up cold starts left out.
    pub warmups_dropped: usize,
}

/// Why a run cannot give origin latencies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginLatencyError {
    /// Several functions and no way to tell which is the origin.
    #[error("the run holds {}; say which one is the origin", .0.join(", "))]
    Ambiguous(Vec<String>),
    /// The named function is not in the run.
    #[error("no function {wanted:?} in the run (it holds {})", .present.join(", "))]
    UnknownFunction {
        /// The name asked for.
        wanted: String,
        /// The functions the run holds.
        present: Vec<String>,
    },
    /// Nothing usable was measured.
    #[error("{function}: {what}")]
    NotEnough {
        /// The function.
        function: String,
        /// What is missing and how to record it.
        what: String,
    },
}

/// The origin latencies of `function`, or when none is named, of the run's subject (an
/// experiment's `subject` role) or its only function. Warm-up cold starts are left out.
pub fn origin_latencies(
    samples: &[ColdStartSample],
    function: Option<&str>,
) -> Result<OriginLatencies, OriginLatencyError> {
    let mut present: Vec<String> = Vec::new();
    for s in samples {
        if !present.contains(&s.function) {
            present.push(s.function.clone());
        }
    }
    let chosen = match function {
        Some(name) if present.iter().any(|p| p == name) => name.to_owned(),
        Some(name) => {
            return Err(OriginLatencyError::UnknownFunction {
                wanted: name.to_owned(),
                present,
            });
        }
        None => {
            let subjects: Vec<&str> = samples
                .iter()
                .filter(|s| s.labels.role.as_deref() == Some("subject"))
                .map(|s| s.function.as_str())
                .collect();
            match (subjects.first(), present.as_slice()) {
                (Some(subject), _) if subjects.iter().all(|s| s == subject) => (*subject).to_owned(),
                (_, [only]) => only.clone(),
                _ => return Err(OriginLatencyError::Ambiguous(present)),
            }
        }
    };
    let mut out = OriginLatencies {
        function: chosen.clone(),
        warm_ms: Vec::new(),
        cold_ms: Vec::new(),
        warmups_dropped: 0,
    };
    for sample in samples.iter().filter(|s| s.function == chosen) {
        let Some(latencies) = origin_sample(sample) else {
            out.warmups_dropped += 1;
            continue;
        };
        out.cold_ms.extend(latencies.cold_ms);
        out.warm_ms.extend(latencies.warm_ms);
    }
    if out.cold_ms.is_empty() {
        return Err(OriginLatencyError::NotEnough {
            function: chosen,
            what: "no successful cold start (INIT and the cold invoke)".to_owned(),
        });
    }
    if out.warm_ms.is_empty() {
        return Err(OriginLatencyError::NotEnough {
            function: chosen,
            what: "no successful warm invoke; record some with --invokes 5".to_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(function: &str, role: Option<&str>, warmup: bool, init_ms: f64) -> ColdStartSample {
        let text = serde_json::json!({
            "schema_version": 1, "function": function, "handler": "handler.handle", "sample_index": 0,
            "started_at": "2026-11-27T09:00:00Z", "memory_size_mb": 512, "backend": "local",
            "labels": {"role": role, "warmup": warmup},
            "runtime": {"kind": "python", "program": "/usr/bin/python3", "args": [], "interpreter_version": "3.11.7", "runtime_version": "python:3.11.local"},
            "init": {"status": "success", "duration_ms": init_ms, "elapsed_ms": init_ms, "error": null, "spawn_monotonic_ns": 1,
                     "ready_monotonic_ns": 2, "marks": {}},
            "invokes": [{"request_id": "r", "trace_header": "t", "cold": true, "status": "success", "duration_ms": 2.0, "billed_duration_ms": 3,
                         "max_memory_used_mb": 30, "response_bytes": 2, "response_preview": "ok", "error": null},
                        {"request_id": "r2", "trace_header": "t", "cold": false, "status": "success", "duration_ms": 1.0, "billed_duration_ms": 1,
                         "max_memory_used_mb": 30, "response_bytes": 2, "response_preview": "ok", "error": null}],
            "platform_log": [], "telemetry": [], "xray_documents": [],
            "process": {"pid": 1, "exit_code": null, "exit_signal": null, "killed_by_emulator": true, "peak_rss_kb": 30000, "peak_rss_source": "", "user_cpu_ms": 1.0, "system_cpu_ms": 1.0, "leftover_processes_killed": 0},
            "sandbox": {"throttling": {"state": "applied"}, "cgroup": null}, "runtime_api_problems": [],
            "stdout": {"text": "", "total_bytes": 0, "truncated": false}, "stderr": {"text": "", "total_bytes": 0, "truncated": false},
        });
        serde_json::from_value(text).expect("a valid sample")
    }

    #[test]
    fn the_subject_without_its_warmups_or_its_control() {
        let run = [
            sample("wiki", Some("subject"), true, 900.0),
            sample("control", Some("control"), true, 50.0),
            sample("wiki", Some("subject"), false, 400.0),
            sample("control", Some("control"), false, 40.0),
        ];
        let got = origin_latencies(&run, None).unwrap();
        assert_eq!(got.function, "wiki");
        assert_eq!(got.cold_ms, [402.0]);
        assert_eq!(got.warm_ms, [1.0]);
        assert_eq!(got.warmups_dropped, 1);
        assert_eq!(origin_latencies(&run, Some("control")).unwrap().cold_ms, [42.0]);
        let err = origin_latencies(&run, Some("api")).unwrap_err().to_string();
        assert!(err.contains("\"api\"") && err.contains("wiki, control"), "{err}");
    }

    #[test]
    fn a_warmup_gives_the_origin_nothing() {
        assert_eq!(origin_sample(&sample("wiki", Some("subject"), true, 900.0)), None);
        let got = origin_sample(&sample("wiki", Some("subject"), false, 400.0)).unwrap();
        assert_eq!((got.cold_ms, got.warm_ms), (Some(402.0), vec![1.0]));
    }

    #[test]
    fn several_plain_functions_must_be_named() {
        let run = [sample("a", None, false, 10.0), sample("b", None, false, 20.0)];
        let err = origin_latencies(&run, None).unwrap_err();
        assert_eq!(err, OriginLatencyError::Ambiguous(vec!["a".into(), "b".into()]));
        assert_eq!(origin_latencies(&run[..1], None).unwrap().function, "a");
    }
}
