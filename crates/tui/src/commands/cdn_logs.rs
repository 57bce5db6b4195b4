//! `coldfront cdn simulate --format cloudfront` and `coldfront cdn fit`: CloudFront's own
//! logs replayed against the current and the proposed policy, and fitted into a model
//! file. A thin front end over `cdn_design::logs`; the flags live in `cdn.rs`.

use std::path::PathBuf;

use anyhow::Context;
use cdn_design::Model;
use cdn_design::logs::{
    Behaviors, Distribution, Fitter, HitRow, LogOptions, LogSet, LogStream, Replay, Replayer, load_distribution,
};

use super::cdn::{DistributionArgs, FitArgs, FromRunArgs, LogArgs, ModelArgs, load_model};
use crate::exit;
use crate::output::outln;

/// Edge locations listed in the text output; `--json` has them all.
const EDGES_SHOWN: usize = 15;

fn no_run() -> FromRunArgs {
    FromRunArgs {
        from_run: None,
        from_function: None,
    }
}

fn options(fields: Option<&Vec<String>>) -> LogOptions {
    LogOptions {
        realtime_fields: fields.map(|f| f.iter().map(|s| s.trim().to_owned()).collect()),
    }
}

/// `--sampling-rate` applies to real-time logs only: standard logs hold every request.
fn check_sampling(sampling_rate: Option<u8>, logs: &LogSet) -> anyhow::Result<()> {
    if let Some(pct) = sampling_rate
        && logs.files_by_kind.0 > 0
    {
        anyhow::bail!(
            "--sampling-rate {pct}: {} of the files are standard logs, which log every request; the rate applies to real-time logs only (leave it out, or read the real-time logs alone)",
            logs.files_by_kind.0
        );
    }
    Ok(())
}

