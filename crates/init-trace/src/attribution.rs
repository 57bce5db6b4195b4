//! Where one cold start's INIT went: a tree of non-overlapping segments whose durations
//! add up to Init Duration exactly, with an explicit `unattributed` remainder.
//!
//! The evidence, best first:
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
    /// The handler module's own top-level code.
    pub const HANDLER_INIT: &str = "handler init";
    /// The handler import, when it cannot be split further.
    pub const HANDLER_IMPORT: &str = "handler import";
    /// Handler loaded to the first `GET /next` received.
    pub const RUNTIME_API: &str = "runtime api";
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
fn packages_of(subtrees: &[ImportNode], module: &str) -> Vec<PackageImports> {
    fn visit(
        node: &ImportNode,
        parent_package: Option<&str>,
        module: &str,
        acc: &mut BTreeMap<String, PackageImports>,
    ) {
        let package = node.package().to_owned();
        let entry = acc.entry(package.clone()).or_insert_with(|| PackageImports {
            package: package.clone(),
            self_ms: 0.0,
            subtree_ms: 0.0,
            modules: 0,
            roots: Vec::new(),
        });
        if node.name != module {
            entry.self_ms += node.self_us as f64 / 1000.0;
            entry.modules += 1;
        }
        if parent_package != Some(package.as_str()) && node.name != module {
            entry.subtree_ms += node.cumulative_us as f64 / 1000.0;
            entry.roots.push(node.clone());
        }
        for child in &node.children {
            visit(child, Some(&package), module, acc);
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

/// Breaks one cold start's INIT into segments.
pub fn attribute(sample: &ColdStartSample) -> Result<Attribution, AttributionError> {
    let (InitStatus::Success, Some(init_ms)) = (sample.init.status, sample.init.duration_ms) else {
        return Err(AttributionError::InitFailed(sample.outcome()));
    };
    let origin = sample.init.spawn_monotonic_ns;
    let mark = |name: &str| sample.init.marks.get(name).map(|ns| (*ns as f64 - origin as f64) / 1e6);
    let marks = (
        mark("first_line"),
        mark("handler_import_start"),
        mark("handler_import_end"),
    );
    let tree = sample
        .stderr
        .text
        .contains("import time:")
        .then(|| importtime::parse(&sample.stderr.text));
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
    let mut packages = Vec::new();
    let mut segments = Vec::new();

    let handler_split = match (&tree, &module) {
        (Some(tree), Some(module)) => handler_roots(&tree.roots, module).map(|(start, end)| {
            let subtrees = &tree.roots[start..=end];
            let before: f64 = tree.roots[..start]
                .iter()
                .map(|r| r.cumulative_us as f64 / 1000.0)
                .sum();
            let after = tree.roots.len() - end - 1;
            if after > 0 {
                notes.push(format!(
                    "{after} top-level imports happened after INIT (during invokes) and are not counted in it"
                ));
            }
            let measured: f64 = subtrees.iter().map(|r| r.cumulative_us as f64 / 1000.0).sum();
            (
                packages_of(subtrees, module),
                handler_self_ms(subtrees, module),
                measured,
                before,
            )
        }),
        _ => None,
    };
    if tree.is_some() && handler_split.is_none() {
        notes.push(format!(
            "the handler module {:?} is not in the -X importtime output",
            module.unwrap_or_default()
        ));
    }
    if handler_split.is_some() {
        notes.push(
            "-X importtime charges garbage-collection pauses to whichever module is importing when they happen; \
             a large self time in one module can be a GC pause, not that module's code"
                .to_owned(),
        );
    }

    match (marks, handler_split) {
        ((Some(first_line), Some(import_start), Some(import_end)), split) => {
            segments.push(Segment::parent(
                names::RUNTIME_START,
                vec![
                    Segment::leaf(names::INTERPRETER, first_line),
                    Segment::leaf(names::BOOTSTRAP, import_start - first_line),
                ],
            ));
            let window = import_end - import_start;
            let in_window: Vec<CustomSegment> = custom
                .iter()
                .filter(|c| c.start_ms >= import_start - 0.5)
                .cloned()
                .collect();
            let outer = outermost(&in_window);
            match split {
                Some((found, handler_ms, measured, _)) => {
                    // importtime adds a little of its own; if it ever exceeds the wall-clock
                    // window, scale it down so the segments still add up.
                    let scale = if measured > window && measured > 0.0 {
                        notes.push(format!("-X importtime measured {measured:.2} ms inside a {window:.2} ms handler import; scaled to fit"));
                        window / measured
                    } else {
                        1.0
                    };
                    let children: Vec<Segment> = found
                        .iter()
                        .map(|p| Segment::leaf(&p.package, p.self_ms * scale))
                        .collect();
                    segments.push(Segment::parent(names::IMPORTS, children));
                    segments.push(with_custom(names::HANDLER_INIT, handler_ms * scale, &outer));
                    packages = found;
                }
                None => segments.push(with_custom(names::HANDLER_IMPORT, window, &outer)),
            }
            segments.push(Segment::leaf(names::RUNTIME_API, init_ms - import_end));
        }
        (_, Some((found, handler_ms, measured, before))) => {
            let scale = if measured + before > init_ms && measured + before > 0.0 {
                init_ms / (measured + before)
            } else {
                1.0
            };
            segments.push(Segment::leaf(names::RUNTIME_IMPORTS, before * scale));
            let children: Vec<Segment> = found
                .iter()
                .map(|p| Segment::leaf(&p.package, p.self_ms * scale))
                .collect();
            segments.push(Segment::parent(names::IMPORTS, children));
            segments.push(with_custom(
                names::HANDLER_INIT,
                handler_ms * scale,
                &outermost(&custom),
            ));
            packages = found;
            notes.push("the runtime sent no INIT marks, so interpreter start-up is part of unattributed".to_owned());
        }
        _ => {
            for c in outermost(&custom) {
                segments.push(Segment::leaf(&format!("custom: {}", c.name), c.duration_ms()));
            }
        }
    }
    let attributed: f64 = segments.iter().map(|s| s.ms).sum();
    segments.push(Segment::leaf(names::UNATTRIBUTED, init_ms - attributed));

    Ok(Attribution {
        init_ms,
        segments,
        packages,
        custom,
        outside_init: vec![Segment::leaf(
            "sandbox set-up (process start, cgroup join)",
            sample.init.sandbox_setup_ms,
        )],
        not_observable: not_observable(&sample.backend),
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

fn not_observable(backend: &str) -> Vec<NotObservable> {
    if backend != "local" {
        return Vec::new();
    }
    let reason =
        "happens before Init Duration starts on Lambda and has no local equivalent; compare variants on AWS to see it";
    ["sandbox creation", "network (VPC ENI)", "storage (EFS mount)"]
        .into_iter()
        .map(|name| NotObservable {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
        .collect()
}
