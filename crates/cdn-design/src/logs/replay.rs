//! The logs against the model: the hit ratio CloudFront achieved beside what the
//! simulator and the analytic formulas predict for the same requests under a set of
//! behaviours, per behaviour, per edge location and overall.
//!
//! - **Actual**: Hit and RefreshHit over the requests that went through the cache (Miss,
//!   OriginShieldHit, and the hits); errors, redirects and refusals are left out of every
//!   figure (docs/sources.md, "CloudFront access logs").
//! - **Simulated**: each edge location's requests of each behaviour replayed through the
//!   simulator ([`crate::sim::simulate`]) as one unlimited TTL cache, keyed by cache key;
//!   an edge location is its own cache, as the logs' Hit/Miss are the edge's.
//! - **Model**: the TTL formula of docs/sources.md, "Cache models", per cache key and
//!   edge location with the rate it had over the logs' span (Poisson reads), and at
//!   least one miss per key and edge.
//!
//! Requests that cannot be cached (other methods, behaviours with TTL 0) are misses in
//! both predictions. The caches start empty, so the first request of every key at every
//! edge is a miss in the predictions even where CloudFront already had the object.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use crate::analytic::{PagePolicy, tier};
use crate::error::TraceError;
use crate::sim::{Request, RequestKind, RequestSource, SimConfig, simulate};

use super::LogError;
use super::keys::Behaviors;
use super::request::LogSet;

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

/// Requests of one behaviour at one edge, in time order, for the simulator.
struct Group {
    requests: Vec<Request>,
    at: Vec<(u32, u64)>,
}

/// A slice of requests as the simulator's source; locations are the log lines.
struct SliceSource<'a> {
    requests: &'a [Request],
    at: &'a [(u32, u64)],
    files: &'a [PathBuf],
    next: usize,
}

impl Iterator for SliceSource<'_> {
    type Item = Result<Request, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.requests.get(self.next).copied()?;
        self.next += 1;
        Some(Ok(r))
    }
}

impl RequestSource for SliceSource<'_> {
    fn fraction_done(&self) -> f64 {
        self.next as f64 / self.requests.len().max(1) as f64
    }

    fn location(&self) -> String {
        match self.at.get(self.next.saturating_sub(1)) {
            Some((file, line)) => format!("{}:{line}", self.files[*file as usize].display()),
            None => "log".to_owned(),
        }
    }
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

/// Replays `logs` through `behaviors`: actual, simulated and model hit ratios.
pub fn replay(logs: &LogSet, behaviors: &Behaviors) -> Result<Replay, LogError> {
    let first_ms = logs.requests.first().map_or(0, |r| r.time_ms);
    // At least a second: a standard log's resolution.
    let span_s = logs.span_s().max(1.0);
    let mut overall = HitRow::new("all".to_owned());
    let mut by_behavior: Vec<HitRow> = behaviors
        .rules()
        .map(|r| HitRow {
            ttl_s: Some(r.ttl_s),
            swr_s: Some(r.swr_s),
            ..HitRow::new(r.pattern().to_owned())
        })
        .collect();
    let mut by_edge: Vec<HitRow> = logs.edges.iter().map(|e| HitRow::new(e.clone())).collect();
    let mut groups: HashMap<(usize, u32), Group> = HashMap::new();
    let mut excluded = 0u64;
    for request in &logs.requests {
        if !request.result.counts() {
            excluded += 1;
            continue;
        }
        let class = behaviors.classify(&logs.view(request));
        let hit = u64::from(request.result.is_hit());
        for row in [
            &mut overall,
            &mut by_behavior[class.behavior],
            &mut by_edge[request.edge as usize],
        ] {
            row.requests += 1;
            row.cacheable += u64::from(class.cacheable);
            if let Some(h) = row.actual_hits.as_mut() {
                *h += hit;
            }
        }
        if class.cacheable {
            let group = groups.entry((class.behavior, request.edge)).or_insert_with(|| Group {
                requests: Vec::new(),
                at: Vec::new(),
            });
            group
                .requests
                .push(sim_request(request.time_ms, first_ms, class.key, request.bytes));
            group.at.push((request.file, request.line));
        }
    }
    let cancel = AtomicBool::new(false);
    let mut keys: Vec<_> = groups.keys().copied().collect();
    keys.sort_unstable();
    for (behavior, edge) in keys {
        let group = &groups[&(behavior, edge)];
        let rule = behaviors.rule(behavior);
        let mut config = SimConfig::ttl(rule.ttl_s);
        config.swr_s = rule.swr_s;
        let mut source = SliceSource {
            requests: &group.requests,
            at: &group.at,
            files: &logs.files,
            next: 0,
        };
        let report = simulate(&mut source, &config, &mut |_| {}, &cancel)?;
        let simulated_hits = report.reads - report.origin_sync_fetches;
        let model_hits = model_hits(&group.requests, rule.ttl_s, rule.swr_s, span_s);
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
    by_edge.retain(|r| r.requests > 0);
    by_edge.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.label.cmp(&b.label)));
    let mut caveats = behaviors.caveats(logs);
    if logs.unknown_results > 0 {
        caveats.push(format!(
            "{} request(s) had an x-edge-result-type this version does not know; they are left out",
            logs.unknown_results
        ));
    }
    if logs.files_by_kind.1 > 0 {
        caveats.push(
            "real-time logs may be sampled (a configured 1–100 %); a sampled log shows each key fewer requests than CloudFront saw, so the predictions come out low unless the rate was 100 %"
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
        logged: logs.requests.len() as u64,
        excluded,
        span_s: logs.span_s(),
        overall,
        behaviors: by_behavior,
        edges: by_edge,
        caveats,
    })
}

/// Expected hits of one edge's requests under TTL `ttl_s`: each key read `n` times over
/// `span_s` has rate `λ = n / span_s` and `n e^{−λW}/(1 + λT)` waits for the origin, but
/// at least one (the first: the caches start empty, as in the simulator).
fn model_hits(requests: &[Request], ttl_s: f64, swr_s: f64, span_s: f64) -> f64 {
    let mut counts: HashMap<u64, u64> = HashMap::new();
    for r in requests {
        *counts.entry(r.object).or_default() += 1;
    }
    let policy = PagePolicy {
        ttl_s,
        swr_s,
        drop_on_write: false,
        propagation_s: 0.0,
    };
    counts
        .values()
        .map(|&n| {
            let lambda = n as f64 / span_s;
            let rates = tier(lambda, 0.0, &policy, 1.0);
            let misses = (n as f64 * rates.sync_fetch_rate / lambda).max(1.0);
            n as f64 - misses
        })
        .sum()
}
