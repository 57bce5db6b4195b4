//! cdn benchmarks: simulator throughput on one core, the oracleGeneral trace path against
//! libCacheSim's C engine on the same file, the speed-up from simulating independent edge
//! locations on two threads, and analytic evaluation time.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context;
use cdn_design::sim::trace::{ORACLE_GENERAL_RECORD_BYTES, write_oracle_general};
use cdn_design::sim::{
    Capacity, Eviction, Generator, RequestKind, RequestSource, SimConfig, SimReport, TraceFormat, open_trace, simulate,
};
use cdn_design::{Model, TraceError, evaluate};

use super::{Measure, Options, workspace_root};

/// Requests in the oracleGeneral trace both simulators read (the target asks for ≥ 20 M).
const TRACE_REQUESTS: u64 = 20_000_000;
/// The LRU cache of the libCacheSim comparison, in objects (the seed has 200,000 pages).
const LRU_OBJECTS: u64 = 100_000;
/// Edge locations in the parallel simulation.
const PARALLEL_EDGES: u16 = 20;
/// Requests of each parallel simulation (the trace's first ones).
const PARALLEL_REQUESTS: u64 = 5_000_000;

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

    // The trace path on the generator path's cache (one TTL cache of 60 s): how close
    // reading a file comes to simulating requests already in memory.
    let trace_per_s = trace_vs_libcachesim(options, measures, details)?;
    measures.insert(
        "cdn_trace_vs_generator_ratio".to_owned(),
        Measure::info(trace_per_s / per_s, "x"),
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

/// The seed's page reads as a 20 M-request oracleGeneral file under `target/bench/`,
/// written once (the generator is seeded, so the file is the same every time).
fn oracle_trace() -> anyhow::Result<PathBuf> {
    let dir = workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("cdn-seed-{}M.oracleGeneral.bin", TRACE_REQUESTS / 1_000_000));
    let want = TRACE_REQUESTS * ORACLE_GENERAL_RECORD_BYTES as u64;
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == want) {
        return Ok(path);
    }
    let model = Model::preset("seed")?;
    let partial = path.with_extension("partial");
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?,
    );
    let mut reads =
        Generator::new(&model, u64::MAX, 11).filter(|r| r.as_ref().is_ok_and(|r| r.kind == RequestKind::Read));
    let mut chunk = Vec::with_capacity(1 << 16);
    let mut written = 0;
    while written < TRACE_REQUESTS {
        chunk.clear();
        for _ in 0..(TRACE_REQUESTS - written).min(1 << 16) {
            chunk.push(reads.next().context("the generator ended early")??);
        }
        write_oracle_general(&chunk, &mut out)?;
        written += chunk.len() as u64;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// coldfront's whole trace path: open (map) the file and simulate it.
fn coldfront_run(path: &Path, config: &SimConfig) -> anyhow::Result<(f64, SimReport)> {
    coldfront_prefix(path, u64::MAX, config)
}

/// The same on the file's first `requests` requests.
fn coldfront_prefix(path: &Path, requests: u64, config: &SimConfig) -> anyhow::Result<(f64, SimReport)> {
    let started = Instant::now();
    let mut source = Prefix {
        inner: open_trace(path, &TraceFormat::OracleGeneral)?,
        left: requests,
    };
    let report = simulate(&mut source, config, &mut |_| {}, &AtomicBool::new(false))?;
    Ok((started.elapsed().as_secs_f64(), report))
}

/// The first `left` requests of a source, read through its own batches.
struct Prefix<S> {
    inner: S,
    left: u64,
}

impl<S: RequestSource> Iterator for Prefix<S> {
    type Item = Result<cdn_design::sim::Request, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.inner.next()
    }
}

