//! One module per subcommand.

pub(crate) mod auth;
pub(crate) mod cdn;
mod cdn_logs;
mod functions;
mod run;
mod run_aws;
mod serve;
pub(crate) mod trace;
mod trace_aws;

use std::path::Path;

use anyhow::Context;
use init_trace::spec::SpecSet;

use crate::cli::{Cli, Command, SpecArgs};
use crate::ui;

pub(crate) async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    if cli.attach.is_some() && cli.command.is_some() {
        anyhow::bail!(
            "--attach is for the interactive UI: give it without a subcommand (coldfront --attach http://127.0.0.1:9001)"
        );
    }
    match cli.command {
        // The embedded default: the interactive UI on the bundled functions (or ./coldfront.toml).
        None => {
            ui::run(
                load_specs(&SpecArgs { config: None })?.functions().cloned().collect(),
                cli.attach,
            )
            .await
        }
        Some(Command::Run(args)) if args.backend == crate::cli::Backend::Aws => run_aws::run(args).await,
        Some(Command::Run(args)) => run::run(args).await,
        Some(Command::Aws(command)) => run_aws::maintain(command).await,
        Some(Command::Serve(args)) => serve::serve(args).await,
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

/// Fails, naming the culprit, when a file sits where a directory on the way to `dir` must
/// be: creating it would only say "File exists" or "Not a directory".
/// Says on stderr how far sandboxes will differ from Lambda's isolation, and why.
pub(crate) fn report_isolation(emulator: &init_trace::local::LocalEmulator) {
    use init_trace::sample::Isolation;
    match emulator.filesystem_view() {
        Isolation::Applied => {}
        Isolation::Disabled => eprintln!(
            "note: --host-filesystem: functions see the host's filesystem and can write wherever coldfront can; on Lambda only /tmp is writable"
        ),
        Isolation::Unavailable(reason) => eprintln!(
            "warning: functions see the host's filesystem, NOT Lambda's view ({reason}): /tmp is the host's (TMPDIR is per sandbox) and code that writes outside /tmp works here but fails on Lambda"
        ),
    }
    match emulator.runtime_api_isolation() {
        Isolation::Applied => {}
        Isolation::Disabled => eprintln!(
            "note: --host-network: each Runtime API listens on the host's loopback, where any local process can reach it"
        ),
        Isolation::Unavailable(reason) => eprintln!(
            "warning: each Runtime API listens on the host's loopback, where any local process can answer for the function ({reason})"
        ),
    }
}

pub(crate) fn check_out_dir(dir: &Path, flag: &str) -> anyhow::Result<()> {
    if let Some(file) = dir
        .ancestors()
        .find(|a| !a.as_os_str().is_empty() && a.exists() && !a.is_dir())
    {
        anyhow::bail!(
            "{flag} {}: {} is a file, not a directory; choose another {flag}",
            dir.display(),
            file.display()
        );
    }
    Ok(())
}

/// Opens `--out`, the JSONL file samples are appended to, naming the flag when it is a
/// directory or a file stands where a directory on its way must be.
pub(crate) fn samples_file(out: &Path) -> anyhow::Result<init_trace::sample::SampleWriter> {
    if let Some(parent) = out.parent() {
        check_out_dir(parent, "--out")?;
    }
    if out.is_dir() {
        anyhow::bail!(
            "--out {}: is a directory; give the samples file to append to",
            out.display()
        );
    }
    Ok(init_trace::sample::SampleWriter::append(out)?)
}

/// Ctrl-C, SIGTERM and SIGHUP cancel the cold start in progress (it is still recorded) and
/// end the loop, so the reports are written from everything measured whichever way the run
/// is stopped; a second signal exits at once. The exit code names the signal (130, 143 or
/// 129, as a shell reports a process the signal killed).
///
/// The watcher has a thread (and runtime) of its own: the command's current-thread runtime
/// may be busy in a blocking step (making a cgroup, waiting for the sandbox directories to
/// be removed) exactly when the second signal must still work. It returns once the handlers
/// are installed, so no signal from then on falls through to the default (killing coldfront
/// with its sandbox half torn down).
pub(crate) fn cancel_on_ctrl_c(handle: init_trace::local::CancelHandle, what_happens: &'static str) {
    let (installed_tx, installed) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("coldfront-signals".to_owned())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let (Ok(mut interrupts), Ok(mut terminates), Ok(mut hangups)) = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                    signal(SignalKind::hangup()),
                ) else {
                    return;
                };
                drop(installed_tx);
                let mut next = async || -> (u8, &'static str) {
                    tokio::select! {
                        _ = interrupts.recv() => (crate::exit::INTERRUPTED, "Ctrl-C"),
                        _ = terminates.recv() => (crate::exit::TERMINATED, "SIGTERM"),
                        _ = hangups.recv() => (crate::exit::HANGUP, "SIGHUP"),
                    }
                };
                let (code, name) = next().await;
                crate::exit::stopped_by(code);
                eprintln!("\n{name}: {what_happens} (again to force)");
                handle.cancel();
                let (code, _) = next().await;
                std::process::exit(i32::from(code));
            });
        });
    if spawned.is_ok() {
        // Ends when the handlers are installed (or could not be).
        let _ = installed.recv();
    }
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
