//! Analytic evaluation: the TTL-cache formulas of docs/sources.md, "Cache models", per
//! object, per edge location and regional tier, summed over the popularity histogram and
//! the diurnal profile.
//!
//! Each object's reads and writes are Poisson (rates `λ`, `μ`); every edge location sees
//! `λ / E`; a cached copy's expiry is fixed when it is fetched (CloudFront does not reset
//! it on a hit), so a cache cycle is `T` plus the wait for the next read, `1/λ`.

use serde::Serialize;

use crate::cost::{self, CostBreakdown};
use crate::model::{AuthOption, Invalidation, Model};
use crate::origin::{self, LatencySummary};
use crate::popularity::{self, Bin};

/// How a cache treats page HTML.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PagePolicy {
    /// TTL `T`.
    pub ttl_s: f64,
    /// `stale-while-revalidate` window `W`.
    pub swr_s: f64,
    /// Whether a write removes the cached copy (invalidation, or a new versioned URL).
    pub drop_on_write: bool,
    /// Time until a write's removal reaches every edge.
    pub propagation_s: f64,
}

/// One cache's response to one object's reads, as rates (per second).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TierRates {
    /// Requests this cache answers without waiting for its upstream (fresh or stale-while-revalidate).
    pub hit_rate: f64,
    /// Fetches from upstream, synchronous and background.
    pub fetch_rate: f64,
    /// Fetches a viewer waits for.
    pub sync_fetch_rate: f64,
    /// Hits that return content older than the latest write.
    pub stale_hit_rate: f64,
}

/// `(1 − e^{−x}) / x`, continuous at 0.
fn one_minus_exp_over(x: f64) -> f64 {
    if x < 1e-8 { 1.0 - x / 2.0 } else { -(-x).exp_m1() / x }
}

/// One cache with reads at rate `lambda` and writes at rate `mu` (docs/sources.md, "Cache models").
///
/// `upstream_fresh` is `E[e^{−μ a}]` over the age `a` of the copies this cache receives
/// from its upstream (1 when it fetches from the origin).
pub fn tier(lambda: f64, mu: f64, policy: &PagePolicy, upstream_fresh: f64) -> TierRates {
    if lambda <= 0.0 {
        return TierRates::default();
    }
    let t = policy.ttl_s;
    let w = policy.swr_s;
    let miss_in_window = (-lambda * w).exp();
    if policy.drop_on_write {
        // Invalidate on write: a copy lives min(T, time to next write), m = (1 − e^{−μT})/μ.
        let m = t * one_minus_exp_over(mu * t);
        let fetch_rate = lambda / (1.0 + lambda * m);
        // A cycle ends with the first read after expiry, X ~ Exp(λ) later. That read is
        // served stale while revalidating only if X < W and no write removed the copy
        // before it: probability e^{−μT} · λ/(λ+μ) · (1 − e^{−(λ+μ)W}).
        let revalidated = (-mu * t).exp() * lambda / (lambda + mu) * -(-(lambda + mu) * w).exp_m1();
        let sync_share = 1.0 - revalidated;
        let sync_fetch_rate = fetch_rate * sync_share;
        let hit_rate = lambda - sync_fetch_rate;
        let cached_share = lambda * m / (1.0 + lambda * m);
        let stale_window_s = policy.propagation_s.min(t + w);
        let stale_hit_rate = (mu * cached_share * lambda * stale_window_s).min(hit_rate);
        TierRates {
            hit_rate,
            fetch_rate,
            sync_fetch_rate,
            stale_hit_rate,
        }
    } else {
        // TTL only: h = λT/(1+λT); the fetch rate is unchanged by SWR (the cycle is still
        // T plus the wait for the next read), only who waits for it changes.
        let fetch_rate = lambda / (1.0 + lambda * t);
        let sync_fetch_rate = fetch_rate * miss_in_window;
        let hit_rate = lambda - sync_fetch_rate;
        // Stale hits per cycle: reads in [0, T] after a write, λT − g·λ(1 − e^{−μT})/μ ...
        let fresh_period = lambda * t - upstream_fresh * lambda * t * one_minus_exp_over(mu * t);
        // ... plus the read inside the SWR window, at age T + τ̄.
        let window = if w > 0.0 {
            let in_window = 1.0 - miss_in_window;
            let mean_wait = if lambda * w < 1e-9 {
                w / 2.0
            } else {
                1.0 / lambda - w * miss_in_window / in_window
            };
            in_window * (1.0 - upstream_fresh * (-mu * (t + mean_wait)).exp())
        } else {
            0.0
        };
        TierRates {
            hit_rate,
            fetch_rate,
            sync_fetch_rate,
            stale_hit_rate: (fetch_rate * (fresh_period + window)).clamp(0.0, hit_rate),
        }
    }
}

