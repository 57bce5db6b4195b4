//! The embedded Lambda emulator: starts a function's runtime process cold on loopback and
//! records what Lambda would.
//!
//! One [`LocalEmulator::cold_start`] is one sandbox lifetime: a fresh Runtime API server
//! and X-Ray listener on ephemeral loopback ports (in a network namespace of the
//! sandbox's own where the machine allows), a fresh cgroup with Lambda's CPU share and
//! memory limit, Lambda's filesystem view (`isolation`), a new process. Init Duration is measured as Lambda
//! defines it — from spawn to the runtime's first `GET /runtime/invocation/next` — then the
//! configured invokes run (the first is the cold one) and the whole process tree is killed
//! and reaped. Every failure ends in a recorded sample, never a hang: INIT and invoke
//! timeouts are enforced, process exits are noticed at once through `wait4`.

mod cgroup;
mod direct;
mod isolation;
mod launch;
mod leftovers;
mod process;
mod runtime_api;
mod sandbox;
mod xray;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

pub use cgroup::{CgroupSupport, MB_PER_VCPU, cpu_cores_for};
pub use isolation::{SANDBOX_USER_NAME, SandboxUser, TASK_ROOT_IN_SANDBOX};
pub use launch::{BareRun, run_bare};
pub use process::{LOG_TAIL_BYTES, LaunchCommand};
pub use runtime_api::MAX_RESPONSE_BYTES;
pub use sandbox::{Invoked, Sandbox};
pub use xray::{Datagram, parse_datagram};

use crate::clock::monotonic_ns;
use crate::interpreter::{InterpreterError, clean_python, resolve_python};
use crate::sample::{ColdStartSample, Isolation, RuntimeInfo, Throttling};
use crate::spec::{FunctionSpec, RuntimeKind};
use crate::{bundled, ids};
use runtime_api::RuntimeApi;

