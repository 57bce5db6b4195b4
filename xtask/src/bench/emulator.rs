//! Emulator overhead: the bundled `control` function under the emulator against the same
//! interpreter, environment and handler import spawned with no server at all.
//!
//! Five commands run interleaved (A B C D E A B C D E ...) so drift on a shared machine
//! hits all alike, unthrottled so only the emulator's own cost differs:
//! - emulator: a full cold start with Lambda's filesystem view and the Runtime API in the
//!   sandbox's own network namespace (where the machine allows; the details say which);
//!   its Init Duration (exec → first `GET /next` received) and the wall time of the whole
//!   sample (sandbox setup, INIT, one invoke, teardown);
//! - bare: the bundled bootstrap with `COLDFRONT_BOOTSTRAP_EXIT_BEFORE_NEXT=1`, i.e. the
//!   same process doing the same imports and handler load, started by the emulator's own
//!   launch (`run_bare`, no server, cgroup or namespace): exec → the moment it would
//!   contact the Runtime API, by its own clock, the same interval as the emulator's Init
//!   Duration; and its whole life, started to reaped, for the rate;
//! - import only: `python -c "import handler; os._exit(0)"`, which shows what the bundled
//!   bootstrap itself costs on top of the handler import (docs/sources.md, "Measurement pitfalls");
//! - the emulator with the host's filesystem view, and with the host's network: what each
//!   isolation costs a cold start (paired differences of whole-sample wall time).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use init_trace::local::{Cancel, EmulatorOptions, LaunchCommand, LocalEmulator, run_bare};
use init_trace::spec::{FunctionSpec, SpecSet};
use init_trace::stats::Summary;
use serde_json::json;

use super::{Measure, Options};

/// `launch`'s program, arguments, environment (nothing inherited) and directory, with
/// stdin closed.
fn command(launch: &LaunchCommand) -> Command {
    let mut command = Command::new(&launch.program);
    command
        .args(&launch.args)
        .env_clear()
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&launch.cwd)
        .stdin(Stdio::null());
    command
}

/// The runtime's interpreter importing the handler from the task root, then running `code`.
fn after_handler_import(runtime: &LaunchCommand, code: &str) -> LaunchCommand {
    let mut command = runtime.clone();
    command.args = vec![
        "-c".to_owned(),
        format!("import sys, os; sys.path.insert(0, os.getcwd()); import handler; {code}"),
    ];
    command
}

/// A bundled function with a single (cold) invoke.
fn bundled_once(name: &str) -> anyhow::Result<FunctionSpec> {
    let mut spec = SpecSet::bundled()?.get(name)?.clone();
    spec.invokes = 1;
    Ok(spec)
}

/// An emulator without Lambda's CPU share, so only its own cost differs from bare spawning.
fn unthrottled(import_timing: bool) -> LocalEmulator {
    LocalEmulator::new(EmulatorOptions {
        throttle: false,
        import_timing,
        ..EmulatorOptions::default()
    })
}

/// Exec → the bare bootstrap's `coldfront-ready` time, and its whole life (started to
/// reaped), in ms.
fn bare_round(launch: &LaunchCommand) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    let bare = run_bare(launch).with_context(|| format!("cannot run {}", launch.program.display()))?;
    let life_ms = started.elapsed().as_secs_f64() * 1000.0;
    if bare.exit_code != Some(0) {
        bail!("{} failed: {:?}", launch.program.display(), bare.exit_code);
    }
    let text = String::from_utf8_lossy(&bare.stdout);
    let ready_ns: u64 = text
        .lines()
        .find_map(|line| line.strip_prefix("coldfront-ready "))
        .and_then(|ns| ns.trim().parse().ok())
        .with_context(|| format!("the bare bootstrap did not report when it was ready: {text:?}"))?;
    Ok((ready_ns.saturating_sub(bare.exec_ns) as f64 / 1e6, life_ms))
}

