//! `coldfront trace` (an experiment: subject vs controls, INIT attribution, the benchmark
//! page) and `coldfront report` (re-render a run directory from its raw samples).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use init_trace::experiment::{self, Controls, Plan, Role, Variant};
use init_trace::local::{EmulatorOptions, LocalEmulator, cancel_pair};
use init_trace::report::summary::RunSummary;
use init_trace::report::{Environment, hdr, markdown, svg};
use init_trace::sample::{ColdStartSample, SampleWriter, Throttling, VariantKind, read_samples};
use init_trace::spec::SpecSet;
use init_trace::stats::{format_ms, one_decimal};

use crate::cli::{AwsArgs, AwsInvokeArgs, Backend, CostArgs, DeployArgs, SpecArgs};
use crate::exit;
use crate::output::outln;

const TRACE_EXAMPLES: &str = "\
Examples:
  coldfront trace                                   bundled wiki vs control, 30 cold starts each
  coldfront trace --memory 128,512,1024,1769        a memory sweep
  coldfront trace --subject api --config coldfront.toml --out runs/api   a matching control
  coldfront trace --subject api --control bundled:control --config coldfront.toml
  coldfront trace --cold-starts 10 --json > summary.json
  coldfront trace --backend aws --subject my-api --control my-minimal --region eu-west-1
  coldfront trace --backend aws --subject wiki --endpoint-url http://127.0.0.1:9001   against coldfront serve
  coldfront trace --backend aws --subject my-api --deploy-control --role arn:aws:iam::123456789012:role/lambda-basic
  coldfront trace --backend aws --subject my-vpc-api --vpc-variants   what the VPC and EFS add to INIT
  coldfront trace --backend aws --subject my-vpc-api --no-vpc-variant my-api-novpc --no-efs-variant my-api-noefs

Writes DIR/samples.jsonl (appended per sample), DIR/summary.json, DIR/report.md,
DIR/breakdown.svg and DIR/init-duration.hlog. Ctrl-C stops and still writes the reports
from everything measured.

With --backend aws the subject and controls are Lambda functions (names or ARNs): each
cold start is forced by a configuration change, INIT comes from the REPORT line and is
split by the function's own X-Ray subsegments inside Lambda's Initialization span; the
page lists what AWS does not expose. Every function is restored at the end.
--deploy-control creates the bundled control (a minimal Python handler) with the
subject's runtime, architecture, memory size, timeout, tracing, VPC and EFS settings and
the --role given, and deletes it at the end unless --keep; a run killed before that
leaves it journaled, and `coldfront aws restore` (or the next run with that subject)
deletes it. --vpc-variants does the same with copies of the subject without its EFS
file system and without its VPC, and reports what those two add to INIT (storage
mount, network setup, with 95% intervals) in report.md, summary.json and
DIR/differences.json. --no-efs-variant and --no-vpc-variant name functions of yours to
use as those variants instead (checked against the subject: same code, handler,
runtime, architecture and memory size); they are restored like the subject, never
deleted.";

#[derive(Debug, Clone, Args)]
#[command(after_help = TRACE_EXAMPLES)]
pub(crate) struct TraceArgs {
    /// The function under study
    #[arg(long, default_value = "wiki")]
    pub subject: String,
    /// Control functions (repeatable; `bundled:NAME` for a bundled one); `none` for no
    /// control [default: a minimal handler on the subject's runtime, interpreter and memory]
    #[arg(long = "control")]
    pub controls: Vec<String>,
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Measured cold starts per function and memory size
    #[arg(short = 'n', long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(2..=100_000))]
    pub cold_starts: u32,
    /// Warm-up cold starts per function and memory size, left out of the statistics
    #[arg(long, default_value_t = 2)]
    pub warmup: u32,
    /// Memory sizes in MB to sweep, comma-separated [default: each function's own]
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(128..=10_240))]
    pub memory: Vec<u32>,
    /// Invokes per cold start (the first is the cold one) [default: 2; the AWS backend runs 1]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub invokes: Option<u32>,
    /// Run directory [default: coldfront-runs/trace-<time>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run without Lambda's CPU share and memory limit
    #[arg(long)]
    pub no_throttle: bool,
    #[command(flatten)]
    pub sandbox: crate::cli::SandboxArgs,
    /// Skip the plain cold start run beside each instrumented one: half the time, but
    /// the headline Init Duration then includes the instrumentation's cost
    #[arg(long)]
    pub instrumented_only: bool,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Where cold starts run: the embedded emulator, or AWS Lambda (the subject and controls are names or ARNs there)
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    pub backend: Backend,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub invoke: AwsInvokeArgs,
    #[command(flatten)]
    pub cost: CostArgs,
    #[command(flatten)]
    pub control: DeployControlArgs,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

