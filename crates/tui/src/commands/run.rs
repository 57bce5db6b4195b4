//! `coldfront run`: N cold starts per function on the local emulator, interleaved.

use std::path::PathBuf;

use std::ops::ControlFlow;

use init_trace::experiment::{self, Controls, Plan, Variant};
use init_trace::local::{EmulatorOptions, LocalEmulator, cancel_pair, cpu_cores_for};
use init_trace::report::summary::RunSummary;
use init_trace::sample::{ColdStartSample, Throttling};
use init_trace::spec::FunctionSpec;
use init_trace::stats::format_ms;
use serde_json::json;

use crate::cli::RunArgs;
use crate::exit;
use crate::output::outln;
use crate::summary::{comparison, render_group};

fn default_out() -> PathBuf {
    PathBuf::from("coldfront-runs").join(format!("run-{}.jsonl", chrono::Local::now().format("%Y%m%d-%H%M%S")))
}

fn select_functions(args: &RunArgs) -> anyhow::Result<Vec<FunctionSpec>> {
    let specs = super::load_specs(&args.spec)?;
    let names: Vec<String> = if !args.functions.is_empty() {
        args.functions.clone()
    } else if specs.source().is_none() {
        vec!["wiki".to_owned(), "control".to_owned()]
    } else {
        specs.functions().map(|f| f.name.clone()).collect()
    };
    names
        .iter()
        .map(|name| {
            let mut spec = specs.get(name)?.clone();
            if let Some(memory) = args.memory {
                spec.memory_mb = memory;
            }
            if let Some(invokes) = args.invokes {
                spec.invokes = invokes;
            }
            Ok(spec)
        })
        .collect()
}

fn sample_line(sample: &ColdStartSample, width: usize) -> String {
    let init = sample.init.duration_ms.map_or_else(
        || {
            format!(
                "({} after {})",
                sample.init.status_word(),
                format_ms(sample.init.elapsed_ms)
            )
        },
        format_ms,
    );
    let cold = sample
        .invokes
        .first()
        .map_or_else(String::new, |i| format!("  cold invoke {}", format_ms(i.duration_ms)));
    format!(
        "{:<width$} #{:<4} Init Duration {:>10}{cold}  {}",
        sample.function,
        sample.sample_index + 1,
        init,
        sample.outcome()
    )
}

pub(crate) async fn run(args: RunArgs) -> anyhow::Result<u8> {
    let functions = select_functions(&args)?;
    let emulator = LocalEmulator::new(args.sandbox.apply(EmulatorOptions {
        throttle: !args.no_throttle,
        ..EmulatorOptions::default()
    }));
    super::report_isolation(&emulator);
    match emulator.throttling() {
        Throttling::Applied => {
            for f in &functions {
                eprintln!(
                    "{}: {} MB → {:.2} vCPU and a {} MB memory limit (Lambda's share, via cgroups)",
                    f.name,
                    f.memory_mb,
                    cpu_cores_for(f.memory_mb),
                    f.memory_mb
                );
            }
        }
        Throttling::Disabled => eprintln!(
            "note: --no-throttle: functions run with all CPU and memory; INIT will look faster than on Lambda"
        ),
        Throttling::Unavailable(reason) => {
            eprintln!(
                "warning: Lambda's CPU share and memory limit are NOT applied ({reason}); functions run unthrottled and INIT will look faster than on Lambda"
            );
        }
    }
    let out = args.out.clone().unwrap_or_else(default_out);
    let mut writer = super::samples_file(&out)?;
    let (cancel_handle, cancel) = cancel_pair();
    super::cancel_on_ctrl_c(
        cancel_handle,
        "finishing the current cold start's record, then stopping",
    );

    let plan = Plan {
        variants: functions
            .iter()
            .map(|spec| Variant {
                spec: spec.clone(),
                role: None,
            })
            .collect(),
        memory_mb: Vec::new(),
        cold_starts: args.cold_starts,
        warmup: 0,
        plain_twins: false,
    };
    let total = plan.schedule().len() as u64;
    let progress = super::cold_start_progress(total, args.json);
    let width = functions.iter().map(|f| f.name.len()).max().unwrap_or(8);
    // The functions run interleaved (A B A B ...) so slow drift on the machine hits all alike.
    let samples = experiment::run(&emulator, &plan, Controls::cancel_only(cancel.clone()), |_, sample| {
        writer.write(sample)?;
        progress.set_message(sample.function.clone());
        print_sample(&args, &progress, sample, width);
        progress.inc(1);
        // A closed stdout (`coldfront run | head -1`) ends the run like Ctrl-C does.
        Ok::<_, init_trace::sample::SampleFileError>(if crate::output::closed() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    })
    .await?;
    progress.finish_and_clear();
    let interrupted = cancel.is_cancelled();

    report(&args, &out, &samples, interrupted, total)
}

/// A sample's line and its REPORT lines, above the progress bar.
pub(super) fn print_sample(args: &RunArgs, progress: &indicatif::ProgressBar, sample: &ColdStartSample, width: usize) {
    if !args.json && !args.quiet {
        // Suspending the bar prints whether or not stderr is a terminal.
        progress.suspend(|| {
            outln!("{}", sample_line(sample, width));
            for line in sample
                .platform_log
                .iter()
                .filter(|l| l.starts_with("REPORT") || l.starts_with("INIT_REPORT"))
            {
                outln!("    {}", line.trim_end());
            }
        });
    }
}

/// The summary of a run (hyperfine-style text or JSON) and its exit code.
pub(super) fn report(
    args: &RunArgs,
    out: &std::path::Path,
    samples: &[ColdStartSample],
    interrupted: bool,
    total: u64,
) -> anyhow::Result<u8> {
    let summary = RunSummary::from_samples(samples, None);
    if args.json {
        let json = json!({
            "samples_file": out,
            "cold_starts": samples.len(),
            "interrupted": interrupted,
            "functions": summary.groups,
        });
        outln!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        outln!();
        for group in &summary.groups {
            outln!("{}", render_group(group));
        }
        if let Some(text) = comparison(&summary.groups) {
            outln!("{text}");
        }
        outln!("{} samples written to {}", samples.len(), out.display());
        if interrupted {
            outln!(
                "Stopped after {} of {total} cold starts; all of them are in the file.",
                samples.len()
            );
        }
    }
    Ok(exit::for_samples(interrupted, samples))
}
