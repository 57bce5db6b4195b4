//! The logs against the model: the hit ratio CloudFront achieved beside what the
//! simulator and the analytic formulas predict for the same requests under a set of
//! behaviours, per behaviour, per edge location and overall.
//!
//! - **Actual**: Hit and RefreshHit over the requests that went through the cache (Miss,
//!   OriginShieldHit, and the hits); errors, redirects and refusals are left out of every
//!   figure (docs/sources.md, "CloudFront access logs").
//! - **Simulated**: each edge location's requests of each behaviour replayed through the
//!   simulator ([`crate::sim::Simulation`]) as one unlimited TTL cache, keyed by cache key;
//!   an edge location is its own cache, as the logs' Hit/Miss are the edge's.
//! - **Model**: the TTL formula of docs/sources.md, "Cache models", per cache key and
//!   edge location with the rate it had over the logs' span (Poisson reads), and at
//!   least one miss per key and edge.
//!
//! Requests that cannot be cached (other methods, behaviours with TTL 0) are misses in
//! both predictions. The caches start empty, so the first request of every key at every
//! edge is a miss in the predictions even where CloudFront already had the object.

use std::collections::HashMap;

use serde::Serialize;

use crate::analytic::{PagePolicy, tier};
use crate::sim::{Request, RequestKind, SimConfig, Simulation};

use super::LogError;
use super::keys::Behaviors;
use super::request::{LogRequest, LogSet, RequestView};

/// One line of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HitRow {
    /// A behaviour's path pattern, an edge location, or `all`.
    pub label: String,
    /// A behaviour's TTL (`None` on edge and overall rows).
    pub ttl_s: Option<f64>,
    /// A behaviour's stale-while-revalidate window.
    pub swr_s: Option<f64>,
    /// Requests that went through the cache (errors, redirects and refusals left out).
    pub requests: u64,
    /// Of those, requests the behaviour can cache (cached method, TTL above 0).
    pub cacheable: u64,
    /// Hit and RefreshHit in the logs; `None` when the logs have no result field.
    pub actual_hits: Option<u64>,
    /// `actual_hits / requests`; `None` without requests or a result field.
    pub actual_hit_ratio: Option<f64>,
    /// Hits in the simulator.
    pub simulated_hits: u64,
    /// `simulated_hits / requests`.
    pub simulated_hit_ratio: f64,
    /// Expected hits from the analytic formula.
    pub model_hits: f64,
    /// `model_hits / requests`.
    pub model_hit_ratio: f64,
    /// Simulated minus actual hit ratio (percentage points / 100).
    pub simulated_error: Option<f64>,
    /// Model minus actual hit ratio.
    pub model_error: Option<f64>,
}

impl HitRow {
    fn new(label: String) -> Self {
        Self {
            label,
            ttl_s: None,
            swr_s: None,
            requests: 0,
            cacheable: 0,
            actual_hits: Some(0),
            actual_hit_ratio: None,
            simulated_hits: 0,
            simulated_hit_ratio: 0.0,
            model_hits: 0.0,
            model_hit_ratio: 0.0,
            simulated_error: None,
            model_error: None,
        }
    }

    fn finish(&mut self, has_results: bool) {
        let n = self.requests.max(1) as f64;
        if !has_results {
            self.actual_hits = None;
        }
        if self.requests == 0 {
            return;
        }
        self.actual_hit_ratio = self.actual_hits.map(|h| h as f64 / n);
        self.simulated_hit_ratio = self.simulated_hits as f64 / n;
        self.model_hit_ratio = self.model_hits / n;
        self.simulated_error = self.actual_hit_ratio.map(|a| self.simulated_hit_ratio - a);
        self.model_error = self.actual_hit_ratio.map(|a| self.model_hit_ratio - a);
    }
}

/// The comparison for one set of behaviours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replay {
    /// Requests in the logs.
    pub logged: u64,
    /// The share of requests the logs hold, in percent (a real-time log's sampling rate;
    /// 100 for standard logs).
    pub sampling_rate_pct: u8,
    /// Requests the logs stand for: `logged` scaled up by the sampling rate.
    pub estimated_requests: u64,
    /// Requests left out: errors, redirects, refusals, unknown result types.
    pub excluded: u64,
    /// Seconds from the first request to the last.
    pub span_s: f64,
    /// Every counted request.
    pub overall: HitRow,
    /// Per behaviour, in matching order (the default last).
    pub behaviors: Vec<HitRow>,
    /// Per edge location, busiest first.
    pub edges: Vec<HitRow>,
    /// What the replay cannot see (cache-key parts missing from the logs, ...).
    pub caveats: Vec<String>,
}

/// One behaviour at one edge location: its simulation and each key's request count.
struct Group {
    simulation: Simulation,
    counts: HashMap<u64, u64>,
}

