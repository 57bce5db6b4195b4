//! cdn benchmarks: simulator throughput on one core and analytic evaluation time.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use cdn_design::sim::{Generator, RequestSource, SimConfig, simulate};
use cdn_design::{Model, TraceError, evaluate};

use super::{Measure, Options};

/// A pre-generated trace, so the measurement is the cache engine and not the generator.
struct InMemory {
    requests: Vec<cdn_design::sim::Request>,
    next: usize,
}

impl Iterator for InMemory {
    type Item = Result<cdn_design::sim::Request, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.requests.get(self.next).copied();
        self.next += 1;
        r.map(Ok)
    }
}

impl RequestSource for InMemory {
    fn fraction_done(&self) -> f64 {
        self.next as f64 / self.requests.len().max(1) as f64
    }
    fn location(&self) -> String {
        format!("in-memory request {}", self.next)
    }
}

pub(crate) fn run(
    options: &Options,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    // Simulator: a single-tier TTL cache over the seed's 200,000 pages (1,000 wikis).
    let model = Model::preset("seed")?;
    let n = if options.quick { 5_000_000 } else { 20_000_000 };
    let requests: Vec<_> = Generator::new(&model, n, 7)
        .collect::<Result<_, _>>()
        .context("generating the benchmark trace")?;
    let config = SimConfig::ttl(60.0);
    let mut best_s = f64::INFINITY;
    let mut hit_ratio = 0.0;
    let best_of = 3;
    for _ in 0..best_of {
        let mut source = InMemory {
            requests: requests.clone(),
            next: 0,
        };
        let started = Instant::now();
        let report = simulate(&mut source, &config, &mut |_| {}, &AtomicBool::new(false))?;
        best_s = best_s.min(started.elapsed().as_secs_f64());
        hit_ratio = report.hit_ratio;
    }
    let per_s = n as f64 / best_s;
    measures.insert(
        "cdn_sim_requests_per_s".to_owned(),
        Measure::at_least(per_s, "1/s", 20e6),
    );
    details.insert(
        "cdn_sim".to_owned(),
        serde_json::json!({
            "requests": n,
            "objects": model.pages(),
            "ttl_s": config.ttl_s,
            "edges": config.edges,
            "best_of": best_of,
            "best_s": best_s,
            "hit_ratio": hit_ratio,
        }),
    );

    // Analytic: 1,000 wikis × 1,000 pages, the whole evaluation (every strategy).
    let mut model = Model::preset("seed")?;
    model.workload.pages_per_wiki = 1_000;
    let runs = if options.quick { 5 } else { 20 };
    let mut times_ms: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let evaluation = evaluate(&model);
            std::hint::black_box(&evaluation);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times_ms.sort_by(f64::total_cmp);
    let median_ms = times_ms[times_ms.len() / 2];
    measures.insert(
        "cdn_analytic_eval_ms".to_owned(),
        Measure::at_most(median_ms, "ms", 50.0),
    );
    details.insert(
        "cdn_analytic".to_owned(),
        serde_json::json!({ "wikis": model.workload.wikis, "pages_per_wiki": model.workload.pages_per_wiki, "runs": runs, "median_ms": median_ms, "min_ms": times_ms[0], "max_ms": times_ms[times_ms.len() - 1] }),
    );
    Ok(())
}
