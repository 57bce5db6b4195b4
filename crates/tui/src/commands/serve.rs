//! `coldfront serve`: Lambda's API on loopback, backed by the emulator.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use init_trace::local::{EmulatorOptions, LocalEmulator, cancel_pair};
use init_trace::sample::{ColdStartSample, Throttling};
use init_trace::stats::Summary;
use lambda_api::{Pool, ServeOptions, Server};
use serde_json::json;

use crate::cli::ServeArgs;
use crate::output::outln;

fn default_out() -> PathBuf {
    PathBuf::from("coldfront-runs").join(format!("serve-{}.jsonl", chrono::Local::now().format("%Y%m%d-%H%M%S")))
}

/// A store directory made for this run, removed when dropped.
struct TemporaryStore(PathBuf);

impl Drop for TemporaryStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<u8> {
    let specs = super::load_specs(&args.spec)?;
    let rie_function = match &args.rie_function {
        Some(name) => Some(specs.get(name)?.name.clone()),
        None => specs.functions().next().map(|f| f.name.clone()),
    };
    for (flag, address) in
        std::iter::once(("--listen", args.listen)).chain(args.rie_listen.map(|a| ("--rie-listen", a)))
    {
        if address.ip().is_loopback() {
            continue;
        }
        if !args.allow_remote {
            anyhow::bail!(
                "{flag} {address}: not a loopback address. coldfront serve runs any code it is sent and has no authentication; pass --allow-remote to listen there anyway"
            );
        }
        eprintln!(
            "warning: listening on {address} (not loopback): anyone who can reach it can create and run functions on this machine"
        );
    }
    let out = args.out.clone().unwrap_or_else(default_out);
    let mut writer = super::samples_file(&out)?;
    let (store_dir, _temporary) = if let Some(dir) = &args.store {
        super::check_out_dir(dir, "--store")?;
        std::fs::create_dir_all(dir).with_context(|| format!("--store {}: cannot create it", dir.display()))?;
        (dir.clone(), None)
    } else {
        let dir = std::env::temp_dir().join(format!("coldfront-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        (dir.clone(), Some(TemporaryStore(dir)))
    };
    // The emulator needs absolute task roots.
    let store_dir = store_dir
        .canonicalize()
        .with_context(|| format!("--store {}: cannot resolve it", store_dir.display()))?;
    let emulator = Arc::new(LocalEmulator::new(args.sandbox.apply(EmulatorOptions {
        throttle: !args.no_throttle,
        ..EmulatorOptions::default()
    })));
    super::report_isolation(&emulator);
    if let Throttling::Unavailable(reason) = emulator.throttling() {
        eprintln!(
            "warning: Lambda's CPU share and memory limit are NOT applied ({reason}); INIT will look faster than on Lambda"
        );
    }
    let (samples_tx, mut samples_rx) = tokio::sync::mpsc::unbounded_channel::<ColdStartSample>();
    let idle_timeout = Duration::from_secs(args.idle_timeout);
    let pool = Pool::new(emulator.clone(), idle_timeout, samples_tx);
    let options = ServeOptions {
        store_dir,
        update_delay: Duration::from_millis(args.update_delay_ms),
        concurrency: args.concurrency,
        region: emulator.options().region.clone(),
        account_id: emulator.options().account_id.clone(),
        rie_function,
    };
    let server = Server::new(options, &specs, pool.clone());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("--listen {}: cannot listen there", args.listen))?;
    let address = listener.local_addr()?;
    let rie_listener = match args.rie_listen {
        Some(rie) => Some(
            tokio::net::TcpListener::bind(rie)
                .await
                .with_context(|| format!("--rie-listen {rie}: cannot listen there"))?,
        ),
        None => None,
    };
    let names: Vec<&str> = specs.functions().map(|f| f.name.as_str()).collect();
    let rie_address = rie_listener
        .as_ref()
        .map(tokio::net::TcpListener::local_addr)
        .transpose()?;
    if args.json {
        outln!(
            "{}",
            json!({
                "listen": format!("http://{address}"),
                "rie_listen": rie_address.map(|a| format!("http://{a}")),
                "samples": out,
                "functions": names,
            })
        );
    } else {
        eprintln!("coldfront serve: Lambda and X-Ray APIs on http://{address}");
        eprintln!("  functions: {}", names.join(", "));
        eprintln!("  samples:   {} (each environment's life, when it ends)", out.display());
        eprintln!(
            "  try:       aws lambda invoke --endpoint-url http://{address} --function-name {} --log-type Tail out.json",
            names.first().unwrap_or(&"FUNCTION")
        );
    }

    // Samples are written by this task as environments end, flushed one by one.
    let writing = tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut error = None;
        while let Some(sample) = samples_rx.recv().await {
            if error.is_none()
                && let Err(err) = writer.write(&sample)
            {
                eprintln!("error: {err}; later samples are kept in memory only until exit");
                error = Some(err);
            }
            samples.push(sample);
        }
        (samples, error)
    });

    let (cancel_handle, mut cancel) = cancel_pair();
    super::cancel_on_ctrl_c(
        cancel_handle,
        "ending every environment and writing its sample, then stopping",
    );
    if let Some(rie_listener) = rie_listener {
        let mut rie_cancel = cancel.clone();
        let router = server.router();
        if !args.json
            && let Some(rie) = rie_address
        {
            eprintln!("  also on:   http://{rie} (RIE's port)");
        }
        tokio::spawn(async move {
            axum::serve(rie_listener, router)
                .with_graceful_shutdown(async move { rie_cancel.cancelled().await })
                .await
        });
    }
    let stopped = async move { cancel.cancelled().await };
    axum::serve(listener, server.router())
        .with_graceful_shutdown(stopped)
        .await
        .context("the HTTP server failed")?;
    pool.shutdown(Duration::from_secs(10)).await;
    drop(server);
    drop(pool);
    let (samples, write_error) = writing.await.context("the sample writer failed")?;
    print_summary(&samples, &out, args.json);
    if let Some(err) = write_error {
        return Err(err).context("some samples could not be written");
    }
    Ok(crate::exit::for_samples(true, &samples))
}

