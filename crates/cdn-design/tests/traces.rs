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
