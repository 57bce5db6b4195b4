//! The bundled fixture functions (`control`, `wiki`) and the bundled Python bootstrap.
//!
//! They are compiled into the crate and written once to a cache directory named by their
//! content hash, because a runtime process needs real files to import. The directory is
//! written under a temporary name and renamed into place, so concurrent runs never see a
//! half-written bundle.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/bundled_files.rs"));

/// The bundled functions, by name, with what each one is for.
pub const BUNDLED_FUNCTIONS: &[(&str, &str)] = &[
    (
        "control",
        "a minimal Python handler: the seed's control Lambda, the baseline every comparison subtracts",
    ),
    (
        "wiki",
        "a stdlib-only Python handler shaped like Otterwiki: many imports, template compilation, a data directory and an SQLite database at init",
    ),
];

/// Where coldfront caches files (the bundle, clean Python environments): `$COLDFRONT_CACHE_DIR`, else `$XDG_CACHE_HOME/coldfront`, else
/// `~/.cache/coldfront`, else the system temporary directory.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("COLDFRONT_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("coldfront");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("coldfront");
    }
    std::env::temp_dir().join("coldfront")
}

fn write_bundle(root: &Path) -> std::io::Result<PathBuf> {
    let target = root.join(format!("bundled-{CONTENT_HASH}"));
    if target.join(".complete").exists() {
        return Ok(target);
    }
    std::fs::create_dir_all(root)?;
    let staging = root.join(format!(".bundled-{CONTENT_HASH}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    for (relative, contents) in FILES {
        let path = staging.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, contents)?;
        if relative.ends_with("/bootstrap") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    std::fs::write(staging.join(".complete"), CONTENT_HASH)?;
    match std::fs::rename(&staging, &target) {
        Ok(()) => Ok(target),
        // Another process won the race and its copy is identical.
        Err(_) if target.join(".complete").exists() => {
            let _ = std::fs::remove_dir_all(&staging);
            Ok(target)
        }
        Err(err) => Err(err),
    }
}

/// The directory holding the bundled files, written on first use.
pub fn bundle_dir() -> Result<&'static Path, std::io::Error> {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    if let Some(dir) = DIR.get() {
        return Ok(dir);
    }
    let root = cache_root();
    let dir = write_bundle(&root).map_err(|err| {
        std::io::Error::new(
            err.kind(),
            format!(
                "cannot write the bundled functions to {}: {err} (set COLDFRONT_CACHE_DIR to a writable directory)",
                root.display()
            ),
        )
    })?;
    Ok(DIR.get_or_init(|| dir))
}

/// The bundled Python bootstrap.
pub fn python_bootstrap() -> Result<PathBuf, std::io::Error> {
    Ok(bundle_dir()?.join("runtimes/python/coldfront_bootstrap.py"))
}

/// The directory of coldfront's import-marks hook (`sitecustomize.py`), put on
/// `PYTHONPATH` for cold starts run with `-X importtime` so the handler's import is marked
/// in the stream whatever loads it. Its bytecode is written beside it once per interpreter,
/// so the hook's own compilation stays out of the runtime's start.
pub fn import_marks_dir(python: &Path) -> Result<PathBuf, std::io::Error> {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static COMPILED: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    let dir = bundle_dir()?.join("runtimes/python/importmarks");
    let compiled = COMPILED.get_or_init(Mutex::default);
    if compiled.lock().expect("hook cache lock").contains(python) {
        return Ok(dir);
    }
    // py_compile writes atomically, so concurrent runs at worst compile it twice. A failure
    // only means the hook is compiled at each start, which the attribution still sees.
    let _ = std::process::Command::new(python)
        .args([
            "-c",
            "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)",
        ])
        .arg(dir.join("sitecustomize.py"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    compiled.lock().expect("hook cache lock").insert(python.to_owned());
    Ok(dir)
}

/// The code directory of a bundled function.
pub fn fixture_dir(name: &str) -> Result<PathBuf, std::io::Error> {
    Ok(bundle_dir()?.join("fixtures").join(name))
}

/// The bundled bootstrap compiled to bytecode by `python`, written once per interpreter
/// and bundle under the cache directory; falls back to the source when compiling fails.
/// Python runs a `.pyc` given on the command line directly, so the bootstrap's own
/// compilation (~5 ms) stays out of every INIT, as it does for Lambda's own runtime.
pub fn compiled_python_bootstrap(python: &Path) -> Result<PathBuf, std::io::Error> {
    use std::collections::HashMap;
    use std::hash::{DefaultHasher, Hash, Hasher};
    use std::sync::Mutex;
    static COMPILED: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(Mutex::default);
    if let Some(found) = compiled.lock().expect("bootstrap cache lock").get(python) {
        return Ok(found.clone());
    }
    let source = python_bootstrap()?;
    let mut hasher = DefaultHasher::new();
    python.hash(&mut hasher);
    let dir = cache_root()
        .join("bootstrap-pyc")
        .join(format!("{CONTENT_HASH}-{:016x}", hasher.finish()));
    let target = dir.join("coldfront_bootstrap.pyc");
    if !target.is_file() {
        std::fs::create_dir_all(&dir)?;
        let staging = dir.join(format!(".coldfront_bootstrap.{}.pyc", std::process::id()));
        let status = std::process::Command::new(python)
            .args([
                "-c",
                "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)",
            ])
            .arg(&source)
            .arg(&staging)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?;
        if !status.success() || std::fs::rename(&staging, &target).is_err() {
            let _ = std::fs::remove_file(&staging);
            return Ok(source);
        }
    }
    compiled
        .lock()
        .expect("bootstrap cache lock")
        .insert(python.to_owned(), target.clone());
    Ok(target)
}
