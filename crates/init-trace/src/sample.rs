//! The record of one cold start, and its JSONL form.
//!
//! A [`ColdStartSample`] keeps the evidence, not just the verdict: platform log lines,
//! Telemetry API events, X-Ray documents, the process's exit and peak memory, captured
//! output and every malformed Runtime API request. Later stages (attribution, statistics,
//! reports) are recomputed from these records, so a run directory is always re-renderable.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::spec::RuntimeKind;
use crate::telemetry::TelemetryEvent;

/// The version of the JSONL record layout; bumped on incompatible changes.
pub const SAMPLE_SCHEMA_VERSION: u32 = 1;

/// Everything measured and observed during one cold start and its invokes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColdStartSample {
    /// Layout version of this record ([`SAMPLE_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The function's name in the spec.
    pub function: String,
    /// `_HANDLER`, e.g. `handler.handle`.
    #[serde(default)]
    pub handler: String,
    /// The task root.
    #[serde(default)]
    pub task_root: PathBuf,
    /// Top-level modules and packages found in the task root (the function's own code
    /// and what it vendors) with their size on disk in bytes, so reports can tell them
    /// from the runtime's libraries and spot code that is never imported.
    #[serde(default)]
    pub task_root_bytes: std::collections::BTreeMap<String, u64>,
    /// Top-level modules in the task root that an installed distribution owns (listed in a
    /// `*.dist-info/RECORD` there): vendored libraries, not the function's own code.
    #[serde(default)]
    pub task_root_vendored: std::collections::BTreeSet<String>,
    /// The sample's place in an experiment.
    #[serde(default)]
    pub labels: SampleLabels,
    /// Position of this cold start within its run, from 0.
    pub sample_index: u64,
    /// Wall-clock time the runtime process was spawned.
    pub started_at: DateTime<Utc>,
    /// The configured memory size.
    pub memory_size_mb: u32,
    /// Which backend produced the sample (`local`).
    pub backend: String,
    /// The runtime that ran.
    pub runtime: RuntimeInfo,
    /// The INIT phase.
    pub init: InitRecord,
    /// The invokes that followed INIT; the first is the cold one.
    pub invokes: Vec<InvokeRecord>,
    /// Platform log lines in CloudWatch form (`INIT_START`, `START`, `END`, `REPORT`, ...).
    pub platform_log: Vec<String>,
    /// Telemetry API platform events.
    pub telemetry: Vec<TelemetryEvent>,
    /// X-Ray documents the function sent to the daemon address.
    pub xray_documents: Vec<XrayDocument>,
    /// The runtime process.
    pub process: ProcessRecord,
    /// How the function was isolated and throttled.
    pub sandbox: SandboxRecord,
    /// Requests to the Runtime API that were rejected, with the answer given.
    pub runtime_api_problems: Vec<ApiProblem>,
    /// What the function wrote to stdout.
    pub stdout: CapturedOutput,
    /// What the function wrote to stderr.
    pub stderr: CapturedOutput,
    /// Where on AWS the cold start ran, for the `aws` backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsRecord>,
}

/// Where on AWS a cold start ran, and what AWS exposed of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwsRecord {
    /// The region.
    pub region: String,
    /// The account id with all but its last four digits masked.
    pub account_id_masked: String,
    /// The function's ARN (unqualified).
    pub function_arn: String,
    /// The version that ran (`X-Amz-Executed-Version`).
    pub version: String,
    /// `Runtime`, e.g. `python3.12`.
    pub runtime: String,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// Whether an X-Ray trace of the invoke was found.
    pub xray_found: bool,
    /// The invoke met an environment Lambda had initialised before it (proactive
    /// initialisation): its REPORT has no Init Duration, so the sample carries none.
    pub proactive_initialization: bool,
    /// The Lambda API the cold start ran on when it is not AWS's own (`--endpoint-url`:
    /// coldfront serve, moto, LocalStack), whose VPC and EFS settings attach nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// The cold invoke's round trip as coldfront timed it (the successful attempt, from
    /// sending the request to its response): unlike Init Duration it holds the sandbox's
    /// creation, and the network between coldfront and Lambda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoke_round_trip_ms: Option<f64>,
}

/// Where a sample belongs in an experiment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleLabels {
    /// `subject` or `control`, in a trace experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A warm-up cold start, left out of the statistics.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warmup: bool,
    /// A plain cold start run beside an instrumented one: its Init Duration is the
    /// headline, its twin's evidence the breakdown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uninstrumented: bool,
    /// On AWS, a differential variant of the subject: its code and configuration less one
    /// part, so that the subject's INIT against the variant's is what that part adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<VariantKind>,
}

