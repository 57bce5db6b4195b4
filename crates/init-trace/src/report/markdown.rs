//! The benchmark page, in the shape of the seed's deliverable (`Dev/Phase_0_EFS_Benchmarks`
//! with a corrected INIT breakdown): environment, summary table per variant and memory size,
//! the detailed breakdown with confidence intervals, the control comparison, the top
//! contributors and the recommendations.

use std::fmt::Write as _;

use crate::attribution::names;
use crate::recommend::Effect;
use crate::report::summary::{GroupSummary, RunSummary, SegmentStats};
use crate::sample::{Isolation, Throttling};
use crate::stats::{Interval, format_ms, one_decimal};

/// How many packages the breakdown lists before grouping the rest.
const PACKAGES_LISTED: usize = 8;

fn ci(interval: Option<&Interval>) -> String {
    interval.map_or_else(|| "–".to_owned(), |i| format!("{:.1} … {:.1}", i.low, i.high))
}

fn throttling_text(throttling: &Throttling) -> String {
    match throttling {
        Throttling::Applied => {
            "Lambda's share (memory / 1,769 MB of one core) and a memory limit, via cgroups".to_owned()
        }
        Throttling::Disabled => "not applied (--no-throttle): INIT is faster than on Lambda".to_owned(),
        Throttling::Unavailable(reason) => format!("NOT applied ({reason}): INIT is faster than on Lambda"),
    }
}

fn isolation_text(isolation: &Isolation, lambdas: &str, host: &str) -> String {
    match isolation {
        Isolation::Applied => lambdas.to_owned(),
        Isolation::Disabled => format!("the host's, as asked: {host}"),
        Isolation::Unavailable(reason) => format!("NOT Lambda's ({reason}): {host}"),
    }
}

fn row(out: &mut String, label: &str, segment: &SegmentStats) {
    let _ = writeln!(
        out,
        "| {label} | {} | {}% | {} | {} |",
        one_decimal(segment.mean_ms),
        one_decimal(segment.percent_of_init),
        ci(segment.ci95_mean_ms.as_ref()),
        one_decimal(segment.median_ms)
    );
}

fn breakdown(out: &mut String, group: &GroupSummary) {
    let Some(init) = &group.init else { return };
    let _ = writeln!(
        out,
        "### {} @ {} MB ({} cold starts)\n",
        group.function, group.memory_mb, init.n
    );
    match &group.instrumentation {
        Some(i) => {
            let _ = writeln!(
                out,
                "Init Duration here comes from {} plain cold starts run interleaved with {} instrumented ones \
                 (`-X importtime` and coldfront's import marks), whose median was {:+.1}% off theirs ({} against {}). \
                 The phases' shares are measured on the instrumented ones and scaled onto the plain durations \
                 (× {:.3}), so they add up to the plain mean.\n",
                i.plain_cold_starts,
                i.instrumented_cold_starts,
                i.overhead_percent,
                format_ms(i.instrumented_median_ms),
                format_ms(i.plain_median_ms),
                i.scale
            );
        }
        None if group.importtime.is_some() => {
            let _ = writeln!(
                out,
                "**Init Duration here includes the instrumentation** (`-X importtime` and coldfront's import marks): \
                 these cold starts ran without plain twins (`--instrumented-only`).\n"
            );
        }
        None => {}
    }
    let _ = writeln!(
        out,
        "| Phase | Mean (ms) | % of INIT | 95% CI of mean (ms) | Median (ms) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for top in group.segments.iter().filter(|s| s.depth == 0) {
        row(out, &format!("**{}**", top.path), top);
        let prefix = format!("{}/", top.path);
        let mut children: Vec<&SegmentStats> = group
            .segments
            .iter()
            .filter(|s| s.depth == 1 && s.path.starts_with(&prefix))
            .collect();
        // Packages are listed largest first; the long tail is summed in one row.
        if top.path == "imports" {
            children.sort_by(|a, b| b.mean_ms.total_cmp(&a.mean_ms));
        }
        for child in children.iter().take(PACKAGES_LISTED) {
            row(out, &format!("↳ {}", &child.path[prefix.len()..]), child);
        }
        if children.len() > PACKAGES_LISTED {
            let rest = &children[PACKAGES_LISTED..];
            let (ms, pct): (f64, f64) = rest
                .iter()
                .fold((0.0, 0.0), |(m, p), c| (m + c.mean_ms, p + c.percent_of_init));
            let _ = writeln!(
                out,
                "| ↳ {} other packages | {} | {}% | | |",
                rest.len(),
                one_decimal(ms),
                one_decimal(pct)
            );
        }
    }
    let _ = writeln!(
        out,
        "| **Init Duration** | **{}** | 100% | {} | {} |\n",
        one_decimal(init.mean_ms),
        ci(group.init_mean_ci95_ms.as_ref()),
        one_decimal(init.median_ms)
    );
}

