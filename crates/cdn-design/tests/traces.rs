//! Trace files: both formats stream into the simulator; bad input names its line or record.

use std::io::Write as _;
use std::sync::atomic::AtomicBool;

use cdn_design::sim::trace::write_oracle_general;
use cdn_design::sim::{Capacity, CsvColumns, Request, SimConfig, TraceFormat, open_trace, simulate};

fn run(
    path: &std::path::Path,
    format: &TraceFormat,
    config: &SimConfig,
) -> Result<cdn_design::sim::SimReport, cdn_design::SimError> {
    let mut source = open_trace(path, format)?;
    simulate(&mut source, config, &mut |_| {}, &AtomicBool::new(false))
}

#[test]
fn csv_with_configured_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    // size;id;time with a header; object 7 is read at 0, 10 (hit) and 100 (expired).
    std::fs::write(&path, "size;id;time\n10;7;0\n10;7;10\n20;8;11\n10;7;100\n").unwrap();
    let format = TraceFormat::Csv(CsvColumns {
        time: 3,
        object: 2,
        size: Some(1),
        delimiter: b';',
        has_header: true,
        time_unit_s: 1.0,
    });
    let report = run(&path, &format, &SimConfig::ttl(60.0)).unwrap();
    assert_eq!(report.reads, 4);
    assert_eq!(report.edge_hits, 1);
    assert_eq!(report.distinct_objects, 2);
    assert!((report.byte_hit_ratio - 10.0 / 50.0).abs() < 1e-12);
}

#[test]
fn ttl_expiry_is_fixed_at_fetch_not_reset_by_hits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    // Fetched at 0 with TTL 10: hits at 5 and 9 do not extend it, so 11 is a miss.
    std::fs::write(&path, "0,1,1\n5,1,1\n9,1,1\n11,1,1\n").unwrap();
    let report = run(&path, &TraceFormat::Csv(CsvColumns::default()), &SimConfig::ttl(10.0)).unwrap();
    assert_eq!((report.edge_hits, report.origin_sync_fetches), (2, 2));
}

#[test]
fn bad_csv_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "0,1,10\n1,2,10\n2,3,ten\n").unwrap();
    let err = run(&path, &TraceFormat::Csv(CsvColumns::default()), &SimConfig::ttl(60.0)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("bad.csv:3:") && text.contains("size \"ten\" (column 3)"),
        "{text}"
    );
    std::fs::write(&path, "0;1;10\n").unwrap();
    let text = run(&path, &TraceFormat::Csv(CsvColumns::default()), &SimConfig::ttl(60.0))
        .unwrap_err()
        .to_string();
    assert!(text.contains(":1:") && text.contains("check the delimiter"), "{text}");
}

#[test]
fn unsorted_trace_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "5,1,1\n4,1,1\n").unwrap();
    let text = run(&path, &TraceFormat::Csv(CsvColumns::default()), &SimConfig::ttl(60.0))
        .unwrap_err()
        .to_string();
    // The error names the file and line of the request that went back in time.
    assert!(text.contains("t.csv:2") && text.contains("sort the trace"), "{text}");
}

fn oracle(path: &std::path::Path, requests: &[(f64, u64)]) {
    let requests: Vec<Request> = requests
        .iter()
        .map(|&(time_s, object)| Request::read(cdn_design::sim::s_to_ns(time_s), object, 100))
        .collect();
    let mut file = std::fs::File::create(path).unwrap();
    write_oracle_general(&requests, &mut file).unwrap();
}

#[test]
fn oracle_general_plain_lru_without_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.oracleGeneral.bin");
    // LRU with room for 2: 1 2 1 3 (evicts 2) 2 (miss, evicts 1) 1 (miss).
    oracle(&path, &[(0.0, 1), (1.0, 2), (2.0, 1), (3.0, 3), (4.0, 2), (5.0, 1)]);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 6 * 24);
    let config = SimConfig {
        ttl_s: None,
        capacity: Some(Capacity::Objects(2)),
        ..SimConfig::ttl(0.0)
    };
    let report = run(&path, &TraceFormat::OracleGeneral, &config).unwrap();
    assert_eq!(report.edge_hits, 1);
    assert_eq!(report.evictions, 3);
}

