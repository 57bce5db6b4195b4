//! The TUI's model, its messages and `update`, Elm style: the model is only changed here,
//! drawing is a pure function of it, and anything with side effects (starting a run,
//! writing files) is returned as an [`Effect`] for the event loop to carry out.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hdrhistogram::sync::{Recorder, SyncHistogram};
use init_trace::attribution::{Attribution, attribute};
use init_trace::sample::ColdStartSample;
use init_trace::spec::FunctionSpec;
use init_trace::stats::{Interval, bootstrap_diff_ci, duration_histogram, median};

use super::cache::CacheState;
use super::edge::EdgeState;

/// Memory sizes the user cycles through (Lambda's range, with 1,769 MB = one vCPU).
pub(crate) const MEMORY_SIZES_MB: &[u32] = &[128, 256, 512, 1024, 1769, 3008, 10_240];
/// Cold starts per variant a run aims for, stepped with `+`/`-`.
pub(crate) const TARGET_STEPS: &[u32] = &[5, 10, 20, 30, 50, 100, 200, 500, 1_000, 10_000];
/// The difference interval uses at most this many recent values per variant, so its cost
/// stays flat however long a session runs.
const DIFF_WINDOW: usize = 500;
/// How often the difference interval may be recomputed while samples stream in.
const DIFF_REFRESH: Duration = Duration::from_millis(500);
/// Failed cold starts kept for inspection (all are counted).
const FAILURES_KEPT: usize = 100;

/// The views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    ColdStarts,
    Cache,
    EdgeAuth,
}

impl View {
    pub(crate) const ALL: [View; 3] = [View::ColdStarts, View::Cache, View::EdgeAuth];

    pub(crate) fn title(self) -> &'static str {
        match self {
            View::ColdStarts => "1 Cold starts",
            View::Cache => "2 Cache",
            View::EdgeAuth => "3 Edge auth",
        }
    }
}

/// The state of the measurement run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunState {
    Idle,
    Running,
    Paused,
    Stopping,
    Finished,
    /// Ended by the user's stop (`x`, Ctrl-C): not a failure.
    Stopped,
    Failed(String),
}

/// A panel over the cold-starts view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Panel {
    None,
    /// Imports by package of the selected variant; the index is the highlighted package.
    Packages {
        variant: usize,
        selected: usize,
    },
    /// A package's import tree.
    ImportTree {
        variant: usize,
        package: String,
        scroll: usize,
    },
    /// Failed cold starts; the index is the highlighted one.
    Failures {
        selected: usize,
    },
}

/// What the user is typing, when a prompt is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prompt {
    pub label: String,
    pub text: String,
}

/// One failed cold start, kept for inspection.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FailureRow {
    pub function: String,
    pub sample_index: u64,
    pub outcome: String,
    pub message: String,
    pub stderr_tail: String,
}

/// A function in the cold-starts view, and what has been measured of it.
pub(crate) struct VariantState {
    pub name: String,
    pub histogram: SyncHistogram<u64>,
    pub init_ms: Vec<f32>,
    /// Init Duration plus the cold invoke: what a request meeting a cold start waits.
    pub cold_ms: Vec<f32>,
    /// Warm invokes.
    pub warm_ms: Vec<f32>,
    /// Sum of each top-level segment over the attributed samples, by name, in tree order.
    pub segment_sums_ms: Vec<(String, f64)>,
    pub attributed: usize,
    pub failures: usize,
    /// Cold starts the user's stop cut short: neither successes nor failures.
    pub stopped: usize,
    /// The attribution of the latest attributed cold start, with its index in the run.
    pub latest: Option<(u64, Attribution)>,
}

impl std::fmt::Debug for VariantState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VariantState")
            .field("name", &self.name)
            .field("n", &self.init_ms.len())
            .finish_non_exhaustive()
    }
}

impl VariantState {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            histogram: duration_histogram().into_sync(),
            init_ms: Vec::new(),
            cold_ms: Vec::new(),
            warm_ms: Vec::new(),
            segment_sums_ms: Vec::new(),
            attributed: 0,
            failures: 0,
            stopped: 0,
            latest: None,
        }
    }

    /// Mean of each top-level segment.
    pub(crate) fn segment_means_ms(&self) -> Vec<(String, f64)> {
        let n = self.attributed.max(1) as f64;
        self.segment_sums_ms
            .iter()
            .map(|(name, sum)| (name.clone(), sum / n))
            .collect()
    }
}