/// What a differential variant of the subject lacks (AWS only: VPC networking and EFS
/// mounts exist only there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariantKind {
    /// The subject without its EFS file system, still in its VPC: the storage mount's
    /// difference.
    WithoutEfs,
    /// The subject without its VPC (and so without EFS, which needs one): the network
    /// set-up's difference.
    WithoutVpc,
}

impl VariantKind {
    /// How the variant is described, e.g. `without its VPC`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::WithoutEfs => "without its EFS file system",
            Self::WithoutVpc => "without its VPC",
        }
    }
}

/// Which runtime ran and how it was started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// The runtime kind from the spec.
    pub kind: RuntimeKind,
    /// The executable that was spawned (a real file, never a shell shim).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The interpreter version, when the runtime is an interpreter.
    pub interpreter_version: Option<String>,
    /// The interpreter `program` was made from, when it is a clean venv of it.
    #[serde(default)]
    pub interpreter_base: Option<PathBuf>,
    /// What `INIT_START` reports as `Runtime Version`.
    pub runtime_version: String,
}

/// How INIT ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitStatus {
    /// The runtime called `GET /runtime/invocation/next`.
    Success,
    /// The runtime reported an init error or exited during INIT.
    Error,
    /// INIT did not finish within the init timeout.
    Timeout,
    /// The run was interrupted (Ctrl-C) during INIT.
    Interrupted,
}

/// The INIT phase of one cold start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitRecord {
    /// How INIT ended.
    pub status: InitStatus,
    /// Lambda's Init Duration: spawn to the runtime's first `GET /next`. `None` when INIT
    /// did not succeed.
    pub duration_ms: Option<f64>,
    /// Spawn to the end of INIT, however it ended (the figure `INIT_REPORT` prints).
    pub elapsed_ms: f64,
    /// The error the runtime reported, or the emulator's description of the failure.
    pub error: Option<FunctionError>,
    /// `CLOCK_MONOTONIC` ns when the runtime process started: in the child, just before
    /// `execve`, after it joined its cgroups. Init Duration counts from here.
    pub spawn_monotonic_ns: u64,
    /// Sandbox creation before the runtime started (process start, cgroup join). Lambda leaves
    /// sandbox creation out of Init Duration, so it is reported apart.
    #[serde(default)]
    pub sandbox_setup_ms: f64,
    /// `CLOCK_MONOTONIC` ns when the first `GET /next` arrived.
    pub ready_monotonic_ns: Option<u64>,
    /// `CLOCK_MONOTONIC` ns of points inside INIT the runtime reported (the bundled
    /// bootstrap: `first_line`, `handler_import_start`, `handler_import_end`).
    #[serde(default)]
    pub marks: std::collections::BTreeMap<String, u64>,
}

/// An error reported by a function or runtime, or detected by the emulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionError {
    /// `errorType`, e.g. `Runtime.ImportModuleError`, `ValueError`, `Runtime.ExitError`.
    pub error_type: String,
    /// `errorMessage`.
    pub error_message: String,
    /// `stackTrace` lines, when given.
    #[serde(default)]
    pub stack_trace: Vec<String>,
    /// The `Lambda-Runtime-Function-Error-Type` header, when sent.
    #[serde(default)]
    pub error_type_header: Option<String>,
}

impl FunctionError {
    /// An error the emulator itself observed (exit, timeout, oversize response).
    pub fn platform(error_type: &str, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.to_owned(),
            error_message: message.into(),
            stack_trace: Vec::new(),
            error_type_header: None,
        }
    }
}

/// How an invoke ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvokeStatus {
    /// The runtime posted a response.
    Success,
    /// The runtime posted an invocation error.
    Error,
    /// The invoke ran past the function timeout.
    Timeout,
    /// The runtime process exited during the invoke.
    RuntimeExit,
    /// The response was larger than Lambda's 6 MB synchronous limit.
    ResponseTooLarge,
    /// The run was interrupted (Ctrl-C) during the invoke.
    Interrupted,
}

