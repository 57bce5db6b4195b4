//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Exit codes: 0 all cold starts succeeded, 1 some failed (recorded), 2 bad usage or
configuration, 130 interrupted (everything measured so far is kept).

Environment: NO_COLOR disables colour; COLDFRONT_LOG=debug shows Runtime API traffic;
COLDFRONT_CACHE_DIR sets where the bundled functions are written.";

/// Measure where a Lambda cold start's INIT time goes, on an embedded Lambda emulator.
///
/// With no subcommand, opens the interactive UI on the bundled `wiki` and `control`
/// functions (or the functions in ./coldfront.toml).
#[derive(Debug, Parser)]
#[command(name = "coldfront", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Attach the UI to a running `coldfront serve` (http://HOST:PORT) and show its invocations live
    #[arg(long, value_name = "URL")]
    pub attach: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start functions cold on the local emulator and report Init Duration
    #[command(after_help = "\
Examples:
  coldfront run                          the bundled wiki and control, 10 cold starts each
  coldfront run control --cold-starts 30 30 cold starts of the bundled control function
  coldfront run api --config coldfront.toml --memory 1024 --invokes 3
  coldfront run wiki --json > summary.json
  coldfront run --backend aws my-api -n 20 --region eu-west-1   forced cold starts on AWS Lambda
  coldfront run --backend aws api-1 api-2 --parallel 2           two named functions at once
  coldfront run --backend aws my-api --parallel 4 -n 25          my-api and 3 copies coldfront
                                          makes from its code (deleted at the end unless --keep)

Samples are appended to a JSONL file (one line per cold start, flushed as each completes),
so an interrupted run keeps everything it measured.")]
    Run(RunArgs),
    /// Serve Lambda's own API (and X-Ray's) on loopback, backed by the emulator
    #[command(after_help = "\
Examples:
  coldfront serve                                  the bundled functions on 127.0.0.1:9001
  coldfront serve --config coldfront.toml --idle-timeout 60
  aws lambda invoke --endpoint-url http://127.0.0.1:9001 --function-name wiki \\
      --log-type Tail --query LogResult --output text out.json | base64 -d
  aws lambda update-function-configuration --endpoint-url http://127.0.0.1:9001 \\
      --function-name wiki --environment 'Variables={COLD=1}'   (the next invoke is cold)
  curl -d '{}' http://127.0.0.1:9001/2015-03-31/functions/function/invocations   (RIE's path)

