//! Experiments: a subject and its controls, cold-started in turn.
//!
//! Variants run interleaved — subject, control, subject, control — and so do memory
//! sizes, so slow drift on a shared machine (other load, thermal state, page cache) lands
//! on every variant alike instead of biasing whichever ran last. Warm-up cold starts come
//! first (the interpreter and the bundle reach the page cache) and are labelled so the
//! statistics leave them out.

use serde::{Deserialize, Serialize};

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
}

impl Role {
    /// `subject` or `control`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Control => "control",
        }
    }
}

/// One function in an experiment.
#[derive(Debug, Clone)]
pub struct Variant {
    /// The function.
    pub spec: FunctionSpec,
    /// Its role.
    pub role: Role,
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
}

impl Plan {
    /// Every cold start the plan will run, in order: `(variant index, memory, warm-up)`.
    pub fn schedule(&self) -> Vec<(usize, u32, bool)> {
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
                        if let Some(memory) = sizes(variant).get(size_index) {
                            order.push((index, *memory, warmup));
                        }
                    }
                }
            }
        }
        order
    }
}

/// Runs the plan, handing every sample to `on_sample` as soon as it exists (to be written
/// to disk before anything else happens). Stops early, keeping what was measured, when
/// `cancel` fires or `on_sample` fails.
pub async fn run<E>(
    emulator: &LocalEmulator,
    plan: &Plan,
    cancel: &Cancel,
    mut on_sample: impl FnMut(&ColdStartSample) -> Result<(), E>,
) -> Result<Vec<ColdStartSample>, ExperimentError<E>> {
    let mut samples = Vec::new();
    for (index, (variant_index, memory_mb, warmup)) in plan.schedule().into_iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        let variant = &plan.variants[variant_index];
        let mut spec = variant.spec.clone();
        spec.memory_mb = memory_mb;
        let mut sample = emulator
            .cold_start(&spec, index as u64, cancel.clone())
            .await
            .map_err(ExperimentError::Emulator)?;
        sample.labels.role = Some(variant.role.as_str().to_owned());
        sample.labels.warmup = warmup;
        on_sample(&sample).map_err(ExperimentError::Sink)?;
        samples.push(sample);
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
                    role: Role::Subject,
                },
                Variant {
                    spec: specs.get("control").expect("bundled").clone(),
                    role: Role::Control,
                },
            ],
            memory_mb: vec![128, 1024],
            cold_starts: 2,
            warmup: 1,
        };
        let schedule = plan.schedule();
        assert_eq!(schedule.len(), (2 + 1) * 2 * 2);
        assert_eq!(
            &schedule[..4],
            &[(0, 128, true), (1, 128, true), (0, 1024, true), (1, 1024, true)]
        );
        assert_eq!(
            &schedule[4..8],
            &[(0, 128, false), (1, 128, false), (0, 1024, false), (1, 1024, false)]
        );
        assert!(schedule[4..].iter().all(|(_, _, warmup)| !warmup));
    }
}