/// Everything the TUI shows.
#[derive(Debug)]
pub(crate) struct App {
    pub view: View,
    pub help: bool,
    pub quit: bool,
    pub functions: Vec<FunctionSpec>,
    pub subject: usize,
    pub control: usize,
    pub memory_index: usize,
    pub target_index: usize,
    pub run: RunState,
    pub completed: u64,
    pub planned: u64,
    pub variants: Vec<VariantState>,
    pub failures: VecDeque<FailureRow>,
    pub panel: Panel,
    /// The cold start the packages panel and its import trees were opened on. Pinned when
    /// the panel opens, so that new samples arriving during a run never make the package
    /// list and its drill-down describe different cold starts.
    pub pinned: Option<(u64, Attribution)>,
    /// The CPU share and memory limit the latest cold start actually ran under (none
    /// before the first): the header shows this, not what was asked for.
    pub throttling: Option<init_trace::sample::Throttling>,
    pub diff: Option<(f64, Option<Interval>)>,
    diff_computed: Option<Instant>,
    diff_stale: bool,
    pub status: String,
    pub prompt: Option<Prompt>,
    pub cache: CacheState,
    pub edge: EdgeState,
    /// The `coldfront serve` whose invocations are shown, when attached.
    pub attached: Option<String>,
}

/// Everything that can happen.
#[derive(Debug)]
pub(crate) enum Message {
    Key(KeyInput),
    Tick,
    /// A cold start finished (from the measurement worker).
    Sample(Box<ColdStartSample>),
    /// The worker stopped: finished, stopped, or failed with the reason.
    RunEnded(Result<(), String>),
    /// A side effect finished; the text goes to the status line.
    Status(String),
    /// The cache view's background work reported.
    Cache(super::cache::CacheEvent),
    /// The edge-auth view's background measurement reported.
    Edge(super::edge::EdgeEvent),
    /// Invocations a `coldfront serve` the UI is attached to ran since the last poll.
    Served(Vec<lambda_api::InvocationSummary>),
    Resize,
}

/// A key press, independent of the terminal library so tests can script it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyInput {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Backspace,
    CtrlC,
}

/// Side effects `update` asks the event loop to perform.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    StartRun {
        subject: Box<FunctionSpec>,
        control: Option<Box<FunctionSpec>>,
        memory_mb: u32,
        cold_starts: u32,
    },
    Pause(bool),
    StopRun,
    Export(PathBuf),
    Cache(super::cache::CacheEffect),
    Edge(super::edge::EdgeEffect),
}

impl App {
    pub(crate) fn new(functions: Vec<FunctionSpec>, cache: CacheState, edge: EdgeState) -> Self {
        let find = |name: &str| functions.iter().position(|f| f.name == name);
        let subject = find("wiki").unwrap_or(0);
        let control = find("control").unwrap_or(usize::from(functions.len() > 1 && subject == 0));
        let memory_mb = functions.get(subject).map_or(512, |f| f.memory_mb);
        let memory_index = MEMORY_SIZES_MB.iter().position(|m| *m >= memory_mb).unwrap_or(2);
        let mut app = Self {
            view: View::ColdStarts,
            help: false,
            quit: false,
            functions,
            subject,
            control,
            memory_index,
            target_index: 1,
            run: RunState::Idle,
            completed: 0,
            planned: 0,
            variants: Vec::new(),
            failures: VecDeque::new(),
            panel: Panel::None,
            pinned: None,
            throttling: None,
            diff: None,
            diff_computed: None,
            diff_stale: false,
            status: "Press r to start a run of cold starts, ? for help".to_owned(),
            prompt: None,
            cache,
            edge,
            attached: None,
        };
        app.reset_variants();
        app
    }

    fn has_control(&self) -> bool {
        self.functions.len() > 1 && self.control != self.subject
    }

    pub(crate) fn memory_mb(&self) -> u32 {
        MEMORY_SIZES_MB[self.memory_index]
    }

    pub(crate) fn target(&self) -> u32 {
        TARGET_STEPS[self.target_index]
    }

    pub(crate) fn running(&self) -> bool {
        matches!(self.run, RunState::Running | RunState::Paused | RunState::Stopping)
    }