/// "native: a, b, c and 4 more": shared objects loaded with `dlopen`, whose cost is
/// mostly the loader's and cannot be deferred in part.
fn native_note(modules: &[String]) -> String {
    const NAMED: usize = 3;
    let mut note = format!(
        "native: {}",
        modules.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ")
    );
    if modules.len() > NAMED {
        let _ = write!(note, " and {} more", modules.len() - NAMED);
    }
    note
}

/// The package table: self time (its modules' own code, additive) and inclusive time (its
/// topmost imports with everything they imported: what dropping it could save at most),
/// the standard library as one line, native extension modules named.
fn package_table(out: &mut String, group: &GroupSummary) {
    if group.packages.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "#### Imports by package: {} @ {} MB

| Package | Self (ms) | Inclusive (ms) | Modules | |\n|---|---:|---:|---:|---|",
        group.function, group.memory_mb
    );
    // (name, self, inclusive, modules, notes)
    let mut rows: Vec<(String, f64, f64, usize, String)> = group
        .packages
        .iter()
        .filter(|p| !(p.stdlib && group.stdlib.is_some()))
        .map(|p| {
            let mut notes = Vec::new();
            if p.first_party {
                notes.push("task root".to_owned());
            }
            if p.stdlib {
                notes.push("stdlib".to_owned());
            }
            if !p.native.is_empty() {
                notes.push(native_note(&p.native));
            }
            (
                p.package.clone(),
                p.self_mean_ms,
                p.subtree_mean_ms,
                p.modules,
                notes.join("; "),
            )
        })
        .collect();
    if let Some(stdlib) = &group.stdlib {
        let native: Vec<String> = group
            .packages
            .iter()
            .filter(|p| p.stdlib)
            .flat_map(|p| p.native.iter().cloned())
            .collect();
        let mut notes = format!("standard library, {} packages", stdlib.packages);
        if !native.is_empty() {
            let _ = write!(notes, "; {}", native_note(&native));
        }
        rows.push((
            "stdlib".to_owned(),
            stdlib.self_mean_ms,
            stdlib.inclusive_mean_ms,
            stdlib.modules,
            notes,
        ));
    }
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, self_ms, inclusive_ms, modules, notes) in rows.iter().take(PACKAGES_LISTED) {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {modules} | {notes} |",
            one_decimal(*self_ms),
            one_decimal(*inclusive_ms)
        );
    }
    if rows.len() > PACKAGES_LISTED {
        let rest = &rows[PACKAGES_LISTED..];
        let _ = writeln!(
            out,
            "| {} other packages | {} | | {} | |",
            rest.len(),
            one_decimal(rest.iter().map(|r| r.1).sum()),
            rest.iter().map(|r| r.3).sum::<usize>()
        );
    }
    let _ = writeln!(
        out,
        "\nSelf times add up to the imports line above; inclusive times overlap (a package's includes what it imports).\n"
    );
}

