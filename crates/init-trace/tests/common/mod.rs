//! Helpers shared by the emulator's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use init_trace::local::{Cancel, EmulatorOptions, LocalEmulator};
use init_trace::sample::ColdStartSample;
use init_trace::spec::{FunctionSpec, RuntimeKind};

/// A test fixture's code directory.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A Python function on the bundled bootstrap.
pub fn python(name: &str, code_dir: &Path) -> FunctionSpec {
    FunctionSpec {
        name: name.to_owned(),
        runtime: RuntimeKind::Python,
        code_dir: code_dir.to_owned(),
        handler: "handler.handle".to_owned(),
        command: None,
        interpreter: "python3".to_owned(),
        site_packages: false,
        memory_mb: 1769,
        timeout_ms: 3_000,
        init_timeout_ms: 10_000,
        invokes: 1,
        event: "{}".to_owned(),
        env: BTreeMap::new(),
        description: String::new(),
    }
}

/// A custom runtime run as `python bootstrap.py` in its code directory.
pub fn provided_python(name: &str, code_dir: &Path) -> FunctionSpec {
    FunctionSpec {
        runtime: RuntimeKind::Provided,
        handler: String::new(),
        command: Some(vec!["{python}".to_owned(), "bootstrap.py".to_owned()]),
        ..python(name, code_dir)
    }
}

/// One cold start with default options.
pub async fn cold_start(spec: &FunctionSpec) -> ColdStartSample {
    LocalEmulator::new(EmulatorOptions::default())
        .cold_start(spec, 0, Cancel::never())
        .await
        .expect("the sandbox starts")
}

/// One cold start without throttling.
pub async fn cold_start_unthrottled(spec: &FunctionSpec) -> ColdStartSample {
    LocalEmulator::new(EmulatorOptions {
        throttle: false,
        ..EmulatorOptions::default()
    })
    .cold_start(spec, 0, Cancel::never())
    .await
    .expect("the sandbox starts")
}

/// Writes a one-file Python function into a fresh directory.
pub fn python_function(source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("handler.py"), source).expect("write handler");
    dir
}

/// Whether a process is gone (or only a zombie of someone else's).
pub fn is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z') || rest.trim_start().starts_with('X')),
    }
}

/// Whether a process no longer exists at all (not even as a zombie).
pub fn is_reaped(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}