#[test]
fn truncated_oracle_general_names_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.bin");
    oracle(&path, &[(0.0, 1), (1.0, 2)]);
    let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&[0u8; 10]).unwrap();
    let text = run(&path, &TraceFormat::OracleGeneral, &SimConfig::ttl(60.0))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("record 2 (byte offset 48)") && text.contains("truncated"),
        "{text}"
    );
}

#[test]
fn cancel_stops_early_and_progress_is_reported() {
    let model = cdn_design::Model::preset("typical").unwrap();
    let mut source = cdn_design::sim::Generator::new(&model, 1_000_000, 1);
    let cancel = AtomicBool::new(false);
    let mut fractions = Vec::new();
    let report = simulate(
        &mut source,
        &SimConfig::from_model(&model),
        &mut |f| {
            fractions.push(f);
            if f > 0.2 {
                cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        },
        &cancel,
    )
    .unwrap();
    assert!(report.cancelled);
    assert!(report.requests < 500_000, "{}", report.requests);
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn single_cache_fast_path_matches_the_general_engine() {
    // An unreachable capacity sends the same trace through the general engine (slots and
    // an LRU list) instead of the single-cache fast path; every count must agree.
    let mut model = cdn_design::Model::preset("typical").unwrap();
    model.workload.edge_locations = 1;
    model.workload.regional_caches = 0;
    model.cache.stale_while_revalidate_s = 20.0;
    for invalidate in [false, true] {
        let mut fast = SimConfig::from_model(&model);
        fast.invalidate_on_write = invalidate;
        let general = SimConfig {
            capacity: Some(Capacity::Objects(u64::MAX)),
            ..fast.clone()
        };
        let run = |config: &SimConfig| {
            let mut source = cdn_design::sim::Generator::new(&model, 200_000, 5);
            simulate(&mut source, config, &mut |_| {}, &AtomicBool::new(false)).unwrap()
        };
        assert_eq!(run(&fast), run(&general), "invalidate_on_write = {invalidate}");
    }
}

#[test]
fn an_object_larger_than_a_byte_capacity_is_not_admitted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    // Room for 100 bytes: A (60) is cached; B (200) cannot be, and must not push A out.
    std::fs::write(&path, "0,1,60\n1,2,200\n2,1,60\n3,2,200\n4,1,60\n").unwrap();
    let format = TraceFormat::Csv(CsvColumns {
        time: 1,
        object: 2,
        size: Some(3),
        delimiter: b',',
        has_header: false,
        time_unit_s: 1.0,
    });
    let config = SimConfig {
        ttl_s: None,
        capacity: Some(Capacity::Bytes(100)),
        ..SimConfig::ttl(0.0)
    };
    let report = run(&path, &format, &config).unwrap();
    assert_eq!(report.edge_hits, 2, "A hits twice");
    assert_eq!(report.evictions, 0, "nothing was evicted for an object that never fit");
}

fn csv_in(unit_s: f64) -> TraceFormat {
    TraceFormat::Csv(CsvColumns {
        time_unit_s: unit_s,
        ..CsvColumns::default()
    })
}

#[test]
fn a_read_exactly_one_ttl_after_the_fetch_misses_in_ms_and_us_traces() {
    // Times where seconds as f64 used to round the other way: 16,109 ms + 60 s counted
    // as a hit, and so did 2 µs + 60 s. Times are whole nanoseconds now, so one unit
    // before the TTL is a hit and the TTL itself a miss, however large the clock.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let cases: [(f64, u64, u64); 4] = [
        (1e-3, 16_109, 60_000),
        (1e-6, 2, 60_000_000),
        (1e-3, 1_700_000_000_123, 60_000),
        (1e-6, 1_700_000_000_000_002, 60_000_000),
    ];
    for (unit_s, t0, ttl_units) in cases {
        std::fs::write(
            &path,
            format!("{t0},1,1\n{},1,1\n{},1,1\n", t0 + ttl_units - 1, t0 + ttl_units),
        )
        .unwrap();
        let report = run(&path, &csv_in(unit_s), &SimConfig::ttl(60.0)).unwrap();
        assert_eq!(
            (report.edge_hits, report.origin_sync_fetches),
            (1, 2),
            "unit {unit_s} s, fetched at {t0}"
        );
    }
}

