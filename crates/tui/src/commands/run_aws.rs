//! `coldfront run --backend aws` and `coldfront aws restore`: forced cold starts on AWS
//! Lambda (or any Lambda API), written and summarised as the local ones are, with every
//! function put back however the run ends.

use std::path::PathBuf;

use aws_backend::deploy::{self, Created, Plan, RunId, Subject};
use aws_backend::{ColdStarts, Target};
use init_trace::local::cancel_pair;

use crate::cli::{AwsAction, AwsArgs, AwsCommand, CostArgs, DeployArgs, RunArgs};
use crate::output::outln;

pub(super) fn target(args: &AwsArgs) -> Target {
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
    // One function named with --parallel K: coldfront makes K-1 copies of it.
    let copies = if args.functions.len() == 1 {
        args.parallel as usize - 1
    } else {
        0
    };
    if args.parallel as usize > args.functions.len() && copies == 0 {
        anyhow::bail!(
            "--parallel {}: name one function (coldfront runs it beside {} copies it makes of it) or at least {} \
             deployed alike; two cold starts of one function at once would retire each other's environments",
            args.parallel,
            args.parallel - 1,
            args.parallel
        );
    }
    if copies == 0 && (args.deploy.keep || args.deploy.role.is_some()) {
        anyhow::bail!(
            "--keep and --role are for the copies coldfront makes: name one function with --parallel K (K > 1)"
        );
    }
    args.invoke.check_event()?;
    let out = args.out.clone().unwrap_or_else(default_out);
    if let Some(parent) = out.parent() {
        super::check_out_dir(parent, "--out")?;
    }
    let (client, xray) = aws_backend::clients(&target(&args.aws)).await;
    let (cancel_handle, cancel) = cancel_pair();
    super::cancel_on_ctrl_c(
        cancel_handle,
        "finishing the current cold start, restoring every function, then stopping",
    );

    // Declared before the runs, so that on a panic the runs are restored (the copies'
    // among them) before the copies are deleted.
    let mut created: Vec<Created> = Vec::new();
    let plans = if copies > 0 {
        plan_copies(&client, &args.functions[0], copies, &args.deploy, &args.aws).await?
    } else {
        Vec::new()
    };
    let runs = prepare_all(&args.functions, &client, &xray, &args.aws, args.invoke.xray_wait_s).await?;
    let mut work = runs
        .iter()
        .map(|run| run.work(u64::from(args.cold_starts), args.memory))
        .collect::<Vec<_>>();
    // The copies are created only once the estimate is accepted; until then each is
    // estimated as what it will be, the function's twin.
    for plan in &plans {
        work.push(aws_backend::cost::Work {
            function: plan.name().to_owned(),
            ..runs[0].work(u64::from(args.cold_starts), args.memory)
        });
    }
    let mut runs = within_budget(runs, &work, &args.cost).await?;
    match create_all(&client, &xray, &plans, &args.aws, args.invoke.xray_wait_s).await {
        Ok((made, made_runs)) => {
            created.extend(made);
            runs.extend(made_runs);
        }
        Err(err) => {
            discard_all(runs).await;
            return Err(err);
        }
    }
    let mut writer = match super::samples_file(&out) {
        Ok(writer) => writer,
        Err(err) => {
            discard_all(runs).await;
            finish_created(created, false).await;
            return Err(err);
        }
    };
    let total = u64::from(args.cold_starts) * runs.len() as u64;
    let progress = super::cold_start_progress(total, args.json);
    let width = runs.iter().map(|run| run.original().function.len()).max().unwrap_or(8);
    let mut samples = Vec::new();
    let mut failure = None;
    let parallel = args.parallel.max(1) as usize;
    'rounds: for round in 0..u64::from(args.cold_starts) {
        // Interleaved, as the local backend runs them, so drift hits all alike; with
        // --parallel, `parallel` functions at a time.
        let mut pending = std::mem::take(&mut runs);
        while !pending.is_empty() {
            if cancel.is_cancelled() || crate::output::closed() {
                runs.append(&mut pending);
                break 'rounds;
            }
            let rest = pending.split_off(parallel.min(pending.len()));
            let index = samples.len() as u64;
            let (back, outcomes) = aws_backend::cold_starts_together(
                std::mem::replace(&mut pending, rest),
                index,
                &args.invoke.event,
                args.memory,
            )
            .await;
            runs.extend(back);
            for (offset, outcome) in outcomes.into_iter().enumerate() {
                match outcome {
                    Ok(sample) => {
                        if let Err(err) = writer.write(&sample) {
                            failure = Some(anyhow::Error::from(err));
                        } else {
                            progress.set_message(sample.function.clone());
                            super::run::print_sample(&args, &progress, &sample, width);
                            progress.inc(1);
                            samples.push(sample);
                        }
                    }
                    Err(err) => {
                        failure = Some(anyhow::Error::from(err).context(format!(
                            "cold start {} of round {}",
                            index + offset as u64 + 1,
                            round + 1
                        )));
                    }
                }
            }
            if failure.is_some() {
                runs.append(&mut pending);
                break 'rounds;
            }
        }
    }
    progress.finish_and_clear();
    let mut restored = restore_all(runs).await;
    restored &= finish_created(created, args.deploy.keep).await;
    if let Some(err) = failure {
        return Err(err);
    }
    if !restored {
        anyhow::bail!(
            "some functions could not be restored or deleted; their journals are in {} (`coldfront aws restore` retries)",
            args.aws.journal_dir.display()
        );
    }
    super::run::report(&args, &out, &samples, cancel.is_cancelled(), total)
}