/// One cold start of `spec` that must succeed, and its wall time in ms.
async fn timed_cold_start(
    emulator: &LocalEmulator,
    spec: &FunctionSpec,
    round: u64,
) -> anyhow::Result<(init_trace::sample::ColdStartSample, f64)> {
    let started = Instant::now();
    let sample = emulator.cold_start(spec, round, Cancel::never()).await?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    if !sample.succeeded() {
        bail!(
            "{} failed under the emulator: {}\n{}",
            spec.name,
            sample.outcome(),
            sample.stderr.text
        );
    }
    Ok((sample, wall_ms))
}

/// Started to reaped, in ms, by the emulator's own launch (as the bare bootstrap is).
fn spawn_to_exit_ms(launch: &LaunchCommand) -> anyhow::Result<f64> {
    let started = Instant::now();
    let bare = run_bare(launch).with_context(|| format!("cannot run {}", launch.program.display()))?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if bare.exit_code != Some(0) {
        bail!("{} failed: {:?}", launch.program.display(), bare.exit_code);
    }
    Ok(elapsed_ms)
}

pub(crate) async fn run(
    options: &Options,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    // Each round takes about 40 ms. On this machine the rate ratio's 95% interval spans
    // about ±0.025 at 60 rounds and ±0.012 at 400 (printed with the result); 400 rounds
    // take about 20 s.
    let (warmup, n) = if options.quick { (5, 60) } else { (10, 400) };
    let control = bundled_once("control")?;
    let emulator = unthrottled(false);
    let host_filesystem = LocalEmulator::new(EmulatorOptions {
        throttle: false,
        private_filesystem: false,
        ..EmulatorOptions::default()
    });
    let host_network = LocalEmulator::new(EmulatorOptions {
        throttle: false,
        isolate_runtime_api: false,
        ..EmulatorOptions::default()
    });
    let (filesystem_view, runtime_api) = (emulator.filesystem_view(), emulator.runtime_api_isolation());
    if !filesystem_view.is_applied() || !runtime_api.is_applied() {
        eprintln!(
            "warning: the emulator runs WITHOUT Lambda's isolation here (filesystem: {filesystem_view:?}, Runtime API: {runtime_api:?}); its figures are not the isolated ones"
        );
    }
    // The bare commands' TMPDIR, kept until the last of them has run; removed when
    // dropped, on an early error too.
    let tmp = tempfile::Builder::new().prefix("coldfront-bench-").tempdir()?;
    let plan = emulator.launch_plan(&control, "127.0.0.1:9", "127.0.0.1:2000", tmp.path())?;
    let mut bare = plan.command.clone();
    bare.env
        .push(("COLDFRONT_BOOTSTRAP_EXIT_BEFORE_NEXT".to_owned(), "1".to_owned()));
    let import_only = after_handler_import(&plan.command, "os._exit(0)");

    eprintln!(
        "emulator overhead: control function, {warmup} warm-up + {n} interleaved rounds ({})",
        plan.runtime.program.display()
    );
    let mut init_ms = Vec::new();
    let mut sample_wall_ms = Vec::new();
    let mut bare_init_ms = Vec::new();
    let mut bare_ms = Vec::new();
    let mut import_ms = Vec::new();
    let mut invoke_ms = Vec::new();
    let mut setup_ms = Vec::new();
    let (mut host_fs_setup_ms, mut host_net_setup_ms) = (Vec::new(), Vec::new());
    let (mut filesystem_cost_ms, mut network_cost_ms) = (Vec::new(), Vec::new());
    // Where the INIT overhead sits: each isolation's paired effect on INIT itself, and the
    // runtime's last stretch, from its handler import ending (its own mark) to the
    // emulator receiving its first `GET /next`.
    let (mut filesystem_init_cost_ms, mut network_init_cost_ms) = (Vec::new(), Vec::new());
    let mut import_end_to_next_ms = Vec::new();
    for round in 0..warmup + n {
        let (sample, wall_ms) = timed_cold_start(&emulator, &control, round as u64).await?;
        let (bare_init, bare_life) = bare_round(&bare)?;
        let import_round = spawn_to_exit_ms(&import_only)?;
        let (host_fs_sample, host_fs_wall_ms) = timed_cold_start(&host_filesystem, &control, round as u64).await?;
        let (host_net_sample, host_net_wall_ms) = timed_cold_start(&host_network, &control, round as u64).await?;
        if round >= warmup {
            init_ms.push(sample.init.duration_ms.unwrap_or(f64::NAN));
            sample_wall_ms.push(wall_ms);
            invoke_ms.push(sample.invokes.iter().map(|i| i.duration_ms).sum::<f64>());
            setup_ms.push(sample.init.sandbox_setup_ms);
            bare_init_ms.push(bare_init);
            bare_ms.push(bare_life);
            import_ms.push(import_round);
            host_fs_setup_ms.push(host_fs_sample.init.sandbox_setup_ms);
            host_net_setup_ms.push(host_net_sample.init.sandbox_setup_ms);
            let init_of = |sample: &init_trace::sample::ColdStartSample| sample.init.duration_ms.unwrap_or(f64::NAN);
            filesystem_init_cost_ms.push(init_of(&sample) - init_of(&host_fs_sample));
            network_init_cost_ms.push(init_of(&sample) - init_of(&host_net_sample));
            if let (Some(ready_ns), Some(import_end_ns)) = (
                sample.init.ready_monotonic_ns,
                sample.init.marks.get("handler_import_end"),
            ) {
                import_end_to_next_ms.push(ready_ns.saturating_sub(*import_end_ns) as f64 / 1e6);
            }
            filesystem_cost_ms.push(wall_ms - host_fs_wall_ms);
            network_cost_ms.push(wall_ms - host_net_wall_ms);
        }
        if (round + 1) % 50 == 0 {
            eprintln!("  {}/{} rounds", round + 1, warmup + n);
        }
    }

    let summary = |values: &[f64]| Summary::of(values).context("no measurements");
    let (init, wall, bare_init_s, bare_s, import_s) = (
        summary(&init_ms)?,
        summary(&sample_wall_ms)?,
        summary(&bare_init_ms)?,
        summary(&bare_ms)?,
        summary(&import_ms)?,
    );
    // The same interval on both sides: exec → the runtime reaching the Runtime API.
    let overhead = init.median_ms / bare_init_s.median_ms;
    let emulator_rate = f64::from(n) / (sample_wall_ms.iter().sum::<f64>() / 1000.0);
    let bare_rate = f64::from(n) / (bare_ms.iter().sum::<f64>() / 1000.0);
    let rate_ratio = emulator_rate / bare_rate;
    // Rates are rounds over total time, so their ratio is Σ bare / Σ emulator, with
    // rounds resampled whole for its interval.
    let rate_ratio_ci = init_trace::stats::bootstrap_ratio_of_sums_ci(&bare_ms, &sample_wall_ms, 1);
    if let Some(ci) = &rate_ratio_ci {
        eprintln!(
            "  cold-start rate ratio {rate_ratio:.3}, 95% interval {:.3}…{:.3}",
            ci.low, ci.high
        );
    }
    measures.insert(
        "emulator_overhead_ratio".to_owned(),
        Measure::at_most(overhead, "ratio", 1.05),
    );
    measures.insert(
        "emulator_cold_start_rate_ratio".to_owned(),
        Measure::at_least(rate_ratio, "ratio", 0.85),
    );
    // Paired differences can be negative, so their medians are taken exactly.
    for (name, values_ms) in [
        ("isolation_filesystem_cost_ms", &filesystem_cost_ms),
        ("isolation_network_cost_ms", &network_cost_ms),
        ("isolation_filesystem_init_cost_ms", &filesystem_init_cost_ms),
        ("isolation_network_init_cost_ms", &network_init_cost_ms),
        ("emulator_import_end_to_next_ms", &import_end_to_next_ms),
    ] {
        if !values_ms.is_empty() {
            measures.insert(
                name.to_owned(),
                Measure::info(init_trace::stats::median(values_ms), "ms"),
            );
        }
    }
    measures.insert(
        "emulator_cold_starts_per_s".to_owned(),
        Measure::info(emulator_rate, "1/s"),
    );
    measures.insert("bare_spawns_per_s".to_owned(), Measure::info(bare_rate, "1/s"));
    measures.insert(
        "bundled_bootstrap_overhead_ms".to_owned(),
        Measure::info(bare_s.median_ms - import_s.median_ms, "ms"),
    );
    details.insert(
        "emulator".to_owned(),
        json!({
            "rounds": n,
            "warmup": warmup,
            "interpreter": plan.runtime.program,
            "control_init_ms": init,
            "control_cold_start_wall_ms": wall,
            "control_invoke_ms": Summary::of(&invoke_ms),
            "control_sandbox_setup_ms": Summary::of(&setup_ms),
            "filesystem_view": filesystem_view,
            "runtime_api": runtime_api,
            "host_filesystem_sandbox_setup_ms": Summary::of(&host_fs_setup_ms),
            "host_network_sandbox_setup_ms": Summary::of(&host_net_setup_ms),
            "isolation_cost_ms": {
                "why": "whole-sample wall time with each isolation on minus the same cold start, in the same round, with it off (median of paired differences)",
                "filesystem_view": init_trace::stats::median(&filesystem_cost_ms),
                "network_namespace": init_trace::stats::median(&network_cost_ms),
            },
            "bare_exec_to_ready_ms": bare_init_s,
            "bare_spawn_to_exit_ms": bare_s,
            "cold_start_rate_ratio_ci95": rate_ratio_ci.map(|ci| [ci.low, ci.high]),
            "import_only_spawn_to_exit_ms": import_s,
        }),
    );
    teardown_overlap(options, &plan.command, measures, details)?;
    attribution_overhead(options, measures, details).await?;
    attribution_headline_bias(options, measures, details).await?;
    attribution_share_agreement(options, measures, details).await
}

