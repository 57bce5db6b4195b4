//! One execution environment's life, in stages: [`LocalEmulator::start_sandbox`] prepares
//! the sandbox, spawns the runtime and waits out INIT; [`Sandbox::invoke`] runs one
//! invocation in it (as often as the caller likes, which is how a warm environment is
//! reused); [`Sandbox::finish`] tears it down and returns the whole life as a
//! [`ColdStartSample`]. [`LocalEmulator::cold_start`] is these three in a row.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;

use super::isolation::ChildSetup;
use super::runtime_api::{ApiEvent, Delivered, Invocation, MAX_RESPONSE_BYTES, RuntimeApi};
use super::{
    Cancel, EmulatorError, LOG_STREAM_VARIABLE, LocalEmulator, SandboxGuard, SandboxKit, SandboxTmpDir, cgroup,
    describe_exit, launches_alike, log_stream_name, parse_marks, process, runtime_api, sandbox_pids, top_level_modules,
    vendored_modules, xray,
};
use crate::clock::{WallAnchor, monotonic_ns, ms_between};
use crate::sample::{
    ApiProblem, ColdStartSample, FunctionError, InitRecord, InitStatus, InvokeRecord, InvokeStatus, Isolation,
    ProcessRecord, RuntimeInfo, SAMPLE_SCHEMA_VERSION, SandboxRecord, Throttling,
};
use crate::spec::FunctionSpec;
use crate::telemetry::{self, ReportMetrics, TelemetryEvent};
use crate::{ids, platform_log};

/// A started execution environment: INIT is over (successfully or not) and its runtime
/// may be waiting for an invocation. Dropping it without [`Sandbox::finish`] still kills
/// every process it started.
pub struct Sandbox<'e> {
    emulator: &'e LocalEmulator,
    spec: FunctionSpec,
    sample_index: u64,
    /// The version named in START lines and telemetry (`$LATEST` unless set).
    version: String,
    cancel: Cancel,
    runtime: RuntimeInfo,
    api: RuntimeApi,
    xray: xray::XrayListener,
    guard: SandboxGuard,
    throttling: Throttling,
    /// Which filesystem view the runtime had.
    filesystem: Isolation,
    /// Whether its Runtime API was in a network namespace of its own.
    runtime_api: Isolation,
    cgroup: Option<cgroup::SandboxCgroup>,
    function_arn: String,
    /// Descendants inherit the sandbox's environment; this entry finds them in /proc.
    marker: String,
    child: process::Spawned,
    /// Opened while INIT runs, so the teardown only has to read it.
    runtime_status: Option<process::StatusFile>,
    rec: Recorder,
    exit: Option<process::ExitInfo>,
    last_peak_kb: u64,
    init: InitRecord,
    /// The invocation offered and not yet run: the one that caused the cold start, until
    /// the first invoke takes it.
    pending: Option<PendingInvoke>,
    /// When the pending invocation reached the runtime, if it has.
    delivered: Option<Delivered>,
    invokes: Vec<InvokeRecord>,
    /// The last invoke of a cold start, reported at teardown with the sandbox's peak.
    final_invoke: Option<Unreported>,
    /// Whether the runtime is waiting for (or will ask for) another invocation.
    usable: bool,
}

impl std::fmt::Debug for Sandbox<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("function", &self.spec.name)
            .field("pid", &self.child.pid)
            .field("init", &self.init.status)
            .field("invokes", &self.invokes.len())
            .finish_non_exhaustive()
    }
}

/// One invocation's outcome, as a caller of Lambda's `Invoke` sees it.
#[derive(Debug, Clone)]
pub struct Invoked {
    /// The invoke's record, with its REPORT figures.
    pub record: InvokeRecord,
    /// The runtime's response body, when it answered within the limit.
    pub response: Option<Bytes>,
    /// The invocation's log as Lambda writes it: START, what the function printed
    /// meanwhile, then END and REPORT (Init Duration on the cold one).
    pub log: String,
}

impl LocalEmulator {
    /// Starts `spec` cold and waits out INIT, with `spec.event` offered as the first
    /// invocation (on Lambda the request that caused a cold start is waiting when INIT
    /// ends). Only failures to set up the sandbox are errors; a function that fails
    /// INIT gives a sandbox whose [`Sandbox::init`] says so and that cannot be invoked.
    ///
    /// The first sandbox of an emulator makes this process the reaper of orphaned
    /// descendants, finds the machine's cgroups (switching the cpu and memory controllers
    /// on for coldfront's subtree only when throttling) and probes which isolation the
    /// kernel allows.
    pub async fn start_sandbox(
        &self,
        spec: &FunctionSpec,
        sample_index: u64,
        mut cancel: Cancel,
    ) -> Result<Sandbox<'_>, EmulatorError> {
        let setup_started = std::time::Instant::now();
        Self::process_wide_setup_once();
        self.sweep_leftovers_once();
        let isolated = self.runtime_api_isolated();
        // A kit's `/tmp` is checked here, just before its sandbox starts: while it waited,
        // the sandbox before (same user, a guessable name) could have written into it.
        let spare = self.spare_kit.lock().expect("spare kit lock").take();
        let mut kit = if let Some(kit) = spare.filter(|kit| kit.usable_here(isolated) && kit.tmp_dir.is_as_new()) {
            kit
        } else {
            let spare_tmp = self
                .spare_tmp
                .lock()
                .expect("spare tmp lock")
                .take()
                .filter(SandboxTmpDir::is_as_new);
            SandboxKit::prepare(spare_tmp, isolated).await?
        };
        // The plan made in advance is used only for a function that launches alike.
        let plan = match kit.plan.take() {
            Some((planned, mut plan)) if launches_alike(&planned, spec) => {
                // The log stream is dated when the sandbox starts, not when its plan was
                // made; a name the spec sets stays.
                if !spec.env.contains_key(LOG_STREAM_VARIABLE)
                    && let Some((_, value)) = plan.command.env.iter_mut().find(|(k, _)| k == LOG_STREAM_VARIABLE)
                {
                    *value = log_stream_name();
                }
                plan
            }
            _ => kit.launch_plan(self, spec)?,
        };
        let SandboxKit {
            tmp_dir,
            mut api,
            netns,
            origin_ns,
            xray,
            ..
        } = kit;
        let mut guard = SandboxGuard {
            pgid: None,
            tmp_dir: Some(tmp_dir),
        };

