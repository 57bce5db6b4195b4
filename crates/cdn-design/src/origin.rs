//! The origin and cold-start coupling: caching lowers the origin's request rate, which
//! raises the chance an origin request finds no warm Lambda execution environment.
//!
//! The pool of environments is simulated per diurnal slice: Poisson arrivals at the
//! origin rate, service times drawn from the warm and cold latency samples, an environment
//! kept for `idle_timeout_s` after its last request (an assumption: Lambda does not
//! document it), and the most recently used idle environment taken first. The end-user
//! latency of a page view is then a mixture: edge hit, regional hit, warm origin, cold origin.

use serde::Serialize;

use crate::analytic::{SliceFlows, Strategy};
use crate::auth;
use crate::model::{AuthOption, Invalidation, LatencyInputs, Model};
use crate::rng::Rng;

/// Points the uniform edge latency is represented by.
const STEPS: usize = 64;

/// Arrivals simulated per diurnal slice (after a warm-up of a tenth as many).
const POOL_ARRIVALS: usize = 4_000;

/// End-user latency of page views, from the mixture of where they were served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Mean.
    pub mean_ms: f64,
    /// Share of page views answered at an edge location.
    pub edge_share: f64,
    /// Share answered by the regional tier.
    pub regional_share: f64,
    /// Share that waited for a warm origin.
    pub warm_origin_share: f64,
    /// Share that waited for a cold start.
    pub cold_origin_share: f64,
    /// Share of origin requests (all routes) that met a cold start.
    pub origin_cold_start_probability: f64,
    /// Where the origin latencies came from.
    pub origin_latency_source: String,
}

/// The origin pool's behaviour over the day.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pool {
    /// Cold-start probability of an origin request, per slice.
    pub cold_share: Vec<f64>,
    /// Origin requests per second, per slice.
    pub rate: Vec<f64>,
}

impl Pool {
    /// Origin requests per month and the cold starts among them.
    pub fn monthly(&self, days_per_month: f64) -> (f64, f64) {
        let slice_s = 86_400.0 * days_per_month / self.rate.len().max(1) as f64;
        let requests: f64 = self.rate.iter().map(|r| r * slice_s).sum();
        let cold: f64 = self
            .rate
            .iter()
            .zip(&self.cold_share)
            .map(|(r, c)| r * c * slice_s)
            .sum();
        (requests, cold)
    }

    /// Cold-start probability over all origin requests of the day.
    pub fn cold_probability(&self) -> f64 {
        let total: f64 = self.rate.iter().sum();
        if total > 0.0 {
            self.rate.iter().zip(&self.cold_share).map(|(r, c)| r * c).sum::<f64>() / total
        } else {
            0.0
        }
    }
}

fn draw(rng: &mut Rng, samples: &[f64]) -> f64 {
    samples[rng.below(samples.len())]
}

/// Share of Poisson arrivals at `rate_per_s` that need a new execution environment.
pub fn cold_start_probability(rate_per_s: f64, idle_timeout_s: f64, latency: &LatencyInputs, seed: u64) -> f64 {
    if rate_per_s <= 0.0 || latency.warm_ms.is_empty() || latency.cold_ms.is_empty() {
        return if rate_per_s > 0.0 { 1.0 } else { 0.0 };
    }
    let mut rng = Rng::new(seed);
    // Busy environments as (finish time) in a min-heap; idle ones as a stack of their
    // idle-since times, oldest at the bottom, so an expired top means all are expired.
    let mut busy: std::collections::BinaryHeap<std::cmp::Reverse<u64>> = std::collections::BinaryHeap::new();
    let mut idle: Vec<f64> = Vec::new();
    let warm_up = POOL_ARRIVALS / 10;
    let mut now_s = 0.0;
    let mut cold = 0usize;
    for i in 0..warm_up + POOL_ARRIVALS {
        now_s += rng.exponential(rate_per_s);
        // Non-negative f64 order like their bit patterns.
        while let Some(std::cmp::Reverse(bits)) = busy.peek() {
            let finish = f64::from_bits(*bits);
            if finish > now_s {
                break;
            }
            idle.push(finish);
            busy.pop();
        }
        let is_cold = match idle.last() {
            Some(&since) if now_s - since <= idle_timeout_s => {
                idle.pop();
                false
            }
            _ => {
                idle.clear();
                true
            }
        };
        let service_ms = if is_cold {
            draw(&mut rng, &latency.cold_ms)
        } else {
            draw(&mut rng, &latency.warm_ms)
        };
        busy.push(std::cmp::Reverse((now_s + service_ms / 1000.0).to_bits()));
        if i >= warm_up && is_cold {
            cold += 1;
        }
    }
    cold as f64 / POOL_ARRIVALS as f64
}

pub(crate) fn pool_model(model: &Model, origin_per_slice: &[f64]) -> Pool {
    Pool {
        cold_share: origin_per_slice
            .iter()
            .enumerate()
            .map(|(i, &rate)| {
                cold_start_probability(
                    rate,
                    model.origin.idle_timeout_s,
                    &model.latency,
                    0xC01D_F407 + i as u64,
                )
            })
            .collect(),
        rate: origin_per_slice.to_vec(),
    }
}

