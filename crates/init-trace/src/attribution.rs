//! Where one cold start's INIT went: a tree of non-overlapping segments whose durations
//! add up to Init Duration exactly, with an explicit `unattributed` remainder.
//!
//! The evidence, best first:
//! - the import-marks hook's lines in the `-X importtime` stream (`handler_import_start`,
//!   `handler_import_end`), written whatever loads the handler: an `import` statement,
//!   `importlib.import_module` (awslambdaric, whose loading `-X importtime` does not record
//!   as a parent of the handler's imports) or anything else on the import system;
//! - the bundled bootstrap's marks (`first_line`, `handler_import_start`,
//!   `handler_import_end`, monotonic ns sent with its first `GET /next`), which split INIT
//!   into interpreter start, bootstrap, handler import and the runtime's call to `/next`;
//! - Python's `-X importtime` tree, which splits the handler import into the module code
//!   of each top-level package and the handler module's own top-level code;
//! - X-Ray documents the function sent, for blocks it timed itself.
//!
//! Sandbox creation, VPC networking and EFS mounting happen before Init Duration starts
//! on Lambda and are not observable on the local emulator; they are listed as such, never
//! given an invented number.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::evidence::importtime::{self, ImportNode, ParseStats};
use crate::evidence::xray::{CustomSegment, custom_segments};
use crate::sample::{ColdStartSample, InitStatus};

pub mod shares;

/// Segment names, stable across samples so they can be compared and summarised.
pub mod names {
    /// Exec to the bootstrap's first line: interpreter start-up.
    pub const INTERPRETER: &str = "interpreter";
    /// The bootstrap's own work before it loads the handler.
    pub const BOOTSTRAP: &str = "bootstrap";
    /// Spawn to the moment the runtime is ready to load the handler.
    pub const RUNTIME_START: &str = "runtime start";
    /// Imports measured outside the handler's import (without bootstrap marks).
    pub const RUNTIME_IMPORTS: &str = "runtime imports";
    /// Module code of the packages the handler imported.
    pub const IMPORTS: &str = "imports";
    /// The standard library's packages, grouped under `imports`.
    pub const STDLIB: &str = "stdlib";
    /// The handler module's own top-level code.
    pub const HANDLER_INIT: &str = "handler init";
    /// The handler import, when it cannot be split further.
    pub const HANDLER_IMPORT: &str = "handler import";
    /// Handler loaded to the first `GET /next` received.
    pub const RUNTIME_API: &str = "runtime api";
    /// coldfront's own import-marks hook writing its module catalogue (instrumented runs only).
    pub const INSTRUMENTATION: &str = "instrumentation";
    /// What no evidence accounts for.
    pub const UNATTRIBUTED: &str = "unattributed";
    /// The part of handler init not covered by custom segments.
    pub const OTHER: &str = "other";
}

/// A measured part of INIT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Its name (see [`names`]); package segments are named after the package.
    pub name: String,
    /// Its duration.
    pub ms: f64,
    /// Its parts, adding up to `ms`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Segment>,
}

impl Segment {
    fn leaf(name: &str, ms: f64) -> Self {
        Self {
            name: name.to_owned(),
            ms,
            children: Vec::new(),
        }
    }

    fn parent(name: &str, children: Vec<Segment>) -> Self {
        Self {
            name: name.to_owned(),
            ms: children.iter().map(|c| c.ms).sum(),
            children,
        }
    }

    /// Every segment below and including this one, with its path (`imports/sqlite3`).
    pub fn flatten(&self, prefix: &str, out: &mut Vec<(String, f64)>) {
        let path = if prefix.is_empty() {
            self.name.clone()
        } else {
            format!("{prefix}/{}", self.name)
        };
        out.push((path.clone(), self.ms));
        for child in &self.children {
            child.flatten(&path, out);
        }
    }
}

/// One top-level package's share of the handler's imports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageImports {
    /// The top-level package.
    pub package: String,
    /// The time in its own modules' code (additive across packages).
    pub self_ms: f64,
    /// The time of its topmost imports including everything they imported: an upper
    /// bound of what dropping or deferring it would save (shared dependencies may be
    /// imported anyway).
    pub subtree_ms: f64,
    /// How many of its modules were imported.
    pub modules: usize,
    /// Its topmost import nodes, for drill-down.
    pub roots: Vec<ImportNode>,
    /// Part of the standard library (by the interpreter's `sys.stdlib_module_names`, when
    /// the import-marks hook reported it).
    #[serde(default)]
    pub stdlib: bool,
    /// Its modules that are native extensions (shared objects loaded with `dlopen`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub native: Vec<String>,
    /// The modules that imported its topmost modules (the handler module for its own
    /// imports): who to change to defer it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imported_by: Vec<String>,
}