/// The functions `trace` can create on AWS, apart from its other switches.
#[derive(Debug, Clone, Args)]
pub(crate) struct DeployControlArgs {
    /// On AWS, create the bundled control deployed like the subject (needs --role), run it
    /// as a control, and delete it at the end
    #[arg(long, requires = "role")]
    pub deploy_control: bool,
    /// On AWS, create copies of the subject without its EFS file system and without its
    /// VPC (those not named with --no-efs-variant / --no-vpc-variant), run them
    /// interleaved with it, report "storage mount" and "network setup" as differences of
    /// median INIT (and of the cold invoke's round trip) with 95% intervals, and delete
    /// them at the end
    #[arg(long)]
    pub vpc_variants: bool,
    /// On AWS, a function of yours to run as the subject's variant without its EFS file
    /// system: the subject's code, handler, runtime, architecture and memory size, in its
    /// VPC, no file system. coldfront forces its cold starts and restores it, never deletes
    /// it; with --vpc-variants, it is not created
    #[arg(long, value_name = "NAME|ARN")]
    pub no_efs_variant: Option<String>,
    /// On AWS, a function of yours to run as the subject's variant without its VPC (and
    /// EFS): otherwise as --no-efs-variant
    #[arg(long, value_name = "NAME|ARN")]
    pub no_vpc_variant: Option<String>,
}

impl DeployControlArgs {
    /// The variants the user named, with the flag that named each.
    pub(crate) fn named_variants(&self) -> Vec<(&'static str, String, VariantKind)> {
        [
            ("--no-efs-variant", &self.no_efs_variant, VariantKind::WithoutEfs),
            ("--no-vpc-variant", &self.no_vpc_variant, VariantKind::WithoutVpc),
        ]
        .into_iter()
        .filter_map(|(flag, name, kind)| name.clone().map(|name| (flag, name, kind)))
        .collect()
    }
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  coldfront report coldfront-runs/trace-20261127-101500\n  coldfront report runs/api --json"
)]
pub(crate) struct ReportArgs {
    /// A run directory written by `coldfront trace` (or a samples .jsonl file)
    pub run: PathBuf,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// Writes summary.json, report.md, breakdown.svg and init-duration.hlog into `dir`.
pub(crate) fn write_reports(dir: &Path, samples: &[ColdStartSample], summary: &RunSummary) -> anyhow::Result<()> {
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).with_context(|| format!("cannot write {}", dir.join(name).display()))
    };
    write("summary.json", &(serde_json::to_string_pretty(summary)? + "\n"))?;
    write("report.md", &markdown::render(summary))?;
    write("breakdown.svg", &svg::breakdown_chart(summary))?;
    write("init-duration.hlog", &hdr::init_duration_log(samples)?)?;
    Ok(())
}

/// Writes a trace's reports and prints its summary (as JSON with `json`); `interrupted_of`
/// is the planned number of cold starts when Ctrl-C stopped the run early.
pub(crate) fn finish(
    dir: &Path,
    samples: &[ColdStartSample],
    summary: &RunSummary,
    json: bool,
    interrupted_of: Option<u64>,
) -> anyhow::Result<()> {
    write_reports(dir, samples, summary)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(summary)?);
    } else {
        print_summary(summary, dir);
        if let Some(total) = interrupted_of {
            outln!(
                "Interrupted after {} of {total} cold starts; the reports cover all of them.",
                samples.len()
            );
        }
    }
    Ok(())
}

