//! One clock for every timestamp the emulator takes.
//!
//! All emulator timestamps are raw `CLOCK_MONOTONIC` nanoseconds, the same clock Python's
//! `time.monotonic_ns()` and C's `clock_gettime(CLOCK_MONOTONIC)` read. That lets a
//! function's own timestamps be compared with the emulator's directly, which is how the
//! Init Duration measurement is checked against an independent clock.

use chrono::{DateTime, Utc};
use nix::time::{ClockId, clock_gettime};

/// Nanoseconds on `CLOCK_MONOTONIC`.
pub fn monotonic_ns() -> u64 {
    // CLOCK_MONOTONIC cannot fail on Linux for a valid clock id; a zero would only make a
    // duration look wrong, never crash a run.
    clock_gettime(ClockId::CLOCK_MONOTONIC).map_or(0, |ts| ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
}

/// Milliseconds between two monotonic timestamps, as a float (Lambda reports two decimals).
pub fn ms_between(start_ns: u64, end_ns: u64) -> f64 {
    end_ns.saturating_sub(start_ns) as f64 / 1_000_000.0
}

/// Maps monotonic timestamps to wall-clock time, anchored at one instant.
#[derive(Debug, Clone, Copy)]
pub struct WallAnchor {
    /// The monotonic timestamp of the anchor.
    pub monotonic_ns: u64,
    /// The wall-clock time at the anchor.
    pub wall: DateTime<Utc>,
}

impl WallAnchor {
    /// Anchors now.
    pub fn now() -> Self {
        Self {
            monotonic_ns: monotonic_ns(),
            wall: Utc::now(),
        }
    }

    /// The wall-clock time of a monotonic timestamp.
    pub fn wall_at(&self, ns: u64) -> DateTime<Utc> {
        let delta = ns as i64 - self.monotonic_ns as i64;
        self.wall + chrono::Duration::nanoseconds(delta)
    }

    /// The monotonic timestamp of a wall-clock time given in nanoseconds since the Unix
    /// epoch, as kernel timestamps (`SO_TIMESTAMPNS`) carry it.
    pub fn monotonic_at(&self, epoch_ns: i128) -> u64 {
        let anchor_epoch_ns = i128::from(self.wall.timestamp_nanos_opt().unwrap_or(0));
        u64::try_from(i128::from(self.monotonic_ns) + epoch_ns - anchor_epoch_ns).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_and_monotonic_times_map_both_ways() {
        let anchor = WallAnchor::now();
        let later_ns = anchor.monotonic_ns + 5_000_000;
        let wall = anchor.wall_at(later_ns);
        let epoch_ns = i128::from(wall.timestamp_nanos_opt().expect("in range"));
        assert_eq!(anchor.monotonic_at(epoch_ns), later_ns);
    }
}