        // A cgroup is used even unthrottled (without limits), because it is the one sure
        // way to find every process the sandbox started.
        let (throttling, cgroup) = {
            let name = format!("{}-{}-{}", std::process::id(), sample_index, ids::segment_id());
            let limit = self.options.throttle.then_some(spec.memory_mb);
            match (self.pool.acquire(self.cgroups(), &name, limit), self.options.throttle) {
                (Ok(group), true) => (Throttling::Applied, Some(group)),
                (Ok(group), false) => (Throttling::Disabled, Some(group)),
                (Err(reason), true) => (Throttling::Unavailable(reason), None),
                (Err(_), false) => (Throttling::Disabled, None),
            }
        };
        // Where the runtime's own files would be hidden by the private `/tmp`, this sandbox
        // gets the host's view, and its sample says why.
        let (view, filesystem) = match self.child_view(spec) {
            Some(view) => match view.hidden_by_tmp(&plan.command) {
                None => (Some(view), Isolation::Applied),
                Some(path) => {
                    let reason = format!(
                        "{} lies under the host's /tmp, which Lambda's view replaces with the sandbox's own; set COLDFRONT_CACHE_DIR (or the interpreter) elsewhere",
                        path.display()
                    );
                    tracing::warn!("{}: the host's filesystem view: {reason}", spec.name);
                    (None, Isolation::Unavailable(reason))
                }
            },
            None => (None, self.filesystem_view()),
        };
        if !spec.layers.is_empty() {
            match &filesystem {
                Isolation::Applied => {
                    let mount_point = std::path::Path::new("/opt");
                    if !mount_point.is_dir() {
                        std::fs::create_dir_all(mount_point)?;
                    }
                }
                Isolation::Disabled => {
                    return Err(EmulatorError::Layers {
                        function: spec.name.clone(),
                        reason: "the host's view was asked for (--host-filesystem)".to_owned(),
                    });
                }
                Isolation::Unavailable(reason) => {
                    return Err(EmulatorError::Layers {
                        function: spec.name.clone(),
                        reason: reason.clone(),
                    });
                }
            }
        }
        let runtime_api = if netns.is_some() {
            Isolation::Applied
        } else {
            self.runtime_api_isolation()
        };
        tracing::debug!(
            elapsed_ms = setup_started.elapsed().as_secs_f64() * 1000.0,
            "setup: servers, launch plan and cgroup ready"
        );
        let procs = cgroup
            .as_ref()
            .map(cgroup::SandboxCgroup::procs_files)
            .unwrap_or_default();
        let function_arn = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.options.region, self.options.account_id, spec.name
        );
        // The event that caused this cold start is waiting before the runtime starts, so
        // its first `GET /next` gets it at once, as on Lambda.
        // No `GET /next` can be waiting yet: the offer is queued.
        let pending = Some(offer_invocation(&api, spec, &spec.event, &function_arn).0);
        let anchor = WallAnchor::now();
        let mut child = process::spawn(
            plan.command.clone(),
            procs,
            self.options.capture_limit_bytes,
            cgroup.as_ref().and_then(cgroup::SandboxCgroup::spawner),
            ChildSetup {
                view,
                netns: netns.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
            },
        )
        .await
        .map_err(|err| EmulatorError::Launch {
            function: spec.name.clone(),
            program: plan.command.program.clone(),
            reason: err.to_string(),
        })?;
        guard.pgid = Some(child.pid);
        // The runtime holds its network namespace now.
        drop(netns);
        let runtime_status = process::StatusFile::open(child.pid).ok();
        origin_ns.store(child.exec_ns, Ordering::Relaxed);
        // INIT starts when the runtime process starts (exec), as on Lambda, where sandbox
        // creation is not part of Init Duration.
        let spawn_ns = child.exec_ns;
        let mut rec = Recorder {
            anchor,
            platform_log: Vec::new(),
            telemetry: Vec::new(),
            problems: Vec::new(),
            spawn_ns,
        };
        let runtime_version_arn = format!(
            "arn:aws:lambda:{}::runtime:{}",
            self.options.region,
            plan.runtime.runtime_version.replace([':', '.'], "-")
        );
        rec.platform_log.push(platform_log::init_start(
            &plan.runtime.runtime_version,
            &runtime_version_arn,
        ));
        rec.telemetry.push(telemetry::init_start(
            rec.at(spawn_ns),
            &plan.runtime.runtime_version,
            &runtime_version_arn,
        ));
        let marker = format!("AWS_LAMBDA_RUNTIME_API={}", api.addr());
        let mut exit = None;
        let started = Started {
            clone_ns: child.spawn_ns,
            exec_ns: child.exec_ns,
        };
        let mut events = LiveInit {
            api: &mut api,
            child: &mut child,
            exit: &mut exit,
            cancel: &mut cancel,
        };
        let (init, _window, delivered) = wait_for_init(&mut events, started, spec.init_timeout_ms, &mut rec).await;
        let usable = init.status == InitStatus::Success;
        Ok(Sandbox {
            emulator: self,
            spec: spec.clone(),
            sample_index,
            version: "$LATEST".to_owned(),
            cancel,
            runtime: plan.runtime,
            api,
            xray,
            guard,
            throttling,
            filesystem,
            runtime_api,
            cgroup,
            function_arn,
            marker,
            child,
            runtime_status,
            rec,
            exit,
            last_peak_kb: 0,
            init,
            pending,
            delivered,
            invokes: Vec::new(),
            final_invoke: None,
            usable,
        })
    }
}

/// INIT's boundaries, the two instants Init Duration is made of: the runtime process's
/// start (just before `execve`, as on Lambda, where sandbox creation is not counted) and
/// the arrival of its first `GET /next`, when INIT succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InitWindow {
    pub exec_ns: u64,
    pub ready_ns: Option<u64>,
}