/// The distribution named by `--distribution`, if any.
fn load(args: &DistributionArgs) -> anyhow::Result<Option<Distribution>> {
    args.distribution
        .as_ref()
        .map(|path| load_distribution(path, &args.cache_policy))
        .transpose()
        .map_err(Into::into)
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn points(error: Option<f64>) -> String {
    // Rounded first, so a tiny negative error does not print as "-0.0".
    error.map_or_else(
        || "-".to_owned(),
        |e| format!("{:+.1} pp", (e * 1000.0).round() / 10.0 + 0.0),
    )
}

/// A behaviour's TTL, with its stale-while-revalidate window as `+W`.
fn ttl(row: &HitRow) -> String {
    let (ttl_s, swr_s) = (row.ttl_s.unwrap_or(0.0), row.swr_s.unwrap_or(0.0));
    let swr = if swr_s > 0.0 {
        format!("+{swr_s:.0}")
    } else {
        String::new()
    };
    if ttl_s <= 0.0 {
        "not cached".to_owned()
    } else if ttl_s >= 86_400.0 {
        format!("{:.0}{swr} d", ttl_s / 86_400.0)
    } else {
        format!("{ttl_s:.0}{swr} s")
    }
}

fn policy_name(model: &Model) -> String {
    format!(
        "page TTL {} s, SWR {} s, {}",
        model.cache.page_ttl_s, model.cache.stale_while_revalidate_s, model.cache.invalidation
    )
}

/// The analytic model's page HTML hit ratio for a model's own workload (no logs).
fn workload_page_hit_ratio(model: &Model) -> f64 {
    cdn_design::evaluate(model)
        .classes
        .iter()
        .find(|c| c.class == cdn_design::ObjectClass::PageHtml)
        .map_or(0.0, |c| c.hit_ratio)
}

pub(crate) async fn simulate(
    model_args: &ModelArgs,
    log_args: &LogArgs,
    paths: Vec<PathBuf>,
    json: bool,
) -> anyhow::Result<u8> {
    let proposed = load_model(model_args, &no_run())?;
    let mut current = load_model(&model_args.without_design_flags(), &no_run())?;
    if let Some(t) = log_args.current_ttl {
        current.cache.page_ttl_s = t;
    }
    if let Some(w) = log_args.current_swr {
        current.cache.stale_while_revalidate_s = w;
    }
    current.validate().context("--current-ttl/--current-swr")?;
    // The small inputs first, so a mistake in them shows before the logs are read.
    let distribution = load(&log_args.distribution)?;
    let behaviors_for = |model: &Model| match &distribution {
        Some(d) => Behaviors::from_distribution(d, &cdn_design::recommend(model)),
        None => Behaviors::from_model(model),
    };
    let current_behaviors = behaviors_for(&current);
    let proposed_behaviors = behaviors_for(&proposed);
    let same = current_behaviors == proposed_behaviors;
    let mut notes = Vec::new();
    for (which, model) in [("current", &current), ("proposed", &proposed)] {
        if model.cache.invalidation != cdn_design::Invalidation::TtlOnly {
            notes.push(format!(
                "the {which} policy's {} is replayed as its TTL alone: the logs do not say which page a write changed, so no copy is dropped early and its hit ratio is an upper bound",
                model.cache.invalidation
            ));
        }
    }
    let sampling_rate = log_args.sampling_rate;
    let options = options(log_args.fields.as_ref());
    // One pass over the logs, streamed on a blocking thread, feeds both policies' replays.
    let (logs, now, next) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let pct = sampling_rate.unwrap_or(100);
        let mut stream = LogStream::open(&paths, &options)?;
        let mut now = Replayer::new(&current_behaviors).sampled(pct)?;
        let mut next = if same {
            None
        } else {
            Some(Replayer::new(&proposed_behaviors).sampled(pct)?)
        };
        while let Some(request) = stream.next_request()? {
            let view = stream.view(&request);
            now.push(&request, &view, || stream.location(&request))?;
            if let Some(next) = next.as_mut() {
                next.push(&request, &view, || stream.location(&request))?;
            }
        }
        let logs = stream.finish()?;
        check_sampling(sampling_rate, &logs)?;
        let now = now.finish(&logs)?;
        let next = next.map(|n| n.finish(&logs)).transpose()?;
        Ok((logs, now, next))
    })
    .await
    .context("the log reader thread failed")??;
    let behaviors_from = log_args.distribution.distribution.as_ref().map_or_else(
        || "coldfront's recommended behaviours".to_owned(),
        |p| format!("the behaviours of {}", p.display()),
    );
    let summary = serde_json::json!({
        "behaviors_from": behaviors_from,
        "files": logs.files,
        "standard_files": logs.files_by_kind.0,
        "realtime_files": logs.files_by_kind.1,
        "requests": logs.request_count,
        "sampling_rate_pct": now.sampling_rate_pct,
        "estimated_requests": now.estimated_requests,
        "edge_locations": logs.edges.len(),
        "span_s": logs.span_s(),
        "skipped_lines": logs.skipped_lines,
    });
    if json {
        let json = serde_json::json!({
            "logs": summary,
            "notes": notes,
            "current": {
                "policy": policy_name(&current),
                "replay": now,
                "workload_model_page_hit_ratio": workload_page_hit_ratio(&current),
            },
            "proposed": {
                "policy": policy_name(&proposed),
                "same_as_current": same,
                "replay": next.as_ref().unwrap_or(&now),
                "workload_model_page_hit_ratio": workload_page_hit_ratio(&proposed),
            },
        });
        outln!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(exit::OK);
    }
    let sample = if now.sampling_rate_pct < 100 {
        format!(
            " (a {} % sample: about {} requests)",
            now.sampling_rate_pct,
            cdn_design::thousands(now.estimated_requests as f64)
        )
    } else {
        String::new()
    };
    outln!(
        "CloudFront logs: {} file(s) ({} standard, {} real-time), {} requests{sample} over {:.1} h at {} edge location(s); {} left out (errors, redirects, refusals)",
        logs.files.len(),
        logs.files_by_kind.0,
        logs.files_by_kind.1,
        cdn_design::thousands(logs.request_count as f64),
        logs.span_s() / 3600.0,
        logs.edges.len(),
        cdn_design::thousands(now.excluded as f64)
    );
    outln!(
        "\nCurrent policy ({}; {behaviors_from}): hit ratio CloudFront achieved beside the predictions",
        policy_name(&current)
    );
    print_rows(&now, true);
    let workload_now = workload_page_hit_ratio(&current);
    match &next {
        None => outln!(
            "\nProposed policy: the same as the current one (set --ttl, --swr or --strategy, or --current-ttl, to compare)"
        ),
        Some(next) => {
            outln!(
                "\nProposed policy ({}): predicted on the same requests",
                policy_name(&proposed)
            );
            print_rows(next, false);
        }
    }
    outln!(
        "\nWorkload model of {} (analytic, no logs): page HTML hit ratio {} current, {} proposed",
        current.name,
        pct(workload_now),
        pct(workload_page_hit_ratio(&proposed))
    );
    if !now.caveats.is_empty() || !notes.is_empty() {
        outln!("\nNot seen in the logs:");
        for caveat in now.caveats.iter().chain(&notes) {
            outln!("  - {caveat}");
        }
    }
    Ok(exit::OK)
}