/// What the emulator would lose by not waiting for a killed runtime to be reaped before
/// starting the next: how long the next runtime takes to start and import the handler
/// (to its own `CLOCK_MONOTONIC` timestamp, so its exit is not counted) when the previous
/// one was killed and reaped first, against the same start with the kill landing as it
/// begins, its teardown overlapping. Paired and alternated, so drift hits both alike.
fn teardown_overlap(
    options: &Options,
    runtime: &LaunchCommand,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    use std::io::Read;
    let pairs = if options.quick { 40 } else { 120 };
    // A runtime that has done its INIT and waits, as a sandbox's does when it is killed.
    let idle = after_handler_import(runtime, "import time; os.write(1, b'r'); time.sleep(60)");
    let next = after_handler_import(
        runtime,
        "import time; os.write(1, str(time.monotonic_ns()).encode()); os._exit(0)",
    );
    let spawn = |launch: &LaunchCommand| {
        command(launch)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot spawn {}", launch.program.display()))
    };
    let run = |overlap: bool| -> anyhow::Result<f64> {
        let mut previous = spawn(&idle)?;
        let mut ready = [0_u8; 1];
        previous.stdout.take().context("stdout")?.read_exact(&mut ready)?;
        if !overlap {
            previous.kill()?;
            previous.wait()?;
        }
        let started_ns = init_trace::clock::monotonic_ns();
        if overlap {
            previous.kill()?;
        }
        let output = spawn(&next)?.wait_with_output()?;
        previous.wait()?;
        let ready_ns: u64 = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .context("the started runtime did not report its time")?;
        Ok(ready_ns.saturating_sub(started_ns) as f64 / 1e6)
    };
    eprintln!("teardown overlap: {pairs} paired starts, the previous runtime reaped first or not");
    let (mut waited_ms, mut overlapped_ms, mut differences_ms) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..pairs {
        let (waited, overlapped) = if pair % 2 == 0 {
            let waited = run(false)?;
            (waited, run(true)?)
        } else {
            let overlapped = run(true)?;
            (run(false)?, overlapped)
        };
        waited_ms.push(waited);
        overlapped_ms.push(overlapped);
        differences_ms.push(overlapped - waited);
    }
    // Differences can be negative, which a duration `Summary` (an HDR histogram from
    // 1 µs) would clamp; their median and mean are taken exactly.
    let difference_median_ms = init_trace::stats::median(&differences_ms);
    measures.insert(
        "teardown_overlap_cost_ms".to_owned(),
        Measure::info(difference_median_ms, "ms"),
    );
    details.insert(
        "teardown_overlap".to_owned(),
        json!({
            "pairs": pairs,
            "why": "the emulator waits for a killed runtime to be reaped before the next cold start; this is how much later the next runtime is ready (median of paired differences) when it does not",
            "start_after_reap_ms": Summary::of(&waited_ms),
            "start_overlapping_teardown_ms": Summary::of(&overlapped_ms),
            "paired_difference_ms": {
                "n": differences_ms.len(),
                "median_ms": difference_median_ms,
                "mean_ms": init_trace::stats::mean(&differences_ms),
                "min_ms": differences_ms.iter().copied().fold(f64::INFINITY, f64::min),
                "max_ms": differences_ms.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            },
        }),
    );
    Ok(())
}