/// The one conversion of a logged read into the simulator's request.
fn sim_request(time_ms: i64, first_ms: i64, key: u64, bytes: u64) -> Request {
    Request {
        // Logs are sorted, so the offset is never negative; milliseconds are exact in ns.
        time_ns: u64::try_from(time_ms - first_ms).unwrap_or(0) * 1_000_000,
        object: key,
        size_bytes: u32::try_from(bytes).unwrap_or(u32::MAX),
        kind: RequestKind::Read,
    }
}

/// A replay fed one request at a time, in time order (from a [`LogStream`](super::LogStream)
/// or a [`LogSet`]); memory grows with the cache keys per behaviour and edge location,
/// not with the requests.
pub struct Replayer<'b> {
    behaviors: &'b Behaviors,
    sampling_rate_pct: u8,
    first_ms: Option<i64>,
    last_ms: i64,
    logged: u64,
    excluded: u64,
    overall: HitRow,
    by_behavior: Vec<HitRow>,
    /// Indexed by edge location as the logs number them.
    by_edge: Vec<HitRow>,
    groups: HashMap<(usize, u32), Group>,
}

impl std::fmt::Debug for Replayer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayer")
            .field("sampling_rate_pct", &self.sampling_rate_pct)
            .field("logged", &self.logged)
            .finish_non_exhaustive()
    }
}

impl<'b> Replayer<'b> {
    /// An empty replay through `behaviors`.
    pub fn new(behaviors: &'b Behaviors) -> Self {
        let by_behavior = behaviors
            .rules()
            .map(|r| HitRow {
                ttl_s: Some(r.ttl_s),
                swr_s: Some(r.swr_s),
                ..HitRow::new(r.pattern().to_owned())
            })
            .collect();
        Self {
            behaviors,
            sampling_rate_pct: 100,
            first_ms: None,
            last_ms: 0,
            logged: 0,
            excluded: 0,
            overall: HitRow::new("all".to_owned()),
            by_behavior,
            by_edge: Vec::new(),
            groups: HashMap::new(),
        }
    }

    /// The logs are a `pct` % sample of the requests (a real-time log's sampling rate,
    /// 1–100): the model's request rates are corrected for it, and the result says how
    /// many requests the sample stands for.
    pub fn sampled(mut self, pct: u8) -> Result<Self, LogError> {
        if !(1..=100).contains(&pct) {
            return Err(LogError::SamplingRate(pct));
        }
        self.sampling_rate_pct = pct;
        Ok(self)
    }