/// How the emulator runs functions.
// Each switch is independent of the others, and callers set them by name.
#[allow(clippy::struct_excessive_bools)]
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
    /// Give each sandbox Lambda's filesystem view: a private `/tmp` of the function's
    /// ephemeral storage size, the task root read-only at `/var/task`, the rest of the
    /// host read-only, the runtime as [`sandbox_user`](Self::sandbox_user). Needs root;
    /// `false` keeps the host's view (the host's `/tmp` with a `TMPDIR` per sandbox, the
    /// task root where it is, coldfront's own user).
    pub private_filesystem: bool,
    /// Bind each sandbox's Runtime API and X-Ray daemon inside a network namespace of the
    /// sandbox's own, so no other local process can reach them. The runtime then has
    /// loopback only, no other network. Needs root; `false` serves them on the host's
    /// loopback.
    pub isolate_runtime_api: bool,
    /// Who the runtime runs as in Lambda's filesystem view.
    pub sandbox_user: SandboxUser,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            throttle: true,
            region: "us-east-1".to_owned(),
            account_id: "000000000000".to_owned(),
            capture_limit_bytes: 1024 * 1024,
            import_timing: false,
            private_filesystem: true,
            isolate_runtime_api: true,
            sandbox_user: SandboxUser::default(),
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
    /// The function has layers, and its sandbox cannot show them at `/opt`.
    #[error(
        "function {function:?} has layers, which appear at /opt only in Lambda's filesystem view, and this sandbox has the host's: {reason}"
    )]
    Layers {
        /// The function.
        function: String,
        /// Why the sandbox has the host's view.
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

    /// Resolves once cancellation is requested.
    pub async fn cancelled(&mut self) {
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
    /// Found when first needed, so an emulator that runs no sandbox touches no cgroup.
    cgroups: std::sync::OnceLock<CgroupSupport>,
    /// What isolation the machine allows, probed when first needed.
    isolation: std::sync::OnceLock<isolation::IsolationSupport>,
    pool: cgroup::CgroupPool,
    /// The next sandbox's kit, made during the last teardown.
    spare_kit: std::sync::Mutex<Option<SandboxKit>>,
    /// A finished sandbox's `/tmp` that was left as it was made, for the next kit.
    spare_tmp: std::sync::Mutex<Option<SandboxTmpDir>>,
    /// Finished sandboxes' `/tmp`s to remove during the next teardown, not while the next
    /// runtime starts.
    doomed_tmp: std::sync::Mutex<Vec<SandboxTmpDir>>,
    /// The account files that name the sandbox user, written when the first sandbox gets
    /// Lambda's filesystem view, in a directory of their own that goes with the emulator.
    accounts: std::sync::OnceLock<Option<(SandboxTmpDir, isolation::AccountFiles)>>,
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
            "{}{}-{}",
            leftovers::TMP_DIR_PREFIX,
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
    /// Other slow file-system work, such as the sweep of a killed run's leftovers.
    Run(Box<dyn FnOnce() + Send>),
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
                            Cleanup::Run(job) => job(),
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

/// Runs blocking cleanup `job` on the cleanup thread (inline when that thread cannot be
/// had), so a teardown on the async path never waits for it. `LocalEmulator`'s `Drop`
/// waits for every queued job.
fn off_the_async_path(job: impl FnOnce() + Send + 'static) {
    let Some(cleaner) = cleaner() else {
        job();
        return;
    };
    if let Err(std::sync::mpsc::SendError(Cleanup::Run(job))) = cleaner.send(Cleanup::Run(Box::new(job))) {
        job();
    }
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
        drop(self.accounts.take());
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
    /// The network namespace the servers listen in, when the Runtime API is isolated.
    netns: Option<std::os::fd::OwnedFd>,
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
    /// A kit around `tmp_dir` (a fresh one when `None`), its servers in a network namespace
    /// of their own when `isolated`.
    async fn prepare(tmp_dir: Option<SandboxTmpDir>, isolated: bool) -> std::io::Result<Self> {
        let tmp_dir = match tmp_dir {
            Some(dir) => dir,
            None => SandboxTmpDir::create()?,
        };
        let (netns, api_socket, xray_socket) = if isolated {
            let net = isolation::sandbox_net().await?;
            (Some(net.ns), Some(net.api), Some(net.xray))
        } else {
            (None, None, None)
        };
        let api = RuntimeApi::start(api_socket).await?;
        let origin_ns = Arc::new(AtomicU64::new(monotonic_ns()));
        let xray = xray::XrayListener::bind(origin_ns.clone(), xray_socket)?;
        Ok(Self {
            runtime_id: tokio::runtime::Handle::current().id(),
            tmp_dir,
            api,
            netns,
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
    /// task's runtime, are still up and are isolated as `isolated` asks.
    fn usable_here(&self, isolated: bool) -> bool {
        tokio::runtime::Handle::try_current().is_ok_and(|h| h.id() == self.runtime_id)
            && self.api.is_serving()
            && self.netns.is_some() == isolated
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

impl LocalEmulator {
    /// An emulator. It changes nothing in the process or the machine until its first
    /// sandbox starts (see [`LocalEmulator::start_sandbox`]).
    pub fn new(options: EmulatorOptions) -> Self {
        Self {
            cgroups: std::sync::OnceLock::new(),
            isolation: std::sync::OnceLock::new(),
            options,
            pool: cgroup::CgroupPool::default(),
            spare_kit: std::sync::Mutex::new(None),
            spare_tmp: std::sync::Mutex::new(None),
            doomed_tmp: std::sync::Mutex::new(Vec::new()),
            accounts: std::sync::OnceLock::new(),
        }
    }

    /// Removes, once per process, what runs killed with SIGKILL left: the sandbox cgroups
    /// and `/tmp`s of coldfront processes that are gone (`leftovers`). It runs on the
    /// cleanup thread, so the first sandbox does not wait for it, and dropping the
    /// emulator waits for it as for any other cleanup.
    fn sweep_leftovers_once(&self) {
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| {
            let cgroup_parents = match self.cgroups() {
                CgroupSupport::V2 { parent } => vec![parent.clone()],
                CgroupSupport::V1 {
                    cpu_parent,
                    memory_parent,
                } => vec![cpu_parent.clone(), memory_parent.clone()],
                CgroupSupport::Unavailable(_) => Vec::new(),
            };
            let sweep = move || {
                let mut swept = leftovers::Swept::default();
                leftovers::sweep_cgroups(&cgroup_parents, &mut swept);
                leftovers::sweep_tmp_dirs(&std::env::temp_dir(), &mut swept);
                if !swept.cgroups.is_empty() || !swept.tmp_dirs.is_empty() {
                    tracing::info!(
                        cgroups = swept.cgroups.len(),
                        tmp_dirs = swept.tmp_dirs.len(),
                        "removed what killed coldfront runs left behind"
                    );
                }
                for (path, reason) in &swept.failed {
                    tracing::warn!(path = %path.display(), reason, "cannot remove a killed run's leftover");
                }
            };
            match cleaner() {
                Some(cleaner) => {
                    if let Err(std::sync::mpsc::SendError(Cleanup::Run(sweep))) =
                        cleaner.send(Cleanup::Run(Box::new(sweep)))
                    {
                        sweep();
                    }
                }
                None => sweep(),
            }
        });
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

    /// Whether functions will be throttled, and if not, why. The first call finds out
    /// (creating coldfront's cgroup parent when throttling is on).
    pub fn throttling(&self) -> Throttling {
        if !self.options.throttle {
            return Throttling::Disabled;
        }
        match self.cgroups() {
            CgroupSupport::Unavailable(reason) => Throttling::Unavailable(reason.clone()),
            _ => Throttling::Applied,
        }
    }

    /// Whether sandboxes get Lambda's filesystem view, and if not, why (probed on the
    /// first call; see [`EmulatorOptions::private_filesystem`]).
    pub fn filesystem_view(&self) -> Isolation {
        self.isolation_support()
            .filesystem_record(self.options.private_filesystem)
    }

    /// Whether sandboxes' Runtime APIs are reachable from the sandbox alone, and if not,
    /// why (see [`EmulatorOptions::isolate_runtime_api`]).
    pub fn runtime_api_isolation(&self) -> Isolation {
        self.isolation_support()
            .network_record(self.options.isolate_runtime_api)
    }

    /// The cgroups the machine offers, found on first use. The cpu and memory controllers
    /// are switched on for coldfront's subtree only when throttling is on.
    fn cgroups(&self) -> &CgroupSupport {
        self.cgroups.get_or_init(|| {
            if self.options.throttle {
                CgroupSupport::detect()
            } else {
                CgroupSupport::detect_for_tracking()
            }
        })
    }

    /// What isolation the machine allows, probed once (about a millisecond) and only for
    /// what the options ask for. A refusal is logged here; front ends print it from
    /// [`filesystem_view`](Self::filesystem_view) and
    /// [`runtime_api_isolation`](Self::runtime_api_isolation).
    fn isolation_support(&self) -> &isolation::IsolationSupport {
        self.isolation.get_or_init(|| {
            let support = isolation::IsolationSupport::probe(
                self.options.private_filesystem,
                self.options.isolate_runtime_api,
                self.options.sandbox_user,
            );
            if let Err(reason) = &support.filesystem {
                tracing::warn!("sandboxes get the host's filesystem view, not Lambda's: {reason}");
            }
            if let Err(reason) = &support.network {
                tracing::warn!(
                    "sandboxes' Runtime APIs are on the host's loopback, open to any local process: {reason}"
                );
            }
            support
        })
    }

    /// Whether this emulator's sandboxes get a network namespace.
    fn runtime_api_isolated(&self) -> bool {
        self.options.isolate_runtime_api && self.isolation_support().network.is_ok()
    }

    /// The child's view for `spec`, when this emulator's sandboxes get Lambda's.
    fn child_view(&self, spec: &FunctionSpec) -> Option<isolation::ChildView> {
        (self.options.private_filesystem && self.isolation_support().filesystem.is_ok()).then(|| isolation::ChildView {
            task_root: spec.code_dir.clone(),
            tmp_size_mb: spec.ephemeral_storage_mb,
            layers: spec.layers.clone(),
            user: self.options.sandbox_user,
            accounts: self.account_files(),
        })
    }

    /// The account files naming the sandbox user, written once. Without them the sandbox
    /// still runs: the user is then unnamed, and looking it up costs what
    /// [`AccountFiles`](isolation::AccountFiles) says.
    fn account_files(&self) -> Option<isolation::AccountFiles> {
        self.accounts
            .get_or_init(|| {
                let written = SandboxTmpDir::create().and_then(|dir| {
                    let files = isolation::AccountFiles::write(dir.path(), Path::new("/etc"), self.options.sandbox_user)?;
                    Ok(files.map(|files| (dir, files)))
                });
                written.unwrap_or_else(|err| {
                    tracing::warn!("the sandbox user has no name inside sandboxes (its account files could not be written: {err}); looking it up will be slower than on Lambda");
                    None
                })
            })
            .as_ref()
            .map(|(_, files)| files.clone())
    }

    /// What a process starting sandboxes must be, done once, when the first starts: the
    /// reaper of its orphaned descendants (a runtime may daemonise a helper).
    fn process_wide_setup_once() {
        static DONE: std::sync::Once = std::sync::Once::new();
        DONE.call_once(process::become_subreaper);
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
        // Lambda's runtimes look for layer content under `/opt`: executables in `bin` (on
        // PATH above), libraries in `lib`, and for Python `python` and its
        // `lib/pythonX.Y/site-packages` (docs/sources.md, "Lambda layers").
        if !spec.layers.is_empty() {
            env.push(("LD_LIBRARY_PATH".into(), "/opt/lib".into()));
            if let Some(python) = &python {
                env.push((
                    "PYTHONPATH".into(),
                    format!(
                        "/opt/python/lib/python{}/site-packages:/opt/python",
                        python.major_minor()
                    ),
                ));
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

    /// Starts `spec` cold, runs its invokes and returns everything observed: one
    /// [`Sandbox`]'s life. Function failures (init errors, timeouts, crashes) are recorded
    /// in the sample; only failures to set up the sandbox are errors.
    pub async fn cold_start(
        &self,
        spec: &FunctionSpec,
        sample_index: u64,
        cancel: Cancel,
    ) -> Result<ColdStartSample, EmulatorError> {
        let mut sandbox = self.start_sandbox(spec, sample_index, cancel).await?;
        sandbox.run_planned_invokes().await;
        Ok(sandbox.finish().await)
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
        layers,
        // The size of `/tmp` is the child's mount, not the launch plan.
        ephemeral_storage_mb: _,
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
        && *layers == b.layers
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