impl<S: RequestSource> RequestSource for Prefix<S> {
    fn fraction_done(&self) -> f64 {
        self.inner.fraction_done()
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn next_batch(
        &mut self,
        batch: &mut Vec<cdn_design::sim::Request>,
        max: usize,
        previous_ns: u64,
    ) -> Result<(), cdn_design::SimError> {
        let before = batch.len();
        let max = usize::try_from(self.left).map_or(max, |left| left.min(max));
        self.inner.next_batch(batch, max, previous_ns)?;
        self.left -= (batch.len() - before) as u64;
        Ok(())
    }
}

/// libCacheSim's LRU on the same file through its Python bindings, timed inside Python
/// around opening the reader and `process_trace` (the C engine); `Err` says why it could
/// not run.
fn libcachesim_run(path: &Path) -> Result<(f64, f64), String> {
    let python = workspace_root().join("target/venv-libcachesim/bin/python");
    if !python.exists() {
        return Err(format!(
            "{} is missing; .ci/run installs libcachesim==0.3.5 there",
            python.display()
        ));
    }
    let script = workspace_root().join("crates/cdn-design/tests/peers/libcachesim_run.py");
    let output = std::process::Command::new(&python)
        .arg(&script)
        .arg(path)
        .args(["LRU", &LRU_OBJECTS.to_string(), "objects"])
        .output()
        .map_err(|err| format!("cannot run {}: {err}", python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "libCacheSim failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|err| format!("libCacheSim printed no result: {err}"))?;
    match (v["seconds"].as_f64(), v["miss_ratio"].as_f64()) {
        (Some(seconds), Some(miss_ratio)) => Ok((seconds, miss_ratio)),
        _ => Err(format!("unexpected libCacheSim output: {v}")),
    }
}

/// The libCacheSim comparison and the parallel speed-up; returns the trace path's rate
/// with `SimConfig::ttl(60.0)`.
fn trace_vs_libcachesim(
    options: &Options,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<f64> {
    let path = oracle_trace()?;
    let lru = SimConfig {
        ttl_s: None,
        capacity: Some(Capacity::Objects(LRU_OBJECTS)),
        eviction: Eviction::Lru,
        threads: 1,
        ..SimConfig::ttl(0.0)
    };
    let rounds = if options.quick { 2 } else { 3 };
    let (mut ours_s, mut peer_s) = (Vec::new(), Vec::new());
    let mut ours_miss = 0.0;
    let mut peer = Ok(0.0);
    for round in 0..rounds {
        // Alternated, and the order flipped each round, so neither always runs second
        // on a warm page cache.
        for first in [round % 2 == 0, round % 2 != 0] {
            if first {
                let (seconds, report) = coldfront_run(&path, &lru)?;
                ours_s.push(seconds);
                ours_miss = 1.0 - report.hit_ratio;
            } else if peer.is_ok() {
                peer = libcachesim_run(&path).map(|(seconds, miss)| {
                    peer_s.push(seconds);
                    miss
                });
            }
        }
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let ours_per_s = TRACE_REQUESTS as f64 / best(&ours_s);
    measures.insert(
        "cdn_trace_lru_requests_per_s".to_owned(),
        Measure::info(ours_per_s, "1/s"),
    );
    match &peer {
        Ok(peer_miss) => {
            let peer_per_s = TRACE_REQUESTS as f64 / best(&peer_s);
            measures.insert(
                "cdn_trace_vs_libcachesim_ratio".to_owned(),
                Measure::at_least(ours_per_s / peer_per_s, "x", 3.0),
            );
            details.insert(
                "cdn_trace_vs_libcachesim".to_owned(),
                serde_json::json!({
                    "trace": path.display().to_string(),
                    "requests": TRACE_REQUESTS,
                    "lru_objects": LRU_OBJECTS,
                    "rounds": rounds,
                    "coldfront_s": ours_s,
                    "libcachesim_s": peer_s,
                    "coldfront_requests_per_s": ours_per_s,
                    "libcachesim_requests_per_s": peer_per_s,
                    "coldfront_miss_ratio": ours_miss,
                    "libcachesim_miss_ratio": peer_miss,
                }),
            );
        }
        Err(reason) => {
            measures.insert("cdn_trace_vs_libcachesim_ratio".to_owned(), Measure::not_run(">= 3"));
            details.insert(
                "cdn_trace_vs_libcachesim".to_owned(),
                serde_json::json!({ "not_run": reason, "coldfront_s": ours_s }),
            );
        }
    }

    // Twenty independent edge locations (TTL 300 s, 20,000-object LRU each) on one thread
    // and on two, alternated, on the trace's first 5 M requests: short runs and more
    // rounds than above, since two threads need both cores free at once and the fastest
    // round of each is compared.
    let parallel_rounds = if options.quick { 3 } else { 8 };
    let edges = SimConfig {
        ttl_s: Some(300.0),
        capacity: Some(Capacity::Objects(20_000)),
        edges: PARALLEL_EDGES,
        ..SimConfig::ttl(0.0)
    };
    let (mut one, mut two) = (Vec::new(), Vec::new());
    let mut reports = Vec::new();
    for round in 0..parallel_rounds {
        for threads in if round % 2 == 0 { [1, 2] } else { [2, 1] } {
            let (seconds, report) = coldfront_prefix(
                &path,
                PARALLEL_REQUESTS,
                &SimConfig {
                    threads,
                    ..edges.clone()
                },
            )?;
            if threads == 1 { &mut one } else { &mut two }.push(seconds);
            reports.push(report);
        }
    }
    anyhow::ensure!(
        reports.windows(2).all(|w| w[0] == w[1]),
        "the parallel simulation's figures differ from the serial one's"
    );
    measures.insert(
        "cdn_parallel_speedup".to_owned(),
        Measure::at_least(best(&one) / best(&two), "x", 1.7),
    );
    details.insert(
        "cdn_parallel".to_owned(),
        serde_json::json!({
            "edges": PARALLEL_EDGES,
            "requests": PARALLEL_REQUESTS,
            "ttl_s": edges.ttl_s,
            "lru_objects_per_edge": 20_000,
            "rounds": parallel_rounds,
            "one_thread_s": one,
            "two_threads_s": two,
            "hit_ratio": reports[0].hit_ratio,
        }),
    );

    let mut ttl_s = Vec::new();
    for _ in 0..rounds {
        ttl_s.push(coldfront_run(&path, &SimConfig::ttl(60.0))?.0);
    }
    let ttl_per_s = TRACE_REQUESTS as f64 / best(&ttl_s);
    measures.insert(
        "cdn_trace_ttl_requests_per_s".to_owned(),
        Measure::info(ttl_per_s, "1/s"),
    );
    Ok(ttl_per_s)
}
