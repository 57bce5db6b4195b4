//! The tasks behind the UI: a cold-start run, the cache simulator, the edge measurement
//! and exports. Each reports back as [`Message`]s; none shares mutable state with the UI
//! except the histogram recorders, which are wait-free by design.

use std::ops::ControlFlow;
use std::path::PathBuf;

use init_trace::experiment::{self, Controls, Plan, Role, Variant};
use init_trace::local::{CancelHandle, EmulatorOptions, LocalEmulator, cancel_pair};
use init_trace::sample::SampleWriter;
use tokio::sync::{mpsc, oneshot, watch};

use super::app::{App, Effect, Message};

struct RunHandle {
    cancel: CancelHandle,
    pause: watch::Sender<bool>,
    /// Answered (or dropped) when the measurement thread has finished.
    finished: oneshot::Receiver<()>,
}

pub(crate) struct Workers {
    tx: mpsc::UnboundedSender<Message>,
    run: Option<RunHandle>,
    samples_path: PathBuf,
    cache: super::cache::CacheWorker,
    edge: super::edge::EdgeWorker,
}

impl Workers {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Message>) -> Self {
        let samples_path = PathBuf::from("coldfront-runs")
            .join(format!("tui-{}", chrono::Local::now().format("%Y%m%d-%H%M%S")))
            .join("samples.jsonl");
        Self {
            cache: super::cache::CacheWorker::new(tx.clone()),
            edge: super::edge::EdgeWorker::new(tx.clone()),
            tx,
            run: None,
            samples_path,
        }
    }

    pub(crate) fn perform(&mut self, effect: Effect, app: &App) {
        match effect {
            Effect::StartRun {
                subject,
                control,
                cold_starts,
                ..
            } => {
                let recorders: Vec<_> = (0..app.variants.len()).map(|i| app.recorder(i)).collect();
                let mut variants = vec![Variant {
                    spec: *subject,
                    role: Some(Role::Subject),
                }];
                variants.extend(control.map(|c| Variant {
                    spec: *c,
                    role: Some(Role::Control),
                }));
                let plan = Plan {
                    variants,
                    memory_mb: Vec::new(),
                    cold_starts,
                    warmup: 0,
                    plain_twins: false,
                };
                let (cancel_handle, cancel) = cancel_pair();
                let (pause, paused) = watch::channel(false);
                let tx = self.tx.clone();
                let path = self.samples_path.clone();
                let run = async move {
                    let result = async {
                        // Every sample is on disk before the UI sees it: quitting or a crash
                        // loses nothing measured.
                        let mut writer = SampleWriter::append(&path).map_err(|e| e.to_string())?;
                        let emulator = LocalEmulator::new(EmulatorOptions {
                            import_timing: true,
                            ..EmulatorOptions::default()
                        });
                        let mut recorders = recorders;
                        let controls = Controls {
                            cancel,
                            paused: Some(paused),
                        };
                        experiment::run(&emulator, &plan, controls, |step, sample| {
                            if let Some(ms) = sample.init.duration_ms {
                                recorders[step.variant].saturating_record((ms * 1000.0).round().max(1.0) as u64);
                            }
                            writer.write(sample)?;
                            // The UI has gone: nobody is left to show the next sample to.
                            Ok::<_, init_trace::sample::SampleFileError>(
                                if tx.send(Message::Sample(Box::new(sample.clone()))).is_err() {
                                    ControlFlow::Break(())
                                } else {
                                    ControlFlow::Continue(())
                                },
                            )
                        })
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string())
                    }
                    .await;
                    let _ = tx.send(Message::RunEnded(result));
                };
                self.run = Some(RunHandle {
                    cancel: cancel_handle,
                    pause,
                    finished: measure_on_own_thread(run, self.tx.clone()),
                });
            }
            Effect::Pause(paused) => {
                if let Some(run) = &self.run {
                    let _ = run.pause.send(paused);
                }
            }
            Effect::StopRun => {
                if let Some(run) = &self.run {
                    run.cancel.cancel();
                    let _ = run.pause.send(false);
                }
            }
            Effect::Export(dir) => {
                let tx = self.tx.clone();
                let samples = self.samples_path.clone();
                let cache = app.cache.export_inputs();
                let edge = app.edge.export_inputs();
                tokio::task::spawn_blocking(move || {
                    let text = match super::export::export(&dir, &samples, cache, edge) {
                        Ok(written) => format!("Exported {} files to {}", written.len(), dir.display()),
                        Err(err) => format!("Export failed: {err:#}"),
                    };
                    let _ = tx.send(Message::Status(text));
                });
            }
            Effect::Cache(effect) => self.cache.perform(effect),
            Effect::Edge(effect) => self.edge.perform(effect),
        }
    }

    /// Stops what runs and waits for the cold start in progress to be recorded.
    pub(crate) async fn shutdown(&mut self) {
        self.cache.shutdown();
        if let Some(run) = self.run.take() {
            run.cancel.cancel();
            let _ = run.pause.send(false);
            let _ = tokio::time::timeout(std::time::Duration::from_secs(15), run.finished).await;
        }
    }
}