    fn reset_variants(&mut self) {
        let mut variants = vec![VariantState::new(&self.functions[self.subject].name)];
        if self.has_control() {
            variants.push(VariantState::new(&self.functions[self.control].name));
        }
        self.variants = variants;
        self.failures.clear();
        self.completed = 0;
        self.diff = None;
        self.panel = Panel::None;
    }

    /// A recorder for the worker measuring `variant` (wait-free recording; the UI refreshes
    /// its histogram with a timeout on every tick).
    pub(crate) fn recorder(&self, variant: usize) -> Recorder<u64> {
        self.variants[variant].histogram.recorder()
    }

    fn refresh_histograms(&mut self) {
        for variant in &mut self.variants {
            variant.histogram.refresh_timeout(Duration::from_millis(1));
        }
    }

    fn recompute_diff(&mut self, now: Instant) {
        if self.variants.len() < 2 || !self.diff_stale {
            return;
        }
        if self
            .diff_computed
            .is_some_and(|at| now.duration_since(at) < DIFF_REFRESH)
        {
            return;
        }
        let window = |v: &VariantState| -> Vec<f64> {
            v.init_ms
                .iter()
                .rev()
                .take(DIFF_WINDOW)
                .map(|ms| f64::from(*ms))
                .collect()
        };
        let (a, b) = (window(&self.variants[0]), window(&self.variants[1]));
        if a.is_empty() || b.is_empty() {
            return;
        }
        self.diff = Some((median(&a) - median(&b), bootstrap_diff_ci(&a, &b, median, 0x5eed)));
        self.diff_computed = Some(now);
        self.diff_stale = false;
    }

    fn take_sample(&mut self, sample: &ColdStartSample) {
        let Some(index) = self.variants.iter().position(|v| v.name == sample.function) else {
            return;
        };
        self.completed += 1;
        self.throttling = Some(sample.sandbox.throttling.clone());
        let variant = &mut self.variants[index];
        if let Some(ms) = sample.init.duration_ms {
            variant.init_ms.push(ms as f32);
        }
        // The cache view's origin latencies, derived as `cdn --from-run` derives them
        // (the variant is the function; a warm-up gives nothing).
        if let Some(latencies) = init_trace::origin::origin_sample(sample) {
            variant.cold_ms.extend(latencies.cold_ms.map(|ms| ms as f32));
            variant.warm_ms.extend(latencies.warm_ms.iter().map(|ms| *ms as f32));
        }
        if sample.stopped() {
            variant.stopped += 1;
        } else if sample.failed() {
            variant.failures += 1;
            let error = sample
                .init
                .error
                .as_ref()
                .or_else(|| sample.invokes.iter().find_map(|i| i.error.as_ref()));
            let stderr: Vec<&str> = sample
                .stderr
                .text
                .lines()
                .filter(|l| !l.starts_with("import time:"))
                .collect();
            let tail = stderr[stderr.len().saturating_sub(30)..].join("\n");
            self.failures.push_back(FailureRow {
                function: sample.function.clone(),
                sample_index: sample.sample_index,
                outcome: sample.outcome(),
                message: error.map_or_else(String::new, |e| e.error_message.clone()),
                stderr_tail: tail,
            });
            if self.failures.len() > FAILURES_KEPT {
                self.failures.pop_front();
            }
        }
        if let Ok(attribution) = attribute(sample) {
            for segment in &attribution.segments {
                match variant
                    .segment_sums_ms
                    .iter_mut()
                    .find(|(name, _)| name == &segment.name)
                {
                    Some((_, sum)) => *sum += segment.ms,
                    None => variant.segment_sums_ms.push((segment.name.clone(), segment.ms)),
                }
            }
            variant.attributed += 1;
            variant.latest = Some((sample.sample_index, attribution));
        }
        self.diff_stale = true;
    }

    /// Shows a running `coldfront serve`'s invocations instead of running cold starts
    /// here: a variant per function, as its invocations arrive.
    pub(crate) fn attach(&mut self, url: &str) {
        self.attached = Some(url.to_owned());
        self.variants.clear();
        self.run = RunState::Running;
        self.status = format!("Attached to {url}: waiting for invocations (invoke its functions to see them here)");
    }