/// Reads `function`, deletes what an interrupted run left for it, and plans `count`
/// copies of it from its own code; nothing is created yet.
async fn plan_copies(
    client: &aws_backend::LambdaClient,
    function: &str,
    count: usize,
    deploy: &DeployArgs,
    aws: &AwsArgs,
) -> anyhow::Result<Vec<Plan>> {
    let subject = Subject::describe(client, function).await?;
    left_behind(client, aws, subject.name()).await?;
    Ok(subject.copies(count, deploy.role.as_deref(), &RunId::new()).await?)
}

/// Deletes what an interrupted run created from `subject` and left behind, saying so.
pub(super) async fn left_behind(
    client: &aws_backend::LambdaClient,
    aws: &AwsArgs,
    subject: &str,
) -> anyhow::Result<()> {
    for name in deploy::delete_left_behind(client, &aws.journal_dir, subject).await? {
        eprintln!("Deleted {name}, left behind by an interrupted run");
    }
    Ok(())
}

/// Creates every planned function, a few at a time (each journaled before it is
/// created), waiting until each is Active, and prepares its cold starts; on an error,
/// those created are deleted before it returns.
pub(super) async fn create_all(
    client: &aws_backend::LambdaClient,
    xray: &aws_backend::XrayClient,
    plans: &[Plan],
    aws: &AwsArgs,
    xray_wait_s: u64,
) -> anyhow::Result<(Vec<Created>, Vec<ColdStarts>)> {
    let mut created = Vec::new();
    let mut failure = None;
    for outcome in deploy::create_together(client, plans, &aws.journal_dir, deploy::CREATE_CONCURRENCY).await {
        match outcome {
            Ok(function) => {
                eprintln!("Created {} ({})", function.name(), function.purpose());
                created.push(function);
            }
            // The first is returned; any other is said here.
            Err(err) if failure.is_none() => failure = Some(err),
            Err(err) => eprintln!("error: {err}"),
        }
    }
    if let Some(err) = failure {
        finish_created(created, false).await;
        return Err(err.into());
    }
    let names: Vec<String> = created.iter().map(|c| c.name().to_owned()).collect();
    match prepare_all(&names, client, xray, aws, xray_wait_s).await {
        Ok(runs) => Ok((created, runs)),
        Err(err) => {
            finish_created(created, false).await;
            Err(err)
        }
    }
}