/// One object through every edge location and the regional tier.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ObjectRates {
    /// Viewer reads.
    pub read_rate: f64,
    /// Reads answered at an edge location.
    pub edge_hit_rate: f64,
    /// Reads that waited for the regional tier and were answered there.
    pub regional_hit_rate: f64,
    /// Reads that waited for the origin.
    pub origin_sync_rate: f64,
    /// Origin fetches, synchronous and background (the origin's load).
    pub origin_fetch_rate: f64,
    /// Reads answered with content older than the latest write.
    pub stale_read_rate: f64,
}

/// Reads `lambda` and writes `mu` of one object over `edges` edge locations and
/// `regional` regional caches (0 = none).
pub fn object(lambda: f64, mu: f64, policy: &PagePolicy, edges: u32, regional: u32) -> ObjectRates {
    let e = f64::from(edges.max(1));
    let edge_lambda = lambda / e;
    let no_upstream = tier(edge_lambda, mu, policy, 1.0);
    if regional == 0 {
        return ObjectRates {
            read_rate: lambda,
            edge_hit_rate: e * no_upstream.hit_rate,
            regional_hit_rate: 0.0,
            origin_sync_rate: e * no_upstream.sync_fetch_rate,
            origin_fetch_rate: e * no_upstream.fetch_rate,
            stale_read_rate: e * no_upstream.stale_hit_rate,
        };
    }
    let r = f64::from(regional);
    // Each regional cache serves the fetches of k = E/R edge locations. The edge whose
    // fetch filled the regional copy cannot fetch again before that copy expires (its own
    // copy expires at the same time), so only the other k − 1 locations' fetches, taken
    // as Poisson, can hit it: the regional tier's ratios are those of a cache read at
    // (k − 1)/k of its arrival rate.
    let k = e / r;
    let regional_lambda = no_upstream.fetch_rate * k;
    let others = regional_lambda * ((k - 1.0) / k).max(0.0);
    // An edge's synchronous miss (most follow a write or a quiet spell) is answered by the
    // regional tier only from a fresh copy; the regional stale-while-revalidate window
    // mostly absorbs the edges' background refreshes, which no viewer waits for.
    let reg_ratios = tier(others, mu, policy, 1.0);
    let fresh_only = tier(others, mu, &PagePolicy { swr_s: 0.0, ..*policy }, 1.0);
    let ratio_of = |x: f64| if others > 0.0 { x / others } else { 1.0 };
    let reg = TierRates {
        hit_rate: regional_lambda * (1.0 - ratio_of(fresh_only.sync_fetch_rate)),
        fetch_rate: regional_lambda * ratio_of(reg_ratios.fetch_rate),
        sync_fetch_rate: regional_lambda * ratio_of(fresh_only.sync_fetch_rate),
        stale_hit_rate: regional_lambda * (1.0 - ratio_of(fresh_only.sync_fetch_rate)) * stale_share(&fresh_only),
    };
    let regional_sync_miss = if regional_lambda > 0.0 {
        reg.sync_fetch_rate / regional_lambda
    } else {
        1.0
    };
    let edge = if policy.drop_on_write {
        no_upstream
    } else {
        // A copy from a regional hit is already up to T old; for Poisson reads that age is
        // uniform on [0, T], so E[e^{−μa}] = (1 − e^{−μT})/(μT).
        let regional_hit_share = if regional_lambda > 0.0 {
            1.0 - reg.fetch_rate / regional_lambda
        } else {
            0.0
        };
        let fresh = regional_hit_share * one_minus_exp_over(mu * policy.ttl_s) + (1.0 - regional_hit_share);
        tier(edge_lambda, mu, policy, fresh)
    };
    let edge_sync = e * edge.sync_fetch_rate;
    ObjectRates {
        read_rate: lambda,
        edge_hit_rate: e * edge.hit_rate,
        regional_hit_rate: edge_sync * (1.0 - regional_sync_miss),
        origin_sync_rate: edge_sync * regional_sync_miss,
        origin_fetch_rate: r * reg.fetch_rate,
        stale_read_rate: e * edge.stale_hit_rate + edge_sync * (1.0 - regional_sync_miss) * stale_share(&reg),
    }
}

