//! The TUI: frame render time with a million recorded samples at 200×60 (target ≤ 5 ms)
//! and peak memory of a 10,000-cold-start session (target ≤ 100 MB), measured by the
//! release binary's hidden `bench-ui` command in separate processes.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context, bail};

use super::{Measure, Options, workspace_root};

fn bench_ui(args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let binary = workspace_root().join("target/release/coldfront");
    let output = Command::new(&binary)
        .arg("bench-ui")
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    if !output.status.success() {
        bail!(
            "coldfront bench-ui {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

pub(crate) fn run(
    options: &Options,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    eprintln!("ui: building the release binary");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["build", "--release", "--quiet", "-p", "coldfront"])
        .current_dir(workspace_root())
        .status()?;
    if !status.success() {
        bail!("building coldfront failed");
    }
    let frames = if options.quick { "100" } else { "500" };
    let render = bench_ui(&[
        "--mode",
        "render",
        "--samples",
        "1000000",
        "--width",
        "200",
        "--height",
        "60",
        "--frames",
        frames,
    ])?;
    let memory = bench_ui(&["--mode", "memory", "--samples", "10000"])?;
    let frame_ms = render["frame_ms_mean"].as_f64().context("frame time")?;
    let peak_mb = memory["peak_rss_mb"].as_f64().context("peak RSS")?;
    measures.insert(
        "tui_frame_ms_200x60_1m_samples".to_owned(),
        Measure::at_most(frame_ms, "ms", 5.0),
    );
    measures.insert(
        "tui_peak_rss_mb_10k_cold_starts".to_owned(),
        Measure::at_most(peak_mb, "MB", 100.0),
    );
    details.insert("ui".to_owned(), serde_json::json!({"render": render, "memory": memory}));
    Ok(())
}