impl PackageImports {
    /// Every module in its inclusive subtrees, its own and what they imported: what
    /// dropping it could remove at most.
    pub fn subtree_modules(&self) -> std::collections::BTreeSet<String> {
        let mut modules = std::collections::BTreeSet::new();
        for root in &self.roots {
            root.walk(&mut |n| {
                modules.insert(n.name.clone());
            });
        }
        modules
    }
}

impl Attribution {
    /// Each imported module's own time (the handler module's is handler init).
    pub fn module_self_ms(&self) -> BTreeMap<String, f64> {
        let mut modules = BTreeMap::new();
        for package in &self.packages {
            for root in &package.roots {
                root.walk(&mut |n| {
                    if n.package() == package.package {
                        modules.insert(n.name.clone(), n.self_us as f64 / 1000.0);
                    }
                });
            }
        }
        modules
    }
}

/// The standard library's part of the handler's imports, as one line of the breakdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StdlibImports {
    /// Time in its modules' own code.
    pub self_ms: f64,
    /// Its topmost imports (those not imported by another stdlib module) with everything
    /// they imported; subtrees do not overlap, so they add up.
    pub inclusive_ms: f64,
    /// How many of its modules were imported.
    pub modules: usize,
    /// How many of its top-level packages (`json`, `email`, ...).
    pub packages: usize,
}

/// A part of a cold start the backend could not observe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotObservable {
    /// What it is.
    pub name: String,
    /// Why it has no number.
    pub reason: String,
}

/// The breakdown of one cold start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// Init Duration.
    pub init_ms: f64,
    /// Top-level segments in time order; their `ms` add up to `init_ms`.
    pub segments: Vec<Segment>,
    /// The handler's imports by top-level package, largest first.
    pub packages: Vec<PackageImports>,
    /// The standard library's share of them, when the import-marks hook said which
    /// packages are the standard library (each is also in `packages`, flagged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdlib: Option<StdlibImports>,
    /// Blocks the function timed during INIT.
    pub custom: Vec<CustomSegment>,
    /// Time outside Init Duration that was measured (sandbox set-up).
    pub outside_init: Vec<Segment>,
    /// Parts of a cold start that could not be observed.
    pub not_observable: Vec<NotObservable>,
    /// What the `-X importtime` parser met, when there was output.
    pub importtime: Option<ParseStats>,
    /// Every top-level package imported at any time (INIT and invokes), when known.
    #[serde(default)]
    pub imported_anywhere: Vec<String>,
    /// Caveats a reader needs.
    pub notes: Vec<String>,
}

/// Why a sample cannot be attributed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttributionError {
    /// INIT did not succeed, so there is no Init Duration to split.
    #[error("INIT did not succeed ({0}); there is no Init Duration to attribute")]
    InitFailed(String),
}

fn handler_module(handler: &str) -> Option<String> {
    let (module, _) = handler.rsplit_once('.')?;
    Some(module.replace('/', "."))
}

/// The roots that belong to the handler's import: the handler module and the packages
/// above it imported just before it (`pkg` for `pkg.mod`).
fn handler_roots(roots: &[ImportNode], module: &str) -> Option<(usize, usize)> {
    let end = roots.iter().rposition(|r| r.name == module)?;
    let mut start = end;
    while start > 0 && module.starts_with(&format!("{}.", roots[start - 1].name)) {
        start -= 1;
    }
    Some((start, end))
}

