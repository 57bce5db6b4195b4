//! Platform log lines in the exact CloudWatch format Lambda writes them.
//!
//! Field order and spacing follow real logs (docs/sources.md, "Lambda log lines"): tab-separated fields,
//! two-decimal floats, a trailing tab. [`parse_report`] reads them back, so logs from real
//! Lambda functions (CloudWatch exports, `X-Amz-Log-Result`) go through the same code.

use crate::telemetry::ReportMetrics;

/// `INIT_START Runtime Version: ...\tRuntime Version ARN: ...`
pub fn init_start(runtime_version: &str, runtime_version_arn: &str) -> String {
    format!("INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {runtime_version_arn}")
}

/// `INIT_REPORT Init Duration: X ms\tPhase: init\tStatus: error|timeout[\tError Type: T]`,
/// which Lambda prints when INIT fails.
pub fn init_report(elapsed_ms: f64, status: &str, error_type: Option<&str>) -> String {
    let mut line = format!("INIT_REPORT Init Duration: {elapsed_ms:.2} ms\tPhase: init\tStatus: {status}");
    if let Some(error_type) = error_type {
        line.push_str(&format!("\tError Type: {error_type}"));
    }
    line
}

/// `START RequestId: <id> Version: $LATEST`
pub fn start(request_id: &str, version: &str) -> String {
    format!("START RequestId: {request_id} Version: {version}")
}

/// `END RequestId: <id>`
pub fn end(request_id: &str) -> String {
    format!("END RequestId: {request_id}")
}

/// The REPORT line, fields in Lambda's order, with its trailing tab.
pub fn report(request_id: &str, metrics: &ReportMetrics) -> String {
    let mut line = format!(
        "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
        metrics.duration_ms, metrics.billed_duration_ms, metrics.memory_size_mb, metrics.max_memory_used_mb
    );
    if let Some(init_ms) = metrics.init_duration_ms {
        line.push_str(&format!("Init Duration: {init_ms:.2} ms\t"));
    }
    line
}

/// The second line Lambda prints after REPORT for a traced invoke.
pub fn xray(trace_root: &str, segment_id: &str) -> String {
    format!("XRAY TraceId: {trace_root}\tSegmentId: {segment_id}\tSampled: true\t")
}

/// The figures of a REPORT line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedReport {
    /// Request id.
    pub request_id: String,
    /// `Duration`.
    pub duration_ms: f64,
    /// `Billed Duration`.
    pub billed_duration_ms: u64,
    /// `Memory Size`.
    pub memory_size_mb: u32,
    /// `Max Memory Used`.
    pub max_memory_used_mb: u64,
    /// `Init Duration`, present on cold invokes.
    pub init_duration_ms: Option<f64>,
    /// `Restore Duration`, present on SnapStart restores.
    pub restore_duration_ms: Option<f64>,
}

/// Parses a REPORT line; `None` when the line is not one or a required field is missing.
pub fn parse_report(line: &str) -> Option<ParsedReport> {
    let rest = line.trim().strip_prefix("REPORT ")?;
    let mut report = ParsedReport {
        request_id: String::new(),
        duration_ms: f64::NAN,
        billed_duration_ms: 0,
        memory_size_mb: 0,
        max_memory_used_mb: 0,
        init_duration_ms: None,
        restore_duration_ms: None,
    };
    let number = |value: &str, unit: &str| {
        value
            .trim()
            .strip_suffix(unit)
            .map(str::trim)
            .and_then(|v| v.parse::<f64>().ok())
    };
    for field in rest.split('\t').map(str::trim).filter(|f| !f.is_empty()) {
        let (key, value) = field.split_once(':')?;
        match key.trim() {
            "RequestId" => report.request_id = value.trim().to_owned(),
            "Duration" => report.duration_ms = number(value, "ms")?,
            "Billed Duration" => report.billed_duration_ms = number(value, "ms")? as u64,
            "Memory Size" => report.memory_size_mb = number(value, "MB")? as u32,
            "Max Memory Used" => report.max_memory_used_mb = number(value, "MB")? as u64,
            "Init Duration" => report.init_duration_ms = Some(number(value, "ms")?),
            "Restore Duration" => report.restore_duration_ms = Some(number(value, "ms")?),
            // Fields added by newer Lambda versions are ignored, not rejected.
            _ => {}
        }
    }
    (!report.request_id.is_empty() && report.duration_ms.is_finite()).then_some(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_matches_lambdas_format_and_order() {
        let metrics = ReportMetrics {
            duration_ms: 15.744,
            billed_duration_ms: 147,
            init_duration_ms: Some(130.486),
            max_memory_used_mb: 56,
            memory_size_mb: 128,
        };
        assert_eq!(
            report("8f5b1c2e-1111-4a2b-9c3d-123456789abc", &metrics),
            "REPORT RequestId: 8f5b1c2e-1111-4a2b-9c3d-123456789abc\tDuration: 15.74 ms\tBilled Duration: 147 ms\tMemory Size: 128 MB\tMax Memory Used: 56 MB\tInit Duration: 130.49 ms\t"
        );
    }

    #[test]
    fn warm_report_has_no_init_duration() {
        let metrics = ReportMetrics {
            duration_ms: 1.0,
            billed_duration_ms: 1,
            init_duration_ms: None,
            max_memory_used_mb: 20,
            memory_size_mb: 512,
        };
        assert!(!report("id", &metrics).contains("Init Duration"));
    }

    #[test]
    fn parses_real_report_lines_including_snapstart() {
        let real = "REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\tBilled Duration: 100 ms \tMemory Size: 128 MB\tMax Memory Used: 18 MB\tInit Duration: 130.49 ms\t";
        let parsed = parse_report(real).expect("parses");
        assert_eq!(parsed.billed_duration_ms, 100);
        assert_eq!(parsed.init_duration_ms, Some(130.49));
        let snap = "REPORT RequestId: x\tDuration: 1.00 ms\tBilled Duration: 2 ms\tMemory Size: 512 MB\tMax Memory Used: 90 MB\tRestore Duration: 300.12 ms\tBilled Restore Duration: 120 ms\t";
        let parsed = parse_report(snap).expect("parses");
        assert_eq!(parsed.restore_duration_ms, Some(300.12));
        assert_eq!(parsed.init_duration_ms, None);
        assert!(parse_report("START RequestId: x Version: $LATEST").is_none());
        assert!(parse_report("REPORT RequestId: x\tDuration: lots ms").is_none());
    }

    #[test]
    fn round_trips_our_own_lines() {
        let metrics = ReportMetrics {
            duration_ms: 3.456,
            billed_duration_ms: 4,
            init_duration_ms: Some(81.6),
            max_memory_used_mb: 41,
            memory_size_mb: 512,
        };
        let parsed = parse_report(&report("abc", &metrics)).expect("parses");
        assert!((parsed.duration_ms - 3.46).abs() < 1e-9);
        assert_eq!(parsed.init_duration_ms, Some(81.6));
        assert_eq!(parsed.max_memory_used_mb, 41);
    }

    #[test]
    fn init_report_for_timeouts() {
        assert_eq!(
            init_report(10009.129, "timeout", None),
            "INIT_REPORT Init Duration: 10009.13 ms\tPhase: init\tStatus: timeout"
        );
    }
}
