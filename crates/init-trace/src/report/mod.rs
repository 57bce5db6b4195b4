//! Reports of a trace run: statistics from raw samples ([`summary`]), the Markdown
//! benchmark page ([`markdown`]), the SVG breakdown chart ([`svg`]) and HdrHistogram logs
//! ([`hdr`]). Everything is computed from the samples file, so a run directory can always
//! be re-rendered.

pub mod cause;
pub mod hdr;
pub mod markdown;
pub mod summary;
pub mod svg;

use serde::{Deserialize, Serialize};

/// The machine a run was measured on, recorded when it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// RFC 3339 time of recording.
    pub recorded_at: String,
    /// Host name.
    pub host: String,
    /// CPU model.
    pub cpu_model: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// Kernel release.
    pub kernel: String,
    /// The coldfront version that measured.
    pub coldfront_version: String,
}

impl Environment {
    /// Reads the current machine's facts.
    pub fn detect() -> Self {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let cpuinfo = read("/proc/cpuinfo");
        Self {
            recorded_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            host: read("/proc/sys/kernel/hostname"),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map_or_else(|| "unknown".to_owned(), |m| m.trim().to_owned()),
            cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            kernel: read("/proc/sys/kernel/osrelease"),
            coldfront_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}