fn stale_share(rates: &TierRates) -> f64 {
    if rates.hit_rate > 0.0 {
        rates.stale_hit_rate / rates.hit_rate
    } else {
        0.0
    }
}

impl std::ops::AddAssign for ObjectRates {
    fn add_assign(&mut self, o: Self) {
        self.read_rate += o.read_rate;
        self.edge_hit_rate += o.edge_hit_rate;
        self.regional_hit_rate += o.regional_hit_rate;
        self.origin_sync_rate += o.origin_sync_rate;
        self.origin_fetch_rate += o.origin_fetch_rate;
        self.stale_read_rate += o.stale_read_rate;
    }
}

impl ObjectRates {
    fn scaled(self, k: f64) -> Self {
        Self {
            read_rate: self.read_rate * k,
            edge_hit_rate: self.edge_hit_rate * k,
            regional_hit_rate: self.regional_hit_rate * k,
            origin_sync_rate: self.origin_sync_rate * k,
            origin_fetch_rate: self.origin_fetch_rate * k,
            stale_read_rate: self.stale_read_rate * k,
        }
    }

    /// Share of reads that did not wait for the origin.
    pub fn hit_ratio(&self) -> f64 {
        if self.read_rate > 0.0 {
            (1.0 - self.origin_sync_rate / self.read_rate).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// The kinds of request a wiki's distribution serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectClass {
    /// Page HTML: `GET /{page}`, cached for the page TTL.
    PageHtml,
    /// Content-hashed static assets, cached for a year.
    StaticAsset,
    /// API GETs, not cached.
    Api,
    /// MCP POSTs, never cached.
    Mcp,
}

impl std::fmt::Display for ObjectClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::PageHtml => "page HTML",
            Self::StaticAsset => "static assets",
            Self::Api => "API (GET)",
            Self::Mcp => "MCP (POST)",
        })
    }
}

/// One object class, averaged over the day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassResult {
    /// Which class.
    pub class: ObjectClass,
    /// Viewer requests.
    pub requests_per_s: f64,
    /// Share answered at an edge location.
    pub edge_hit_ratio: f64,
    /// Share answered without waiting for the origin (edge or regional tier).
    pub hit_ratio: f64,
    /// Requests the origin serves, synchronous and background.
    pub origin_requests_per_s: f64,
    /// Share of reads answered with content older than the latest write.
    pub stale_read_probability: f64,
    /// The oldest content a read can get, measured from the write it misses.
    pub worst_case_staleness_s: f64,
    /// Invalidation paths created per month.
    pub invalidation_paths_per_month: f64,
    /// Bytes sent to viewers.
    pub bytes_per_s: f64,
}

/// How a strategy differs from the model's own settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Strategy {
    /// Page HTML not cached (what the seed's distribution does today).
    NoPageCaching,
    /// The model's TTL and SWR with this invalidation strategy.
    Cached(Invalidation),
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoPageCaching => f.write_str("no page caching (today)"),
            Self::Cached(i) => i.fmt(f),
        }
    }
}

