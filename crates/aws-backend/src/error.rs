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
    /// A function's code could not be packaged as a zip.
    #[error("cannot package {path} as a zip: {reason}")]
    Package {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The bundled control cannot stand in for this subject.
    #[error(
        "--deploy-control: the bundled control is a Python handler, but {function} runs {runtime}; deploy a minimal function on that runtime yourself and name it with --control"
    )]
    ControlRuntime {
        /// The subject.
        function: String,
        /// Its `Runtime` (empty for a container image).
        runtime: String,
    },
    /// A function coldfront created did not become `Active`.
    #[error("{function}: the created function did not become Active ({reason}); coldfront deleted it")]
    NotActive {
        /// The function.
        function: String,
        /// `StateReason`, or how long was waited.
        reason: String,
    },
    /// A journaled creation names a function that is not the one coldfront created.
    #[error(
        "{function} is not the function coldfront created (its Description is {found:?}, not {expected:?}), so it was not deleted; check it, then remove {}",
        journal.display()
    )]
    NotCreatedByColdfront {
        /// The function.
        function: String,
        /// The journal naming it.
        journal: PathBuf,
        /// The description coldfront gave it.
        expected: String,
        /// The description it has.
        found: String,
    },
    /// A function's code could not be downloaded to copy it.
    #[error("{function}: cannot download its code from {location} to copy it: {reason}")]
    CodeDownload {
        /// The function copied.
        function: String,
        /// `Code.Location` as GetFunction gave it (the query string, which signs it, left out).
        location: String,
        /// Why.
        reason: String,
    },
    /// A function the user named as a variant differs from the subject in more than the
    /// variant's part.
    #[error(
        "{variant} cannot stand for {subject} {}: its {field} is {variant_value}, {subject}'s is {subject_value}; name a function deployed from the same code with the same handler, runtime, architecture and memory size",
        .kind.describe()
    )]
    VariantMismatch {
        /// The function named as the variant.
        variant: String,
        /// The subject.
        subject: String,
        /// What the variant lacks.
        kind: init_trace::sample::VariantKind,
        /// The configuration field that differs, e.g. `MemorySize`.
        field: &'static str,
        /// The subject's value.
        subject_value: String,
        /// The variant's value.
        variant_value: String,
    },
    /// A function the user named as a variant does not lack what the variant must (or
    /// lacks more), or the subject has no such part.
    #[error("{variant} cannot stand for {subject} {}: {reason}", .kind.describe())]
    VariantShape {
        /// The function named as the variant.
        variant: String,
        /// The subject.
        subject: String,
        /// What the variant lacks.
        kind: init_trace::sample::VariantKind,
        /// Why not.
        reason: String,
    },
    /// A function in no VPC has no network or storage variants to compare.
    #[error(
        "{function} is in no VPC, so there is no network set-up (or EFS mount, which needs a VPC) to measure by difference; give it a VpcConfig first"
    )]
    NoVariants {
        /// The function.
        function: String,
    },
}
