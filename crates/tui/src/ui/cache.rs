//! The cache view's state: a cdn-design model whose settings the user toggles, evaluated
//! analytically on every change (milliseconds), and the trace simulator run in the
//! background on demand with a progress bar.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use cdn_design::sim::{Generator, SimConfig, SimReport, simulate};
use cdn_design::{AuthOption, Evaluation, Invalidation, LatencyInputs, Model, evaluate};
use tokio::sync::mpsc;

use super::app::{KeyInput, Message};
use super::export::CacheExport;

/// Presets, in the order ← → cycles them.
pub(crate) const PRESETS: &[&str] = &["typical", "seed", "large"];
const TTL_STEPS_S: &[f64] = &[0.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 3_600.0, 86_400.0];
const SWR_STEPS_S: &[f64] = &[0.0, 30.0, 60.0, 300.0, 3_600.0];
const WIKIS: &[u64] = &[1, 10, 100, 1_000, 10_000, 100_000];
const PAGES: &[u64] = &[10, 100, 1_000, 10_000];
const READS: &[f64] = &[10.0, 100.0, 500.0, 1_000.0, 10_000.0];
const WRITES: &[f64] = &[0.0, 1.0, 5.0, 20.0, 100.0];
const ZIPF: &[f64] = &[0.6, 0.8, 1.0, 1.2];
const PRIVATE: &[f64] = &[0.0, 0.25, 0.5, 1.0];
const EDGES: &[u32] = &[1, 10, 50, 100, 450];
/// Requests the background simulation replays.
const SIM_REQUESTS: u64 = 5_000_000;

/// The settings, in display order.
pub(crate) const SETTINGS: &[&str] = &[
    "preset",
    "page TTL",
    "stale-while-revalidate",
    "invalidation",
    "auth option",
    "wikis",
    "pages per wiki",
    "reads per wiki / day",
    "writes per wiki / day",
    "page Zipf exponent",
    "private wikis",
    "edge locations",
    "origin latencies",
];

/// The TTLs the curves are computed at: 10 s to one day, evenly spaced on a log axis.
pub(crate) const CURVE_TTL_RANGE_S: (f64, f64) = (10.0, 86_400.0);
const CURVE_POINTS: usize = 17;

/// The model's figures at one page TTL, everything else as set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TtlPoint {
    pub ttl_s: f64,
    pub page_hit_ratio: f64,
    pub stale_read_share: f64,
    pub cost_usd_per_month: f64,
}

/// Hit ratio, stale reads and cost as the page TTL moves over [`CURVE_TTL_RANGE_S`].
fn ttl_curve(model: &Model) -> Vec<TtlPoint> {
    let (low, high) = CURVE_TTL_RANGE_S;
    let ttls_s: Vec<f64> = (0..CURVE_POINTS)
        .map(|i| low * (high / low).powf(i as f64 / (CURVE_POINTS - 1) as f64))
        .collect();
    cdn_design::chosen_at_ttls(model, &ttls_s)
        .into_iter()
        .zip(ttls_s)
        .map(|(result, ttl_s)| TtlPoint {
            ttl_s,
            page_hit_ratio: result.page_hit_ratio,
            stale_read_share: result.stale_read_probability,
            cost_usd_per_month: result.cost.total_usd_per_month,
        })
        .collect()
}

/// The background simulation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SimState {
    Idle,
    Running {
        fraction: f64,
    },
    Done {
        report: Box<SimReport>,
        analytic_hit_ratio: f64,
    },
    Failed(String),
}

/// The view's state.
#[derive(Debug, Clone)]
pub(crate) struct CacheState {
    pub preset: usize,
    pub selected: usize,
    pub model: Option<Model>,
    pub evaluation: Option<Evaluation>,
    pub evaluated_in_ms: f64,
    /// The figures across TTLs for the current settings, recomputed with the evaluation.
    pub curve: Vec<TtlPoint>,
    /// Lines the results panel is scrolled down by (PgUp/PgDn).
    pub results_scroll: u16,
    /// Where there is no room for results and curves at once: the curves instead of the
    /// results (`g`).
    pub show_curves: bool,
    pub error: Option<String>,
    pub measured_latency: bool,
    pub sim: SimState,
}

/// What the background simulation reports.
#[derive(Debug)]
pub(crate) enum CacheEvent {
    SimProgress(f64),
    SimDone(Result<Box<SimReport>, String>),
}

/// What the state asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CacheEffect {
    Simulate(Box<Model>),
    CancelSimulation,
}

fn step<T: PartialOrd + Copy>(steps: &[T], current: T, forward: bool) -> T {
    let at = steps.iter().position(|s| *s >= current).unwrap_or(steps.len() - 1);
    let next = if forward {
        (at + 1).min(steps.len() - 1)
    } else {
        at.saturating_sub(1)
    };
    steps[next]
}

