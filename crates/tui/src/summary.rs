//! Summaries of cold-start samples, printed like hyperfine and exported as JSON.

use std::fmt::Write as _;

use init_trace::report::summary::GroupSummary;
use init_trace::sample::Throttling;
use init_trace::stats::{Summary, format_ms};

/// The hyperfine-style text block for one function at one memory size, from the same
/// [`GroupSummary`] that `trace`, `report` and the exported pages use.
pub(crate) fn render_group(group: &GroupSummary) -> String {
    let mut out = String::new();
    let runtime = group
        .interpreter_version
        .as_ref()
        .map_or_else(|| group.runtime_program.clone(), |v| format!("python {v}"));
    let cpu = match (&group.throttling, group.cpu_cores) {
        (Throttling::Applied, Some(cores)) => format!("{cores:.2} vCPU"),
        (Throttling::Disabled, _) => "unthrottled (--no-throttle)".to_owned(),
        _ => "UNTHROTTLED: cgroups unavailable".to_owned(),
    };
    let _ = writeln!(out, "{}  ({runtime}, {} MB, {cpu})", group.function, group.memory_mb);
    // Only a departure from Lambda's isolation is worth a line.
    for (what, state) in [("Filesystem", &group.filesystem), ("Runtime API", &group.runtime_api)] {
        let label = format!("{what}:");
        match state {
            init_trace::sample::Isolation::Applied => {}
            init_trace::sample::Isolation::Disabled => {
                let _ = writeln!(out, "  {label:<27}the host's (asked for)");
            }
            init_trace::sample::Isolation::Unavailable(reason) => {
                let _ = writeln!(out, "  {label:<27}NOT Lambda's isolation: {reason}");
            }
        }
    }
    match &group.interpreter_base {
        Some(base) => {
            let _ = writeln!(
                out,
                "  Runtime:                   {} (clean venv of {base})",
                group.runtime_program
            );
        }
        None => {
            let _ = writeln!(out, "  Runtime:                   {}", group.runtime_program);
        }
    }
    match &group.init {
        Some(s) => {
            let _ = writeln!(
                out,
                "  Init Duration (mean ± σ):  {:>10} ± {:>9}    [median: {}]",
                format_ms(s.mean_ms),
                format_ms(s.stddev_ms),
                format_ms(s.median_ms)
            );
            let _ = writeln!(
                out,
                "  Range (min … max):         {:>10} … {:>9}    {} cold starts",
                format_ms(s.min_ms),
                format_ms(s.max_ms),
                s.n
            );
            let _ = writeln!(
                out,
                "  Percentiles:               p90 {}   p99 {}",
                format_ms(s.p90_ms),
                format_ms(s.p99_ms)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  Init Duration: no successful INIT in {} cold starts",
                group.cold_starts
            );
        }
    }
    for (label, summary) in [("Cold invoke", &group.cold_invoke), ("Warm invoke", &group.warm_invoke)] {
        if let Some(s) = summary {
            let _ = writeln!(
                out,
                "  {label} (mean ± σ):    {:>10} ± {:>9}    n = {}",
                format_ms(s.mean_ms),
                format_ms(s.stddev_ms),
                s.n
            );
        }
    }
    if let Some(mb) = group.max_memory_used_mb {
        let _ = writeln!(out, "  Max Memory Used:           {mb} MB");
    }
    if group.failures.is_empty() {
        let _ = writeln!(out, "  Failures:                  none");
    } else {
        let _ = writeln!(
            out,
            "  Failures:                  {} of {}",
            group.failures.len(),
            group.cold_starts
        );
        let mut by_outcome: Vec<(&str, usize)> = Vec::new();
        for failure in &group.failures {
            match by_outcome.iter_mut().find(|(o, _)| *o == failure.outcome) {
                Some((_, count)) => *count += 1,
                None => by_outcome.push((&failure.outcome, 1)),
            }
        }
        for (outcome, count) in by_outcome {
            let _ = writeln!(out, "    {count} × {outcome}");
        }
        // The cause, not only its type: the first failure's exception, message and where
        // it was raised.
        if let Some(first) = group.failures.first() {
            if let Some(cause) = &first.cause {
                let _ = writeln!(out, "    first: #{} {}", first.sample_index + 1, cause.headline());
                for line in cause.whereabouts() {
                    let _ = writeln!(out, "      {line}");
                }
            } else {
                let message = first.message.lines().last().unwrap_or_default();
                if !message.is_empty() {
                    let _ = writeln!(out, "    first: #{} {message}", first.sample_index + 1);
                }
            }
        }
    }
    if group.stopped > 0 {
        let _ = writeln!(
            out,
            "  Stopped:                   {} cut short by the stop (in the samples file, in no figure here)",
            group.stopped
        );
    }
    out
}

/// "A ran 1.23 ± 0.04 times faster than B", by mean Init Duration with error propagation
/// (as hyperfine computes it).
pub(crate) fn comparison(groups: &[GroupSummary]) -> Option<String> {
    let several_sizes = groups.iter().any(|g| g.memory_mb != groups[0].memory_mb);
    let mut measured: Vec<(String, &Summary)> = groups
        .iter()
        .filter_map(|g| {
            let name = if several_sizes {
                format!("{} @ {} MB", g.function, g.memory_mb)
            } else {
                g.function.clone()
            };
            g.init.as_ref().map(|s| (name, s))
        })
        .collect();
    if measured.len() < 2 {
        return None;
    }
    measured.sort_by(|a, b| a.1.mean_ms.total_cmp(&b.1.mean_ms));
    let (fastest, best) = &measured[0];
    let mut out = format!("Summary (mean Init Duration)\n  {fastest} ran\n");
    for (name, s) in &measured[1..] {
        let ratio = s.mean_ms / best.mean_ms;
        let sigma = ratio * ((s.stddev_ms / s.mean_ms).powi(2) + (best.stddev_ms / best.mean_ms).powi(2)).sqrt();
        let _ = writeln!(
            out,
            "    {ratio:.2} ± {sigma:.2} times faster than {name}  (difference {} in means)",
            format_ms(s.mean_ms - best.mean_ms)
        );
    }
    Some(out)
}
