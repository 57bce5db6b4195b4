//! `coldfront trace --backend aws`: the trace experiment (subject vs controls, warm-ups,
//! a memory sweep, interleaved) on Lambda functions, written and reported exactly as the
//! local one is. INIT is split by what AWS exposes (see `init_trace::attribution`), and
//! the report page says which segments it does not.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use init_trace::experiment::Role;
use init_trace::local::cancel_pair;
use init_trace::report::summary::RunSummary;
use init_trace::sample::SampleWriter;

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
    let mut functions = vec![args.subject.clone()];
    functions.extend(plans.iter().map(|p| p.name().to_owned()));
    functions.extend(controls.iter().cloned());
    let roles: Vec<Role> = std::iter::once(Role::Subject)
        .chain(functions[1..].iter().map(|_| Role::Control))
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
    if args.control.vpc_variants && !samples.is_empty() {
        report_differences(&dir, &samples, &args, &plans)?;
    }
    // Whatever was measured is reported, also when a cold start failed mid-run.
    if !samples.is_empty() {
        // The host's description (CPU, kernel) says nothing about where AWS ran them.
        let summary = RunSummary::from_samples(&samples, None);
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

/// Reads the subject, deletes what an interrupted run left for it, and plans what this
/// run creates: the bundled control deployed like it (`--deploy-control`), then its
/// variants without EFS and without VPC (`--vpc-variants`); nothing is created yet.
async fn plan_created(client: &aws_backend::LambdaClient, args: &TraceArgs) -> anyhow::Result<Vec<Plan>> {
    if !args.control.deploy_control && !args.control.vpc_variants {
        return Ok(Vec::new());
    }
    let subject = Subject::describe(client, &args.subject).await?;
    left_behind(client, &args.aws, subject.name()).await?;
    let run = RunId::new();
    let mut plans = Vec::new();
    if let (true, Some(role)) = (args.control.deploy_control, &args.deploy.role) {
        plans.push(subject.control(role, &run)?);
    }
    if args.control.vpc_variants {
        plans.extend(subject.variants(args.deploy.role.as_deref(), &run).await?);
    }
    Ok(plans)
}

/// One difference of INIT the variants measure.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
struct Difference {
    /// `network setup` or `storage mount`.
    name: &'static str,
    /// The function with the part…
    with: String,
    /// …and the one without it.
    without: String,
    /// Median Init Duration of `with` minus that of `without`.
    median_diff_ms: f64,
    /// Its 95% bootstrap interval (independent resamples of the two groups).
    ci95_ms: Option<init_trace::stats::Interval>,
    /// Measured cold starts of each.
    n_with: usize,
    n_without: usize,
}

/// "storage mount" (the subject against its copy without EFS, when it has one) and
/// "network setup" (the copy still in the VPC — or the subject, without EFS — against
/// the copy without VPC), from `(function, Init Duration ms)` of measured cold starts.
fn differences(init_ms: &[(String, f64)], subject: &str, no_efs: Option<&str>, no_vpc: &str) -> Vec<Difference> {
    let of = |function: &str| -> Vec<f64> {
        init_ms
            .iter()
            .filter(|(f, _)| f == function)
            .map(|(_, ms)| *ms)
            .collect()
    };
    let difference = |name: &'static str, with: &str, without: &str| {
        let (a, b) = (of(with), of(without));
        // A fixed seed per difference, so re-runs on the same samples print the same interval.
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Difference {
            name,
            with: with.to_owned(),
            without: without.to_owned(),
            median_diff_ms: init_trace::stats::median(&a) - init_trace::stats::median(&b),
            ci95_ms: init_trace::stats::bootstrap_diff_ci(&a, &b, init_trace::stats::median, seed),
            n_with: a.len(),
            n_without: b.len(),
        }
    };
    let mut out = Vec::new();
    if let Some(no_efs) = no_efs {
        out.push(difference("storage mount", subject, no_efs));
    }
    out.push(difference("network setup", no_efs.unwrap_or(subject), no_vpc));
    out
}

/// Writes DIR/differences.json and prints each difference on stderr (stdout may carry
/// the JSON summary).
fn report_differences(
    dir: &std::path::Path,
    samples: &[init_trace::sample::ColdStartSample],
    args: &TraceArgs,
    plans: &[Plan],
) -> anyhow::Result<()> {
    let name_of = |suffix: &str| {
        plans
            .iter()
            .find(|p| p.purpose().ends_with(suffix))
            .map(|p| p.name().to_owned())
    };
    let Some(no_vpc) = name_of("without its VPC") else {
        return Ok(());
    };
    let no_efs = name_of("without its file system");
    let init_ms: Vec<(String, f64)> = samples
        .iter()
        .filter(|s| !s.labels.warmup)
        .filter_map(|s| Some((s.function.clone(), s.init.duration_ms?)))
        .collect();
    let subject = samples.first().map_or(args.subject.as_str(), |s| s.function.as_str());
    let found = differences(&init_ms, subject, no_efs.as_deref(), &no_vpc);
    // Another Lambda API (coldfront serve, moto) keeps VpcConfig and FileSystemConfigs
    // without attaching an ENI or mounting EFS: what it measures is not AWS's.
    let caveat = args.aws.endpoint_url.as_ref().map(|url| {
        format!(
            "measured against {url}, not AWS Lambda: unless that API attaches network interfaces and mounts EFS (coldfront serve does neither), these differences are not AWS's"
        )
    });
    let path = dir.join("differences.json");
    let body = serde_json::json!({"differences": found, "caveat": caveat});
    std::fs::write(&path, serde_json::to_string_pretty(&body)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    for d in &found {
        let interval = d.ci95_ms.map_or_else(
            || "no interval: fewer than 2 cold starts".to_owned(),
            |ci| format!("95% CI {:.1} to {:.1} ms", ci.low, ci.high),
        );
        eprintln!(
            "{}: {:+.1} ms median INIT ({} − {}, {interval}; n = {}/{})",
            d.name, d.median_diff_ms, d.with, d.without, d.n_with, d.n_without
        );
    }
    if let Some(caveat) = caveat {
        eprintln!("note: {caveat}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Step, differences, schedule};

    #[test]
    fn storage_and_network_are_differences_of_median_init_with_intervals() {
        let mut init = Vec::new();
        for (i, offset) in [0.0, 1.0, 2.0, 3.0, 4.0].iter().enumerate() {
            init.push(("api".to_owned(), 400.0 + offset));
            init.push(("api-noefs".to_owned(), 300.0 + offset));
            init.push(("api-novpc".to_owned(), 100.0 + offset + (i % 2) as f64));
        }
        let found = differences(&init, "api", Some("api-noefs"), "api-novpc");
        let short: Vec<(&str, &str, &str, f64, usize)> = found
            .iter()
            .map(|d| (d.name, d.with.as_str(), d.without.as_str(), d.median_diff_ms, d.n_with))
            .collect();
        assert_eq!(
            short,
            [
                ("storage mount", "api", "api-noefs", 100.0, 5),
                ("network setup", "api-noefs", "api-novpc", 200.0, 5)
            ]
        );
        for d in &found {
            let ci = d.ci95_ms.expect("five values each");
            assert!(ci.contains(d.median_diff_ms) && ci.high - ci.low < 10.0, "{d:?}");
        }
        // Without EFS, the network is the subject against its copy without VPC.
        let found = differences(&init, "api", None, "api-novpc");
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].name, found[0].with.as_str()), ("network setup", "api"));
        assert!(differences(&[], "api", None, "api-novpc")[0].ci95_ms.is_none());
    }

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
