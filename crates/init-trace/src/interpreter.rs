//! Resolving an interpreter name to the real executable, once.
//!
//! On many machines `python3` on PATH is a shell shim (pyenv, asdf) that costs 100–250 ms
//! per start. Spawning it for every cold start would add that to every Init Duration, so
//! the name is resolved once, by asking the interpreter for `sys.executable`, and the real
//! file is what the emulator spawns and reports.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

/// A resolved interpreter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interpreter {
    /// The executable to spawn (not a shim).
    pub path: PathBuf,
    /// `major.minor.micro`.
    pub version: String,
}

impl Interpreter {
    /// `major.minor`, as Lambda's runtime identifiers use it (`python3.11`).
    pub fn major_minor(&self) -> &str {
        self.version
            .rsplit_once('.')
            .map_or(self.version.as_str(), |(head, _)| head)
    }
}

/// The interpreter could not be resolved.
#[derive(Debug, thiserror::Error)]
#[error("cannot use Python interpreter {requested:?}: {reason}")]
pub struct InterpreterError {
    /// What was asked for.
    pub requested: String,
    /// Why it failed, and what to do.
    pub reason: String,
}

const PROBE: &str = "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])";

/// Resolves a Python interpreter (a name on PATH or a path) to its real executable.
/// Results are cached for the life of the process.
pub fn resolve_python(requested: &str) -> Result<Interpreter, InterpreterError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Interpreter>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(found) = cache.lock().expect("interpreter cache lock").get(requested) {
        return Ok(found.clone());
    }
    let fail = |reason: String| InterpreterError {
        requested: requested.to_owned(),
        reason,
    };
    let output = Command::new(requested).args(["-c", PROBE]).output().map_err(|err| {
        fail(format!(
            "{err} (install Python 3 or set `interpreter` in coldfront.toml to its path)"
        ))
    })?;
    if !output.status.success() {
        return Err(fail(format!(
            "probe exited with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let (Some(path), Some(version)) = (lines.next(), lines.next()) else {
        return Err(fail(format!("unexpected probe output {stdout:?}")));
    };
    let path = PathBuf::from(path.trim());
    if path.as_os_str().is_empty() || !path.is_file() {
        return Err(fail(format!(
            "it reports sys.executable {}, which is not a file",
            path.display()
        )));
    }
    let found = Interpreter {
        path,
        version: version.trim().to_owned(),
    };
    cache
        .lock()
        .expect("interpreter cache lock")
        .insert(requested.to_owned(), found.clone());
    Ok(found)
}

/// A virtual environment of `base` with nothing in its site-packages, created once under
/// the cache directory and reused.
///
/// Lambda's Python runtime starts from a clean installation: the function's dependencies
/// come from its task root, not from the interpreter's site-packages. A developer's
/// interpreter often carries `.pth` files (setuptools' distutils hack, CA injectors) that
/// run at every start — 40 ms on the machine this was written on — and would be counted as
/// INIT. A venv without `--system-site-packages` skips them and keeps the same interpreter.
pub fn clean_python(base: &Interpreter, cache_root: &std::path::Path) -> Result<Interpreter, InterpreterError> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Interpreter>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(found) = cache.lock().expect("interpreter cache lock").get(&base.path) {
        return Ok(found.clone());
    }
    let fail = |reason: String| InterpreterError {
        requested: base.path.display().to_string(),
        reason,
    };
    let mut hasher = DefaultHasher::new();
    base.path.hash(&mut hasher);
    let dir = cache_root
        .join("python-envs")
        .join(format!("{}-{:016x}", base.version, hasher.finish()));
    let python = dir.join("bin/python");
    if !dir.join(".complete").exists() {
        let staging =
            cache_root
                .join("python-envs")
                .join(format!(".staging-{}-{}", std::process::id(), hasher.finish()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(|e| fail(format!("cannot create {}: {e}", staging.display())))?;
        let output = Command::new(&base.path)
            .args(["-m", "venv", "--without-pip", "--clear"])
            .arg(&staging)
            .output()
            .map_err(|e| fail(format!("cannot run venv: {e}")))?;
        if !output.status.success() {
            return Err(fail(format!(
                "`python -m venv` failed: {} (set `site_packages = true` in coldfront.toml to use the interpreter as it is)",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        std::fs::write(staging.join(".complete"), base.path.to_string_lossy().as_bytes())
            .map_err(|e| fail(e.to_string()))?;
        // A venv finds its interpreter through pyvenv.cfg's absolute `home`, so it keeps
        // working after the rename; a concurrent process may have won the race.
        if std::fs::rename(&staging, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        if !dir.join(".complete").exists() {
            return Err(fail(format!("cannot create the clean environment {}", dir.display())));
        }
    }
    let found = Interpreter {
        path: python,
        version: base.version.clone(),
    };
    cache
        .lock()
        .expect("interpreter cache lock")
        .insert(base.path.clone(), found.clone());
    Ok(found)
}
