//! `coldfront trace --backend aws`: the trace experiment (subject vs controls, warm-ups,
//! a memory sweep, interleaved) on Lambda functions, written and reported exactly as the
//! local one is. INIT is split by what AWS exposes (see `init_trace::attribution`), and
//! the report page says which segments it does not.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use init_trace::experiment::Role;
use init_trace::local::cancel_pair;
use init_trace::report::summary::{Difference, RunSummary};
use init_trace::sample::SampleWriter;
use init_trace::sample::VariantKind;

use aws_backend::deploy::{Created, Plan, RunId, Subject};

use super::run_aws::{
    create_all, discard_all, finish_created, left_behind, prepare_all, restore_all, target, within_budget,
};
use super::trace::{TraceArgs, finish};
use crate::exit;

/// One cold start of the schedule: which function, at which memory size, warm-up or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    function: usize,
    memory_mb: Option<u32>,
    warmup: bool,
}

/// The local experiment's order: warm-ups first, then rounds; in each round every memory
/// size, and at each size every function, so drift hits all of them alike.
fn schedule(functions: usize, memory_mb: &[u32], warmup: u32, cold_starts: u32) -> Vec<Step> {
    let sizes: Vec<Option<u32>> = if memory_mb.is_empty() {
        vec![None]
    } else {
        memory_mb.iter().copied().map(Some).collect()
    };
    let mut steps = Vec::new();
    for (rounds, warmup) in [(warmup, true), (cold_starts, false)] {
        for _ in 0..rounds {
            for memory_mb in &sizes {
                for function in 0..functions {
                    steps.push(Step {
                        function,
                        memory_mb: *memory_mb,
                        warmup,
                    });
                }
            }
        }
    }
    steps
}