/// Sums self time per top-level package over the handler's subtrees, leaving out the
/// handler module's own self time (that is handler init).
pub(crate) fn packages_of(subtrees: &[ImportNode], module: &str) -> Vec<PackageImports> {
    fn visit(node: &ImportNode, parent: Option<&ImportNode>, module: &str, acc: &mut BTreeMap<String, PackageImports>) {
        let parent_package = parent.map(ImportNode::package);
        let package = node.package().to_owned();
        let entry = acc.entry(package.clone()).or_insert_with(|| PackageImports {
            package: package.clone(),
            self_ms: 0.0,
            subtree_ms: 0.0,
            modules: 0,
            roots: Vec::new(),
            stdlib: false,
            native: Vec::new(),
            imported_by: Vec::new(),
        });
        if node.name != module {
            entry.self_ms += node.self_us as f64 / 1000.0;
            entry.modules += 1;
        }
        if parent_package != Some(package.as_str()) && node.name != module {
            entry.subtree_ms += node.cumulative_us as f64 / 1000.0;
            entry.roots.push(node.clone());
            // Imported at the top level of the handler's import: by the handler module
            // (awslambdaric's loader leaves no record of it to be the parent).
            let importer = parent.map_or(module, |p| p.name.as_str()).to_owned();
            if !entry.imported_by.contains(&importer) {
                entry.imported_by.push(importer);
            }
        }
        for child in &node.children {
            visit(child, Some(node), module, acc);
        }
    }
    let mut acc = BTreeMap::new();
    for root in subtrees {
        visit(root, None, module, &mut acc);
    }
    let mut packages: Vec<PackageImports> = acc.into_values().filter(|p| p.modules > 0).collect();
    packages.sort_by(|a, b| b.self_ms.total_cmp(&a.self_ms).then_with(|| a.package.cmp(&b.package)));
    packages
}

fn handler_self_ms(subtrees: &[ImportNode], module: &str) -> f64 {
    let mut ms = 0.0;
    for root in subtrees {
        root.walk(&mut |n| {
            if n.name == module {
                ms += n.self_us as f64 / 1000.0;
            }
        });
    }
    ms
}

/// Custom segments that do not sit inside an earlier one, so their durations can add up.
fn outermost(custom: &[CustomSegment]) -> Vec<&CustomSegment> {
    let mut out: Vec<&CustomSegment> = Vec::new();
    for segment in custom {
        if out.last().is_some_and(|last| segment.start_ms < last.end_ms) {
            continue;
        }
        out.push(segment);
    }
    out
}

/// Splits `total_ms` between custom segments (clamped so they never exceed it) and
/// `other`.
fn with_custom(name: &str, total_ms: f64, custom: &[&CustomSegment]) -> Segment {
    if custom.is_empty() {
        return Segment::leaf(name, total_ms);
    }
    let mut left = total_ms.max(0.0);
    let mut children = Vec::new();
    for segment in custom {
        let ms = segment.duration_ms().min(left);
        left -= ms;
        children.push(Segment::leaf(&format!("custom: {}", segment.name), ms));
    }
    children.push(Segment::leaf(names::OTHER, left));
    Segment::parent(name, children)
}

/// The handler's import as found in the `-X importtime` stream.
struct HandlerImport {
    /// Packages imported while it loaded.
    packages: Vec<PackageImports>,
    /// The handler module's own top-level code, when its record says (an `import`
    /// statement); `None` when the loader left no record (`importlib.import_module`).
    handler_self_ms: Option<f64>,
    /// The time the import records inside the window account for.
    measured_ms: f64,
    /// The runtime's own imports before it.
    before_ms: f64,
    /// Top-level imports after it.
    after: usize,
    /// The standard library's part, when known.
    stdlib: Option<StdlibImports>,
}

/// Finds the handler's import in the tree: by its own record (loaded with an `import`
/// statement), else between the import-marks hook's marks (any loader).
fn handler_import(tree: &importtime::ImportTree, module: Option<&str>) -> Option<HandlerImport> {
    let mut found = handler_import_uncatalogued(tree, module)?;
    if let Some(catalogue) = &tree.catalogue {
        found.stdlib = Some(stdlib_imports(&found.packages, catalogue));
        for package in &mut found.packages {
            package.stdlib = catalogue.stdlib.contains(&package.package);
            package.native = catalogue
                .native
                .iter()
                .filter(|m| m.split('.').next() == Some(package.package.as_str()))
                .cloned()
                .collect();
        }
    }
    Some(found)
}