/// One invoke within a cold start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvokeRecord {
    /// Lambda request id.
    pub request_id: String,
    /// The X-Ray trace header sent with the event.
    pub trace_header: String,
    /// Whether this was the first invoke after INIT.
    pub cold: bool,
    /// How it ended.
    pub status: InvokeStatus,
    /// Event handed to the runtime → response or error received.
    pub duration_ms: f64,
    /// Billed duration in whole ms; for the cold invoke it includes INIT (ZIP functions on
    /// managed runtimes are billed for INIT since 2025-08-01, custom runtimes always were).
    pub billed_duration_ms: u64,
    /// Peak resident memory of the process tree so far, in MB (Lambda's Max Memory Used).
    pub max_memory_used_mb: u64,
    /// Size of the response body.
    pub response_bytes: u64,
    /// The first 4 KB of the response, lossily decoded.
    pub response_preview: String,
    /// The error, for every status but success.
    pub error: Option<FunctionError>,
}

/// What happened to the runtime process.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// Its process id.
    pub pid: u32,
    /// Exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// The signal that ended it.
    pub exit_signal: Option<i32>,
    /// Whether the emulator killed it (normal at the end of a sample).
    pub killed_by_emulator: bool,
    /// Peak resident set size of the process tree, in kB.
    pub peak_rss_kb: u64,
    /// Where the peak came from.
    pub peak_rss_source: String,
    /// CPU time in user mode.
    pub user_cpu_ms: f64,
    /// CPU time in kernel mode.
    pub system_cpu_ms: f64,
    /// Processes left behind by the runtime (children, grandchildren) that were killed at
    /// teardown.
    pub leftover_processes_killed: u32,
}

/// How the sandbox limited the function.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxRecord {
    /// Whether Lambda's CPU share and memory limit were applied.
    pub throttling: Throttling,
    /// The cgroup used, when throttled.
    pub cgroup: Option<CgroupRecord>,
    /// Whether the runtime had Lambda's filesystem view (a private `/tmp` of the ephemeral
    /// size, the task root read-only at `/var/task`, the rest of the host read-only, an
    /// unprivileged user) or the host's.
    #[serde(default = "Isolation::not_recorded")]
    pub filesystem: Isolation,
    /// Whether the Runtime API was reachable from the sandbox alone (a network namespace
    /// of its own) or from any local process (the host's loopback).
    #[serde(default = "Isolation::not_recorded")]
    pub runtime_api: Isolation,
}

/// Whether a sandbox was isolated as on Lambda in one respect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum Isolation {
    /// As on Lambda.
    Applied,
    /// The user asked for the host's view.
    Disabled,
    /// The machine did not allow it (not root, an old kernel); the sandbox had the host's
    /// view. The reason says why.
    Unavailable(String),
}

impl Isolation {
    /// For samples written before coldfront recorded isolation: they ran in the host's
    /// view.
    pub fn not_recorded() -> Self {
        Self::Unavailable("not recorded: written before coldfront isolated sandboxes".to_owned())
    }

    /// Whether the sandbox had Lambda's isolation in this respect.
    pub fn is_applied(&self) -> bool {
        matches!(self, Self::Applied)
    }
}

/// Whether the function ran with Lambda's CPU share and memory limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum Throttling {
    /// CPU share and memory limit were applied through a cgroup.
    Applied,
    /// The user asked for an unthrottled run.
    Disabled,
    /// Cgroups could not be used; the function ran unthrottled. The reason says why.
    Unavailable(String),
}

/// The cgroup a function ran in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CgroupRecord {
    /// 1 or 2.
    pub version: u8,
    /// Fraction of one core granted (memory / 1769 MB).
    pub cpu_cores: f64,
    /// The memory limit.
    pub memory_limit_mb: u32,
    /// The cgroup's peak memory (includes page cache, so above RSS), in kB.
    pub memory_peak_kb: Option<u64>,
    /// Whether the memory limit was hit (OOM kill).
    pub oom_killed: bool,
    /// How often the CPU quota stopped the sandbox; absent in samples from before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_throttling: Option<CpuThrottlingRecord>,
}

/// The CPU quota's effect on one sandbox, from its cgroup's `cpu.stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuThrottlingRecord {
    /// CFS periods in which the sandbox's processes ran.
    pub periods: u64,
    /// Periods in which they used up the quota and were stopped until the next period.
    pub throttled_periods: u64,
    /// Time stopped, in ms.
    pub throttled_ms: f64,
}

/// An X-Ray document received on the daemon port.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct XrayDocument {
    /// Received, in ms after spawn.
    pub received_ms: f64,
    /// The document.
    pub document: serde_json::Value,
}

/// A rejected Runtime API request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiProblem {
    /// Received, in ms after spawn.
    pub at_ms: f64,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// The status the emulator answered with.
    pub status: u16,
    /// The message sent back.
    pub message: String,
}

