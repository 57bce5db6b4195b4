//! The `Design/CDN_Caching` page: Markdown, the configuration JSON and the SVG charts,
//! as values a CLI or TUI writes wherever it likes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::analytic::{Evaluation, sweep_ttl};
use crate::auth::{AuthRow, default_row};
use crate::charts::{Chart, Series, ttl_chart};
use crate::cloudfront::recommend;
use crate::cost::invalidation_usd;
use crate::model::{AuthOption, Invalidation, Model};

/// The design page and its attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignPage {
    /// The Markdown page.
    pub markdown: String,
    /// The recommended configuration in CloudFront API shapes (pretty JSON).
    pub config_json: String,
    /// Charts the page links to by file name.
    pub charts: Vec<Chart>,
}

/// File name of the page.
pub const PAGE_FILE: &str = "CDN_Caching.md";
/// File name of the configuration JSON.
pub const CONFIG_FILE: &str = "CDN_Caching.config.json";

impl DesignPage {
    /// Writes the page, the JSON and the charts into `dir` (created if needed); returns
    /// the files written.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut written = Vec::new();
        let mut write = |name: &str, text: &str| -> std::io::Result<()> {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            written.push(path);
            Ok(())
        };
        write(PAGE_FILE, &self.markdown)?;
        write(CONFIG_FILE, &self.config_json)?;
        for chart in &self.charts {
            write(&chart.file_name, &chart.svg)?;
        }
        Ok(written)
    }
}

/// `1234567.8` → `1,234,568`.
pub fn thousands(value: f64) -> String {
    let rounded = value.round();
    let digits = format!("{:.0}", rounded.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if rounded < 0.0 { format!("-{out}") } else { out }
}

/// `$1,234.56`.
pub fn usd(value: f64) -> String {
    let cents = (value * 100.0).round() / 100.0;
    format!(
        "${}.{:02}",
        thousands(cents.trunc()),
        ((cents.fract()) * 100.0).round().abs() as u64
    )
}

fn pct(x: f64) -> String {
    if x > 0.0 && x < 0.001 {
        format!("{:.3} %", x * 100.0)
    } else {
        format!("{:.1} %", x * 100.0)
    }
}

fn duration(s: f64) -> String {
    if s >= 86_400.0 * 2.0 {
        format!("{:.0} days", s / 86_400.0)
    } else if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{s:.0} s")
    }
}

const TTLS_S: [f64; 19] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14_400.0, 21_600.0,
    43_200.0, 64_800.0, 86_400.0,
];

fn charts(model: &Model) -> Vec<Chart> {
    let mut ttl_only = model.clone();
    ttl_only.cache.invalidation = Invalidation::TtlOnly;
    let mut on_write = model.clone();
    let paths = match model.cache.invalidation {
        Invalidation::OnWrite { paths_per_write } => paths_per_write,
        _ => 1,
    };
    on_write.cache.invalidation = Invalidation::OnWrite { paths_per_write: paths };
    let a = sweep_ttl(&ttl_only, &TTLS_S);
    let b = sweep_ttl(&on_write, &TTLS_S);
    let series = |name: &str, points: &[(f64, f64, f64)], pick: fn(&(f64, f64, f64)) -> f64| Series {
        name: name.to_owned(),
        points: points.iter().map(|p| (p.0, pick(p))).collect(),
    };
    let hit = ttl_chart(
        "Page hit ratio against TTL",
        "page reads not waiting for the origin",
        1.0,
        true,
        &[
            series("TTL only", &a, |p| p.1),
            series("invalidate on write", &b, |p| p.1),
        ],
        Some(model.cache.page_ttl_s),
    );
    let stale_max = a.iter().map(|p| p.2).fold(0.0, f64::max).max(0.001);
    let y_max = (stale_max * 1.1 * 100.0).ceil() / 100.0;
    let stale = ttl_chart(
        "Stale page reads against TTL",
        "reads older than the latest write",
        y_max,
        true,
        &[
            series("TTL only", &a, |p| p.2),
            series("invalidate on write", &b, |p| p.2),
        ],
        Some(model.cache.page_ttl_s),
    );
    vec![
        Chart {
            file_name: "CDN_Caching.hit_ratio_vs_ttl.svg".to_owned(),
            title: "Page hit ratio against TTL".to_owned(),
            svg: hit,
        },
        Chart {
            file_name: "CDN_Caching.staleness_vs_ttl.svg".to_owned(),
            title: "Stale page reads against TTL".to_owned(),
            svg: stale,
        },
    ]
}