pub(crate) async fn trace(args: TraceArgs) -> anyhow::Result<u8> {
    let controls: Vec<String> = args.controls.iter().filter(|c| c.as_str() != "none").cloned().collect();
    if let Some(same) = controls.iter().find(|c| **c == args.subject) {
        bail!("--control {same:?} is also the subject; pick a different control or `--control none`");
    }
    if args.invokes.is_some_and(|n| n > 1) {
        bail!("--invokes: the AWS backend runs one invoke per forced cold start");
    }
    let named = args.control.named_variants();
    for (i, (flag, name, _)) in named.iter().enumerate() {
        if *name == args.subject || controls.contains(name) || named[..i].iter().any(|(_, n, _)| n == name) {
            bail!("{flag} {name:?} is already the subject, a control or the other variant; name a function of its own");
        }
    }
    let creates = args.control.deploy_control || args.control.vpc_variants;
    if !creates && (args.deploy.keep || args.deploy.role.is_some()) {
        bail!("--keep and --role are for the functions coldfront creates: add --deploy-control or --vpc-variants");
    }
    args.invoke.check_event()?;
    let dir = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("coldfront-runs").join(format!("trace-aws-{}", chrono::Local::now().format("%Y%m%d-%H%M%S")))
    });
    super::check_out_dir(&dir, "--out")?;
    let samples_path = dir.join("samples.jsonl");
    if samples_path.exists() {
        bail!(
            "{} already holds a run; choose another --out or re-render it with `coldfront report {}`",
            dir.display(),
            dir.display()
        );
    }
    let (client, xray) = aws_backend::clients(&target(&args.aws)).await;
    // Declared before the runs, so that on a panic the runs are restored (the control's
    // among them) before the control is deleted.
    let mut deployed: Vec<Created> = Vec::new();
    let plans = plan_created(&client, &args).await?;
    // The order runs take: the subject, what coldfront creates, the variants the user
    // named, the controls.
    let mut functions = vec![args.subject.clone()];
    functions.extend(plans.iter().map(|p| p.name().to_owned()));
    functions.extend(named.iter().map(|(_, name, _)| name.clone()));
    functions.extend(controls.iter().cloned());
    // The created variants are neither subject nor control: their differences from the
    // subject are reported as what only AWS has.
    let variants: Vec<Option<VariantKind>> = std::iter::once(None)
        .chain(plans.iter().map(Plan::variant))
        .chain(named.iter().map(|(_, _, kind)| Some(*kind)))
        .chain(controls.iter().map(|_| None))
        .collect();
    let roles: Vec<Role> = variants
        .iter()
        .enumerate()
        .map(|(i, variant)| match (i, variant) {
            (0, _) => Role::Subject,
            (_, Some(_)) => Role::Variant,
            (_, None) => Role::Control,
        })
        .collect();
    let (cancel_handle, cancel) = cancel_pair();
    super::cancel_on_ctrl_c(
        cancel_handle,
        "finishing the current cold start, restoring every function, deleting the ones coldfront created, then writing the reports",
    );
    // The functions coldfront creates are created only once the estimate is accepted;
    // until then each is estimated as what it will be, the subject's twin.
    let created = plans.len();
    let existing: Vec<String> = std::iter::once(args.subject.clone())
        .chain(named.iter().map(|(_, name, _)| name.clone()))
        .chain(controls.iter().cloned())
        .collect();
    let runs = prepare_all(&existing, &client, &xray, &args.aws, args.invoke.xray_wait_s).await?;
    let steps = schedule(functions.len(), &args.memory, args.warmup, args.cold_starts);
    let work: Vec<_> = steps
        .iter()
        .map(|step| match step.function {
            0 => runs[0].work(1, step.memory_mb),
            i if i <= created => aws_backend::cost::Work {
                function: plans[i - 1].name().to_owned(),
                ..runs[0].work(1, step.memory_mb)
            },
            i => runs[i - created].work(1, step.memory_mb),
        })
        .collect();
    let mut runs = within_budget(runs, &work, &args.cost).await?;
    match create_all(&client, &xray, &plans, &args.aws, args.invoke.xray_wait_s).await {
        Ok((made, made_runs)) => {
            deployed.extend(made);
            // They run right after the subject, as they are scheduled.
            for (offset, run) in made_runs.into_iter().enumerate() {
                runs.insert(1 + offset, run);
            }
        }
        Err(err) => {
            discard_all(runs).await;
            return Err(err);
        }
    }
    let opened = std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the run directory {}", dir.display()))
        .and_then(|()| Ok(SampleWriter::append(&samples_path)?));
    let mut writer = match opened {
        Ok(writer) => writer,
        Err(err) => {
            discard_all(runs).await;
            finish_created(deployed, false).await;
            return Err(err);
        }
    };
    let total = steps.len() as u64;
    let progress = super::cold_start_progress(total, args.json);
    let mut samples = Vec::new();
    let mut failure = None;
    for step in steps {
        if cancel.is_cancelled() || crate::output::closed() {
            break;
        }
        let index = samples.len() as u64;
        match runs[step.function]
            .cold_start_at(index, &args.invoke.event, step.memory_mb)
            .await
        {
            Ok(mut sample) => {
                sample.labels.role = Some(roles[step.function].as_str().to_owned());
                sample.labels.variant = variants[step.function];
                sample.labels.warmup = step.warmup;
                if let Err(err) = writer.write(&sample) {
                    failure = Some(anyhow::Error::from(err));
                    break;
                }
                progress.set_message(format!(
                    "{} @ {} MB: {}",
                    sample.function,
                    sample.memory_size_mb,
                    sample.outcome()
                ));
                progress.inc(1);
                samples.push(sample);
            }
            Err(err) => {
                failure = Some(anyhow::Error::from(err).context(format!(
                    "cold start {} of {total} ({})",
                    index + 1,
                    functions[step.function]
                )));
                break;
            }
        }
    }
    progress.finish_and_clear();
    let mut restored = restore_all(runs).await;
    restored &= finish_created(deployed, args.deploy.keep).await;
    let interrupted = cancel.is_cancelled();
    // Whatever was measured is reported, also when a cold start failed mid-run.
    if !samples.is_empty() {
        // The host's description (CPU, kernel) says nothing about where AWS ran them.
        let summary = RunSummary::from_samples(&samples, None);
        if variants.iter().any(Option::is_some) {
            report_differences(&dir, &summary.differences)?;
        }
        finish(&dir, &samples, &summary, args.json, interrupted.then_some(total))?;
    }
    if let Some(err) = failure {
        return Err(err);
    }
    if !restored {
        bail!(
            "some functions could not be restored or deleted; their journals are in {} (`coldfront aws restore` retries)",
            args.aws.journal_dir.display()
        );
    }
    Ok(exit::for_samples(interrupted, &samples))
}

