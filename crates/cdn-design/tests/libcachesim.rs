//! Exact agreement with libCacheSim: LRU and FIFO miss counts, by object count and by
//! bytes, at four cache sizes each, on a trace made here and run through libCacheSim's
//! own Python bindings (its C engine) in `target/venv-libcachesim`, which `.ci/run`
//! installs. No timing is involved.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use cdn_design::sim::trace::write_oracle_general;
use cdn_design::sim::{Capacity, Eviction, Request, SimConfig, TraceFormat, open_trace, simulate};

const REQUESTS: u64 = 200_000;
const OBJECTS: u64 = 5_000;
const LARGEST_BYTES: u32 = 10_000;

/// SplitMix64, so the trace is the same everywhere.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf(0.9) reads over `OBJECTS` objects with sizes 1..=`LARGEST_BYTES` fixed per
/// object, ids scattered over u64, several requests per second.
fn trace() -> Vec<Request> {
    let weights: Vec<f64> = (1..=OBJECTS).map(|rank| (rank as f64).powf(-0.9)).collect();
    let total: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(weights.len());
    let mut sum = 0.0;
    for w in &weights {
        sum += w / total;
        cumulative.push(sum);
    }
    let id = |rank: u64| rank.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x00C0_FFEE;
    let size = |rank: u64| 1 + (Mix(rank).next() % u64::from(LARGEST_BYTES)) as u32;
    let mut rng = Mix(17);
    (0..REQUESTS)
        .map(|i| {
            let u = rng.unit();
            let rank = cumulative.partition_point(|&c| c < u).min(OBJECTS as usize - 1) as u64;
            Request::read(i / 7 * cdn_design::sim::NS_PER_S, id(rank), size(rank))
        })
        .collect()
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/venv-libcachesim` with libCacheSim's bindings: made by `.ci/run`, or here on
/// a machine that has not run it (one test at a time, under a lock).
fn peer_python() -> PathBuf {
    let venv = workspace_root().join("target/venv-libcachesim");
    let python = venv.join("bin/python");
    std::fs::create_dir_all(workspace_root().join("target")).unwrap();
    let lock = std::fs::File::create(workspace_root().join("target/venv-libcachesim.lock")).unwrap();
    lock.lock().unwrap();
    let ready = |python: &PathBuf| {
        std::process::Command::new(python)
            .args(["-c", "import libcachesim"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready(&python) {
        let made = std::process::Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && std::process::Command::new(venv.join("bin/pip"))
                .args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "libcachesim==0.3.5",
                ])
                .status()
                .is_ok_and(|s| s.success());
        assert!(
            made && ready(&python),
            "could not install libcachesim==0.3.5 into {} (needs PyPI; .ci/run does the same)",
            venv.display()
        );
    }
    python
}

#[derive(Debug)]
struct Peer {
    misses: u64,
    bytes_missed: u64,
}

fn libcachesim(trace: &std::path::Path, runs: &[(Eviction, Capacity)], total_bytes: u64) -> Vec<Peer> {
    let python = peer_python();
    let mut command = std::process::Command::new(&python);
    command
        .arg(workspace_root().join("crates/cdn-design/tests/peers/libcachesim_run.py"))
        .arg(trace);
    for (eviction, capacity) in runs {
        command.arg(match eviction {
            Eviction::Lru => "LRU",
            Eviction::Fifo => "FIFO",
        });
        match capacity {
            Capacity::Objects(n) => command.arg(n.to_string()).arg("objects"),
            Capacity::Bytes(n) => command.arg(n.to_string()).arg("bytes"),
        };
    }
    let output = command.output().expect("run the libCacheSim peer");
    assert!(
        output.status.success(),
        "the libCacheSim peer failed (run .ci/run to install it into target/venv-libcachesim): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let ratio = |key: &str| v[key].as_f64().unwrap();
            Peer {
                misses: (ratio("miss_ratio") * REQUESTS as f64).round() as u64,
                bytes_missed: (ratio("byte_miss_ratio") * total_bytes as f64).round() as u64,
            }
        })
        .collect()
}

#[test]
fn lru_and_fifo_miss_counts_equal_libcachesim() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zipf.oracleGeneral.bin");
    let requests = trace();
    let total_bytes: u64 = requests.iter().map(|r| u64::from(r.size_bytes)).sum();
    write_oracle_general(&requests, &mut std::fs::File::create(&path).unwrap()).unwrap();
    // Four sizes each way; the smallest byte capacity is below the largest objects, so
    // objects that never fit are refused by both.
    let capacities = [
        Capacity::Objects(50),
        Capacity::Objects(300),
        Capacity::Objects(1_000),
        Capacity::Objects(3_000),
        Capacity::Bytes(9_000),
        Capacity::Bytes(500_000),
        Capacity::Bytes(3_000_000),
        Capacity::Bytes(15_000_000),
    ];
    let runs: Vec<(Eviction, Capacity)> = [Eviction::Lru, Eviction::Fifo]
        .into_iter()
        .flat_map(|e| capacities.iter().map(move |&c| (e, c)))
        .collect();
    let peers = libcachesim(&path, &runs, total_bytes);
    assert_eq!(peers.len(), runs.len());
    let mut rows = Vec::new();
    for ((eviction, capacity), peer) in runs.iter().zip(&peers) {
        let config = SimConfig {
            ttl_s: None,
            capacity: Some(*capacity),
            eviction: *eviction,
            ..SimConfig::ttl(0.0)
        };
        let mut source = open_trace(&path, &TraceFormat::OracleGeneral).unwrap();
        let report = simulate(&mut source, &config, &mut |_| {}, &AtomicBool::new(false)).unwrap();
        assert_eq!(report.reads, REQUESTS);
        // With object counts libCacheSim takes every object as 1 byte, so only the
        // byte-capacity runs compare missed bytes.
        rows.push(match capacity {
            Capacity::Objects(_) => format!(
                "{eviction:?} {capacity:?}: coldfront {} misses, libCacheSim {}",
                report.origin_sync_fetches, peer.misses
            ),
            Capacity::Bytes(_) => format!(
                "{eviction:?} {capacity:?}: coldfront {} misses ({} bytes), libCacheSim {} ({} bytes)",
                report.origin_sync_fetches, report.bytes_missed, peer.misses, peer.bytes_missed
            ),
        });
        let same = report.origin_sync_fetches == peer.misses
            && (matches!(capacity, Capacity::Objects(_)) || report.bytes_missed == peer.bytes_missed);
        assert!(same, "{}", rows.join("\n"));
        // Not a degenerate comparison: every size leaves both hits and misses.
        assert!(peer.misses > 0 && peer.misses < REQUESTS, "{}", rows.join("\n"));
    }
    println!("{}", rows.join("\n"));
}