/// Renders the design page. `auth_rows` is edge-auth's comparison when available;
/// without it the built-in figures are shown and labelled as assumptions.
pub fn design_page(model: &Model, evaluation: &Evaluation, auth_rows: Option<&[AuthRow]>) -> DesignPage {
    let rec = recommend(model);
    let charts = charts(model);
    let chosen = &evaluation.chosen;
    let w = &model.workload;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "---\ncategory: design\ntags: [cdn, caching, cloudfront]\nconfidence: medium\n---\n\n# CDN Caching\n"
    );
    let _ = writeln!(
        md,
        "Generated by `coldfront cdn design` from {} (prices as of {}, {}). Every figure below is computed from the inputs table; \
         inputs marked ASSUMED are defaults nobody has measured — change them in a model file and run the command again.\n",
        model.name, model.prices.as_of, model.prices.source
    );

    // Summary.
    let none = &evaluation.strategies[0];
    let _ = writeln!(md, "## Summary\n");
    let _ = writeln!(
        md,
        "- **Strategy:** {} on page HTML with a {} TTL{}; content-hashed static assets cached for a year; MCP (POST), API and the wiki's dynamic routes uncached.",
        chosen.name,
        duration(model.cache.page_ttl_s),
        if model.cache.stale_while_revalidate_s > 0.0 {
            format!(
                " and {} of stale-while-revalidate",
                duration(model.cache.stale_while_revalidate_s)
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        md,
        "- **Estimated page hit ratio for this workload: {}** ({} at the edge locations; {} of all CloudFront requests). \
         The origin then serves {:.3} requests/s instead of {:.3}.",
        pct(chosen.page_hit_ratio),
        pct(evaluation.classes[0].edge_hit_ratio),
        pct(chosen.overall_hit_ratio),
        chosen.origin_requests_per_s,
        none.origin_requests_per_s
    );
    let _ = writeln!(
        md,
        "- **Page latency:** p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms (today, uncached: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms). \
         Fewer origin requests also means more of them meet a cold start: {} now, {} today.",
        chosen.latency.p50_ms,
        chosen.latency.p90_ms,
        chosen.latency.p99_ms,
        none.latency.p50_ms,
        none.latency.p90_ms,
        none.latency.p99_ms,
        pct(chosen.latency.origin_cold_start_probability),
        pct(none.latency.origin_cold_start_probability),
    );
    let _ = writeln!(
        md,
        "- **Freshness:** {} of page reads return content older than the latest write; the worst case is {}.",
        pct(chosen.stale_read_probability),
        duration(chosen.worst_case_staleness_s)
    );
    if chosen.page_hit_ratio < 0.5 {
        let best = evaluation
            .strategies
            .iter()
            .max_by(|a, b| a.page_hit_ratio.total_cmp(&b.page_hit_ratio))
            .expect("four strategies");
        let reads_per_page_per_s = model.page_views_per_s() / model.pages().max(1) as f64;
        let _ = writeln!(
            md,
            "- **A short TTL alone does little here.** The average page is read every {} across the whole \
             distribution, and each of the {} edge locations sees only its share, so most pages are read less than once per \
             TTL where they are cached. The best strategy here, {}, reaches {} because a page stays cached until it changes.",
            duration(1.0 / reads_per_page_per_s.max(1e-12)),
            w.edge_locations,
            best.name,
            pct(best.page_hit_ratio)
        );
    }
    let _ = writeln!(
        md,
        "- **Cost:** {} per month (the table below shows every line).\n",
        usd(chosen.cost.total_usd_per_month)
    );

    // Invalidation cost correction.
    let writes_per_month = model.writes_per_s() * 86_400.0 * w.days_per_month;
    let p = &model.prices;
    // The seed's own inputs (1,000 wikis × 5 writes/day × 30 days, one path per write)
    // and the monthly figure it claimed for them.
    let (seed_wikis, seed_writes_per_day, seed_days, seed_claimed_usd) = (1_000.0, 5.0, 30.0, 220.0);
    let seed_paths = seed_wikis * seed_writes_per_day * seed_days;
    let seed_invalidation_usd = invalidation_usd(model, seed_paths);
    let _ = writeln!(md, "### The seed's invalidation cost does not follow from its inputs\n");
    let _ = writeln!(
        md,
        "The seed page says path-based invalidation at {seed_wikis} active wikis × {seed_writes_per_day} writes/day would cost **~${seed_claimed_usd}/month**. \
         Its own inputs give {seed_wikis} × {seed_writes_per_day} × {seed_days} days = {seed_paths} paths; after the {free} free paths that is \
         ({seed_paths} − {free}) × ${per_path} = **{seed}/month** (sources.md §Invalidation prices). For this model: {wikis} wikis × {writes} writes/day × {days} days = \
         {month} writes/month; at 1 path per write, invalidating on write would cost {this}/month. The conclusion stands — \
         don't invalidate on every write — but the figure was wrong by {ratio:.1}×.\n",
        seed_wikis = thousands(seed_wikis),
        seed_days = seed_days,
        seed_paths = thousands(seed_paths),
        free = thousands(p.invalidation_free_paths_per_month),
        per_path = p.invalidation_usd_per_path,
        seed = usd(seed_invalidation_usd),
        wikis = thousands(w.wikis as f64),
        writes = w.writes_per_wiki_per_day,
        days = w.days_per_month,
        month = thousands(writes_per_month),
        this = usd(invalidation_usd(model, writes_per_month)),
        ratio = seed_invalidation_usd / seed_claimed_usd,
    );

    // Strategies.
    let _ = writeln!(md, "## Cache strategy\n");
    let _ = writeln!(
        md,
        "Each strategy with the same workload, TTL and auth option. Hit ratio = page reads that did not wait for the origin \
         (sources.md §Cache models: `λT/(1+λT)` per edge location for TTL only, `λm/(1+λm)` with `m = (1 − e^(−μT))/μ` when a write \
         removes the copy; each of the {} edge locations sees its share of every page's reads{}).\n",
        w.edge_locations,
        if w.regional_caches > 0 {
            format!(", and their misses go to {} regional edge caches", w.regional_caches)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        md,
        "| strategy | page hit ratio | origin req/s | stale reads | worst staleness | invalidation paths/month | p50 / p90 / p99 ms | cost/month |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for s in &evaluation.strategies {
        let _ = writeln!(
            md,
            "| {}{} | {} | {:.3} | {} | {} | {} | {:.0} / {:.0} / {:.0} | {} |",
            s.name,
            if s.strategy == chosen.strategy {
                " **(chosen)**"
            } else {
                ""
            },
            pct(s.page_hit_ratio),
            s.origin_requests_per_s,
            pct(s.stale_read_probability),
            duration(s.worst_case_staleness_s),
            thousands(s.invalidation_paths_per_month),
            s.latency.p50_ms,
            s.latency.p90_ms,
            s.latency.p99_ms,
            usd(s.cost.total_usd_per_month)
        );
    }
    let _ = writeln!(md, "\nPer object class (chosen strategy):\n");
    let _ = writeln!(
        md,
        "| class | requests/s | edge hit ratio | hit ratio | origin req/s | stale reads | GB/month out |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for c in &evaluation.classes {
        let _ = writeln!(
            md,
            "| {} | {:.3} | {} | {} | {:.3} | {} | {:.1} |",
            c.class,
            c.requests_per_s,
            pct(c.edge_hit_ratio),
            pct(c.hit_ratio),
            c.origin_requests_per_s,
            pct(c.stale_read_probability),
            c.bytes_per_s * 86_400.0 * w.days_per_month / 1e9
        );
    }

    // TTL rationale.
    let _ = writeln!(md, "\n## TTL rationale\n");
    let _ = writeln!(
        md,
        "CloudFront fixes a copy's expiry when it fetches it; a hit does not extend it. So a page read λ times a second at \
         one edge location is fetched once per `T + 1/λ` seconds, and a longer TTL helps most the pages read less often than \
         once per TTL — which, with Zipf popularity, is most pages. Staleness grows with T: with TTL only, a read is stale with \
         probability `1 − (1 − e^(−μT))/(μT) ≈ μT/2` and at worst T old per cache tier. Stale-while-revalidate (window W) \
         turns the synchronous miss ratio into `e^(−λW)/(1+λT)` without more origin requests.\n"
    );
    for chart in &charts {
        let _ = writeln!(md, "![{}]({})\n", chart.title, chart.file_name);
    }

    // Auth.
    let _ = writeln!(md, "## Auth approach for private wikis\n");
    let rows: Vec<AuthRow> = auth_rows.map_or_else(
        || AuthOption::ALL.iter().map(|o| default_row(model, *o)).collect(),
        <[AuthRow]>::to_vec,
    );
    let _ = writeln!(
        md,
        "{}\n\n| option | latency per request | per million requests | capabilities | source |\n|---|---:|---:|---|---|",
        if auth_rows.is_some() {
            "Figures from edge-auth's comparison."
        } else {
            "Built-in figures (edge-auth's measured comparison was not given; measure it with `--measure-auth` or pass it with `--auth-rows FILE`)."
        }
    );
    for r in &rows {
        let _ = writeln!(
            md,
            "| {}{} | {:.2} ms | ${:.3} | {} | {} |",
            r.option,
            if r.option == model.cache.auth.name() {
                " **(chosen)**"
            } else {
                ""
            },
            r.latency_ms,
            r.usd_per_million_requests,
            r.capabilities,
            r.provenance
        );
    }
    let _ = writeln!(
        md,
        "\nThe cache key holds no cookies, so every authorised reader of a wiki shares its cached pages; the edge function \
         (or CloudFront's signed-cookie check) runs before the cache answers, so a cached private page is never served \
         without a valid token. Pages must therefore not contain per-user content: render the user menu client-side. \
         Chosen: **{}** on {} of page views.\n",
        model.cache.auth,
        pct(w.share_private)
    );

    // Cost.
    let _ = writeln!(md, "## Cost model (chosen strategy, per month)\n");
    let _ = writeln!(md, "| item | quantity | cost | arithmetic |\n|---|---:|---:|---|");
    for line in &chosen.cost.lines {
        let _ = writeln!(
            md,
            "| {} | {} {} | {} | {} |",
            line.item,
            thousands(line.quantity),
            line.unit,
            usd(line.usd_per_month),
            line.arithmetic
        );
    }
    let _ = writeln!(md, "| **total** | | **{}** | |", usd(chosen.cost.total_usd_per_month));
    let _ = writeln!(
        md,
        "\nFlat-rate plans (since 2025-11-18) against the pay-as-you-go CloudFront lines (requests and data out: {} for \
         {} requests, {:.1} GB):\n",
        usd(chosen.cost.cloudfront_usage_usd_per_month),
        thousands(chosen.cost.cloudfront_requests_per_month),
        chosen.cost.gb_out_per_month
    );
    let _ = writeln!(md, "| plan | per month | fits this traffic |\n|---|---:|---|");
    for plan in &chosen.cost.flat_rate {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            plan.plan,
            usd(plan.usd_per_month),
            if plan.fits { "yes" } else { "no" }
        );
    }
    let _ = writeln!(
        md,
        "\nWhat a flat-rate plan includes beyond requests and transfer (functions, invalidations) is not in sources.md §CloudFront flat-rate plans; \
         check before switching. Lambda's free tier and S3 costs for the assets are left out.\n"
    );

    // Configuration.
    let _ = writeln!(md, "## Cache behaviour configuration\n");
    let _ = writeln!(
        md,
        "Ordered behaviours (first match wins; sources.md §CloudFront cache configuration). The full CachePolicyConfig and CacheBehavior JSON is in \
         [{CONFIG_FILE}]({CONFIG_FILE}); create `coldfront-wiki-pages` with `aws cloudfront create-cache-policy` and put its id in.\n"
    );
    let _ = writeln!(
        md,
        "| # | path pattern | origin | methods (cached) | cache policy | edge function |\n|---|---|---|---|---|---|"
    );
    let policies = rec.policies_by_id();
    for (i, b) in rec
        .cache_behaviors
        .items
        .iter()
        .chain(std::iter::once(&rec.default_cache_behavior))
        .enumerate()
    {
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} ({}) | {} | {} |",
            if b.path_pattern.is_some() {
                (i + 1).to_string()
            } else {
                "default".to_owned()
            },
            b.pattern(),
            b.target_origin_id,
            b.allowed_methods.items.join(","),
            b.allowed_methods.cached_methods.items.join(","),
            policies.get(&b.cache_policy_id).map_or("?", |p| p.name.as_str()),
            if b.function_associations.items.is_empty() {
                "—"
            } else {
                "viewer-request"
            }
        );
    }
    let _ = writeln!(
        md,
        "\n`Cache-Control` the origin must send:\n\n| route | example | header | TTL at CloudFront | why |\n|---|---|---|---:|---|"
    );
    for r in &rec.cache_control {
        let _ = writeln!(
            md,
            "| `{}` | {} {} | `{}` | {} | {} |",
            r.path_pattern,
            r.method,
            r.example_path,
            r.cache_control,
            duration(r.effective_ttl_s as f64),
            r.why
        );
    }
    let _ = writeln!(
        md,
        "\nThe page policy has DefaultTTL 0: a page is cached only when the origin sends `s-maxage`, so a dynamic page \
         that forgets its header is never shared. `s-maxage` beats `max-age` at CloudFront and is clamped to [MinTTL, \
         MaxTTL]; `Host` is in the cache key because one distribution serves every wiki's subdomain. {}\n",
        if rec.findings.is_empty() {
            "The configuration passes coldfront's checks of CloudFront's rules (POST never cached, TTL clamps, ≤ 75 behaviours, no shadowed patterns).".to_owned()
        } else {
            format!("Checks found: {:?}", rec.findings)
        }
    );

    // Origin.
    let _ = writeln!(md, "## Origin and cold starts\n");
    let _ = writeln!(
        md,
        "Origin latencies: {} (warm mean {:.0} ms over {} sample(s), cold mean {:.0} ms over {}). Idle environments are \
         assumed to live {} after their last request (Lambda does not document it). Page views today: {} edge, {} warm \
         origin, {} cold origin; with the chosen strategy: {} edge, {} regional, {} warm origin, {} cold origin.\n",
        model.latency.source,
        crate::model::LatencyInputs::mean(&model.latency.warm_ms),
        model.latency.warm_ms.len(),
        crate::model::LatencyInputs::mean(&model.latency.cold_ms),
        model.latency.cold_ms.len(),
        duration(model.origin.idle_timeout_s),
        pct(none.latency.edge_share),
        pct(none.latency.warm_origin_share),
        pct(none.latency.cold_origin_share),
        pct(chosen.latency.edge_share),
        pct(chosen.latency.regional_share),
        pct(chosen.latency.warm_origin_share),
        pct(chosen.latency.cold_origin_share),
    );

    // Inputs.
    let _ = writeln!(md, "## Inputs\n\n| input | value | unit | source |\n|---|---:|---|---|");
    for input in model.inputs() {
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} |",
            input.key,
            if input.value.fract() == 0.0 && input.value.abs() >= 1000.0 {
                thousands(input.value)
            } else {
                format!("{}", input.value)
            },
            input.unit,
            input.source
        );
    }
    let _ = writeln!(
        md,
        "| `workload.diurnal_profile` | {:?} | relative | ASSUMED: a working-day curve |\n| `cache.invalidation` | {} | | {} |\n| `cache.auth` | {} | | ASSUMED: HS256 is the documented fallback (sources.md §CloudFront Functions crypto) |\n",
        w.diurnal_profile,
        model.cache.invalidation.name(),
        if model.cache.invalidation == Invalidation::TtlOnly {
            "seed: no invalidation under normal operation (E-2)"
        } else {
            "set"
        },
        model.cache.auth.name()
    );
    let _ = writeln!(md, "## Limits of this model\n");
    let _ = writeln!(
        md,
        "- Reads and writes are Poisson per page, writes follow the same popularity as reads, and traffic is spread evenly \
         over the edge locations; real wikis are burstier and regional.\n\
         - CloudFront may evict before expiry (sources.md §CloudFront edge network), so long-TTL hit ratios (static assets, versioned URLs) are upper bounds.\n\
         - The regional tier is approximated by treating each edge's misses as Poisson; a copy from the regional tier is \
         taken to get a full TTL at the edge, which doubles the worst-case staleness.\n\
         - Invalidation and KeyValueStore propagation times are assumptions; `coldfront cdn simulate` checks the hit \
         ratio and staleness on a generated or real trace.\n"
    );
    DesignPage {
        markdown: md,
        config_json: rec.to_json() + "\n",
        charts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_counts_format_for_people() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(usd(745.0), "$745.00");
        assert_eq!(usd(1234.5), "$1,234.50");
        assert_eq!(usd(0.004), "$0.00");
    }
}