/// One strategy's headline figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StrategyResult {
    /// The strategy.
    pub strategy: Strategy,
    /// Its name for tables.
    pub name: String,
    /// Page HTML reads answered without waiting for the origin.
    pub page_hit_ratio: f64,
    /// Every CloudFront request answered without waiting for an origin.
    pub overall_hit_ratio: f64,
    /// Requests reaching the origin Lambda function (pages, API, MCP).
    pub origin_requests_per_s: f64,
    /// Share of page reads that return stale content.
    pub stale_read_probability: f64,
    /// Oldest page content a read can get.
    pub worst_case_staleness_s: f64,
    /// Invalidation paths per month.
    pub invalidation_paths_per_month: f64,
    /// End-user page latency.
    pub latency: LatencySummary,
    /// Monthly cost, every line.
    pub cost: CostBreakdown,
}

/// Everything the design page and the TUI show for one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The model's name.
    pub model: String,
    /// The model's own strategy.
    pub chosen: StrategyResult,
    /// Per object class, for the model's own strategy.
    pub classes: Vec<ClassResult>,
    /// Every strategy side by side (no page caching, TTL only, invalidate on write, versioned URLs).
    pub strategies: Vec<StrategyResult>,
    /// Page objects evaluated, and the popularity bins they were grouped into.
    pub page_objects: u64,
    /// Bins evaluated (objects within 1 % of each other's rate share a bin).
    pub popularity_bins: usize,
}