impl InitWindow {
    /// Init Duration, when INIT succeeded.
    pub(crate) fn duration_ms(self) -> Option<f64> {
        self.ready_ns.map(|ready_ns| ms_between(self.exec_ns, ready_ns))
    }
}

/// When the runtime process was made (clone) and started (exec), `CLOCK_MONOTONIC` ns.
#[derive(Debug, Clone, Copy)]
struct Started {
    clone_ns: u64,
    exec_ns: u64,
}

/// What INIT waits on. The live sandbox (its Runtime API, process and Ctrl-C) is one
/// source; unit tests script another with synthetic timestamps, without a runtime.
trait InitEvents {
    /// The next thing that matters, or [`Waited::Deadline`] at `deadline`.
    async fn next(&mut self, deadline: tokio::time::Instant) -> Waited;
    /// `CLOCK_MONOTONIC` now, ns.
    fn now_ns(&self) -> u64;
}

/// A live sandbox's INIT.
struct LiveInit<'a> {
    api: &'a mut RuntimeApi,
    child: &'a mut process::Spawned,
    exit: &'a mut Option<process::ExitInfo>,
    cancel: &'a mut Cancel,
}

impl InitEvents for LiveInit<'_> {
    async fn next(&mut self, deadline: tokio::time::Instant) -> Waited {
        wait(self.api, self.child, self.exit, Some(deadline), self.cancel).await
    }

    fn now_ns(&self) -> u64 {
        monotonic_ns()
    }
}

/// INIT: waits for the first `GET /next`, an init error, an exit, the timeout
/// (`init_timeout_ms` from exec) or Ctrl-C, and records how INIT ended. Returns INIT's
/// window, and the first invocation's delivery when the runtime took it.
async fn wait_for_init(
    events: &mut impl InitEvents,
    started: Started,
    init_timeout_ms: u64,
    rec: &mut Recorder,
) -> (InitRecord, InitWindow, Option<Delivered>) {
    let spawn_ns = started.exec_ns;
    let init_deadline = tokio::time::Instant::now()
        + Duration::from_millis(init_timeout_ms)
            .saturating_sub(Duration::from_nanos(events.now_ns().saturating_sub(spawn_ns)));
    let mut window = InitWindow {
        exec_ns: spawn_ns,
        ready_ns: None,
    };
    let mut init = InitRecord {
        status: InitStatus::Success,
        duration_ms: None,
        elapsed_ms: 0.0,
        error: None,
        spawn_monotonic_ns: spawn_ns,
        sandbox_setup_ms: ms_between(started.clone_ns, started.exec_ns),
        ready_monotonic_ns: None,
        marks: std::collections::BTreeMap::new(),
    };
    let mut delivered: Option<Delivered> = None;
    loop {
        match events.next(init_deadline).await {
            Waited::Api(Some(ApiEvent::Next {
                at_ns,
                marks,
                delivered: first,
            })) => {
                delivered = first;
                window.ready_ns = Some(at_ns);
                init.marks = marks.as_deref().map(parse_marks).unwrap_or_default();
                init.duration_ms = window.duration_ms();
                init.elapsed_ms = ms_between(spawn_ns, at_ns);
                init.ready_monotonic_ns = window.ready_ns;
                break;
            }
            Waited::Api(Some(ApiEvent::InitError { at_ns, error })) => {
                init.status = InitStatus::Error;
                init.elapsed_ms = ms_between(spawn_ns, at_ns);
                init.error = Some(error);
                break;
            }
            Waited::Api(Some(ApiEvent::Problem(problem))) => rec.problem(problem),
            Waited::Api(Some(other)) => tracing::debug!("ignored during INIT: {other:?}"),
            Waited::Api(None) => unreachable!("the API server lives as long as the sandbox"),
            Waited::Exited(info) => {
                init.status = InitStatus::Error;
                init.elapsed_ms = ms_between(spawn_ns, info.at_ns);
                init.error = Some(FunctionError::platform(
                    "Runtime.ExitError",
                    format!("Runtime exited during INIT with {}", describe_exit(&info)),
                ));
                break;
            }
            Waited::Deadline => {
                init.status = InitStatus::Timeout;
                init.elapsed_ms = ms_between(spawn_ns, events.now_ns());
                init.error = Some(FunctionError::platform(
                    "Runtime.InitTimeout",
                    format!(
                        "INIT did not finish within {:.2} seconds",
                        init_timeout_ms as f64 / 1000.0
                    ),
                ));
                break;
            }
            Waited::Cancelled => {
                init.status = InitStatus::Interrupted;
                init.elapsed_ms = ms_between(spawn_ns, events.now_ns());
                break;
            }
        }
    }
    let init_end = rec.at(spawn_ns + (init.elapsed_ms * 1e6) as u64);
    let init_status_word = match init.status {
        InitStatus::Success => "success",
        InitStatus::Timeout => "timeout",
        InitStatus::Error | InitStatus::Interrupted => "error",
    };
    let init_error_type = init.error.as_ref().map(|e| e.error_type.clone());
    rec.telemetry.push(telemetry::init_runtime_done(
        init_end,
        init_status_word,
        init_error_type.as_deref(),
    ));
    rec.telemetry
        .push(telemetry::init_report(init_end, init.elapsed_ms, init_status_word));
    if init.status != InitStatus::Success {
        rec.platform_log.push(platform_log::init_report(
            init.elapsed_ms,
            init_status_word,
            init_error_type.as_deref(),
        ));
    }
    (init, window, delivered)
}