    /// Adds the next request (`view` gives its texts, `location` its FILE:LINE).
    pub fn push(
        &mut self,
        request: &LogRequest,
        view: &RequestView<'_>,
        location: impl FnOnce() -> String,
    ) -> Result<(), LogError> {
        let first_ms = *self.first_ms.get_or_insert(request.time_ms);
        self.last_ms = request.time_ms;
        self.logged += 1;
        if !request.result.counts() {
            self.excluded += 1;
            return Ok(());
        }
        let class = self.behaviors.classify(view);
        let hit = u64::from(request.result.is_hit());
        let edge = request.edge as usize;
        if self.by_edge.len() <= edge {
            self.by_edge.resize_with(edge + 1, || HitRow::new(String::new()));
        }
        for row in [
            &mut self.overall,
            &mut self.by_behavior[class.behavior],
            &mut self.by_edge[edge],
        ] {
            row.requests += 1;
            row.cacheable += u64::from(class.cacheable);
            if let Some(h) = row.actual_hits.as_mut() {
                *h += hit;
            }
        }
        if class.cacheable {
            let group = match self.groups.entry((class.behavior, request.edge)) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let rule = self.behaviors.rule(class.behavior);
                    let mut config = SimConfig::ttl(rule.ttl_s);
                    config.swr_s = rule.swr_s;
                    e.insert(Group {
                        simulation: Simulation::new(&config)?,
                        counts: HashMap::new(),
                    })
                }
            };
            group.simulation.push(
                sim_request(request.time_ms, first_ms, class.key, request.bytes),
                location,
            )?;
            *group.counts.entry(class.key).or_default() += 1;
        }
        Ok(())
    }

    /// The comparison; `logs` gives the edge location names and what the files carried.
    pub fn finish(self, logs: &LogSet) -> Result<Replay, LogError> {
        let Self {
            behaviors,
            sampling_rate_pct,
            first_ms,
            last_ms,
            logged,
            excluded,
            mut overall,
            mut by_behavior,
            mut by_edge,
            mut groups,
        } = self;
        let span_ms = last_ms - first_ms.unwrap_or(last_ms);
        // At least a second: a standard log's resolution.
        let span_s = (span_ms as f64 / 1000.0).max(1.0);
        let sampled = f64::from(sampling_rate_pct) / 100.0;
        let mut keys: Vec<_> = groups.keys().copied().collect();
        keys.sort_unstable();
        for (behavior, edge) in keys {
            let group = groups.remove(&(behavior, edge)).expect("listed above");
            let rule = behaviors.rule(behavior);
            let report = group.simulation.finish();
            let simulated_hits = report.reads - report.origin_sync_fetches;
            let model_hits = model_hits(&group.counts, rule.ttl_s, rule.swr_s, span_s, sampled);
            for row in [&mut overall, &mut by_behavior[behavior], &mut by_edge[edge as usize]] {
                row.simulated_hits += simulated_hits;
                row.model_hits += model_hits;
            }
        }
        let has_results = logs.has.result;
        overall.finish(has_results);
        for row in by_behavior.iter_mut().chain(by_edge.iter_mut()) {
            row.finish(has_results);
        }
        for (row, name) in by_edge.iter_mut().zip(&logs.edges) {
            row.label.clone_from(name);
        }
        by_edge.retain(|r| r.requests > 0);
        by_edge.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.label.cmp(&b.label)));
        let mut caveats = behaviors.caveats(logs);
        if logs.unknown_results > 0 {
            caveats.push(format!(
                "{} request(s) had an x-edge-result-type this version does not know; they are left out",
                logs.unknown_results
            ));
        }
        if sampling_rate_pct < 100 {
            caveats.push(sample_caveat(sampling_rate_pct, &overall));
        } else if logs.files_by_kind.1 > 0 {
            caveats.push(
                "real-time logs may be sampled (a configured 1–100 %); a sampled log shows each key fewer requests than CloudFront saw, so the predictions come out low unless the rate was 100 % (give it with --sampling-rate)"
                    .to_owned(),
            );
        }
        if !has_results {
            caveats.push(
                "the logs have no x-edge-result-type: only the predictions are shown, not what CloudFront achieved"
                    .to_owned(),
            );
        }
        Ok(Replay {
            logged,
            excluded,
            sampling_rate_pct,
            estimated_requests: scale_up(logged, sampling_rate_pct),
            span_s: span_ms as f64 / 1000.0,
            overall,
            behaviors: by_behavior,
            edges: by_edge,
            caveats,
        })
    }
}

/// Requests a `pct` % sample of `n` stands for.
pub fn scale_up(n: u64, pct: u8) -> u64 {
    (n as f64 * 100.0 / f64::from(pct.max(1))).round() as u64
}

/// What a sample can and cannot say, with its size and the actual hit ratio's margin.
fn sample_caveat(pct: u8, overall: &HitRow) -> String {
    let n = overall.requests;
    let margin = overall.actual_hit_ratio.map_or_else(String::new, |p| {
        // The normal approximation of a proportion's 95 % interval.
        let half = 1.96 * (p * (1.0 - p) / n.max(1) as f64).sqrt();
        format!(" (± {:.1} pp at 95 %)", half * 100.0)
    });
    format!(
        "the logs are a {pct} % sample: {n} requests through the cache stand for about {}; the hit ratios are estimates from the sample{margin}; the model's rates are corrected for the sampling, but the simulator replays only the sampled requests, so its hit ratio comes out low",
        scale_up(n, pct)
    )
}

/// Replays `logs` (read whole) through `behaviors`: actual, simulated and model hit ratios.
pub fn replay(logs: &LogSet, behaviors: &Behaviors) -> Result<Replay, LogError> {
    let mut replayer = Replayer::new(behaviors);
    for request in &logs.requests {
        replayer.push(request, &logs.view(request), || logs.location(request))?;
    }
    replayer.finish(logs)
}

/// Expected hits of one edge's requests under TTL `ttl_s`: each key read `n` times over
/// `span_s` has rate `λ = n / span_s` and `n e^{−λW}/(1 + λT)` waits for the origin, but
/// at least one (the first: the caches start empty, as in the simulator). With a sample
/// of a fraction `sampled` of the requests, a key's true count is `n / sampled`: its rate
/// and its misses are taken at that count, and the hits scaled back to the sample.
fn model_hits(counts: &HashMap<u64, u64>, ttl_s: f64, swr_s: f64, span_s: f64, sampled: f64) -> f64 {
    let policy = PagePolicy {
        ttl_s,
        swr_s,
        drop_on_write: false,
        propagation_s: 0.0,
    };
    counts
        .values()
        .map(|&n| {
            let n_true = n as f64 / sampled;
            let lambda = n_true / span_s;
            let rates = tier(lambda, 0.0, &policy, 1.0);
            let misses = (n_true * rates.sync_fetch_rate / lambda).max(1.0);
            n as f64 * (1.0 - misses / n_true)
        })
        .sum()
}
