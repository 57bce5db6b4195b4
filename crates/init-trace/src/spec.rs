//! Function definitions: what to start cold, and how.
//!
//! A `coldfront.toml` names functions under `[functions.NAME]`. Every key is checked:
//! an unknown key or a bad value is an error naming the file, line and column, with a
//! suggestion when the key looks like a typo. Without a file, the bundled fixtures
//! (`control`, `wiki`) are the functions.
//!
//! ```toml
//! [functions.api]
//! runtime = "python"            # python | python-awslambdaric | provided
//! code = "src"                  # the task root, relative to this file
//! handler = "app.handler"       # module.function
//! interpreter = "python3"       # resolved once to the real executable
//! site_packages = false         # true: keep the interpreter's site-packages
//! memory_mb = 512               # 128 ..= 10240
//! ephemeral_storage_mb = 512    # the size of /tmp, 512 ..= 10240
//! layers = ["layers/deps"]      # directories shown at /opt, in order; at most 5
//! invokes = 3                   # per cold start: 1 cold + 2 warm
//! timeout_s = 3
//! init_timeout_s = 10
//! event = '{"rawPath": "/"}'    # or event_file = "event.json"
//! env = { STAGE = "bench" }
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::bundled;

/// How the runtime process is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeKind {
    /// CPython with coldfront's bundled stdlib-only bootstrap.
    Python,
    /// CPython with AWS's `awslambdaric` (`python -m awslambdaric HANDLER`); the
    /// interpreter must have it installed.
    PythonAwslambdaric,
    /// A custom runtime: the executable `bootstrap` in the code directory, or `command`.
    Provided,
}

impl RuntimeKind {
    /// The spelling used in spec files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::PythonAwslambdaric => "python-awslambdaric",
            Self::Provided => "provided",
        }
    }
}

/// Lambda's smallest memory size.
pub const MIN_MEMORY_MB: u32 = 128;
/// Lambda's largest memory size.
pub const MAX_MEMORY_MB: u32 = 10_240;
/// Lambda's smallest and default ephemeral storage (`/tmp`).
pub const MIN_EPHEMERAL_STORAGE_MB: u32 = 512;
/// The most layers a Lambda function can have.
pub const MAX_LAYERS: usize = 5;
/// Lambda's largest ephemeral storage.
pub const MAX_EPHEMERAL_STORAGE_MB: u32 = 10_240;
/// Lambda's INIT limit for on-demand functions.
pub const DEFAULT_INIT_TIMEOUT_MS: u64 = 10_000;

/// One function, fully resolved and validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSpec {
    /// Its name.
    pub name: String,
    /// How its runtime starts.
    pub runtime: RuntimeKind,
    /// The task root (absolute).
    pub code_dir: PathBuf,
    /// `_HANDLER`, e.g. `handler.handle`.
    pub handler: String,
    /// An explicit command line replacing the runtime's default; `{python}` in it is
    /// replaced by the resolved interpreter.
    pub command: Option<Vec<String>>,
    /// The Python interpreter to resolve (name on PATH or path).
    pub interpreter: String,
    /// Run the `python` runtime on the interpreter as it is, with its site-packages and
    /// their `.pth` start-up hooks. By default a clean venv of it is used, as Lambda's
    /// runtime has nothing installed beyond the standard library and boto3.
    #[serde(default)]
    pub site_packages: bool,
    /// Memory size; sets `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` and the CPU share.
    pub memory_mb: u32,
    /// The size of the function's `/tmp` (Lambda's `EphemeralStorage`), applied where the
    /// sandbox gets Lambda's filesystem view.
    #[serde(default = "default_ephemeral_storage_mb")]
    pub ephemeral_storage_mb: u32,
    /// Layer directories (absolute), shown merged at `/opt` in this order, a later
    /// layer's files over an earlier one's, as Lambda extracts a function's layers; at
    /// most [`MAX_LAYERS`]. Applied where the sandbox gets Lambda's filesystem view.
    #[serde(default)]
    pub layers: Vec<PathBuf>,
    /// Function timeout per invoke.
    pub timeout_ms: u64,
    /// INIT timeout.
    pub init_timeout_ms: u64,
    /// Invokes per cold start; the first is the cold one.
    pub invokes: u32,
    /// The event payload (valid JSON).
    pub event: String,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// What the function is.
    pub description: String,
}

