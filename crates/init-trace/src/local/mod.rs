//! The embedded Lambda emulator: starts a function's runtime process cold on loopback and
//! records what Lambda would.
//!
//! One [`LocalEmulator::cold_start`] is one sandbox lifetime: a fresh Runtime API server
//! and X-Ray listener on ephemeral loopback ports, a fresh cgroup with Lambda's CPU share
//! and memory limit, a fresh `TMPDIR`, a new process. Init Duration is measured as Lambda
//! defines it — from spawn to the runtime's first `GET /runtime/invocation/next` — then the
//! configured invokes run (the first is the cold one) and the whole process tree is killed
//! and reaped. Every failure ends in a recorded sample, never a hang: INIT and invoke
//! timeouts are enforced, process exits are noticed at once through `wait4`.

mod cgroup;
mod launch;
mod process;
mod runtime_api;
mod xray;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

pub use cgroup::{CgroupSupport, MB_PER_VCPU, cpu_cores_for};
pub use process::LaunchCommand;
pub use runtime_api::MAX_RESPONSE_BYTES;
pub use xray::{Datagram, parse_datagram};

use crate::clock::{WallAnchor, monotonic_ns, ms_between};
use crate::interpreter::{InterpreterError, clean_python, resolve_python};
use crate::sample::{
    ApiProblem, ColdStartSample, FunctionError, InitRecord, InitStatus, InvokeRecord, InvokeStatus, ProcessRecord,
    RuntimeInfo, SAMPLE_SCHEMA_VERSION, SandboxRecord, Throttling,
};
use crate::spec::{FunctionSpec, RuntimeKind};
use crate::telemetry::{self, ReportMetrics, TelemetryEvent};
use crate::{bundled, ids, platform_log};
use runtime_api::{ApiEvent, Delivered, Invocation, RuntimeApi};

/// How the emulator runs functions.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Apply Lambda's CPU share and memory limit through cgroups when the machine allows.
    pub throttle: bool,
    /// `AWS_REGION`, and the region in ARNs.
    pub region: String,
    /// The account id in ARNs.
    pub account_id: String,
    /// How much of stdout and of stderr to keep per sample: the head, and up to 64 KiB
    /// (a quarter of the limit at most) of the tail, with a count of what lay between.
    pub capture_limit_bytes: usize,
    /// Record Python's `-X importtime` tree (`PYTHONPROFILEIMPORTTIME=1`) for INIT
    /// attribution. It is written by CPython in C and costs little (measured by
    /// `cargo xtask bench` as `attribution_overhead_ratio`).
    pub import_timing: bool,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            throttle: true,
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            capture_limit_bytes: 1024 * 1024,
            import_timing: false,
        }
    }
}