impl Sandbox<'_> {
    /// How INIT went.
    pub fn init(&self) -> &InitRecord {
        &self.init
    }

    /// The function this sandbox runs, as it was when the sandbox started.
    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// Whether the runtime can take another invocation: INIT succeeded and no invoke
    /// ended in a way that leaves the runtime unable to answer (an exit, a timeout, a
    /// stop).
    pub fn is_usable(&self) -> bool {
        self.usable && self.exit.is_none()
    }

    /// When the runtime process started (wall clock): INIT's start.
    pub fn started_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.rec.at(self.rec.spawn_ns)
    }

    /// The X-Ray documents the function sent to the daemon so far.
    pub fn xray_documents_so_far(&self) -> Vec<crate::sample::XrayDocument> {
        self.xray.received_so_far()
    }

    /// The Runtime API's address, as the runtime has it in `AWS_LAMBDA_RUNTIME_API`. With
    /// the Runtime API isolated it is an address in the sandbox's own network namespace,
    /// which nothing outside the sandbox can reach.
    pub fn runtime_api_addr(&self) -> std::net::SocketAddr {
        self.api.addr()
    }

    /// How many invokes ran so far.
    pub fn invoke_count(&self) -> usize {
        self.invokes.len() + usize::from(self.final_invoke.is_some())
    }

    /// Names the version in START lines and telemetry (`$LATEST` by default).
    pub fn set_version(&mut self, version: &str) {
        version.clone_into(&mut self.version);
    }

    /// Runs one invocation with `event` (the cold start's own event for the first) and
    /// reports it at once, with the sandbox's peak memory so far. `None` when the
    /// sandbox cannot take an invocation (see [`Sandbox::is_usable`]); the reason is in
    /// its platform log.
    pub async fn invoke(&mut self, event: &str) -> Option<Invoked> {
        let log_from = self.rec.platform_log.len();
        let output_mark = self.child.log_tail.lock().expect("log tail lock").total();
        let mut unreported = self.run_invoke(event).await?;
        let response = unreported.response.take();
        let record = self.report_now(unreported).clone();
        // Lines the function wrote just before answering may still be in the pipe.
        tokio::task::yield_now().await;
        let output = self.child.log_tail.lock().expect("log tail lock").since(output_mark);
        let lines = &self.rec.platform_log[log_from..];
        let mut log = String::new();
        if let Some((start, rest)) = lines.split_first() {
            log.push_str(start);
            log.push('\n');
            log.push_str(&String::from_utf8_lossy(&output));
            if !output.is_empty() && !output.ends_with(b"\n") {
                log.push('\n');
            }
            for line in rest {
                log.push_str(line);
                log.push('\n');
            }
        }
        Some(Invoked { record, response, log })
    }

    /// Runs one invocation up to its end, without its END and REPORT: those wait for the
    /// peak memory, which the caller reads now or at teardown.
    async fn run_invoke(&mut self, event: &str) -> Option<Unreported> {
        if !self.usable {
            return None;
        }
        if let Some(info) = self.exit {
            let count = self.invoke_count();
            self.rec.platform_log.push(format!(
                "coldfront: stopped after {count} invokes: the runtime exited between invokes with {}",
                describe_exit(&info)
            ));
            self.usable = false;
            return None;
        }
        if self.pending.is_none() {
            let (next, at) = offer_invocation(&self.api, &self.spec, event, &self.function_arn);
            self.pending = Some(next);
            self.delivered = at;
        }
        if self.delivered.is_none() {
            // The runtime asks for the next event after answering the previous one.
            let deadline = tokio::time::Instant::now() + Duration::from_millis(self.spec.timeout_ms);
            loop {
                match self.next_event(deadline).await {
                    Waited::Api(Some(ApiEvent::Next {
                        delivered: Some(at), ..
                    })) => {
                        self.delivered = Some(at);
                        break;
                    }
                    Waited::Api(Some(ApiEvent::Problem(problem))) => self.rec.problem(problem),
                    Waited::Api(_) => {}
                    Waited::Exited(_) | Waited::Deadline | Waited::Cancelled => break,
                }
            }
        }
        let Some(started) = self.delivered.take() else {
            let reason = self.exit.map_or_else(
                || "the runtime did not ask for the next event".to_owned(),
                |info| format!("the runtime exited between invokes with {}", describe_exit(&info)),
            );
            let count = self.invoke_count();
            self.rec
                .platform_log
                .push(format!("coldfront: stopped after {count} invokes: {reason}"));
            self.usable = false;
            return None;
        };
        let pending = self
            .pending
            .take()
            .expect("an invocation is offered before each invoke");
        let cold = self.invoke_count() == 0;
        let unreported = self.await_answer(cold, pending, started).await;
        self.usable = matches!(
            unreported.record.status,
            InvokeStatus::Success | InvokeStatus::Error | InvokeStatus::ResponseTooLarge
        );
        Some(unreported)
    }

    /// Runs a cold start's invokes as `spec.invokes` says; the last is reported at
    /// teardown with the sandbox's peak read just before the kill.
    pub(crate) async fn run_planned_invokes(&mut self) {
        let event = self.spec.event.clone();
        for index in 0..self.spec.invokes {
            let Some(unreported) = self.run_invoke(&event).await else {
                break;
            };
            if !self.usable || index + 1 == self.spec.invokes {
                self.final_invoke = Some(unreported);
                break;
            }
            self.report_now(unreported);
        }
    }

    /// Completes an invoke with the sandbox's peak memory read now (while its processes
    /// live) and keeps it.
    fn report_now(&mut self, unreported: Unreported) -> &InvokeRecord {
        if self.exit.is_none() {
            self.last_peak_kb = self.last_peak_kb.max(process::peak_rss_kb(&sandbox_pids(
                self.child.pid,
                self.cgroup.as_ref(),
                &self.marker,
            )));
        }
        let record = self.rec.report(unreported, self.spec.memory_mb, self.last_peak_kb);
        self.invokes.push(record);
        self.invokes.last().expect("just pushed")
    }

    /// The next thing that matters to a running invoke (see [`wait`]).
    async fn next_event(&mut self, deadline: tokio::time::Instant) -> Waited {
        wait(
            &mut self.api,
            &mut self.child,
            &mut self.exit,
            Some(deadline),
            &mut self.cancel,
        )
        .await
    }

    /// Waits for the runtime's answer to a delivered invocation.
    async fn await_answer(&mut self, cold: bool, pending: PendingInvoke, delivered: Delivered) -> Unreported {
        let PendingInvoke {
            request_id,
            trace_header,
            trace_root,
            segment_id,
        } = pending;
        let timeout_ms = self.spec.timeout_ms;
        // The invoke runs from the moment the runtime got the event.
        let start_ns = delivered.at_ns;
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(timeout_ms)
                .saturating_sub(Duration::from_nanos(monotonic_ns().saturating_sub(start_ns)));
        self.rec
            .platform_log
            .push(platform_log::start(&request_id, &self.version));
        self.rec.telemetry.push(telemetry::start(
            self.rec.at(start_ns),
            &request_id,
            &self.version,
            &trace_header,
        ));
        let mut record = InvokeRecord {
            request_id: request_id.clone(),
            trace_header,
            cold,
            status: InvokeStatus::Success,
            duration_ms: 0.0,
            billed_duration_ms: 0,
            max_memory_used_mb: 0,
            response_bytes: 0,
            response_preview: String::new(),
            error: None,
        };
        let mut response = None;
        let end_ns = loop {
            match self.next_event(deadline).await {
                Waited::Api(Some(ApiEvent::Response {
                    request_id: id,
                    at_ns,
                    body,
                    preview,
                })) if id == request_id => {
                    record.response_bytes = body.len() as u64;
                    record.response_preview = preview;
                    response = Some(body);
                    break at_ns;
                }
                Waited::Api(Some(ApiEvent::InvokeError {
                    request_id: id,
                    at_ns,
                    error,
                })) if id == request_id => {
                    record.status = InvokeStatus::Error;
                    record.error = Some(error);
                    break at_ns;
                }
                Waited::Api(Some(ApiEvent::ResponseTooLarge {
                    request_id: id,
                    at_ns,
                    bytes,
                })) if id == request_id => {
                    record.status = InvokeStatus::ResponseTooLarge;
                    record.response_bytes = bytes;
                    record.error = Some(FunctionError::platform(
                        "Function.ResponseSizeTooLarge",
                        format!(
                            "Response payload size ({bytes} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                        ),
                    ));
                    break at_ns;
                }
                Waited::Api(Some(ApiEvent::Problem(problem))) => self.rec.problem(problem),
                // The `GET /next` that was waiting when this invocation was offered, and got it.
                Waited::Api(Some(ApiEvent::Next {
                    at_ns, delivered: None, ..
                })) if at_ns <= start_ns => {}
                Waited::Api(Some(ApiEvent::Next { at_ns, .. })) => {
                    record.status = InvokeStatus::Error;
                    record.error = Some(FunctionError::platform(
                        "Runtime.InvalidStateTransition",
                        "the runtime asked for the next event without answering this one",
                    ));
                    break at_ns;
                }
                Waited::Api(_) => {}
                Waited::Exited(info) => {
                    record.status = InvokeStatus::RuntimeExit;
                    record.error = Some(FunctionError::platform(
                        "Runtime.ExitError",
                        format!(
                            "RequestId: {request_id} Error: Runtime exited with {}",
                            describe_exit(&info)
                        ),
                    ));
                    break info.at_ns;
                }
                Waited::Deadline => {
                    record.status = InvokeStatus::Timeout;
                    let seconds = timeout_ms as f64 / 1000.0;
                    record.error = Some(FunctionError::platform(
                        "Sandbox.Timedout",
                        format!("Task timed out after {seconds:.2} seconds"),
                    ));
                    self.rec.platform_log.push(format!(
                        "{} {request_id} Task timed out after {seconds:.2} seconds",
                        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    ));
                    break monotonic_ns();
                }
                Waited::Cancelled => {
                    record.status = InvokeStatus::Interrupted;
                    record.error = Some(FunctionError::platform(
                        "Coldfront.Interrupted",
                        "the run was interrupted",
                    ));
                    break monotonic_ns();
                }
            }
        };
        record.duration_ms = ms_between(start_ns, end_ns);
        let init_ms = if cold { self.init.duration_ms } else { None };
        record.billed_duration_ms = ((record.duration_ms + init_ms.unwrap_or(0.0)).ceil() as u64).max(1);
        Unreported {
            record,
            response,
            end_ns,
            init_ms,
            trace_root,
            segment_id,
        }
    }

    /// Tears the sandbox down — finds every process it started while they are alive,
    /// kills and reaps them — and returns its whole life as a sample.
    pub async fn finish(self) -> ColdStartSample {
        let Sandbox {
            emulator,
            spec,
            sample_index,
            version: _,
            cancel: _,
            runtime,
            api,
            xray,
            mut guard,
            throttling,
            filesystem,
            runtime_api,
            cgroup,
            function_arn: _,
            marker,
            child,
            runtime_status,
            mut rec,
            exit,
            last_peak_kb,
            init,
            pending: _,
            delivered: _,
            mut invokes,
            mut final_invoke,
            usable: _,
        } = self;
        let teardown_started = std::time::Instant::now();
        // Find every process of the sandbox while they are still alive — children in the
        // process group, daemons that left it (found by the cgroup and by the sandbox's
        // environment, which descendants inherit) — then kill them all, and reap each one
        // that has been re-parented to this process, so no zombie is left.
        let killed_by_emulator = exit.is_none();
        let mut left = sandbox_pids(child.pid, cgroup.as_ref(), &marker);
        // Max Memory Used is the sandbox's peak: every process's VmHWM, read while they are
        // alive. Not wait4's ru_maxrss: the runtime was cloned from the emulator with
        // CLONE_VM, and exec records the memory it leaves (the emulator's) in that peak, so
        // a runtime smaller than coldfront would report coldfront's size.
        let others: Vec<i32> = left.iter().copied().filter(|pid| *pid != child.pid).collect();
        let others_peak_kb = process::peak_rss_kb(&others);
        // `None` when the runtime exited by itself (or its peak could not be read): the
        // fallbacks after the reap decide then.
        let peak_read_before_kill_kb = killed_by_emulator
            .then(|| {
                runtime_status
                    .as_ref()
                    .and_then(process::StatusFile::vm_hwm_kb)
                    .unwrap_or_else(|| process::peak_rss_kb(&[child.pid]))
            })
            .filter(|runtime_kb| *runtime_kb > 0)
            .map(|runtime_kb| last_peak_kb.max(others_peak_kb + runtime_kb));
        process::kill_group(child.pid);
        for pid in &left {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
        }
        let mut child = child;
        let exited = async {
            match exit {
                Some(info) => Some(info),
                None => tokio::time::timeout(Duration::from_secs(5), &mut child.exit)
                    .await
                    .ok()
                    .and_then(Result::ok),
            }
        };
        // The kernel takes about a millisecond to tear a runtime down, which the emulator
        // waits for: letting it overlap the next INIT slows that INIT (`cargo xtask bench`
        // measures by how much, `teardown_overlap_cost_ms`). Work that does not need the
        // runtime gone is done meanwhile: a second sweep of the cgroup for anything forked
        // after the first, the last invoke's END and REPORT when the runtime's peak was
        // read before the kill, and the next sandbox's servers with its launch plan. A
        // failed kit only means the next cold start makes its own.
        // Without a cgroup to prove every process gone, the `/tmp` is never handed on.
        let tmp_dir_unreusable = if cgroup.is_none() { guard.tmp_dir.take() } else { None };
        let meanwhile = async {
            if let Some(group) = &cgroup {
                group.kill_all();
            }
            drop(tmp_dir_unreusable);
            emulator.doomed_tmp.lock().expect("doomed tmp lock").clear();
            if let Some(peak_kb) = peak_read_before_kill_kb
                && let Some(unreported) = final_invoke.take()
            {
                invokes.push(rec.report(unreported, spec.memory_mb, peak_kb));
            }
            let spare_tmp = emulator.spare_tmp.lock().expect("spare tmp lock").take();
            let mut kit = SandboxKit::prepare(spare_tmp, emulator.runtime_api_isolated()).await?;
            kit.plan = kit.launch_plan(emulator, &spec).ok().map(|plan| {
                let planned = FunctionSpec {
                    event: String::new(),
                    ..spec.clone()
                };
                (planned, plan)
            });
            Ok::<_, std::io::Error>(kit)
        };
        let (exit, spare) = tokio::join!(exited, meanwhile);
        if let Ok(kit) = spare {
            *emulator.spare_kit.lock().expect("spare kit lock") = Some(kit);
        }
        drop(api);
        tracing::debug!(
            elapsed_ms = teardown_started.elapsed().as_secs_f64() * 1000.0,
            "teardown: runtime exited"
        );
        let (peak_kb, peak_rss_source) = if let Some(peak_kb) = peak_read_before_kill_kb {
            (
                peak_kb,
                "the sum of the sandbox's processes' VmHWM, read before the kill",
            )
        } else {
            // The runtime exited by itself before it could be read. Its ru_maxrss is its
            // own only where it exceeds the emulator's high-water mark (which can only have
            // grown since the clone); else the sandbox cgroup's peak, which counts page
            // cache too.
            let maxrss_kb = exit.map_or(0, |info| info.maxrss_kb);
            if maxrss_kb > process::peak_rss_kb(&[std::process::id() as i32]) {
                (
                    last_peak_kb.max(others_peak_kb + maxrss_kb),
                    "the runtime's ru_maxrss from wait4 (it exited by itself) plus the other processes' VmHWM",
                )
            } else if let Some(group_kb) = cgroup.as_ref().and_then(cgroup::SandboxCgroup::sandbox_peak_kb) {
                (
                    last_peak_kb.max(group_kb),
                    "the sandbox cgroup's memory peak, page cache included (the runtime exited by itself)",
                )
            } else {
                (
                    last_peak_kb.max(others_peak_kb),
                    "the VmHWM read between invokes and of the other processes; the runtime exited by itself before its own could be read",
                )
            }
        };
        if let Some(unreported) = final_invoke {
            invokes.push(rec.report(unreported, spec.memory_mb, peak_kb));
        }
        left.sort_unstable();
        left.dedup();
        left.retain(|pid| *pid != child.pid);
        let leftovers = left.len() as u32;
        if !left.is_empty() {
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                tokio::task::spawn_blocking(move || left.into_iter().for_each(process::kill_and_reap)),
            )
            .await;
        }
        tracing::debug!(
            elapsed_ms = teardown_started.elapsed().as_secs_f64() * 1000.0,
            "teardown: processes killed and reaped"
        );
        let pid = child.pid;
        let (stdout, stderr) = child.finish_capture().await;
        let (xray_documents, xray_rejected) = xray.finish();
        for reason in xray_rejected {
            rec.problems.push(ApiProblem {
                at_ms: 0.0,
                method: "UDP".into(),
                path: "x-ray daemon".into(),
                status: 0,
                message: reason,
            });
        }
        let sandbox = SandboxRecord {
            throttling,
            cgroup: cgroup.as_ref().and_then(cgroup::SandboxCgroup::record),
            filesystem,
            runtime_api,
        };
        // A `/tmp` left as it was made serves a later sandbox, which saves creating and
        // removing a directory per cold start (about 0.1 ms of file-system work, with
        // journal writes, here); it is checked again before that sandbox starts. Only
        // where the cgroup proves this sandbox's processes gone. Any other is removed
        // during the next teardown rather than while the next runtime starts.
        let all_gone = cgroup.is_some_and(|group| emulator.pool.release(group));
        if let Some(tmp_dir) = guard.tmp_dir.take() {
            if all_gone && tmp_dir.is_as_new() {
                *emulator.spare_tmp.lock().expect("spare tmp lock") = Some(tmp_dir);
            } else {
                emulator.doomed_tmp.lock().expect("doomed tmp lock").push(tmp_dir);
            }
        }
        drop(guard);
        tracing::debug!(
            elapsed_ms = teardown_started.elapsed().as_secs_f64() * 1000.0,
            "teardown: done"
        );
        let process = ProcessRecord {
            pid: u32::try_from(pid).unwrap_or(0),
            exit_code: exit.and_then(|e| if killed_by_emulator { None } else { e.code }),
            exit_signal: exit.and_then(|e| if killed_by_emulator { None } else { e.signal }),
            killed_by_emulator,
            peak_rss_kb: peak_kb,
            peak_rss_source: peak_rss_source.to_owned(),
            user_cpu_ms: exit.map_or(0.0, |e| e.user_ms),
            system_cpu_ms: exit.map_or(0.0, |e| e.system_ms),
            leftover_processes_killed: leftovers,
        };
        ColdStartSample {
            schema_version: SAMPLE_SCHEMA_VERSION,
            function: spec.name.clone(),
            handler: spec.handler.clone(),
            task_root: spec.code_dir.clone(),
            task_root_bytes: top_level_modules(&spec.code_dir).into_iter().collect(),
            task_root_vendored: vendored_modules(&spec.code_dir),
            labels: crate::sample::SampleLabels::default(),
            sample_index,
            started_at: rec.at(rec.spawn_ns),
            memory_size_mb: spec.memory_mb,
            backend: "local".to_owned(),
            runtime,
            init,
            invokes,
            platform_log: rec.platform_log,
            telemetry: rec.telemetry,
            xray_documents,
            process,
            sandbox,
            runtime_api_problems: rec.problems,
            stdout,
            stderr,
            aws: None,
        }
    }
}

