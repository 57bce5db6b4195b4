//! Experiments: a subject and its controls, cold-started in turn.
//!
//! Variants run interleaved — subject, control, subject, control — and so do memory
//! sizes, so slow drift on a shared machine (other load, thermal state, page cache) lands
//! on every variant alike instead of biasing whichever ran last. Warm-up cold starts come
//! first (the interpreter and the bundle reach the page cache) and are labelled so the
//! statistics leave them out.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::local::{Cancel, EmulatorError, LocalEmulator};
use crate::sample::ColdStartSample;
use crate::spec::FunctionSpec;

/// What a variant is in the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The function under study.
    Subject,
    /// A baseline whose INIT is subtracted from the subject's.
    Control,
    /// On AWS, the subject less one part (see [`crate::sample::VariantKind`]): compared
    /// with the subject as a difference of that part, never as a control.
    Variant,
}

impl Role {
    /// `subject`, `control` or `variant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Control => "control",
            Self::Variant => "variant",
        }
    }
}

/// One function in an experiment.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The function.
    pub spec: FunctionSpec,
    /// Its role; none for plain cold starts of several functions side by side.
    pub role: Option<Role>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The subject first, then controls.
    pub variants: Vec<Variant>,
    /// Memory sizes to sweep; empty means each function's own.
    pub memory_mb: Vec<u32>,
    /// Measured cold starts per variant and memory size.
    pub cold_starts: u32,
    /// Warm-up cold starts per variant and memory size, left out of the statistics.
    pub warmup: u32,
    /// Run a plain cold start (no import timing) beside each instrumented one, so the
    /// headline Init Duration is free of the instrumentation's cost and the breakdown's
    /// shares are scaled onto it. Only with an emulator that records import timing.
    pub plain_twins: bool,
}

/// One cold start of a [`Plan`]'s schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Index into [`Plan::variants`].
    pub variant: usize,
    /// The memory size it runs at.
    pub memory_mb: u32,
    /// Whether it is a warm-up, left out of the statistics.
    pub warmup: bool,
}

impl Plan {
    /// How many cold starts the plan runs, plain twins included.
    pub fn cold_start_count(&self) -> usize {
        self.schedule().len() * if self.plain_twins { 2 } else { 1 }
    }

    /// Every cold start the plan will run, in order.
    pub fn schedule(&self) -> Vec<Step> {
        let sizes = |variant: &Variant| {
            if self.memory_mb.is_empty() {
                vec![variant.spec.memory_mb]
            } else {
                self.memory_mb.clone()
            }
        };
        let mut order = Vec::new();
        for (rounds, warmup) in [(self.warmup, true), (self.cold_starts, false)] {
            for _ in 0..rounds {
                let max_sizes = self.variants.iter().map(|v| sizes(v).len()).max().unwrap_or(0);
                for size_index in 0..max_sizes {
                    for (index, variant) in self.variants.iter().enumerate() {
                        if let Some(memory_mb) = sizes(variant).get(size_index) {
                            order.push(Step {
                                variant: index,
                                memory_mb: *memory_mb,
                                warmup,
                            });
                        }
                    }
                }
            }
        }
        order
    }
}

/// How a caller steers a running experiment.
#[derive(Debug, Clone)]
pub struct Controls {
    /// Stops the run; the cold start in progress is still recorded.
    pub cancel: Cancel,
    /// While it holds `true`, the run waits before starting its next cold start. A closed
    /// channel counts as "not paused".
    pub paused: Option<watch::Receiver<bool>>,
}

impl Controls {
    /// Controls that only cancel.
    pub fn cancel_only(cancel: Cancel) -> Self {
        Self { cancel, paused: None }
    }
}

/// The one loop behind `coldfront run`, `coldfront trace` and the UI: runs the plan in
/// its interleaved order, labels each sample (role, warm-up), and hands it to `on_sample`
/// with its step as soon as it exists, to be written to disk before anything else
/// happens. Stops early, keeping what was measured, when `controls.cancel` fires,
/// `on_sample` returns [`ControlFlow::Break`] (say, nobody reads the output any more) or
/// fails.
pub async fn run<E>(
    emulator: &LocalEmulator,
    plan: &Plan,
    controls: Controls,
    mut on_sample: impl FnMut(Step, &ColdStartSample) -> Result<ControlFlow<()>, E>,
) -> Result<Vec<ColdStartSample>, ExperimentError<E>> {
    let Controls { cancel, mut paused } = controls;
    let plain = (plan.plain_twins && emulator.import_timing()).then(|| emulator.without_import_timing());
    let mut samples = Vec::new();
    let mut index = 0_u64;
    'steps: for (position, step) in plan.schedule().into_iter().enumerate() {
        if let Some(paused) = &mut paused {
            // A dropped sender is no reason to wait forever.
            let mut cancelled = cancel.clone();
            tokio::select! {
                _ = paused.wait_for(|p| !*p) => {}
                () = cancelled.cancelled() => {}
            }
        }
        if cancel.is_cancelled() {
            break;
        }
        let variant = &plan.variants[step.variant];
        let mut spec = variant.spec.clone();
        spec.memory_mb = step.memory_mb;
        // With plain twins, which of the pair goes first alternates, so neither always
        // follows the other's teardown.
        let mut emulators = vec![(emulator, false)];
        if let Some(plain) = &plain {
            emulators.insert(position % 2, (plain, true));
        }
        for (emulator, uninstrumented) in emulators {
            if cancel.is_cancelled() {
                break 'steps;
            }
            let mut sample = emulator
                .cold_start(&spec, index, cancel.clone())
                .await
                .map_err(ExperimentError::Emulator)?;
            index += 1;
            sample.labels.role = variant.role.map(|r| r.as_str().to_owned());
            sample.labels.warmup = step.warmup;
            sample.labels.uninstrumented = uninstrumented;
            let flow = on_sample(step, &sample).map_err(ExperimentError::Sink)?;
            samples.push(sample);
            if flow.is_break() {
                break 'steps;
            }
        }
    }
    Ok(samples)
}

/// Why an experiment stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError<E> {
    /// The emulator could not set up a sandbox.
    #[error(transparent)]
    Emulator(EmulatorError),
    /// The sample sink failed (e.g. the disk is full).
    #[error("cannot record a sample: {0}")]
    Sink(E),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SpecSet;

    #[test]
    fn schedule_interleaves_variants_and_memory_with_warmup_first() {
        let specs = SpecSet::bundled().expect("bundle");
        let plan = Plan {
            variants: vec![
                Variant {
                    spec: specs.get("wiki").expect("bundled").clone(),
                    role: Some(Role::Subject),
                },
                Variant {
                    spec: specs.get("control").expect("bundled").clone(),
                    role: Some(Role::Control),
                },
            ],
            memory_mb: vec![128, 1024],
            cold_starts: 2,
            warmup: 1,
            plain_twins: false,
        };
        let schedule = plan.schedule();
        assert_eq!(schedule.len(), (2 + 1) * 2 * 2);
        assert_eq!(
            schedule[..4]
                .iter()
                .map(|s| (s.variant, s.memory_mb, s.warmup))
                .collect::<Vec<_>>(),
            [(0, 128, true), (1, 128, true), (0, 1024, true), (1, 1024, true)]
        );
        assert_eq!(
            schedule[4..8]
                .iter()
                .map(|s| (s.variant, s.memory_mb, s.warmup))
                .collect::<Vec<_>>(),
            [(0, 128, false), (1, 128, false), (0, 1024, false), (1, 1024, false)]
        );
        assert!(schedule[4..].iter().all(|s| !s.warmup));
    }
}