/// Weighted quantile of `(value, weight)` points sorted by value.
fn quantile(points: &[(f64, f64)], total: f64, q: f64) -> f64 {
    let target = q * total;
    let mut seen = 0.0;
    for &(value, weight) in points {
        seen += weight;
        if seen >= target {
            return value;
        }
    }
    points.last().map_or(0.0, |p| p.0)
}

/// The added edge-function latency of a page view for this strategy and auth option.
fn function_ms(model: &Model, strategy: Strategy) -> (f64, f64) {
    let auth = model.cache.auth;
    let auth_ms = if crate::analytic::auth_runs_function(auth) {
        auth::row_for(model, auth).latency_ms
    } else {
        0.0
    };
    // Versioned URLs run a router function on every page view; auth shares it.
    let router_ms = if strategy == Strategy::Cached(Invalidation::VersionedUrls) {
        if auth == AuthOption::LambdaAtEdge {
            auth_ms
        } else {
            auth::default_row(model, AuthOption::CloudfrontFunctionHs256).latency_ms
        }
    } else {
        0.0
    };
    // (public page view, private page view)
    (router_ms, router_ms.max(auth_ms))
}

pub(crate) fn page_latency(model: &Model, slices: &[SliceFlows], pool: &Pool, strategy: Strategy) -> LatencySummary {
    let o = &model.origin;
    let mut edge = 0.0;
    let mut regional = 0.0;
    let mut warm = 0.0;
    let mut cold = 0.0;
    for (slice, cold_share) in slices.iter().zip(&pool.cold_share) {
        edge += slice.edge_hits * slice.weight;
        regional += slice.regional_hits * slice.weight;
        warm += slice.origin_sync * slice.weight * (1.0 - cold_share);
        cold += slice.origin_sync * slice.weight * cold_share;
    }
    let total = edge + regional + warm + cold;
    let (public_ms, private_ms) = function_ms(model, strategy);
    let private = model.workload.share_private;
    let mut points: Vec<(f64, f64)> = Vec::new();
    // The edge's own latency is uniform on [min, max] (the seed's ~10–50 ms).
    let edge_ms =
        |k: usize| o.edge_hit_min_ms + (o.edge_hit_max_ms - o.edge_hit_min_ms) * (k as f64 + 0.5) / STEPS as f64;
    for (extra_ms, share) in [(public_ms, 1.0 - private), (private_ms, private)] {
        for k in 0..STEPS {
            let w = share / STEPS as f64;
            points.push((edge_ms(k) + extra_ms, edge * w));
            points.push((edge_ms(k) + extra_ms + o.regional_hit_extra_ms, regional * w));
        }
        let base = f64::midpoint(o.edge_hit_min_ms, o.edge_hit_max_ms) + o.edge_to_origin_ms + extra_ms;
        let warm_n = model.latency.warm_ms.len() as f64;
        let cold_n = model.latency.cold_ms.len() as f64;
        points.extend(
            model
                .latency
                .warm_ms
                .iter()
                .map(|ms| (base + ms, warm * share / warm_n)),
        );
        points.extend(
            model
                .latency
                .cold_ms
                .iter()
                .map(|ms| (base + ms, cold * share / cold_n)),
        );
    }
    points.retain(|p| p.1 > 0.0);
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let weight: f64 = points.iter().map(|p| p.1).sum();
    let mean_ms = if weight > 0.0 {
        points.iter().map(|(v, w)| v * w).sum::<f64>() / weight
    } else {
        0.0
    };
    let share = |x: f64| if total > 0.0 { x / total } else { 0.0 };
    LatencySummary {
        p50_ms: quantile(&points, weight, 0.50),
        p90_ms: quantile(&points, weight, 0.90),
        p99_ms: quantile(&points, weight, 0.99),
        mean_ms,
        edge_share: share(edge),
        regional_share: share(regional),
        warm_origin_share: share(warm),
        cold_origin_share: share(cold),
        origin_cold_start_probability: pool.cold_probability(),
        origin_latency_source: model.latency.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rare_request_is_always_cold_and_a_busy_origin_rarely() {
        let latency = LatencyInputs::seed_defaults();
        // One request every ~1,000 s with a 600 s idle timeout: P(cold) = e^{−rτ} ≈ 0.55.
        let p = cold_start_probability(0.001, 600.0, &latency, 1);
        assert!((p - (-0.6f64).exp()).abs() < 0.03, "{p}");
        let p = cold_start_probability(1e-6, 600.0, &latency, 1);
        assert!(p > 0.99, "{p}");
        let p = cold_start_probability(50.0, 600.0, &latency, 1);
        assert!(p < 0.02, "{p}");
    }

    #[test]
    fn same_seed_same_answer() {
        let latency = LatencyInputs::seed_defaults();
        assert_eq!(
            cold_start_probability(0.3, 600.0, &latency, 7).to_bits(),
            cold_start_probability(0.3, 600.0, &latency, 7).to_bits()
        );
    }
}