/// Everything a sandbox accumulates before it becomes a sample.
struct Recorder {
    anchor: WallAnchor,
    platform_log: Vec<String>,
    telemetry: Vec<TelemetryEvent>,
    problems: Vec<ApiProblem>,
    spawn_ns: u64,
}

impl Recorder {
    fn at(&self, ns: u64) -> chrono::DateTime<chrono::Utc> {
        self.anchor.wall_at(ns)
    }

    fn problem(&mut self, problem: runtime_api::Problem) {
        let runtime_api::Problem {
            at_ns,
            method,
            path,
            status,
            message,
        } = problem;
        tracing::warn!("runtime API: {method} {path} → {status}: {message}");
        self.problems.push(ApiProblem {
            at_ms: ms_between(self.spawn_ns, at_ns),
            method,
            path,
            status,
            message,
        });
    }

    /// Completes an invoke with the sandbox's peak memory so far: its `Max Memory Used`,
    /// the Telemetry API `runtimeDone` and `report` events and the END/REPORT/XRAY lines.
    fn report(&mut self, unreported: Unreported, memory_size_mb: u32, peak_kb: u64) -> InvokeRecord {
        let Unreported {
            mut record,
            response: _,
            end_ns,
            init_ms,
            trace_root,
            segment_id,
        } = unreported;
        record.max_memory_used_mb = ((peak_kb as f64 / 1024.0).round() as u64).max(1);
        let status_word = match record.status {
            InvokeStatus::Success => "success",
            InvokeStatus::Timeout => "timeout",
            InvokeStatus::Error => "error",
            InvokeStatus::RuntimeExit | InvokeStatus::ResponseTooLarge | InvokeStatus::Interrupted => "failure",
        };
        let metrics = ReportMetrics {
            duration_ms: record.duration_ms,
            billed_duration_ms: record.billed_duration_ms,
            init_duration_ms: init_ms,
            max_memory_used_mb: record.max_memory_used_mb,
            memory_size_mb,
        };
        let end_at = self.at(end_ns);
        self.telemetry.push(telemetry::runtime_done(
            end_at,
            &record.request_id,
            status_word,
            record.duration_ms,
            record.response_bytes,
        ));
        self.telemetry
            .push(telemetry::report(end_at, &record.request_id, status_word, metrics));
        self.platform_log.push(platform_log::end(&record.request_id));
        self.platform_log
            .push(platform_log::report(&record.request_id, &metrics));
        self.platform_log.push(platform_log::xray(&trace_root, &segment_id));
        record
    }
}