    /// Folds served invocations in: Init Duration of cold ones into the histogram and
    /// the cold latencies, warm ones into the warm latencies.
    fn take_served(&mut self, invocations: &[lambda_api::InvocationSummary]) {
        for invocation in invocations {
            let index = if let Some(index) = self.variants.iter().position(|v| v.name == invocation.function) {
                index
            } else {
                self.variants.push(VariantState::new(&invocation.function));
                self.variants.len() - 1
            };
            let variant = &mut self.variants[index];
            match (invocation.cold, invocation.init_ms) {
                (true, Some(init_ms)) => {
                    self.completed += 1;
                    variant.init_ms.push(init_ms as f32);
                    variant.cold_ms.push((init_ms + invocation.duration_ms) as f32);
                    variant
                        .histogram
                        .recorder()
                        .saturating_record((init_ms * 1000.0).round().max(1.0) as u64);
                }
                (true, None) => variant.failures += 1,
                (false, _) => variant.warm_ms.push(invocation.duration_ms as f32),
            }
        }
        if let Some(url) = &self.attached
            && !invocations.is_empty()
        {
            let warm: usize = self.variants.iter().map(|v| v.warm_ms.len()).sum();
            self.status = format!(
                "Attached to {url}: {} cold starts, {warm} warm invokes so far",
                self.completed
            );
        }
        self.diff_stale = true;
    }

    fn start_effect(&mut self) -> Option<Effect> {
        if let Some(url) = &self.attached {
            self.status = format!("Attached to {url}: runs start from its clients; r works in the local UI only");
            return None;
        }
        if self.running() {
            self.status = "A run is already in progress (p pauses, x stops)".to_owned();
            return None;
        }
        self.reset_variants();
        let cold_starts = self.target();
        self.planned = u64::from(cold_starts) * self.variants.len() as u64;
        self.run = RunState::Running;
        self.status = format!("Running {} cold starts at {} MB…", self.planned, self.memory_mb());
        let mut subject = self.functions[self.subject].clone();
        subject.memory_mb = self.memory_mb();
        let control = self.has_control().then(|| {
            let mut control = self.functions[self.control].clone();
            control.memory_mb = self.memory_mb();
            control
        });
        Some(Effect::StartRun {
            subject: Box::new(subject),
            control: control.map(Box::new),
            memory_mb: self.memory_mb(),
            cold_starts,
        })
    }

    fn cycle_function(&mut self, control: bool) {
        if self.running() {
            self.status = "Stop the run (x) before changing functions".to_owned();
            return;
        }
        let count = self.functions.len();
        if control {
            self.control = (self.control + 1) % count;
            if self.control == self.subject {
                self.control = (self.control + 1) % count;
            }
        } else {
            self.subject = (self.subject + 1) % count;
            if self.subject == self.control && count > 1 {
                self.control = (self.control + 1) % count;
            }
        }
        self.reset_variants();
        self.run = RunState::Idle;
    }

