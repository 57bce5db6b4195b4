//! Errors of the log reader. Each names the file, line and field at fault.

use std::path::PathBuf;

/// Logs could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line does not fit its format; `field` names the field at fault when one is.
    #[error("{path}:{line}: {message}")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number (of the decompressed text for a gzip file).
        line: u64,
        /// What is wrong and what to do.
        message: String,
    },
    /// The field list lacks a field the replay needs.
    #[error("{at}: {message}")]
    Fields {
        /// Where the field list came from (`FILE:LINE` of a `#Fields` header, or `--fields`).
        at: String,
        /// Which field is missing and what to do.
        message: String,
    },
    /// No request was found.
    #[error("no requests in {what}: the logs are empty or hold only comment lines")]
    Empty {
        /// The paths given.
        what: String,
    },
    /// A sampling rate outside 1–100 %.
    #[error(
        "sampling rate {0} %: a real-time log samples 1 to 100 % of the requests; give a whole number in that range"
    )]
    SamplingRate(u8),
    /// The simulator refused the replay.
    #[error(transparent)]
    Sim(#[from] crate::error::SimError),
}
