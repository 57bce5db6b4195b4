//! What needs root and cgroups: Lambda's CPU share and memory limit. Where they cannot
//! be applied these tests fail and say why; `cargo nextest run --profile unprivileged`
//! leaves this binary out, and nextest then counts its tests as skipped (README,
//! "Tests").

mod common;

use common::*;
use init_trace::local::{EmulatorOptions, LocalEmulator};
use init_trace::sample::{ColdStartSample, CpuThrottlingRecord, InitStatus, Isolation, Throttling};

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

/// Fails the test unless sandboxes get Lambda's filesystem view and their own network here.
fn require_isolation(emulator: &LocalEmulator) {
    for (what, state) in [
        ("Lambda's filesystem view", emulator.filesystem_view()),
        ("a network namespace per sandbox", emulator.runtime_api_isolation()),
    ] {
        if let Isolation::Unavailable(reason) = state {
            panic!(
                "this test needs {what}, which needs root: {reason}. Run as root, or run `cargo nextest run --profile unprivileged`, which reports the tests that need it as skipped"
            );
        }
    }
}

/// Python that defines `attempt(path)`: writes the file and answers "written", or the
/// errno's name (`EROFS`, `EACCES`) the write failed with.
const ATTEMPT_WRITE: &str = "import errno\n\
def attempt(path):\n    \
    try:\n        \
        with open(path, 'w') as f:\n            f.write('escaped')\n        \
        return 'written'\n    \
    except OSError as e:\n        \
        return errno.errorcode.get(e.errno, str(e.errno))\n";

/// One cold start that must succeed, and the handler's answer: a JSON document it
/// returned as a JSON string.
async fn answered(
    emulator: &LocalEmulator,
    spec: &init_trace::spec::FunctionSpec,
    index: u64,
) -> (ColdStartSample, serde_json::Value) {
    let sample = emulator
        .cold_start(spec, index, init_trace::local::Cancel::never())
        .await
        .expect("the sandbox starts");
    assert!(sample.succeeded(), "cold start {index}: {}", sample.stderr.text);
    let text: String = serde_json::from_str(&sample.invokes[0].response_preview).expect("a JSON string");
    let response = serde_json::from_str(&text).expect("the handler's JSON");
    (sample, response)
}

