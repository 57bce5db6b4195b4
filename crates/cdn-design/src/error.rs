//! Errors. Each names the file, line, record or value at fault and what to do about it.

use std::path::PathBuf;

/// A model or price file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed, or a key is unknown or of the wrong type.
    #[error("{at}: {message}")]
    Toml {
        /// `file:line:col`.
        at: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A value is outside the range the model can use.
    #[error("{at}: `{key}` = {value} {problem}")]
    OutOfRange {
        /// `file:line`, or the model's name when the value was set in code.
        at: String,
        /// Dotted name of the input.
        key: String,
        /// The value given.
        value: f64,
        /// The allowed range and what to do.
        problem: String,
    },
    /// No such preset.
    #[error("unknown preset \"{name}\" (known presets: {known})")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The names there are.
        known: String,
    },
    /// The latency inputs hold no samples.
    #[error("no origin latency samples in {source_name}: give at least one warm and one cold duration")]
    NoLatencySamples {
        /// Where the samples were meant to come from.
        source_name: String,
    },
}

/// A trace file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be opened or read.
    #[error("cannot read trace {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A csv line is malformed.
    #[error("{path}:{line}: {message}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong and what to do.
        message: String,
    },
    /// An `oracleGeneral` record is malformed or cut short.
    #[error("{path}: record {record} (byte offset {offset}): {message}")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// 0-based record index.
        record: u64,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong and what to do.
        message: String,
    },
}

/// A simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The trace could not be read.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The configuration cannot be simulated.
    #[error("invalid simulation setting: {0}")]
    Config(String),
    /// Time went backwards in the trace.
    #[error("{at}: time {time_s} s is before the previous request's {previous_s} s; sort the trace by time")]
    Unsorted {
        /// Where the request is (`FILE:LINE`, `FILE record N`).
        at: String,
        /// Its time.
        time_s: f64,
        /// The time before it.
        previous_s: f64,
    },
}

impl SimError {
    /// The request at `at`, at `time_ns`, came after one at `previous_ns`.
    pub(crate) fn unsorted(at: String, time_ns: u64, previous_ns: u64) -> Self {
        Self::Unsorted {
            at,
            time_s: crate::sim::ns_to_s(time_ns),
            previous_s: crate::sim::ns_to_s(previous_ns),
        }
    }
}
