//! `coldfront run --backend aws` and `coldfront aws restore`: forced cold starts on AWS
//! Lambda (or any Lambda API), written and summarised as the local ones are, with every
//! function put back however the run ends.

use std::path::PathBuf;

use anyhow::Context as _;
use aws_backend::{ColdStarts, Target};
use init_trace::local::cancel_pair;

use crate::cli::{AwsAction, AwsArgs, AwsCommand, RunArgs};
use crate::output::outln;

fn target(args: &AwsArgs) -> Target {
    Target {
        region: args.region.clone(),
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
    }
}

fn default_out() -> PathBuf {
    PathBuf::from("coldfront-runs").join(format!("aws-{}.jsonl", chrono::Local::now().format("%Y%m%d-%H%M%S")))
}

pub(crate) async fn run(args: RunArgs) -> anyhow::Result<u8> {
    if args.functions.is_empty() {
        anyhow::bail!(
            "--backend aws needs the functions to run: names or ARNs (coldfront run --backend aws my-function)"
        );
    }
    if args.invokes.is_some_and(|n| n > 1) {
        anyhow::bail!("--invokes: the AWS backend runs one invoke per forced cold start");
    }
    serde_json::from_str::<serde_json::Value>(&args.event)
        .with_context(|| format!("--event {:?} is not JSON", args.event))?;
    let out = args.out.clone().unwrap_or_else(default_out);
    let mut writer = super::samples_file(&out)?;
    let (client, xray) = aws_backend::clients(&target(&args.aws)).await;
    let (cancel_handle, cancel) = cancel_pair();
    super::cancel_on_ctrl_c(
        cancel_handle,
        "finishing the current cold start, restoring every function, then stopping",
    );

    // Every function is journaled before the first change; from here on, whatever
    // happens, each is restored before the command returns.
    let mut runs = Vec::new();
    for function in &args.functions {
        match ColdStarts::prepare(client.clone(), function, &args.aws.journal_dir).await {
            Ok(prepared) if args.xray_wait_s > 0 => {
                runs.push(prepared.with_xray(xray.clone(), std::time::Duration::from_secs(args.xray_wait_s)));
            }
            Ok(prepared) => runs.push(prepared),
            Err(err) => {
                restore_all(runs).await;
                return Err(err.into());
            }
        }
    }
    let total = u64::from(args.cold_starts) * runs.len() as u64;
    let progress = super::cold_start_progress(total, args.json);
    let width = args.functions.iter().map(String::len).max().unwrap_or(8);
    let mut samples = Vec::new();
    let mut failure = None;
    'rounds: for round in 0..u64::from(args.cold_starts) {
        // Interleaved, as the local backend runs them, so drift hits all alike.
        for run in &mut runs {
            if cancel.is_cancelled() || crate::output::closed() {
                break 'rounds;
            }
            let index = samples.len() as u64;
            match run.cold_start_at(index, &args.event, args.memory).await {
                Ok(sample) => {
                    if let Err(err) = writer.write(&sample) {
                        failure = Some(anyhow::Error::from(err));
                        break 'rounds;
                    }
                    progress.set_message(sample.function.clone());
                    super::run::print_sample(&args, &progress, &sample, width);
                    progress.inc(1);
                    samples.push(sample);
                }
                Err(err) => {
                    failure =
                        Some(anyhow::Error::from(err).context(format!("cold start {} of round {round}", index + 1)));
                    break 'rounds;
                }
            }
        }
    }
    progress.finish_and_clear();
    let restored = restore_all(runs).await;
    if let Some(err) = failure {
        return Err(err);
    }
    if !restored {
        anyhow::bail!(
            "some functions could not be restored; their journals are in {}",
            args.aws.journal_dir.display()
        );
    }
    super::run::report(&args, &out, &samples, cancel.is_cancelled(), total)
}

/// Restores each function, reporting failures (their journals stay for `aws restore`).
async fn restore_all(runs: Vec<ColdStarts>) -> bool {
    let mut all = true;
    for run in runs {
        let function = run.original().function.clone();
        if let Err(err) = run.restore().await {
            eprintln!("error: cannot restore {function}: {err}");
            all = false;
        }
    }
    all
}

pub(crate) async fn maintain(command: AwsCommand) -> anyhow::Result<u8> {
    match command.action {
        AwsAction::Restore(args) => {
            let client = aws_backend::client(&target(&args)).await;
            let restored = aws_backend::restore_journals(&client, &args.journal_dir).await?;
            if restored.is_empty() {
                outln!("Nothing to restore: no journal in {}", args.journal_dir.display());
            } else {
                outln!("Restored: {}", restored.join(", "));
            }
            Ok(crate::exit::OK)
        }
    }
}