/// INIT of the wiki with attribution on (`-X importtime`, bootstrap marks) against off,
/// interleaved, unthrottled.
async fn attribution_overhead(
    options: &Options,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let (warmup, n) = if options.quick { (2, 15) } else { (4, 40) };
    let wiki = bundled_once("wiki")?;
    let (plain, traced) = (unthrottled(false), unthrottled(true));
    eprintln!("attribution overhead: wiki function, {warmup} warm-up + {n} interleaved rounds");
    let (mut off_ms, mut on_ms) = (Vec::new(), Vec::new());
    for round in 0..warmup + n {
        // Alternate which goes first (A B B A ...), so an order effect cannot favour either.
        let (off, on) = if round % 2 == 0 {
            let off = plain.cold_start(&wiki, round as u64, Cancel::never()).await?;
            (off, traced.cold_start(&wiki, round as u64, Cancel::never()).await?)
        } else {
            let on = traced.cold_start(&wiki, round as u64, Cancel::never()).await?;
            (plain.cold_start(&wiki, round as u64, Cancel::never()).await?, on)
        };
        if !off.succeeded() || !on.succeeded() {
            bail!("wiki failed under the emulator: {} / {}", off.outcome(), on.outcome());
        }
        if round >= warmup {
            off_ms.push(off.init.duration_ms.unwrap_or(f64::NAN));
            on_ms.push(on.init.duration_ms.unwrap_or(f64::NAN));
        }
    }
    let (off, on) = (
        Summary::of(&off_ms).context("no samples")?,
        Summary::of(&on_ms).context("no samples")?,
    );
    measures.insert(
        "attribution_overhead_ratio".to_owned(),
        Measure::at_most(on.median_ms / off.median_ms, "ratio", 1.10),
    );
    details.insert(
        "attribution".to_owned(),
        json!({"rounds": n, "warmup": warmup, "wiki_init_ms_off": off, "wiki_init_ms_on": on}),
    );
    Ok(())
}