fn print_rows(result: &Replay, with_actual: bool) {
    if with_actual {
        outln!(
            "  {:<18} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10} {:>10}",
            "behaviour",
            "TTL",
            "requests",
            "actual",
            "simulated",
            "error",
            "model",
            "error"
        );
    } else {
        outln!(
            "  {:<18} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10} {:>10}",
            "behaviour",
            "TTL",
            "requests",
            "actual now",
            "simulated",
            "change",
            "model",
            "change"
        );
    }
    let line = |label: &str, ttl_text: String, row: &HitRow| {
        if row.requests == 0 {
            outln!("  {label:<18} {ttl_text:>10} {:>10}", 0);
            return;
        }
        outln!(
            "  {:<18} {:>10} {:>10} {:>10} {:>9} {:>10} {:>10} {:>10}",
            label,
            ttl_text,
            cdn_design::thousands(row.requests as f64),
            row.actual_hit_ratio.map_or_else(|| "-".to_owned(), pct),
            pct(row.simulated_hit_ratio),
            points(row.simulated_error),
            pct(row.model_hit_ratio),
            points(row.model_error)
        );
    };
    for row in &result.behaviors {
        line(&row.label, ttl(row), row);
    }
    line("all", String::new(), &result.overall);
    outln!("  per edge location:");
    for row in result.edges.iter().take(EDGES_SHOWN) {
        line(&format!("  {}", row.label), String::new(), row);
    }
    if result.edges.len() > EDGES_SHOWN {
        outln!(
            "    ... {} more edge locations (--json lists them all)",
            result.edges.len() - EDGES_SHOWN
        );
    }
}

pub(crate) async fn fit(args: FitArgs) -> anyhow::Result<u8> {
    let base = Model::preset(&args.preset)?;
    let behaviors = match load(&args.distribution)? {
        Some(d) => Behaviors::from_distribution(&d, &cdn_design::recommend(&base)),
        None => Behaviors::from_model(&base),
    };
    let (paths, options, sampling_rate) = (args.trace.clone(), options(args.fields.as_ref()), args.sampling_rate);
    let fit_base = base.clone();
    let (logs, fitted) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut stream = LogStream::open(&paths, &options)?;
        let mut fitter = Fitter::new(&behaviors).sampled(sampling_rate.unwrap_or(100))?;
        while let Some(request) = stream.next_request()? {
            fitter.push(&request, &stream.view(&request));
        }
        let logs = stream.finish()?;
        check_sampling(sampling_rate, &logs)?;
        let fitted = fitter.finish(&logs, &fit_base)?;
        Ok((logs, fitted))
    })
    .await
    .context("the log reader thread failed")??;
    let sources = if logs.files.len() == 1 {
        logs.files[0].display().to_string()
    } else {
        format!("{} log files under {}", logs.files.len(), args.trace[0].display())
    };
    let text = fitted.to_toml(&sources);
    // The file must load as a model: a fit that does not is a bug, not the user's problem.
    Model::from_toml_str(&text, "the fitted model").context("the fitted model does not load")?;
    if let Some(out) = &args.out {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            super::check_out_dir(dir, "--out")?;
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(out, &text).with_context(|| format!("cannot write {}", out.display()))?;
    }
    if args.json {
        let json = serde_json::json!({ "fit": fitted, "toml": text, "out": args.out });
        outln!("{}", serde_json::to_string_pretty(&json)?);
    } else if let Some(out) = &args.out {
        let sample = if fitted.sampling_rate_pct < 100 {
            format!(
                " (a {} % sample of about {})",
                fitted.sampling_rate_pct,
                cdn_design::thousands(fitted.estimated_requests as f64)
            )
        } else {
            String::new()
        };
        outln!(
            "{} requests{sample}, {} wiki(s), {} edge location(s): page Zipf exponent {}, {:.0} page reads/day, {:.1} writes/day",
            cdn_design::thousands(fitted.requests as f64),
            fitted.workload.wikis,
            fitted.edge_shares.len(),
            fitted
                .page_zipf_exponent
                .map_or_else(|| "- (fewer than two pages)".to_owned(), |s| format!("{s:.3}")),
            fitted.page_reads_per_day,
            fitted.writes_per_day
        );
        outln!(
            "wrote {} (use it with: coldfront cdn design --config {})",
            out.display(),
            out.display()
        );
    } else {
        crate::output::write(format_args!("{text}"));
    }
    Ok(exit::OK)
}
