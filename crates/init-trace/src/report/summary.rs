//! The statistics of a run, computed from its raw samples only, so `coldfront report`
//! re-renders exactly what `coldfront trace` wrote.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, NotObservable, attribute};
use crate::evidence::importtime::ParseStats;
use crate::recommend::{Recommendation, recommend};
use crate::sample::{ColdStartSample, InvokeStatus, Isolation, Throttling, VariantKind};
use crate::stats::{Interval, Summary, bootstrap_ci, bootstrap_diff_ci, mean, median, outlier_floor, slow_outliers};

/// Version of the summary layout.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// One segment across a group's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentStats {
    /// Path in the segment tree (`imports/sqlite3`).
    pub path: String,
    /// Depth in the tree (0 = top level).
    pub depth: usize,
    /// Mean duration; means add up, so the top level sums to the mean Init Duration.
    pub mean_ms: f64,
    /// Median duration.
    pub median_ms: f64,
    /// Share of the mean Init Duration.
    pub percent_of_init: f64,
    /// 95% bootstrap confidence interval of the mean.
    pub ci95_mean_ms: Option<Interval>,
}

/// One package's imports across a group's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageStats {
    /// Top-level package.
    pub package: String,
    /// Mean time in its own modules.
    pub self_mean_ms: f64,
    /// Mean time of its topmost imports with everything they imported.
    pub subtree_mean_ms: f64,
    /// Modules imported (from the last sample).
    pub modules: usize,
    /// Part of the function's own code (found in its task root), not a library.
    #[serde(default)]
    pub first_party: bool,
    /// Part of the standard library.
    #[serde(default)]
    pub stdlib: bool,
    /// Its native extension modules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub native: Vec<String>,
    /// The modules that import its topmost modules (from the last sample).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imported_by: Vec<String>,
    /// Every module in its inclusive subtrees (from the last sample), so savings can be
    /// added up without counting a module twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtree_modules: Vec<String>,
}

/// How the headline was kept free of the instrumentation: plain cold starts run beside
/// instrumented ones, the breakdown's shares scaled onto the plain durations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentationStats {
    /// Plain cold starts: the Init Duration figures.
    pub plain_cold_starts: usize,
    /// Instrumented cold starts: the breakdown.
    pub instrumented_cold_starts: usize,
    /// Median Init Duration of the plain ones.
    pub plain_median_ms: f64,
    /// Median Init Duration of the instrumented ones.
    pub instrumented_median_ms: f64,
    /// What the instrumentation added: instrumented median ÷ plain median − 1, in percent.
    pub overhead_percent: f64,
    /// The factor the breakdown's segments were scaled by (plain mean ÷ instrumented mean
    /// without coldfront's own `instrumentation` segment).
    pub scale: f64,
}

/// The standard library's part of the handler's imports, as one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StdlibStats {
    /// Mean time in its modules' own code.
    pub self_mean_ms: f64,
    /// Mean time of its topmost imports with everything they imported.
    pub inclusive_mean_ms: f64,
    /// Modules imported (from the last sample).
    pub modules: usize,
    /// Top-level packages (from the last sample).
    pub packages: usize,
}

/// A cold start flagged as an outlier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outlier {
    /// Its index in the run.
    pub sample_index: u64,
    /// Its Init Duration.
    pub init_ms: f64,
    /// Its modified z-score.
    pub z: f64,
}

/// A failed cold start, with what a reader needs to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Index in the run.
    pub sample_index: u64,
    /// `init error: Runtime.ImportModuleError`, ...
    pub outcome: String,
    /// The error message.
    pub message: String,
    /// The end of the function's stderr (the traceback).
    pub stderr_tail: String,
    /// The exception type, message and the traceback's last frame, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<super::cause::FailureCause>,
}