Every execution environment's life (INIT and all its invokes) is appended to a JSONL file
when it ends (idle reclaim, a change to the function, or shutdown), the same samples
`coldfront run` writes, so `coldfront report` works on served traffic. Ctrl-C or SIGTERM
ends every environment and writes its sample before exiting.")]
    Serve(ServeArgs),
    /// Maintenance of the AWS backend (restoring functions a run left changed, deleting those it left behind)
    Aws(AwsCommand),
    /// List the functions that can be run
    #[command(after_help = "Examples:\n  coldfront functions\n  coldfront functions --config coldfront.toml --json")]
    Functions(FunctionsArgs),
    /// Break INIT into measured segments, compare with a control, write the benchmark page
    Trace(crate::commands::trace::TraceArgs),
    /// Re-render a trace run's reports from its raw samples
    Report(crate::commands::trace::ReportArgs),
    /// Model CDN cache behaviours, hit ratio, staleness, latency and cost; check them against CloudFront's logs
    Cdn(crate::commands::cdn::CdnArgs),
    /// Validate JWTs at the edge: CloudFront Functions, signed cookies, Lambda@Edge
    Auth(crate::commands::auth::AuthArgs),
    /// Measure the UI itself (used by `cargo xtask bench`)
    #[command(hide = true)]
    BenchUi(BenchUiArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct BenchUiArgs {
    /// `render`: frame time with many recorded samples; `memory`: peak RSS of a long session
    #[arg(long, value_parser = ["render", "memory"])]
    pub mode: String,
    /// Samples recorded (render) or cold starts fed (memory)
    #[arg(long)]
    pub samples: u64,
    /// Terminal width for render
    #[arg(long, default_value_t = 200)]
    pub width: u16,
    /// Terminal height for render
    #[arg(long, default_value_t = 60)]
    pub height: u16,
    /// Frames drawn for render
    #[arg(long, default_value_t = 200)]
    pub frames: u32,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct SpecArgs {
    /// Function spec file; defaults to ./coldfront.toml when it exists, else the bundled functions
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// How closely sandboxes copy Lambda's isolation.
#[derive(Debug, Clone, Args)]
pub(crate) struct SandboxArgs {
    /// Give functions the host's filesystem instead of Lambda's view (a private /tmp, the code read-only at /var/task, the rest of the host read-only, an unprivileged user; needs root)
    #[arg(long)]
    pub host_filesystem: bool,
    /// Serve each sandbox's Runtime API on the host's loopback (any local process can then answer for the function) and give functions the host's network; by default each sandbox has a network namespace of its own with loopback only (needs root)
    #[arg(long)]
    pub host_network: bool,
}

impl SandboxArgs {
    /// `options` with these choices.
    pub(crate) fn apply(&self, options: init_trace::local::EmulatorOptions) -> init_trace::local::EmulatorOptions {
        init_trace::local::EmulatorOptions {
            private_filesystem: !self.host_filesystem,
            isolate_runtime_api: !self.host_network,
            ..options
        }
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Address to listen on; only loopback unless --allow-remote
    #[arg(long, default_value = "127.0.0.1:9001")]
    pub listen: std::net::SocketAddr,
    /// Listen on a non-loopback address (there is no authentication: anyone who reaches it can run code)
    #[arg(long)]
    pub allow_remote: bool,
    /// JSONL file each ended environment's sample is appended to [default: coldfront-runs/serve-<time>.jsonl]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where created functions' code is unpacked [default: a temporary directory removed at exit]
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Seconds an environment may stay idle before it is torn down
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub idle_timeout: u64,
    /// Milliseconds a change stays InProgress (and a new function Pending), as on Lambda
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub update_delay_ms: u64,
    /// Environments a function may have at once; more concurrent invokes are throttled (429)
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub concurrency: u32,
    /// The function RIE's path (/2015-03-31/functions/function/invocations) runs [default: the first function]
    #[arg(long, value_name = "FUNCTION")]
    pub rie_function: Option<String>,
    /// Also listen here, e.g. 127.0.0.1:9000 where RIE scripts expect it (same API on both)
    #[arg(long, value_name = "ADDR")]
    pub rie_listen: Option<std::net::SocketAddr>,
    /// Run without Lambda's CPU share and memory limit (cgroups)
    #[arg(long)]
    pub no_throttle: bool,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// Print the address and file as one JSON line on stdout when ready, and the summary as JSON at the end
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
    /// Functions to run, interleaved (default: wiki control)
    #[arg(value_name = "FUNCTION")]
    pub functions: Vec<String>,
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Cold starts per function
    #[arg(short = 'n', long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub cold_starts: u32,
    /// Invokes per cold start, overriding the spec (the first is the cold one)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub invokes: Option<u32>,
    /// Memory size in MB, overriding the spec (sets the CPU share: memory / 1769 MB of a core)
    #[arg(long, value_parser = clap::value_parser!(u32).range(128..=10_240))]
    pub memory: Option<u32>,
    /// JSONL file the samples are appended to [default: coldfront-runs/run-<time>.jsonl]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Run without Lambda's CPU share and memory limit (cgroups)
    #[arg(long)]
    pub no_throttle: bool,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// Print the summary as JSON on stdout instead of text
    #[arg(long)]
    pub json: bool,
    /// Do not print per-sample lines (the summary is still printed)
    #[arg(short, long)]
    pub quiet: bool,
    /// Where cold starts run: the embedded emulator, or AWS Lambda (the functions are names or ARNs there)
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    pub backend: Backend,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub invoke: AwsInvokeArgs,
    /// On AWS, force this many cold starts at once: on K of the named functions
    /// (`--parallel 4 api-1 api-2 api-3 api-4`, copies deployed alike), or, with one
    /// function named, on it and K-1 copies coldfront makes of it from its own code and
    /// deletes at the end (`--parallel 4 api`)
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallel: u32,
    #[command(flatten)]
    pub cost: CostArgs,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

/// Functions coldfront creates on AWS for one run and deletes at its end.
#[derive(Debug, Clone, Args)]
pub(crate) struct DeployArgs {
    /// On AWS, the execution role (ARN) of the functions coldfront creates, e.g.
    /// `--role arn:aws:iam::123456789012:role/lambda-basic` [copies: the function's own]
    #[arg(long, value_name = "ARN")]
    pub role: Option<String>,
    /// On AWS, leave the functions coldfront created in place at the end (their names are
    /// printed; delete them yourself)
    #[arg(long)]
    pub keep: bool,
}

/// The AWS backend's spending guard.
#[derive(Debug, Clone, Args)]
pub(crate) struct CostArgs {
    /// On AWS, run even when the cost estimate printed before the run is above --cost-limit-usd
    #[arg(long)]
    pub yes: bool,
    /// On AWS, the estimate (an upper bound, USD) above which the run needs --yes,
    /// e.g. `--cost-limit-usd 5` or `--cost-limit-usd 0` to confirm every run
    #[arg(long, default_value_t = 1.0, value_name = "USD")]
    pub cost_limit_usd: f64,
}

/// Where cold starts run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Backend {
    /// The embedded Lambda emulator, on loopback
    Local,
    /// AWS Lambda, through the standard credential chain
    Aws,
}

/// How to reach Lambda on AWS (or another Lambda API).
#[derive(Debug, Clone, Args)]
pub(crate) struct AwsArgs {
    /// AWS region [default: the credential chain's]
    #[arg(long)]
    pub region: Option<String>,
    /// Named profile from the AWS config files
    #[arg(long)]
    pub profile: Option<String>,
    /// Another Lambda API endpoint, e.g. coldfront serve's http://127.0.0.1:9001
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Where each function's original configuration is journaled until it is restored
    #[arg(long, value_name = "DIR", default_value = "coldfront-runs/aws-journal")]
    pub journal_dir: PathBuf,
}

/// How each forced cold start on AWS is invoked and traced (`run` and `trace`).
#[derive(Debug, Clone, Args)]
pub(crate) struct AwsInvokeArgs {
    /// The event each cold start is invoked with, on AWS (JSON)
    #[arg(long, default_value = "{}", value_name = "JSON")]
    pub event: String,
    /// On AWS, seconds to wait for each cold start's X-Ray trace (0: do not fetch traces)
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub xray_wait_s: u64,
}

impl AwsInvokeArgs {
    /// Refuses an `--event` that is not JSON before anything on AWS is changed.
    pub fn check_event(&self) -> anyhow::Result<()> {
        use anyhow::Context as _;
        serde_json::from_str::<serde_json::Value>(&self.event)
            .with_context(|| format!("--event {:?} is not JSON", self.event))?;
        Ok(())
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct AwsCommand {
    #[command(subcommand)]
    pub action: AwsAction,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum AwsAction {
    /// Put back every function a run changed and could not restore, and delete the functions
    /// a run created and could not delete (after a SIGKILL, a crash)
    #[command(
        after_help = "Examples:\n  coldfront aws restore\n  coldfront aws restore --region eu-west-1 --journal-dir coldfront-runs/aws-journal"
    )]
    Restore(AwsArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct FunctionsArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
