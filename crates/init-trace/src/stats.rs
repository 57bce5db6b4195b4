//! Summary statistics of a set of durations, in hyperfine's terms plus HDR percentiles.
//!
//! Mean, standard deviation, min and max are computed exactly from the values; the
//! percentiles come from an HDR histogram at microsecond resolution with three significant
//! digits, the same representation the live views and histogram logs use.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Summary of durations in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of values.
    pub n: usize,
    /// Arithmetic mean.
    pub mean_ms: f64,
    /// Sample standard deviation (n − 1); 0 for a single value.
    pub stddev_ms: f64,
    /// Median (p50).
    pub median_ms: f64,
    /// Smallest value.
    pub min_ms: f64,
    /// Largest value.
    pub max_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

/// A histogram of durations recorded in microseconds, 1 µs to 1 hour, 3 significant digits.
pub fn duration_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds are valid")
}

/// Records a duration in ms into a µs histogram, clamped to its range.
pub fn record_ms(histogram: &mut Histogram<u64>, ms: f64) {
    let us = (ms * 1000.0).round().clamp(1.0, 3_600_000_000.0) as u64;
    histogram.saturating_record(us);
}

impl Summary {
    /// Summarises the finite values; `None` when there are none.
    pub fn of(values_ms: &[f64]) -> Option<Self> {
        let values: Vec<f64> = values_ms.iter().copied().filter(|v| v.is_finite()).collect();
        if values.is_empty() {
            return None;
        }
        let n = values.len();
        let mean_ms = values.iter().sum::<f64>() / n as f64;
        let stddev_ms = if n > 1 {
            (values.iter().map(|v| (v - mean_ms).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let mut histogram = duration_histogram();
        for v in &values {
            record_ms(&mut histogram, *v);
        }
        let quantile = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
        Some(Self {
            n,
            mean_ms,
            stddev_ms,
            median_ms: quantile(0.5),
            min_ms: values.iter().copied().fold(f64::INFINITY, f64::min),
            max_ms: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            p90_ms: quantile(0.9),
            p99_ms: quantile(0.99),
        })
    }
}

/// Formats milliseconds with a precision that suits the magnitude (hyperfine style).
pub fn format_ms(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarises_known_values() {
        let s = Summary::of(&[10.0, 20.0, 30.0, 40.0, 50.0]).expect("values");
        assert_eq!(s.n, 5);
        assert!((s.mean_ms - 30.0).abs() < 1e-9);
        assert!((s.stddev_ms - 15.811_388).abs() < 1e-5);
        assert!((s.median_ms - 30.0).abs() < 0.05, "{}", s.median_ms);
        assert_eq!((s.min_ms, s.max_ms), (10.0, 50.0));
        assert!((s.p99_ms - 50.0).abs() < 0.05);
    }

    #[test]
    fn ignores_non_finite_and_empty() {
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[f64::NAN]).is_none());
        let s = Summary::of(&[5.0, f64::NAN]).expect("one value");
        assert_eq!((s.n, s.stddev_ms), (1, 0.0));
    }
}
