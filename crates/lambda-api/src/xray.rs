//! X-Ray as `serve` offers it: the segments Lambda itself records for each invoke (an
//! `AWS::Lambda` segment for the service and an `AWS::Lambda::Function` segment with its
//! `Initialization`, `Invocation` and `Overhead` subsegments), the documents functions
//! send to the daemon, and those clients send with `PutTraceSegments`, kept by trace id
//! and served by `GetTraceSummaries` and `BatchGetTraces` in X-Ray's JSON shapes.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use crate::error::ApiError;

/// The most traces kept; the oldest go first.
const MAX_TRACES: usize = 100_000;

#[derive(Debug, Default)]
struct Trace {
    /// Segment documents by segment id (a re-sent segment replaces the earlier one).
    segments: BTreeMap<String, Value>,
    /// Insertion order, for eviction.
    order: u64,
}

/// Every trace `serve` knows.
#[derive(Debug, Default)]
pub struct TraceStore {
    traces: BTreeMap<String, Trace>,
    next_order: u64,
}

/// The times and facts of one invoke that Lambda's own segments are made of.
#[derive(Debug, Clone)]
pub struct InvokeTiming {
    /// From the invoke's `X-Amzn-Trace-Id`.
    pub trace_id: String,
    /// The `Parent` of that header: the function segment's id, which the function's own
    /// subsegments name as their parent (as on Lambda, where `_X_AMZN_TRACE_ID` points
    /// at the `AWS::Lambda::Function` segment).
    pub function_segment_id: String,
    /// The function's name and ARN.
    pub function_name: String,
    /// The function's ARN.
    pub function_arn: String,
    /// The account, for `aws.account_id`.
    pub account_id: String,
    /// The Lambda request id.
    pub request_id: String,
    /// When `serve` received the invoke (epoch seconds).
    pub received_s: f64,
    /// INIT's span (epoch seconds), on a cold invoke.
    pub init_s: Option<(f64, f64)>,
    /// The invocation's span (epoch seconds): event delivered to response.
    pub invocation_s: (f64, f64),
    /// When `serve` answered (epoch seconds).
    pub answered_s: f64,
    /// An error the function returned (`HasError`), or a runtime failure (`HasFault`).
    pub function_error: Option<bool>,
}

impl TraceStore {
    /// Adds one document (a segment, or an independent subsegment with `parent_id`).
    pub fn put(&mut self, document: Value) -> Result<(), String> {
        let trace_id = document
            .get("trace_id")
            .and_then(Value::as_str)
            .ok_or("the document has no trace_id")?
            .to_owned();
        let id = document
            .get("id")
            .and_then(Value::as_str)
            .ok_or("the document has no id")?
            .to_owned();
        if !is_trace_id(&trace_id) {
            return Err(format!("trace_id {trace_id:?} is not of the form 1-8hex-24hex"));
        }
        let order = self.next_order;
        self.next_order += 1;
        let trace = self.traces.entry(trace_id).or_insert_with(|| Trace {
            order,
            ..Trace::default()
        });
        trace.segments.insert(id, document);
        if self.traces.len() > MAX_TRACES
            && let Some(oldest) = self
                .traces
                .iter()
                .min_by_key(|(_, t)| t.order)
                .map(|(id, _)| id.clone())
        {
            self.traces.remove(&oldest);
        }
        Ok(())
    }

