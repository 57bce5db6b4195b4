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
    /// Summarises the finite values; `None` when there are none. The values are durations:
    /// the percentiles come from a histogram that starts at 1 µs, so anything below (a
    /// signed difference, say) is counted as 1 µs there; use [`median`] for such values.
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

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// Whether `value` lies inside.
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// Resamples used for bootstrap intervals: enough for stable 2.5/97.5 percentiles.
pub const BOOTSTRAP_RESAMPLES: usize = 2_000;

/// The arithmetic mean (NaN for no values).
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The median, interpolated between the middle pair (NaN for no values).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        f64::midpoint(sorted[mid - 1], sorted[mid])
    }
}

/// The `q` quantile (0 to 1), interpolated between the two nearest ranks (NaN for no
/// values). Exact for any value, signed ones included, unlike [`Summary::of`]'s
/// histogram percentiles.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile_of_sorted(&sorted, q)
}

fn percentile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64)
}

fn resample(values: &[f64], rng: &mut impl rand::Rng, buffer: &mut Vec<f64>) {
    buffer.clear();
    buffer.extend((0..values.len()).map(|_| values[rng.random_range(0..values.len())]));
}

/// The 95% percentile interval of `estimate` over [`BOOTSTRAP_RESAMPLES`] resamples, each
/// drawn from a generator seeded with `seed`.
fn percentile_interval(seed: u64, mut estimate: impl FnMut(&mut rand::rngs::StdRng) -> f64) -> Interval {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut estimates: Vec<f64> = (0..BOOTSTRAP_RESAMPLES).map(|_| estimate(&mut rng)).collect();
    estimates.sort_by(f64::total_cmp);
    Interval {
        low: percentile_of_sorted(&estimates, 0.025),
        high: percentile_of_sorted(&estimates, 0.975),
    }
}

/// A 95% percentile-bootstrap confidence interval of `statistic` (e.g. [`mean`] or
/// [`median`]). Deterministic for a given seed, so reports re-render identically.
/// `None` with fewer than two values.
pub fn bootstrap_ci(values: &[f64], statistic: fn(&[f64]) -> f64, seed: u64) -> Option<Interval> {
    if values.len() < 2 {
        return None;
    }
    let mut buffer = Vec::with_capacity(values.len());
    Some(percentile_interval(seed, |rng| {
        resample(values, rng, &mut buffer);
        statistic(&buffer)
    }))
}

/// A 95% percentile-bootstrap confidence interval of `statistic(a) − statistic(b)`, the
/// two groups resampled independently. `None` unless both have two values or more.
pub fn bootstrap_diff_ci(a: &[f64], b: &[f64], statistic: fn(&[f64]) -> f64, seed: u64) -> Option<Interval> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (mut buffer_a, mut buffer_b) = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
    Some(percentile_interval(seed, |rng| {
        resample(a, rng, &mut buffer_a);
        resample(b, rng, &mut buffer_b);
        statistic(&buffer_a) - statistic(&buffer_b)
    }))
}

/// A 95% percentile-bootstrap confidence interval of `Σ numerator / Σ denominator` over
/// paired values (element `i` of each belongs to round `i`; rounds are resampled whole),
/// e.g. the ratio of two rates measured in interleaved rounds. `None` unless both have
/// the same length of two or more.
pub fn bootstrap_ratio_of_sums_ci(numerator: &[f64], denominator: &[f64], seed: u64) -> Option<Interval> {
    use rand::Rng;
    if numerator.len() != denominator.len() || numerator.len() < 2 {
        return None;
    }
    let n = numerator.len();
    Some(percentile_interval(seed, |rng| {
        let (mut top, mut bottom) = (0.0, 0.0);
        for _ in 0..n {
            let i = rng.random_range(0..n);
            top += numerator[i];
            bottom += denominator[i];
        }
        top / bottom
    }))
}

/// The modified z-score above which a value is an outlier (Iglewicz and Hoaglin).
pub const OUTLIER_Z: f64 = 3.5;

/// How far above the median a cold start must also be before it is called an outlier, as a
/// share of the median. On a quiet machine the MAD of Init Duration can be a fraction of a
/// millisecond, so a z-score alone flags cold starts that differ by less than the timer's
/// and scheduler's noise.
pub const OUTLIER_FLOOR_SHARE: f64 = 0.05;