/// One function at one memory size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// Function name.
    pub function: String,
    /// `subject`, `control`, or none outside an experiment.
    pub role: Option<String>,
    /// Memory size.
    pub memory_mb: u32,
    /// Measured cold starts (warm-ups excluded).
    pub cold_starts: usize,
    /// Warm-up cold starts left out.
    pub warmups: usize,
    /// Init Duration of the successful ones.
    pub init: Option<Summary>,
    /// 95% bootstrap interval of the median Init Duration.
    pub init_median_ci95_ms: Option<Interval>,
    /// 95% bootstrap interval of the mean Init Duration.
    pub init_mean_ci95_ms: Option<Interval>,
    /// The segment tree, flattened in order.
    pub segments: Vec<SegmentStats>,
    /// Imports by package, largest first.
    pub packages: Vec<PackageStats>,
    /// The standard library's part of them, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdlib: Option<StdlibStats>,
    /// Mean own time of each module the handler's import loaded (0 in a sample without it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub module_self_mean_ms: BTreeMap<String, f64>,
    /// Duration of the cold invoke.
    pub cold_invoke: Option<Summary>,
    /// Duration of warm invokes.
    pub warm_invoke: Option<Summary>,
    /// Largest Max Memory Used.
    pub max_memory_used_mb: Option<u64>,
    /// Mean sandbox set-up outside Init Duration (process start, cgroup join).
    pub sandbox_setup_mean_ms: Option<f64>,
    /// Outliers by MAD.
    pub outliers: Vec<Outlier>,
    /// What to do about them, when there are any.
    pub outlier_hint: Option<String>,
    /// Failed cold starts (not counting those a user stop cut short).
    pub failures: Vec<Failure>,
    /// Cold starts cut short by a user stop: kept in the samples file, neither successes
    /// nor failures.
    #[serde(default)]
    pub stopped: usize,
    /// `-X importtime` parsing, added up over the samples.
    pub importtime: Option<ParseStats>,
    /// What could not be observed.
    pub not_observable: Vec<NotObservable>,
    /// Caveats.
    pub notes: Vec<String>,
    /// CPU share: applied, disabled, or unavailable with the reason. When the group's
    /// cold starts did not all run alike, unavailable, saying how many had it.
    pub throttling: Throttling,
    /// Whether the group's sandboxes had Lambda's filesystem view (as `throttling`).
    #[serde(default = "Isolation::not_recorded")]
    pub filesystem: Isolation,
    /// Whether the group's Runtime APIs were reachable from their sandbox alone.
    #[serde(default = "Isolation::not_recorded")]
    pub runtime_api: Isolation,
    /// The runtime executable.
    pub runtime_program: String,
    /// The interpreter the runtime's clean virtual environment was made from, if any.
    #[serde(default)]
    pub interpreter_base: Option<String>,
    /// The CPU share applied, in cores, when throttling was applied.
    #[serde(default)]
    pub cpu_cores: Option<f64>,
    /// Task-root packages and modules never imported in any measured cold start or
    /// invoke, with their size on disk (empty without `-X importtime` evidence).
    #[serde(default)]
    pub never_imported: Vec<(String, u64)>,
    /// Size of the task root's importable contents, bytes.
    #[serde(default)]
    pub task_root_bytes: u64,
    /// Interpreter version.
    pub interpreter_version: Option<String>,
    /// How the runtime started.
    #[serde(default)]
    pub runtime_kind: Option<crate::spec::RuntimeKind>,
    /// When plain cold starts ran beside instrumented ones: the headline is theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrumentation: Option<InstrumentationStats>,
    /// Where it ran on AWS (the first sample's record), for cold starts measured there;
    /// none on the local emulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<crate::sample::AwsRecord>,
}

/// A segment in subject and control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentDiff {
    /// Segment path.
    pub path: String,
    /// Subject mean.
    pub subject_mean_ms: f64,
    /// Control mean.
    pub control_mean_ms: f64,
    /// Subject − control, of the means.
    pub diff_mean_ms: f64,
    /// 95% bootstrap interval of the difference.
    pub ci95_ms: Option<Interval>,
}

/// Subject against one control at one memory size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Subject function.
    pub subject: String,
    /// Control function.
    pub control: String,
    /// Memory size.
    pub memory_mb: u32,
    /// Median Init Duration difference, subject − control.
    pub init_median_diff_ms: f64,
    /// Its 95% bootstrap interval.
    pub init_median_diff_ci95_ms: Option<Interval>,
    /// Mean Init Duration ratio, subject / control ("× slower").
    pub ratio: f64,
    /// σ of the ratio by error propagation (as hyperfine computes it).
    pub ratio_stddev: f64,
    /// Top-level segments side by side.
    pub segments: Vec<SegmentDiff>,
    /// How the control's runtime differs from the subject's; empty when they match, so the
    /// difference is the subject's own code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatch: Vec<String>,
}

/// How `control` was run unlike `subject`.
fn mismatch(subject: &GroupSummary, control: &GroupSummary) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (subject.runtime_kind, control.runtime_kind)
        && a != b
    {
        out.push(format!(
            "the subject runs the `{}` runtime and the control `{}`",
            a.as_str(),
            b.as_str()
        ));
    }
    if subject.interpreter_version != control.interpreter_version {
        let version = |v: &Option<String>| v.as_ref().map_or_else(|| "none".to_owned(), |v| format!("Python {v}"));
        out.push(format!(
            "the subject's interpreter is {} and the control's {}",
            version(&subject.interpreter_version),
            version(&control.interpreter_version)
        ));
    }
    out
}

/// A part of INIT only AWS has, measured as a difference: the subject's median Init
/// Duration against that of a variant without the part (see [`VariantKind`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// `storage mount` or `network setup`.
    pub name: String,
    /// The memory size both ran at.
    pub memory_mb: u32,
    /// The function with the part…
    pub with: String,
    /// …and the one without it.
    pub without: String,
    /// Median Init Duration of `with` minus that of `without`.
    pub median_diff_ms: f64,
    /// Its 95% bootstrap interval (independent resamples of the two groups); none with
    /// fewer than 2 cold starts of either.
    pub ci95_ms: Option<Interval>,
    /// Measured cold starts (warm-ups left out) with an Init Duration, of each.
    pub n_with: usize,
    /// See `n_with`.
    pub n_without: usize,
    /// The same difference of the cold invokes' round trips as coldfront timed them, which
    /// hold the sandbox's creation (left out of Init Duration) and the network's jitter;
    /// none when the samples lack them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trip_median_diff_ms: Option<f64>,
    /// Its 95% bootstrap interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trip_ci95_ms: Option<Interval>,
    /// Why the difference may not be AWS's: it was measured on another Lambda API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
}