/// A name no other run uses, for files a function must not be able to leave on the host.
fn unique_name(what: &str) -> String {
    format!(
        "coldfront-{what}-{}-{}",
        std::process::id(),
        init_trace::ids::segment_id()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmp_written_at_init_is_gone_on_the_next_cold_start() {
    let emulator = LocalEmulator::new(EmulatorOptions::default());
    require_isolation(&emulator);
    let name = unique_name("tmp");
    let dir = python_function(&format!(
        "import json, os\n\
         PATH = '/tmp/{name}'\n\
         FOUND = os.path.exists(PATH)\n\
         with open(PATH, 'w') as f:\n    f.write('cached at init')\n\
         def handle(event, context):\n    \
             return json.dumps({{'found_at_init': FOUND, 'tmpdir': os.environ.get('TMPDIR'), 'there_now': os.path.exists(PATH)}})\n"
    ));
    let spec = python("tmp_cache", dir.path());
    for round in 0..3 {
        let (sample, response) = answered(&emulator, &spec, round).await;
        assert_eq!(sample.sandbox.filesystem, Isolation::Applied);
        assert_eq!(
            response,
            serde_json::json!({"found_at_init": false, "tmpdir": "/tmp", "there_now": true}),
            "round {round}"
        );
    }
    // The function's /tmp was never the host's.
    assert!(!std::path::Path::new("/tmp").join(&name).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_outside_tmp_fail_as_on_lambda_and_leave_the_host_untouched() {
    let emulator = LocalEmulator::new(EmulatorOptions::default());
    require_isolation(&emulator);
    let name = unique_name("escape");
    let dir = python_function(&format!(
        "import errno, grp, json, os, pwd\n\
         {ATTEMPT_WRITE}\
         RESULTS = {{p: attempt(p) for p in ['/var/task/{name}', '/root/{name}', '/etc/{name}', '/tmp/{name}']}}\n\
         def handle(event, context):\n    \
             return json.dumps({{'writes': RESULTS, 'uid': os.getuid(), 'gid': os.getgid(), 'cwd': os.getcwd(), 'task_root': os.environ['LAMBDA_TASK_ROOT'], 'handler_seen': os.path.exists('/var/task/handler.py'), 'user': pwd.getpwuid(os.getuid()).pw_name, 'group': grp.getgrgid(os.getgid()).gr_name}})\n"
    ));
    let spec = python("escape", dir.path());
    let (_, response) = answered(&emulator, &spec, 0).await;
    let user = init_trace::local::SandboxUser::default();
    for path in ["/var/task", "/root", "/etc"] {
        let result = response["writes"][format!("{path}/{name}")].as_str().expect("a result");
        assert!(
            result == "EROFS" || result == "EACCES",
            "{path}: {result} (Lambda answers EROFS or EACCES)"
        );
    }
    assert_eq!(response["writes"][format!("/tmp/{name}")], "written");
    assert_eq!(response["uid"], user.uid);
    assert_eq!(response["gid"], user.gid);
    // Named, as Lambda's sandbox user is, without the host's account files changing.
    assert_eq!(response["user"], init_trace::local::SANDBOX_USER_NAME);
    assert_eq!(response["group"], init_trace::local::SANDBOX_USER_NAME);
    let host_passwd = std::fs::read_to_string("/etc/passwd").expect("the host's passwd");
    assert!(
        !host_passwd.contains(init_trace::local::SANDBOX_USER_NAME),
        "{host_passwd}"
    );
    assert_eq!(response["cwd"], "/var/task");
    assert_eq!(response["task_root"], "/var/task");
    assert_eq!(response["handler_seen"], true);
    for host_path in [
        dir.path().join(&name),
        std::path::Path::new("/root").join(&name),
        std::path::Path::new("/etc").join(&name),
        std::path::Path::new("/tmp").join(&name),
    ] {
        assert!(!host_path.exists(), "{} was written on the host", host_path.display());
    }
}

/// Two layers merged at `/opt` as Lambda extracts them: the later one's file wins, both
/// layers' Python packages import, `/opt` is read-only, and the host's `/opt` is
/// untouched. Without Lambda's filesystem view, layers are an error naming the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_appear_merged_and_read_only_at_opt() {
    let emulator = LocalEmulator::new(EmulatorOptions::default());
    require_isolation(&emulator);
    let layers = tempfile::tempdir().unwrap();
    let base = layers.path().join("base");
    let top = layers.path().join("top");
    for (layer, package, which) in [(&base, "from_base", "base"), (&top, "from_top", "top")] {
        std::fs::create_dir_all(layer.join("python").join(package)).unwrap();
        std::fs::write(layer.join("python").join(package).join("__init__.py"), "NAME = 'ok'\n").unwrap();
        std::fs::write(layer.join("which.txt"), which).unwrap();
    }
    let name = unique_name("layer");
    let dir = python_function(&format!(
        "import errno, json, os\n\
         import from_base, from_top\n\
         {ATTEMPT_WRITE}\
         WHICH = open('/opt/which.txt').read()\n\
         WRITE = attempt('/opt/{name}')\n\
         def handle(event, context):\n    \
             return json.dumps({{'which': WHICH, 'write': WRITE, 'imports': [from_base.NAME, from_top.NAME], 'from': from_base.__file__}})\n"
    ));
    let mut spec = python("layers", dir.path());
    spec.layers = vec![base.clone(), top.clone()];
    let (_, response) = answered(&emulator, &spec, 0).await;
    assert_eq!(response["which"], "top", "the later layer's file wins");
    assert_eq!(response["imports"], serde_json::json!(["ok", "ok"]));
    assert_eq!(response["from"], "/opt/python/from_base/__init__.py");
    let write = response["write"].as_str().unwrap();
    assert!(write == "EROFS" || write == "EACCES", "/opt is writable: {write}");
    assert!(!std::path::Path::new("/opt").join(&name).exists());
    assert!(!std::path::Path::new("/opt/which.txt").exists());

    // One layer is bound rather than overlaid, and reads the same way.
    spec.layers = vec![base];
    let sample = emulator
        .cold_start(&spec, 1, init_trace::local::Cancel::never())
        .await
        .expect("the sandbox starts");
    assert!(!sample.succeeded(), "from_top is not there any more");
    assert!(sample.stderr.text.contains("from_top"), "{}", sample.stderr.text);

    // The host's view cannot show layers, and says so.
    let host_view = LocalEmulator::new(EmulatorOptions {
        private_filesystem: false,
        ..EmulatorOptions::default()
    });
    let err = host_view
        .cold_start(&spec, 0, init_trace::local::Cancel::never())
        .await
        .expect_err("layers need Lambda's view")
        .to_string();
    assert!(err.contains("has layers") && err.contains("--host-filesystem"), "{err}");
}

/// A forged response from another local process: sent during an invoke to the address
/// the runtime uses. Isolated, it never reaches the sandbox's server; with the host's
/// network (the control case, which shows the test can tell) it does, and is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_local_process_cannot_reach_the_runtime_api() {
    let dir = python_function(
        "import os, time\n\
         def handle(event, context):\n    \
             gate = os.path.join(os.environ['LAMBDA_TASK_ROOT'], 'gate')\n    \
             while not os.path.exists(gate):\n        time.sleep(0.005)\n    \
             return 'from the function'\n",
    );
    let spec = python("forged", dir.path());
    for isolated in [true, false] {
        let _ = std::fs::remove_file(dir.path().join("gate"));
        let emulator = LocalEmulator::new(EmulatorOptions {
            isolate_runtime_api: isolated,
            ..EmulatorOptions::default()
        });
        if isolated {
            require_isolation(&emulator);
        }
        let mut sandbox = emulator
            .start_sandbox(&spec, 0, init_trace::local::Cancel::never())
            .await
            .expect("the sandbox starts");
        assert!(sandbox.is_usable(), "{:?}", sandbox.init());
        let addr = sandbox.runtime_api_addr();
        let forge = async {
            // The forger does not know the request id; any id shows whether the server
            // can be reached at all (a wrong one is rejected and recorded).
            let sent = tokio::task::spawn_blocking(move || {
                use std::io::{Read, Write};
                let mut stream = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))?;
                stream.write_all(
                    b"POST /2018-06-01/runtime/invocation/forged/response HTTP/1.1\r\nhost: x\r\ncontent-length: 6\r\nconnection: close\r\n\r\nforged",
                )?;
                let mut answer = String::new();
                stream.read_to_string(&mut answer)?;
                Ok::<_, std::io::Error>(answer)
            })
            .await
            .expect("the forger ran");
            std::fs::write(dir.path().join("gate"), b"").expect("open the gate");
            sent
        };
        let (invoked, forged) = tokio::join!(sandbox.invoke("{}"), forge);
        let invoked = invoked.expect("the invoke ran");
        assert_eq!(invoked.response.as_deref(), Some(&b"\"from the function\""[..]));
        let sample = sandbox.finish().await;
        if isolated {
            assert_eq!(sample.sandbox.runtime_api, Isolation::Applied);
            assert!(
                sample.runtime_api_problems.is_empty(),
                "a request from outside reached the sandbox: {:?} (forger got {forged:?})",
                sample.runtime_api_problems
            );
        } else {
            assert_eq!(sample.sandbox.runtime_api, Isolation::Disabled);
            assert!(forged.is_ok(), "{forged:?}");
            assert!(
                sample.runtime_api_problems.iter().any(|p| p.path.contains("/forged/")),
                "the control case should reach the server: {:?}",
                sample.runtime_api_problems
            );
        }
    }
}
