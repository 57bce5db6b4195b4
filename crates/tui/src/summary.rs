//! Summaries of cold-start samples, printed like hyperfine and exported as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use init_trace::sample::{ColdStartSample, InitStatus, InvokeStatus, Throttling};
use init_trace::stats::{Summary, format_ms};
use serde::Serialize;

/// What a run measured for one function.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FunctionSummary {
    pub function: String,
    pub memory_mb: u32,
    pub runtime_program: String,
    pub interpreter_version: Option<String>,
    pub interpreter_base: Option<String>,
    pub cold_starts: usize,
    pub succeeded: usize,
    /// Count of each failure outcome (`init error: Runtime.ImportModuleError`, ...).
    pub failures: BTreeMap<String, usize>,
    /// Init Duration of the cold starts whose INIT succeeded.
    pub init: Option<Summary>,
    /// Duration of the first (cold) invoke.
    pub cold_invoke: Option<Summary>,
    /// Duration of the later (warm) invokes.
    pub warm_invoke: Option<Summary>,
    /// Largest Max Memory Used seen.
    pub max_memory_used_mb: Option<u64>,
    pub throttling: Throttling,
    pub cpu_cores: Option<f64>,
}

impl FunctionSummary {
    pub(crate) fn of(function: &str, samples: &[&ColdStartSample]) -> Self {
        let init: Vec<f64> = samples
            .iter()
            .filter(|s| s.init.status == InitStatus::Success)
            .filter_map(|s| s.init.duration_ms)
            .collect();
        let invoke_ms = |cold: bool| -> Vec<f64> {
            samples
                .iter()
                .flat_map(|s| s.invokes.iter())
                .filter(|i| i.cold == cold && i.status == InvokeStatus::Success)
                .map(|i| i.duration_ms)
                .collect()
        };
        let mut failures = BTreeMap::new();
        for s in samples.iter().filter(|s| !s.succeeded()) {
            *failures.entry(s.outcome()).or_insert(0) += 1;
        }
        let first = samples.first();
        Self {
            function: function.to_owned(),
            memory_mb: first.map_or(0, |s| s.memory_size_mb),
            runtime_program: first.map_or_else(String::new, |s| s.runtime.program.display().to_string()),
            interpreter_version: first.and_then(|s| s.runtime.interpreter_version.clone()),
            interpreter_base: first
                .and_then(|s| s.runtime.interpreter_base.as_ref())
                .map(|p| p.display().to_string()),
            cold_starts: samples.len(),
            succeeded: samples.iter().filter(|s| s.succeeded()).count(),
            failures,
            init: Summary::of(&init),
            cold_invoke: Summary::of(&invoke_ms(true)),
            warm_invoke: Summary::of(&invoke_ms(false)),
            max_memory_used_mb: samples
                .iter()
                .flat_map(|s| s.invokes.iter())
                .map(|i| i.max_memory_used_mb)
                .max(),
            throttling: first.map_or(Throttling::Disabled, |s| s.sandbox.throttling.clone()),
            cpu_cores: first.and_then(|s| s.sandbox.cgroup.as_ref()).map(|c| c.cpu_cores),
        }
    }

    /// The hyperfine-style text block.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let runtime = self
            .interpreter_version
            .as_ref()
            .map_or_else(|| self.runtime_program.clone(), |v| format!("python {v}"));
        let cpu = match (&self.throttling, self.cpu_cores) {
            (Throttling::Applied, Some(cores)) => format!("{cores:.2} vCPU"),
            (Throttling::Disabled, _) => "unthrottled (--no-throttle)".to_owned(),
            _ => "UNTHROTTLED: cgroups unavailable".to_owned(),
        };
        let _ = writeln!(out, "{}  ({runtime}, {} MB, {cpu})", self.function, self.memory_mb);
        match &self.interpreter_base {
            Some(base) => {
                let _ = writeln!(
                    out,
                    "  Runtime:                   {} (clean venv of {base})",
                    self.runtime_program
                );
            }
            None => {
                let _ = writeln!(out, "  Runtime:                   {}", self.runtime_program);
            }
        }
        match &self.init {
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
                    self.cold_starts
                );
            }
        }
        for (label, summary) in [("Cold invoke", &self.cold_invoke), ("Warm invoke", &self.warm_invoke)] {
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
        if let Some(mb) = self.max_memory_used_mb {
            let _ = writeln!(out, "  Max Memory Used:           {mb} MB");
        }
        if self.failures.is_empty() {
            let _ = writeln!(out, "  Failures:                  none");
        } else {
            let _ = writeln!(
                out,
                "  Failures:                  {} of {}",
                self.cold_starts - self.succeeded,
                self.cold_starts
            );
            for (outcome, count) in &self.failures {
                let _ = writeln!(out, "    {count} × {outcome}");
            }
        }
        out
    }
}

/// "A ran 1.23 ± 0.04 times faster than B", by mean Init Duration with error propagation
/// (as hyperfine computes it).
pub(crate) fn comparison(summaries: &[FunctionSummary]) -> Option<String> {
    let mut measured: Vec<(&str, &Summary)> = summaries
        .iter()
        .filter_map(|f| f.init.as_ref().map(|s| (f.function.as_str(), s)))
        .collect();
    if measured.len() < 2 {
        return None;
    }
    measured.sort_by(|a, b| a.1.mean_ms.total_cmp(&b.1.mean_ms));
    let (fastest, best) = measured[0];
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
