//! Real cold starts on AWS Lambda through the AWS SDK for Rust, recorded as the same
//! [`ColdStartSample`]s the local emulator writes.
//!
//! A cold start is forced the way AWS users force one: a change to the function's
//! configuration (the variable `COLDFRONT_COLD_START` set to a fresh value; Lambda
//! replaces the whole environment map, so every other variable is sent as it was) retires
//! its warm environments. The change is awaited with the SDK's `function_updated_v2`
//! waiter, never a sleep; `ResourceConflictException` and throttling are retried with
//! backoff. The invoke asks for `LogType=Tail`, and its REPORT line gives Init Duration
//! (and Restore Duration under SnapStart), Duration, Billed Duration and Max Memory Used.
//! An invoke whose REPORT has no Init Duration met an environment Lambda initialised
//! before it (proactive initialisation): it is labelled, never counted as a cold start.
//!
//! The function's configuration is written to a [`journal`] before the first change and
//! restored by [`ColdStarts::restore`], or, when a run drops it unrestored (a panic, an
//! early return), by its `Drop`; a run killed before that leaves the journal, and
//! [`ColdStarts::prepare`] or [`restore_journals`] put the function back.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aws_backend::AwsError> {
//! use aws_backend::{ColdStarts, Target};
//! let target = Target { region: Some("eu-west-1".into()), ..Target::default() };
//! let client = aws_backend::client(&target).await;
//! let mut runs = ColdStarts::prepare(client, "wiki", "coldfront-runs/aws-journal".as_ref()).await?;
//! let sample = runs.cold_start(0, "{}").await;
//! runs.restore().await?;
//! println!("{:?}", sample?.init.duration_ms);
//! # Ok(()) }
//! ```

pub mod cost;
pub mod deploy;
mod error;
pub mod journal;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, LogType};
use base64::Engine as _;
use init_trace::platform_log::parse_report;
use init_trace::sample::{
    AwsRecord, CapturedOutput, ColdStartSample, FunctionError, InitRecord, InitStatus, InvokeRecord, InvokeStatus,
    Isolation, ProcessRecord, RuntimeInfo, SAMPLE_SCHEMA_VERSION, SampleLabels, SandboxRecord, Throttling,
};
use init_trace::spec::RuntimeKind;

/// The Lambda client the backend works through.
pub use aws_sdk_lambda::Client as LambdaClient;
/// The X-Ray client traces are fetched with.
pub use aws_sdk_xray::Client as XrayClient;
pub use error::AwsError;
use journal::{Journal, Original};

/// The variable whose change forces a cold start.
pub const COLD_START_VARIABLE: &str = "COLDFRONT_COLD_START";
/// How long a configuration change may take to reach `Successful`.
const UPDATE_DEADLINE: Duration = Duration::from_secs(300);
/// Attempts for a call that meets a conflict or throttling.
const ATTEMPTS: u32 = 8;