/// Captured output of the runtime process, capped in size.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CapturedOutput {
    /// The text (lossy UTF-8). When truncated, the head is kept.
    pub text: String,
    /// Bytes the process wrote in total.
    pub total_bytes: u64,
    /// Whether `text` is shorter than what was written.
    pub truncated: bool,
}

impl ColdStartSample {
    /// Whether a user stop (Ctrl-C, the UI's `x`) cut this cold start short. Such a
    /// sample stays in the file, but it is neither a success nor a failure: summaries count
    /// it as stopped and exit codes ignore it.
    pub fn stopped(&self) -> bool {
        self.init.status == InitStatus::Interrupted
            || self.invokes.iter().any(|i| i.status == InvokeStatus::Interrupted)
    }

    /// Whether the function failed: INIT or an invoke went wrong on its own, not because
    /// the user stopped the run.
    pub fn failed(&self) -> bool {
        !self.succeeded() && !self.stopped()
    }

    /// Whether INIT and every invoke succeeded.
    pub fn succeeded(&self) -> bool {
        self.init.status == InitStatus::Success
            && !self.invokes.is_empty()
            && self.invokes.iter().all(|i| i.status == InvokeStatus::Success)
    }

    /// A one-phrase description of the outcome: `ok`, `init error: ...`, `invoke timeout`.
    pub fn outcome(&self) -> String {
        match self.init.status {
            InitStatus::Success => {}
            InitStatus::Timeout => return "init timeout".to_owned(),
            InitStatus::Interrupted => return "interrupted during init".to_owned(),
            InitStatus::Error => {
                let kind = self.init.error.as_ref().map_or("unknown", |e| e.error_type.as_str());
                return format!("init error: {kind}");
            }
        }
        match self.invokes.iter().find(|i| i.status != InvokeStatus::Success) {
            None if self.invokes.is_empty() => "no invokes".to_owned(),
            None => "ok".to_owned(),
            Some(bad) => {
                let kind = bad.error.as_ref().map_or("unknown", |e| e.error_type.as_str());
                match bad.status {
                    InvokeStatus::Error => format!("invoke error: {kind}"),
                    InvokeStatus::Timeout => "invoke timeout".to_owned(),
                    InvokeStatus::RuntimeExit => format!("runtime exited: {kind}"),
                    InvokeStatus::ResponseTooLarge => "response too large".to_owned(),
                    InvokeStatus::Interrupted => "interrupted during invoke".to_owned(),
                    InvokeStatus::Success => "ok".to_owned(),
                }
            }
        }
    }
}

/// Errors reading or writing sample files.
#[derive(Debug, thiserror::Error)]
pub enum SampleFileError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A complete line is not a valid sample.
    #[error("{path}:{line}: not a cold-start sample: {message}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        message: String,
    },
}

/// Appends samples to a JSONL file, one line per sample, flushed as each is written so a
/// crash or Ctrl-C loses nothing already measured.
#[derive(Debug)]
pub struct SampleWriter {
    path: PathBuf,
    file: File,
}

