//! Recommendations derived from a run's statistics, each with its predicted saving and the
//! evidence behind it. A rule that has no evidence in the data recommends nothing.

use serde::{Deserialize, Serialize};

use crate::attribution::names;
use crate::report::summary::{Comparison, GroupSummary};
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

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// What kind.
    pub kind: Kind,
    /// One line: what to do.
    pub title: String,
    /// How, and the caveats.
    pub detail: String,
    /// Predicted reduction of Init Duration.
    pub predicted_saving_ms: Option<f64>,
    /// The measurements it rests on.
    pub evidence: String,
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

/// Builds the recommendations for a run.
pub fn recommend(groups: &[GroupSummary], comparisons: &[Comparison]) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let subjects = subject_groups(groups);
    let Some(subject) = subjects.first().copied().filter(|g| g.init.is_some()) else {
        return out;
    };
    let init = subject.init.as_ref().expect("checked above");
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

    // Packages: the subtree is an upper bound of what deferring saves.
    let mut import_savings = 0.0;
    let threshold = (init.mean_ms * PACKAGE_SHARE).max(MIN_PACKAGE_MS);
    // The function's own packages are not candidates to drop: their cost shows as the
    // libraries they import (listed on their own) and as handler init.
    let mut candidates: Vec<_> = subject
        .packages
        .iter()
        .filter(|p| !p.first_party && p.subtree_mean_ms >= threshold)
        .collect();
    candidates.sort_by(|a, b| b.subtree_mean_ms.total_cmp(&a.subtree_mean_ms));
    for package in candidates.into_iter().take(5) {
        import_savings += package.self_mean_ms;
        out.push(Recommendation {
            kind: Kind::LazyImport,
            title: format!(
                "Defer or drop `import {}`: up to {} of INIT",
                package.package,
                format_ms(package.subtree_mean_ms)
            ),
            detail: format!(
                "Import {} inside the function that needs it (or remove it) so INIT does not pay for it. \
                 Its own modules take {}; with what it imports, {}. The second figure is the upper bound: \
                 dependencies other packages import anyway stay in INIT. Requests that use it pay on first use.",
                package.package,
                format_ms(package.self_mean_ms),
                format_ms(package.subtree_mean_ms)
            ),
            predicted_saving_ms: Some(package.subtree_mean_ms),
            evidence: format!(
                "imports/{}: {} own, {} with its imports, {} modules ({where_measured})",
                package.package,
                format_ms(package.self_mean_ms),
                format_ms(package.subtree_mean_ms),
                package.modules
            ),
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
            detail: "The handler module's own top-level code (building the app, compiling templates, opening \
                     connections) runs in INIT. Do only what every request needs there; build the rest on first use \
                     and keep it in a module-level cache so warm invokes reuse it. Time blocks with \
                     `from coldfront_trace import segment` to see which part costs what."
                .to_owned(),
            predicted_saving_ms: Some(handler_init),
            evidence: format!(
                "handler init: {} = {:.0}% of INIT ({where_measured})",
                format_ms(handler_init),
                100.0 * handler_init / init.mean_ms
            ),
        });
    }

    // Memory sweep: Lambda's CPU share follows memory, so CPU-bound INIT shrinks with it.
    let mut sweep: Vec<&GroupSummary> = subjects.iter().copied().filter(|g| g.init.is_some()).collect();
    sweep.sort_by_key(|g| g.memory_mb);
    if sweep.len() >= 2 {
        let median_of = |g: &GroupSummary| g.init.as_ref().map_or(f64::NAN, |s| s.median_ms);
        let fastest = sweep.iter().map(|g| median_of(g)).fold(f64::INFINITY, f64::min);
        let chosen = sweep
            .iter()
            .find(|g| median_of(g) <= fastest * 1.10)
            .copied()
            .unwrap_or(sweep[sweep.len() - 1]);
        let smallest = sweep[0];
        let cost =
            |g: &GroupSummary| f64::from(g.memory_mb) / 1024.0 * median_of(g) / 1000.0 * LAMBDA_X86_USD_PER_GB_S * 1e6;
        let table = sweep
            .iter()
            .map(|g| {
                format!(
                    "{} MB: {} (${:.2} per million cold starts' INIT)",
                    g.memory_mb,
                    format_ms(median_of(g)),
                    cost(g)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        out.push(Recommendation {
            kind: Kind::MemorySize,
            title: format!("Memory: {} MB is the smallest size within 10% of the fastest INIT", chosen.memory_mb),
            detail: format!(
                "Lambda grants CPU in proportion to memory (1,769 MB = one vCPU), so CPU-bound INIT shrinks as memory \
                 grows until the code cannot use more CPU. Against {} MB it saves {} per cold start; INIT is billed \
                 per GB-s, so the larger size's INIT costs ${:.2} instead of ${:.2} per million cold starts (x86 price, \
                 sources.md §Lambda prices).",
                smallest.memory_mb,
                format_ms(median_of(smallest) - median_of(chosen)),
                cost(chosen),
                cost(smallest)
            ),
            predicted_saving_ms: Some(median_of(smallest) - median_of(chosen)),
            evidence: format!("median Init Duration of {}: {table}", subject.function),
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
            evidence: format!("never imported: {}", names.join(", ")),
        });
    }

    let remaining = init.median_ms - import_savings - handler_saving;
    if remaining > ARCHITECTURE_THRESHOLD_MS {
        out.push(Recommendation {
            kind: Kind::Architecture,
            title: format!(
                "INIT stays near {} after the code changes: use SnapStart or provisioned concurrency",
                format_ms(remaining)
            ),
            detail: format!(
                "Above {} a cold start is felt by users however the code is tuned. SnapStart (Python) replaces INIT \
                 with a snapshot restore; provisioned concurrency keeps initialised instances warm at a fixed hourly \
                 price. The restore time cannot be measured locally, so the saving is an upper bound.",
                format_ms(ARCHITECTURE_THRESHOLD_MS)
            ),
            predicted_saving_ms: Some(remaining - control_init.map_or(0.0, |c| c.median_ms)),
            evidence: format!(
                "median Init Duration {} minus predicted code savings {}",
                format_ms(init.median_ms),
                format_ms(import_savings + handler_saving)
            ),
        });
    }
    out
}