enum Waited {
    Api(Option<ApiEvent>),
    Exited(process::ExitInfo),
    Deadline,
    Cancelled,
}

/// Waits for the next thing that matters: a Runtime API event, the process exiting, a
/// deadline or cancellation. An exit is remembered so it is reported only once.
async fn wait(
    api: &mut RuntimeApi,
    child: &mut process::Spawned,
    exit: &mut Option<process::ExitInfo>,
    deadline: Option<tokio::time::Instant>,
    cancel: &mut Cancel,
) -> Waited {
    let sleep = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    let exited = async {
        if exit.is_some() {
            std::future::pending::<process::ExitInfo>().await
        } else {
            match (&mut child.exit).await {
                Ok(info) => info,
                Err(_) => std::future::pending().await,
            }
        }
    };
    // Runtime API events come first: a runtime that posts its error and then exits must be
    // recorded with the error it reported, not as a bare exit.
    tokio::select! {
        biased;
        event = api.next_event() => Waited::Api(event),
        info = exited => {
            *exit = Some(info);
            Waited::Exited(info)
        }
        () = sleep => Waited::Deadline,
        () = cancel.cancelled() => Waited::Cancelled,
    }
}

/// An invocation offered to the runtime, with the ids its records need.
struct PendingInvoke {
    request_id: String,
    trace_header: String,
    trace_root: String,
    segment_id: String,
}