fn handler_import_uncatalogued(tree: &importtime::ImportTree, module: Option<&str>) -> Option<HandlerImport> {
    let cumulative_ms = |nodes: &[ImportNode]| nodes.iter().map(|r| r.cumulative_us as f64 / 1000.0).sum::<f64>();
    if let Some(module) = module
        && let Some((start, end)) = handler_roots(&tree.roots, module)
    {
        let subtrees = &tree.roots[start..=end];
        return Some(HandlerImport {
            packages: packages_of(subtrees, module),
            handler_self_ms: Some(handler_self_ms(subtrees, module)),
            measured_ms: cumulative_ms(subtrees),
            before_ms: cumulative_ms(&tree.roots[..start]),
            after: tree.roots.len() - end - 1,
            stdlib: None,
        });
    }
    let (start, end) = (tree.mark(marks::START)?, tree.mark(marks::END)?);
    let (start, end) = (start.position, end.position);
    if start > end || end > tree.roots.len() {
        return None;
    }
    let subtrees = &tree.roots[start..end];
    Some(HandlerImport {
        packages: packages_of(subtrees, module.unwrap_or_default()),
        handler_self_ms: None,
        measured_ms: cumulative_ms(subtrees),
        before_ms: cumulative_ms(&tree.roots[..start]),
        after: tree.roots.len() - end,
        stdlib: None,
    })
}

/// The standard library's self time and its topmost subtrees' time, from the packages'
/// drill-down roots (a stdlib root whose parent is stdlib too is inside another's subtree).
fn stdlib_imports(packages: &[PackageImports], catalogue: &importtime::ModuleCatalogue) -> StdlibImports {
    let is_stdlib = |name: &str| catalogue.stdlib.contains(name.split('.').next().unwrap_or(name));
    let mut group = StdlibImports::default();
    let mut inside_stdlib = std::collections::BTreeSet::new();
    for package in packages.iter().filter(|p| is_stdlib(&p.package)) {
        group.self_ms += package.self_ms;
        group.modules += package.modules;
        group.packages += 1;
        for root in &package.roots {
            for child in &root.children {
                child.walk(&mut |n| {
                    if is_stdlib(&n.name) {
                        inside_stdlib.insert(n.name.clone());
                    }
                });
            }
        }
    }
    for package in packages.iter().filter(|p| is_stdlib(&p.package)) {
        for root in &package.roots {
            if !inside_stdlib.contains(&root.name) {
                group.inclusive_ms += root.cumulative_us as f64 / 1000.0;
            }
        }
    }
    group
}

/// The imports segment's children: a leaf per package, the standard library's packages
/// grouped under one `stdlib` child (its children keep the per-package drill-down), in
/// order of size.
fn import_children(packages: &[PackageImports], scale: f64) -> Vec<Segment> {
    let leaf = |p: &PackageImports| Segment::leaf(&p.package, p.self_ms * scale);
    let mut children: Vec<Segment> = packages.iter().filter(|p| !p.stdlib).map(leaf).collect();
    let stdlib: Vec<Segment> = packages.iter().filter(|p| p.stdlib).map(leaf).collect();
    if !stdlib.is_empty() {
        children.push(Segment::parent(names::STDLIB, stdlib));
    }
    children.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    children
}

/// The marks of coldfront's import-marks hook (`runtimes/python/importmarks`).
pub mod marks {
    /// The handler module (or its top-level package) is about to be found.
    pub const START: &str = "handler_import_start";
    /// The handler module's code has run.
    pub const END: &str = "handler_import_end";
    /// The hook has written its module catalogue.
    pub const CATALOGUE_END: &str = "catalogue_end";
}

