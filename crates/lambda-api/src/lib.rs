//! AWS Lambda's own API (2015-03-31) and X-Ray's on loopback, backed by
//! [`init_trace`]'s emulator: what `coldfront serve` runs.
//!
//! The AWS CLI, boto3 and the AWS SDKs talk to it as to Lambda (`--endpoint-url`):
//! `Invoke` (RequestResponse, Event, DryRun, `LogType=Tail`, qualified), `CreateFunction`
//! (a zip, or a local directory), `GetFunction`, `GetFunctionConfiguration`,
//! `UpdateFunctionConfiguration` and `UpdateFunctionCode` (with `LastUpdateStatus` going
//! `InProgress` → `Successful`), `ListFunctions`, `DeleteFunction`, `PublishVersion`; and
//! X-Ray's `PutTraceSegments`, `GetTraceSummaries` and `BatchGetTraces`. Invokes run in a
//! pool of execution environments with Lambda's lifecycle (warm reuse, a cold start per
//! concurrent invoke up to a limit, idle reclaim, every change retiring environments);
//! each environment's life is written as a [`ColdStartSample`](init_trace::sample::ColdStartSample),
//! the same record `coldfront run` writes. RIE's path
//! (`/2015-03-31/functions/function/invocations`) runs the function named for it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use init_trace::local::{EmulatorOptions, LocalEmulator};
//! use init_trace::spec::SpecSet;
//! use lambda_api::{Pool, ServeOptions, Server};
//!
//! let emulator = Arc::new(LocalEmulator::new(EmulatorOptions::default()));
//! let (samples_tx, samples_rx) = tokio::sync::mpsc::unbounded_channel();
//! let pool = Pool::new(emulator, std::time::Duration::from_secs(300), samples_tx);
//! let options = ServeOptions {
//!     rie_function: Some("control".into()),
//!     ..ServeOptions::new(std::env::temp_dir().join("coldfront-serve"))
//! };
//! let server = Server::new(options, &SpecSet::bundled()?, pool);
//! // Each ended environment's life, as `coldfront run` records a cold start.
//! let mut writer = init_trace::sample::SampleWriter::append("served.jsonl".as_ref())?;
//! tokio::spawn(async move {
//!     let mut samples_rx = samples_rx;
//!     while let Some(sample) = samples_rx.recv().await {
//!         let _ = writer.write(&sample);
//!     }
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! axum::serve(listener, server.router()).await?;
//! # Ok(()) }
//! ```

pub mod code;
pub mod error;
pub mod pool;
pub mod registry;
mod server;
pub mod xray;

pub use error::ApiError;
pub use pool::Pool;
pub use server::{
    InvocationSummary, LOG_TAIL_BYTES, MAX_ASYNC_PAYLOAD_BYTES, MAX_SYNC_PAYLOAD_BYTES, ServeOptions, Server,
};