/// The pinned PyPI app of the attribution tests (`crates/init-trace/tests/fixtures/pyapp`:
/// Flask, SQLAlchemy, Jinja2, Mangum; over 400 modules), laid out as a Lambda deployment
/// package under `target/pyapp`; installed here as `.ci/run` does when it is missing.
fn pyapp() -> anyhow::Result<FunctionSpec> {
    let root = super::workspace_root();
    let fixture = root.join("crates/init-trace/tests/fixtures/pyapp");
    let requirements = std::fs::read_to_string(fixture.join("requirements.txt"))?;
    let dir = root.join("target/pyapp");
    if std::fs::read_to_string(dir.join(".requirements.txt")).ok().as_deref() != Some(requirements.as_str()) {
        let venv = root.join("target/bench-pip");
        let python = init_trace::interpreter::resolve_python("python3")?;
        let ok = |status: std::io::Result<std::process::ExitStatus>| status.is_ok_and(|s| s.success());
        if !ok(Command::new(venv.join("bin/pip"))
            .arg("--version")
            .stdout(Stdio::null())
            .status())
            && !ok(Command::new(&python.path)
                .args(["-m", "venv", "--clear"])
                .arg(&venv)
                .status())
        {
            bail!("cannot make a venv for pip at {}", venv.display());
        }
        let _ = std::fs::remove_dir_all(&dir);
        if !ok(Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--target",
            ])
            .arg(&dir)
            .arg("-r")
            .arg(fixture.join("requirements.txt"))
            .status())
        {
            bail!(
                "cannot install {} into {}",
                fixture.join("requirements.txt").display(),
                dir.display()
            );
        }
        std::fs::write(dir.join(".requirements.txt"), &requirements)?;
    }
    for file in ["handler.py", "event.json"] {
        std::fs::copy(fixture.join(file), dir.join(file))?;
    }
    let mut spec = SpecSet::bundled()?.get("wiki")?.clone();
    spec.name = "pyapp".to_owned();
    spec.code_dir = dir.clone();
    spec.event = std::fs::read_to_string(dir.join("event.json"))?;
    spec.invokes = 1;
    Ok(spec)
}

