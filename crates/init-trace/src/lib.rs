//! Start Lambda functions cold and measure where their INIT time goes.
//!
//! The core is an embedded Lambda emulator ([`local::LocalEmulator`]): it starts a
//! function's real runtime process cold on loopback, serves the Runtime API (2018-06-01)
//! and an X-Ray daemon port, applies Lambda's CPU share and memory limit through cgroups,
//! and records what Lambda would — Init Duration measured from spawn to the runtime's
//! first `GET /next`, Telemetry API events, REPORT lines with the process tree's real peak
//! memory — into a [`sample::ColdStartSample`]. Functions are described by a
//! `coldfront.toml` ([`spec`]); bundled fixtures (`control`, `wiki`) need no file.
//!
//! The design choice: measure from outside the function, with one clock
//! (`CLOCK_MONOTONIC`) for every timestamp, and keep raw evidence in each sample so every
//! later figure can be recomputed from it.
//!
//! ```no_run
//! use init_trace::local::{Cancel, EmulatorOptions, LocalEmulator};
//! use init_trace::spec::SpecSet;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let functions = SpecSet::bundled()?;
//! let emulator = LocalEmulator::new(EmulatorOptions::default());
//! let sample = emulator.cold_start(functions.get("control")?, 0, Cancel::never()).await?;
//! println!("Init Duration: {:.2} ms", sample.init.duration_ms.unwrap_or(f64::NAN));
//! for line in &sample.platform_log {
//!     println!("{line}");
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod attribution;
pub mod bundled;
pub mod clock;
pub mod evidence;
pub mod experiment;
pub mod ids;
pub mod interpreter;
pub mod local;
pub mod origin;
pub mod platform_log;
pub mod recommend;
pub mod report;
pub mod sample;
pub mod spec;
pub mod stats;
pub mod telemetry;