    /// Records Lambda's own segments for an invoke.
    pub fn record_invoke(&mut self, timing: &InvokeTiming) {
        let service_segment_id = init_trace::ids::segment_id();
        let mut subsegments = Vec::new();
        let mut start_s = timing.invocation_s.0;
        if let Some((init_start, init_end)) = timing.init_s {
            subsegments.push(json!({
                "id": init_trace::ids::segment_id(),
                "name": "Initialization",
                "start_time": init_start,
                "end_time": init_end,
                "aws": {"function_arn": timing.function_arn},
            }));
            start_s = start_s.min(init_start);
        }
        subsegments.push(json!({
            "id": init_trace::ids::segment_id(),
            "name": "Invocation",
            "start_time": timing.invocation_s.0,
            "end_time": timing.invocation_s.1,
            "aws": {"function_arn": timing.function_arn},
        }));
        subsegments.push(json!({
            "id": init_trace::ids::segment_id(),
            "name": "Overhead",
            "start_time": timing.invocation_s.1,
            "end_time": timing.answered_s.max(timing.invocation_s.1),
            "aws": {"function_arn": timing.function_arn},
        }));
        let mut function = json!({
            "id": timing.function_segment_id,
            "trace_id": timing.trace_id,
            "parent_id": service_segment_id,
            "name": timing.function_name,
            "origin": "AWS::Lambda::Function",
            "start_time": start_s,
            "end_time": timing.answered_s.max(timing.invocation_s.1),
            "aws": {
                "account_id": timing.account_id,
                "function_arn": timing.function_arn,
                "resource_names": [timing.function_name],
            },
            "subsegments": subsegments,
        });
        let mut service = json!({
            "id": service_segment_id,
            "trace_id": timing.trace_id,
            "name": timing.function_name,
            "origin": "AWS::Lambda",
            "start_time": timing.received_s,
            "end_time": timing.answered_s,
            "http": {"response": {"status": 200}},
            "aws": {"request_id": timing.request_id, "account_id": timing.account_id, "resource_names": [timing.function_name]},
        });
        match timing.function_error {
            Some(false) => {
                function["error"] = json!(true);
                service["error"] = json!(true);
            }
            Some(true) => {
                function["fault"] = json!(true);
                service["fault"] = json!(true);
            }
            None => {}
        }
        let _ = self.put(service);
        let _ = self.put(function);
    }

    /// `GetTraceSummaries`: traces with a segment in `[start_s, end_s]`, optionally only
    /// those of one service (`service("name")`, the one filter supported).
    pub fn summaries(&self, start_s: f64, end_s: f64, service: Option<&str>) -> Vec<Value> {
        let mut found: Vec<(&String, &Trace)> = self
            .traces
            .iter()
            .filter(|(_, trace)| {
                let (first, last) = span(trace);
                first <= end_s && last >= start_s
            })
            .filter(|(_, trace)| {
                service.is_none_or(|name| {
                    trace
                        .segments
                        .values()
                        .any(|s| s.get("name").and_then(Value::as_str) == Some(name))
                })
            })
            .collect();
        found.sort_by_key(|(_, t)| t.order);
        found
            .into_iter()
            .map(|(id, trace)| {
                let (first, last) = span(trace);
                let flag = |name: &str| trace.segments.values().any(|s| s.get(name) == Some(&json!(true)));
                let mut names: Vec<(String, String)> = trace
                    .segments
                    .values()
                    .filter_map(|s| {
                        Some((
                            s.get("name")?.as_str()?.to_owned(),
                            s.get("origin").and_then(Value::as_str).unwrap_or("").to_owned(),
                        ))
                    })
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                names.sort();
                json!({
                    "Id": id,
                    "StartTime": first,
                    "Duration": last - first,
                    "ResponseTime": last - first,
                    "HasFault": flag("fault"),
                    "HasError": flag("error"),
                    "HasThrottle": flag("throttle"),
                    "IsPartial": false,
                    "Annotations": {},
                    "Users": [],
                    "ServiceIds": names.iter().map(|(name, origin)| json!({"Name": name, "Names": [name], "Type": origin})).collect::<Vec<_>>(),
                })
            })
            .collect()
    }

    /// `BatchGetTraces`: the named traces with their segment documents (as strings).
    pub fn traces(&self, ids: &[String]) -> (Vec<Value>, Vec<String>) {
        let mut traces = Vec::new();
        let mut unprocessed = Vec::new();
        for id in ids {
            match self.traces.get(id) {
                Some(trace) => {
                    let (first, last) = span(trace);
                    traces.push(json!({
                        "Id": id,
                        "Duration": last - first,
                        "LimitExceeded": false,
                        "Segments": trace.segments.iter().map(|(segment_id, document)| json!({
                            "Id": segment_id,
                            "Document": document.to_string(),
                        })).collect::<Vec<_>>(),
                    }));
                }
                None => unprocessed.push(id.clone()),
            }
        }
        (traces, unprocessed)
    }
}

fn span(trace: &Trace) -> (f64, f64) {
    let times = trace.segments.values().filter_map(|s| {
        let start = s.get("start_time")?.as_f64()?;
        let end = s.get("end_time").and_then(Value::as_f64).unwrap_or(start);
        Some((start, end))
    });
    times.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (s, e)| {
        (a.min(s), b.max(e))
    })
}