/// Makes the next invocation of `spec` with `event` (fresh request and trace ids) and
/// offers it to the runtime; with its delivery when a `GET /next` was waiting for it.
fn offer_invocation(
    api: &RuntimeApi,
    spec: &FunctionSpec,
    event: &str,
    function_arn: &str,
) -> (PendingInvoke, Option<Delivered>) {
    let request_id = ids::request_id();
    let trace_root = ids::trace_root(chrono::Utc::now().timestamp());
    let segment_id = ids::segment_id();
    let trace_header = ids::trace_header(&trace_root, &segment_id);
    let delivered = api.offer(Invocation {
        request_id: request_id.clone(),
        timeout_ms: spec.timeout_ms,
        function_arn: function_arn.to_owned(),
        trace_header: trace_header.clone(),
        body: event.to_owned(),
    });
    (
        PendingInvoke {
            request_id,
            trace_header,
            trace_root,
            segment_id,
        },
        delivered,
    )
}

/// An invoke whose END and REPORT lines wait for the sandbox's peak memory.
struct Unreported {
    record: InvokeRecord,
    response: Option<Bytes>,
    end_ns: u64,
    init_ms: Option<f64>,
    trace_root: String,
    segment_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runtime made of synthetic events and timestamps: no process, no Python.
    struct Scripted {
        events: std::collections::VecDeque<(u64, Waited)>,
        now_ns: u64,
    }

