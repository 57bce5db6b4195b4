//! `coldfront cdn`: the cache design page, costs, the trace-driven simulator and the audit
//! of a live distribution. A thin front end over the `cdn-design` crate.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use cdn_design::sim::{
    Capacity, CsvColumns, Eviction, Generator, SimConfig, SimReport, TraceFormat, open_trace, simulate,
};
use cdn_design::{AuthOption, AuthRow, Evaluation, Invalidation, LatencyInputs, Model, PriceTable, thousands, usd};
use clap::{Args, Subcommand, ValueEnum};

use crate::exit;
use crate::output::outln;

#[derive(Debug, Clone, Args)]
pub(crate) struct CdnArgs {
    #[command(subcommand)]
    command: CdnCommand,
}

#[derive(Debug, Clone, Subcommand)]
enum CdnCommand {
    /// Write the Design/CDN_Caching page, the CloudFront configuration JSON and the charts
    #[command(after_help = "\
Examples:
  coldfront cdn design                                  the typical wiki, into ./Design
  coldfront cdn design --preset seed --out wiki/Design  the seed's 1,000 wikis × 5 writes/day
  coldfront cdn design --config wiki.toml --from-run coldfront-runs/run-x.jsonl
  coldfront cdn design --strategy versioned-urls --swr 30 --json

Writes CDN_Caching.md, CDN_Caching.config.json (CachePolicyConfig and CacheBehaviors in
CloudFront API shapes) and two SVG charts. Exit codes: 0 written, 2 bad usage or input.")]
    Design(DesignArgs),
    /// Monthly cost of every strategy, line by line, with the flat-rate plans
    #[command(after_help = "\
Examples:
  coldfront cdn cost --preset seed
  coldfront cdn cost --preset seed --strategy on-write --paths-per-write 1   the $745/month case
  coldfront cdn cost --config wiki.toml --prices prices.toml --json")]
    Cost(CostArgs),
    /// Run a trace through CloudFront-like TTL caches (or plain LRU) and report hit ratio and staleness
    #[command(after_help = "\
Examples:
  coldfront cdn simulate --preset typical                 a seeded synthetic trace from the model
  coldfront cdn simulate --trace t.csv --ttl 60           csv time,obj_id,size
  coldfront cdn simulate --trace t.csv --time-column 2 --obj-column 1 --size-column 0 --header
  coldfront cdn simulate --trace t.oracleGeneral.bin --format oracle-general --policy lru --capacity 10000
  coldfront cdn simulate --trace t.oracleGeneral.bin --format oracle-general --policy fifo --capacity-bytes 1000000000
  coldfront cdn simulate --preset seed --edges 20 --threads 2 --strategy on-write --invalidation-delay 30
  coldfront cdn simulate --trace logs/ --format cloudfront --current-ttl 60 --ttl 300 --swr 30
  coldfront cdn simulate --trace E2EXAMPLE.2026-01-05-10.a1b2.gz more.gz --format cloudfront --json
  coldfront cdn simulate --trace logs/ --format cloudfront --distribution dist.json --cache-policy pages-policy.json
  coldfront cdn simulate --trace rt.txt --format cloudfront --fields timestamp,c-ip,sc-status,sc-bytes,cs-method,cs-host,cs-uri-stem,x-edge-location,x-edge-result-type
  coldfront cdn simulate --trace rt/ --format cloudfront --sampling-rate 10   a real-time log of 10 % of requests

A synthetic run also prints the analytic estimate for comparison. Ctrl-C stops early and
reports what was simulated.

--format cloudfront reads CloudFront standard access logs (the #Version/#Fields files
CloudFront writes to S3, gzip or not, and directories of them) and real-time logs (no
header; --fields gives the configured field list, default every documented field; a
real-time log samples 1-100 % of the requests, given with --sampling-rate). It
prints the hit ratio CloudFront achieved (Hit and RefreshHit over the requests that went
through the cache) beside what the simulator and the TTL formula predict for the current
policy, per behaviour, per edge location and overall, with the error; then the prediction
for the proposed policy (--ttl, --swr, --strategy, --config). The current policy is the
model file's or preset's page TTL and SWR, or --current-ttl and --current-swr. Behaviours
are coldfront's recommended ones (/mcp*, /api/*, /-/* uncached, /assets/* a year, pages
keyed on Host), or the distribution's own with --distribution and --cache-policy: each
then gets the TTL its policy gives the origin's Cache-Control at the model's page TTL.
The files are merged in time order as they are read, so months of logs take memory for
the cache keys, not the requests; a file out of time order by more than 4,096 records
is refused, naming its FILE:LINE.