/// Whether `id` is an X-Ray trace id: `1-` eight hex digits `-` 24 hex digits.
pub fn is_trace_id(id: &str) -> bool {
    let mut parts = id.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("1"), Some(time), Some(random), None)
            if time.len() == 8 && random.len() == 24
                && time.chars().chain(random.chars()).all(|c| c.is_ascii_hexdigit())
    )
}

/// Parses the one filter expression supported, `service("name")`; anything else is an
/// error naming what is supported.
pub fn parse_filter(expression: &str) -> Result<Option<String>, ApiError> {
    let trimmed = expression.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let inner = trimmed
        .strip_prefix("service(")
        .and_then(|rest| rest.strip_suffix(')'))
        .map(str::trim)
        .and_then(|q| q.strip_prefix('"').and_then(|q| q.strip_suffix('"')));
    inner.map(|name| Some(name.to_owned())).ok_or_else(|| {
        ApiError::xray_invalid(format!(
            "FilterExpression {trimmed:?} is not supported by coldfront serve; only service(\"NAME\") is"
        ))
    })
}

/// Pulls the `Root` and `Parent` out of an `X-Amzn-Trace-Id` header value.
pub fn root_and_parent(header: &str) -> Option<(String, String)> {
    let mut root = None;
    let mut parent = None;
    for part in header.split(';') {
        match part.trim().split_once('=') {
            Some(("Root", v)) => root = Some(v.to_owned()),
            Some(("Parent", v)) => parent = Some(v.to_owned()),
            _ => {}
        }
    }
    Some((root?, parent?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(cold: bool) -> InvokeTiming {
        InvokeTiming {
            trace_id: "1-6743a1b2-0123456789abcdef01234567".into(),
            function_segment_id: "53995c3f42cd8ad8".into(),
            function_name: "f".into(),
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
            account_id: "000000000000".into(),
            request_id: "r".into(),
            received_s: 100.0,
            init_s: cold.then_some((100.001, 100.300)),
            invocation_s: (100.301, 100.350),
            answered_s: 100.351,
            function_error: None,
        }
    }

    #[test]
    fn a_cold_invoke_has_lambdas_three_subsegments() {
        let mut store = TraceStore::default();
        store.record_invoke(&timing(true));
        let (traces, missing) = store.traces(&[
            "1-6743a1b2-0123456789abcdef01234567".into(),
            "1-00000000-000000000000000000000000".into(),
        ]);
        assert_eq!(missing.len(), 1);
        let segments = traces[0]["Segments"].as_array().unwrap();
        let documents: Vec<Value> = segments
            .iter()
            .map(|s| serde_json::from_str(s["Document"].as_str().unwrap()).unwrap())
            .collect();
        let function = documents
            .iter()
            .find(|d| d["origin"] == "AWS::Lambda::Function")
            .unwrap();
        let names: Vec<&str> = function["subsegments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Initialization", "Invocation", "Overhead"]);
        assert_eq!(
            function["id"], "53995c3f42cd8ad8",
            "the id the function's subsegments name"
        );
        let service = documents.iter().find(|d| d["origin"] == "AWS::Lambda").unwrap();
        assert_eq!(function["parent_id"], service["id"]);
        let mut warm = TraceStore::default();
        warm.record_invoke(&timing(false));
        let summaries = warm.summaries(0.0, 1e12, Some("f"));
        assert_eq!(summaries.len(), 1);
        assert!(warm.summaries(0.0, 1e12, Some("g")).is_empty());
        assert!(warm.summaries(200.0, 300.0, None).is_empty());
    }

    #[test]
    fn filters_other_than_service_are_refused_by_name() {
        assert_eq!(parse_filter("service(\"wiki\")").unwrap().as_deref(), Some("wiki"));
        assert_eq!(parse_filter("  ").unwrap(), None);
        let err = parse_filter("responsetime > 5").unwrap_err();
        assert!(err.message.contains("responsetime > 5"));
    }

    #[test]
    fn documents_without_a_valid_trace_id_are_refused() {
        let mut store = TraceStore::default();
        assert!(store.put(json!({"id": "a", "trace_id": "nope"})).is_err());
        assert!(store.put(json!({"id": "a"})).is_err());
        assert!(
            store
                .put(json!({"trace_id": "1-6743a1b2-0123456789abcdef01234567"}))
                .is_err()
        );
    }
}