fn top_contributors(group: &GroupSummary) -> Vec<(String, f64, f64)> {
    // Leaves of the tree: what a reader can act on (a package, handler init, ...). The
    // standard library counts as one.
    let stdlib = format!("{}/{}/", names::IMPORTS, names::STDLIB);
    let mut leaves: Vec<(String, f64, f64)> = group
        .segments
        .iter()
        .filter(|s| !s.path.starts_with(&stdlib))
        .filter(|s| {
            format!("{}/", s.path) == stdlib
                || !group
                    .segments
                    .iter()
                    .any(|c| c.path.starts_with(&format!("{}/", s.path)))
        })
        .filter(|s| s.path != "unattributed")
        .map(|s| (s.path.clone(), s.mean_ms, s.percent_of_init))
        .collect();
    leaves.sort_by(|a, b| b.1.total_cmp(&a.1));
    leaves.truncate(3);
    leaves
}

/// Renders the page.
pub fn render(summary: &RunSummary) -> String {
    let mut out = String::new();
    let date = summary.environment.as_ref().map_or_else(
        || "unknown".to_owned(),
        |e| e.recorded_at[..10.min(e.recorded_at.len())].to_owned(),
    );
    let _ = writeln!(
        out,
        "---\ncategory: reference\ntags: [benchmarks, cold-start]\nlast_updated: {date}\nconfidence: measured\n---\n"
    );
    let _ = writeln!(out, "# Cold start benchmarks: INIT breakdown\n");
    let subject = summary
        .groups
        .iter()
        .find(|g| g.role.as_deref() == Some("subject"))
        .or(summary.groups.first());
    let n: usize = summary.groups.iter().map(|g| g.cold_starts).max().unwrap_or(0);
    let aws = subject.and_then(|g| g.aws.as_ref());
    if aws.is_some() {
        let _ = writeln!(
            out,
            "Measured by coldfront on AWS Lambda: every cold start was forced by a configuration change, awaited until \
             in effect, and invoked once; Init Duration is Lambda's own, from the invoke's REPORT line. \
             Up to {n} cold starts per variant and memory size, variants interleaved to cancel drift, warm-ups left out.\n"
        );
    } else {
        let _ = writeln!(
            out,
            "Measured by coldfront: every cold start is a real runtime process started cold on a local Lambda emulator; \
             Init Duration runs from the runtime's exec to its first `GET /runtime/invocation/next`, as Lambda defines it. \
             Up to {n} cold starts per variant and memory size, variants interleaved to cancel drift, warm-ups left out.\n"
        );
    }

    let _ = writeln!(out, "## Environment\n\n| | |\n|---|---|");
    if let Some(env) = &summary.environment {
        let _ = writeln!(out, "| Date | {} |", env.recorded_at);
        let _ = writeln!(
            out,
            "| Host | {} — {} × {}, Linux {} |",
            env.host, env.cpus, env.cpu_model, env.kernel
        );
        let _ = writeln!(out, "| Tool | coldfront {} (local backend) |", env.coldfront_version);
    }
    if let (Some(_), Some(aws)) = (subject, aws) {
        let _ = writeln!(
            out,
            "| Where | AWS Lambda, {} (account {}), `{}` |",
            aws.region, aws.account_id_masked, aws.function_arn
        );
        let _ = writeln!(out, "| Runtime | `{}` on {} |", aws.runtime, aws.architecture);
        let _ = writeln!(
            out,
            "| CPU and memory | Lambda's own, set by the memory size |\n| Attribution | Lambda's X-Ray `Initialization` span and the function's own X-Ray subsegments inside it |\n"
        );
    } else if let Some(group) = subject {
        let version = group
            .interpreter_version
            .as_ref()
            .map_or_else(String::new, |v| format!(" (Python {v})"));
        let _ = writeln!(out, "| Runtime | `{}`{version} |", group.runtime_program);
        let _ = writeln!(out, "| CPU and memory | {} |", throttling_text(&group.throttling));
        let _ = writeln!(
            out,
            "| Filesystem | {} |",
            isolation_text(
                &group.filesystem,
                "Lambda's view: a private /tmp, the code read-only at /var/task, the rest read-only, an unprivileged user",
                "the function could write outside /tmp"
            )
        );
        let _ = writeln!(
            out,
            "| Runtime API | {} |",
            isolation_text(
                &group.runtime_api,
                "reachable from the sandbox alone (its own network namespace)",
                "on the host's loopback, open to any local process"
            )
        );
    }
    if aws.is_none() {
        let _ = writeln!(
            out,
            "| Attribution | bundled bootstrap's INIT marks, Python `-X importtime`, X-Ray segments sent by the function |\n"
        );
    }

    let _ = writeln!(out, "## Summary\n");
    let _ = writeln!(
        out,
        "| Function | Role | Memory | Init mean ± σ | Init p50 (95% CI) | Min … max | p90 | p99 | n | Failures |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for g in &summary.groups {
        let role = g.role.as_deref().unwrap_or("–");
        match &g.init {
            Some(s) => {
                let _ = writeln!(
                    out,
                    "| {} | {role} | {} MB | {} ± {} | {} ({}) | {} … {} | {} | {} | {} | {} |",
                    g.function,
                    g.memory_mb,
                    format_ms(s.mean_ms),
                    format_ms(s.stddev_ms),
                    format_ms(s.median_ms),
                    ci(g.init_median_ci95_ms.as_ref()),
                    format_ms(s.min_ms),
                    format_ms(s.max_ms),
                    format_ms(s.p90_ms),
                    format_ms(s.p99_ms),
                    s.n,
                    g.failures.len()
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "| {} | {role} | {} MB | no successful INIT | | | | | 0 | {} |",
                    g.function,
                    g.memory_mb,
                    g.failures.len()
                );
            }
        }
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## INIT breakdown\n");
    let _ = writeln!(
        out,
        "Segments do not overlap and their means add up to the mean Init Duration; `unattributed` is what no \
         evidence accounts for. Packages are charged their modules' own code (self time); the standard library \
         is one line (`stdlib`, its packages in `summary.json`). Each package table adds its inclusive time.\n"
    );
    for g in &summary.groups {
        breakdown(&mut out, g);
        package_table(&mut out, g);
    }
    let _ = writeln!(out, "![INIT breakdown](breakdown.svg)\n");

    if !summary.comparisons.is_empty() {
        let _ = writeln!(out, "## Control comparison\n");
        for c in &summary.comparisons {
            let _ = writeln!(
                out,
                "**{} vs {} @ {} MB**: {}'s INIT is {:.2} ± {:.2} × {}'s; median difference {} (95% CI {}).\n",
                c.subject,
                c.control,
                c.memory_mb,
                c.subject,
                c.ratio,
                c.ratio_stddev,
                c.control,
                format_ms(c.init_median_diff_ms),
                ci(c.init_median_diff_ci95_ms.as_ref())
            );
            let _ = writeln!(
                out,
                "| Phase | {} (ms) | {} (ms) | Δ (ms) | 95% CI of Δ |",
                c.subject, c.control
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|");
            for s in &c.segments {
                let diff = if s.diff_mean_ms.abs() < 0.05 {
                    "0.0".to_owned()
                } else {
                    format!("{:+.1}", s.diff_mean_ms)
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {diff} | {} |",
                    s.path,
                    one_decimal(s.subject_mean_ms),
                    one_decimal(s.control_mean_ms),
                    ci(s.ci95_ms.as_ref())
                );
            }
            if c.mismatch.is_empty() {
                let _ = writeln!(
                    out,
                    "\nThe control runs the same runtime and interpreter with a minimal handler, so everything the \
                     platform adds on this backend is in its INIT; the difference is the subject's own code.\n"
                );
            } else {
                let _ = writeln!(
                    out,
                    "\n**Warning: the control does not match the subject**: {}. The difference above includes the \
                     runtimes' own difference, not only the subject's code; the phases compare unlike things. Leave \
                     `--control` out to get a minimal handler on the subject's runtime and interpreter.\n",
                    c.mismatch.join("; ")
                );
            }
        }
    }

    if !summary.differences.is_empty() {
        let _ = writeln!(out, "## What only AWS has: network setup and storage mount\n");
        let _ = writeln!(
            out,
            "Lambda reports no segment for attaching the function to its VPC or mounting its EFS file system; \
             each is measured as a difference of median Init Duration between the subject (or its variant) with \
             the part and a variant of the same code and configuration without it, run interleaved. Lambda's \
             Init Duration leaves out the creation of the sandbox, so whatever part of attaching the VPC or \
             mounting EFS happens there is not in that difference; the cold invoke's round trip, as coldfront \
             timed it, holds the sandbox's creation (and the network's jitter between coldfront and Lambda), \
             and its difference is the last two columns.\n"
        );
        let _ = writeln!(
            out,
            "| Segment | Memory | With | Without | Δ median INIT | 95% CI of Δ | n (with/without) | Δ median round trip | 95% CI of Δ |"
        );
        let _ = writeln!(out, "|---|---:|---|---|---:|---:|---:|---:|---:|");
        for d in &summary.differences {
            let _ = writeln!(
                out,
                "| {} | {} MB | `{}` | `{}` | {:+.1} ms | {} | {}/{} | {} | {} |",
                d.name,
                d.memory_mb,
                d.with,
                d.without,
                d.median_diff_ms,
                ci(d.ci95_ms.as_ref()),
                d.n_with,
                d.n_without,
                d.round_trip_median_diff_ms
                    .map_or_else(|| "–".to_owned(), |ms| format!("{ms:+.1} ms")),
                ci(d.round_trip_ci95_ms.as_ref())
            );
        }
        let _ = writeln!(out);
        let mut caveats: Vec<&str> = summary.differences.iter().filter_map(|d| d.caveat.as_deref()).collect();
        caveats.dedup();
        for caveat in caveats {
            let _ = writeln!(out, "**Caveat**: {caveat}.\n");
        }
    }

    if let Some(group) = subject.filter(|g| g.init.is_some()) {
        let _ = writeln!(
            out,
            "## Top contributors ({} @ {} MB)\n",
            group.function, group.memory_mb
        );
        for (i, (path, ms, pct)) in top_contributors(group).iter().enumerate() {
            let _ = writeln!(out, "{}. `{path}`: {} ({pct:.1}% of INIT)", i + 1, format_ms(*ms));
        }
        let _ = writeln!(out);
    }

    let _ = writeln!(out, "## Recommendations\n");
    if summary.recommendations.is_empty() {
        let _ = writeln!(
            out,
            "None: no part of INIT is large enough in these measurements to be worth changing.\n"
        );
    }
    let total: f64 = summary
        .recommendations
        .iter()
        .filter_map(|r| r.predicted_saving_ms)
        .sum();
    if total > 0.0 {
        let _ = writeln!(
            out,
            "Predicted savings do not overlap (a module is counted once, code changes are measured at the recommended \
             memory size), so they add up: {} in all.\n",
            format_ms(total)
        );
    }
    for (i, r) in summary.recommendations.iter().enumerate() {
        let _ = writeln!(out, "### {}. {}\n\n{}\n", i + 1, r.title, r.detail);
        if let Some(ms) = r.predicted_saving_ms {
            let _ = writeln!(out, "- Predicted saving: {} of Init Duration", format_ms(ms));
        }
        let effect = match (r.effect, r.first_request_ms) {
            (Effect::Disappears, _) => "gone from every cold start".to_owned(),
            (Effect::MovesToFirstRequest, Some(ms)) => {
                format!("moves to the first request ({} more there)", format_ms(ms))
            }
            (Effect::MovesToFirstRequest, None) => "moves to the first request".to_owned(),
            (Effect::DisappearsUnlessUsed, Some(ms)) => format!(
                "gone unless the request uses it; then the first request pays it ({})",
                format_ms(ms)
            ),
            (Effect::DisappearsUnlessUsed, None) => "gone unless the request uses it".to_owned(),
        };
        let _ = writeln!(out, "- The time: {effect}");
        let _ = writeln!(out, "- Evidence: {}\n", r.evidence);
    }

    let _ = writeln!(out, "## Not observable on this backend\n");
    if let Some(group) = subject {
        for item in &group.not_observable {
            let _ = writeln!(out, "- **{}**: {}.", item.name, item.reason);
        }
        if let Some(setup) = group.sandbox_setup_mean_ms {
            let _ = writeln!(
                out,
                "- Measured outside Init Duration: local sandbox set-up (process start, cgroup join) {}.",
                format_ms(setup)
            );
        }
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## Data quality\n");
    for g in &summary.groups {
        if g.stopped > 0 {
            let _ = writeln!(
                out,
                "- {} @ {} MB: {} cold start{} stopped by the user before finishing; kept in samples.jsonl, \
                 counted neither as succeeded nor as failed.",
                g.function,
                g.memory_mb,
                g.stopped,
                if g.stopped == 1 { " was" } else { "s were" }
            );
        }
        if let Some(hint) = &g.outlier_hint {
            let list: Vec<String> = g
                .outliers
                .iter()
                .map(|o| format!("#{} {}", o.sample_index, format_ms(o.init_ms)))
                .collect();
            let _ = writeln!(
                out,
                "- {} @ {} MB: {hint}. Outliers: {}.",
                g.function,
                g.memory_mb,
                list.join(", ")
            );
        }
        if let Some(stats) = &g.importtime {
            let _ = writeln!(
                out,
                "- {} @ {} MB: -X importtime: {} records parsed, {} unparseable, {} depth anomalies, {} recovered mid-line.",
                g.function,
                g.memory_mb,
                stats.records,
                stats.unparseable,
                stats.depth_anomalies,
                stats.recovered_mid_line
            );
            for example in &stats.unparseable_examples {
                let _ = writeln!(out, "  - unparseable: `{}`", example.replace('`', "'"));
            }
        }
        for note in &g.notes {
            let _ = writeln!(out, "- {} @ {} MB: {note}.", g.function, g.memory_mb);
        }
    }
    if let Some(warning) = &summary.truncated_tail {
        let _ = writeln!(out, "- {warning}");
    }
    let _ = writeln!(out);

    let failed: Vec<&GroupSummary> = summary.groups.iter().filter(|g| !g.failures.is_empty()).collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "## Failures\n");
        for g in failed {
            for f in &g.failures {
                let _ = writeln!(
                    out,
                    "### {} @ {} MB, cold start #{}: {}\n",
                    g.function,
                    g.memory_mb,
                    f.sample_index + 1,
                    f.outcome
                );
                match &f.cause {
                    Some(cause) => {
                        let _ = writeln!(out, "- **{}**: {}", cause.error_type, cause.message);
                        if let Some(frame) = &cause.last_frame {
                            let _ = writeln!(out, "- at `{frame}`");
                        }
                        if let Some(frame) = &cause.task_root_frame {
                            let _ = writeln!(out, "- from `{frame}` in the task root");
                        }
                        if let Some(line) = &cause.last_output {
                            let _ = writeln!(out, "- last output: `{line}`");
                        }
                        let _ = writeln!(out);
                    }
                    None => {
                        let _ = writeln!(out, "{}\n", f.message);
                    }
                }
                if !f.stderr_tail.trim().is_empty() {
                    let _ = writeln!(out, "```text\n{}\n```\n", f.stderr_tail.trim_end());
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "## Files\n\n`samples.jsonl` (raw samples, one per line), `summary.json`, `init-duration.hlog` (HdrHistogram log, µs), `breakdown.svg`. Re-render with `coldfront report DIR`."
    );
    out
}