    fn cold_starts_key(&mut self, key: KeyInput) -> Option<Effect> {
        // Panels take the arrows and Enter while open.
        match (&self.panel, key) {
            (Panel::Packages { variant, selected }, KeyInput::Up) => {
                self.panel = Panel::Packages {
                    variant: *variant,
                    selected: selected.saturating_sub(1),
                };
                return None;
            }
            (Panel::Packages { variant, selected }, KeyInput::Down) => {
                let count = self.pinned.as_ref().map_or(0, |(_, a)| a.packages.len());
                self.panel = Panel::Packages {
                    variant: *variant,
                    selected: (*selected + 1).min(count.saturating_sub(1)),
                };
                return None;
            }
            (Panel::Packages { variant, selected }, KeyInput::Enter) => {
                if let Some(package) = self.pinned.as_ref().and_then(|(_, a)| a.packages.get(*selected)) {
                    self.panel = Panel::ImportTree {
                        variant: *variant,
                        package: package.package.clone(),
                        scroll: 0,
                    };
                }
                return None;
            }
            (
                Panel::ImportTree {
                    variant,
                    package,
                    scroll,
                },
                KeyInput::Down,
            ) => {
                self.panel = Panel::ImportTree {
                    variant: *variant,
                    package: package.clone(),
                    scroll: scroll + 1,
                };
                return None;
            }
            (
                Panel::ImportTree {
                    variant,
                    package,
                    scroll,
                },
                KeyInput::Up,
            ) => {
                self.panel = Panel::ImportTree {
                    variant: *variant,
                    package: package.clone(),
                    scroll: scroll.saturating_sub(1),
                };
                return None;
            }
            (Panel::ImportTree { variant, .. }, KeyInput::Esc | KeyInput::Backspace) => {
                self.panel = Panel::Packages {
                    variant: *variant,
                    selected: 0,
                };
                return None;
            }
            (Panel::Failures { selected }, KeyInput::Up) => {
                self.panel = Panel::Failures {
                    selected: selected.saturating_sub(1),
                };
                return None;
            }
            (Panel::Failures { selected }, KeyInput::Down) => {
                self.panel = Panel::Failures {
                    selected: (*selected + 1).min(self.failures.len().saturating_sub(1)),
                };
                return None;
            }
            (Panel::Packages { .. } | Panel::Failures { .. }, KeyInput::Esc) => {
                self.panel = Panel::None;
                return None;
            }
            _ => {}
        }
        match key {
            KeyInput::Char('r') | KeyInput::Enter => return self.start_effect(),
            KeyInput::Char('p') => match self.run {
                RunState::Running => {
                    self.run = RunState::Paused;
                    self.status = "Paused after the current cold start (p resumes)".to_owned();
                    return Some(Effect::Pause(true));
                }
                RunState::Paused => {
                    self.run = RunState::Running;
                    self.status = "Resumed".to_owned();
                    return Some(Effect::Pause(false));
                }
                _ => self.status = "Nothing to pause".to_owned(),
            },
            KeyInput::Char('x') => {
                if matches!(self.run, RunState::Running | RunState::Paused) {
                    self.run = RunState::Stopping;
                    self.status = "Stopping: the cold start in progress is recorded, then the run ends".to_owned();
                    return Some(Effect::StopRun);
                }
                self.status = "No run to stop".to_owned();
            }
            KeyInput::Char('s') => self.cycle_function(false),
            KeyInput::Char('c') => self.cycle_function(true),
            KeyInput::Char('m') => {
                if self.running() {
                    self.status = "Stop the run (x) before changing the memory size".to_owned();
                } else {
                    self.memory_index = (self.memory_index + 1) % MEMORY_SIZES_MB.len();
                    self.reset_variants();
                }
            }
            KeyInput::Char('+' | '=') => self.target_index = (self.target_index + 1).min(TARGET_STEPS.len() - 1),
            KeyInput::Char('-') => self.target_index = self.target_index.saturating_sub(1),
            KeyInput::Char('d') => {
                let variant = match &self.panel {
                    Panel::Packages { variant, .. } => (variant + 1) % self.variants.len(),
                    _ => 0,
                };
                if let Some(latest) = self.variants[variant]
                    .latest
                    .as_ref()
                    .filter(|(_, a)| !a.packages.is_empty())
                {
                    self.pinned = Some(latest.clone());
                    self.panel = Panel::Packages { variant, selected: 0 };
                } else {
                    self.status = format!(
                        "No import breakdown for {} yet: run some cold starts first",
                        self.variants[variant].name
                    );
                }
            }
            KeyInput::Char('f') => {
                if self.failures.is_empty() {
                    self.status = "No failed cold starts".to_owned();
                } else {
                    self.panel = Panel::Failures {
                        selected: self.failures.len() - 1,
                    };
                }
            }
            _ => {}
        }
        None
    }
}

/// The default export directory offered in the prompt.
pub(crate) fn default_export_dir() -> String {
    format!("coldfront-export/{}", chrono::Local::now().format("%Y%m%d-%H%M%S"))
}