/// Deletes the functions coldfront created (or, with `keep`, leaves them and says so);
/// returns false, having said why, when one could not be.
pub(super) async fn finish_created(created: Vec<Created>, keep: bool) -> bool {
    let mut all = true;
    for function in created {
        let name = function.name().to_owned();
        let outcome = if keep {
            function.keep().map(|name| {
                eprintln!("Kept {name} (--keep); delete it with `aws lambda delete-function --function-name {name}`");
            })
        } else {
            function.delete().await.map(|()| eprintln!("Deleted {name}"))
        };
        if let Err(err) = outcome {
            eprintln!("error: {name}: {err}");
            all = false;
        }
    }
    all
}

/// Journals every function before the first change; from then on, whatever happens,
/// each is restored before the command returns (by [`restore_all`], or by `ColdStarts`'
/// drop on a panic). On an error, those already prepared are given up unchanged.
pub(super) async fn prepare_all(
    functions: &[String],
    client: &aws_backend::LambdaClient,
    xray: &aws_backend::XrayClient,
    aws: &AwsArgs,
    xray_wait_s: u64,
) -> anyhow::Result<Vec<ColdStarts>> {
    let mut runs = Vec::new();
    for function in functions {
        match ColdStarts::prepare(client.clone(), function, &aws.journal_dir).await {
            Ok(prepared) => {
                let prepared = prepared.with_endpoint(aws.endpoint_url.clone());
                runs.push(if xray_wait_s > 0 {
                    prepared.with_xray(xray.clone(), std::time::Duration::from_secs(xray_wait_s))
                } else {
                    prepared
                });
            }
            Err(err) => {
                discard_all(runs).await;
                return Err(err.into());
            }
        }
    }
    Ok(runs)
}

/// Prints the run's cost estimate; above the limit without `--yes`, gives every function
/// up unchanged and refuses.
pub(super) async fn within_budget(
    runs: Vec<ColdStarts>,
    work: &[aws_backend::cost::Work],
    cost: &CostArgs,
) -> anyhow::Result<Vec<ColdStarts>> {
    let region = runs.first().map(|r| r.original().region.clone());
    let estimate = aws_backend::cost::estimate(work, region.as_deref());
    eprintln!("Cost estimate: {estimate}");
    if estimate.max_total_usd <= cost.cost_limit_usd || cost.yes {
        return Ok(runs);
    }
    discard_all(runs).await;
    anyhow::bail!(
        "refusing to run: the estimate (at most ${:.4}) is above --cost-limit-usd {}; nothing was changed. \
         Add --yes to run it anyway, or fewer cold starts (-n) or a smaller --memory",
        estimate.max_total_usd,
        cost.cost_limit_usd
    )
}

/// Gives every function up (restoring any a cold start changed), reporting failures.
pub(super) async fn discard_all(runs: Vec<ColdStarts>) {
    for run in runs {
        let function = run.original().function.clone();
        if let Err(err) = run.discard().await {
            eprintln!("error: cannot give {function} up cleanly: {err}");
        }
    }
}

/// Restores each function, reporting failures (their journals stay for `aws restore`).
pub(super) async fn restore_all(runs: Vec<ColdStarts>) -> bool {
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
            let cleanup = aws_backend::restore_journals(&client, &args.journal_dir).await?;
            if cleanup.restored.is_empty() && cleanup.deleted.is_empty() {
                outln!("Nothing to restore: no journal in {}", args.journal_dir.display());
            }
            if !cleanup.restored.is_empty() {
                outln!("Restored: {}", cleanup.restored.join(", "));
            }
            if !cleanup.deleted.is_empty() {
                outln!(
                    "Deleted (created by an interrupted run): {}",
                    cleanup.deleted.join(", ")
                );
            }
            Ok(crate::exit::OK)
        }
    }
}
