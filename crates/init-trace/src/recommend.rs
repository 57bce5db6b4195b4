//! Recommendations derived from a run's statistics, each with its predicted saving and the
//! evidence behind it. A rule that has no evidence in the data recommends nothing.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::attribution::names;
use crate::report::summary::{Comparison, GroupSummary, PackageStats};
use crate::stats::format_ms;

/// Lambda's x86 price per GB-second (docs/sources.md, "Lambda prices"; us-east-1, 2026).
pub const LAMBDA_X86_USD_PER_GB_S: f64 = 0.000_016_666_7;
/// INIT above which, after the code-level fixes, an architectural change is worth it.
pub const ARCHITECTURE_THRESHOLD_MS: f64 = 1_000.0;
/// A package is worth deferring above this share of INIT (and [`MIN_PACKAGE_MS`]).
pub const PACKAGE_SHARE: f64 = 0.03;
/// A package is worth deferring above this many milliseconds.
pub const MIN_PACKAGE_MS: f64 = 5.0;

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Defer or drop an import.
    LazyImport,
    /// Move work out of the handler module's top level.
    HandlerInit,
    /// Change the memory size.
    MemorySize,
    /// SnapStart or provisioned concurrency.
    Architecture,
    /// Remove code the function never imports from its deployment package.
    TrimPackage,
}

/// What happens to the time a recommendation takes out of INIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Gone from every cold start (more CPU, a dropped dependency, a snapshot restore).
    Disappears,
    /// Paid by the first request instead: INIT shrinks, the cold request does not.
    MovesToFirstRequest,
    /// Gone when no request uses it (a lazy import on a path requests do not take, or a
    /// dropped dependency); otherwise paid by the first request that does.
    DisappearsUnlessUsed,
}

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// What kind.
    pub kind: Kind,
    /// One line: what to do.
    pub title: String,
    /// How, and the caveats.
    pub detail: String,
    /// Predicted reduction of Init Duration. Recommendations' savings do not overlap, so
    /// they add up, and their sum never exceeds the Init Duration they are taken from.
    pub predicted_saving_ms: Option<f64>,
    /// What happens to that time.
    #[serde(default = "default_effect")]
    pub effect: Effect,
    /// How much of it the first request would pay instead, when it can move there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_request_ms: Option<f64>,
    /// For an import, the modules whose own time the saving counts (none of them counted
    /// by another recommendation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
    /// The measurements it rests on.
    pub evidence: String,
}

fn default_effect() -> Effect {
    Effect::Disappears
}

fn subject_groups(groups: &[GroupSummary]) -> Vec<&GroupSummary> {
    let subjects: Vec<&GroupSummary> = groups.iter().filter(|g| g.role.as_deref() == Some("subject")).collect();
    if subjects.is_empty() {
        groups.iter().take(1).collect()
    } else {
        subjects
    }
}

fn segment_mean(group: &GroupSummary, path: &str) -> f64 {
    group
        .segments
        .iter()
        .find(|s| s.path == path)
        .map_or(0.0, |s| s.mean_ms)
}

fn mean_init(group: &GroupSummary) -> f64 {
    group.init.as_ref().map_or(f64::NAN, |s| s.mean_ms)
}

/// Packages worth deferring or dropping at `group`, each with its saving: its inclusive
/// subtree's own times, less the modules an earlier (larger) one already claimed. So a
/// package nested in another's subtree is never counted twice, and the savings add up to
/// at most the imports' total.
fn import_savings(group: &GroupSummary, threshold_ms: f64) -> Vec<(&PackageStats, f64, Vec<String>)> {
    let mut candidates: Vec<&PackageStats> = group
        .packages
        .iter()
        .filter(|p| !p.first_party && p.subtree_mean_ms >= threshold_ms)
        .collect();
    candidates.sort_by(|a, b| {
        b.subtree_mean_ms
            .total_cmp(&a.subtree_mean_ms)
            .then_with(|| a.package.cmp(&b.package))
    });
    let mut claimed: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for package in candidates {
        let fresh: Vec<&str> = package
            .subtree_modules
            .iter()
            .map(String::as_str)
            .filter(|m| !claimed.contains(m))
            .collect();
        let saving: f64 = fresh
            .iter()
            .map(|m| group.module_self_mean_ms.get(*m).copied().unwrap_or(0.0))
            .sum();
        if saving < threshold_ms {
            continue;
        }
        claimed.extend(fresh.iter().copied());
        out.push((package, saving, fresh.into_iter().map(str::to_owned).collect()));
    }
    out
}

