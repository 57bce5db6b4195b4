//! Execution environments, as Lambda keeps them: an invoke takes an idle environment of
//! the same function version and configuration when there is one (warm), else starts a
//! new one (cold) while the function is under its concurrency limit, else is throttled.
//! An environment idle for longer than the idle time is torn down; a change to the
//! function retires all of its environments (busy ones when their invoke ends), so the
//! next invoke is cold — the way AWS users force cold starts.
//!
//! Each environment is a task that owns its [`Sandbox`](init_trace::local::Sandbox); invokes reach it over a channel
//! and answers come back on a oneshot, so no sandbox state is shared. When an environment
//! ends, its whole life ([`ColdStartSample`]) goes to the sample sink.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use init_trace::local::{Cancel, CancelHandle, Invoked, LocalEmulator, cancel_pair};
use init_trace::sample::{ColdStartSample, InitRecord, XrayDocument};
use init_trace::spec::FunctionSpec;
use tokio::sync::{Notify, mpsc, oneshot};

/// Which environments can serve an invoke: same function, version and configuration
/// generation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EnvKey {
    function: String,
    version: String,
    generation: u64,
}

/// What an environment tells the invoker.
#[derive(Debug)]
pub enum Outcome {
    /// The invoke ran.
    Invoked {
        /// Its record, response and log.
        invoked: Box<Invoked>,
        /// INIT, when this invoke started the environment.
        cold_init: Option<InitRecord>,
        /// When the environment's runtime started (wall clock).
        environment_started_at: chrono::DateTime<chrono::Utc>,
        /// The function's X-Ray documents received so far in this environment.
        xray_documents: Vec<XrayDocument>,
    },
    /// INIT failed, so the invoke could not run; the log holds INIT's report.
    InitFailed {
        /// How INIT ended.
        init: InitRecord,
        /// The environment's platform log and output tail.
        log: String,
    },
    /// The emulator could not set the environment up.
    SetupFailed(String),
    /// The environment could not take the invoke (its runtime had gone).
    Gone,
}

/// The invoke was throttled: the function has `limit` environments busy.
#[derive(Debug, Clone, Copy)]
pub struct Throttled {
    /// The concurrency limit that was reached.
    pub limit: u32,
}

struct Job {
    event: String,
    reply: oneshot::Sender<Outcome>,
}

struct Idle {
    id: u64,
    jobs: mpsc::Sender<Job>,
}

#[derive(Default)]
struct State {
    idle: HashMap<EnvKey, Vec<Idle>>,
    /// Environments alive (starting, busy or idle) per function.
    live: HashMap<String, u32>,
    /// Bumped by every retirement of a (function, version).
    generations: HashMap<(String, String), u64>,
    /// Environments started so far (cold starts), per function.
    cold_starts: HashMap<String, u64>,
    shutting_down: bool,
}