#[test]
fn decimal_times_are_read_exactly_in_their_unit() {
    use cdn_design::sim::trace::parse_time_ns;
    assert_eq!(parse_time_ns("12.345", 1_000_000), Some(12_345_000));
    assert_eq!(parse_time_ns("0.1", 1_000_000_000), Some(100_000_000));
    assert_eq!(parse_time_ns(".5", 1_000), Some(500));
    assert_eq!(
        parse_time_ns("1700000000.123456", 1_000_000_000),
        Some(1_700_000_000_123_456_000)
    );
    assert_eq!(parse_time_ns("1e3", 1_000_000), Some(1_000_000_000));
    assert_eq!(parse_time_ns("-1", 1), None);
    assert_eq!(parse_time_ns("x", 1), None);
    assert_eq!(parse_time_ns("99999999999999999999", 1), None);
    // A fetch at 0.1 s and a read at 60.1 s: exactly one TTL apart, so a miss.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "0.1,1,1\n60.099999,1,1\n60.1,1,1\n").unwrap();
    let report = run(&path, &csv_in(1.0), &SimConfig::ttl(60.0)).unwrap();
    assert_eq!((report.edge_hits, report.origin_sync_fetches), (1, 2));
}

#[test]
fn fifo_keeps_its_order_on_hits_and_lru_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.oracleGeneral.bin");
    // Room for 2: 1 2 1 3 1. LRU evicts 2 for 3, so the last 1 hits; FIFO evicts 1 (the
    // oldest fetch, though just read), so it misses.
    oracle(&path, &[(0.0, 1), (1.0, 2), (2.0, 1), (3.0, 3), (4.0, 1)]);
    let config = |eviction| SimConfig {
        ttl_s: None,
        capacity: Some(Capacity::Objects(2)),
        eviction,
        ..SimConfig::ttl(0.0)
    };
    let lru = run(
        &path,
        &TraceFormat::OracleGeneral,
        &config(cdn_design::sim::Eviction::Lru),
    )
    .unwrap();
    let fifo = run(
        &path,
        &TraceFormat::OracleGeneral,
        &config(cdn_design::sim::Eviction::Fifo),
    )
    .unwrap();
    assert_eq!((lru.edge_hits, fifo.edge_hits), (2, 1));
}

#[test]
fn unsorted_oracle_general_names_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.bin");
    oracle(&path, &[(5.0, 1), (6.0, 2), (4.0, 1)]);
    let text = run(&path, &TraceFormat::OracleGeneral, &SimConfig::ttl(60.0))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("t.bin record 2") && text.contains("sort the trace"),
        "{text}"
    );
}

/// Requests from memory, for traces with writes.
struct Listed(std::vec::IntoIter<Request>, usize);

impl Iterator for Listed {
    type Item = Result<Request, cdn_design::TraceError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.1 += 1;
        self.0.next().map(Ok)
    }
}

impl cdn_design::sim::RequestSource for Listed {
    fn fraction_done(&self) -> f64 {
        0.0
    }
    fn location(&self) -> String {
        format!("request {}", self.1)
    }
}