/// How far `coldfront trace`'s headline Init Duration is from an uninstrumented one: its
/// reported median (plain twins beside instrumented cold starts, as `trace` runs them)
/// over the median of independent plain cold starts, all three interleaved in every order
/// in turn, on a real multi-package app.
async fn attribution_headline_bias(
    options: &Options,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    use init_trace::report::summary::RunSummary;
    // Six rounds cycle through every order of the three streams, so each follows each
    // other equally often: with a three-step rotation the plain twin followed the traced
    // cold start in two rounds of three and the independent one in one, an order effect
    // the ratio would have carried.
    let (warmup, n) = if options.quick { (2, 18) } else { (3, 60) };
    let app = pyapp()?;
    let (traced, twin, independent) = (unthrottled(true), unthrottled(false), unthrottled(false));
    eprintln!("attribution headline bias: pyapp, {warmup} warm-up + {n} interleaved rounds");
    let (mut reported, mut plain_ms) = (Vec::new(), Vec::new());
    let mut index = 0_u64;
    for round in 0..warmup + n {
        const ORDERS: [[usize; 3]; 6] = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1], [2, 1, 0], [1, 0, 2]];
        let order = ORDERS[round % 6];
        for which in order {
            let emulator = [&traced, &twin, &independent][which];
            let mut sample = emulator.cold_start(&app, index, Cancel::never()).await?;
            index += 1;
            if !sample.succeeded() {
                bail!(
                    "pyapp failed under the emulator: {}\n{}",
                    sample.outcome(),
                    sample.stderr.text
                );
            }
            sample.labels.warmup = round < warmup;
            sample.labels.uninstrumented = which == 1;
            match which {
                2 if round >= warmup => plain_ms.push(sample.init.duration_ms.unwrap_or(f64::NAN)),
                2 => {}
                _ => reported.push(sample),
            }
        }
    }
    let summary = RunSummary::from_samples(&reported, None);
    let group = summary.groups.first().context("no group")?;
    let headline = group.init.as_ref().context("no successful INIT")?;
    let instrumentation = group
        .instrumentation
        .as_ref()
        .context("no plain twins in the summary")?;
    let plain = Summary::of(&plain_ms).context("no samples")?;
    let modules: usize = group.packages.iter().map(|p| p.modules).sum();
    measures.insert(
        "attribution_headline_bias".to_owned(),
        Measure::at_most(headline.median_ms / plain.median_ms, "ratio", 1.02),
    );
    measures.insert(
        "attribution_instrumented_bias".to_owned(),
        Measure::info(instrumentation.instrumented_median_ms / plain.median_ms, "ratio"),
    );
    details.insert(
        "attribution_headline".to_owned(),
        json!({
            "rounds": n,
            "warmup": warmup,
            "modules": modules,
            "reported_init_ms": headline,
            "instrumented_median_ms": instrumentation.instrumented_median_ms,
            "independent_plain_init_ms": plain,
        }),
    );
    Ok(())
}

