//! The export key: the same Markdown and JSON as the headless commands, into one
//! directory — the benchmark page from this session's samples (`coldfront report`), the
//! CDN design page from the cache view's model (`coldfront cdn design`) and the edge-auth
//! comparison (`coldfront auth compare --json`).

use std::path::Path;

use anyhow::Context as _;
use init_trace::report::Environment;
use init_trace::report::summary::RunSummary;
use init_trace::sample::read_samples;

/// What the cache view contributes.
pub(crate) struct CacheExport {
    pub model: cdn_design::Model,
}

/// What the edge-auth view contributes.
pub(crate) struct EdgeExport {
    pub rows: Vec<cdn_design::AuthRow>,
    pub comparison_json: String,
}

/// Writes everything available; returns what was written, relative to `dir`.
pub(crate) fn export(
    dir: &Path,
    samples: &Path,
    cache: Option<CacheExport>,
    edge: Option<EdgeExport>,
) -> anyhow::Result<Vec<String>> {
    crate::commands::check_out_dir(dir, "the export directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    if samples.is_file() {
        let loaded = read_samples(samples)?;
        if !loaded.samples.is_empty() {
            let benchmark = dir.join("benchmark");
            std::fs::create_dir_all(&benchmark).with_context(|| format!("cannot create {}", benchmark.display()))?;
            std::fs::copy(samples, benchmark.join("samples.jsonl")).context("cannot copy the samples")?;
            let mut summary = RunSummary::from_samples(&loaded.samples, loaded.truncated_tail);
            summary.environment = Some(Environment::detect());
            crate::commands::trace::write_reports(&benchmark, &loaded.samples, &summary)?;
            written.push("benchmark/report.md".to_owned());
        }
    }
    let edge_rows = edge.as_ref().map(|e| e.rows.clone());
    if let Some(edge) = &edge {
        std::fs::write(dir.join("edge-auth-comparison.json"), &edge.comparison_json)
            .context("cannot write the edge-auth comparison")?;
        written.push("edge-auth-comparison.json".to_owned());
    }
    let model = match cache {
        Some(cache) => cache.model,
        None => cdn_design::Model::preset("typical")?,
    };
    let evaluation = cdn_design::evaluate(&model);
    let page = cdn_design::design_page(&model, &evaluation, edge_rows.as_deref());
    let design = dir.join("design");
    page.write_to(&design)
        .with_context(|| format!("cannot write the design page to {}", design.display()))?;
    std::fs::write(
        design.join("evaluation.json"),
        serde_json::to_string_pretty(&evaluation)? + "\n",
    )?;
    written.push(format!("design/{}", cdn_design::PAGE_FILE));
    Ok(written)
}
