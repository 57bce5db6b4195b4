//! The trace-driven simulator: real TTL semantics (expiry fixed at fetch, not reset on a
//! hit), invalidations that reach the caches after a propagation delay,
//! stale-while-revalidate, N edge locations and a regional tier, and optional
//! capacity-limited LRU or FIFO caches (with no TTL, a plain LRU or FIFO cache, which
//! counts misses exactly as libCacheSim does).
//!
//! Time is an integer number of nanoseconds ([`Request::time_ns`]): every trace unit
//! coldfront reads (seconds, milliseconds, microseconds) converts into it exactly, so a
//! read exactly one TTL after the fetch is a miss whatever the trace's unit, where
//! floating-point seconds used to round either way.
//!
//! Requests are streamed from a [`RequestSource`] — the seeded [`generator`] or a trace
//! file ([`trace`]; `oracleGeneral` files are memory-mapped a window at a time) — in
//! batches, so memory grows with the distinct objects, never with the trace length.
//! Edge locations that share no regional cache are independent, so [`simulate`] runs
//! them on [`SimConfig::threads`] threads, each fed its own reads and every write; the
//! figures are the same for any number of threads.

pub mod engine;
pub mod generator;
mod hint;
mod index;
pub mod trace;

pub use engine::{Capacity, Eviction, SimConfig, SimReport, Simulation, simulate};
pub use generator::Generator;
pub use trace::{CsvColumns, TraceFormat, open_trace};

use crate::error::{SimError, TraceError};

/// Nanoseconds in a second.
pub const NS_PER_S: u64 = 1_000_000_000;

/// Whether a request reads or writes its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A viewer GET.
    Read,
    /// A write at the origin (makes cached copies stale, or invalidates them).
    Write,
}

/// One request of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Nanoseconds from any fixed origin; never decreasing.
    pub time_ns: u64,
    /// Object id.
    pub object: u64,
    /// Object size.
    pub size_bytes: u32,
    /// Read or write.
    pub kind: RequestKind,
}

impl Request {
    /// A read of `object` at `time_ns`.
    pub fn read(time_ns: u64, object: u64, size_bytes: u32) -> Self {
        Self {
            time_ns,
            object,
            size_bytes,
            kind: RequestKind::Read,
        }
    }

    /// The time in seconds (for display; the simulator compares `time_ns`).
    pub fn time_s(&self) -> f64 {
        ns_to_s(self.time_ns)
    }
}

/// Seconds as a whole number of nanoseconds, rounded to the nearest; negative and NaN
/// give 0, and anything beyond `u64` (about 584 years) saturates.
pub fn s_to_ns(seconds: f64) -> u64 {
    if seconds.is_nan() || seconds <= 0.0 {
        0
    } else {
        (seconds * NS_PER_S as f64).round() as u64
    }
}

/// Nanoseconds as seconds.
pub fn ns_to_s(ns: u64) -> f64 {
    (ns / NS_PER_S) as f64 + (ns % NS_PER_S) as f64 / NS_PER_S as f64
}

/// A stream of requests that knows how far along it is.
///
/// Implementors write `Iterator::next`, [`fraction_done`](Self::fraction_done) and
/// [`location`](Self::location); the simulator reads through
/// [`next_batch`](Self::next_batch), whose default calls `next` (a fast source, such as
/// the memory-mapped `oracleGeneral` reader, overrides it).
pub trait RequestSource: Iterator<Item = Result<Request, TraceError>> {
    /// Fraction of the input consumed, 0 to 1.
    fn fraction_done(&self) -> f64;

    /// Where the request last returned came from, for errors: `FILE:LINE` for a text
    /// trace, `FILE record N` for a binary one, the request number for a generator.
    fn location(&self) -> String;

    /// Appends up to `max` requests to `batch` (fewer only at the end of the input) and
    /// checks that time never goes back, starting from `previous_ns`, the time of the
    /// request before the batch. An unsorted request is an error naming its location.
    fn next_batch(&mut self, batch: &mut Vec<Request>, max: usize, previous_ns: u64) -> Result<(), SimError> {
        let mut previous_ns = previous_ns;
        for _ in 0..max {
            let Some(request) = self.next() else { break };
            let request = request?;
            if request.time_ns < previous_ns {
                return Err(SimError::unsorted(self.location(), request.time_ns, previous_ns));
            }
            previous_ns = request.time_ns;
            batch.push(request);
        }
        Ok(())
    }
}

impl<S: RequestSource + ?Sized> RequestSource for Box<S> {
    fn fraction_done(&self) -> f64 {
        (**self).fraction_done()
    }
    fn location(&self) -> String {
        (**self).location()
    }
    fn next_batch(&mut self, batch: &mut Vec<Request>, max: usize, previous_ns: u64) -> Result<(), SimError> {
        (**self).next_batch(batch, max, previous_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_convert_to_whole_nanoseconds() {
        assert_eq!(s_to_ns(60.0), 60 * NS_PER_S);
        assert_eq!(s_to_ns(0.001), 1_000_000);
        assert_eq!(s_to_ns(1e-6), 1_000);
        assert_eq!(s_to_ns(-1.0), 0);
        assert_eq!(s_to_ns(f64::INFINITY), u64::MAX);
        assert!((ns_to_s(1_500_000_000) - 1.5).abs() < 1e-15);
    }
}
