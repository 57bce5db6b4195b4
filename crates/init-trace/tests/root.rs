//! What needs root and cgroups: Lambda's CPU share and memory limit. Where they cannot
//! be applied these tests fail and say why; `cargo nextest run --profile unprivileged`
//! leaves this binary out, and nextest then counts its tests as skipped (README,
//! "Tests").

mod common;

use common::*;
use init_trace::local::{EmulatorOptions, LocalEmulator};
use init_trace::sample::{ColdStartSample, CpuThrottlingRecord, InitStatus, Throttling};

/// Fails the test unless the emulator can apply Lambda's limits here.
fn require_throttling() {
    let emulator = LocalEmulator::new(EmulatorOptions::default());
    if let Throttling::Unavailable(reason) = emulator.throttling() {
        panic!(
            "this test needs root and cgroups (v2 with the cpu and memory controllers, or v1), and they cannot be used here: {reason}. Run as root, or run `cargo nextest run --profile unprivileged`, which reports the tests that need them as skipped"
        );
    }
}

/// A function that burns `cpu_s` of CPU in one thread at init.
fn busy_function(cpu_s: f64) -> tempfile::TempDir {
    python_function(&format!(
        "import time\nend = time.process_time() + {cpu_s}\nwhile time.process_time() < end:\n    pass\ndef handle(event, context):\n    return 'ok'\n"
    ))
}

fn cpu_throttling(sample: &ColdStartSample) -> CpuThrottlingRecord {
    assert_eq!(sample.sandbox.throttling, Throttling::Applied);
    assert_eq!(sample.init.status, InitStatus::Success, "{}", sample.stderr.text);
    sample
        .sandbox
        .cgroup
        .as_ref()
        .and_then(|cgroup| cgroup.cpu_throttling)
        .expect("a throttled sandbox records its cpu.stat")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_limit_ends_an_oversized_function() {
    require_throttling();
    let dir = python_function(
        "big = bytearray(400 * 1024 * 1024)\nbig[::4096] = b'x' * len(big[::4096])\ndef handle(event, context):\n    return 'ok'\n",
    );
    let mut spec = python("oom", dir.path());
    spec.memory_mb = 128;
    let sample = cold_start(&spec).await;
    assert_eq!(sample.init.status, InitStatus::Error, "{}", sample.outcome());
    assert_eq!(sample.process.exit_signal, Some(9), "OOM-killed: {:?}", sample.process);
    assert!(sample.sandbox.cgroup.as_ref().expect("cgroup").oom_killed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_share_follows_memory_size() {
    require_throttling();
    // Under a 128 MB share (0.072 vCPU) wall time must be at least CPU time / share.
    // This is a physical bound of the quota, not a timing guess.
    let dir = busy_function(0.05);
    let mut spec = python("burn", dir.path());
    spec.memory_mb = 128;
    let sample = cold_start(&spec).await;
    let throttling = cpu_throttling(&sample);
    let cgroup = sample.sandbox.cgroup.as_ref().expect("cgroup");
    assert!((cgroup.cpu_cores - 128.0 / 1769.0).abs() < 1e-9);
    let cpu_ms = sample.process.user_cpu_ms + sample.process.system_cpu_ms;
    let init_ms = sample.init.duration_ms.expect("ok");
    assert!(cpu_ms >= 50.0, "{cpu_ms}");
    assert!(
        init_ms >= 0.8 * cpu_ms / cgroup.cpu_cores,
        "init {init_ms} ms for {cpu_ms} ms CPU at {} vCPU",
        cgroup.cpu_cores
    );
    // 1.45 ms of CPU per 20 ms period: the function is stopped in nearly every period
    // it runs in.
    let quota_ms = 20.0 * cgroup.cpu_cores;
    assert!(
        throttling.throttled_periods as f64 >= 0.5 * cpu_ms / quota_ms,
        "{throttling:?} for {cpu_ms} ms of CPU"
    );
}

/// One thread cannot use more than one CPU, so from 1,769 MB (one vCPU) up the quota
/// must never stop a function that does one thing at a time: stopping it would add pauses
/// Lambda does not have. The function burns CPU at init and starts short subprocesses one
/// after another, the shape the kernel's per-CPU quota slices strand most (with a 10 ms
/// period and no burst it was stopped in 3–5 of 170 periods).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_thread_at_a_time_is_not_throttled_from_one_vcpu_up() {
    require_throttling();
    let dir = python_function(
        "import subprocess, sys, time\n\
         CHILD = 'import time\\nend = time.process_time() + 0.01\\nwhile time.process_time() < end: pass'\n\
         for _ in range(30):\n    \
             end = time.process_time() + 0.01\n    \
             while time.process_time() < end:\n        pass\n    \
             subprocess.run([sys.executable, '-S', '-c', CHILD], check=True)\n\
         def handle(event, context):\n    return 'ok'\n",
    );
    for memory_mb in [1769, 3008] {
        let mut spec = python("one_at_a_time", dir.path());
        spec.memory_mb = memory_mb;
        spec.init_timeout_ms = 30_000;
        let sample = cold_start(&spec).await;
        let throttling = cpu_throttling(&sample);
        eprintln!("{memory_mb} MB: {throttling:?}");
        assert!(throttling.periods >= 20, "{memory_mb} MB: {throttling:?}");
        // "Near zero": the kernel's accounting may still stop it once in a long run.
        assert!(throttling.throttled_periods <= 1, "{memory_mb} MB: {throttling:?}");
    }
}