/// "storage mount" (the subject against its variant without EFS) and "network setup"
/// (the variant without EFS — or the subject, when it has none — against the variant
/// without VPC), per memory size, from the measured cold starts' Init Durations. Only
/// runs whose samples carry variant labels (`coldfront trace --backend aws` with
/// variants) have any.
fn differences(samples: &[ColdStartSample]) -> Vec<Difference> {
    let measured: Vec<&ColdStartSample> = samples
        .iter()
        .filter(|s| !s.labels.warmup && s.init.duration_ms.is_some())
        .collect();
    let mut sizes: Vec<u32> = Vec::new();
    for s in samples {
        if !sizes.contains(&s.memory_size_mb) {
            sizes.push(s.memory_size_mb);
        }
    }
    let mut out = Vec::new();
    for memory_mb in sizes {
        let at: Vec<&ColdStartSample> = measured
            .iter()
            .copied()
            .filter(|s| s.memory_size_mb == memory_mb)
            .collect();
        let find = |wanted: &dyn Fn(&ColdStartSample) -> bool| at.iter().find(|s| wanted(s)).copied();
        let Some(subject) = find(&|s| s.labels.role.as_deref() == Some("subject") && s.labels.variant.is_none()) else {
            continue;
        };
        let no_efs = find(&|s| s.labels.variant == Some(VariantKind::WithoutEfs));
        let no_vpc = find(&|s| s.labels.variant == Some(VariantKind::WithoutVpc));
        let init_of = |function: &str| -> Vec<f64> {
            at.iter()
                .filter(|s| s.function == function)
                .filter_map(|s| s.init.duration_ms)
                .collect()
        };
        let caveat = subject.aws.as_ref().and_then(|a| a.endpoint_url.as_ref()).map(|url| {
            format!(
                "measured against {url}, not AWS Lambda: unless that API attaches network interfaces and mounts EFS \
                 (coldfront serve does neither), these differences are not AWS's"
            )
        });
        let round_trips_of = |function: &str| -> Vec<f64> {
            at.iter()
                .filter(|s| s.function == function)
                .filter_map(|s| s.aws.as_ref()?.invoke_round_trip_ms)
                .collect()
        };
        let mut difference = |name: &str, with: &ColdStartSample, without: &ColdStartSample| {
            let (a, b) = (init_of(&with.function), init_of(&without.function));
            let (c, d) = (round_trips_of(&with.function), round_trips_of(&without.function));
            let timed = !c.is_empty() && !d.is_empty();
            out.push(Difference {
                name: name.to_owned(),
                memory_mb,
                with: with.function.clone(),
                without: without.function.clone(),
                median_diff_ms: median(&a) - median(&b),
                ci95_ms: bootstrap_diff_ci(&a, &b, median, seed_of(&format!("{name}@{memory_mb}"))),
                n_with: a.len(),
                n_without: b.len(),
                round_trip_median_diff_ms: timed.then(|| median(&c) - median(&d)),
                round_trip_ci95_ms: bootstrap_diff_ci(
                    &c,
                    &d,
                    median,
                    seed_of(&format!("{name}@{memory_mb} round trip")),
                ),
                caveat: caveat.clone(),
            });
        };
        if let Some(no_efs) = no_efs {
            difference("storage mount", subject, no_efs);
        }
        if let Some(no_vpc) = no_vpc {
            difference("network setup", no_efs.unwrap_or(subject), no_vpc);
        }
    }
    out
}

/// Everything a run's reports show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Layout version.
    pub schema_version: u32,
    /// When the first sample started.
    pub started_at: Option<String>,
    /// Samples read, warm-ups included.
    pub samples: usize,
    /// Per function and memory size, in the order they first ran.
    pub groups: Vec<GroupSummary>,
    /// Subject against each control, per memory size.
    pub comparisons: Vec<Comparison>,
    /// What to do, each with its predicted saving and evidence.
    pub recommendations: Vec<Recommendation>,
    /// A warning when the sample file's last line was cut off.
    pub truncated_tail: Option<String>,
    /// The machine, when the caller recorded it.
    #[serde(default)]
    pub environment: Option<super::Environment>,
    /// On AWS, what only AWS has (network setup, storage mount), as differences between
    /// the subject and its variants; empty without variants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
}

fn seed_of(text: &str) -> u64 {
    // FNV-1a: a stable seed per group, so intervals re-render identically.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn merge_stats(total: &mut ParseStats, more: &ParseStats) {
    total.lines += more.lines;
    total.records += more.records;
    total.cached += more.cached;
    total.recovered_mid_line += more.recovered_mid_line;
    total.unparseable += more.unparseable;
    total.depth_anomalies += more.depth_anomalies;
    total.negative_self += more.negative_self;
    total.other_lines += more.other_lines;
    for example in &more.unparseable_examples {
        if total.unparseable_examples.len() < 5 {
            total.unparseable_examples.push(example.clone());
        }
    }
}

fn tail(text: &str, max_chars: usize) -> String {
    let start = text.char_indices().rev().nth(max_chars).map_or(0, |(i, _)| i);
    text[start..].to_owned()
}

