//! One module per subcommand.

pub(crate) mod auth;
pub(crate) mod cdn;
mod functions;
mod run;
pub(crate) mod trace;

use std::path::Path;

use anyhow::Context;
use init_trace::spec::SpecSet;

use crate::cli::{Cli, Command, SpecArgs};
use crate::ui;

pub(crate) async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        // The embedded default: the interactive UI on the bundled functions (or ./coldfront.toml).
        None => ui::run(load_specs(&SpecArgs { config: None })?.functions().cloned().collect()).await,
        Some(Command::Run(args)) => run::run(args).await,
        Some(Command::Functions(args)) => functions::list(&args),
        Some(Command::Trace(args)) => trace::trace(args).await,
        Some(Command::Report(args)) => trace::report(&args),
        Some(Command::Cdn(args)) => cdn::run(args).await,
        Some(Command::Auth(args)) => auth::run(args).await,
        Some(Command::BenchUi(args)) => ui::bench::run(&args),
    }
}

/// The functions to choose from: `--config`, else `./coldfront.toml`, else the bundled ones.
pub(crate) fn load_specs(args: &SpecArgs) -> anyhow::Result<SpecSet> {
    let default = Path::new("coldfront.toml");
    match &args.config {
        Some(path) => Ok(SpecSet::load(path)?),
        None if default.is_file() => Ok(SpecSet::load(default)?),
        None => SpecSet::bundled().context("cannot prepare the bundled functions"),
    }
}

/// Ctrl-C cancels the cold start in progress (it is still recorded) and ends the loop;
/// a second Ctrl-C exits at once.
pub(crate) fn cancel_on_ctrl_c(handle: init_trace::local::CancelHandle, what_happens: &'static str) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: {what_happens} (Ctrl-C again to force)");
            handle.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(i32::from(crate::exit::INTERRUPTED));
            }
        }
    });
}

/// A progress bar of cold starts on stderr; hidden when stdout carries JSON.
pub(crate) fn cold_start_progress(total: u64, hidden: bool) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let target = if hidden {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let progress = ProgressBar::with_draw_target(Some(total), target);
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} cold starts  {msg}")
            .expect("valid template"),
    );
    progress.enable_steady_tick(std::time::Duration::from_millis(120));
    progress
}
