//! `coldfront serve`'s cost: what a warm invoke through Lambda's API adds to the runtime's
//! own handling time, and whether a cold invoke's Init Duration through `serve` matches
//! `coldfront run`'s for the same function.
//!
//! The server runs as `coldfront serve` runs it, on a current-thread runtime of its own
//! thread; the client is a plain blocking HTTP/1.1 connection (keep-alive, no delay) on
//! another thread, as a separate client process would be. The runtime's handling time is
//! the invoke's `Duration` from the REPORT line in its Tail log (event delivered → response
//! received by the Runtime API), so the overhead is everything else: HTTP, the pool, the
//! hand-over to the environment and back.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use init_trace::local::{Cancel, EmulatorOptions, LocalEmulator};
use init_trace::spec::SpecSet;
use init_trace::stats::Summary;
use lambda_api::{Pool, ServeOptions, Server};
use serde_json::json;

use super::{Measure, Options};

fn unthrottled() -> LocalEmulator {
    LocalEmulator::new(EmulatorOptions {
        throttle: false,
        ..EmulatorOptions::default()
    })
}

/// A keep-alive HTTP/1.1 connection to the server.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(address: std::net::SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Invokes `function` with a Tail log; returns the round trip and the REPORT line.
    fn invoke(&mut self, function: &str) -> anyhow::Result<(f64, String)> {
        let body = "{}";
        let request = format!(
            "POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nHost: bench\r\nX-Amz-Log-Type: Tail\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let started = Instant::now();
        self.writer.write_all(request.as_bytes())?;
        let mut status = String::new();
        self.reader.read_line(&mut status)?;
        let (mut length, mut log) = (0_usize, None);
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(": ") {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse()?,
                    "x-amz-log-result" => log = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
        let mut payload = vec![0_u8; length];
        self.reader.read_exact(&mut payload)?;
        let round_trip_ms = started.elapsed().as_secs_f64() * 1000.0;
        if !status.contains(" 200 ") {
            bail!("invoke answered {status}: {}", String::from_utf8_lossy(&payload));
        }
        let log = base64::engine::general_purpose::STANDARD.decode(log.context("no X-Amz-Log-Result")?)?;
        let report = String::from_utf8(log)?
            .lines()
            .find(|l| l.starts_with("REPORT "))
            .context("no REPORT line")?
            .to_owned();
        Ok((round_trip_ms, report))
    }
}

/// A `Field: 12.34 ms` figure of a REPORT line.
fn report_ms(report: &str, field: &str) -> Option<f64> {
    report
        .split('\t')
        .find_map(|part| part.trim().strip_prefix(field)?.strip_prefix(": "))
        .and_then(|value| value.trim_end_matches(" ms").parse().ok())
}

pub(crate) fn run(
    options: &Options,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let emulator = Arc::new(unthrottled());
    let (samples_tx, mut samples_rx) = tokio::sync::mpsc::unbounded_channel();
    let pool = Pool::new(emulator, Duration::from_secs(3600), samples_tx);
    let store = tempfile::tempdir()?;
    let server = Server::new(
        ServeOptions {
            update_delay: Duration::ZERO,
            concurrency: 4,
            ..ServeOptions::new(store.path().to_owned())
        },
        &SpecSet::bundled()?,
        pool.clone(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let router = server.router();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let shutting_down = pool.clone();
    let serving = std::thread::spawn(move || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async move {
            // Samples are drained so the channel does not grow; the bench reads REPORT lines.
            tokio::spawn(async move { while samples_rx.recv().await.is_some() {} });
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await?;
            shutting_down.shutdown(Duration::from_secs(10)).await;
            Ok(())
        })
    });
    let result = measure(options, &pool, address, measures, details);
    let _ = stop_tx.send(());
    serving
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
    result
}

fn measure(
    options: &Options,
    pool: &Arc<Pool>,
    address: std::net::SocketAddr,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    let function = "control";
    let mut client = Client::connect(address)?;

    // Warm: one environment, many invokes.
    let (warmup, n) = if options.quick { (20, 200) } else { (50, 1000) };
    eprintln!("serve warm invoke overhead: {function}, {warmup} warm-up + {n} invokes");
    let mut overhead_ms = Vec::with_capacity(n);
    let mut round_trip_ms = Vec::with_capacity(n);
    for i in 0..warmup + n {
        let (round_trip, report) = client.invoke(function)?;
        let duration = report_ms(&report, "Duration").context("no Duration in REPORT")?;
        if i >= warmup {
            overhead_ms.push(round_trip - duration);
            round_trip_ms.push(round_trip);
        }
    }
    let overhead = Summary::of(&overhead_ms).context("no warm invokes")?;
    measures.insert(
        "serve_warm_invoke_overhead_ms".to_owned(),
        Measure::at_most(overhead.median_ms, "ms", 0.3),
    );

    // Cold: serve's cold invoke (environments retired first, as a configuration change
    // does) against `coldfront run`'s cold start, alternating, the order rotating.
    let rounds = if options.quick { 10 } else { 30 };
    eprintln!("serve cold invoke vs run: {function}, 2 warm-up + {rounds} interleaved pairs");
    let run_emulator = unthrottled();
    let spec = SpecSet::bundled()?.get(function)?.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (mut served_ms, mut run_ms) = (Vec::new(), Vec::new());
    for round in 0..rounds + 2 {
        for which in [round % 2, (round + 1) % 2] {
            if which == 0 {
                pool.retire(function, None);
                let deadline = Instant::now() + Duration::from_secs(10);
                while pool.live(function) > 0 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let (_, report) = client.invoke(function)?;
                let init = report_ms(&report, "Init Duration").context("the invoke after retiring was not cold")?;
                if round >= 2 {
                    served_ms.push(init);
                }
            } else {
                let sample = runtime.block_on(run_emulator.cold_start(&spec, round as u64, Cancel::never()))?;
                let init = sample.init.duration_ms.context("coldfront run's cold start failed")?;
                if round >= 2 {
                    run_ms.push(init);
                }
            }
        }
    }
    let served = Summary::of(&served_ms).context("no served cold starts")?;
    let ran = Summary::of(&run_ms).context("no run cold starts")?;
    measures.insert(
        "serve_cold_invoke_vs_run_ratio".to_owned(),
        Measure::at_most(served.median_ms / ran.median_ms, "ratio", 1.03),
    );
    details.insert(
        "serve".to_owned(),
        json!({
            "function": function,
            "warm": {"invokes": n, "overhead_ms": overhead, "round_trip_ms": Summary::of(&round_trip_ms)},
            "cold": {"pairs": rounds, "serve_init_ms": served, "run_init_ms": ran},
        }),
    );
    Ok(())
}
