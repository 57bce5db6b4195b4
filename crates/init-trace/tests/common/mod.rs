//! Helpers shared by the emulator's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use init_trace::interpreter::resolve_python;

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
        ephemeral_storage_mb: 512,
        layers: Vec::new(),
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

/// Options for functions that report to the test through files on the host, which
/// Lambda's filesystem view (the default where the machine allows it) makes read-only or
/// hides.
pub fn host_filesystem(options: EmulatorOptions) -> EmulatorOptions {
    EmulatorOptions {
        private_filesystem: false,
        ..options
    }
}

/// One cold start with `options`.
pub async fn cold_start_with(options: EmulatorOptions, spec: &FunctionSpec) -> ColdStartSample {
    LocalEmulator::new(options)
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

/// The version `.ci/run` installs; keep the two in step.
pub const AWSLAMBDARIC: &str = "awslambdaric==4.2.2";

pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // target/debug/deps/<test binary>
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("inside target/").to_path_buf()
}

/// The previous major release `.ci/run` installs; keep the two in step.
pub const AWSLAMBDARIC_PREVIOUS_MAJOR: &str = "awslambdaric==2.2.1";

/// A venv with awslambdaric under target/, created on first use (`.ci/run` creates it up
/// front). A file lock keeps concurrent test processes from building it twice.
pub fn awslambdaric_python() -> PathBuf {
    awslambdaric_venv("venv-awslambdaric", AWSLAMBDARIC)
}

/// A venv with awslambdaric's previous major release under target/, made like
/// [`awslambdaric_python`]'s.
pub fn awslambdaric_previous_major_python() -> PathBuf {
    awslambdaric_venv("venv-awslambdaric-2", AWSLAMBDARIC_PREVIOUS_MAJOR)
}

fn awslambdaric_venv(name: &str, requirement: &str) -> PathBuf {
    let venv = target_dir().join(name);
    let python = venv.join("bin/python");
    let lock = std::fs::File::create(target_dir().join(format!("{name}.lock"))).expect("lock file");
    lock.lock().expect("lock");
    let version = requirement.split("==").nth(1).unwrap_or_default();
    let ready = Command::new(&python)
        .args([
            "-c",
            &format!("import importlib.metadata as m, sys; sys.exit(m.version('awslambdaric') != '{version}')"),
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let base = resolve_python("python3").expect("python3");
        let ok = Command::new(&base.path)
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .status()
            .expect("venv")
            .success()
            && Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", requirement])
                .status()
                .expect("pip")
                .success();
        assert!(
            ok,
            "could not install {requirement} into {} (run .ci/run, which installs it)",
            venv.display()
        );
    }
    python
}

/// A real multi-package app from PyPI (`tests/fixtures/pyapp`: Flask, SQLAlchemy, Jinja2
/// and Mangum, every version pinned in its `requirements.txt`), laid out as a Lambda
/// deployment package: the dependencies installed with `pip --target` beside the handler.
/// Made under target/ on first use (`.ci/run` makes it up front); a file lock keeps
/// concurrent test processes from building it twice.
pub fn pyapp_dir() -> PathBuf {
    let fixture = fixture("pyapp");
    let requirements = std::fs::read_to_string(fixture.join("requirements.txt")).expect("requirements");
    let dir = target_dir().join("pyapp");
    let lock = std::fs::File::create(target_dir().join("pyapp.lock")).expect("lock file");
    lock.lock().expect("lock");
    let stamp = dir.join(".requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(requirements.as_str()) {
        let pip = awslambdaric_python().with_file_name("pip");
        let _ = std::fs::remove_dir_all(&dir);
        let ok = Command::new(&pip)
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--target",
            ])
            .arg(&dir)
            .arg("-r")
            .arg(fixture.join("requirements.txt"))
            .status()
            .expect("pip")
            .success();
        assert!(
            ok,
            "could not install {} into {} (run .ci/run, which installs it)",
            fixture.join("requirements.txt").display(),
            dir.display()
        );
        std::fs::write(&stamp, &requirements).expect("stamp");
    }
    for file in ["handler.py", "event.json"] {
        std::fs::copy(fixture.join(file), dir.join(file)).expect("copy the handler");
    }
    dir
}