fn default_ephemeral_storage_mb() -> u32 {
    MIN_EPHEMERAL_STORAGE_MB
}

/// A problem with a spec file or a function name.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid, at a known position.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// No function of that name.
    #[error("unknown function {name:?}{source_note}{hint}; known functions: {known}")]
    UnknownFunction {
        /// The requested name.
        name: String,
        /// Where the functions came from.
        source_note: String,
        /// ` (did you mean "..."?)`, when a known name is close.
        hint: String,
        /// The names that exist.
        known: String,
    },
    /// The bundled functions could not be written to disk.
    #[error(transparent)]
    Bundle(#[from] std::io::Error),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    functions: BTreeMap<String, Spanned<FunctionToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionToml {
    runtime: Spanned<RuntimeKind>,
    code: Spanned<PathBuf>,
    handler: Option<Spanned<String>>,
    command: Option<Spanned<Vec<String>>>,
    interpreter: Option<String>,
    site_packages: Option<bool>,
    memory_mb: Option<Spanned<i64>>,
    ephemeral_storage_mb: Option<Spanned<i64>>,
    layers: Option<Spanned<Vec<PathBuf>>>,
    timeout_s: Option<Spanned<f64>>,
    init_timeout_s: Option<Spanned<f64>>,
    invokes: Option<Spanned<i64>>,
    event: Option<Spanned<String>>,
    event_file: Option<Spanned<PathBuf>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    description: Option<String>,
}

const FUNCTION_KEYS: &[&str] = &[
    "runtime",
    "code",
    "handler",
    "command",
    "interpreter",
    "site_packages",
    "memory_mb",
    "ephemeral_storage_mb",
    "layers",
    "timeout_s",
    "init_timeout_s",
    "invokes",
    "event",
    "event_file",
    "env",
    "description",
];

/// Names a bundled function when a spec file is in use: `bundled:control`.
pub const BUNDLED_PREFIX: &str = "bundled:";

fn bundled_set() -> Result<&'static SpecSet, SpecError> {
    static SET: std::sync::OnceLock<SpecSet> = std::sync::OnceLock::new();
    if let Some(set) = SET.get() {
        return Ok(set);
    }
    let set = SpecSet::bundled()?;
    Ok(SET.get_or_init(|| set))
}

/// A set of functions: from a spec file or the bundled fixtures.
#[derive(Debug, Clone)]
pub struct SpecSet {
    source: Option<PathBuf>,
    functions: BTreeMap<String, FunctionSpec>,
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
    (line, column)
}

/// Levenshtein distance, for "did you mean" hints on mistyped keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

fn suggest(word: &str, candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c.to_owned())
}

impl SpecSet {
    /// The bundled fixture functions, written to the cache directory on first use.
    pub fn bundled() -> Result<Self, SpecError> {
        let mut functions = BTreeMap::new();
        for (name, description) in bundled::BUNDLED_FUNCTIONS {
            let code_dir = bundled::fixture_dir(name)?;
            let event = std::fs::read_to_string(code_dir.join("event.json")).unwrap_or_else(|_| "{}".to_owned());
            functions.insert(
                (*name).to_owned(),
                FunctionSpec {
                    name: (*name).to_owned(),
                    runtime: RuntimeKind::Python,
                    code_dir,
                    handler: "handler.handle".to_owned(),
                    command: None,
                    interpreter: "python3".to_owned(),
                    site_packages: false,
                    // The seed's Phase 0 benchmarks ran at 512 MB (docs/sources.md, "Measured cold starts").
                    memory_mb: 512,
                    ephemeral_storage_mb: MIN_EPHEMERAL_STORAGE_MB,
                    layers: Vec::new(),
                    timeout_ms: 3_000,
                    init_timeout_ms: DEFAULT_INIT_TIMEOUT_MS,
                    invokes: 3,
                    event,
                    env: BTreeMap::new(),
                    description: (*description).to_owned(),
                },
            );
        }
        Ok(Self {
            source: None,
            functions,
        })
    }