/// How closely `trace`'s package table agrees with an independent measurement, on the
/// real multi-package app: top-5 package shares from traced cold starts on the bundled
/// bootstrap and on AWS's awslambdaric against a direct `python -X importtime` run of the
/// same handler, the three interleaved (each module's fastest round counts on every
/// side), and the two runtimes' tables against each other. In percentage points.
async fn attribution_share_agreement(
    options: &Options,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    use init_trace::attribution::shares::{
        ModuleTimes, largest_gap_points, on_common_packages, package_shares, top_packages,
    };
    use init_trace::spec::RuntimeKind;
    const TARGET_POINTS: f64 = 3.0;
    let ric_python = super::workspace_root().join("target/venv-awslambdaric/bin/python");
    if !ric_python.exists() {
        for name in ["attribution_share_gap_points", "attribution_runtime_gap_points"] {
            measures.insert(name.to_owned(), Measure::not_run("<= 3 points"));
        }
        details.insert(
            "attribution_shares".to_owned(),
            json!({"status": "not run", "why": format!("no awslambdaric venv at {} (.ci/run makes it)", ric_python.display())}),
        );
        return Ok(());
    }
    let bundled = pyapp()?;
    let mut ric = bundled.clone();
    ric.runtime = RuntimeKind::PythonAwslambdaric;
    ric.interpreter = ric_python.display().to_string();
    let traced = unthrottled(true);
    let rounds = if options.quick { 5 } else { 15 };
    eprintln!("attribution share agreement: pyapp, {rounds} interleaved rounds of direct, bundled, awslambdaric");
    let (mut direct, mut on_bundled, mut on_ric) = (Vec::<ModuleTimes>::new(), Vec::new(), Vec::new());
    let mut index = 0_u64;
    for round in 0..rounds {
        // Each side goes first in turn, so none always follows the same one.
        for which in [0, 1, 2].map(|k| (k + round) % 3) {
            if which == 0 {
                direct.push(traced.direct_import_times(&bundled)?);
                continue;
            }
            let spec = if which == 1 { &bundled } else { &ric };
            let sample = traced.cold_start(spec, index, Cancel::never()).await?;
            index += 1;
            if !sample.succeeded() {
                bail!(
                    "pyapp failed under {:?}: {}\n{}",
                    spec.runtime,
                    sample.outcome(),
                    sample.stderr.text
                );
            }
            let attribution = init_trace::attribution::attribute(&sample)
                .map_err(|e| anyhow::anyhow!("pyapp under {:?} not attributable: {e}", spec.runtime))?;
            if which == 1 { &mut on_bundled } else { &mut on_ric }.push(attribution.module_self_ms());
        }
    }
    let (direct, bundled_shares, ric_shares) = (
        package_shares(&direct),
        package_shares(&on_bundled),
        package_shares(&on_ric),
    );
    let mut per_side = serde_json::Map::new();
    let mut worst = (String::new(), 0.0_f64);
    for (name, side) in [("bundled", &bundled_shares), ("awslambdaric", &ric_shares)] {
        let (side, direct, only_one) = on_common_packages(side, &direct);
        let top = top_packages(&direct, 5);
        let (package, gap) = largest_gap_points(&side, &direct, top.iter().map(String::as_str))
            .context("the direct run imported no package")?;
        per_side.insert(
            name.to_owned(),
            json!({
                "largest_gap_points": gap,
                "at": package,
                "top5": top.iter().map(|k| json!({"package": k, "traced_pct": side[k] * 100.0, "direct_pct": direct[k] * 100.0})).collect::<Vec<_>>(),
                "in_one_table_only": only_one,
            }),
        );
        if gap >= worst.1 {
            worst = (format!("{name}: {package}"), gap);
        }
    }
    let (bundled_common, ric_common, _) = on_common_packages(&bundled_shares, &ric_shares);
    let (runtime_package, runtime_gap) =
        largest_gap_points(&bundled_common, &ric_common, bundled_common.keys().map(String::as_str))
            .context("no package on both runtimes")?;
    measures.insert(
        "attribution_share_gap_points".to_owned(),
        Measure::at_most(worst.1, "points", TARGET_POINTS),
    );
    measures.insert(
        "attribution_runtime_gap_points".to_owned(),
        Measure::at_most(runtime_gap, "points", TARGET_POINTS),
    );
    details.insert(
        "attribution_shares".to_owned(),
        json!({
            "rounds": rounds,
            "largest_gap_vs_direct": {"at": worst.0, "points": worst.1},
            "largest_gap_between_runtimes": {"at": runtime_package, "points": runtime_gap},
            "sides": per_side,
        }),
    );
    Ok(())
}