/// Applies a message; returns a side effect for the event loop, if any.
pub(crate) fn update(app: &mut App, message: Message) -> Option<Effect> {
    match message {
        Message::Tick => {
            app.refresh_histograms();
            app.recompute_diff(Instant::now());
            None
        }
        Message::Resize => None,
        Message::Sample(sample) => {
            app.take_sample(&sample);
            None
        }
        Message::Served(invocations) => {
            app.take_served(&invocations);
            None
        }
        Message::RunEnded(result) => {
            app.run = match result {
                Ok(()) if app.run == RunState::Stopping => RunState::Stopped,
                Ok(()) => RunState::Finished,
                Err(reason) => RunState::Failed(reason),
            };
            app.diff_computed = None;
            app.refresh_histograms();
            app.recompute_diff(Instant::now());
            let failed: usize = app.variants.iter().map(|v| v.failures).sum();
            let cut_short: usize = app.variants.iter().map(|v| v.stopped).sum();
            // Counts first: at 80 columns the end of the line is what gets cut.
            let cut_short = if cut_short == 0 {
                String::new()
            } else {
                format!(", {cut_short} cut short")
            };
            app.status = match &app.run {
                RunState::Failed(reason) => format!("Run failed: {reason}"),
                RunState::Stopped => format!(
                    "Stopped after {} of {} cold starts, {failed} failed{cut_short}. e exports",
                    app.completed, app.planned
                ),
                _ => format!(
                    "Run finished: {} cold starts, {failed} failed. e exports the reports",
                    app.completed
                ),
            };
            None
        }
        Message::Status(text) => {
            app.status = text;
            None
        }
        Message::Cache(event) => app.cache.handle(event).map(Effect::Cache),
        Message::Edge(event) => {
            app.edge.handle(event);
            None
        }
        Message::Key(key) => key_update(app, key),
    }
}

fn key_update(app: &mut App, key: KeyInput) -> Option<Effect> {
    if key == KeyInput::CtrlC {
        app.quit = true;
        return app.running().then_some(Effect::StopRun);
    }
    if let Some(prompt) = &mut app.prompt {
        match key {
            KeyInput::Char(c) => prompt.text.push(c),
            KeyInput::Backspace => {
                prompt.text.pop();
            }
            KeyInput::Esc => {
                app.prompt = None;
                app.status = "Export cancelled".to_owned();
            }
            KeyInput::Enter => {
                let dir = prompt.text.trim().to_owned();
                app.prompt = None;
                if dir.is_empty() {
                    app.status = "Export needs a directory".to_owned();
                    return None;
                }
                app.status = format!("Exporting to {dir}…");
                return Some(Effect::Export(PathBuf::from(dir)));
            }
            _ => {}
        }
        return None;
    }
    if app.help {
        // Any key closes the help overlay; `q` still quits.
        app.help = false;
        if key != KeyInput::Char('q') {
            return None;
        }
    }
    match key {
        KeyInput::Char('q') => {
            app.quit = true;
            return app.running().then_some(Effect::StopRun);
        }
        KeyInput::Char('?') => {
            app.help = true;
            return None;
        }
        KeyInput::Char('1') => app.view = View::ColdStarts,
        KeyInput::Char('2') => {
            app.view = View::Cache;
            return None;
        }
        KeyInput::Char('3') => {
            app.view = View::EdgeAuth;
            return app.edge.on_open().map(Effect::Edge);
        }
        KeyInput::Tab | KeyInput::BackTab => {
            let at = View::ALL.iter().position(|v| *v == app.view).unwrap_or(0);
            let next = if key == KeyInput::Tab {
                (at + 1) % 3
            } else {
                (at + 2) % 3
            };
            app.view = View::ALL[next];
            return match app.view {
                View::EdgeAuth => app.edge.on_open().map(Effect::Edge),
                View::ColdStarts | View::Cache => None,
            };
        }
        KeyInput::Char('e') => {
            app.prompt = Some(Prompt {
                label: "Export the benchmark and design pages to directory".to_owned(),
                text: default_export_dir(),
            });
            return None;
        }
        _ => {}
    }
    match app.view {
        View::ColdStarts => app.cold_starts_key(key),
        View::Cache => {
            let measured = measured_latency(app);
            app.cache.key(key, measured).map(Effect::Cache)
        }
        View::EdgeAuth => app.edge.key(key).map(Effect::Edge),
    }
}

/// The subject's measured latencies for the cache model's origin: warm invokes, and
/// Init Duration plus the cold invoke for a request that meets a cold start.
pub(crate) fn measured_latency(app: &App) -> Option<(Vec<f64>, Vec<f64>)> {
    let subject = app.variants.first()?;
    (subject.cold_ms.len() >= 3 && !subject.warm_ms.is_empty()).then(|| {
        (
            subject.warm_ms.iter().map(|ms| f64::from(*ms)).collect(),
            subject.cold_ms.iter().map(|ms| f64::from(*ms)).collect(),
        )
    })
}