/// The same floor in absolute terms, for fast functions whose 5 % is below scheduling noise.
pub const OUTLIER_FLOOR_MS: f64 = 1.0;

/// A value flagged by [`slow_outliers`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlowOutlier {
    /// Index into the values given.
    pub index: usize,
    /// The modified z-score, |x − median| / (1.4826 · MAD); always above [`OUTLIER_Z`].
    pub z: f64,
    /// How far above the median the value is, in the values' unit.
    pub excess: f64,
}

/// The slow outliers of a set of durations: values whose modified z-score (by the median
/// absolute deviation, robust to the outliers themselves) is above [`OUTLIER_Z`] **and**
/// that are more than the noise floor above the median (the larger of
/// [`OUTLIER_FLOOR_SHARE`] of the median and [`OUTLIER_FLOOR_MS`]).
///
/// The rule is one-sided because a duration has a hard lower bound (the work itself) and
/// an open upper one: interference only ever adds time, so a cold start well below the
/// others is the undisturbed case, not an anomaly.
pub fn slow_outliers(values: &[f64]) -> Vec<SlowOutlier> {
    if values.len() < 3 {
        return Vec::new();
    }
    let center = median(values);
    let deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    let mad = median(&deviations) * 1.4826;
    let floor = outlier_floor(center);
    values
        .iter()
        .enumerate()
        .filter_map(|(index, v)| {
            let excess = v - center;
            if excess <= floor {
                return None;
            }
            // With a zero MAD (most values identical) any value past the floor stands out;
            // the z-score stays finite so that it survives a JSON round trip.
            let z = excess / mad.max(1e-9);
            (z > OUTLIER_Z).then_some(SlowOutlier { index, z, excess })
        })
        .collect()
}

/// The smallest excess over the median that [`slow_outliers`] reports.
pub fn outlier_floor(median: f64) -> f64 {
    (median.abs() * OUTLIER_FLOOR_SHARE).max(OUTLIER_FLOOR_MS)
}

/// One decimal, without a "-0.0" for values that are zero up to float noise.
pub fn one_decimal(value: f64) -> String {
    if value.abs() < 0.05 {
        "0.0".to_owned()
    } else {
        format!("{value:.1}")
    }
}

