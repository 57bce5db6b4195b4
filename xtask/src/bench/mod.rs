//! `cargo xtask bench`: every benchmark, one results file.

mod auth;
mod cdn;
mod emulator;
mod ui;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;

/// Command-line options.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub quick: bool,
    pub out: Option<PathBuf>,
}

/// One measured figure with its target.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measure {
    pub value: f64,
    pub unit: &'static str,
    /// `"<= 1.05"`, `">= 0.9"`, or `null` for figures reported for information.
    pub target: Option<String>,
    /// Whether the target was met; `null` without a target.
    pub pass: Option<bool>,
}

impl Measure {
    pub(crate) fn at_most(value: f64, unit: &'static str, limit: f64) -> Self {
        Self {
            value,
            unit,
            target: Some(format!("<= {limit}")),
            pass: Some(value <= limit),
        }
    }

    pub(crate) fn at_least(value: f64, unit: &'static str, limit: f64) -> Self {
        Self {
            value,
            unit,
            target: Some(format!(">= {limit}")),
            pass: Some(value >= limit),
        }
    }

    pub(crate) fn info(value: f64, unit: &'static str) -> Self {
        Self {
            value,
            unit,
            target: None,
            pass: None,
        }
    }
}

#[derive(Debug, Serialize)]
struct Results {
    /// The machine, as the benchmark pages record it (init-trace's `Environment`).
    host: init_trace::report::Environment,
    git_revision: String,
    timestamp: String,
    quick: bool,
    measures: BTreeMap<String, Measure>,
    /// Details behind the measures (sample counts, medians), for people reading the file.
    details: BTreeMap<String, serde_json::Value>,
}

fn git_revision() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let revision = run(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty { format!("{revision}-dirty") } else { revision }
}

pub(crate) fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Runs every benchmark; `Ok(false)` when a target was missed.
pub(crate) fn run(options: &Options) -> anyhow::Result<bool> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: xtask was built without optimisations; the emulator's own overhead is overstated (use `cargo xtask`, which builds --release)"
        );
    }
    let mut measures = BTreeMap::new();
    let mut details = BTreeMap::new();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(emulator::run(options, &mut measures, &mut details))?;
    cdn::run(options, &mut measures, &mut details)?;
    auth::run(options, &mut measures, &mut details)?;
    ui::run(options, &mut measures, &mut details)?;

    let results = Results {
        host: init_trace::report::Environment::detect(),
        git_revision: git_revision(),
        timestamp: chrono::Utc::now().to_rfc3339(),
        quick: options.quick,
        measures,
        details,
    };
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| workspace_root().join("target/bench/results.json"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("cannot write {}", out.display()))?;

    println!(
        "\n{:<44} {:>12} {:<8} {:>10}  result",
        "measure", "value", "unit", "target"
    );
    let mut all_pass = true;
    for (name, m) in &results.measures {
        let verdict = match m.pass {
            Some(true) => "pass",
            Some(false) => {
                all_pass = false;
                "MISS"
            }
            None => "info",
        };
        println!(
            "{name:<44} {:>12.3} {:<8} {:>10}  {verdict}",
            m.value,
            m.unit,
            m.target.as_deref().unwrap_or("-")
        );
    }
    println!("\nwritten to {}", out.display());
    Ok(all_pass)
}