/// Per-path values across samples; a path missing from a sample counts as 0 ms there.
/// Segment paths with their depth, in tree order, and each path's values by sample.
type SegmentColumns = (Vec<(String, usize)>, BTreeMap<String, Vec<f64>>);

fn segment_values(attributions: &[Attribution]) -> SegmentColumns {
    let mut order: Vec<(String, usize)> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (index, attribution) in attributions.iter().enumerate() {
        let mut flat = Vec::new();
        for segment in &attribution.segments {
            segment.flatten("", &mut flat);
        }
        for (path, ms) in flat {
            if seen.insert(path.clone()) {
                order.push((path.clone(), path.matches('/').count()));
            }
            let column = values.entry(path).or_default();
            column.resize(index, 0.0);
            column.push(ms);
        }
    }
    for column in values.values_mut() {
        column.resize(attributions.len(), 0.0);
    }
    // Keep the tree order: parents before children, siblings as first seen.
    (order, values)
}

/// One package's values across a group's samples.
#[derive(Default)]
struct Columns {
    self_ms: Vec<f64>,
    subtree_ms: Vec<f64>,
    modules: usize,
    stdlib: bool,
    native: BTreeSet<String>,
    imported_by: Vec<String>,
    subtree_modules: Vec<String>,
}

/// The state every sample of a group shares; when they differ, `unavailable` with how many
/// had each, so a summary never claims for all what only some got.
fn group_state<T: PartialEq + std::fmt::Debug>(states: impl Iterator<Item = T>, unavailable: fn(String) -> T) -> T {
    let mut seen: Vec<(T, usize)> = Vec::new();
    for state in states {
        match seen.iter_mut().find(|(s, _)| *s == state) {
            Some((_, count)) => *count += 1,
            None => seen.push((state, 1)),
        }
    }
    if seen.len() == 1 {
        return seen.pop().expect("one").0;
    }
    let total: usize = seen.iter().map(|(_, n)| n).sum();
    unavailable(format!(
        "not the same in all {total} cold starts: {}",
        seen.iter()
            .map(|(state, n)| format!("{n} × {state:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The measured (non-warm-up) samples of a group.
fn measured<'a>(samples: &[&'a ColdStartSample]) -> Vec<&'a ColdStartSample> {
    samples.iter().copied().filter(|s| !s.labels.warmup).collect()
}

/// `attributions` are those of the group's measured samples, computed once by the caller
/// and shared with the comparisons.
fn group(samples: &[&ColdStartSample], attributions: &[Attribution]) -> GroupSummary {
    let first = samples[0];
    let measured = measured(samples);
    let init_values: Vec<f64> = attributions.iter().map(|a| a.init_ms).collect();
    let seed = seed_of(&format!("{}@{}", first.function, first.memory_size_mb));
    let init_mean = mean(&init_values);
    let (order, values) = segment_values(attributions);
    let segments = order
        .into_iter()
        .map(|(path, depth)| {
            let column = &values[&path];
            SegmentStats {
                mean_ms: mean(column),
                median_ms: median(column),
                percent_of_init: 100.0 * mean(column) / init_mean,
                ci95_mean_ms: bootstrap_ci(column, mean, seed ^ seed_of(&path)),
                path,
                depth,
            }
        })
        .collect();
    let mut packages: BTreeMap<String, Columns> = BTreeMap::new();
    for (index, attribution) in attributions.iter().enumerate() {
        for package in &attribution.packages {
            let entry = packages.entry(package.package.clone()).or_default();
            entry.self_ms.resize(index, 0.0);
            entry.subtree_ms.resize(index, 0.0);
            entry.self_ms.push(package.self_ms);
            entry.subtree_ms.push(package.subtree_ms);
            entry.modules = package.modules;
            entry.stdlib |= package.stdlib;
            entry.native.extend(package.native.iter().cloned());
            entry.imported_by.clone_from(&package.imported_by);
            entry.subtree_modules = package.subtree_modules().into_iter().collect();
        }
    }
    let mut packages: Vec<PackageStats> = packages
        .into_iter()
        .map(|(package, mut columns)| {
            columns.self_ms.resize(attributions.len(), 0.0);
            columns.subtree_ms.resize(attributions.len(), 0.0);
            let first_party =
                first.task_root_bytes.contains_key(&package) && !first.task_root_vendored.contains(&package);
            PackageStats {
                package,
                self_mean_ms: mean(&columns.self_ms),
                subtree_mean_ms: mean(&columns.subtree_ms),
                modules: columns.modules,
                first_party,
                stdlib: columns.stdlib,
                native: columns.native.into_iter().collect(),
                imported_by: columns.imported_by,
                subtree_modules: columns.subtree_modules,
            }
        })
        .collect();
    let mut module_self_mean_ms: BTreeMap<String, f64> = BTreeMap::new();
    for attribution in attributions {
        for (module, ms) in attribution.module_self_ms() {
            *module_self_mean_ms.entry(module).or_default() += ms / attributions.len() as f64;
        }
    }
    let stdlib_samples: Vec<&crate::attribution::StdlibImports> =
        attributions.iter().filter_map(|a| a.stdlib.as_ref()).collect();
    let stdlib = stdlib_samples.last().map(|last| StdlibStats {
        self_mean_ms: mean(&stdlib_samples.iter().map(|g| g.self_ms).collect::<Vec<_>>()),
        inclusive_mean_ms: mean(&stdlib_samples.iter().map(|g| g.inclusive_ms).collect::<Vec<_>>()),
        modules: last.modules,
        packages: last.packages,
    });
    packages.sort_by(|a, b| b.self_mean_ms.total_cmp(&a.self_mean_ms));

    let indexed: Vec<(u64, f64)> = measured
        .iter()
        .filter_map(|s| Some((s.sample_index, s.init.duration_ms?)))
        .collect();
    let init_values: Vec<f64> = indexed.iter().map(|(_, ms)| *ms).collect();
    let outliers: Vec<Outlier> = slow_outliers(&init_values)
        .into_iter()
        .map(|o| Outlier {
            sample_index: indexed[o.index].0,
            init_ms: indexed[o.index].1,
            z: o.z,
        })
        .collect();
    let outlier_hint = (!outliers.is_empty()).then(|| {
        let center = median(&init_values);
        format!(
            "{} of {} cold starts took more than {} longer than the median {} (modified z-score above {});              they are in every statistic above, and the median and percentiles are the figures they move least",
            outliers.len(),
            indexed.len(),
            crate::stats::format_ms(outlier_floor(center)),
            crate::stats::format_ms(center),
            crate::stats::OUTLIER_Z
        )
    });
    let invoke_ms = |cold: bool| -> Vec<f64> {
        measured
            .iter()
            .flat_map(|s| s.invokes.iter())
            .filter(|i| i.cold == cold && i.status == InvokeStatus::Success)
            .map(|i| i.duration_ms)
            .collect()
    };
    let mut importtime: Option<ParseStats> = None;
    let mut notes = BTreeSet::new();
    for attribution in attributions {
        if let Some(stats) = &attribution.importtime {
            merge_stats(importtime.get_or_insert_with(ParseStats::default), stats);
        }
        notes.extend(attribution.notes.iter().cloned());
    }
    let stopped = measured.iter().filter(|s| s.stopped()).count();
    let failures = measured
        .iter()
        .filter(|s| s.failed())
        .map(|s| Failure {
            sample_index: s.sample_index,
            outcome: s.outcome(),
            message: s
                .init
                .error
                .as_ref()
                .or_else(|| s.invokes.iter().find_map(|i| i.error.as_ref()))
                .map_or_else(String::new, |e| e.error_message.clone()),
            stderr_tail: tail(
                &s.stderr
                    .text
                    .lines()
                    .filter(|l| !l.starts_with("import time:") && !l.starts_with("coldfront-"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                3_000,
            ),
            cause: super::cause::failure_cause(s),
        })
        .collect();
    // Only the local emulator measures its sandbox's set-up; AWS reports none.
    let setup: Vec<f64> = measured
        .iter()
        .filter(|s| s.backend == "local")
        .map(|s| s.init.sandbox_setup_ms)
        .collect();
    GroupSummary {
        function: first.function.clone(),
        role: first.labels.role.clone(),
        memory_mb: first.memory_size_mb,
        cold_starts: measured.len(),
        warmups: samples.len() - measured.len(),
        init: Summary::of(&init_values),
        init_median_ci95_ms: bootstrap_ci(&init_values, median, seed),
        init_mean_ci95_ms: bootstrap_ci(&init_values, mean, seed.rotate_left(1)),
        segments,
        packages,
        stdlib,
        module_self_mean_ms,
        cold_invoke: Summary::of(&invoke_ms(true)),
        warm_invoke: Summary::of(&invoke_ms(false)),
        max_memory_used_mb: measured
            .iter()
            .flat_map(|s| s.invokes.iter())
            .map(|i| i.max_memory_used_mb)
            .max(),
        sandbox_setup_mean_ms: (!setup.is_empty()).then(|| mean(&setup)),
        outliers,
        outlier_hint,
        stopped,
        failures,
        importtime,
        not_observable: attributions
            .first()
            .map(|a| a.not_observable.clone())
            .unwrap_or_default(),
        notes: notes.into_iter().collect(),
        throttling: group_state(
            samples.iter().map(|s| s.sandbox.throttling.clone()),
            Throttling::Unavailable,
        ),
        filesystem: group_state(
            samples.iter().map(|s| s.sandbox.filesystem.clone()),
            Isolation::Unavailable,
        ),
        runtime_api: group_state(
            samples.iter().map(|s| s.sandbox.runtime_api.clone()),
            Isolation::Unavailable,
        ),
        runtime_program: first.runtime.program.display().to_string(),
        interpreter_base: first.runtime.interpreter_base.as_ref().map(|p| p.display().to_string()),
        cpu_cores: first.sandbox.cgroup.as_ref().map(|c| c.cpu_cores),
        never_imported: {
            let imported: BTreeSet<&str> = attributions
                .iter()
                .flat_map(|a| a.imported_anywhere.iter().map(String::as_str))
                .collect();
            let handler = first.handler.split(['.', '/']).next().unwrap_or_default();
            if imported.is_empty() {
                Vec::new()
            } else {
                first
                    .task_root_bytes
                    .iter()
                    .filter(|(name, _)| !imported.contains(name.as_str()) && name.as_str() != handler)
                    .map(|(name, bytes)| (name.clone(), *bytes))
                    .collect()
            }
        },
        task_root_bytes: first.task_root_bytes.values().sum(),
        interpreter_version: first.runtime.interpreter_version.clone(),
        runtime_kind: Some(first.runtime.kind),
        instrumentation: None,
        aws: first.aws.clone(),
    }
}

fn scale_segment(segment: &mut crate::attribution::Segment, k: f64) {
    segment.ms *= k;
    for child in &mut segment.children {
        scale_segment(child, k);
    }
}

/// Scales instrumented attributions onto plain cold starts' Init Duration: coldfront's own
/// `instrumentation` segment is dropped and every other segment (and package) multiplied by
/// plain mean ÷ the rest's mean, so shares stay as measured and the segments add up to
/// the plain mean.
fn onto_plain(
    attributions: &[Attribution],
    instrumented_init: &[f64],
    plain_init: &[f64],
) -> Option<(Vec<Attribution>, InstrumentationStats)> {
    if attributions.is_empty() || plain_init.is_empty() {
        return None;
    }
    let own = |a: &Attribution| {
        a.segments
            .iter()
            .filter(|s| s.name == crate::attribution::names::INSTRUMENTATION)
            .map(|s| s.ms)
            .sum::<f64>()
    };
    let rest: Vec<f64> = attributions.iter().map(|a| a.init_ms - own(a)).collect();
    let k = mean(plain_init) / mean(&rest);
    if !k.is_finite() || k <= 0.0 {
        return None;
    }
    let scaled = attributions
        .iter()
        .zip(&rest)
        .map(|(a, rest)| {
            let mut a = a.clone();
            a.segments
                .retain(|s| s.name != crate::attribution::names::INSTRUMENTATION);
            for segment in &mut a.segments {
                scale_segment(segment, k);
            }
            a.init_ms = rest * k;
            for package in &mut a.packages {
                package.self_ms *= k;
                package.subtree_ms *= k;
            }
            if let Some(stdlib) = &mut a.stdlib {
                stdlib.self_ms *= k;
                stdlib.inclusive_ms *= k;
            }
            a
        })
        .collect();
    // The same percentile method as the headline's.
    let median_of = |v: &[f64]| Summary::of(v).map_or(f64::NAN, |s| s.median_ms);
    let (plain_median_ms, instrumented_median_ms) = (median_of(plain_init), median_of(instrumented_init));
    Some((
        scaled,
        InstrumentationStats {
            plain_cold_starts: plain_init.len(),
            instrumented_cold_starts: instrumented_init.len(),
            plain_median_ms,
            instrumented_median_ms,
            overhead_percent: 100.0 * (instrumented_median_ms / plain_median_ms - 1.0),
            scale: k,
        },
    ))
}

fn compare(
    subject: &GroupSummary,
    control: &GroupSummary,
    subject_attributions: &[Attribution],
    control_attributions: &[Attribution],
) -> Comparison {
    let init_of = |attributions: &[Attribution]| -> Vec<f64> { attributions.iter().map(|a| a.init_ms).collect() };
    let (a, b) = (init_of(subject_attributions), init_of(control_attributions));
    // Top-level paths are the segment names themselves.
    let ((_, sa), (_, sb)) = (
        segment_values(subject_attributions),
        segment_values(control_attributions),
    );
    let seed = seed_of(&format!(
        "{}-{}@{}",
        subject.function, control.function, subject.memory_mb
    ));
    let mut paths: Vec<String> = subject
        .segments
        .iter()
        .filter(|s| s.depth == 0)
        .map(|s| s.path.clone())
        .collect();
    for s in control.segments.iter().filter(|s| s.depth == 0) {
        if !paths.contains(&s.path) {
            paths.insert(paths.len().saturating_sub(1), s.path.clone());
        }
    }
    let zeros_a = vec![0.0; a.len()];
    let zeros_b = vec![0.0; b.len()];
    let segments = paths
        .into_iter()
        .map(|path| {
            let va = sa.get(&path).unwrap_or(&zeros_a);
            let vb = sb.get(&path).unwrap_or(&zeros_b);
            SegmentDiff {
                subject_mean_ms: mean(va),
                control_mean_ms: mean(vb),
                diff_mean_ms: mean(va) - mean(vb),
                ci95_ms: bootstrap_diff_ci(va, vb, mean, seed ^ seed_of(&path)),
                path,
            }
        })
        .collect();
    let (ma, mb) = (mean(&a), mean(&b));
    let sd = |v: &[f64]| Summary::of(v).map_or(0.0, |s| s.stddev_ms);
    let ratio = ma / mb;
    Comparison {
        subject: subject.function.clone(),
        control: control.function.clone(),
        memory_mb: subject.memory_mb,
        init_median_diff_ms: median(&a) - median(&b),
        init_median_diff_ci95_ms: bootstrap_diff_ci(&a, &b, median, seed),
        ratio,
        ratio_stddev: ratio * ((sd(&a) / ma).powi(2) + (sd(&b) / mb).powi(2)).sqrt(),
        segments,
        mismatch: mismatch(subject, control),
    }
}

impl RunSummary {
    /// Computes every statistic from raw samples.
    pub fn from_samples(samples: &[ColdStartSample], truncated_tail: Option<String>) -> Self {
        let mut keys: Vec<(String, u32)> = Vec::new();
        for s in samples {
            let key = (s.function.clone(), s.memory_size_mb);
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        // Attribution parses each sample's evidence, so it runs once per sample here and
        // feeds both the groups and the comparisons.
        let (groups, attributions): (Vec<GroupSummary>, Vec<Vec<Attribution>>) = keys
            .iter()
            .map(|(function, memory)| {
                let members: Vec<&ColdStartSample> = samples
                    .iter()
                    .filter(|s| &s.function == function && s.memory_size_mb == *memory)
                    .collect();
                let (plain, instrumented): (Vec<&ColdStartSample>, Vec<&ColdStartSample>) =
                    members.iter().copied().partition(|s| s.labels.uninstrumented);
                let attributions: Vec<Attribution> = measured(&instrumented)
                    .iter()
                    .filter_map(|s| attribute(s).ok())
                    .collect();
                let init_of = |samples: &[&ColdStartSample]| -> Vec<f64> {
                    measured(samples).iter().filter_map(|s| s.init.duration_ms).collect()
                };
                match onto_plain(&attributions, &init_of(&instrumented), &init_of(&plain)) {
                    // The headline (Init Duration, failures, invokes) from the plain cold
                    // starts; the breakdown from their instrumented twins, scaled.
                    Some((scaled, stats)) => {
                        let mut summary = group(&plain, &scaled);
                        for ms in summary.module_self_mean_ms.values_mut() {
                            *ms *= stats.scale;
                        }
                        summary.instrumentation = Some(stats);
                        // The twins' failures are not in the headline's; they are named here.
                        let failed: Vec<String> = measured(&instrumented)
                            .iter()
                            .filter(|s| s.failed())
                            .map(|s| format!("#{} {}", s.sample_index + 1, s.outcome()))
                            .collect();
                        if !failed.is_empty() {
                            summary.notes.push(format!(
                                "{} instrumented cold starts failed while their plain twins are what the figures show: {}",
                                failed.len(),
                                failed.join(", ")
                            ));
                        }
                        (summary, scaled)
                    }
                    None => (group(&members, &attributions), attributions),
                }
            })
            .unzip();
        let mut comparisons = Vec::new();
        let is = |g: &GroupSummary, role: &str| g.role.as_deref() == Some(role) && g.init.is_some();
        for (i, subject) in groups.iter().enumerate().filter(|(_, g)| is(g, "subject")) {
            for (j, control) in groups
                .iter()
                .enumerate()
                .filter(|(_, g)| is(g, "control") && g.memory_mb == subject.memory_mb)
            {
                comparisons.push(compare(subject, control, &attributions[i], &attributions[j]));
            }
        }
        let recommendations = recommend(&groups, &comparisons);
        Self {
            schema_version: SUMMARY_SCHEMA_VERSION,
            started_at: samples.first().map(|s| s.started_at.to_rfc3339()),
            samples: samples.len(),
            groups,
            comparisons,
            recommendations,
            truncated_tail,
            environment: None,
            differences: differences(samples),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws_sample(function: &str, labels: serde_json::Value, memory_mb: u32, init_ms: f64) -> ColdStartSample {
        // What the sandbox's creation adds outside Init Duration, seen in the round trip.
        let sandbox_ms = match function {
            "api" => 60.0,
            "api-noefs" => 40.0,
            _ => 0.0,
        };
        let text = serde_json::json!({
            "schema_version": 1, "function": function, "handler": "handler.handle", "sample_index": 0,
            "started_at": "2026-11-27T09:00:00Z", "memory_size_mb": memory_mb, "backend": "aws",
            "labels": labels,
            "runtime": {"kind": "python", "program": "python3.12", "args": [], "interpreter_version": null, "runtime_version": "python3.12"},
            "init": {"status": "success", "duration_ms": init_ms, "elapsed_ms": init_ms, "error": null, "spawn_monotonic_ns": 1,
                     "ready_monotonic_ns": 2, "marks": {}},
            "invokes": [{"request_id": "r", "trace_header": "t", "cold": true, "status": "success", "duration_ms": 2.0, "billed_duration_ms": 3,
                         "max_memory_used_mb": 30, "response_bytes": 2, "response_preview": "ok", "error": null}],
            "platform_log": [], "telemetry": [], "xray_documents": [],
            "process": {"pid": 1, "exit_code": null, "exit_signal": null, "killed_by_emulator": false, "peak_rss_kb": 30000, "peak_rss_source": "", "user_cpu_ms": 1.0, "system_cpu_ms": 1.0, "leftover_processes_killed": 0},
            "sandbox": {"throttling": {"state": "applied"}, "cgroup": null}, "runtime_api_problems": [],
            "stdout": {"text": "", "total_bytes": 0, "truncated": false}, "stderr": {"text": "", "total_bytes": 0, "truncated": false},
            "aws": {"region": "us-east-1", "account_id_masked": "********9012", "function_arn": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
                    "version": "$LATEST", "runtime": "python3.12", "architecture": "x86_64", "xray_found": false, "proactive_initialization": false,
                    "endpoint_url": "http://127.0.0.1:9001", "invoke_round_trip_ms": init_ms + 1000.0 + sandbox_ms},
        });
        serde_json::from_value(text).expect("a valid sample")
    }

    #[test]
    fn variants_give_storage_and_network_differences_per_memory_size() {
        let mut run = Vec::new();
        // A warm-up far off, which must not count.
        run.push(aws_sample(
            "api",
            serde_json::json!({"role": "subject", "warmup": true}),
            512,
            9000.0,
        ));
        for (i, offset) in [0.0, 1.0, 2.0, 3.0, 4.0].iter().enumerate() {
            for memory in [512, 1024] {
                let fast = if memory == 1024 { 50.0 } else { 0.0 };
                run.push(aws_sample(
                    "api",
                    serde_json::json!({"role": "subject"}),
                    memory,
                    400.0 + offset - fast,
                ));
                run.push(aws_sample(
                    "api-noefs",
                    serde_json::json!({"role": "variant", "variant": "without_efs"}),
                    memory,
                    300.0 + offset - fast,
                ));
                run.push(aws_sample(
                    "api-novpc",
                    serde_json::json!({"role": "variant", "variant": "without_vpc"}),
                    memory,
                    100.0 + offset + (i % 2) as f64,
                ));
            }
        }
        let summary = RunSummary::from_samples(&run, None);
        let short: Vec<(&str, u32, &str, &str, f64, usize, usize)> = summary
            .differences
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    d.memory_mb,
                    d.with.as_str(),
                    d.without.as_str(),
                    d.median_diff_ms,
                    d.n_with,
                    d.n_without,
                )
            })
            .collect();
        assert_eq!(
            short,
            [
                ("storage mount", 512, "api", "api-noefs", 100.0, 5, 5),
                ("network setup", 512, "api-noefs", "api-novpc", 200.0, 5, 5),
                ("storage mount", 1024, "api", "api-noefs", 100.0, 5, 5),
                ("network setup", 1024, "api-noefs", "api-novpc", 150.0, 5, 5),
            ]
        );
        let round_trips: Vec<Option<f64>> = summary
            .differences
            .iter()
            .map(|d| d.round_trip_median_diff_ms)
            .collect();
        assert_eq!(round_trips, [Some(120.0), Some(240.0), Some(120.0), Some(190.0)]);
        for d in &summary.differences {
            let ci = d.round_trip_ci95_ms.expect("five values each");
            assert!(ci.contains(d.round_trip_median_diff_ms.unwrap()), "{d:?}");
            let ci = d.ci95_ms.expect("five values each");
            assert!(ci.contains(d.median_diff_ms) && ci.high - ci.low < 10.0, "{d:?}");
            assert!(
                d.caveat.as_deref().is_some_and(|c| c.contains("not AWS Lambda")),
                "{d:?}"
            );
        }
        let page = crate::report::markdown::render(&summary);
        assert!(
            page.contains("## What only AWS has: network setup and storage mount"),
            "{page}"
        );
        assert!(
            page.contains("| storage mount | 512 MB | `api` | `api-noefs` | +100.0 ms |")
                && page.contains("| network setup | 1024 MB | `api-noefs` | `api-novpc` | +150.0 ms |")
                && page.contains("| 5/5 | +190.0 ms |"),
            "{page}"
        );
        assert_eq!(
            page.matches("**Caveat**: measured against http://127.0.0.1:9001")
                .count(),
            1,
            "{page}"
        );
        // Variants are never taken for controls.
        assert!(summary.comparisons.is_empty(), "{:?}", summary.comparisons);
        // It survives the round trip `coldfront report` makes through summary.json.
        let text = serde_json::to_string(&summary).unwrap();
        assert_eq!(serde_json::from_str::<RunSummary>(&text).unwrap(), summary);

        // Without a variant without EFS, the network is the subject against the one without VPC.
        let no_efs_less: Vec<ColdStartSample> = run
            .iter()
            .filter(|s| s.function != "api-noefs" && s.memory_size_mb == 512)
            .cloned()
            .collect();
        let found = RunSummary::from_samples(&no_efs_less, None).differences;
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].name.as_str(), found[0].with.as_str()),
            ("network setup", "api")
        );
        // Without variants there is nothing, and summary.json does not mention them.
        let plain: Vec<ColdStartSample> = run.iter().filter(|s| s.function == "api").cloned().collect();
        let summary = RunSummary::from_samples(&plain, None);
        assert!(summary.differences.is_empty());
        assert!(!serde_json::to_string(&summary).unwrap().contains("differences"));
    }

    #[test]
    fn a_group_state_is_claimed_only_when_every_cold_start_had_it() {
        let all = group_state(
            [Isolation::Applied, Isolation::Applied].into_iter(),
            Isolation::Unavailable,
        );
        assert_eq!(all, Isolation::Applied);
        let mixed = group_state(
            [
                Throttling::Applied,
                Throttling::Unavailable("no cgroup".to_owned()),
                Throttling::Applied,
            ]
            .into_iter(),
            Throttling::Unavailable,
        );
        let Throttling::Unavailable(reason) = mixed else {
            panic!("mixed states must not read as applied: {mixed:?}");
        };
        assert_eq!(
            reason,
            "not the same in all 3 cold starts: 2 × Applied, 1 × Unavailable(\"no cgroup\")"
        );
    }
}
