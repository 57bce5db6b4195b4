//! The crate's error type. Deny decisions are not errors: they are [`crate::Decision`]s.

/// What went wrong outside of validating a token: bad keys, files, engines, AWS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key could not be used.
    #[error("{}", if kid.is_empty() { message.clone() } else { format!("key {kid:?}: {message}") })]
    Key {
        /// The key id, empty when unknown.
        kid: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A key set file could not be used.
    #[error("{path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// The problem inside it.
        source: Box<Error>,
    },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// The policy cannot work as configured.
    #[error("policy: {0}")]
    Policy(String),
    /// The CloudFront Function could not be generated.
    #[error("cannot generate the CloudFront Function: {0}")]
    Generate(String),
    /// The embedded JavaScript engine failed to load or run a function.
    #[error("edge runner: {0}")]
    Runner(String),
    /// A signed cookie could not be made or read.
    #[error("signed cookie: {0}")]
    Cookie(String),
    /// A CloudFront API call failed.
    #[error("CloudFront {operation}: {message}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The SDK's message.
        message: String,
    },
}
