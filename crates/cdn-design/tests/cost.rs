//! The cost model against hand arithmetic (docs/sources.md, "Prices").

use cdn_design::{Invalidation, Model, evaluate};

fn line(model: &Model, item: &str) -> f64 {
    evaluate(model)
        .chosen
        .cost
        .lines
        .iter()
        .find(|l| l.item == item)
        .unwrap_or_else(|| panic!("no line {item}"))
        .usd_per_month
}

#[test]
fn seed_invalidation_on_write_costs_745_not_220() {
    // 1,000 wikis × 5 writes/day × 1 path × 30 days = 150,000 paths;
    // (150,000 − 1,000 free) × $0.005 = $745/month.
    let mut model = Model::preset("seed").unwrap();
    model.cache.invalidation = Invalidation::OnWrite { paths_per_write: 1 };
    let evaluation = evaluate(&model);
    assert!((evaluation.chosen.invalidation_paths_per_month - 150_000.0).abs() < 1e-6);
    assert!((line(&model, "Invalidation paths") - 745.0).abs() < 1e-6);
    let page = cdn_design::design_page(&model, &evaluation, None);
    assert!(page.markdown.contains("$745.00/month"));
    assert!(page.markdown.contains("~$220/month"));
    assert!(page.markdown.contains("does not follow from its inputs"));
}

#[test]
fn ttl_only_and_versioned_urls_need_no_invalidations() {
    let mut model = Model::preset("seed").unwrap();
    assert!(line(&model, "Invalidation paths").abs() < 1e-12);
    model.cache.invalidation = Invalidation::VersionedUrls;
    assert!(line(&model, "Invalidation paths").abs() < 1e-12);
    // ...but versioned URLs run a function on every page view.
    assert!(line(&model, "CloudFront Functions (viewer request)") > 0.0);
}

#[test]
fn requests_and_transfer_follow_the_price_table() {
    let mut model = Model::preset("large").unwrap();
    model.prices.cloudfront_usd_per_10k_requests = 0.02;
    let doubled = line(&model, "CloudFront HTTPS requests");
    model.prices.cloudfront_usd_per_10k_requests = 0.01;
    let base = line(&model, "CloudFront HTTPS requests");
    assert!(base > 0.0 && (doubled - 2.0 * base).abs() < 1e-6 * base);
    let evaluation = evaluate(&model);
    let requests = evaluation.chosen.cost.cloudfront_requests_per_month;
    assert!((base - (requests - 10e6) / 10_000.0 * 0.01).abs() < 1e-6);
}

#[test]
fn caching_cuts_origin_requests_and_latency() {
    let model = Model::preset("typical").unwrap();
    let e = evaluate(&model);
    let none = &e.strategies[0];
    assert!(none.page_hit_ratio.abs() < 1e-12);
    assert!(e.chosen.origin_requests_per_s < none.origin_requests_per_s);
    assert!(e.chosen.latency.mean_ms < none.latency.mean_ms);
    assert!(e.chosen.latency.p50_ms <= none.latency.p50_ms);
    // Versioned URLs keep pages until they change: most views are served at the edge.
    let versioned = e.strategies.iter().find(|s| s.name == "versioned URLs").unwrap();
    assert!(versioned.page_hit_ratio > 0.5, "{}", versioned.page_hit_ratio);
    assert!(
        versioned.latency.p50_ms <= model.origin.edge_hit_max_ms + 2.0,
        "{:?}",
        versioned.latency
    );
    assert!(
        versioned.latency.origin_cold_start_probability >= none.latency.origin_cold_start_probability,
        "fewer origin requests meet more cold starts: {:?} vs {:?}",
        versioned.latency,
        none.latency
    );
}