    /// Reads and validates a spec file.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Validates spec text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SpecError> {
        let invalid = |span: Option<Range<usize>>, message: String| {
            let (line, column) = span.map_or((1, 1), |s| line_column(text, s.start));
            SpecError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message,
            }
        };
        let file: FileToml = toml::from_str(text).map_err(|err| {
            let mut message = err.message().trim_end().to_owned();
            if let Some(unknown) = message
                .strip_prefix("unknown field `")
                .and_then(|m| m.split('`').next())
                && let Some(hint) = suggest(unknown, FUNCTION_KEYS)
            {
                message.push_str(&format!(" (did you mean `{hint}`?)"));
            }
            invalid(err.span(), message)
        })?;
        let base = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let base = if base.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            base
        };
        let mut functions = BTreeMap::new();
        for (name, spanned) in file.functions {
            let table_span = spanned.span();
            let raw = spanned.into_inner();
            let spec = resolve_function(&name, raw, &base, &|span, message| {
                invalid(span.or_else(|| Some(table_span.clone())), message)
            })?;
            functions.insert(name, spec);
        }
        if functions.is_empty() {
            return Err(invalid(
                None,
                "no functions defined; add a [functions.NAME] table with at least `runtime` and `code`".to_owned(),
            ));
        }
        Ok(Self {
            source: Some(path.to_owned()),
            functions,
        })
    }

    /// The function of that name. `bundled:NAME` is a bundled function (`bundled:control`)
    /// whether or not a spec file is in use.
    pub fn get(&self, name: &str) -> Result<&FunctionSpec, SpecError> {
        if let Some(bundled) = name.strip_prefix(BUNDLED_PREFIX) {
            let set = bundled_set()?;
            return set.functions.get(bundled).ok_or_else(|| {
                let known: Vec<String> = set.functions.keys().map(|k| format!("{BUNDLED_PREFIX}{k}")).collect();
                let candidates: Vec<&str> = known.iter().map(String::as_str).collect();
                SpecError::UnknownFunction {
                    name: name.to_owned(),
                    source_note: " among the bundled functions".to_owned(),
                    hint: suggest(name, &candidates).map_or_else(String::new, |h| format!(" (did you mean {h:?}?)")),
                    known: known.join(", "),
                }
            });
        }
        self.functions.get(name).ok_or_else(|| self.unknown(name))
    }

    fn unknown(&self, name: &str) -> SpecError {
        let mut known: Vec<String> = self.functions.keys().cloned().collect();
        if self.source.is_some() {
            known.extend(
                bundled::BUNDLED_FUNCTIONS
                    .iter()
                    .map(|(n, _)| format!("{BUNDLED_PREFIX}{n}")),
            );
        }
        // A bundled name given under a spec file most likely meant the bundled function.
        let bare = name.strip_prefix(BUNDLED_PREFIX).unwrap_or(name);
        let candidates: Vec<&str> = known.iter().map(String::as_str).collect();
        let hint = if self.source.is_some() && bundled::BUNDLED_FUNCTIONS.iter().any(|(n, _)| *n == bare) {
            Some(format!("{BUNDLED_PREFIX}{bare}"))
        } else {
            suggest(name, &candidates)
        };
        SpecError::UnknownFunction {
            name: name.to_owned(),
            source_note: self.source.as_ref().map_or_else(
                || " (no spec file given, so only the bundled functions exist)".to_owned(),
                |p| format!(" in {}", p.display()),
            ),
            hint: hint.map_or_else(String::new, |h| format!(" (did you mean {h:?}?)")),
            known: known.join(", "),
        }
    }

    /// A control for `subject`: the bundled minimal handler on the subject's runtime kind,
    /// interpreter and memory size, so the difference between the two is the subject's own
    /// code. A `provided` subject gets the bundled control on the bundled Python runtime
    /// (there is no minimal handler for an arbitrary custom runtime); the report says that
    /// the two do not match.
    pub fn control_for(subject: &FunctionSpec) -> Result<FunctionSpec, SpecError> {
        let mut control = bundled_set()?.functions["control"].clone();
        if subject.runtime != RuntimeKind::Provided {
            control.runtime = subject.runtime;
            control.interpreter.clone_from(&subject.interpreter);
            control.site_packages = subject.site_packages;
        }
        control.memory_mb = subject.memory_mb;
        Ok(control)
    }

    /// All functions, by name.
    pub fn functions(&self) -> impl Iterator<Item = &FunctionSpec> {
        self.functions.values()
    }

    /// The spec file, or `None` for the bundled functions.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }
}

type Invalid<'a> = dyn Fn(Option<Range<usize>>, String) -> SpecError + 'a;