Exit codes: 0 done, 2 bad usage or a bad trace or log (the error names FILE:LINE, or the
record, and the field at fault).")]
    Simulate(SimulateArgs),
    /// Derive a workload model from CloudFront logs, as a model file for `cdn design --config`
    #[command(after_help = "\
Examples:
  coldfront cdn fit --trace logs/ > wiki.toml           the model file on standard output
  coldfront cdn fit --trace logs/ --preset seed --out wiki.toml
  coldfront cdn fit --trace rt.txt --fields timestamp,cs-method,cs-host,cs-uri-stem,x-edge-location --json
  coldfront cdn fit --trace rt/ --sampling-rate 10 --out wiki.toml   rates scaled up from a 10 % sample
  coldfront cdn design --config wiki.toml               the design for the fitted workload

Fits the Zipf exponents of wikis (viewer Host headers) and pages, read and write rates
(a write is a POST, PUT, PATCH or DELETE), asset, API and MCP rates per page view, mean
response sizes, the diurnal profile (with a day or more of logs) and the edge locations'
request shares; everything else comes from --preset. Exit codes: 0 written, 2 bad usage
or a bad log (the error names FILE:LINE and the field).")]
    Fit(FitArgs),
    /// List where a live CloudFront distribution differs from the recommendation
    #[command(after_help = "\
Examples:
  coldfront cdn audit --distribution-id E2QWRUHAPOMQZL
  coldfront cdn audit --distribution-id E2QWRUHAPOMQZL --preset seed --json