impl CacheState {
    pub(crate) fn new() -> Self {
        let mut state = Self {
            preset: 0,
            selected: 1,
            model: None,
            evaluation: None,
            evaluated_in_ms: 0.0,
            curve: Vec::new(),
            results_scroll: 0,
            show_curves: false,
            error: None,
            measured_latency: false,
            sim: SimState::Idle,
        };
        state.load_preset();
        state
    }

    fn load_preset(&mut self) {
        match Model::preset(PRESETS[self.preset]) {
            Ok(model) => {
                self.model = Some(model);
                self.error = None;
                self.measured_latency = false;
                self.evaluate();
            }
            Err(err) => self.error = Some(err.to_string()),
        }
    }

    fn evaluate(&mut self) {
        if let Some(model) = &self.model {
            let started = Instant::now();
            self.evaluation = Some(evaluate(model));
            self.evaluated_in_ms = started.elapsed().as_secs_f64() * 1000.0;
            self.curve = ttl_curve(model);
        }
    }

    pub(crate) fn busy(&self) -> bool {
        matches!(self.sim, SimState::Running { .. })
    }

    /// The current value of a setting, as text.
    pub(crate) fn value(&self, setting: usize) -> String {
        let Some(model) = &self.model else { return String::new() };
        let (w, c) = (&model.workload, &model.cache);
        match setting {
            0 => PRESETS[self.preset].to_owned(),
            1 => format!("{} s", c.page_ttl_s),
            2 => {
                if c.stale_while_revalidate_s > 0.0 {
                    format!("{} s", c.stale_while_revalidate_s)
                } else {
                    "off".to_owned()
                }
            }
            3 => match c.invalidation {
                Invalidation::TtlOnly => "TTL only".to_owned(),
                Invalidation::OnWrite { paths_per_write } => format!("on write, {paths_per_write} path"),
                Invalidation::VersionedUrls => "versioned URLs".to_owned(),
            },
            4 => match c.auth {
                AuthOption::SignedCookies => "signed cookies",
                AuthOption::CloudfrontFunctionHs256 => "CF Function HS256",
                AuthOption::CloudfrontFunctionRs256 => "CF Function RS256",
                AuthOption::LambdaAtEdge => "Lambda@Edge",
            }
            .to_owned(),
            5 => cdn_design::thousands(w.wikis as f64),
            6 => cdn_design::thousands(w.pages_per_wiki as f64),
            7 => cdn_design::thousands(w.reads_per_wiki_per_day),
            8 => format!("{}", w.writes_per_wiki_per_day),
            9 => format!("{:.1}", w.page_zipf_exponent),
            10 => format!("{:.0}%", w.share_private * 100.0),
            11 => w.edge_locations.to_string(),
            12 => {
                if model.latency.is_measured() {
                    "measured (view 1)".to_owned()
                } else {
                    "assumed (seed)".to_owned()
                }
            }
            _ => String::new(),
        }
    }

    fn change(&mut self, forward: bool, measured: Option<(Vec<f64>, Vec<f64>)>) {
        if self.selected == 0 {
            let count = PRESETS.len();
            self.preset = if forward {
                (self.preset + 1) % count
            } else {
                (self.preset + count - 1) % count
            };
            self.load_preset();
            return;
        }
        let Some(model) = &mut self.model else { return };
        let (w, c) = (&mut model.workload, &mut model.cache);
        match self.selected {
            1 => c.page_ttl_s = step(TTL_STEPS_S, c.page_ttl_s, forward),
            2 => c.stale_while_revalidate_s = step(SWR_STEPS_S, c.stale_while_revalidate_s, forward),
            3 => {
                let options = [
                    Invalidation::TtlOnly,
                    Invalidation::OnWrite { paths_per_write: 1 },
                    Invalidation::VersionedUrls,
                ];
                let at = options
                    .iter()
                    .position(|o| o.name() == c.invalidation.name())
                    .unwrap_or(0);
                c.invalidation = options[if forward { (at + 1) % 3 } else { (at + 2) % 3 }];
            }
            4 => {
                let at = AuthOption::ALL.iter().position(|o| *o == c.auth).unwrap_or(0);
                let n = AuthOption::ALL.len();
                c.auth = AuthOption::ALL[if forward { (at + 1) % n } else { (at + n - 1) % n }];
            }
            5 => w.wikis = step(WIKIS, w.wikis, forward),
            6 => w.pages_per_wiki = step(PAGES, w.pages_per_wiki, forward),
            7 => w.reads_per_wiki_per_day = step(READS, w.reads_per_wiki_per_day, forward),
            8 => w.writes_per_wiki_per_day = step(WRITES, w.writes_per_wiki_per_day, forward),
            9 => w.page_zipf_exponent = step(ZIPF, w.page_zipf_exponent, forward),
            10 => w.share_private = step(PRIVATE, w.share_private, forward),
            11 => w.edge_locations = step(EDGES, w.edge_locations, forward),
            12 => {
                self.toggle_measured(measured);
                return;
            }
            _ => return,
        }
        self.evaluate();
    }