/// The memory size to recommend from a sweep: the smallest whose mean INIT is within 10%
/// of the fastest.
fn recommended_memory<'a>(sweep: &[&'a GroupSummary]) -> &'a GroupSummary {
    let fastest = sweep.iter().map(|g| mean_init(g)).fold(f64::INFINITY, f64::min);
    sweep
        .iter()
        .find(|g| mean_init(g) <= fastest * 1.10)
        .copied()
        .unwrap_or(sweep[sweep.len() - 1])
}

/// Builds the recommendations for a run.
///
/// Their savings stack without overlap: the memory size first (from the smallest size
/// measured to the recommended one), then the code changes measured at the recommended
/// size, then SnapStart on what is left above the control. So they add up to at most the
/// mean Init Duration at the smallest size measured.
pub fn recommend(groups: &[GroupSummary], comparisons: &[Comparison]) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let mut sweep: Vec<&GroupSummary> = subject_groups(groups)
        .into_iter()
        .filter(|g| g.init.is_some())
        .collect();
    sweep.sort_by_key(|g| g.memory_mb);
    let Some(&baseline) = sweep.first() else {
        return out;
    };
    let subject = recommended_memory(&sweep);
    let init = subject.init.as_ref().expect("filtered above");
    let control_init = comparisons
        .iter()
        .find(|c| c.memory_mb == subject.memory_mb)
        .and_then(|c| {
            groups
                .iter()
                .find(|g| g.function == c.control && g.memory_mb == c.memory_mb)
                .and_then(|g| g.init.as_ref())
        });
    let where_measured = format!(
        "mean of {} cold starts of {} at {} MB",
        init.n, subject.function, subject.memory_mb
    );
    let cold_invoke_ms = subject.cold_invoke.as_ref().map(|s| s.mean_ms);
    let first_request = |ms: f64| {
        cold_invoke_ms.map_or_else(
            || format!("the first request would pay about {} more", format_ms(ms)),
            |cold| {
                format!(
                    "the first request, {} now, would take about {}",
                    format_ms(cold),
                    format_ms(cold + ms)
                )
            },
        )
    };

    // Memory sweep: Lambda's CPU share follows memory, so CPU-bound INIT shrinks with it.
    if sweep.len() >= 2 {
        let cost =
            |g: &GroupSummary| f64::from(g.memory_mb) / 1024.0 * mean_init(g) / 1000.0 * LAMBDA_X86_USD_PER_GB_S * 1e6;
        let table = sweep
            .iter()
            .map(|g| {
                format!(
                    "{} MB: {} (${:.2} per million cold starts' INIT)",
                    g.memory_mb,
                    format_ms(mean_init(g)),
                    cost(g)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let saving = (mean_init(baseline) - mean_init(subject)).max(0.0);
        out.push(Recommendation {
            kind: Kind::MemorySize,
            title: format!("Memory: {} MB is the smallest size within 10% of the fastest INIT", subject.memory_mb),
            detail: format!(
                "Lambda grants CPU in proportion to memory (1,769 MB = one vCPU), so CPU-bound INIT shrinks as memory \
                 grows until the code cannot use more CPU. Against {} MB it saves {} per cold start; INIT is billed \
                 per GB-s, so the larger size's INIT costs ${:.2} instead of ${:.2} per million cold starts (x86 price, \
                 sources.md §Lambda prices). The code recommendations below are measured at {} MB.",
                baseline.memory_mb,
                format_ms(saving),
                cost(subject),
                cost(baseline),
                subject.memory_mb
            ),
            predicted_saving_ms: Some(saving),
            effect: Effect::Disappears,
            first_request_ms: None,
            modules: Vec::new(),
            evidence: format!("mean Init Duration of {}: {table}", subject.function),
        });
    }

    // Packages: inclusive subtrees, each module counted once.
    let threshold = (init.mean_ms * PACKAGE_SHARE).max(MIN_PACKAGE_MS);
    let mut import_savings_ms = 0.0;
    for (package, saving, modules) in import_savings(subject, threshold).into_iter().take(5) {
        import_savings_ms += saving;
        let importers = if package.imported_by.is_empty() {
            String::new()
        } else {
            format!(" It is imported by {}.", package.imported_by.join(", "))
        };
        out.push(Recommendation {
            kind: Kind::LazyImport,
            title: format!(
                "Defer or drop `import {}`: up to {} of INIT",
                package.package,
                format_ms(saving)
            ),
            detail: format!(
                "Import {} inside the code that needs it (or remove the dependency) so INIT does not pay for it.{importers} \
                 Its own modules take {}; with what it imports and no other recommendation here already counts, {}. \
                 That is an upper bound: modules other code imports anyway stay in INIT. The time disappears from cold \
                 starts whose request does not use it; when the request does, {}.",
                package.package,
                format_ms(package.self_mean_ms),
                format_ms(saving),
                first_request(saving)
            ),
            predicted_saving_ms: Some(saving),
            effect: Effect::DisappearsUnlessUsed,
            first_request_ms: Some(saving),
            evidence: format!(
                "imports/{}: {} own, {} with its imports ({} of its subtree's modules not counted elsewhere), {} modules ({where_measured})",
                package.package,
                format_ms(package.self_mean_ms),
                format_ms(package.subtree_mean_ms),
                modules.len(),
                package.modules
            ),
            modules,
        });
    }

    let handler_init = segment_mean(subject, names::HANDLER_INIT);
    let mut handler_saving = 0.0;
    if handler_init >= 20.0 && handler_init >= 0.15 * init.mean_ms {
        handler_saving = handler_init;
        out.push(Recommendation {
            kind: Kind::HandlerInit,
            title: format!(
                "Move work out of the handler module's top level: {} of INIT",
                format_ms(handler_init)
            ),
            detail: format!(
                "The handler module's own top-level code (building the app, compiling templates, opening \
                 connections) runs in INIT. Work every request needs only moves: {}. Build the rest on first use \
                 and keep it in a module-level cache so warm invokes reuse it. Time blocks with \
                 `from coldfront_trace import segment` to see which part costs what.",
                first_request(handler_init)
            ),
            predicted_saving_ms: Some(handler_init),
            effect: Effect::MovesToFirstRequest,
            first_request_ms: Some(handler_init),
            modules: Vec::new(),
            evidence: format!(
                "handler init: {} = {:.0}% of INIT ({where_measured})",
                format_ms(handler_init),
                100.0 * handler_init / init.mean_ms
            ),
        });
    }

    let unused_bytes: u64 = subject.never_imported.iter().map(|(_, bytes)| bytes).sum();
    if unused_bytes >= 1024 * 1024 && unused_bytes * 5 >= subject.task_root_bytes {
        let names: Vec<String> = subject
            .never_imported
            .iter()
            .map(|(name, bytes)| format!("{name} ({:.1} MB)", *bytes as f64 / 1e6))
            .collect();
        out.push(Recommendation {
            kind: Kind::TrimPackage,
            title: format!(
                "Trim the deployment package: {:.1} MB ({:.0}%) is never imported",
                unused_bytes as f64 / 1e6,
                100.0 * unused_bytes as f64 / subject.task_root_bytes.max(1) as f64
            ),
            detail: "Lambda downloads and unpacks the package before INIT starts, so its size costs cold-start time                      outside Init Duration (not measurable on the local backend) and counts against the 250 MB limit.                      These entries were not imported in any measured cold start or invoke; check code paths the test                      event does not reach before removing them."
                .to_owned(),
            predicted_saving_ms: None,
            effect: Effect::Disappears,
            first_request_ms: None,
            modules: Vec::new(),
            evidence: format!("never imported: {}", names.join(", ")),
        });
    }

    let code_savings = import_savings_ms + handler_saving;
    let remaining = init.mean_ms - code_savings;
    if remaining > ARCHITECTURE_THRESHOLD_MS {
        let after = if code_savings > 0.0 {
            format!("after the code changes above, at {} MB", subject.memory_mb)
        } else {
            format!("at {} MB", subject.memory_mb)
        };
        out.push(Recommendation {
            kind: Kind::Architecture,
            title: format!(
                "INIT stays near {} {after}: use SnapStart or provisioned concurrency",
                format_ms(remaining)
            ),
            detail: format!(
                "Above {} a cold start is felt by users however the code is tuned. SnapStart (Python) replaces INIT \
                 with a snapshot restore; provisioned concurrency keeps initialised instances warm at a fixed hourly \
                 price. The restore time cannot be measured locally, so the saving (what is left above the control's \
                 INIT) is an upper bound.",
                format_ms(ARCHITECTURE_THRESHOLD_MS)
            ),
            predicted_saving_ms: Some((remaining - control_init.map_or(0.0, |c| c.mean_ms)).max(0.0)),
            effect: Effect::Disappears,
            first_request_ms: None,
            modules: Vec::new(),
            evidence: format!(
                "mean Init Duration {} at {} MB minus predicted code savings {}",
                format_ms(init.mean_ms),
                subject.memory_mb,
                format_ms(code_savings)
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::attribution::packages_of;
    use crate::evidence::importtime;
    use crate::report::summary::{SegmentStats, StdlibStats};
    use crate::sample::Throttling;
    use crate::stats::Summary;

    /// A synthetic import: name, own µs, what it imported.
    #[derive(Debug, Clone)]
    struct Node(String, u64, Vec<Node>);

    fn node(name: &str, self_us: u64, children: Vec<Node>) -> Node {
        Node(name.to_owned(), self_us, children)
    }

    /// `-X importtime` lines for `handler` importing `imports`, in CPython's post-order.
    fn importtime_text(imports: &[Node]) -> String {
        fn emit(node: &Node, depth: usize, out: &mut Vec<String>) -> u64 {
            let children: u64 = node.2.iter().map(|c| emit(c, depth + 1, out)).sum();
            let cumulative = node.1 + children;
            out.push(format!(
                "import time: {:>9} | {:>10} | {}{}",
                node.1,
                cumulative,
                "  ".repeat(depth),
                node.0
            ));
            cumulative
        }
        let mut lines = vec!["import time: self [us] | cumulative | imported package".to_owned()];
        emit(&node("handler", 1_000, imports.to_vec()), 0, &mut lines);
        lines.join("\n")
    }

    /// A subject group measured at `memory_mb` whose INIT is `runtime_ms`, the imports of
    /// `imports` (times multiplied by `scale`), `handler_ms` of handler init.
    fn group(
        imports: &[Node],
        first_party: &[&str],
        memory_mb: u32,
        scale: f64,
        runtime_ms: f64,
        handler_ms: f64,
    ) -> GroupSummary {
        let tree = importtime::parse(&importtime_text(imports));
        let packages = packages_of(&tree.roots, "handler");
        let mut module_self_mean_ms = BTreeMap::new();
        for package in &packages {
            for root in &package.roots {
                root.walk(&mut |n| {
                    if n.package() == package.package {
                        module_self_mean_ms.insert(n.name.clone(), n.self_us as f64 / 1000.0 * scale);
                    }
                });
            }
        }
        let imports_ms: f64 = module_self_mean_ms.values().sum();
        let init_ms = runtime_ms + imports_ms + handler_ms;
        let segment = |path: &str, ms: f64| SegmentStats {
            path: path.to_owned(),
            depth: 0,
            mean_ms: ms,
            median_ms: ms,
            percent_of_init: 100.0 * ms / init_ms,
            ci95_mean_ms: None,
        };
        GroupSummary {
            function: "app".to_owned(),
            role: Some("subject".to_owned()),
            memory_mb,
            cold_starts: 1,
            warmups: 0,
            init: Summary::of(&[init_ms]),
            init_median_ci95_ms: None,
            init_mean_ci95_ms: None,
            segments: vec![
                segment(names::RUNTIME_START, runtime_ms),
                segment(names::IMPORTS, imports_ms),
                segment(names::HANDLER_INIT, handler_ms),
            ],
            packages: packages
                .iter()
                .map(|p| PackageStats {
                    package: p.package.clone(),
                    self_mean_ms: p.self_ms * scale,
                    subtree_mean_ms: p.subtree_ms * scale,
                    modules: p.modules,
                    first_party: first_party.contains(&p.package.as_str()),
                    stdlib: false,
                    native: Vec::new(),
                    imported_by: p.imported_by.clone(),
                    subtree_modules: p.subtree_modules().into_iter().collect(),
                })
                .collect(),
            stdlib: None::<StdlibStats>,
            module_self_mean_ms,
            cold_invoke: Summary::of(&[12.0]),
            warm_invoke: Summary::of(&[2.0]),
            max_memory_used_mb: None,
            sandbox_setup_mean_ms: None,
            outliers: Vec::new(),
            outlier_hint: None,
            failures: Vec::new(),
            stopped: 0,
            importtime: None,
            not_observable: Vec::new(),
            notes: Vec::new(),
            throttling: Throttling::Applied,
            filesystem: crate::sample::Isolation::Applied,
            runtime_api: crate::sample::Isolation::Applied,
            runtime_program: "python".to_owned(),
            interpreter_base: None,
            cpu_cores: None,
            never_imported: Vec::new(),
            task_root_bytes: 0,
            interpreter_version: None,
            runtime_kind: None,
            instrumentation: None,
            aws: None,
        }
    }

    fn of_kind(recs: &[Recommendation], kind: Kind) -> Vec<&Recommendation> {
        recs.iter().filter(|r| r.kind == kind).collect()
    }

    /// flask (small itself) imports werkzeug and jinja2 (large); werkzeug also imports
    /// markupsafe. Each module's time is claimed once.
    fn web_app() -> Vec<Node> {
        vec![
            node(
                "flask",
                5_000,
                vec![
                    node("werkzeug", 30_000, vec![node("markupsafe", 8_000, vec![])]),
                    node("jinja2", 25_000, vec![]),
                ],
            ),
            node("sqlalchemy", 90_000, vec![node("greenlet", 6_000, vec![])]),
            node("myapp", 40_000, vec![node("myapp.models", 20_000, vec![])]),
        ]
    }

    #[test]
    fn a_package_nested_in_anothers_subtree_is_not_counted_twice() {
        let g = group(&web_app(), &["myapp"], 512, 1.0, 50.0, 10.0);
        let recs = recommend(&[g], &[]);
        let imports = of_kind(&recs, Kind::LazyImport);
        let titles: Vec<&str> = imports.iter().map(|r| r.title.as_str()).collect();
        // sqlalchemy 96 ms inclusive, flask 68 ms inclusive; werkzeug and jinja2 sit inside
        // flask's subtree, so they are not recommended again.
        assert_eq!(imports.len(), 2, "{titles:?}");
        assert!(
            titles[0].contains("sqlalchemy") && titles[1].contains("flask"),
            "{titles:?}"
        );
        let saving = |r: &Recommendation| r.predicted_saving_ms.unwrap_or(0.0);
        assert!((saving(imports[0]) - 96.0).abs() < 1e-9);
        assert!((saving(imports[1]) - 68.0).abs() < 1e-9);
        assert!(
            imports[1].detail.contains("imported by handler"),
            "{}",
            imports[1].detail
        );
        assert_eq!(imports[1].effect, Effect::DisappearsUnlessUsed);
        assert_eq!(imports[1].first_request_ms, Some(68.0));
        assert!(imports[1].detail.contains("12.00 ms now"), "{}", imports[1].detail);
    }

    #[test]
    fn the_apps_own_package_is_never_called_deferrable() {
        let g = group(&web_app(), &["myapp"], 512, 1.0, 50.0, 10.0);
        let recs = recommend(&[g], &[]);
        assert!(recs.iter().all(|r| !r.title.contains("myapp")), "{recs:#?}");
    }

    #[test]
    fn handler_init_moves_to_the_first_request() {
        let g = group(&web_app(), &["myapp"], 512, 1.0, 50.0, 150.0);
        let recs = recommend(&[g], &[]);
        let handler = of_kind(&recs, Kind::HandlerInit);
        assert_eq!(handler.len(), 1);
        assert_eq!(handler[0].effect, Effect::MovesToFirstRequest);
        assert_eq!(handler[0].first_request_ms, Some(150.0));
        assert!(handler[0].detail.contains("about 162.0 ms"), "{}", handler[0].detail);
    }

    #[test]
    fn memory_and_snapstart_advice_use_the_recommended_size() {
        // CPU-bound INIT: 128 MB is far slower; 1024 MB is the fastest; 512 MB is within
        // 10% of it, so 512 MB is recommended and SnapStart is judged there.
        let sweep = [
            group(&web_app(), &["myapp"], 128, 20.0, 600.0, 10.0),
            group(&web_app(), &["myapp"], 512, 5.0, 900.0, 10.0),
            group(&web_app(), &["myapp"], 1024, 4.8, 900.0, 10.0),
        ];
        let recs = recommend(&sweep, &[]);
        let memory = of_kind(&recs, Kind::MemorySize);
        assert!(memory[0].title.contains("512 MB"), "{}", memory[0].title);
        let architecture = of_kind(&recs, Kind::Architecture);
        assert_eq!(architecture.len(), 1, "{recs:#?}");
        assert!(architecture[0].title.contains("at 512 MB"), "{}", architecture[0].title);
        assert!(architecture[0].title.contains("after the code changes"));
        let total: f64 = recs.iter().filter_map(|r| r.predicted_saving_ms).sum();
        let baseline = sweep[0].init.as_ref().map(|s| s.mean_ms).unwrap_or_default();
        assert!(total <= baseline + 1e-9, "{total} > {baseline}");
    }

    #[test]
    fn snapstart_without_code_savings_does_not_mention_them() {
        // One large first-party package, nothing else to defer.
        let g = group(&[node("myapp", 300_000, vec![])], &["myapp"], 512, 5.0, 100.0, 5.0);
        let recs = recommend(&[g], &[]);
        let architecture = of_kind(&recs, Kind::Architecture);
        assert_eq!(architecture.len(), 1, "{recs:#?}");
        assert!(
            !architecture[0].title.contains("after the code changes"),
            "{}",
            architecture[0].title
        );
    }

    const PACKAGES: [&str; 6] = ["alpha", "beta", "gamma", "delta", "myapp", "json"];

    fn tree() -> impl Strategy<Value = Node> {
        let leaf = (0..PACKAGES.len(), 0u32..4, 0u64..40_000)
            .prop_map(|(p, sub, us)| Node(format!("{}.m{sub}", PACKAGES[p]), us, Vec::new()));
        leaf.prop_recursive(4, 40, 4, |inner| {
            (
                0..PACKAGES.len(),
                0u32..4,
                0u64..40_000,
                prop::collection::vec(inner, 0..4),
            )
                .prop_map(|(p, sub, us, children)| Node(format!("{}.m{sub}", PACKAGES[p]), us, children))
        })
    }

    /// Python imports a module once; keep the first occurrence of each name.
    fn dedupe(nodes: Vec<Node>, seen: &mut BTreeSet<String>) -> Vec<Node> {
        let mut out = Vec::new();
        for Node(name, us, children) in nodes {
            if seen.insert(name.clone()) {
                let children = dedupe(children, seen);
                out.push(Node(name, us, children));
            }
        }
        out
    }

    proptest! {
        #[test]
        fn savings_never_overlap_and_never_exceed_init(
            imports in prop::collection::vec(tree(), 1..6),
            scales in prop::collection::vec(1.0f64..20.0, 1..4),
            runtime_ms in 0.0f64..2_000.0,
            handler_ms in 0.0f64..2_000.0,
        ) {
            let imports = dedupe(imports, &mut BTreeSet::new());
            // Larger memory, less time: the sweep's scales in falling order.
            let mut scales = scales;
            scales.sort_by(|a, b| b.total_cmp(a));
            let groups: Vec<GroupSummary> = scales
                .iter()
                .enumerate()
                .map(|(i, scale)| group(&imports, &["myapp"], 128 << i, *scale, runtime_ms * scale, handler_ms * scale))
                .collect();
            let recs = recommend(&groups, &[]);
            let baseline = groups[0].init.as_ref().map(|s| s.mean_ms).unwrap_or_default();
            let total: f64 = recs.iter().filter_map(|r| r.predicted_saving_ms).sum();
            prop_assert!(total <= baseline * (1.0 + 1e-9) + 1e-9, "{} > {}: {:#?}", total, baseline, recs);
            prop_assert!(recs.iter().filter_map(|r| r.predicted_saving_ms).all(|s| s >= 0.0));
            // No module is counted by two import recommendations, and each saving is exactly
            // the own time of the modules it names.
            let mut claimed = BTreeSet::new();
            for rec in of_kind(&recs, Kind::LazyImport) {
                let chosen = groups.iter().find(|g| rec.evidence.contains(&format!("at {} MB", g.memory_mb))).expect("its group");
                let mut sum = 0.0;
                for module in &rec.modules {
                    prop_assert!(claimed.insert(module.clone()), "{} counted twice", module);
                    sum += chosen.module_self_mean_ms.get(module).copied().unwrap_or(0.0);
                }
                prop_assert!((sum - rec.predicted_saving_ms.unwrap_or(0.0)).abs() < 1e-6);
                prop_assert!(!rec.title.contains("`import myapp`"));
            }
        }
    }
}