/// Reads the subject, checks the variants the user named against it, deletes what an
/// interrupted run left for it, and plans what this run creates: the bundled control
/// deployed like it (`--deploy-control`), then its variants without EFS and without VPC
/// that the user did not name (`--vpc-variants`); nothing is created yet.
async fn plan_created(client: &aws_backend::LambdaClient, args: &TraceArgs) -> anyhow::Result<Vec<Plan>> {
    let named = args.control.named_variants();
    let creates = args.control.deploy_control || args.control.vpc_variants;
    if !creates && named.is_empty() {
        return Ok(Vec::new());
    }
    let subject = Subject::describe(client, &args.subject).await?;
    let mut seen = vec![subject.name().to_owned()];
    for (flag, name, kind) in &named {
        let variant = Subject::describe(client, name)
            .await
            .with_context(|| format!("{flag} {name}"))?;
        // A name and an ARN can be one function.
        if seen.iter().any(|n| n == variant.name()) {
            bail!(
                "{flag} {name} is {}, already the subject or the other variant; name a function of its own",
                variant.name()
            );
        }
        seen.push(variant.name().to_owned());
        if let Err(err) = subject.check_variant(&variant, *kind) {
            bail!("{flag} {name}: {err}");
        }
    }
    let kinds: Vec<VariantKind> = named.iter().map(|(_, _, kind)| *kind).collect();
    if let Some((_, name, _)) = named.iter().find(|(_, _, kind)| *kind == VariantKind::WithoutVpc)
        && subject.mounts_file_systems()
        && !kinds.contains(&VariantKind::WithoutEfs)
        && !args.control.vpc_variants
    {
        bail!(
            "--no-vpc-variant {name}: {} mounts an EFS file system, so its INIT against {name}'s holds the storage mount too; \
             name its variant without EFS with --no-efs-variant, or add --vpc-variants to have coldfront create it",
            subject.name()
        );
    }
    if !creates {
        return Ok(Vec::new());
    }
    left_behind(client, &args.aws, subject.name()).await?;
    let run = RunId::new();
    let mut plans = Vec::new();
    if let (true, Some(role)) = (args.control.deploy_control, &args.deploy.role) {
        plans.push(subject.control(role, &run)?);
    }
    if args.control.vpc_variants {
        plans.extend(subject.variants(args.deploy.role.as_deref(), &run, &kinds).await?);
    }
    Ok(plans)
}

/// Writes DIR/differences.json (the summary's differences, also in summary.json and
/// report.md) and prints each difference on stderr (stdout may carry the JSON summary).
fn report_differences(dir: &std::path::Path, found: &[Difference]) -> anyhow::Result<()> {
    let caveat = found.iter().find_map(|d| d.caveat.clone());
    let path = dir.join("differences.json");
    let body = serde_json::json!({"differences": found, "caveat": caveat});
    std::fs::write(&path, serde_json::to_string_pretty(&body)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    for d in found {
        let interval = d.ci95_ms.map_or_else(
            || "no interval: fewer than 2 cold starts".to_owned(),
            |ci| format!("95% CI {:.1} to {:.1} ms", ci.low, ci.high),
        );
        let round_trip = d.round_trip_median_diff_ms.map_or_else(String::new, |ms| {
            let interval = d
                .round_trip_ci95_ms
                .map_or_else(String::new, |ci| format!(", 95% CI {:.1} to {:.1} ms", ci.low, ci.high));
            format!("; {ms:+.1} ms median cold invoke round trip{interval}")
        });
        eprintln!(
            "{} @ {} MB: {:+.1} ms median INIT ({} − {}, {interval}; n = {}/{}){round_trip}",
            d.name, d.memory_mb, d.median_diff_ms, d.with, d.without, d.n_with, d.n_without
        );
    }
    if let Some(caveat) = caveat {
        eprintln!("note: {caveat}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Step, schedule};

    #[test]
    fn the_schedule_interleaves_functions_within_each_size_with_warmups_first() {
        let steps = schedule(2, &[128, 256], 1, 1);
        let short: Vec<(usize, Option<u32>, bool)> =
            steps.iter().map(|s| (s.function, s.memory_mb, s.warmup)).collect();
        assert_eq!(
            short,
            [
                (0, Some(128), true),
                (1, Some(128), true),
                (0, Some(256), true),
                (1, Some(256), true),
                (0, Some(128), false),
                (1, Some(128), false),
                (0, Some(256), false),
                (1, Some(256), false),
            ]
        );
        assert_eq!(
            schedule(1, &[], 0, 2),
            [Step {
                function: 0,
                memory_mb: None,
                warmup: false
            }; 2]
        );
    }
}