/// Failures of the emulator itself (function failures are recorded in the sample).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The interpreter could not be resolved.
    #[error(transparent)]
    Interpreter(#[from] InterpreterError),
    /// The runtime's executable is missing or not executable.
    #[error("function {function:?}: cannot start {program}: {reason}")]
    Launch {
        /// The function.
        function: String,
        /// What was to be run.
        program: PathBuf,
        /// Why it could not be.
        reason: String,
    },
    /// A loopback socket or sandbox directory could not be set up.
    #[error("cannot set up the sandbox: {0}")]
    Setup(#[from] std::io::Error),
}

/// Ends a cold start early, keeping what was measured (Ctrl-C).
#[derive(Debug, Clone)]
pub struct Cancel(watch::Receiver<bool>);

/// Triggers a [`Cancel`].
#[derive(Debug)]
pub struct CancelHandle(watch::Sender<bool>);

impl CancelHandle {
    /// Asks every cold start holding the paired [`Cancel`] to stop.
    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}

/// A linked [`CancelHandle`] and [`Cancel`].
pub fn cancel_pair() -> (CancelHandle, Cancel) {
    let (tx, rx) = watch::channel(false);
    (CancelHandle(tx), Cancel(rx))
}

impl Cancel {
    /// A token that is never triggered.
    pub fn never() -> Self {
        // One sender for the life of the process, so `changed()` never resolves with an
        // error and no channel is leaked per call.
        static NEVER: std::sync::OnceLock<watch::Sender<bool>> = std::sync::OnceLock::new();
        Self(NEVER.get_or_init(|| watch::channel(false).0).subscribe())
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    pub(crate) async fn cancelled(&mut self) {
        loop {
            if *self.0.borrow_and_update() {
                return;
            }
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The command line and runtime description for a function.
#[derive(Debug, Clone)]
pub struct LaunchPlan {
    /// What to execute (environment without the per-sandbox addresses filled in).
    pub command: LaunchCommand,
    /// What ran, for the sample.
    pub runtime: RuntimeInfo,
}

/// The local backend.
///
/// It runs on any tokio runtime. A current-thread runtime, on a thread of its own when the
/// program does other work, costs the fewest wake-ups per cold start: the Runtime API
/// server, the output readers and the sandbox task then share one thread.
#[derive(Debug)]
pub struct LocalEmulator {
    options: EmulatorOptions,
    cgroups: Option<CgroupSupport>,
    pool: cgroup::CgroupPool,
    /// The next sandbox's kit, made during the last teardown.
    spare_kit: std::sync::Mutex<Option<SandboxKit>>,
    /// A finished sandbox's `/tmp` that was left as it was made, for the next kit.
    spare_tmp: std::sync::Mutex<Option<SandboxTmpDir>>,
    /// Finished sandboxes' `/tmp`s to remove during the next teardown, not while the next
    /// runtime starts.
    doomed_tmp: std::sync::Mutex<Vec<SandboxTmpDir>>,
}

/// Kills the sandbox's process group if a cold start is abandoned half-way (its future
/// dropped), so nothing outlives it; its temporary directory goes with it.
struct SandboxGuard {
    pgid: Option<i32>,
    /// Removed when dropped; the teardown takes it earlier.
    tmp_dir: Option<SandboxTmpDir>,
}

impl Drop for SandboxGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            process::kill_group(pgid);
        }
    }
}

/// A sandbox's `/tmp`, removed when dropped.
#[derive(Debug)]
struct SandboxTmpDir {
    path: PathBuf,
    /// The directory as it was made, to tell whether it can serve another sandbox.
    made: DirIdentity,
}

/// What a fresh sandbox `/tmp` looks like: which directory (device and inode), its
/// permissions and its inode change time, so one that was replaced or changed in any way
/// (an entry made or removed, chmod, chown, an ACL or extended attribute) is never
/// handed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DirIdentity {
    dev: u64,
    ino: u64,
    mode: u32,
    ctime_s: i64,
    ctime_ns: i64,
}

impl DirIdentity {
    fn of(path: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(path)?;
        if !meta.is_dir() {
            return Err(std::io::Error::other(format!("{} is not a directory", path.display())));
        }
        Ok(Self {
            dev: meta.dev(),
            ino: meta.ino(),
            mode: meta.mode(),
            ctime_s: meta.ctime(),
            ctime_ns: meta.ctime_nsec(),
        })
    }
}

impl SandboxTmpDir {
    /// Whether the directory is still the one made for a sandbox, unchanged and empty, as
    /// a fresh one would be.
    fn is_as_new(&self) -> bool {
        DirIdentity::of(&self.path).is_ok_and(|now| now == self.made)
            && std::fs::read_dir(&self.path).is_ok_and(|mut entries| entries.next().is_none())
    }

    fn create() -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "coldfront-sandbox-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        match DirIdentity::of(&dir) {
            Ok(made) => Ok(Self { path: dir, made }),
            Err(err) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(err)
            }
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// Work for the cleanup thread.
enum Cleanup {
    Remove(PathBuf),
    /// Answered once everything queued before it is done.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The one thread that removes sandbox directories, so no cold start waits for it.
fn cleaner() -> Option<&'static std::sync::mpsc::Sender<Cleanup>> {
    static CLEANER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Cleanup>>> = std::sync::OnceLock::new();
    CLEANER
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Cleanup>();
            std::thread::Builder::new()
                .name("coldfront-cleanup".to_owned())
                .spawn(move || {
                    for job in rx {
                        match job {
                            Cleanup::Remove(dir) => {
                                let _ = std::fs::remove_dir_all(dir);
                            }
                            Cleanup::Flush(done) => {
                                let _ = done.send(());
                            }
                        }
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

impl Drop for SandboxTmpDir {
    fn drop(&mut self) {
        // Removing the sandbox's files is cleanup, not measurement: nobody waits for it
        // (until the emulator is dropped, see `LocalEmulator`'s `Drop`).
        let dir = std::mem::take(&mut self.path);
        let Some(cleaner) = cleaner() else {
            let _ = std::fs::remove_dir_all(dir);
            return;
        };
        if let Err(std::sync::mpsc::SendError(Cleanup::Remove(dir))) = cleaner.send(Cleanup::Remove(dir)) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Drop for LocalEmulator {
    /// Waits (up to five seconds) for the sandboxes' directories to be removed, the
    /// spare kit's included: the process may exit right after, and a detached thread
    /// would then leave them in `/tmp`.
    fn drop(&mut self) {
        if let Ok(spare) = self.spare_kit.get_mut() {
            drop(spare.take());
        }
        if let Ok(spare) = self.spare_tmp.get_mut() {
            drop(spare.take());
        }
        if let Ok(doomed) = self.doomed_tmp.get_mut() {
            doomed.clear();
        }
        if let Some(cleaner) = cleaner() {
            let (done_tx, done) = std::sync::mpsc::channel();
            if cleaner.send(Cleanup::Flush(done_tx)).is_ok() {
                let _ = done.recv_timeout(Duration::from_secs(5));
            }
        }
    }
}

/// What a sandbox needs before its runtime starts and that does not depend on the
/// function: the Runtime API and X-Ray listeners on loopback and a `/tmp` as new. The next
/// cold start's kit is made while the previous runtime is being torn down, which the
/// emulator has to wait for anyway, so setting it up costs the next cold start nothing.
struct SandboxKit {
    /// The kit's servers are tasks of this runtime; another runtime makes its own.
    runtime_id: tokio::runtime::Id,
    tmp_dir: SandboxTmpDir,
    api: RuntimeApi,
    /// The X-Ray listener's time origin, set to the runtime's exec once it is known.
    origin_ns: Arc<AtomicU64>,
    xray: xray::XrayListener,
    /// The launch plan for these servers, made in advance for the function the kit was
    /// prepared after; a cold start of another function makes its own.
    plan: Option<(FunctionSpec, LaunchPlan)>,
}

impl std::fmt::Debug for SandboxKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxKit")
            .field("tmp_dir", &self.tmp_dir.path())
            .field("runtime_api", &self.api.addr())
            .field("xray", &self.xray.addr())
            .finish_non_exhaustive()
    }
}

impl SandboxKit {
    /// A kit around `tmp_dir` (a fresh one when `None`).
    async fn prepare(tmp_dir: Option<SandboxTmpDir>) -> std::io::Result<Self> {
        let tmp_dir = match tmp_dir {
            Some(dir) => dir,
            None => SandboxTmpDir::create()?,
        };
        let api = RuntimeApi::start().await?;
        let origin_ns = Arc::new(AtomicU64::new(monotonic_ns()));
        let xray = xray::XrayListener::bind(origin_ns.clone())?;
        Ok(Self {
            runtime_id: tokio::runtime::Handle::current().id(),
            tmp_dir,
            api,
            origin_ns,
            xray,
            plan: None,
        })
    }

    /// The launch plan for `spec` on this kit's servers.
    fn launch_plan(&self, emulator: &LocalEmulator, spec: &FunctionSpec) -> Result<LaunchPlan, EmulatorError> {
        emulator.launch_plan(
            spec,
            &self.api.addr().to_string(),
            &self.xray.addr().to_string(),
            self.tmp_dir.path(),
        )
    }

    /// Whether it can serve a sandbox run from the current task: its servers run on this
    /// task's runtime and are still up.
    fn usable_here(&self) -> bool {
        tokio::runtime::Handle::try_current().is_ok_and(|h| h.id() == self.runtime_id) && self.api.is_serving()
    }
}

/// The variable naming the sandbox's log stream, `YYYY/MM/DD/[$LATEST]<id>`.
const LOG_STREAM_VARIABLE: &str = "AWS_LAMBDA_LOG_STREAM_NAME";

fn log_stream_name() -> String {
    format!(
        "{}/[$LATEST]{}",
        chrono::Utc::now().format("%Y/%m/%d"),
        ids::segment_id() + &ids::segment_id()
    )
}

/// Everything a cold start accumulates before it becomes a sample.
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
}

enum Waited {
    Api(Option<ApiEvent>),
    Exited(process::ExitInfo),
    Deadline,
    Cancelled,
}

impl LocalEmulator {
    /// An emulator; detects cgroup support once when throttling is on.
    pub fn new(options: EmulatorOptions) -> Self {
        process::become_subreaper();
        Self {
            cgroups: Some(CgroupSupport::detect()),
            options,
            pool: cgroup::CgroupPool::default(),
            spare_kit: std::sync::Mutex::new(None),
            spare_tmp: std::sync::Mutex::new(None),
            doomed_tmp: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// An emulator like this one without import timing, for the plain cold starts run
    /// beside instrumented ones so headline figures carry none of the instrumentation.
    #[must_use]
    pub fn without_import_timing(&self) -> Self {
        Self::new(EmulatorOptions {
            import_timing: false,
            ..self.options.clone()
        })
    }

    /// Whether cold starts record Python's import timing.
    pub fn import_timing(&self) -> bool {
        self.options.import_timing
    }

    /// Whether functions will be throttled, and if not, why.
    pub fn throttling(&self) -> Throttling {
        match &self.cgroups {
            _ if !self.options.throttle => Throttling::Disabled,
            None => Throttling::Disabled,
            Some(CgroupSupport::Unavailable(reason)) => Throttling::Unavailable(reason.clone()),
            Some(_) => Throttling::Applied,
        }
    }

    /// The options in use.
    pub fn options(&self) -> &EmulatorOptions {
        &self.options
    }

    /// Resolves how a function's runtime is started, without starting it. The environment
    /// is Lambda's, with `runtime_api` and `xray_daemon` (`host:port`) and `tmp_dir` filled
    /// in; the benchmark uses this to spawn the very same command without a server.
    pub fn launch_plan(
        &self,
        spec: &FunctionSpec,
        runtime_api: &str,
        xray_daemon: &str,
        tmp_dir: &Path,
    ) -> Result<LaunchPlan, EmulatorError> {
        let launch_error = |program: &Path, reason: String| EmulatorError::Launch {
            function: spec.name.clone(),
            program: program.to_owned(),
            reason,
        };
        let needs_python = spec.runtime != RuntimeKind::Provided
            || spec
                .command
                .as_ref()
                .is_some_and(|c| c.iter().any(|a| a.contains("{python}")));
        let mut python = if needs_python {
            Some(resolve_python(&spec.interpreter)?)
        } else {
            None
        };
        let mut interpreter_base = None;
        if spec.runtime == RuntimeKind::Python && !spec.site_packages {
            interpreter_base = python.as_ref().map(|p| p.path.clone());
            python = match python {
                Some(base) => Some(clean_python(&base, &bundled::cache_root())?),
                None => None,
            };
        }
        let bootstrap_dir;
        let (program, args, runtime_version) = match (&spec.command, spec.runtime) {
            (Some(command), _) => {
                let expand = |s: &str| {
                    python
                        .as_ref()
                        .map_or_else(|| s.to_owned(), |p| s.replace("{python}", &p.path.to_string_lossy()))
                };
                let program = PathBuf::from(expand(&command[0]));
                let program = if program.is_relative() && program.components().count() > 1 {
                    spec.code_dir.join(program)
                } else {
                    program
                };
                bootstrap_dir = spec.code_dir.clone();
                (
                    program,
                    command[1..].iter().map(|a| expand(a)).collect(),
                    "provided:local".to_owned(),
                )
            }
            (None, RuntimeKind::Python) => {
                let python = python.as_ref().expect("resolved above");
                let bootstrap = bundled::compiled_python_bootstrap(&python.path)?;
                bootstrap_dir = bootstrap
                    .parent()
                    .map_or_else(|| spec.code_dir.clone(), Path::to_path_buf);
                (
                    python.path.clone(),
                    vec![bootstrap.to_string_lossy().into_owned()],
                    format!("python:{}.local", python.major_minor()),
                )
            }
            (None, RuntimeKind::PythonAwslambdaric) => {
                let python = python.as_ref().expect("resolved above");
                bootstrap_dir = spec.code_dir.clone();
                (
                    python.path.clone(),
                    vec!["-m".to_owned(), "awslambdaric".to_owned(), spec.handler.clone()],
                    format!("python:{}.awslambdaric", python.major_minor()),
                )
            }
            (None, RuntimeKind::Provided) => {
                bootstrap_dir = spec.code_dir.clone();
                (spec.code_dir.join("bootstrap"), Vec::new(), "provided:local".to_owned())
            }
        };
        if program.components().count() > 1 && !process::is_executable(&program) {
            return Err(launch_error(
                &program,
                "no such executable file (check `command`, or `chmod +x` the bootstrap)".to_owned(),
            ));
        }
        let path_dirs = python
            .as_ref()
            .and_then(|p| p.path.parent())
            .map(|d| format!("{}:", d.display()))
            .unwrap_or_default();
        let mut env: Vec<(String, String)> = vec![
            ("_HANDLER".into(), spec.handler.clone()),
            ("LAMBDA_TASK_ROOT".into(), spec.code_dir.to_string_lossy().into_owned()),
            (
                "LAMBDA_RUNTIME_DIR".into(),
                bootstrap_dir.to_string_lossy().into_owned(),
            ),
            ("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME".into(), spec.name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), spec.memory_mb.to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME".into(), format!("/aws/lambda/{}", spec.name)),
            (LOG_STREAM_VARIABLE.into(), log_stream_name()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
            ("AWS_REGION".into(), self.options.region.clone()),
            ("AWS_DEFAULT_REGION".into(), self.options.region.clone()),
            ("AWS_XRAY_DAEMON_ADDRESS".into(), xray_daemon.to_owned()),
            (
                "_AWS_XRAY_DAEMON_ADDRESS".into(),
                xray_daemon.rsplit_once(':').map_or(xray_daemon, |(h, _)| h).to_owned(),
            ),
            (
                "_AWS_XRAY_DAEMON_PORT".into(),
                xray_daemon.rsplit_once(':').map_or("2000", |(_, p)| p).to_owned(),
            ),
            ("AWS_XRAY_CONTEXT_MISSING".into(), "LOG_ERROR".into()),
            ("TZ".into(), ":UTC".into()),
            ("LANG".into(), "en_US.UTF-8".into()),
            (
                "PATH".into(),
                format!("{path_dirs}/usr/local/bin:/usr/bin:/bin:/opt/bin"),
            ),
            ("TMPDIR".into(), tmp_dir.to_string_lossy().into_owned()),
        ];
        if let Some(python) = &python {
            env.push((
                "AWS_EXECUTION_ENV".into(),
                format!("AWS_Lambda_python{}", python.major_minor()),
            ));
            // Lambda's task root is read-only, so Python cannot cache bytecode there either.
            env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
            env.push(("PYTHONUNBUFFERED".into(), "1".into()));
            if self.options.import_timing {
                env.push(("PYTHONPROFILEIMPORTTIME".into(), "1".into()));
            }
        }
        for (key, value) in &spec.env {
            env.retain(|(k, _)| k != key);
            env.push((key.clone(), value.clone()));
        }
        // The import-marks hook finds the handler's import in the `-X importtime` stream
        // whatever loads it; it takes itself off the path again before any runtime code runs.
        if self.options.import_timing
            && let Some(python) = &python
        {
            let hook = bundled::import_marks_dir(&python.path)?.to_string_lossy().into_owned();
            match env.iter_mut().find(|(k, _)| k == "PYTHONPATH") {
                Some((_, value)) => *value = format!("{hook}:{value}"),
                None => env.push(("PYTHONPATH".into(), hook)),
            }
        }
        Ok(LaunchPlan {
            command: LaunchCommand {
                program: program.clone(),
                args: args.clone(),
                env,
                cwd: spec.code_dir.clone(),
            },
            runtime: RuntimeInfo {
                kind: spec.runtime,
                program,
                args,
                interpreter_version: python.map(|p| p.version),
                interpreter_base,
                runtime_version,
            },
        })
    }

    /// Starts `spec` cold, runs its invokes and returns everything observed. Function
    /// failures (init errors, timeouts, crashes) are recorded in the sample; only failures
    /// to set up the sandbox are errors.
    pub async fn cold_start(
        &self,
        spec: &FunctionSpec,
        sample_index: u64,
        mut cancel: Cancel,
    ) -> Result<ColdStartSample, EmulatorError> {
        let setup_started = std::time::Instant::now();
        // A kit's `/tmp` is checked here, just before its sandbox starts: while it waited,
        // the sandbox before (same user, a guessable name) could have written into it.
        let spare = self.spare_kit.lock().expect("spare kit lock").take();
        let mut kit = if let Some(kit) = spare.filter(|kit| kit.usable_here() && kit.tmp_dir.is_as_new()) {
            kit
        } else {
            let spare_tmp = self
                .spare_tmp
                .lock()
                .expect("spare tmp lock")
                .take()
                .filter(SandboxTmpDir::is_as_new);
            SandboxKit::prepare(spare_tmp).await?
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
        let (throttling, cgroup) = match &self.cgroups {
            None => (Throttling::Disabled, None),
            Some(support) => {
                let name = format!("{}-{}-{}", std::process::id(), sample_index, ids::segment_id());
                let limit = self.options.throttle.then_some(spec.memory_mb);
                match (self.pool.acquire(support, &name, limit), self.options.throttle) {
                    (Ok(group), true) => (Throttling::Applied, Some(group)),
                    (Ok(group), false) => (Throttling::Disabled, Some(group)),
                    (Err(reason), true) => (Throttling::Unavailable(reason), None),
                    (Err(_), false) => (Throttling::Disabled, None),
                }
            }
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
        let mut pending = Some(offer_invocation(&api, spec, &function_arn).0);
        let anchor = WallAnchor::now();
        let mut child = process::spawn(
            plan.command.clone(),
            procs,
            self.options.capture_limit_bytes,
            cgroup.as_ref().and_then(cgroup::SandboxCgroup::spawner),
        )
        .await
        .map_err(|err| EmulatorError::Launch {
            function: spec.name.clone(),
            program: plan.command.program.clone(),
            reason: err.to_string(),
        })?;
        guard.pgid = Some(child.pid);
        // Opened now, while INIT runs, so the teardown only has to read it.
        let runtime_status = process::StatusFile::open(child.pid).ok();
        origin_ns.store(child.exec_ns, Ordering::Relaxed);
        // INIT starts when the runtime process starts (exec), as on Lambda, where sandbox
        // creation is not part of Init Duration.
        let spawn_ns = child.exec_ns;
        let sandbox_setup_ms = ms_between(child.spawn_ns, child.exec_ns);
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

        let mut exit: Option<process::ExitInfo> = None;
        let mut last_peak_kb = 0_u64;
        // Descendants inherit the sandbox's environment; this entry finds them in /proc.
        let marker = format!("AWS_LAMBDA_RUNTIME_API={}", api.addr());

        // INIT: wait for the first GET /next, an init error, an exit, the timeout or Ctrl-C.
        let init_deadline = tokio::time::Instant::now()
            + Duration::from_millis(spec.init_timeout_ms)
                .saturating_sub(Duration::from_nanos(monotonic_ns().saturating_sub(spawn_ns)));
        let mut init = InitRecord {
            status: InitStatus::Success,
            duration_ms: None,
            elapsed_ms: 0.0,
            error: None,
            spawn_monotonic_ns: spawn_ns,
            sandbox_setup_ms,
            ready_monotonic_ns: None,
            marks: std::collections::BTreeMap::new(),
        };
        let mut delivered: Option<Delivered> = None;
        loop {
            match wait(&mut api, &mut child, &mut exit, Some(init_deadline), &mut cancel).await {
                Waited::Api(Some(ApiEvent::Next {
                    at_ns,
                    marks,
                    delivered: first,
                })) => {
                    delivered = first;
                    init.marks = marks.as_deref().map(parse_marks).unwrap_or_default();
                    init.duration_ms = Some(ms_between(spawn_ns, at_ns));
                    init.elapsed_ms = ms_between(spawn_ns, at_ns);
                    init.ready_monotonic_ns = Some(at_ns);
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
                    init.elapsed_ms = ms_between(spawn_ns, monotonic_ns());
                    init.error = Some(FunctionError::platform(
                        "Runtime.InitTimeout",
                        format!(
                            "INIT did not finish within {:.2} seconds",
                            spec.init_timeout_ms as f64 / 1000.0
                        ),
                    ));
                    break;
                }
                Waited::Cancelled => {
                    init.status = InitStatus::Interrupted;
                    init.elapsed_ms = ms_between(spawn_ns, monotonic_ns());
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

        // Invokes: the first is the cold one.
        let mut invokes = Vec::new();
        let mut final_invoke: Option<Unreported> = None;
        if init.status == InitStatus::Success {
            for index in 0..spec.invokes {
                if index > 0 {
                    let (next, at) = offer_invocation(&api, spec, &function_arn);
                    pending = Some(next);
                    delivered = at;
                }
                if delivered.is_none() {
                    // The runtime asks for the next event after answering the previous one.
                    let deadline = tokio::time::Instant::now() + Duration::from_millis(spec.timeout_ms);
                    loop {
                        match wait(&mut api, &mut child, &mut exit, Some(deadline), &mut cancel).await {
                            Waited::Api(Some(ApiEvent::Next {
                                delivered: Some(at), ..
                            })) => {
                                delivered = Some(at);
                                break;
                            }
                            Waited::Api(Some(ApiEvent::Problem(problem))) => rec.problem(problem),
                            Waited::Api(_) => {}
                            Waited::Exited(_) | Waited::Deadline | Waited::Cancelled => break,
                        }
                    }
                }
                let Some(started) = delivered.take() else {
                    let reason = exit.map_or_else(
                        || "the runtime did not ask for the next event".to_owned(),
                        |info| format!("the runtime exited between invokes with {}", describe_exit(&info)),
                    );
                    rec.platform_log
                        .push(format!("coldfront: stopped after {index} invokes: {reason}"));
                    break;
                };
                let unreported = self
                    .invoke(
                        spec,
                        index == 0,
                        &init,
                        pending.take().expect("an invocation is offered before each invoke"),
                        started,
                        &mut api,
                        &mut child,
                        &mut exit,
                        &mut cancel,
                        &mut rec,
                    )
                    .await;
                let stop = !matches!(
                    unreported.record.status,
                    InvokeStatus::Success | InvokeStatus::Error | InvokeStatus::ResponseTooLarge
                ) || index + 1 == spec.invokes;
                if stop {
                    // Reported after the teardown, which reads every process's peak just
                    // before the kill.
                    final_invoke = Some(unreported);
                    break;
                }
                if exit.is_none() {
                    last_peak_kb =
                        last_peak_kb.max(process::peak_rss_kb(&sandbox_pids(child.pid, cgroup.as_ref(), &marker)));
                }
                invokes.push(rec.report(unreported, spec.memory_mb, last_peak_kb));
            }
        }

        let teardown_started = std::time::Instant::now();
        // Teardown: find every process of the sandbox while they are still alive —
        // children in the process group, daemons that left it (found by the cgroup and by
        // the sandbox's environment, which descendants inherit) — then kill them all, and
        // reap each one that has been re-parented to this process, so no zombie is left.
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
        // runtime gone is done meanwhile:
        // a second sweep of the cgroup for anything forked after the first, the last
        // invoke's END and REPORT when the runtime's peak was read before the kill, and
        // the next sandbox's servers with its launch plan. A failed kit only means the
        // next cold start makes its own.
        // Without a cgroup to prove every process gone, the `/tmp` is never handed on.
        let tmp_dir_unreusable = if cgroup.is_none() { guard.tmp_dir.take() } else { None };
        let meanwhile = async {
            if let Some(group) = &cgroup {
                group.kill_all();
            }
            drop(tmp_dir_unreusable);
            self.doomed_tmp.lock().expect("doomed tmp lock").clear();
            if let Some(peak_kb) = peak_read_before_kill_kb
                && let Some(unreported) = final_invoke.take()
            {
                invokes.push(rec.report(unreported, spec.memory_mb, peak_kb));
            }
            let spare_tmp = self.spare_tmp.lock().expect("spare tmp lock").take();
            let mut kit = SandboxKit::prepare(spare_tmp).await?;
            kit.plan = kit.launch_plan(self, spec).ok().map(|plan| {
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
            *self.spare_kit.lock().expect("spare kit lock") = Some(kit);
        }
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
        tracing::debug!(
            elapsed_ms = teardown_started.elapsed().as_secs_f64() * 1000.0,
            "teardown: output and X-Ray collected"
        );
        let sandbox = SandboxRecord {
            throttling,
            cgroup: cgroup.as_ref().and_then(cgroup::SandboxCgroup::record),
        };
        tracing::debug!(
            elapsed_ms = teardown_started.elapsed().as_secs_f64() * 1000.0,
            "teardown: before cgroup release"
        );
        // A `/tmp` left as it was made serves a later sandbox, which saves creating and
        // removing a directory per cold start (about 0.1 ms of file-system work, with
        // journal writes, here); it is checked again before that sandbox starts. Only
        // where the cgroup proves this sandbox's processes gone. Any other is removed
        // during the next teardown rather than while the next runtime starts.
        let all_gone = cgroup.is_some_and(|group| self.pool.release(group));
        if let Some(tmp_dir) = guard.tmp_dir.take() {
            if all_gone && tmp_dir.is_as_new() {
                *self.spare_tmp.lock().expect("spare tmp lock") = Some(tmp_dir);
            } else {
                self.doomed_tmp.lock().expect("doomed tmp lock").push(tmp_dir);
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
        Ok(ColdStartSample {
            schema_version: SAMPLE_SCHEMA_VERSION,
            function: spec.name.clone(),
            handler: spec.handler.clone(),
            task_root: spec.code_dir.clone(),
            task_root_bytes: top_level_modules(&spec.code_dir).into_iter().collect(),
            task_root_vendored: vendored_modules(&spec.code_dir),
            labels: crate::sample::SampleLabels::default(),
            sample_index,
            started_at: rec.at(spawn_ns),
            memory_size_mb: spec.memory_mb,
            backend: "local".to_owned(),
            runtime: plan.runtime,
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
        })
    }
}

/// Whether two specs start the same runtime the same way, so one's launch plan serves the
/// other. Every field is named, so a new one has to be sorted into this or not.
fn launches_alike(a: &FunctionSpec, b: &FunctionSpec) -> bool {
    let FunctionSpec {
        name,
        runtime,
        code_dir,
        handler,
        command,
        interpreter,
        site_packages,
        memory_mb,
        env,
        timeout_ms: _,
        init_timeout_ms: _,
        invokes: _,
        event: _,
        description: _,
    } = a;
    *name == b.name
        && *runtime == b.runtime
        && *code_dir == b.code_dir
        && *handler == b.handler
        && *command == b.command
        && *interpreter == b.interpreter
        && *site_packages == b.site_packages
        && *memory_mb == b.memory_mb
        && *env == b.env
}

/// Top-level modules of each task root seen, with their sizes.
type TaskRootCache = std::collections::HashMap<PathBuf, Vec<(String, u64)>>;

fn tree_bytes(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path).map_or(0, |entries| {
            entries.filter_map(Result::ok).map(|e| tree_bytes(&e.path())).sum()
        }),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}

/// Names importable from the top of a task root (packages and modules) with their size
/// on disk, read once per directory: a deployment package does not change during a run.
/// Top-level modules the distributions installed in the task root own (`pip install
/// --target`, as Lambda deployment packages are built), read from their `RECORD` files.
fn vendored_modules(root: &Path) -> std::collections::BTreeSet<String> {
    type Cache = std::collections::HashMap<PathBuf, std::collections::BTreeSet<String>>;
    static CACHE: std::sync::OnceLock<std::sync::Mutex<Cache>> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().expect("vendored cache").get(root) {
        return found.clone();
    }
    let mut modules = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(root).into_iter().flatten().filter_map(Result::ok) {
        if !entry.file_name().to_string_lossy().ends_with(".dist-info") {
            continue;
        }
        let Ok(record) = std::fs::read_to_string(entry.path().join("RECORD")) else {
            continue;
        };
        for line in record.lines() {
            let path = line.split(',').next().unwrap_or_default();
            let top = path.split('/').next().unwrap_or_default();
            let top = top.strip_suffix(".py").unwrap_or(top);
            if !top.is_empty() && !top.contains(['-', '.']) && top != "__pycache__" && !path.starts_with("..") {
                modules.insert(top.to_owned());
            }
        }
    }
    cache
        .lock()
        .expect("vendored cache")
        .insert(root.to_owned(), modules.clone());
    modules
}

fn top_level_modules(root: &Path) -> Vec<(String, u64)> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<TaskRootCache>> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.lock().expect("task root cache").get(root) {
        return found.clone();
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut modules: Vec<(String, u64)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            // A directory counts when Python could import it: it holds Python files.
            let has_python = || {
                std::fs::read_dir(&path).is_ok_and(|mut inside| {
                    inside.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".py")))
                })
            };
            let module = if path.is_dir()
                && !name.starts_with('.')
                && name != "__pycache__"
                && !name.contains('-')
                && has_python()
            {
                Some(name)
            } else {
                name.strip_suffix(".py").map(str::to_owned)
            };
            module.map(|m| (m, tree_bytes(&path)))
        })
        .collect();
    modules.sort();
    cache
        .lock()
        .expect("task root cache")
        .insert(root.to_owned(), modules.clone());
    modules
}

/// Parses `name=ns;name=ns` from the bootstrap's marks header; bad parts are skipped.
fn parse_marks(text: &str) -> std::collections::BTreeMap<String, u64> {
    text.split(';')
        .filter_map(|part| {
            let (name, value) = part.split_once('=')?;
            Some((name.trim().to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// Every process of a sandbox. Its cgroup knows them all, even those that left the
/// process group; without one, the process group and the sandbox's inherited
/// environment (`marker`) are searched in `/proc`, which is slower.
fn sandbox_pids(pgid: i32, cgroup: Option<&cgroup::SandboxCgroup>, marker: &str) -> Vec<i32> {
    if let Some(group) = cgroup {
        group.pids()
    } else {
        let mut pids = process::group_members(pgid);
        pids.extend(process::processes_with_env(marker));
        pids
    }
}

fn describe_exit(info: &process::ExitInfo) -> String {
    match (info.code, info.signal) {
        (Some(code), _) => format!("exit status {code}"),
        (_, Some(signal)) => format!(
            "signal {signal} ({})",
            nix::sys::signal::Signal::try_from(signal).map_or("unknown", |s| s.as_str())
        ),
        _ => "an unknown status".to_owned(),
    }
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

impl LocalEmulator {
    #[allow(clippy::too_many_arguments)]
    async fn invoke(
        &self,
        spec: &FunctionSpec,
        cold: bool,
        init: &InitRecord,
        pending: PendingInvoke,
        delivered: Delivered,
        api: &mut RuntimeApi,
        child: &mut process::Spawned,
        exit: &mut Option<process::ExitInfo>,
        cancel: &mut Cancel,
        rec: &mut Recorder,
    ) -> Unreported {
        let PendingInvoke {
            request_id,
            trace_header,
            trace_root,
            segment_id,
        } = pending;
        // The invoke runs from the moment the runtime got the event.
        let start_ns = delivered.at_ns;
        let deadline = tokio::time::Instant::now()
            + Duration::from_millis(spec.timeout_ms)
                .saturating_sub(Duration::from_nanos(monotonic_ns().saturating_sub(start_ns)));
        rec.platform_log.push(platform_log::start(&request_id, "$LATEST"));
        rec.telemetry.push(telemetry::start(
            rec.at(start_ns),
            &request_id,
            "$LATEST",
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
        let end_ns = loop {
            match wait(api, child, exit, Some(deadline), cancel).await {
                Waited::Api(Some(ApiEvent::Response {
                    request_id: id,
                    at_ns,
                    bytes,
                    preview,
                })) if id == request_id => {
                    record.response_bytes = bytes;
                    record.response_preview = preview;
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
                Waited::Api(Some(ApiEvent::Problem(problem))) => rec.problem(problem),
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
                    let seconds = spec.timeout_ms as f64 / 1000.0;
                    record.error = Some(FunctionError::platform(
                        "Sandbox.Timedout",
                        format!("Task timed out after {seconds:.2} seconds"),
                    ));
                    rec.platform_log.push(format!(
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
        let init_ms = if cold { init.duration_ms } else { None };
        record.billed_duration_ms = ((record.duration_ms + init_ms.unwrap_or(0.0)).ceil() as u64).max(1);
        Unreported {
            record,
            end_ns,
            init_ms,
            trace_root,
            segment_id,
        }
    }
}

/// An invocation offered to the runtime, with the ids its records need.
struct PendingInvoke {
    request_id: String,
    trace_header: String,
    trace_root: String,
    segment_id: String,
}

/// Makes the next invocation of `spec` (fresh request and trace ids) and offers it to
/// the runtime; with its delivery when a `GET /next` was waiting for it.
fn offer_invocation(api: &RuntimeApi, spec: &FunctionSpec, function_arn: &str) -> (PendingInvoke, Option<Delivered>) {
    let request_id = ids::request_id();
    let trace_root = ids::trace_root(chrono::Utc::now().timestamp());
    let segment_id = ids::segment_id();
    let trace_header = ids::trace_header(&trace_root, &segment_id);
    let delivered = api.offer(Invocation {
        request_id: request_id.clone(),
        timeout_ms: spec.timeout_ms,
        function_arn: function_arn.to_owned(),
        trace_header: trace_header.clone(),
        body: spec.event.clone(),
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
    end_ns: u64,
    init_ms: Option<f64>,
    trace_root: String,
    segment_id: String,
}

impl Recorder {
    /// Completes an invoke with the sandbox's peak memory so far: its `Max Memory Used`,
    /// the Telemetry API `runtimeDone` and `report` events and the END/REPORT/XRAY lines.
    fn report(&mut self, unreported: Unreported, memory_size_mb: u32, peak_kb: u64) -> InvokeRecord {
        let Unreported {
            mut record,
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
