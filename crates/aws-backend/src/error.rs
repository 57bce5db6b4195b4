//! What can go wrong talking to Lambda, each naming the function and what to do.

use std::path::PathBuf;

/// A failure of the AWS backend.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A Lambda API call failed.
    #[error("{operation} on {function}: {message}")]
    Api {
        /// The operation, e.g. `UpdateFunctionConfiguration`.
        operation: &'static str,
        /// The function.
        function: String,
        /// The service's error code and message, or the transport's.
        message: String,
    },
    /// A change did not complete within the deadline.
    #[error(
        "{function}: the configuration change did not reach Successful within {seconds} s (LastUpdateStatus {status}); run `coldfront aws restore` once it settles"
    )]
    UpdateTimedOut {
        /// The function.
        function: String,
        /// How long was waited.
        seconds: u64,
        /// The last status seen.
        status: String,
    },
    /// The change failed on AWS's side.
    #[error("{function}: the configuration change failed: {reason}")]
    UpdateFailed {
        /// The function.
        function: String,
        /// `LastUpdateStatusReason`.
        reason: String,
    },
    /// The invoke answered without a usable Tail log.
    #[error("{function}: the invoke's log has no REPORT line (is LogType=Tail allowed?): {log}")]
    NoReport {
        /// The function.
        function: String,
        /// What the log held.
        log: String,
    },
    /// The journal could not be read or written.
    #[error("journal {path}: {source}")]
    Journal {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The journal is not what coldfront writes.
    #[error("journal {path} is not readable ({reason}); restore the function by hand from it, then delete it")]
    JournalCorrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