/// Cold and warm invokes per function, hyperfine-style.
fn print_summary(samples: &[ColdStartSample], out: &std::path::Path, json_output: bool) {
    let mut functions: Vec<&str> = samples.iter().map(|s| s.function.as_str()).collect();
    functions.sort_unstable();
    functions.dedup();
    let rows: Vec<(&str, usize, Option<Summary>, Option<Summary>)> = functions
        .into_iter()
        .map(|function| {
            let of_function = || samples.iter().filter(move |s| s.function == function);
            let init_ms: Vec<f64> = of_function().filter_map(|s| s.init.duration_ms).collect();
            let warm_ms: Vec<f64> = of_function()
                .flat_map(|s| s.invokes.iter().filter(|i| !i.cold).map(|i| i.duration_ms))
                .collect();
            (
                function,
                of_function().count(),
                Summary::of(&init_ms),
                Summary::of(&warm_ms),
            )
        })
        .collect();
    if json_output {
        let rows: Vec<_> = rows
            .iter()
            .map(|(function, environments, init, warm)| {
                json!({"function": function, "environments": environments, "init_ms": init, "warm_invoke_ms": warm})
            })
            .collect();
        outln!("{}", json!({"samples": out, "functions": rows}));
        return;
    }
    eprintln!("\n{} environments recorded in {}", samples.len(), out.display());
    let describe = |summary: &Option<Summary>| {
        summary.as_ref().map_or_else(
            || "none".to_owned(),
            |s| format!("median {:.1} ms, n = {}", s.median_ms, s.n),
        )
    };
    for (function, environments, init, warm) in &rows {
        eprintln!(
            "  {function}: {environments} environments; Init Duration {}; warm invokes {}",
            describe(init),
            describe(warm)
        );
    }
}
