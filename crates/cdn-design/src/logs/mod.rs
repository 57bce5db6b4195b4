//! CloudFront's own logs as input: standard access logs (W3C, tab-separated, gzip, as
//! CloudFront writes them to S3) and real-time logs (a configured field list), replayed
//! through the distribution's cache behaviours.
//!
//! The key decision: **the logs are the ground truth to check the model against, not
//! just another trace.** Each record says which edge location answered and whether it
//! was a hit (`x-edge-result-type`), so [`replay()`] prints what CloudFront achieved
//! beside what the simulator and the analytic formulas predict for the same requests,
//! per behaviour, per edge location and overall, and the error between them; [`fit()`]
//! turns the same requests into a workload model that `cdn design --config` reads.
//!
//! Records are merged into time order, stably: CloudFront's files are not in
//! chronological order and one period is spread over several files (docs/sources.md,
//! "CloudFront access logs"). [`LogStream`] hands them out one at a time, each file put
//! in order through a bounded window and the files merged k-way, so months of logs
//! replay ([`Replayer`]) and fit ([`Fitter`]) in memory that grows with the cache keys,
//! not the requests; [`read_logs`] collects them for small inputs. The jobs are one per
//! file: [`fields`] (names and layouts),
//! `decode` (URL-decoding), [`request`] (a logged request and the set of them), `time`
//! (the time formats), [`read`] (files, directories, gzip, lines into [`LogRequest`]s),
//! [`keys`] (behaviour matching and cache keys), [`mod@replay`] and [`mod@fit`].
//!
//! ```
//! use cdn_design::Model;
//! use cdn_design::logs::{Behaviors, LogOptions, read_logs, replay};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("E2EXAMPLE.2026-01-05-10.abcd");
//! std::fs::write(&path, "#Version: 1.0\n\
//! #Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status x-edge-result-type x-host-header\n\
//! 2026-01-05\t10:00:00\tLHR61-P1\t900\t192.0.2.1\tGET\td1.cloudfront.net\t/Main_Page\t200\tMiss\tacme.wiki.example\n\
//! 2026-01-05\t10:00:20\tLHR61-P1\t900\t192.0.2.1\tGET\td1.cloudfront.net\t/Main_Page\t200\tHit\tacme.wiki.example\n")?;
//! let logs = read_logs(&[path], &LogOptions::default())?;
//! let behaviors = Behaviors::from_model(&Model::preset("typical")?);
//! let result = replay(&logs, &behaviors)?;
//! assert_eq!(result.overall.actual_hit_ratio, Some(0.5));
//! // A 60 s page TTL: the second read, 20 s after the first, is a hit in the simulator too.
//! assert_eq!(result.overall.simulated_hit_ratio, 0.5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
pub mod distribution;
mod error;
pub mod fields;
pub mod fit;
pub mod keys;
pub mod read;
pub mod replay;
pub mod request;
mod time;

pub use distribution::{Distribution, load_distribution};
pub use error::LogError;
pub use fields::{Field, LogKind, REALTIME_FIELDS, STANDARD_FIELDS};
pub use fit::{Fit, Fitter, fit};
pub use keys::{BehaviorRule, Behaviors};
pub use read::{LogOptions, LogStream, REORDER_WINDOW, read_logs};
pub use replay::{HitRow, Replay, Replayer, replay, scale_up};
pub use request::{EdgeResult, LogRequest, LogSet, Method, Present, RequestView, Text};
