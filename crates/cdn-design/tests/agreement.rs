//! The analytic formulas against the simulator on Poisson workloads: they must agree
//! within 0.5 percentage points (issue 5).

use std::sync::atomic::AtomicBool;

use cdn_design::sim::{Generator, SimConfig, simulate};
use cdn_design::{Invalidation, Model, evaluate};

/// A small flat-day workload: 200 pages, Zipf 0.8, ~1 read/s over all pages.
fn poisson_model(edges: u32, regional: u32) -> Model {
    let mut model = Model::preset("typical").unwrap();
    model.workload.wikis = 10;
    model.workload.pages_per_wiki = 20;
    model.workload.reads_per_wiki_per_day = 8_640.0;
    model.workload.writes_per_wiki_per_day = 86.4;
    model.workload.diurnal_profile = vec![1.0];
    model.workload.edge_locations = edges;
    model.workload.regional_caches = regional;
    model.cache.page_ttl_s = 60.0;
    model.cache.invalidation_propagation_s = 0.0;
    model
}

fn compare(model: &Model, events: u64, tolerance_pp: f64) {
    let analytic = &evaluate(model).classes[0];
    let mut trace = Generator::new(model, events, 42);
    let report = simulate(
        &mut trace,
        &SimConfig::from_model(model),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    let hit_pp = (analytic.hit_ratio - report.hit_ratio).abs() * 100.0;
    let stale_pp = (analytic.stale_read_probability - report.stale_read_probability).abs() * 100.0;
    assert!(
        hit_pp < tolerance_pp,
        "hit ratio: analytic {:.4} vs simulated {:.4} ({hit_pp:.3} pp)",
        analytic.hit_ratio,
        report.hit_ratio
    );
    assert!(
        stale_pp < tolerance_pp,
        "stale reads: analytic {:.4} vs simulated {:.4} ({stale_pp:.3} pp)",
        analytic.stale_read_probability,
        report.stale_read_probability
    );
}

#[test]
fn ttl_only_single_edge() {
    compare(&poisson_model(1, 0), 1_500_000, 0.5);
}

#[test]
fn ttl_only_four_edges_each_see_a_quarter() {
    compare(&poisson_model(4, 0), 1_500_000, 0.5);
}

#[test]
fn invalidate_on_write() {
    let mut model = poisson_model(2, 0);
    model.cache.invalidation = Invalidation::OnWrite { paths_per_write: 1 };
    model.cache.page_ttl_s = 600.0;
    compare(&model, 1_500_000, 0.5);
}

#[test]
fn stale_while_revalidate() {
    let mut model = poisson_model(1, 0);
    model.cache.stale_while_revalidate_s = 30.0;
    compare(&model, 1_500_000, 0.5);
}

#[test]
fn regional_tier_is_an_approximation_within_two_points() {
    // Each edge's misses are not Poisson, so the regional formula is approximate.
    compare(&poisson_model(8, 2), 1_500_000, 2.0);
}

#[test]
fn invalidate_on_write_with_stale_while_revalidate() {
    let mut model = poisson_model(1, 0);
    model.cache.invalidation = Invalidation::OnWrite { paths_per_write: 1 };
    model.cache.page_ttl_s = 30.0;
    model.cache.stale_while_revalidate_s = 60.0;
    compare(&model, 1_500_000, 0.5);
}

#[test]
fn invalidation_propagation_delay() {
    // Both sides take the invalidation's delay from the same page policy: copies are
    // served stale until it reaches the edges.
    let mut model = poisson_model(2, 0);
    model.cache.invalidation = Invalidation::OnWrite { paths_per_write: 1 };
    model.cache.page_ttl_s = 600.0;
    model.cache.invalidation_propagation_s = 30.0;
    compare(&model, 1_500_000, 0.5);
}