/// Formats milliseconds with a precision that suits the magnitude (hyperfine style).
pub fn format_ms(ms: f64) -> String {
    // Values that are zero up to float noise print as zero, not "-0.00 ms".
    let ms = if ms.abs() < 0.005 { 0.0 } else { ms };
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

    fn normal(rng: &mut impl rand::Rng, mu: f64, sigma: f64) -> f64 {
        // Box–Muller.
        let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
        mu + sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn coverage(draw: &dyn Fn(&mut rand::rngs::StdRng) -> f64, truth: f64, statistic: fn(&[f64]) -> f64) -> f64 {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let trials: u32 = 300;
        let covered = (0..trials)
            .filter(|trial| {
                let values: Vec<f64> = (0..30).map(|_| draw(&mut rng)).collect();
                bootstrap_ci(&values, statistic, u64::from(*trial))
                    .expect("interval")
                    .contains(truth)
            })
            .count();
        covered as f64 / f64::from(trials)
    }

    #[test]
    fn bootstrap_intervals_cover_the_truth_about_95_percent_of_the_time() {
        // Normal(100, 10): the mean's interval. Percentile bootstrap at n = 30 runs a little
        // narrow; 88..99% is what a correct implementation gives, a broken one does not.
        let mean_coverage = coverage(&|rng| normal(rng, 100.0, 10.0), 100.0, mean);
        assert!((0.88..=0.99).contains(&mean_coverage), "mean coverage {mean_coverage}");
        // Exponential(1), skewed like cold-start times: the median's interval (true median ln 2).
        let median_coverage = coverage(
            &|rng| -(1.0 - rand::Rng::random::<f64>(rng)).ln(),
            std::f64::consts::LN_2,
            median,
        );
        assert!(
            (0.88..=0.99).contains(&median_coverage),
            "median coverage {median_coverage}"
        );
    }

    #[test]
    fn difference_interval_excludes_zero_only_for_a_real_difference() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a: Vec<f64> = (0..30).map(|_| normal(&mut rng, 120.0, 10.0)).collect();
        let b: Vec<f64> = (0..30).map(|_| normal(&mut rng, 100.0, 10.0)).collect();
        let same: Vec<f64> = (0..30).map(|_| normal(&mut rng, 100.0, 10.0)).collect();
        let real = bootstrap_diff_ci(&a, &b, mean, 3).expect("interval");
        assert!(real.low > 0.0 && real.contains(20.0), "{real:?}");
        let none = bootstrap_diff_ci(&same, &b, mean, 3).expect("interval");
        assert!(none.contains(0.0), "{none:?}");
    }

    #[test]
    fn ratio_interval_resamples_rounds_whole() {
        use rand::{Rng, SeedableRng};
        // Rounds drift together (a busy machine slows both commands of a round), so only
        // resampling whole rounds gives an interval that is both right and narrow.
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let truth = 1.0 / 1.1;
        let trials: u32 = 300;
        let mut widths = Vec::new();
        let covered = (0..trials)
            .filter(|trial| {
                let drift: Vec<f64> = (0..40).map(|_| rng.random_range(5.0..20.0)).collect();
                let top: Vec<f64> = drift.iter().map(|d| d + normal(&mut rng, 0.0, 0.5)).collect();
                let bottom: Vec<f64> = drift.iter().map(|d| d * 1.1 + normal(&mut rng, 0.0, 0.5)).collect();
                let interval = bootstrap_ratio_of_sums_ci(&top, &bottom, u64::from(*trial)).expect("interval");
                widths.push(interval.high - interval.low);
                interval.contains(truth)
            })
            .count();
        let coverage = f64::from(u32::try_from(covered).expect("small")) / f64::from(trials);
        assert!((0.88..=0.99).contains(&coverage), "coverage {coverage}");
        // Unpaired, the drift (5–20) would make the interval several times wider than 0.05.
        assert!(median(&widths) < 0.05, "median width {}", median(&widths));
        assert!(bootstrap_ratio_of_sums_ci(&[1.0, 2.0], &[1.0], 0).is_none());
    }

    #[test]
    fn flags_the_slow_outlier_not_its_neighbours() {
        let values = [100.0, 101.0, 99.0, 102.0, 98.0, 100.5, 99.5, 400.0];
        let outliers = slow_outliers(&values);
        assert_eq!(outliers.iter().map(|o| o.index).collect::<Vec<_>>(), [7]);
        assert!((outliers[0].excess - 299.75).abs() < 1e-9);
        assert!(slow_outliers(&[5.0, 5.0, 5.0, 5.0]).is_empty());
        assert!((median(&[1.0, 3.0, 2.0, 4.0]) - 2.5).abs() < 1e-12);
    }

    #[test]
    fn fast_values_are_never_outliers() {
        // A tight cluster with one much faster cold start: z would be about −10.
        let values = [250.0, 250.2, 249.9, 250.1, 250.0, 250.3, 249.8, 23.84];
        assert!(slow_outliers(&values).is_empty());
    }

    #[test]
    fn values_within_the_noise_floor_are_not_outliers() {
        // MAD 0.1 ms: 253 ms is z ≈ 20 but only 3 ms (1.2 %) above the median of 250 ms.
        let values = [250.0, 250.1, 249.9, 250.1, 249.9, 250.0, 253.0];
        assert!(slow_outliers(&values).is_empty());
        // 20 ms (8 %) above is past the floor.
        let values = [250.0, 250.1, 249.9, 250.1, 249.9, 250.0, 270.0];
        assert_eq!(slow_outliers(&values).len(), 1);
        // A fast function: the 1 ms absolute floor applies, not 5 % of 10 ms.
        assert!((outlier_floor(10.0) - 1.0).abs() < 1e-12);
        let values = [10.0, 10.01, 9.99, 10.0, 10.02, 9.98, 10.8];
        assert!(slow_outliers(&values).is_empty());
        // Identical values except one far above: the zero MAD does not hide it.
        assert_eq!(slow_outliers(&[5.0, 5.0, 5.0, 5.0, 9.0]).len(), 1);
    }

    #[test]
    fn ignores_non_finite_and_empty() {
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[f64::NAN]).is_none());
        let s = Summary::of(&[5.0, f64::NAN]).expect("one value");
        assert_eq!((s.n, s.stddev_ms), (1, 0.0));
    }
}
