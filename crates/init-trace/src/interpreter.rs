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
        self.version.rsplit_once('.').map_or(self.version.as_str(), |(head, _)| head)
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
    let fail = |reason: String| InterpreterError { requested: requested.to_owned(), reason };
    let output = Command::new(requested)
        .args(["-c", PROBE])
        .output()
        .map_err(|err| fail(format!("{err} (install Python 3 or set `interpreter` in coldfront.toml to its path)")))?;
    if !output.status.success() {
        return Err(fail(format!("probe exited with {}: {}", output.status, String::from_utf8_lossy(&output.stderr).trim())));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let (Some(path), Some(version)) = (lines.next(), lines.next()) else {
        return Err(fail(format!("unexpected probe output {stdout:?}")));
    };
    let path = PathBuf::from(path.trim());
    if path.as_os_str().is_empty() || !path.is_file() {
        return Err(fail(format!("it reports sys.executable {path:?}, which is not a file")));
    }
    let found = Interpreter { path, version: version.trim().to_owned() };
    cache.lock().expect("interpreter cache lock").insert(requested.to_owned(), found.clone());
    Ok(found)
}