pub(crate) fn print_summary(summary: &RunSummary, dir: &Path) {
    for g in &summary.groups {
        let role = g.role.as_deref().map_or_else(String::new, |r| format!(" [{r}]"));
        match &g.init {
            Some(s) => {
                outln!("{} @ {} MB{role}", g.function, g.memory_mb);
                outln!(
                    "  Init Duration (mean ± σ):  {:>10} ± {:>9}    [median: {}]",
                    format_ms(s.mean_ms),
                    format_ms(s.stddev_ms),
                    format_ms(s.median_ms)
                );
                outln!(
                    "  Range (min … max):         {:>10} … {:>9}    {} cold starts",
                    format_ms(s.min_ms),
                    format_ms(s.max_ms),
                    s.n
                );
                // A segment that is zero up to float noise (unattributed, typically) says
                // nothing, and a tiny negative remainder must not read as negative time.
                for segment in g.segments.iter().filter(|s| s.depth == 0 && s.mean_ms.abs() >= 0.05) {
                    outln!(
                        "    {:<16} {:>10}  {:>5}%",
                        segment.path,
                        format_ms(segment.mean_ms),
                        one_decimal(segment.percent_of_init)
                    );
                }
            }
            None => outln!("{} @ {} MB{role}: no successful INIT", g.function, g.memory_mb),
        }
        if let Some(first) = g.failures.first() {
            outln!("  {} failed cold starts (see report.md)", g.failures.len());
            if let Some(cause) = &first.cause {
                outln!("    first: #{} {}", first.sample_index + 1, cause.headline());
                for line in cause.whereabouts() {
                    outln!("      {line}");
                }
            } else {
                outln!("    first: #{} {}", first.sample_index + 1, first.outcome);
            }
        }
        if let Some(hint) = &g.outlier_hint {
            outln!("  warning: {hint}");
        }
        outln!();
    }
    for c in &summary.comparisons {
        if !c.mismatch.is_empty() {
            outln!(
                "warning: the control {} does not match the subject {}: {} (the difference includes that)",
                c.control,
                c.subject,
                c.mismatch.join("; ")
            );
        }
        outln!(
            "{} ran {:.2} ± {:.2} times slower than {} @ {} MB (median difference {})",
            c.subject,
            c.ratio,
            c.ratio_stddev,
            c.control,
            c.memory_mb,
            format_ms(c.init_median_diff_ms)
        );
    }
    if !summary.recommendations.is_empty() {
        outln!("\nRecommendations:");
        for r in &summary.recommendations {
            outln!("  - {}", r.title);
        }
    }
    outln!("\nReport: {}", dir.join("report.md").display());
}