Reads the distribution with GetDistributionConfig and its cache policies with
GetCachePolicyConfig, using the standard AWS credential chain (AWS_PROFILE, environment,
SSO, ...). Exit codes: 0 no differences, 1 differences found, 2 bad usage or an AWS error.")]
    Audit(AuditArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StrategyArg {
    /// Pages expire after their TTL
    TtlOnly,
    /// Invalidate paths on every write
    OnWrite,
    /// Revisioned content URLs behind a KeyValueStore pointer
    VersionedUrls,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AuthArg {
    SignedCookies,
    CloudfrontFunctionHs256,
    CloudfrontFunctionRs256,
    LambdaAtEdge,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ModelArgs {
    /// Preset: typical, seed (1,000 wikis × 5 writes/day) or large (100,000 wikis)
    #[arg(long, value_name = "NAME", conflicts_with = "config")]
    preset: Option<String>,
    /// Model file (TOML: `preset = "..."` and the tables `workload`, `cache`, `origin`, `latency`, `prices`)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Price table (TOML, any subset of fields) overriding the model's
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// Page TTL in seconds
    #[arg(long, value_name = "S")]
    ttl: Option<f64>,
    /// stale-while-revalidate window in seconds (0 = off)
    #[arg(long, value_name = "S")]
    swr: Option<f64>,
    /// Invalidation strategy
    #[arg(long, value_enum)]
    strategy: Option<StrategyArg>,
    /// Invalidation paths per write (with --strategy on-write)
    #[arg(long, value_name = "N")]
    paths_per_write: Option<u32>,
    /// Edge auth for private wikis
    #[arg(long, value_enum)]
    auth: Option<AuthArg>,
}

#[derive(Debug, Clone, Args)]
struct DesignArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Directory for the page, the JSON and the charts
    #[arg(long, value_name = "DIR", default_value = "Design")]
    out: PathBuf,
    #[command(flatten)]
    from: FromRunArgs,
    /// edge-auth's comparison: a JSON array of {option, latency_ms, usd_per_million_requests, capabilities, provenance}
    /// whose options are signed-cookies, cloudfront-function-hs256, cloudfront-function-rs256 or lambda-at-edge
    #[arg(long, value_name = "FILE", conflicts_with = "measure_auth")]
    auth_rows: Option<PathBuf>,
    /// Measure the edge auth options now (as `coldfront auth compare --quick` does) and use them
    #[arg(long)]
    measure_auth: bool,
    /// Print the evaluation and the files written as JSON
    #[arg(long)]
    json: bool,
}

/// Where the origin's latencies come from.
#[derive(Debug, Clone, Args)]
pub(crate) struct FromRunArgs {
    /// Origin latencies from an init-trace run (samples JSONL from `coldfront run` or `trace`)
    #[arg(long, value_name = "FILE.jsonl")]
    pub(crate) from_run: Option<PathBuf>,
    /// The run's function that is the origin [default: the trace's subject, or the only function]
    #[arg(long, value_name = "NAME", requires = "from_run")]
    pub(crate) from_function: Option<String>,
}

#[derive(Debug, Clone, Args)]
struct CostArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    from: FromRunArgs,
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Text, one request per line
    Csv,
    /// libCacheSim oracleGeneral: 24-byte little-endian records
    OracleGeneral,
    /// CloudFront standard access logs (gzip or not, directories of them) or real-time logs
    Cloudfront,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PolicyArg {
    /// CloudFront TTL semantics (expiry fixed at fetch), unlimited size unless --capacity
    Ttl,
    /// Capacity-limited LRU; no TTL unless --ttl is given
    Lru,
    /// Capacity-limited FIFO (a hit does not move an object, as libCacheSim's FIFO); no
    /// TTL unless --ttl is given
    Fifo,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TimeUnitArg {
    S,
    Ms,
    Us,
}

#[derive(Debug, Clone, Args)]
struct SimulateArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Trace file (cloudfront: log files and directories, any number); without it a seeded
    /// synthetic trace is generated from the model
    #[arg(long, value_name = "FILE", num_args = 1..)]
    trace: Vec<PathBuf>,
    /// Trace format
    #[arg(long, value_enum, default_value = "csv", requires = "trace")]
    format: FormatArg,
    #[command(flatten)]
    logs: LogArgs,
    /// csv: column of the time (1-based)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    time_column: u64,
    /// csv: column of the object id
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    obj_column: u64,
    /// csv: column of the object size in bytes (0 = none, every object 1 byte)
    #[arg(long, default_value_t = 3)]
    size_column: u64,
    /// csv: field delimiter
    #[arg(long, default_value_t = ',')]
    delimiter: char,
    /// csv: the first line is a header
    #[arg(long)]
    header: bool,
    /// csv: unit of the time column
    #[arg(long, value_enum, default_value = "s")]
    time_unit: TimeUnitArg,
    /// Cache policy
    #[arg(long, value_enum, default_value = "ttl")]
    policy: PolicyArg,
    /// Capacity per cache, in objects
    #[arg(long, value_name = "N", conflicts_with = "capacity_bytes")]
    capacity: Option<u64>,
    /// Capacity per cache, in bytes
    #[arg(long, value_name = "BYTES")]
    capacity_bytes: Option<u64>,
    /// Seconds from a write until its invalidation takes effect at every cache (with
    /// --strategy on-write; until then cached copies are served stale) [default: the
    /// model's cache.invalidation_propagation_s]
    #[arg(long, value_name = "S")]
    invalidation_delay: Option<f64>,
    /// Threads for independent edge locations (or groups behind one regional cache); the
    /// figures are the same for any number [default: one per core]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Edge locations [default: the model's for a synthetic trace, 1 for a file]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    edges: Option<u16>,
    /// Regional caches behind the edges [default: the model's for a synthetic trace, 0 for a file]
    #[arg(long, value_name = "N")]
    regional: Option<u16>,
    /// Synthetic trace length (reads and writes)
    #[arg(long, value_name = "N", default_value_t = 5_000_000)]
    requests: u64,
    /// Seed of the synthetic trace and the edge assignment
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

/// Options of CloudFront logs.
#[derive(Debug, Clone, Args)]
pub(crate) struct LogArgs {
    /// cloudfront: the real-time log configuration's field list, in order (files with a
    /// #Fields header are standard logs and use it) [default: every documented field]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) fields: Option<Vec<String>>,
    /// cloudfront: the page TTL the distribution had when the logs were written (the
    /// origin's s-maxage) [default: the model's]
    #[arg(long, value_name = "S")]
    pub(crate) current_ttl: Option<f64>,
    /// cloudfront: the stale-while-revalidate window it had [default: the model's]
    #[arg(long, value_name = "S")]
    pub(crate) current_swr: Option<f64>,
    /// cloudfront: the real-time log configuration's sampling rate, in percent (1–100);
    /// request counts and rates are scaled up by it [default: 100]
    #[arg(long, value_name = "PCT", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub(crate) sampling_rate: Option<u8>,
    #[command(flatten)]
    pub(crate) distribution: DistributionArgs,
}

/// The distribution the logs came from, instead of coldfront's recommended behaviours.
#[derive(Debug, Clone, Args)]
pub(crate) struct DistributionArgs {
    /// The distribution the logs came from, as `aws cloudfront get-distribution-config --id ID`
    /// prints it [default: coldfront's recommended behaviours]
    #[arg(long, value_name = "FILE.json")]
    pub(crate) distribution: Option<PathBuf>,
    /// A custom cache policy the distribution uses, as `aws cloudfront get-cache-policy --id ID`
    /// (or `list-cache-policies`) prints it; repeat for each
    #[arg(long, value_name = "FILE.json", requires = "distribution")]
    pub(crate) cache_policy: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct FitArgs {
    /// CloudFront log files and directories of them (standard or real-time)
    #[arg(long, value_name = "LOGS", num_args = 1.., required = true)]
    pub(crate) trace: Vec<PathBuf>,
    /// The real-time log configuration's field list, in order [default: every documented field]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) fields: Option<Vec<String>>,
    /// The real-time log configuration's sampling rate, in percent (1–100); request counts
    /// and rates are scaled up by it [default: 100]
    #[arg(long, value_name = "PCT", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub(crate) sampling_rate: Option<u8>,
    #[command(flatten)]
    pub(crate) distribution: DistributionArgs,
    /// The preset the values the logs cannot give come from: typical, seed or large
    #[arg(long, value_name = "NAME", default_value = "typical")]
    pub(crate) preset: String,
    /// Write the model file here instead of standard output
    #[arg(long, value_name = "FILE.toml")]
    pub(crate) out: Option<PathBuf>,
    /// Print the fit (and the model file's text) as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Args)]
struct AuditArgs {
    /// The distribution to read
    #[arg(long, value_name = "ID")]
    distribution_id: String,
    #[command(flatten)]
    model: ModelArgs,
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: CdnArgs) -> anyhow::Result<u8> {
    match args.command {
        CdnCommand::Design(a) => design(&a),
        CdnCommand::Cost(a) => cost(&a),
        CdnCommand::Simulate(a) => simulate_command(a).await,
        CdnCommand::Fit(a) => super::cdn_logs::fit(a).await,
        CdnCommand::Audit(a) => audit(&a).await,
    }
}

impl ModelArgs {
    /// The model as its file or preset has it, without the design flags (`--ttl`, `--swr`,
    /// `--strategy`, `--paths-per-write`, `--auth`): what is deployed, where the flags are
    /// the proposal.
    pub(crate) fn without_design_flags(&self) -> Self {
        Self {
            ttl: None,
            swr: None,
            strategy: None,
            paths_per_write: None,
            auth: None,
            ..self.clone()
        }
    }
}

pub(crate) fn load_model(args: &ModelArgs, from: &FromRunArgs) -> anyhow::Result<Model> {
    let mut model = match (&args.preset, &args.config) {
        (_, Some(path)) => Model::from_toml_file(path)?,
        (Some(name), None) => Model::preset(name)?,
        (None, None) => Model::preset("typical")?,
    };
    if let Some(path) = &args.prices {
        model.prices = PriceTable::from_toml_file(path)?;
    }
    if let Some(ttl) = args.ttl {
        model.cache.page_ttl_s = ttl;
        model.set_by.insert("cache.page_ttl_s".to_owned(), "--ttl".to_owned());
    }
    if let Some(swr) = args.swr {
        model.cache.stale_while_revalidate_s = swr;
        model
            .set_by
            .insert("cache.stale_while_revalidate_s".to_owned(), "--swr".to_owned());
    }
    let paths = args.paths_per_write;
    match (args.strategy, paths) {
        (Some(StrategyArg::TtlOnly), None) => model.cache.invalidation = Invalidation::TtlOnly,
        (Some(StrategyArg::VersionedUrls), None) => model.cache.invalidation = Invalidation::VersionedUrls,
        (Some(StrategyArg::OnWrite), p) => {
            model.cache.invalidation = Invalidation::OnWrite {
                paths_per_write: p.unwrap_or(1),
            };
        }
        (None, Some(p)) => model.cache.invalidation = Invalidation::OnWrite { paths_per_write: p },
        (Some(_), Some(_)) => bail!("--paths-per-write only applies to --strategy on-write"),
        (None, None) => {}
    }
    if let Some(auth) = args.auth {
        model.cache.auth = match auth {
            AuthArg::SignedCookies => AuthOption::SignedCookies,
            AuthArg::CloudfrontFunctionHs256 => AuthOption::CloudfrontFunctionHs256,
            AuthArg::CloudfrontFunctionRs256 => AuthOption::CloudfrontFunctionRs256,
            AuthArg::LambdaAtEdge => AuthOption::LambdaAtEdge,
        };
    }
    if let Some(path) = &from.from_run {
        model.latency = latency_from_run(path, from.from_function.as_deref())?;
    }
    model.validate()?;
    Ok(model)
}

/// The origin's latencies from a samples file, through init-trace's one derivation
/// (`init_trace::origin`): one function, warm-ups and failed invokes left out.
fn latency_from_run(path: &Path, function: Option<&str>) -> anyhow::Result<LatencyInputs> {
    let loaded = init_trace::sample::read_samples(path)?;
    if let Some(warning) = &loaded.truncated_tail {
        eprintln!("warning: {warning}");
    }
    let origin = init_trace::origin::origin_latencies(&loaded.samples, function).map_err(|e| match e {
        init_trace::origin::OriginLatencyError::Ambiguous(_) => {
            anyhow::anyhow!("{}: {e}: pass --from-function NAME", path.display())
        }
        other => anyhow::anyhow!(
            "{}: {other}; record cold starts with `coldfront run FUNCTION --invokes 5 --out {}`",
            path.display(),
            path.display()
        ),
    })?;
    Ok(LatencyInputs {
        source: format!(
            "measured: {} {} ({} warm invokes, {} cold starts{})",
            path.display(),
            origin.function,
            origin.warm_ms.len(),
            origin.cold_ms.len(),
            if origin.warmups_dropped > 0 {
                format!(", {} warm-ups left out", origin.warmups_dropped)
            } else {
                String::new()
            }
        ),
        warm_ms: origin.warm_ms,
        cold_ms: origin.cold_ms,
    })
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn print_strategies(evaluation: &Evaluation) {
    outln!(
        "{:<36} {:>9} {:>11} {:>8} {:>11} {:>21} {:>12}",
        "strategy",
        "page hits",
        "origin r/s",
        "stale",
        "worst stale",
        "p50 / p90 / p99 ms",
        "cost/month"
    );
    for s in &evaluation.strategies {
        let marker = if s.strategy == evaluation.chosen.strategy {
            "*"
        } else {
            " "
        };
        outln!(
            "{marker}{:<35} {:>9} {:>11.3} {:>8} {:>10.0}s {:>21} {:>12}",
            s.name,
            pct(s.page_hit_ratio),
            s.origin_requests_per_s,
            pct(s.stale_read_probability),
            s.worst_case_staleness_s,
            format!(
                "{:.0} / {:.0} / {:.0}",
                s.latency.p50_ms, s.latency.p90_ms, s.latency.p99_ms
            ),
            usd(s.cost.total_usd_per_month)
        );
    }
}

fn design(args: &DesignArgs) -> anyhow::Result<u8> {
    let mut model = load_model(&args.model, &args.from)?;
    let rows: Option<Vec<AuthRow>> = match &args.auth_rows {
        None if args.measure_auth => {
            let comparison = edge_auth::compare::compare(&edge_auth::compare::CompareOptions {
                quick: true,
                budget_ms: None,
            })
            .context("cannot measure the edge auth options")?;
            Some(crate::edge_rows::design_rows(&comparison))
        }
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let rows: Vec<AuthRow> = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{}: not a JSON array of {{option, latency_ms, usd_per_million_requests, capabilities, provenance}}",
                    path.display()
                )
            })?;
            crate::edge_rows::check_rows(&rows).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Some(rows)
        }
    };
    if let Some(rows) = &rows {
        model.auth_rows = rows.clone();
    }
    let evaluation = cdn_design::evaluate(&model);
    let page = cdn_design::design_page(&model, &evaluation, rows.as_deref());
    super::check_out_dir(&args.out, "--out")?;
    let files = page
        .write_to(&args.out)
        .with_context(|| format!("cannot write the design page into {}", args.out.display()))?;
    if args.json {
        let json = serde_json::json!({ "files": files, "evaluation": evaluation });
        outln!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(exit::OK);
    }
    outln!(
        "{} ({} page objects in {} popularity bins)\n",
        model.name,
        thousands(evaluation.page_objects as f64),
        evaluation.popularity_bins
    );
    print_strategies(&evaluation);
    outln!(
        "\nEstimated page hit ratio ({}): {}; {} of all CloudFront requests",
        evaluation.chosen.name,
        pct(evaluation.chosen.page_hit_ratio),
        pct(evaluation.chosen.overall_hit_ratio)
    );
    for file in files {
        outln!("wrote {}", file.display());
    }
    Ok(exit::OK)
}

fn cost(args: &CostArgs) -> anyhow::Result<u8> {
    let model = load_model(&args.model, &args.from)?;
    let evaluation = cdn_design::evaluate(&model);
    if args.json {
        let json = serde_json::json!({
            "model": model.name,
            "prices": model.prices,
            "chosen": evaluation.chosen.name,
            "strategies": evaluation.strategies.iter().map(|s| serde_json::json!({
                "strategy": s.name,
                "cost": s.cost,
            })).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(exit::OK);
    }
    outln!(
        "{} (prices as of {}: {})\n",
        model.name,
        model.prices.as_of,
        model.prices.source
    );
    print_strategies(&evaluation);
    let chosen = &evaluation.chosen;
    outln!("\n{} per month:", chosen.name);
    for line in &chosen.cost.lines {
        outln!(
            "  {:<42} {:>16} {:<11} {:>12}   {}",
            line.item,
            thousands(line.quantity),
            line.unit,
            usd(line.usd_per_month),
            line.arithmetic
        );
    }
    outln!(
        "  {:<42} {:>16} {:<11} {:>12}",
        "total",
        "",
        "",
        usd(chosen.cost.total_usd_per_month)
    );
    outln!(
        "\nFlat-rate plans against {} of CloudFront requests and data out ({} requests, {:.1} GB):",
        usd(chosen.cost.cloudfront_usage_usd_per_month),
        thousands(chosen.cost.cloudfront_requests_per_month),
        chosen.cost.gb_out_per_month
    );
    for plan in &chosen.cost.flat_rate {
        outln!(
            "  {:<10} {:>10}  {}",
            plan.plan,
            usd(plan.usd_per_month),
            if plan.fits { "fits" } else { "too small" }
        );
    }
    Ok(exit::OK)
}

async fn simulate_command(args: SimulateArgs) -> anyhow::Result<u8> {
    let logs_only = [
        ("--fields", args.logs.fields.is_some()),
        ("--current-ttl", args.logs.current_ttl.is_some()),
        ("--current-swr", args.logs.current_swr.is_some()),
        ("--sampling-rate", args.logs.sampling_rate.is_some()),
        ("--distribution", args.logs.distribution.distribution.is_some()),
    ];
    if let FormatArg::Cloudfront = args.format {
        let trace_only = [
            ("--capacity", args.capacity.is_some()),
            ("--capacity-bytes", args.capacity_bytes.is_some()),
            ("--edges", args.edges.is_some()),
            ("--regional", args.regional.is_some()),
            ("--policy lru", matches!(args.policy, PolicyArg::Lru)),
            ("--policy fifo", matches!(args.policy, PolicyArg::Fifo)),
            ("--invalidation-delay", args.invalidation_delay.is_some()),
            ("--threads", args.threads.is_some()),
        ];
        if let Some((flag, _)) = trace_only.iter().find(|(_, set)| *set) {
            bail!(
                "{flag} does not apply to --format cloudfront: each edge location in the logs is replayed as its own unlimited TTL cache"
            );
        }
        return super::cdn_logs::simulate(&args.model, &args.logs, args.trace.clone(), args.json).await;
    }
    if let Some((flag, _)) = logs_only.iter().find(|(_, set)| *set) {
        bail!("{flag} applies to --format cloudfront only");
    }
    if args.trace.len() > 1 {
        bail!("--trace takes one file for --format csv and oracle-general; --format cloudfront takes many");
    }
    let mut model = load_model(
        &args.model,
        &FromRunArgs {
            from_run: None,
            from_function: None,
        },
    )?;
    // The edge and regional tiers are set on the model, not only on the simulation, so the
    // analytic figure printed beside the simulated one describes the same caches.
    if let Some(edges) = args.edges {
        model.workload.edge_locations = u32::from(edges);
    }
    if let Some(regional) = args.regional {
        model.workload.regional_caches = u32::from(regional);
    }
    if let Some(delay_s) = args.invalidation_delay {
        if !delay_s.is_finite() || delay_s < 0.0 {
            bail!("--invalidation-delay {delay_s}: give a number of seconds, 0 or more");
        }
        if !matches!(args.policy, PolicyArg::Ttl) || !matches!(model.cache.invalidation, Invalidation::OnWrite { .. }) {
            bail!(
                "--invalidation-delay applies to invalidation on write: use it with --strategy on-write (and --policy ttl)"
            );
        }
        // Set on the model too, so the analytic figure beside the simulated one uses it.
        model.cache.invalidation_propagation_s = delay_s;
        model.set_by.insert(
            "cache.invalidation_propagation_s".to_owned(),
            "--invalidation-delay".to_owned(),
        );
    }
    let mut config = SimConfig::from_model(&model);
    config.seed = args.seed;
    config.threads = args.threads.map_or(0, usize::from);
    if !args.trace.is_empty() {
        config.edges = args.edges.unwrap_or(1);
        config.regional_caches = args.regional.unwrap_or(0);
    }
    config.capacity = args
        .capacity
        .map(Capacity::Objects)
        .or(args.capacity_bytes.map(Capacity::Bytes));
    if let PolicyArg::Lru | PolicyArg::Fifo = args.policy {
        let name = if let PolicyArg::Lru = args.policy {
            "lru"
        } else {
            "fifo"
        };
        if config.capacity.is_none() {
            bail!("--policy {name} needs --capacity N (objects) or --capacity-bytes B");
        }
        config.ttl_s = args.model.ttl;
        config.swr_s = 0.0;
        config.invalidate_on_write = false;
        config.invalidation_delay_s = 0.0;
    }
    if let PolicyArg::Fifo = args.policy {
        config.eviction = Eviction::Fifo;
    }
    let source: Box<dyn cdn_design::sim::RequestSource + Send> = match args.trace.first() {
        Some(path) => {
            let format = match args.format {
                FormatArg::OracleGeneral => TraceFormat::OracleGeneral,
                FormatArg::Cloudfront => unreachable!("CloudFront logs are replayed above"),
                FormatArg::Csv => {
                    if !args.delimiter.is_ascii() {
                        bail!("--delimiter {:?}: use a single ASCII character", args.delimiter);
                    }
                    TraceFormat::Csv(CsvColumns {
                        time: args.time_column as usize,
                        object: args.obj_column as usize,
                        size: (args.size_column > 0).then_some(args.size_column as usize),
                        delimiter: args.delimiter as u8,
                        has_header: args.header,
                        time_unit_s: match args.time_unit {
                            TimeUnitArg::S => 1.0,
                            TimeUnitArg::Ms => 1e-3,
                            TimeUnitArg::Us => 1e-6,
                        },
                    })
                }
            };
            open_trace(path, &format)?
        }
        None => Box::new(Generator::new(&model, args.requests, args.seed)),
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let progress = if args.json {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(1000);
        bar.set_style(
            indicatif::ProgressStyle::with_template("simulating {bar:40} {percent:>3}% {elapsed} (eta {eta})")
                .expect("static template"),
        );
        bar
    };
    let started = Instant::now();
    let worker = {
        let cancel = Arc::clone(&cancel);
        let progress = progress.clone();
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let mut source = source;
            simulate(
                &mut source,
                &config,
                &mut |fraction| progress.set_position((fraction * 1000.0) as u64),
                &cancel,
            )
        })
    };
    let ctrl_c = {
        let cancel = Arc::clone(&cancel);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.store(true, Ordering::Relaxed);
            }
        })
    };
    let result = worker.await.context("the simulation thread failed")?;
    ctrl_c.abort();
    progress.finish_and_clear();
    let report = result?;
    if let Some(path) = args.trace.first()
        && report.requests == 0
        && !report.cancelled
    {
        anyhow::bail!(
            "{}: the trace holds no requests (it is empty, or only a header); nothing was simulated",
            path.display()
        );
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    let analytic = args
        .trace
        .is_empty()
        .then(|| {
            cdn_design::evaluate(&model)
                .classes
                .into_iter()
                .find(|c| c.class == cdn_design::ObjectClass::PageHtml)
        })
        .flatten();
    if args.json {
        let json = serde_json::json!({
            "config": config,
            "report": report,
            "elapsed_s": elapsed_s,
            "requests_per_s": report.requests as f64 / elapsed_s.max(1e-9),
            "analytic": analytic.as_ref().map(|a| serde_json::json!({
                "hit_ratio": a.hit_ratio,
                "edge_hit_ratio": a.edge_hit_ratio,
                "stale_read_probability": a.stale_read_probability,
            })),
        });
        outln!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_report(&report, &config, elapsed_s, analytic.as_ref(), &args);
    }
    Ok(if report.cancelled { exit::INTERRUPTED } else { exit::OK })
}

fn print_report(
    report: &SimReport,
    config: &SimConfig,
    elapsed_s: f64,
    analytic: Option<&cdn_design::ClassResult>,
    args: &SimulateArgs,
) {
    let source = args.trace.first().map_or_else(
        || format!("synthetic trace (seed {})", args.seed),
        |p| p.display().to_string(),
    );
    let ttl = config.ttl_s.map_or_else(|| "none".to_owned(), |t| format!("{t} s"));
    let eviction = match config.eviction {
        Eviction::Lru => "LRU",
        Eviction::Fifo => "FIFO",
    };
    let capacity = match config.capacity {
        None => "unlimited".to_owned(),
        Some(Capacity::Objects(n)) => format!("{} objects ({eviction})", thousands(n as f64)),
        Some(Capacity::Bytes(n)) => format!("{} bytes ({eviction})", thousands(n as f64)),
    };
    outln!("{source}");
    outln!(
        "  caches: {} edge location(s), {} regional; TTL {ttl}; SWR {} s; {}; capacity {capacity}",
        config.edges,
        config.regional_caches,
        config.swr_s,
        if config.invalidate_on_write {
            format!("invalidate on write, {} s to take effect", config.invalidation_delay_s)
        } else {
            "writes leave copies stale".to_owned()
        }
    );
    outln!("  threads: {threads}", threads = threads_text(config.threads));
    if report.cancelled {
        outln!("  INTERRUPTED: the figures cover the requests simulated so far");
    }
    outln!(
        "  Requests:        {} ({} reads, {} writes) over {:.1} h of trace",
        thousands(report.requests as f64),
        thousands(report.reads as f64),
        thousands(report.writes as f64),
        report.trace_span_s / 3600.0
    );
    outln!(
        "  Hit ratio:       {:>7}   [edge {}, regional {}]{}",
        pct(report.hit_ratio),
        pct(report.edge_hit_ratio),
        pct(report.regional_hits as f64 / report.reads.max(1) as f64),
        analytic.map_or_else(String::new, |a| format!("   analytic {}", pct(a.hit_ratio)))
    );
    outln!("  Byte hit ratio:  {:>7}", pct(report.byte_hit_ratio));
    outln!(
        "  Origin fetches:  {} waited for, {} in the background",
        thousands(report.origin_sync_fetches as f64),
        thousands(report.origin_async_fetches as f64)
    );
    outln!(
        "  Stale reads:     {:>7}   [staleness p50 {:.1} s, p99 {:.1} s, max {:.1} s]{}",
        pct(report.stale_read_probability),
        report.staleness_p50_s,
        report.staleness_p99_s,
        report.staleness_max_s,
        analytic.map_or_else(String::new, |a| format!(
            "   analytic {}",
            pct(a.stale_read_probability)
        ))
    );
    outln!(
        "  Objects:         {} distinct, {} evictions",
        thousands(report.distinct_objects as f64),
        thousands(report.evictions as f64)
    );
    outln!(
        "  Time:            {elapsed_s:.2} s ({:.1} M requests/s)",
        report.requests as f64 / elapsed_s.max(1e-9) / 1e6
    );
}

/// `--threads` as given, or what 0 (the default) means.
fn threads_text(threads: usize) -> String {
    if threads == 0 {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        format!("one per core ({cores}), at most one per edge location or regional cache")
    } else {
        format!("{threads}, at most one per edge location or regional cache")
    }
}

async fn audit(args: &AuditArgs) -> anyhow::Result<u8> {
    use aws_config::BehaviorVersion;
    let model = load_model(
        &args.model,
        &FromRunArgs {
            from_run: None,
            from_function: None,
        },
    )?;
    let recommendation = cdn_design::recommend(&model);
    // CloudFront is a global service signed in us-east-1; a profile's own region does not matter.
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let client = aws_sdk_cloudfront::Client::new(&shared);
    let live = cdn_design::cloudfront::audit::fetch(&client, &args.distribution_id)
        .await
        .with_context(|| {
            format!(
                "cannot read distribution {}; check the id and that your credentials allow cloudfront:GetDistributionConfig and cloudfront:GetCachePolicyConfig",
                args.distribution_id
            )
        })?;
    let differences = cdn_design::cloudfront::audit::diff(&live, &recommendation);
    if args.json {
        let json = serde_json::json!({ "distribution_id": live.distribution_id, "differences": differences });
        outln!("{}", serde_json::to_string_pretty(&json)?);
    } else if differences.is_empty() {
        outln!(
            "{}: matches the recommendation for {}",
            live.distribution_id,
            model.name
        );
    } else {
        outln!(
            "{}: {} difference(s) from the recommendation for {}\n",
            live.distribution_id,
            differences.len(),
            model.name
        );
        for d in &differences {
            outln!(
                "{}  {}\n    live:        {}\n    recommended: {}\n    why:         {}\n",
                d.scope,
                d.field,
                d.live,
                d.recommended,
                d.why
            );
        }
    }
    Ok(if differences.is_empty() {
        exit::OK
    } else {
        exit::FUNCTION_FAILURES
    })
}