/// Breaks one cold start's INIT into segments.
pub fn attribute(sample: &ColdStartSample) -> Result<Attribution, AttributionError> {
    let (InitStatus::Success, Some(init_ms)) = (sample.init.status, sample.init.duration_ms) else {
        return Err(AttributionError::InitFailed(sample.outcome()));
    };
    let origin = sample.init.spawn_monotonic_ns;
    let to_ms = |ns: u64| (ns as f64 - origin as f64) / 1e6;
    let header_mark = |name: &str| sample.init.marks.get(name).map(|ns| to_ms(*ns));
    let tree = sample
        .stderr
        .text
        .contains("import time:")
        .then(|| importtime::parse(&sample.stderr.text));
    let stream_mark = |name: &str| tree.as_ref().and_then(|t| t.mark(name)).map(|m| to_ms(m.monotonic_ns));
    // INIT's own blocks: those that end by INIT's end. Exact (monotonic) times need no
    // slack — the first invoke can start within microseconds of INIT's end, so a block
    // timed in the handler would otherwise count as INIT; epoch times get 0.5 ms for the
    // wall clock's coarser placement.
    let custom: Vec<CustomSegment> = custom_segments(sample)
        .into_iter()
        .filter(|c| c.start_ms >= 0.0 && c.end_ms <= init_ms + if c.exact { 0.0 } else { 0.5 })
        .collect();
    let module = handler_module(&sample.handler);
    let mut notes = Vec::new();
    let mut not_observable_here = Vec::new();
    let mut packages = Vec::new();
    let mut stdlib = None;
    let mut segments = Vec::new();

    // The hook's marks bracket the module's loading for every loader; the bundled
    // bootstrap's own marks are the fallback when the hook did not run.
    let window = match (stream_mark(marks::START), stream_mark(marks::END)) {
        (Some(start), Some(end)) if start <= end => Some((start, end)),
        _ => header_mark(marks::START).zip(header_mark(marks::END)),
    };
    let catalogue_ms = match (stream_mark(marks::END), stream_mark(marks::CATALOGUE_END)) {
        (Some(end), Some(done)) if window.is_some() => (done - end).max(0.0),
        _ => 0.0,
    };
    let split = tree.as_ref().and_then(|t| handler_import(t, module.as_deref()));
    if let Some(split) = &split {
        if split.after > 0 {
            notes.push(format!(
                "{} top-level imports happened after INIT (during invokes) and are not counted in it",
                split.after
            ));
        }
        notes.push(
            "-X importtime charges garbage-collection pauses to whichever module is importing when they happen; \
             a large self time in one module can be a GC pause, not that module's code"
                .to_owned(),
        );
    } else if tree.is_some() {
        notes.push(format!(
            "the handler module {:?} is neither in the -X importtime output nor marked in it; its imports are part of unattributed",
            module.clone().unwrap_or_default()
        ));
    }

    match (window, split) {
        // AWS exposes INIT as one span; only the function's own blocks split it.
        _ if sample.backend == AWS_BACKEND => {
            for c in outermost(&custom) {
                segments.push(Segment::leaf(&format!("custom: {}", c.name), c.duration_ms()));
            }
            not_observable_here.extend(aws_not_split());
            if crate::evidence::xray::lambda_initialization_s(sample).is_none() {
                notes.push(
                    "some cold starts have no X-Ray Initialization span (tracing not Active, or the trace did not \
                     arrive in time): their INIT is all unattributed"
                        .to_owned(),
                );
            }
        }
        (Some((import_start, import_end)), split) => {
            let runtime_start = if let Some(first_line) = header_mark("first_line") {
                vec![
                    Segment::leaf(names::INTERPRETER, first_line),
                    Segment::leaf(names::BOOTSTRAP, import_start - first_line),
                ]
            } else {
                let before = split
                    .as_ref()
                    .map_or(0.0, |s| s.before_ms)
                    .clamp(0.0, import_start.max(0.0));
                vec![
                    Segment::leaf(names::INTERPRETER, import_start - before),
                    Segment::leaf(names::RUNTIME_IMPORTS, before),
                ]
            };
            segments.push(Segment::parent(names::RUNTIME_START, runtime_start));
            let window = import_end - import_start;
            let in_window: Vec<CustomSegment> = custom
                .iter()
                .filter(|c| c.start_ms >= import_start - 0.5)
                .cloned()
                .collect();
            let outer = outermost(&in_window);
            match split {
                Some(found) => {
                    // The hook writes its catalogue inside the handler's import, after the end
                    // mark, so a handler record counts it; it is its own segment.
                    let own_record_extra = if found.handler_self_ms.is_some() {
                        catalogue_ms
                    } else {
                        0.0
                    };
                    // importtime adds a little of its own; if it ever exceeds the wall-clock
                    // window, scale it down so the segments still add up.
                    let measured = found.measured_ms - own_record_extra;
                    let scale = if measured > window && measured > 0.0 {
                        notes.push(format!("-X importtime measured {measured:.2} ms inside a {window:.2} ms handler import; scaled to fit"));
                        window / measured
                    } else {
                        1.0
                    };
                    let imports_ms: f64 = found.packages.iter().map(|p| p.self_ms).sum::<f64>() * scale;
                    segments.push(Segment::parent(names::IMPORTS, import_children(&found.packages, scale)));
                    // Without the handler's own record its top-level code is the window less
                    // what its imports took.
                    let handler_ms = found.handler_self_ms.map_or((window - imports_ms).max(0.0), |ms| {
                        (ms - own_record_extra).max(0.0) * scale
                    });
                    segments.push(with_custom(names::HANDLER_INIT, handler_ms, &outer));
                    packages = found.packages;
                    stdlib = found.stdlib;
                }
                None => segments.push(with_custom(names::HANDLER_IMPORT, window, &outer)),
            }
            if catalogue_ms > 0.0 {
                segments.push(Segment::leaf(names::INSTRUMENTATION, catalogue_ms));
            }
            segments.push(Segment::leaf(names::RUNTIME_API, init_ms - import_end - catalogue_ms));
        }
        (None, Some(found)) => {
            let scale = if found.measured_ms + found.before_ms > init_ms && found.measured_ms + found.before_ms > 0.0 {
                init_ms / (found.measured_ms + found.before_ms)
            } else {
                1.0
            };
            segments.push(Segment::leaf(names::RUNTIME_IMPORTS, found.before_ms * scale));
            segments.push(Segment::parent(names::IMPORTS, import_children(&found.packages, scale)));
            segments.push(with_custom(
                names::HANDLER_INIT,
                found.handler_self_ms.unwrap_or(0.0) * scale,
                &outermost(&custom),
            ));
            packages = found.packages;
            stdlib = found.stdlib;
            not_observable_here.push(NotObservable {
                name: "interpreter start-up".to_owned(),
                reason: "the runtime sent no INIT marks and the import-marks hook did not run (Python started with -S or -I?), \
                         so interpreter start-up is part of unattributed"
                    .to_owned(),
            });
        }
        (None, None) => {
            for c in outermost(&custom) {
                segments.push(Segment::leaf(&format!("custom: {}", c.name), c.duration_ms()));
            }
            not_observable_here.push(NotObservable {
                name: "runtime start vs handler init".to_owned(),
                reason: if tree.is_some() {
                    "the handler's import was neither recorded nor marked in the -X importtime output, so it cannot be told apart from the runtime's start".to_owned()
                } else {
                    "the runtime sent no INIT marks and no Python import timing (not a Python runtime, or import timing off); \
                     only blocks it reports as X-Ray subsegments are split out, the rest is unattributed"
                        .to_owned()
                },
            });
        }
    }
    let attributed: f64 = segments.iter().map(|s| s.ms).sum();
    segments.push(Segment::leaf(names::UNATTRIBUTED, init_ms - attributed));
    let mut not_observable = not_observable_here;
    not_observable.extend(self::not_observable(&sample.backend));

    Ok(Attribution {
        init_ms,
        segments,
        packages,
        stdlib,
        custom,
        // Only the local emulator measures its sandbox's set-up; AWS reports none.
        outside_init: if sample.backend == AWS_BACKEND {
            Vec::new()
        } else {
            vec![Segment::leaf(
                "sandbox set-up (process start, cgroup join)",
                sample.init.sandbox_setup_ms,
            )]
        },
        not_observable,
        imported_anywhere: tree
            .as_ref()
            .map(|t| {
                let mut all = std::collections::BTreeSet::new();
                for root in &t.roots {
                    root.walk(&mut |n| {
                        all.insert(n.package().to_owned());
                    });
                }
                all.into_iter().collect()
            })
            .unwrap_or_default(),
        importtime: tree.map(|t| t.stats),
        notes,
    })
}

