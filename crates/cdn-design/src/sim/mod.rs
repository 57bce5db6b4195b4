//! The trace-driven simulator: real TTL semantics (expiry fixed at fetch, not reset on a
//! hit), invalidations, stale-while-revalidate, N edge locations and a regional tier, and
//! optional capacity-limited LRU (with no TTL, a plain LRU cache).
//!
//! Requests are streamed from a [`RequestSource`] — the seeded [`generator`] or a trace
//! file ([`trace`]) — so memory grows with the distinct objects, not the trace length.

pub mod engine;
pub mod generator;
pub mod trace;

pub use engine::{Capacity, SimConfig, SimReport, simulate};
pub use generator::Generator;
pub use trace::{CsvColumns, TraceFormat, open_trace};

use crate::error::TraceError;

/// Whether a request reads or writes its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A viewer GET.
    Read,
    /// A write at the origin (makes cached copies stale, or invalidates them).
    Write,
}

/// One request of a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    /// Seconds from any fixed origin; never decreasing.
    pub time_s: f64,
    /// Object id.
    pub object: u64,
    /// Object size.
    pub size_bytes: u32,
    /// Read or write.
    pub kind: RequestKind,
}

/// A stream of requests that knows how far along it is.
pub trait RequestSource: Iterator<Item = Result<Request, TraceError>> {
    /// Fraction of the input consumed, 0 to 1.
    fn fraction_done(&self) -> f64;

    /// Where the request last returned came from, for errors: `FILE:LINE` for a text
    /// trace, `FILE record N` for a binary one, the request number for a generator.
    fn location(&self) -> String;
}

impl<S: RequestSource + ?Sized> RequestSource for Box<S> {
    fn fraction_done(&self) -> f64 {
        (**self).fraction_done()
    }
    fn location(&self) -> String {
        (**self).location()
    }
}