    impl InitEvents for Scripted {
        async fn next(&mut self, _deadline: tokio::time::Instant) -> Waited {
            let (at_ns, event) = self.events.pop_front().expect("the script ends INIT");
            self.now_ns = at_ns;
            event
        }

        fn now_ns(&self) -> u64 {
            self.now_ns
        }
    }

    const CLONE_NS: u64 = 5_000_000_000;
    const EXEC_NS: u64 = CLONE_NS + 70_000;

    fn recorder() -> Recorder {
        Recorder {
            anchor: WallAnchor::now(),
            platform_log: Vec::new(),
            telemetry: Vec::new(),
            problems: Vec::new(),
            spawn_ns: EXEC_NS,
        }
    }

    async fn init_with(events: Vec<(u64, Waited)>) -> (InitRecord, InitWindow, Recorder) {
        let mut script = Scripted {
            events: events.into(),
            now_ns: EXEC_NS,
        };
        let mut rec = recorder();
        let started = Started {
            clone_ns: CLONE_NS,
            exec_ns: EXEC_NS,
        };
        let (init, window, _) = wait_for_init(&mut script, started, 10_000, &mut rec).await;
        (init, window, rec)
    }

    fn next_at(at_ns: u64) -> Waited {
        Waited::Api(Some(ApiEvent::Next {
            at_ns,
            marks: Some("first_line=5000100000;handler_import_end=5010000000".to_owned()),
            delivered: None,
        }))
    }

    #[tokio::test]
    async fn init_runs_from_exec_to_the_first_next_and_sandbox_setup_is_apart() {
        let ready_ns = EXEC_NS + 15_250_000;
        let problem = runtime_api::Problem {
            at_ns: EXEC_NS + 1_000_000,
            method: "GET".to_owned(),
            path: "/2018-06-01/nowhere".to_owned(),
            status: 404,
            message: "no such route".to_owned(),
        };
        let (init, window, rec) = init_with(vec![
            (EXEC_NS + 1_000_000, Waited::Api(Some(ApiEvent::Problem(problem)))),
            (ready_ns, next_at(ready_ns)),
        ])
        .await;
        assert_eq!(
            window,
            InitWindow {
                exec_ns: EXEC_NS,
                ready_ns: Some(ready_ns)
            }
        );
        assert_eq!(init.status, InitStatus::Success);
        assert_eq!(init.duration_ms, Some(15.25));
        assert_eq!(init.duration_ms, window.duration_ms());
        assert_eq!(init.ready_monotonic_ns, Some(ready_ns));
        assert_eq!(init.spawn_monotonic_ns, EXEC_NS);
        assert!((init.sandbox_setup_ms - 0.07).abs() < 1e-9, "{}", init.sandbox_setup_ms);
        assert_eq!(init.marks.get("handler_import_end"), Some(&5_010_000_000));
        // The rejected request is kept, timed from exec.
        assert_eq!(rec.problems.len(), 1);
        assert!((rec.problems[0].at_ms - 1.0).abs() < 1e-9);
        // A successful INIT's report is the REPORT line's Init Duration, not a line of its own.
        assert!(rec.platform_log.is_empty(), "{:?}", rec.platform_log);
        assert_eq!(rec.telemetry.len(), 2, "runtimeDone and report");
    }

    #[tokio::test]
    async fn an_error_an_exit_a_timeout_and_a_stop_each_end_init_as_lambda_reports_them() {
        let error = FunctionError::platform("Runtime.ImportModuleError", "no module named x".to_owned());
        let exit = process::ExitInfo {
            at_ns: EXEC_NS + 30_000_000,
            code: Some(1),
            signal: None,
            maxrss_kb: 0,
            user_ms: 0.0,
            system_ms: 0.0,
        };
        let cases = [
            (
                Waited::Api(Some(ApiEvent::InitError {
                    at_ns: EXEC_NS + 20_000_000,
                    error: error.clone(),
                })),
                EXEC_NS + 20_000_000,
                InitStatus::Error,
                Some("Runtime.ImportModuleError"),
            ),
            (
                Waited::Exited(exit),
                EXEC_NS + 30_000_000,
                InitStatus::Error,
                Some("Runtime.ExitError"),
            ),
            (
                Waited::Deadline,
                EXEC_NS + 10_000_000_000,
                InitStatus::Timeout,
                Some("Runtime.InitTimeout"),
            ),
            (Waited::Cancelled, EXEC_NS + 5_000_000, InitStatus::Interrupted, None),
        ];
        for (event, at_ns, status, error_type) in cases {
            let (init, window, rec) = init_with(vec![(at_ns, event)]).await;
            assert_eq!(init.status, status);
            assert_eq!(window.ready_ns, None, "{status:?}: INIT never reached GET /next");
            assert_eq!(init.duration_ms, None);
            assert!(
                (init.elapsed_ms - ms_between(EXEC_NS, at_ns)).abs() < 1e-9,
                "{status:?}"
            );
            assert_eq!(init.error.as_ref().map(|e| e.error_type.as_str()), error_type);
            // Failed INITs get Lambda's INIT_REPORT line.
            assert_eq!(rec.platform_log.len(), 1, "{status:?}");
            assert!(
                rec.platform_log[0].starts_with("INIT_REPORT"),
                "{}",
                rec.platform_log[0]
            );
        }
        let (init, _, _) = init_with(vec![(exit.at_ns, Waited::Exited(exit))]).await;
        assert_eq!(
            init.error.expect("an error").error_message,
            "Runtime exited during INIT with exit status 1"
        );
        let (init, _, _) = init_with(vec![(EXEC_NS + 10_000_000_000, Waited::Deadline)]).await;
        assert_eq!(
            init.error.expect("an error").error_message,
            "INIT did not finish within 10.00 seconds"
        );
    }
}