/// Where the function is: the standard credential chain, with these overrides.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `--region`; else the chain's (`AWS_REGION`, the profile, …).
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint-url`: another Lambda API (coldfront serve, moto, LocalStack).
    pub endpoint_url: Option<String>,
}

/// Lambda and X-Ray clients for `target`, from one loaded configuration.
pub async fn clients(target: &Target) -> (aws_sdk_lambda::Client, aws_sdk_xray::Client) {
    let config = load(target).await;
    (aws_sdk_lambda::Client::new(&config), aws_sdk_xray::Client::new(&config))
}

/// A Lambda client for `target`.
pub async fn client(target: &Target) -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&load(target).await)
}

async fn load(target: &Target) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &target.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &target.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

fn api_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    operation: &'static str,
    function: &str,
    err: &SdkError<E>,
) -> AwsError {
    let message = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(err).to_string(),
    };
    AwsError::Api {
        operation,
        function: function.to_owned(),
        message,
    }
}

/// Whether an error is worth retrying: a change in progress, or throttling.
fn retryable<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    matches!(
        err.code(),
        Some("ResourceConflictException" | "TooManyRequestsException" | "ThrottlingException")
    )
}

/// Backoff before attempt `n` (from 1): 200 ms doubling, at most 6.4 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 << attempt.min(5))
}

/// Masks all but the last four digits of an account id.
pub fn mask_account(account_id: &str) -> String {
    let keep = account_id.len().saturating_sub(4);
    format!("{}{}", "*".repeat(keep), &account_id[keep..])
}

/// Cold starts of one function, and the duty to put it back.
#[derive(Debug)]
pub struct ColdStarts {
    client: aws_sdk_lambda::Client,
    original: Original,
    journal: Journal,
    runtime: String,
    architecture: String,
    timeout_s: u32,
    /// Whether a change was sent since the journal was written.
    changed: bool,
    restored: bool,
    /// Makes each forced change's value unique.
    nonce: String,
    /// Where to fetch each cold start's trace, and how long to wait for it.
    xray: Option<(aws_sdk_xray::Client, Duration)>,
    /// The Lambda API when it is not AWS's own, recorded in every sample.
    endpoint_url: Option<String>,
}

impl ColdStarts {
    /// Reads `function`'s configuration, first restoring it from a journal a killed run
    /// left in `journal_dir`, and journals it before anything changes.
    pub async fn prepare(client: aws_sdk_lambda::Client, function: &str, journal_dir: &Path) -> Result<Self, AwsError> {
        let read = || async {
            client
                .get_function_configuration()
                .function_name(function)
                .send()
                .await
                .map_err(|e| api_error("GetFunctionConfiguration", function, &e))
        };
        let mut config = read().await?;
        let function_arn = config.function_arn().unwrap_or(function).to_owned();
        let journal = Journal::for_function(journal_dir, &function_arn);
        if let Some(left) = journal.read()? {
            tracing::warn!("{function}: a journal from an interrupted run exists; restoring it first");
            apply(&client, &left, &left.environment, left.memory_mb).await?;
            journal.remove()?;
            // Only then is the configuration the original one worth journaling.
            config = read().await?;
        }
        let region = function_arn.split(':').nth(3).unwrap_or("").to_owned();
        let original = Original {
            function: function.to_owned(),
            function_arn,
            region,
            environment: config
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            memory_mb: config.memory_size().and_then(|m| u32::try_from(m).ok()).unwrap_or(128),
        };
        journal.write(&original)?;
        Ok(Self {
            client,
            runtime: config.runtime().map_or_else(String::new, |r| r.as_str().to_owned()),
            architecture: config
                .architectures()
                .first()
                .map_or_else(|| "x86_64".to_owned(), |a| a.as_str().to_owned()),
            timeout_s: config.timeout().and_then(|t| u32::try_from(t).ok()).unwrap_or(3),
            original,
            journal,
            changed: false,
            restored: false,
            nonce: format!("{}", chrono::Utc::now().timestamp_micros()),
            xray: None,
            endpoint_url: None,
        })
    }

    /// Records in every sample that the cold starts ran on another Lambda API than AWS's
    /// (`--endpoint-url`: coldfront serve, moto, LocalStack), so reports can say that what
    /// only AWS does (attaching a VPC, mounting EFS) was not done.
    #[must_use]
    pub fn with_endpoint(mut self, endpoint_url: Option<String>) -> Self {
        self.endpoint_url = endpoint_url;
        self
    }

    /// Fetches each cold start's X-Ray trace (named by the `XRAY TraceId` line of its
    /// log), retrying until it appears or `wait` passes; X-Ray indexes traces seconds
    /// after the invoke.
    #[must_use]
    pub fn with_xray(mut self, client: aws_sdk_xray::Client, wait: Duration) -> Self {
        self.xray = Some((client, wait));
        self
    }

    /// The configuration before the run, as journaled.
    pub fn original(&self) -> &Original {
        &self.original
    }

    /// The part of a run's cost estimate `cold_starts` forced cold starts at `memory_mb`
    /// (the function's own when `None`) make.
    pub fn work(&self, cold_starts: u64, memory_mb: Option<u32>) -> cost::Work {
        cost::Work {
            function: self.original.function.clone(),
            cold_starts,
            memory_mb: memory_mb.unwrap_or(self.original.memory_mb),
            architecture: self.architecture.clone(),
            timeout_s: self.timeout_s,
            xray: self.xray.is_some(),
        }
    }

    /// Gives the run up: removes the journal without touching the function when no cold
    /// start was forced yet (nothing was changed since [`ColdStarts::prepare`]), else
    /// [`ColdStarts::restore`]s it.
    pub async fn discard(mut self) -> Result<(), AwsError> {
        if self.changed {
            return self.restore().await;
        }
        self.restored = true;
        self.journal.remove()
    }

    /// Forces a cold start (a fresh [`COLD_START_VARIABLE`]), waits for the change, and
    /// invokes once with `event`, at `memory_mb` when given.
    pub async fn cold_start_at(
        &mut self,
        index: u64,
        event: &str,
        memory_mb: Option<u32>,
    ) -> Result<ColdStartSample, AwsError> {
        let mut environment = self.original.environment.clone();
        environment.insert(COLD_START_VARIABLE.to_owned(), format!("{}-{index}", self.nonce));
        let memory_mb = memory_mb.unwrap_or(self.original.memory_mb);
        self.changed = true;
        apply(&self.client, &self.original, &environment, memory_mb).await?;
        self.invoke(index, event).await
    }

    /// [`ColdStarts::cold_start_at`] at the function's own memory size.
    pub async fn cold_start(&mut self, index: u64, event: &str) -> Result<ColdStartSample, AwsError> {
        self.cold_start_at(index, event, None).await
    }

    async fn invoke(&self, index: u64, event: &str) -> Result<ColdStartSample, AwsError> {
        let function = &self.original.function;
        let started_at = chrono::Utc::now();
        let mut attempt = 0;
        let (output, round_trip) = loop {
            attempt += 1;
            let sent = std::time::Instant::now();
            match self
                .client
                .invoke()
                .function_name(function)
                .log_type(LogType::Tail)
                .payload(Blob::new(event.as_bytes().to_vec()))
                .send()
                .await
            {
                Ok(output) => break (output, sent.elapsed()),
                Err(err) if retryable(&err) && attempt < ATTEMPTS => tokio::time::sleep(backoff(attempt)).await,
                Err(err) => return Err(api_error("Invoke", function, &err)),
            }
        };
        let log = output
            .log_result()
            .and_then(|l| base64::engine::general_purpose::STANDARD.decode(l).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        let report = log.lines().find_map(parse_report).ok_or_else(|| AwsError::NoReport {
            function: function.clone(),
            log: log.clone(),
        })?;
        let payload = output.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default();
        let error = output.function_error().map(|kind| {
            let body: serde_json::Value = serde_json::from_slice(&payload).unwrap_or_default();
            FunctionError {
                error_type: body["errorType"].as_str().unwrap_or(kind).to_owned(),
                error_message: body["errorMessage"].as_str().unwrap_or("").to_owned(),
                stack_trace: Vec::new(),
                error_type_header: Some(kind.to_owned()),
            }
        });
        let proactive = report.init_duration_ms.is_none() && report.restore_duration_ms.is_none();
        let init_ms = report.init_duration_ms.or(report.restore_duration_ms);
        let mut platform_log: Vec<String> = log
            .lines()
            .filter(|l| {
                ["START ", "END ", "REPORT ", "INIT_", "XRAY "]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(str::to_owned)
            .collect();
        if proactive {
            platform_log.push(
                "coldfront: no Init Duration in REPORT: the environment was initialised before this invoke (proactive initialisation)".to_owned(),
            );
        }
        let account = self.original.function_arn.split(':').nth(4).unwrap_or("");
        let trace_id = log.lines().find_map(|line| {
            line.strip_prefix("XRAY TraceId: ")
                .and_then(|rest| rest.split(['\t', ' ']).next())
                .map(str::to_owned)
        });
        let xray_documents = match (&self.xray, &trace_id) {
            (Some((client, wait)), Some(trace_id)) => fetch_trace(client, trace_id, *wait).await,
            _ => Vec::new(),
        };
        let xray_found = !xray_documents.is_empty();
        match (&self.xray, &trace_id) {
            (Some(_), None) => platform_log.push(
                "coldfront: no XRAY line in the log: the function does not trace actively (TracingConfig Mode=Active), so AWS exposes no INIT breakdown".to_owned(),
            ),
            (Some((_, wait)), Some(trace_id)) if xray_documents.is_empty() => platform_log.push(format!(
                "coldfront: trace {trace_id} did not appear in X-Ray within {} s",
                wait.as_secs()
            )),
            _ => {}
        }
        Ok(ColdStartSample {
            schema_version: SAMPLE_SCHEMA_VERSION,
            function: function.clone(),
            handler: String::new(),
            task_root: std::path::PathBuf::new(),
            task_root_bytes: BTreeMap::new(),
            task_root_vendored: std::collections::BTreeSet::new(),
            labels: SampleLabels::default(),
            sample_index: index,
            started_at,
            memory_size_mb: report.memory_size_mb,
            backend: "aws".to_owned(),
            runtime: RuntimeInfo {
                kind: if self.runtime.starts_with("python") {
                    RuntimeKind::Python
                } else {
                    RuntimeKind::Provided
                },
                program: std::path::PathBuf::new(),
                args: Vec::new(),
                interpreter_version: None,
                interpreter_base: None,
                runtime_version: self.runtime.clone(),
            },
            init: InitRecord {
                status: InitStatus::Success,
                duration_ms: init_ms,
                elapsed_ms: init_ms.unwrap_or(0.0),
                error: None,
                spawn_monotonic_ns: 0,
                sandbox_setup_ms: 0.0,
                ready_monotonic_ns: None,
                marks: BTreeMap::new(),
            },
            invokes: vec![InvokeRecord {
                request_id: report.request_id.clone(),
                trace_header: String::new(),
                cold: !proactive,
                status: if error.is_some() {
                    InvokeStatus::Error
                } else {
                    InvokeStatus::Success
                },
                duration_ms: report.duration_ms,
                billed_duration_ms: report.billed_duration_ms,
                max_memory_used_mb: report.max_memory_used_mb,
                response_bytes: payload.len() as u64,
                response_preview: String::from_utf8_lossy(&payload[..payload.len().min(4096)]).into_owned(),
                error,
            }],
            platform_log,
            telemetry: Vec::new(),
            xray_documents,
            process: ProcessRecord::default(),
            sandbox: SandboxRecord {
                throttling: Throttling::Applied,
                cgroup: None,
                // Lambda's own sandbox.
                filesystem: Isolation::Applied,
                runtime_api: Isolation::Applied,
            },
            runtime_api_problems: Vec::new(),
            stdout: CapturedOutput {
                total_bytes: log.len() as u64,
                text: log,
                truncated: false,
            },
            stderr: CapturedOutput::default(),
            aws: Some(AwsRecord {
                region: self.original.region.clone(),
                account_id_masked: mask_account(account),
                function_arn: self.original.function_arn.clone(),
                version: output.executed_version().unwrap_or("$LATEST").to_owned(),
                runtime: self.runtime.clone(),
                architecture: self.architecture.clone(),
                xray_found,
                proactive_initialization: proactive,
                endpoint_url: self.endpoint_url.clone(),
                // Whole nanoseconds over a power of ten, as every other ms figure: such a
                // value survives the JSONL file exactly, so a report re-rendered from the
                // file equals the one written from memory (a product such as
                // `secs_f64 * 1000` can need 17 digits, which serde_json may read back
                // one unit in the last place away).
                invoke_round_trip_ms: Some(round_trip.as_nanos() as f64 / 1_000_000.0),
            }),
        })
    }

    /// Puts the function back as journaled and removes the journal. On an error the
    /// journal stays for `coldfront aws restore`.
    pub async fn restore(mut self) -> Result<(), AwsError> {
        let applied = apply(
            &self.client,
            &self.original,
            &self.original.environment,
            self.original.memory_mb,
        )
        .await;
        // The caller hears how it went; the drop must not try a second time.
        self.restored = true;
        applied?;
        self.journal.remove()
    }
}

impl Drop for ColdStarts {
    /// A run that ends without [`ColdStarts::restore`] (a panic unwinding through it, an
    /// early return) still puts the function back, through `block_on_detached`. If that
    /// fails too, the journal stays and the message names it.
    fn drop(&mut self) {
        if self.restored {
            return;
        }
        let function = self.original.function.clone();
        eprintln!("coldfront: {function} was not restored by the run; restoring it now");
        let original = self.original.clone();
        let journal = self.journal.clone();
        let restored = block_on_detached(&self.client, move |client| async move {
            apply(&client, &original, &original.environment, original.memory_mb).await?;
            journal.remove()
        });
        match restored {
            Ok(()) => eprintln!("coldfront: {function} restored"),
            Err(err) => eprintln!(
                "coldfront: {function} was left changed ({err}); its original configuration is in {} — run `coldfront aws restore`",
                self.journal.path().display()
            ),
        }
    }
}

/// Runs `work` to completion from a `Drop`: on a thread of its own, with a runtime and
/// HTTP connections of its own (a client like `client` without its pooled connections),
/// because the caller's runtime may be the very thread that is unwinding (a
/// current-thread runtime cannot drive the caller's pooled connections while it waits
/// here). Returns why it failed, as text for the message the drop prints.
pub(crate) fn block_on_detached<F, Fut>(client: &aws_sdk_lambda::Client, work: F) -> Result<(), String>
where
    F: FnOnce(aws_sdk_lambda::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), AwsError>>,
{
    let mut config = client.config().to_builder();
    config.set_http_client(None);
    let client = aws_sdk_lambda::Client::from_conf(config.build());
    let run = move || {
        std::thread::Builder::new()
            .name("coldfront-cleanup".to_owned())
            .spawn(move || -> Result<(), String> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime: {e}"))?;
                runtime.block_on(work(client)).map_err(|e| e.to_string())
            })
            .map_err(|e| format!("cannot start a thread: {e}"))
            .and_then(|thread| thread.join().unwrap_or_else(|_| Err("it panicked".to_owned())))
    };
    // Waiting on a worker of a multi-thread runtime would strand the tasks queued on
    // this worker (its LIFO slot is not stolen by the others) for as long as the work
    // takes; if one of them serves the API the work talks to, that is forever.
    // `block_in_place` hands this worker's queue to another thread first.
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(run)
        }
        _ => run(),
    }
}

/// Forces one cold start on each of `runs` at once, the `i`-th numbered `first_index + i`,
/// and hands the functions back with the outcomes in `runs`' order. Each is its own
/// function, so one's change does not retire another's environment. A cold start that
/// panics has its function restored as it unwinds; the panic is resumed once the others
/// are done (and they are restored as it unwinds through them).
pub async fn cold_starts_together(
    runs: Vec<ColdStarts>,
    first_index: u64,
    event: &str,
    memory_mb: Option<u32>,
) -> (Vec<ColdStarts>, Vec<Result<ColdStartSample, AwsError>>) {
    let count = runs.len();
    let works = runs.into_iter().enumerate().map(|(i, mut run)| {
        let event = event.to_owned();
        async move {
            let outcome = run.cold_start_at(first_index + i as u64, &event, memory_mb).await;
            (run, outcome)
        }
    });
    together(works, count).await.into_iter().unzip()
}

/// Runs `works` as tasks, no more than `concurrency` (and at least one) at a time, and
/// returns their outputs in `works`' order. A panic in one is resumed once the others
/// have finished, their outputs dropped first (a `ColdStarts` restores its function, a
/// `Created` deletes its function, as it drops).
pub(crate) async fn together<T, Fut>(works: impl IntoIterator<Item = Fut>, concurrency: usize) -> Vec<T>
where
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, work) in works.into_iter().enumerate() {
        let permits = permits.clone();
        tasks.spawn(async move {
            // Never closed, so acquiring cannot fail; the permit is held until the work
            // is done (for a creation: the function is Active, or cleaned up).
            let _permit = permits.acquire_owned().await;
            (i, work.await)
        });
    }
    let mut done = Vec::new();
    let mut panic = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(finished) => done.push(finished),
            Err(err) if err.is_panic() => panic = Some(err.into_panic()),
            Err(err) => panic = Some(Box::new(err.to_string())),
        }
    }
    if let Some(payload) = panic {
        drop(done);
        std::panic::resume_unwind(payload);
    }
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, output)| output).collect()
}

/// Sets the environment and memory, retrying conflicts and throttling, and waits with the
/// SDK's `function_updated_v2` waiter until the change is in effect.
async fn apply(
    client: &aws_sdk_lambda::Client,
    original: &Original,
    environment: &BTreeMap<String, String>,
    memory_mb: u32,
) -> Result<(), AwsError> {
    use aws_sdk_lambda::client::Waiters as _;
    let function = &original.function;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = client
            .update_function_configuration()
            .function_name(function)
            .environment(
                Environment::builder()
                    .set_variables(Some(environment.clone().into_iter().collect()))
                    .build(),
            )
            .memory_size(i32::try_from(memory_mb).unwrap_or(i32::MAX))
            .send()
            .await;
        match result {
            Ok(_) => break,
            Err(err) if retryable(&err) && attempt < ATTEMPTS => {
                // A change already in progress (ours or another's) must settle first.
                let _ = client
                    .wait_until_function_updated_v2()
                    .function_name(function)
                    .wait(UPDATE_DEADLINE)
                    .await;
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(err) => return Err(api_error("UpdateFunctionConfiguration", function, &err)),
        }
    }
    match client
        .wait_until_function_updated_v2()
        .function_name(function)
        .wait(UPDATE_DEADLINE)
        .await
    {
        Ok(_) => Ok(()),
        Err(err) => {
            let status = client
                .get_function_configuration()
                .function_name(function)
                .send()
                .await
                .ok();
            let status_text = status
                .as_ref()
                .and_then(|c| c.last_update_status())
                .map_or_else(|| "unknown".to_owned(), |s| s.as_str().to_owned());
            if status_text == "Failed" {
                return Err(AwsError::UpdateFailed {
                    function: function.clone(),
                    reason: status
                        .and_then(|c| c.last_update_status_reason().map(str::to_owned))
                        .unwrap_or_else(|| err.to_string()),
                });
            }
            Err(AwsError::UpdateTimedOut {
                function: function.clone(),
                seconds: UPDATE_DEADLINE.as_secs(),
                status: status_text,
            })
        }
    }
}

/// The segment documents of `trace_id`, asked for every 500 ms until they appear or
/// `wait` passes (empty then).
async fn fetch_trace(
    client: &aws_sdk_xray::Client,
    trace_id: &str,
    wait: Duration,
) -> Vec<init_trace::sample::XrayDocument> {
    let started = tokio::time::Instant::now();
    loop {
        let found = client
            .batch_get_traces()
            .trace_ids(trace_id)
            .send()
            .await
            .ok()
            .map(|output| {
                output
                    .traces()
                    .iter()
                    .flat_map(aws_sdk_xray::types::Trace::segments)
                    .filter_map(|segment| serde_json::from_str(segment.document()?).ok())
                    .map(|document| init_trace::sample::XrayDocument {
                        received_ms: started.elapsed().as_secs_f64() * 1000.0,
                        document,
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if !found.is_empty() || started.elapsed() >= wait {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What [`restore_journals`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// Functions put back to their journaled configuration.
    pub restored: Vec<String>,
    /// Functions coldfront had created for a run, deleted.
    pub deleted: Vec<String>,
}

/// Cleans up after runs that could not (`coldfront aws restore`): restores every function
/// journaled in `dir`, then deletes every function a run created and left behind (only
/// one whose `Description` is still the journaled one).
pub async fn restore_journals(client: &aws_sdk_lambda::Client, dir: &Path) -> Result<Cleanup, AwsError> {
    let mut cleanup = Cleanup::default();
    let mut creations = Vec::new();
    for journal in Journal::creations_in(dir)? {
        if let Some(creation) = journal.read_creation()? {
            creations.push((journal, creation));
        }
    }
    for journal in Journal::all_in(dir)? {
        if let Some(original) = journal.read()? {
            // A created function is deleted below; there is nothing to put back.
            if !creations.iter().any(|(_, c)| c.function == original.function) {
                apply(client, &original, &original.environment, original.memory_mb).await?;
                cleanup.restored.push(original.function);
            }
            journal.remove()?;
        }
    }
    for (journal, creation) in creations {
        if deploy::delete_created(client, &creation, &journal).await? {
            cleanup.deleted.push(creation.function);
        }
        journal.remove()?;
    }
    Ok(cleanup)
}

#[cfg(test)]
mod tests {
    #[test]
    fn accounts_are_masked_and_backoff_is_bounded() {
        assert_eq!(super::mask_account("123456789012"), "********9012");
        assert_eq!(super::mask_account("12"), "12");
        assert_eq!(super::backoff(1).as_millis(), 400);
        assert_eq!(super::backoff(30).as_millis(), 6400);
    }
}