fn resolve_function(
    name: &str,
    raw: FunctionToml,
    base: &Path,
    invalid: &Invalid<'_>,
) -> Result<FunctionSpec, SpecError> {
    let runtime = *raw.runtime.get_ref();
    let code_span = raw.code.span();
    let code_dir = base.join(raw.code.into_inner());
    let code_dir = code_dir.canonicalize().map_err(|err| {
        invalid(
            Some(code_span.clone()),
            format!(
                "function {name:?}: code directory {} cannot be used: {err}",
                code_dir.display()
            ),
        )
    })?;
    if !code_dir.is_dir() {
        return Err(invalid(
            Some(code_span),
            format!("function {name:?}: code {} is not a directory", code_dir.display()),
        ));
    }
    let handler = match (&raw.handler, runtime) {
        (Some(h), _) => {
            let value = h.get_ref().trim();
            if runtime != RuntimeKind::Provided
                && (!value.contains('.') || value.starts_with('.') || value.ends_with('.'))
            {
                return Err(invalid(
                    Some(h.span()),
                    format!("function {name:?}: handler {value:?} must be MODULE.FUNCTION, e.g. \"handler.handle\""),
                ));
            }
            value.to_owned()
        }
        (None, RuntimeKind::Provided) => String::new(),
        (None, _) => {
            return Err(invalid(
                None,
                format!(
                    "function {name:?}: `handler` is required for runtime {:?} (e.g. handler = \"handler.handle\")",
                    runtime.as_str()
                ),
            ));
        }
    };
    let command = match raw.command {
        Some(c) if c.get_ref().is_empty() => {
            return Err(invalid(
                Some(c.span()),
                format!("function {name:?}: `command` must not be empty"),
            ));
        }
        Some(c) => Some(c.into_inner()),
        None => None,
    };
    if runtime == RuntimeKind::Provided && command.is_none() {
        let bootstrap = code_dir.join("bootstrap");
        if !bootstrap.is_file() {
            return Err(invalid(
                None,
                format!(
                    "function {name:?}: a provided runtime needs an executable {} or a `command`",
                    bootstrap.display()
                ),
            ));
        }
    }
    let memory_mb = match raw.memory_mb {
        None => 512,
        Some(m) => {
            let value = *m.get_ref();
            if !(i64::from(MIN_MEMORY_MB)..=i64::from(MAX_MEMORY_MB)).contains(&value) {
                return Err(invalid(
                    Some(m.span()),
                    format!(
                        "function {name:?}: memory_mb = {value} is outside Lambda's range {MIN_MEMORY_MB}..={MAX_MEMORY_MB}"
                    ),
                ));
            }
            value as u32
        }
    };
    let ephemeral_storage_mb = match raw.ephemeral_storage_mb {
        None => MIN_EPHEMERAL_STORAGE_MB,
        Some(m) => {
            let value = *m.get_ref();
            if !(i64::from(MIN_EPHEMERAL_STORAGE_MB)..=i64::from(MAX_EPHEMERAL_STORAGE_MB)).contains(&value) {
                return Err(invalid(
                    Some(m.span()),
                    format!(
                        "function {name:?}: ephemeral_storage_mb = {value} is outside Lambda's range {MIN_EPHEMERAL_STORAGE_MB}..={MAX_EPHEMERAL_STORAGE_MB}"
                    ),
                ));
            }
            value as u32
        }
    };
    let layers = match raw.layers {
        None => Vec::new(),
        Some(list) => {
            let span = list.span();
            let list = list.into_inner();
            if list.len() > MAX_LAYERS {
                return Err(invalid(
                    Some(span),
                    format!(
                        "function {name:?}: {} layers, Lambda allows at most {MAX_LAYERS}",
                        list.len()
                    ),
                ));
            }
            let mut layers = Vec::with_capacity(list.len());
            for layer in list {
                let dir = base.join(&layer);
                let dir = dir
                    .canonicalize()
                    .ok()
                    .filter(|dir| dir.is_dir())
                    .ok_or_else(|| {
                        invalid(
                            Some(span.clone()),
                            format!(
                                "function {name:?}: layer {} is not a directory; a layer is the unzipped layer archive (its `python/`, `bin/`, `lib/`)",
                                dir.display()
                            ),
                        )
                    })?;
                layers.push(dir);
            }
            layers
        }
    };
    let seconds = |value: Option<Spanned<f64>>, key: &str, default_ms: u64, max_s: f64| -> Result<u64, SpecError> {
        match value {
            None => Ok(default_ms),
            Some(v) => {
                let s = *v.get_ref();
                if !(s > 0.0 && s <= max_s) {
                    return Err(invalid(
                        Some(v.span()),
                        format!("function {name:?}: {key} = {s} must be above 0 and at most {max_s}"),
                    ));
                }
                Ok((s * 1000.0).round() as u64)
            }
        }
    };
    let timeout_ms = seconds(raw.timeout_s, "timeout_s", 3_000, 900.0)?;
    let init_timeout_ms = seconds(raw.init_timeout_s, "init_timeout_s", DEFAULT_INIT_TIMEOUT_MS, 900.0)?;
    let invokes = match raw.invokes {
        None => 1,
        Some(n) => {
            let value = *n.get_ref();
            if !(1..=10_000).contains(&value) {
                return Err(invalid(
                    Some(n.span()),
                    format!(
                        "function {name:?}: invokes = {value} must be between 1 and 10000 (the first is the cold one)"
                    ),
                ));
            }
            value as u32
        }
    };
    let event = match (raw.event, raw.event_file) {
        (Some(_), Some(f)) => {
            return Err(invalid(
                Some(f.span()),
                format!("function {name:?}: give `event` or `event_file`, not both"),
            ));
        }
        (Some(e), None) => {
            let span = e.span();
            let text = e.into_inner();
            serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|err| invalid(Some(span), format!("function {name:?}: event is not valid JSON: {err}")))?;
            text
        }
        (None, Some(f)) => {
            let span = f.span();
            let file = base.join(f.into_inner());
            let text = std::fs::read_to_string(&file).map_err(|err| {
                invalid(
                    Some(span.clone()),
                    format!("function {name:?}: event_file {}: {err}", file.display()),
                )
            })?;
            serde_json::from_str::<serde_json::Value>(&text).map_err(|err| {
                invalid(
                    Some(span),
                    format!(
                        "function {name:?}: event_file {} is not valid JSON: {err}",
                        file.display()
                    ),
                )
            })?;
            text
        }
        (None, None) => "{}".to_owned(),
    };
    Ok(FunctionSpec {
        name: name.to_owned(),
        runtime,
        code_dir,
        handler,
        command,
        interpreter: raw.interpreter.unwrap_or_else(|| "python3".to_owned()),
        site_packages: raw.site_packages.unwrap_or(false),
        memory_mb,
        ephemeral_storage_mb,
        layers,
        timeout_ms,
        init_timeout_ms,
        invokes,
        event,
        env: raw.env,
        description: raw.description.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SpecSet, SpecError> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("src")).expect("mkdir");
        SpecSet::parse(text, &dir.path().join("coldfront.toml"))
    }

    #[test]
    fn reads_a_full_function() {
        let set = parse(
            "[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"app.handler\"\nmemory_mb = 1024\ninvokes = 5\ntimeout_s = 2.5\nevent = '{\"a\": 1}'\nenv = { STAGE = \"x\" }\n",
        )
        .expect("valid");
        let f = set.get("api").expect("present");
        assert_eq!((f.memory_mb, f.invokes, f.timeout_ms), (1024, 5, 2500));
        assert_eq!(f.ephemeral_storage_mb, 512, "Lambda's default");
        assert_eq!(f.env.get("STAGE").map(String::as_str), Some("x"));
        assert!(f.code_dir.is_absolute());
    }

    #[test]
    fn layers_are_directories_in_order_and_at_most_five() {
        let set = parse(
            "[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"a.b\"\nlayers = [\"src\", \".\"]\n",
        )
        .expect("valid");
        let layers = &set.get("api").expect("present").layers;
        assert_eq!(layers.len(), 2);
        assert!(layers[0].ends_with("src") && layers.iter().all(|l| l.is_absolute()));
        let err = parse(
            "[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"a.b\"\nlayers = [\"src\", \"nope\"]\n",
        )
        .expect_err("a missing layer");
        let text = err.to_string();
        assert!(
            text.contains(":5:") && text.contains("nope is not a directory"),
            "{text}"
        );
        let err = parse(&format!(
            "[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"a.b\"\nlayers = [{}]\n",
            ["\"src\""; 6].join(", ")
        ))
        .expect_err("six layers");
        assert!(err.to_string().contains("6 layers, Lambda allows at most 5"), "{err}");
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let err = parse("[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"a.b\"\nmemroy_mb = 512\n")
            .expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains("coldfront.toml:5:"), "{text}");
        assert!(
            text.contains("memroy_mb") && text.contains("did you mean `memory_mb`"),
            "{text}"
        );
    }

    #[test]
    fn bad_values_name_their_line() {
        let err = parse("[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"a.b\"\nmemory_mb = 64\n")
            .expect_err("invalid");
        assert!(
            err.to_string().contains(":5:") && err.to_string().contains("128..=10240"),
            "{err}"
        );
        let err = parse(
            "[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"a.b\"\nephemeral_storage_mb = 256\n",
        )
        .expect_err("below Lambda's minimum");
        assert!(
            err.to_string().contains(":5:")
                && err
                    .to_string()
                    .contains("ephemeral_storage_mb = 256 is outside Lambda's range 512..=10240"),
            "{err}"
        );
        let err =
            parse("[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"nodot\"\n").expect_err("invalid");
        assert!(
            err.to_string().contains(":4:") && err.to_string().contains("MODULE.FUNCTION"),
            "{err}"
        );
        let err =
            parse("[functions.api]\nruntime = \"jvm\"\ncode = \"src\"\nhandler = \"a.b\"\n").expect_err("invalid");
        assert!(
            err.to_string().contains(":2:") && err.to_string().contains("python-awslambdaric"),
            "{err}"
        );
        let err =
            parse("[functions.api]\nruntime = \"python\"\ncode = \"nope\"\nhandler = \"a.b\"\n").expect_err("invalid");
        assert!(
            err.to_string().contains(":3:") && err.to_string().contains("nope"),
            "{err}"
        );
        let err = parse("[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"a.b\"\nevent = '{oops'\n")
            .expect_err("invalid");
        assert!(
            err.to_string().contains(":5:") && err.to_string().contains("not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn unknown_function_lists_known_ones() {
        let set = parse("[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"a.b\"\n").expect("valid");
        let err = set.get("wikki").expect_err("unknown").to_string();
        assert!(
            err.contains("\"wikki\"") && err.contains("known functions: api"),
            "{err}"
        );
    }

    #[test]
    fn bundled_functions_stay_addressable_under_a_spec_file() {
        let set = parse("[functions.api]\nruntime = \"python\"\ncode = \"src\"\nhandler = \"a.b\"\n").expect("valid");
        let control = set.get("bundled:control").expect("the bundled control");
        assert!(control.code_dir.join("handler.py").is_file());
        let err = set.get("control").expect_err("not in the file").to_string();
        assert!(err.contains("did you mean \"bundled:control\""), "{err}");
        let err = set.get("bundled:contrl").expect_err("a typo").to_string();
        assert!(err.contains("did you mean \"bundled:control\""), "{err}");
        let err = set.get("apj").expect_err("a typo").to_string();
        assert!(
            err.contains("did you mean \"api\"") && err.contains("bundled:wiki"),
            "{err}"
        );
        // Without a spec file the prefix works too.
        assert!(SpecSet::bundled().expect("bundle").get("bundled:wiki").is_ok());
    }

    #[test]
    fn the_default_control_runs_the_subjects_runtime_and_interpreter() {
        let set = parse(
            "[functions.api]\nruntime = \"python-awslambdaric\"\ninterpreter = \"/opt/venv/bin/python\"\ncode = \"src\"\nhandler = \"a.b\"\nmemory_mb = 1024\n",
        )
        .expect("valid");
        let subject = set.get("api").expect("present");
        let control = SpecSet::control_for(subject).expect("control");
        assert_eq!(control.runtime, RuntimeKind::PythonAwslambdaric);
        assert_eq!(control.interpreter, "/opt/venv/bin/python");
        assert_eq!(control.memory_mb, 1024);
        assert_eq!(control.handler, "handler.handle");
        assert!(control.code_dir.join("handler.py").is_file());
    }

    #[test]
    fn bundled_functions_exist_on_disk() {
        let set = SpecSet::bundled().expect("bundle written");
        for name in ["control", "wiki"] {
            let f = set.get(name).expect("bundled");
            assert!(f.code_dir.join("handler.py").is_file(), "{}", f.code_dir.display());
            serde_json::from_str::<serde_json::Value>(&f.event).expect("event is JSON");
        }
    }
}