pub(crate) async fn trace(args: TraceArgs) -> anyhow::Result<u8> {
    if args.backend == Backend::Aws {
        // Boxed: the AWS run's state is large, and the local path need not carry it.
        return Box::pin(super::trace_aws::trace(args)).await;
    }
    if args.control.deploy_control || args.control.vpc_variants || args.deploy.keep {
        bail!(
            "--deploy-control, --vpc-variants and --keep create functions on AWS: add --backend aws (the local backend's default control is already the bundled one)"
        );
    }
    if let Some((flag, _, _)) = args.control.named_variants().first() {
        bail!("{flag} names a Lambda function: add --backend aws (VPC and EFS exist only there)");
    }
    let specs = super::load_specs(&args.spec)?;
    let subject = specs.get(&args.subject)?.clone();
    let mut controls = Vec::new();
    if args.controls.is_empty() {
        // A control the file defines by that name, else the bundled minimal handler on the
        // subject's runtime, interpreter and memory size.
        let control = match specs.get("control") {
            Ok(control) if specs.source().is_some() => control.clone(),
            _ => SpecSet::control_for(&subject)?,
        };
        if control.name != subject.name {
            controls.push(control);
        }
    }
    for name in args.controls.iter().filter(|c| c.as_str() != "none") {
        if name == &args.subject {
            bail!("--control {name:?} is also the subject; pick a different control or `--control none`");
        }
        controls.push(specs.get(name)?.clone());
    }
    let mut variants = vec![Variant {
        spec: subject,
        role: Some(Role::Subject),
    }];
    for control in controls {
        if variants.iter().any(|v| v.spec.name == control.name) {
            bail!(
                "two functions named {:?} in one run; rename the one in your spec file",
                control.name
            );
        }
        variants.push(Variant {
            spec: control,
            role: Some(Role::Control),
        });
    }
    for variant in &mut variants {
        variant.spec.invokes = args.invokes.unwrap_or(2);
    }
    let plan = Plan {
        variants,
        memory_mb: args.memory.clone(),
        cold_starts: args.cold_starts,
        warmup: args.warmup,
        plain_twins: !args.instrumented_only,
    };
    let emulator = LocalEmulator::new(args.sandbox.apply(EmulatorOptions {
        throttle: !args.no_throttle,
        import_timing: true,
        ..EmulatorOptions::default()
    }));
    super::report_isolation(&emulator);
    match emulator.throttling() {
        Throttling::Applied => {}
        Throttling::Disabled => {
            eprintln!("note: --no-throttle: functions run with all CPU; INIT will look faster than on Lambda");
        }
        Throttling::Unavailable(reason) => {
            eprintln!("warning: Lambda's CPU share and memory limit are NOT applied ({reason})");
        }
    }
    let dir = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("coldfront-runs").join(format!("trace-{}", chrono::Local::now().format("%Y%m%d-%H%M%S")))
    });
    super::check_out_dir(&dir, "--out")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the run directory {}", dir.display()))?;
    let samples_path = dir.join("samples.jsonl");
    if samples_path.exists() {
        bail!(
            "{} already holds a run; choose another --out or re-render it with `coldfront report {}`",
            dir.display(),
            dir.display()
        );
    }
    let mut writer = SampleWriter::append(&samples_path)?;
    let (cancel_handle, cancel) = cancel_pair();
    super::cancel_on_ctrl_c(
        cancel_handle,
        "finishing the current cold start's record, then writing the reports",
    );
    let total = plan.cold_start_count() as u64;
    let progress = super::cold_start_progress(total, args.json);
    let samples = experiment::run(&emulator, &plan, Controls::cancel_only(cancel.clone()), |_, sample| {
        writer.write(sample)?;
        progress.set_message(format!(
            "{} @ {} MB: {}",
            sample.function,
            sample.memory_size_mb,
            sample.outcome()
        ));
        progress.inc(1);
        Ok::<_, init_trace::sample::SampleFileError>(ControlFlow::Continue(()))
    })
    .await?;
    progress.finish_and_clear();
    let interrupted = cancel.is_cancelled();
    let mut summary = RunSummary::from_samples(&samples, None);
    summary.environment = Some(Environment::detect());
    finish(&dir, &samples, &summary, args.json, interrupted.then_some(total))?;
    Ok(exit::for_samples(interrupted, &samples))
}

pub(crate) fn report(args: &ReportArgs) -> anyhow::Result<u8> {
    let (dir, samples_path) = if args.run.is_dir() {
        (args.run.clone(), args.run.join("samples.jsonl"))
    } else {
        // A samples file's reports go into a directory of their own beside it, named after
        // it: the file's own directory may hold other runs' files and reports.
        let stem = args
            .run
            .file_stem()
            .map_or_else(|| "samples".into(), |s| s.to_string_lossy().into_owned());
        (
            args.run
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
                .join(format!("{stem}-report")),
            args.run.clone(),
        )
    };
    if !samples_path.is_file() {
        bail!(
            "{} has no samples.jsonl; give a directory written by `coldfront trace`",
            args.run.display()
        );
    }
    let loaded = read_samples(&samples_path)?;
    if let Some(warning) = &loaded.truncated_tail {
        eprintln!("warning: {warning}");
    }
    if loaded.samples.is_empty() {
        bail!("{} holds no complete samples", samples_path.display());
    }
    let previous: Option<RunSummary> = std::fs::read(dir.join("summary.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let mut summary = RunSummary::from_samples(&loaded.samples, loaded.truncated_tail.clone());
    summary.environment = previous.and_then(|p| p.environment);
    eprintln!(
        "writing summary.json, report.md, breakdown.svg and init-duration.hlog into {}",
        dir.display()
    );
    super::check_out_dir(&dir, "the report directory")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_reports(&dir, &loaded.samples, &summary)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary, &dir);
    }
    Ok(exit::OK)
}