/// Rates of one strategy, kept per diurnal slice for the origin model.
#[derive(Debug, Clone)]
pub(crate) struct Flows {
    pub pages: ObjectRates,
    pub page_worst_staleness_s: f64,
    pub assets: ObjectRates,
    /// Lambda origin requests per diurnal slice.
    pub origin_per_slice: Vec<f64>,
    /// Page reads per slice, answered at the edge / regional tier / waited for the origin.
    pub slices: Vec<SliceFlows>,
    pub invalidation_paths_per_month: f64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct SliceFlows {
    pub weight: f64,
    pub edge_hits: f64,
    pub regional_hits: f64,
    pub origin_sync: f64,
}

pub(crate) fn policy_of(model: &Model, strategy: Strategy) -> PagePolicy {
    let c = &model.cache;
    match strategy {
        Strategy::NoPageCaching => PagePolicy {
            ttl_s: 0.0,
            swr_s: 0.0,
            drop_on_write: false,
            propagation_s: 0.0,
        },
        Strategy::Cached(Invalidation::TtlOnly) => PagePolicy {
            ttl_s: c.page_ttl_s,
            swr_s: c.stale_while_revalidate_s,
            drop_on_write: false,
            propagation_s: 0.0,
        },
        Strategy::Cached(Invalidation::OnWrite { .. }) => PagePolicy {
            ttl_s: c.page_ttl_s,
            swr_s: c.stale_while_revalidate_s,
            drop_on_write: true,
            propagation_s: c.invalidation_propagation_s,
        },
        // The revisioned content is immutable and cached for the asset TTL; staleness is
        // only the KeyValueStore pointer's propagation.
        Strategy::Cached(Invalidation::VersionedUrls) => PagePolicy {
            ttl_s: c.asset_ttl_s,
            swr_s: 0.0,
            drop_on_write: true,
            propagation_s: c.kvs_propagation_s,
        },
    }
}

fn worst_staleness(policy: &PagePolicy, tiers: f64) -> f64 {
    if policy.ttl_s == 0.0 && policy.swr_s == 0.0 {
        0.0
    } else if policy.drop_on_write {
        policy.propagation_s.min(policy.ttl_s + policy.swr_s)
    } else {
        // Each tier may hand on a copy up to T + W old.
        tiers * (policy.ttl_s + policy.swr_s)
    }
}

pub(crate) fn flows(model: &Model, bins: &[Bin], strategy: Strategy) -> Flows {
    let w = &model.workload;
    let policy = policy_of(model, strategy);
    let profile_total: f64 = w.diurnal_profile.iter().sum();
    let slices = w.diurnal_profile.len() as f64;
    let reads_per_s = model.page_views_per_s();
    let writes_per_s = model.writes_per_s();
    let month_s = 86_400.0 * w.days_per_month;
    let assets_policy = PagePolicy {
        ttl_s: model.cache.asset_ttl_s,
        swr_s: 0.0,
        drop_on_write: true,
        propagation_s: 0.0,
    };
    let deploys_per_s = model.cache.deploys_per_month / month_s;

    let mut pages = ObjectRates::default();
    let mut assets = ObjectRates::default();
    let mut origin_per_slice = Vec::with_capacity(w.diurnal_profile.len());
    let mut slice_flows = Vec::with_capacity(w.diurnal_profile.len());
    for &weight in &w.diurnal_profile {
        // Each slice is 1/K of the day at `weight / mean` times the average rate; writes follow reads.
        let level = if profile_total > 0.0 {
            weight * slices / profile_total
        } else {
            1.0
        };
        let mut slice = ObjectRates::default();
        for bin in bins {
            let one = object(
                reads_per_s * level * bin.share,
                writes_per_s * level * bin.share,
                &policy,
                w.edge_locations,
                w.regional_caches,
            );
            slice += one.scaled(bin.objects);
        }
        let asset_lambda = if w.distinct_assets > 0 {
            reads_per_s * level * w.asset_requests_per_page_view / w.distinct_assets as f64
        } else {
            0.0
        };
        let asset_slice = object(
            asset_lambda,
            deploys_per_s,
            &assets_policy,
            w.edge_locations,
            w.regional_caches,
        )
        .scaled(w.distinct_assets as f64);
        let uncached =
            reads_per_s * level * w.api_requests_per_page_view + writes_per_s * level * w.mcp_requests_per_write;
        origin_per_slice.push(slice.origin_fetch_rate + uncached);
        slice_flows.push(SliceFlows {
            weight: 1.0 / slices,
            edge_hits: slice.edge_hit_rate,
            regional_hits: slice.regional_hit_rate,
            origin_sync: slice.origin_sync_rate,
        });
        pages += slice.scaled(1.0 / slices);
        assets += asset_slice.scaled(1.0 / slices);
    }
    let invalidation_paths_per_month = match strategy {
        Strategy::Cached(Invalidation::OnWrite { paths_per_write }) => {
            writes_per_s * month_s * f64::from(paths_per_write)
        }
        _ => 0.0,
    };
    let tiers = if w.regional_caches > 0 { 2.0 } else { 1.0 };
    Flows {
        pages,
        page_worst_staleness_s: worst_staleness(&policy, tiers),
        assets,
        origin_per_slice,
        slices: slice_flows,
        invalidation_paths_per_month,
    }
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { 0.0 }
}

fn classes(model: &Model, flows: &Flows) -> Vec<ClassResult> {
    let w = &model.workload;
    let reads = model.page_views_per_s();
    let writes = model.writes_per_s();
    let api = reads * w.api_requests_per_page_view;
    let mcp = writes * w.mcp_requests_per_write;
    let uncached = |class, rate: f64, bytes: f64| ClassResult {
        class,
        requests_per_s: rate,
        edge_hit_ratio: 0.0,
        hit_ratio: 0.0,
        origin_requests_per_s: rate,
        stale_read_probability: 0.0,
        worst_case_staleness_s: 0.0,
        invalidation_paths_per_month: 0.0,
        bytes_per_s: rate * bytes,
    };
    vec![
        ClassResult {
            class: ObjectClass::PageHtml,
            requests_per_s: flows.pages.read_rate,
            edge_hit_ratio: ratio(flows.pages.edge_hit_rate, flows.pages.read_rate),
            hit_ratio: flows.pages.hit_ratio(),
            origin_requests_per_s: flows.pages.origin_fetch_rate,
            stale_read_probability: ratio(flows.pages.stale_read_rate, flows.pages.read_rate),
            worst_case_staleness_s: flows.page_worst_staleness_s,
            invalidation_paths_per_month: flows.invalidation_paths_per_month,
            bytes_per_s: flows.pages.read_rate * w.page_bytes,
        },
        ClassResult {
            class: ObjectClass::StaticAsset,
            requests_per_s: flows.assets.read_rate,
            edge_hit_ratio: ratio(flows.assets.edge_hit_rate, flows.assets.read_rate),
            hit_ratio: flows.assets.hit_ratio(),
            origin_requests_per_s: flows.assets.origin_fetch_rate,
            stale_read_probability: 0.0,
            worst_case_staleness_s: 0.0,
            invalidation_paths_per_month: 0.0,
            bytes_per_s: flows.assets.read_rate * w.asset_bytes,
        },
        uncached(ObjectClass::Api, api, w.api_bytes),
        uncached(ObjectClass::Mcp, mcp, w.mcp_bytes),
    ]
}

/// The popularity bins of a model's pages (cheap; reuse across strategies).
pub(crate) fn bins_of(model: &Model) -> Vec<Bin> {
    let w = &model.workload;
    popularity::page_bins(w.wikis, w.wiki_zipf_exponent, w.pages_per_wiki, w.page_zipf_exponent)
}

fn strategy_result(model: &Model, bins: &[Bin], strategy: Strategy) -> (StrategyResult, Vec<ClassResult>) {
    let flows = flows(model, bins, strategy);
    let classes = classes(model, &flows);
    let total_requests: f64 = classes.iter().map(|c| c.requests_per_s).sum();
    let waited: f64 = classes.iter().map(|c| c.requests_per_s * (1.0 - c.hit_ratio)).sum();
    let origin_requests_per_s = classes
        .iter()
        .filter(|c| c.class != ObjectClass::StaticAsset)
        .map(|c| c.origin_requests_per_s)
        .sum();
    let pool = origin::pool_model(model, &flows.origin_per_slice);
    let latency = origin::page_latency(model, &flows.slices, &pool, strategy);
    let cost = cost::breakdown(model, &classes, &flows, &pool, strategy);
    let page = &classes[0];
    (
        StrategyResult {
            strategy,
            name: strategy.to_string(),
            page_hit_ratio: page.hit_ratio,
            overall_hit_ratio: 1.0 - ratio(waited, total_requests),
            origin_requests_per_s,
            stale_read_probability: page.stale_read_probability,
            worst_case_staleness_s: page.worst_case_staleness_s,
            invalidation_paths_per_month: page.invalidation_paths_per_month,
            latency,
            cost,
        },
        classes,
    )
}

/// The analytic evaluation of a model: its own strategy, every class, and the other
/// strategies side by side. Cheap enough to call on every key press (well under 50 ms
/// for 1,000 wikis × 1,000 pages).
pub fn evaluate(model: &Model) -> Evaluation {
    let bins = bins_of(model);
    let own = Strategy::Cached(model.cache.invalidation);
    let paths = match model.cache.invalidation {
        Invalidation::OnWrite { paths_per_write } => paths_per_write.max(1),
        _ => 1,
    };
    let all = [
        Strategy::NoPageCaching,
        Strategy::Cached(Invalidation::TtlOnly),
        Strategy::Cached(Invalidation::OnWrite { paths_per_write: paths }),
        Strategy::Cached(Invalidation::VersionedUrls),
    ];
    let mut chosen = None;
    let mut strategies = Vec::with_capacity(all.len());
    for strategy in all {
        let (result, classes) = strategy_result(model, &bins, strategy);
        if strategy == own {
            chosen = Some((result.clone(), classes));
        }
        strategies.push(result);
    }
    let (chosen, classes) = chosen.unwrap_or_else(|| strategy_result(model, &bins, own));
    Evaluation {
        model: model.name.clone(),
        chosen,
        classes,
        strategies,
        page_objects: model.pages(),
        popularity_bins: bins.len(),
    }
}

/// Page hit ratio and stale-read probability of the model's strategy at each TTL (for the
/// TTL rationale charts); skips the latency and cost models.
pub fn sweep_ttl(model: &Model, ttls_s: &[f64]) -> Vec<(f64, f64, f64)> {
    let bins = bins_of(model);
    let mut m = model.clone();
    ttls_s
        .iter()
        .map(|&ttl| {
            m.cache.page_ttl_s = ttl;
            let f = flows(&m, &bins, Strategy::Cached(m.cache.invalidation));
            (
                ttl,
                f.pages.hit_ratio(),
                ratio(f.pages.stale_read_rate, f.pages.read_rate),
            )
        })
        .collect()
}

/// The model's own strategy at each page TTL, everything else as set: what [`evaluate`]
/// reports as `chosen`, without the other strategies and with the popularity bins made
/// once (for curves recomputed on every key press).
pub fn chosen_at_ttls(model: &Model, ttls_s: &[f64]) -> Vec<StrategyResult> {
    let bins = bins_of(model);
    let mut m = model.clone();
    ttls_s
        .iter()
        .map(|&ttl| {
            m.cache.page_ttl_s = ttl;
            strategy_result(&m, &bins, Strategy::Cached(m.cache.invalidation)).0
        })
        .collect()
}

/// Whether the auth option needs a function on every private request.
pub(crate) fn auth_runs_function(auth: AuthOption) -> bool {
    !matches!(auth, AuthOption::SignedCookies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl(t: f64) -> PagePolicy {
        PagePolicy {
            ttl_s: t,
            swr_s: 0.0,
            drop_on_write: false,
            propagation_s: 0.0,
        }
    }

    #[test]
    fn ttl_hit_ratio_is_lambda_t_over_one_plus_lambda_t() {
        let r = tier(0.1, 0.0, &ttl(60.0), 1.0);
        assert!((r.hit_rate / 0.1 - 6.0 / 7.0).abs() < 1e-12);
        assert!((r.fetch_rate - 0.1 / 7.0).abs() < 1e-12);
        assert!(r.stale_hit_rate.abs() < 1e-15);
    }

    #[test]
    fn stale_probability_matches_the_reference_formula() {
        // P(stale | hit) = 1 − (1 − e^{−μT})/(μT) (docs/sources.md, "Cache models").
        let (lambda, mu, t) = (2.0, 0.001, 300.0);
        let r = tier(lambda, mu, &ttl(t), 1.0);
        let expected = 1.0 - (1.0 - (-mu * t).exp()) / (mu * t);
        let got = r.stale_hit_rate / (r.fetch_rate * lambda * t);
        assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
    }

    #[test]
    fn invalidate_on_write_tends_to_lambda_over_lambda_plus_mu() {
        let policy = PagePolicy {
            ttl_s: 1e12,
            swr_s: 0.0,
            drop_on_write: true,
            propagation_s: 0.0,
        };
        let r = tier(3.0, 0.5, &policy, 1.0);
        assert!((r.hit_rate / 3.0 - 3.0 / 3.5).abs() < 1e-9);
    }

    #[test]
    fn swr_sync_miss_ratio_is_reference_formula() {
        // e^{−λW} / (1 + λT).
        let policy = PagePolicy {
            swr_s: 20.0,
            ..ttl(60.0)
        };
        let r = tier(0.05, 0.0, &policy, 1.0);
        let expected = (-0.05f64 * 20.0).exp() / (1.0 + 0.05 * 60.0);
        assert!((r.sync_fetch_rate / 0.05 - expected).abs() < 1e-12);
    }

    #[test]
    fn each_edge_sees_its_share() {
        let one = object(1.0, 0.0, &ttl(10.0), 1, 0);
        let ten = object(1.0, 0.0, &ttl(10.0), 10, 0);
        assert!((one.hit_ratio() - 10.0 / 11.0).abs() < 1e-12);
        assert!((ten.hit_ratio() - 0.5).abs() < 1e-12);
        let regional = object(1.0, 0.0, &ttl(10.0), 10, 1);
        assert!(regional.hit_ratio() > ten.hit_ratio());
    }
}