/// Runs a measurement on a thread of its own with a current-thread runtime, so neither
/// drawing the UI nor the cache simulator can delay the emulator, and each thing a runtime
/// does costs the emulator one wake-up (the Runtime API server, the output readers and the
/// sandbox task share that thread). The receiver is answered when it has finished.
fn measure_on_own_thread(
    run: impl std::future::Future<Output = ()> + Send + 'static,
    tx: mpsc::UnboundedSender<Message>,
) -> oneshot::Receiver<()> {
    let (finished_tx, finished) = oneshot::channel();
    let failed_tx = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("coldfront-measure".to_owned())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime.block_on(run),
                Err(err) => {
                    let _ = tx.send(Message::RunEnded(Err(format!(
                        "cannot start the measurement runtime: {err}"
                    ))));
                }
            }
            let _ = finished_tx.send(());
        });
    if let Err(err) = spawned {
        let _ = failed_tx.send(Message::RunEnded(Err(format!(
            "cannot start the measurement thread: {err}"
        ))));
    }
    finished
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::cache::CacheState;
    use crate::ui::edge::EdgeState;

    // The test's own runtime has one thread, and it is kept blocked while the run goes
    // on: a run that needed it (a task on the caller's runtime) would never finish.
    #[tokio::test(flavor = "current_thread")]
    async fn a_run_measures_on_its_own_thread_and_writes_every_sample_first() {
        let control = init_trace::spec::SpecSet::bundled()
            .expect("bundled functions")
            .get("control")
            .expect("bundled control")
            .clone();
        let app = App::new(vec![control.clone()], CacheState::new(), EdgeState::new());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut workers = Workers::new(tx);
        let dir = tempfile::tempdir().expect("tempdir");
        workers.samples_path = dir.path().join("samples.jsonl");
        workers.perform(
            Effect::StartRun {
                subject: Box::new(control),
                control: None,
                memory_mb: 1769,
                cold_starts: 2,
            },
            &app,
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let mut received = 0;
        loop {
            match rx.try_recv() {
                Ok(Message::Sample(sample)) => {
                    assert!(sample.succeeded(), "{}", sample.stderr.text);
                    received += 1;
                    // Written before the UI hears of it.
                    let lines = std::fs::read_to_string(&workers.samples_path).expect("samples file");
                    assert_eq!(lines.lines().count(), received);
                }
                Ok(Message::RunEnded(result)) => {
                    assert_eq!(result, Ok(()));
                    break;
                }
                Ok(_) => {}
                Err(mpsc::error::TryRecvError::Empty) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the run made no progress while the caller's runtime was blocked"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(mpsc::error::TryRecvError::Disconnected) => panic!("the channel closed"),
            }
        }
        assert_eq!(received, 2);
        workers.shutdown().await;
    }
}