#[test]
fn an_invalidation_takes_effect_after_its_propagation_delay() {
    use cdn_design::sim::{RequestKind, s_to_ns};
    let at = |s: f64, kind| Request {
        kind,
        ..Request::read(s_to_ns(s), 1, 10)
    };
    // Fetched at 0; written at 5; the invalidation reaches the edge at 15. Reads at 8 and
    // 14.9 get the old copy (stale for 3 s and 9.9 s); 15 misses; 16 hits a fresh copy.
    let trace = vec![
        at(0.0, RequestKind::Read),
        at(5.0, RequestKind::Write),
        at(8.0, RequestKind::Read),
        at(14.9, RequestKind::Read),
        at(15.0, RequestKind::Read),
        at(16.0, RequestKind::Read),
    ];
    let config = SimConfig {
        invalidate_on_write: true,
        invalidation_delay_s: 10.0,
        ..SimConfig::ttl(1_000.0)
    };
    let report = simulate(
        &mut Listed(trace.clone().into_iter(), 0),
        &config,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!((report.edge_hits, report.origin_sync_fetches), (3, 2));
    assert_eq!(report.stale_reads, 2);
    assert!(
        (report.staleness_max_s - 9.9).abs() < 1e-9,
        "{}",
        report.staleness_max_s
    );
    // Instant invalidation: the read at 8 misses and nothing is stale.
    let instant = SimConfig {
        invalidation_delay_s: 0.0,
        ..config
    };
    let report = simulate(
        &mut Listed(trace.into_iter(), 0),
        &instant,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(
        (report.edge_hits, report.origin_sync_fetches, report.stale_reads),
        (3, 2, 0)
    );
}

#[test]
fn threads_do_not_change_the_figures() {
    let mut model = cdn_design::Model::preset("typical").unwrap();
    model.workload.edge_locations = 9;
    model.workload.regional_caches = 3;
    model.cache.stale_while_revalidate_s = 20.0;
    model.cache.invalidation = cdn_design::Invalidation::OnWrite { paths_per_write: 1 };
    model.cache.invalidation_propagation_s = 30.0;
    for capacity in [None, Some(Capacity::Objects(500))] {
        let reports: Vec<_> = [1, 2, 3, 5]
            .into_iter()
            .map(|threads| {
                let config = SimConfig {
                    threads,
                    capacity,
                    ..SimConfig::from_model(&model)
                };
                let mut source = cdn_design::sim::Generator::new(&model, 300_000, 3);
                simulate(&mut source, &config, &mut |_| {}, &AtomicBool::new(false)).unwrap()
            })
            .collect();
        assert!(reports.windows(2).all(|w| w[0] == w[1]), "{reports:#?}");
        assert!(reports[0].stale_reads > 0 && reports[0].regional_hits > 0);
    }
}

#[cfg(unix)]
#[test]
fn an_oracle_general_pipe_is_streamed_like_a_mapped_file() {
    // A named pipe cannot be mapped; it is read through a buffer, with the same figures.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.bin");
    let pipe = dir.path().join("t.pipe");
    let requests: Vec<(f64, u64)> = (0..50_000u64).map(|i| ((i / 10) as f64, i * 7 % 1_000)).collect();
    oracle(&file, &requests);
    let status = std::process::Command::new("mkfifo").arg(&pipe).status().unwrap();
    assert!(status.success());
    let config = SimConfig {
        ttl_s: Some(30.0),
        capacity: Some(Capacity::Objects(300)),
        ..SimConfig::ttl(0.0)
    };
    let mapped = run(&file, &TraceFormat::OracleGeneral, &config).unwrap();
    let writer = {
        let (file, pipe) = (file.clone(), pipe.clone());
        std::thread::spawn(move || std::fs::write(&pipe, std::fs::read(&file).unwrap()).unwrap())
    };
    let streamed = run(&pipe, &TraceFormat::OracleGeneral, &config).unwrap();
    writer.join().unwrap();
    assert_eq!(streamed.requests, 50_000);
    assert_eq!(mapped, streamed);
}

#[test]
fn an_unsorted_request_deep_in_a_parallel_run_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    // Many batches in order, so either thread may be the one that reads the bad line.
    let mut text = String::new();
    for i in 0..50_000 {
        text += &format!("{i},{},1\n", i % 97);
    }
    text.push_str("10,1,1\n");
    std::fs::write(&path, text).unwrap();
    let config = SimConfig {
        edges: 4,
        threads: 2,
        capacity: Some(Capacity::Objects(10)),
        ..SimConfig::ttl(60.0)
    };
    let text = run(&path, &TraceFormat::Csv(CsvColumns::default()), &config)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("t.csv:50001") && text.contains("sort the trace"),
        "{text}"
    );
}