impl SampleWriter {
    /// Opens `path` for appending, creating it and its parent directories.
    pub fn append(path: &Path) -> Result<Self, SampleFileError> {
        let io = |source| SampleFileError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one sample as one line and flushes it to the operating system.
    pub fn write(&mut self, sample: &ColdStartSample) -> Result<(), SampleFileError> {
        let mut line = serde_json::to_vec(sample).expect("samples always serialise");
        line.push(b'\n');
        // One write call per line keeps lines whole even if another writer appends too.
        self.file
            .write_all(&line)
            .and_then(|()| self.file.flush())
            .map_err(|source| SampleFileError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// The samples in a JSONL file, and what had to be skipped.
#[derive(Debug)]
pub struct LoadedSamples {
    /// The samples, in file order.
    pub samples: Vec<ColdStartSample>,
    /// A warning when the last line was cut short (a run killed mid-write); that line is
    /// skipped, everything before it is kept.
    pub truncated_tail: Option<String>,
}

/// Reads a JSONL sample file. A cut-off last line is skipped with a warning; a bad line
/// anywhere else is an error naming the line.
pub fn read_samples(path: &Path) -> Result<LoadedSamples, SampleFileError> {
    let io = |source| SampleFileError::Io {
        path: path.to_owned(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(io)?);
    let mut samples = Vec::new();
    let mut pending_error: Option<(usize, String, bool)> = None;
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line.map_err(io)?;
        if let Some((number, message, _)) = pending_error.take() {
            return Err(SampleFileError::BadLine {
                path: path.to_owned(),
                line: number,
                message,
            });
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<ColdStartSample>(&line) {
            Ok(sample) => samples.push(sample),
            Err(err) => pending_error = Some((index + 1, err.to_string(), err.is_eof())),
        }
    }
    let truncated_tail = match pending_error {
        None => None,
        // Only an unexpected end of input on the final line is a cut-off write.
        Some((number, message, true)) => Some(format!(
            "{}:{number}: last line is incomplete ({message}); it was skipped and the {} samples before it were kept",
            path.display(),
            samples.len()
        )),
        Some((number, message, false)) => {
            return Err(SampleFileError::BadLine {
                path: path.to_owned(),
                line: number,
                message,
            });
        }
    };
    Ok(LoadedSamples {
        samples,
        truncated_tail,
    })
}

impl InitRecord {
    /// `success`, `error`, `timeout` or `interrupted`.
    pub fn status_word(&self) -> &'static str {
        match self.status {
            InitStatus::Success => "success",
            InitStatus::Error => "error",
            InitStatus::Timeout => "timeout",
            InitStatus::Interrupted => "interrupted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_line() -> String {
        let text = r#"{"schema_version":1,"function":"f","handler":"handler.handle","sample_index":0,"started_at":"2026-11-27T09:00:00Z","memory_size_mb":512,"backend":"local",
"runtime":{"kind":"python","program":"/usr/bin/python3","args":[],"interpreter_version":"3.11.7","runtime_version":"python:3.11.local"},
"init":{"status":"success","duration_ms":20.5,"elapsed_ms":20.5,"error":null,"spawn_monotonic_ns":1,"ready_monotonic_ns":2},
"invokes":[],"platform_log":[],"telemetry":[],"xray_documents":[],"process":{"pid":1,"exit_code":null,"exit_signal":null,"killed_by_emulator":true,
"peak_rss_kb":1,"peak_rss_source":"","user_cpu_ms":0.0,"system_cpu_ms":0.0,"leftover_processes_killed":0},
"sandbox":{"throttling":{"state":"disabled"},"cgroup":null},"runtime_api_problems":[],"stdout":{"text":"","total_bytes":0,"truncated":false},
"stderr":{"text":"","total_bytes":0,"truncated":false}}"#;
        text.replace('\n', "")
    }

    #[test]
    fn cut_off_last_line_is_skipped_with_a_warning() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.jsonl");
        let line = sample_line();
        std::fs::write(&path, format!("{line}\n{line}\n{}", &line[..line.len() / 2])).expect("write");
        let loaded = read_samples(&path).expect("readable");
        assert_eq!(loaded.samples.len(), 2);
        let warning = loaded.truncated_tail.expect("warned");
        assert!(
            warning.contains("s.jsonl:3") && warning.contains("2 samples before it were kept"),
            "{warning}"
        );
    }

    #[test]
    fn bad_line_in_the_middle_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.jsonl");
        let line = sample_line();
        std::fs::write(&path, format!("{line}\n{{\"not\": \"a sample\"}}\n{line}\n")).expect("write");
        let err = read_samples(&path).expect_err("bad line").to_string();
        assert!(err.contains("s.jsonl:2: not a cold-start sample"), "{err}");
    }

    #[test]
    fn writer_appends_whole_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/s.jsonl");
        let sample: ColdStartSample = serde_json::from_str(&sample_line()).expect("valid sample");
        for _ in 0..2 {
            let mut writer = SampleWriter::append(&path).expect("open");
            writer.write(&sample).expect("write");
        }
        assert_eq!(read_samples(&path).expect("readable").samples.len(), 2);
    }

    /// A figure that needs all 17 digits (a sum, a product of floats) reads back bit for
    /// bit, so a report re-rendered from the file is the one written from memory.
    #[test]
    fn every_float_reads_back_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.jsonl");
        let mut sample: ColdStartSample = serde_json::from_str(&sample_line()).expect("valid sample");
        // The last three read back one unit in the last place away without serde_json's
        // `float_roundtrip` (found by a search over random millisecond figures).
        let awkward = [
            0.1 + 0.2,
            1.0 / 3.0,
            57_414.518_664_216_484,
            27_394.861_362_581_578,
            31_608.178_898_010_054,
        ];
        let mut writer = SampleWriter::append(&path).expect("open");
        for value in awkward {
            sample.init.duration_ms = Some(value);
            writer.write(&sample).expect("write");
        }
        drop(writer);
        let read: Vec<u64> = read_samples(&path)
            .expect("readable")
            .samples
            .iter()
            .map(|s| s.init.duration_ms.expect("kept").to_bits())
            .collect();
        assert_eq!(read, awkward.map(f64::to_bits));
    }
}