/// The environments of every function.
pub struct Pool {
    emulator: Arc<LocalEmulator>,
    state: Mutex<State>,
    idle_timeout: Duration,
    next_id: AtomicU64,
    sink: mpsc::UnboundedSender<ColdStartSample>,
    cancel: Cancel,
    cancel_handle: CancelHandle,
    all_ended: Notify,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool on `emulator`; every ended environment's sample goes to `sink`.
    pub fn new(
        emulator: Arc<LocalEmulator>,
        idle_timeout: Duration,
        sink: mpsc::UnboundedSender<ColdStartSample>,
    ) -> Arc<Self> {
        let (cancel_handle, cancel) = cancel_pair();
        Arc::new(Self {
            emulator,
            state: Mutex::new(State::default()),
            idle_timeout,
            next_id: AtomicU64::new(0),
            sink,
            cancel,
            cancel_handle,
            all_ended: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("pool lock")
    }

    fn key(&self, function: &str, version: &str) -> EnvKey {
        let generation = self
            .lock()
            .generations
            .get(&(function.to_owned(), version.to_owned()))
            .copied()
            .unwrap_or(0);
        EnvKey {
            function: function.to_owned(),
            version: version.to_owned(),
            generation,
        }
    }

    /// Runs `event` on `spec` (as `version`): warm in an idle environment, else cold in a
    /// new one while the function has fewer than `limit` environments.
    pub async fn invoke(
        self: &Arc<Self>,
        spec: &FunctionSpec,
        version: &str,
        event: String,
        limit: u32,
    ) -> Result<Outcome, Throttled> {
        let key = self.key(&spec.name, version);
        let mut event = event;
        loop {
            let idle = self.lock().idle.get_mut(&key).and_then(Vec::pop);
            let Some(idle) = idle else { break };
            let (reply, answer) = oneshot::channel();
            match idle.jobs.send(Job { event, reply }).await {
                Ok(()) => return Ok(answer.await.unwrap_or(Outcome::Gone)),
                // It was reclaimed between the pop and the send: try the next.
                Err(mpsc::error::SendError(job)) => event = job.event,
            }
        }
        {
            let mut state = self.lock();
            if state.shutting_down {
                return Ok(Outcome::SetupFailed("coldfront serve is shutting down".to_owned()));
            }
            let live = state.live.entry(spec.name.clone()).or_default();
            if *live >= limit {
                return Err(Throttled { limit });
            }
            *live += 1;
            *state.cold_starts.entry(spec.name.clone()).or_default() += 1;
        }
        let (reply, answer) = oneshot::channel();
        let pool = self.clone();
        let spec = FunctionSpec {
            event: event.clone(),
            ..spec.clone()
        };
        tokio::spawn(async move {
            pool.environment(key, spec, Job { event, reply }).await;
        });
        Ok(answer.await.unwrap_or(Outcome::Gone))
    }

    /// One environment's life.
    async fn environment(self: Arc<Self>, key: EnvKey, spec: FunctionSpec, first: Job) {
        let index = self.next_id.fetch_add(1, Ordering::Relaxed);
        let emulator = self.emulator.clone();
        let sandbox = emulator.start_sandbox(&spec, index, self.cancel.clone()).await;
        let mut sandbox = match sandbox {
            Ok(sandbox) => sandbox,
            Err(err) => {
                let _ = first.reply.send(Outcome::SetupFailed(err.to_string()));
                self.ended(&key.function);
                return;
            }
        };
        sandbox.set_version(&key.version);
        let started_at = sandbox.started_at();
        let mut job = Some(first);
        let mut cold = true;
        while let Some(Job { event, reply }) = job.take() {
            let outcome = if cold && sandbox.init().status != init_trace::sample::InitStatus::Success {
                let init = sandbox.init().clone();
                let log = init
                    .error
                    .as_ref()
                    .map_or_else(String::new, |e| format!("{}: {}\n", e.error_type, e.error_message));
                Outcome::InitFailed { init, log }
            } else {
                match sandbox.invoke(&event).await {
                    Some(invoked) => Outcome::Invoked {
                        invoked: Box::new(invoked),
                        cold_init: cold.then(|| sandbox.init().clone()),
                        environment_started_at: started_at,
                        xray_documents: sandbox.xray_documents_so_far(),
                    },
                    None => Outcome::Gone,
                }
            };
            cold = false;
            let _ = reply.send(outcome);
            if !sandbox.is_usable() {
                break;
            }
            job = self.wait_idle(&key).await;
        }
        let sample = sandbox.finish().await;
        let _ = self.sink.send(sample);
        self.ended(&key.function);
    }

    /// Parks the environment as idle until an invoke takes it (`Some`), or it is
    /// reclaimed, retired or the pool shuts down (`None`).
    async fn wait_idle(&self, key: &EnvKey) -> Option<Job> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (jobs, mut incoming) = mpsc::channel(1);
        {
            let mut state = self.lock();
            let current = state
                .generations
                .get(&(key.function.clone(), key.version.clone()))
                .copied()
                .unwrap_or(0);
            if state.shutting_down || current != key.generation {
                return None;
            }
            state.idle.entry(key.clone()).or_default().push(Idle { id, jobs });
        }
        loop {
            if let Ok(job) = tokio::time::timeout(self.idle_timeout, incoming.recv()).await {
                return job;
            }
            let mut state = self.lock();
            let list = state.idle.entry(key.clone()).or_default();
            if let Some(at) = list.iter().position(|idle| idle.id == id) {
                list.remove(at);
                return None;
            }
            // An invoke took it just now; its job is on the way.
        }
    }

    fn ended(&self, function: &str) {
        let mut state = self.lock();
        if let Some(live) = state.live.get_mut(function) {
            *live = live.saturating_sub(1);
        }
        if state.live.values().all(|n| *n == 0) {
            self.all_ended.notify_waiters();
        }
    }

    /// Retires every environment of `function` at `version` (all versions when `None`):
    /// idle ones end now, busy ones when their invoke ends.
    pub fn retire(&self, function: &str, version: Option<&str>) {
        let mut state = self.lock();
        // Every version the function has environments or a generation for, and $LATEST.
        let versions: std::collections::BTreeSet<String> = match version {
            Some(v) => std::iter::once(v.to_owned()).collect(),
            None => state
                .idle
                .keys()
                .filter(|k| k.function == function)
                .map(|k| k.version.clone())
                .chain(
                    state
                        .generations
                        .keys()
                        .filter(|(f, _)| f == function)
                        .map(|(_, v)| v.clone()),
                )
                .chain(std::iter::once("$LATEST".to_owned()))
                .collect(),
        };
        for version in versions {
            *state
                .generations
                .entry((function.to_owned(), version.clone()))
                .or_default() += 1;
            state
                .idle
                .retain(|k, _| !(k.function == function && k.version == version));
        }
    }

    /// Environments alive (starting, busy or idle) for `function`.
    pub fn live(&self, function: &str) -> u32 {
        self.lock().live.get(function).copied().unwrap_or(0)
    }

    /// Idle environments for `function`.
    pub fn idle(&self, function: &str) -> usize {
        self.lock()
            .idle
            .iter()
            .filter(|(k, _)| k.function == function)
            .map(|(_, list)| list.len())
            .sum()
    }

    /// Cold starts so far for `function`.
    pub fn cold_starts(&self, function: &str) -> u64 {
        self.lock().cold_starts.get(function).copied().unwrap_or(0)
    }

    /// Ends every environment: idle ones at once, busy ones interrupted (their invoke
    /// is recorded as interrupted). Returns once all have written their samples, or
    /// after `within`.
    pub async fn shutdown(&self, within: Duration) {
        {
            let mut state = self.lock();
            state.shutting_down = true;
            state.idle.clear();
        }
        self.cancel_handle.cancel();
        let wait = async {
            loop {
                let notified = self.all_ended.notified();
                if self.lock().live.values().all(|n| *n == 0) {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(within, wait).await;
    }
}