    fn toggle_measured(&mut self, measured: Option<(Vec<f64>, Vec<f64>)>) {
        let Some(model) = &mut self.model else { return };
        if model.latency.is_measured() {
            model.latency = LatencyInputs::seed_defaults();
            self.measured_latency = false;
        } else if let Some((warm_ms, cold_ms)) = measured {
            model.latency = LatencyInputs {
                warm_ms,
                cold_ms,
                source: "measured: coldfront cold starts in this session (view 1)".to_owned(),
            };
            self.measured_latency = true;
        } else {
            self.error = Some("no cold starts measured yet: run some in view 1 (r) first".to_owned());
            return;
        }
        self.error = None;
        self.evaluate();
    }

    pub(crate) fn key(&mut self, key: KeyInput, measured: Option<(Vec<f64>, Vec<f64>)>) -> Option<CacheEffect> {
        match key {
            KeyInput::Up => self.selected = self.selected.saturating_sub(1),
            KeyInput::Down => self.selected = (self.selected + 1).min(SETTINGS.len() - 1),
            KeyInput::Left => self.change(false, measured),
            KeyInput::Right | KeyInput::Enter => self.change(true, measured),
            KeyInput::Char('u') => self.toggle_measured(measured),
            KeyInput::Char('g') => self.show_curves = !self.show_curves,
            KeyInput::PageDown => self.results_scroll = self.results_scroll.saturating_add(5),
            KeyInput::PageUp => self.results_scroll = self.results_scroll.saturating_sub(5),
            KeyInput::Char('S') => {
                if self.busy() {
                    return Some(CacheEffect::CancelSimulation);
                }
                let model = self.model.clone()?;
                self.sim = SimState::Running { fraction: 0.0 };
                return Some(CacheEffect::Simulate(Box::new(model)));
            }
            _ => {}
        }
        None
    }

    pub(crate) fn handle(&mut self, event: CacheEvent) -> Option<CacheEffect> {
        match event {
            CacheEvent::SimProgress(fraction) => {
                if self.busy() {
                    self.sim = SimState::Running { fraction };
                }
            }
            CacheEvent::SimDone(result) => {
                self.sim = match result {
                    Ok(report) => SimState::Done {
                        report,
                        analytic_hit_ratio: self
                            .evaluation
                            .as_ref()
                            // The simulation replays page reads and writes only, so its
                            // hit ratio compares with the analytic page ratio, not the
                            // all-request one (assets included).
                            .map_or(f64::NAN, |e| e.chosen.page_hit_ratio),
                    },
                    Err(reason) => SimState::Failed(reason),
                };
            }
        }
        None
    }

    pub(crate) fn export_inputs(&self) -> Option<CacheExport> {
        self.model.clone().map(|model| CacheExport { model })
    }
}

/// Runs the simulator off the UI loop; one at a time.
pub(crate) struct CacheWorker {
    tx: mpsc::UnboundedSender<Message>,
    cancel: Option<Arc<AtomicBool>>,
}

impl CacheWorker {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Message>) -> Self {
        Self { tx, cancel: None }
    }

    pub(crate) fn perform(&mut self, effect: CacheEffect) {
        match effect {
            CacheEffect::CancelSimulation => self.shutdown(),
            CacheEffect::Simulate(model) => {
                self.shutdown();
                let cancel = Arc::new(AtomicBool::new(false));
                self.cancel = Some(cancel.clone());
                let tx = self.tx.clone();
                tokio::task::spawn_blocking(move || {
                    let mut source = Generator::new(&model, SIM_REQUESTS, 1);
                    let config = SimConfig::from_model(&model);
                    let progress_tx = tx.clone();
                    let mut last = Instant::now();
                    let result = simulate(
                        &mut source,
                        &config,
                        &mut |fraction| {
                            // Progress at most every 50 ms: the UI redraws at 10 Hz anyway.
                            if last.elapsed().as_millis() >= 50 {
                                last = Instant::now();
                                let _ = progress_tx.send(Message::Cache(CacheEvent::SimProgress(fraction)));
                            }
                        },
                        &cancel,
                    );
                    let _ = tx.send(Message::Cache(CacheEvent::SimDone(
                        result.map(Box::new).map_err(|e| e.to_string()),
                    )));
                });
            }
        }
    }

    pub(crate) fn shutdown(&mut self) {
        if let Some(cancel) = self.cancel.take() {
            cancel.store(true, Ordering::Relaxed);
        }
    }
}