/// [`ColdStartSample::backend`] of samples measured on AWS Lambda.
const AWS_BACKEND: &str = "aws";

/// The local segments AWS's INIT span does not split.
fn aws_not_split() -> Vec<NotObservable> {
    [
        names::RUNTIME_START,
        names::IMPORTS,
        names::HANDLER_INIT,
        names::RUNTIME_API,
    ]
    .into_iter()
    .map(|name| NotObservable {
        name: name.to_owned(),
        reason: "AWS exposes INIT only whole (Init Duration in the REPORT line, the Initialization span in X-Ray) and \
                 does not split it, so this is part of unattributed; only blocks the function sends as X-Ray \
                 subsegments are split out"
            .to_owned(),
    })
    .collect()
}

fn not_observable(backend: &str) -> Vec<NotObservable> {
    let reason = match backend {
        "local" => {
            "happens before Init Duration starts on Lambda and has no local equivalent; compare variants on AWS to see it"
        }
        AWS_BACKEND => {
            "happens before INIT starts and AWS reports it nowhere (not in the REPORT line, not in X-Ray); only the \
             difference between variants of the function with and without it shows it"
        }
        _ => return Vec::new(),
    };
    ["sandbox creation", "network (VPC ENI)", "storage (EFS mount)"]
        .into_iter()
        .map(|name| NotObservable {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
        .collect()
}
