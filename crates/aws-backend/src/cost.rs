//! What a run may cost on AWS, estimated before anything runs: an upper bound from the
//! function's configuration, since how long its cold starts take is what the run is
//! there to find out.
//!
//! Each forced cold start is one request, billed for INIT (Lambda bills INIT for ZIP
//! functions on managed runtimes since 2025-08-01) and the invoke, at the function's
//! memory size, and, with tracing on, one X-Ray trace recorded and one retrieved. The
//! bound takes INIT at its 10 s limit and the invoke at the function's timeout. The
//! prices are us-east-1's as found in 2026 (docs/sources.md, "Lambda prices" and "X-Ray
//! prices"); other regions differ by a few per cent, and the estimate says which prices it
//! used. Free tiers are left out: a run should not count on them.

use serde::Serialize;

/// Lambda's price per million requests, USD (docs/sources.md, "Lambda prices").
pub const LAMBDA_USD_PER_MILLION_REQUESTS: f64 = 0.20;
/// Lambda's price per GB-second on x86_64, USD (docs/sources.md, "Lambda prices").
pub const LAMBDA_X86_USD_PER_GB_S: f64 = 0.000_016_666_7;
/// Lambda's price per GB-second on arm64, USD (docs/sources.md, "Lambda prices").
pub const LAMBDA_ARM64_USD_PER_GB_S: f64 = 0.000_013_333_4;
/// X-Ray's price per million traces recorded, USD (docs/sources.md, "X-Ray prices").
pub const XRAY_USD_PER_MILLION_RECORDED: f64 = 5.00;
/// X-Ray's price per million traces retrieved, USD (docs/sources.md, "X-Ray prices").
pub const XRAY_USD_PER_MILLION_RETRIEVED: f64 = 0.50;
/// The longest an on-demand INIT may take (docs/sources.md, "Lambda INIT phase").
pub const INIT_LIMIT_S: f64 = 10.0;
/// The region the prices above are for.
pub const PRICES_REGION: &str = "us-east-1";

/// One function's part of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Work {
    /// The function.
    pub function: String,
    /// Forced cold starts (one invoke each).
    pub cold_starts: u64,
    /// The memory size each runs at, MB (a sweep gives one `Work` per size).
    pub memory_mb: u32,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// The function's `Timeout`.
    pub timeout_s: u32,
    /// Whether each cold start's trace is recorded and fetched.
    pub xray: bool,
}

/// The estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Invocations in all.
    pub invocations: u64,
    /// GB-seconds at most (INIT at its limit, each invoke at its timeout).
    pub max_gb_s: f64,
    /// Requests, USD.
    pub requests_usd: f64,
    /// Compute at most, USD.
    pub max_compute_usd: f64,
    /// X-Ray (recorded and retrieved), USD.
    pub xray_usd: f64,
    /// The whole bound, USD.
    pub max_total_usd: f64,
    /// The region whose prices were used.
    pub prices_region: &'static str,
    /// The region the run is in, when known and different: the figure is then approximate.
    pub region_differs: Option<String>,
}

/// The most `work` can cost in `region`.
pub fn estimate(work: &[Work], region: Option<&str>) -> Estimate {
    let mut invocations = 0;
    let (mut max_gb_s, mut max_compute_usd, mut traces) = (0.0, 0.0, 0u64);
    for w in work {
        invocations += w.cold_starts;
        let gb_s = w.cold_starts as f64 * (INIT_LIMIT_S + f64::from(w.timeout_s)) * f64::from(w.memory_mb) / 1024.0;
        max_gb_s += gb_s;
        max_compute_usd += gb_s * price_per_gb_s(&w.architecture);
        if w.xray {
            traces += w.cold_starts;
        }
    }
    let requests_usd = invocations as f64 * LAMBDA_USD_PER_MILLION_REQUESTS / 1e6;
    let xray_usd = traces as f64 * (XRAY_USD_PER_MILLION_RECORDED + XRAY_USD_PER_MILLION_RETRIEVED) / 1e6;
    Estimate {
        invocations,
        max_gb_s,
        requests_usd,
        max_compute_usd,
        xray_usd,
        max_total_usd: requests_usd + max_compute_usd + xray_usd,
        prices_region: PRICES_REGION,
        region_differs: region
            .filter(|r| !r.is_empty() && *r != PRICES_REGION)
            .map(str::to_owned),
    }
}

/// The GB-second price of an architecture; anything but `arm64` is billed as x86.
fn price_per_gb_s(architecture: &str) -> f64 {
    if architecture == "arm64" {
        LAMBDA_ARM64_USD_PER_GB_S
    } else {
        LAMBDA_X86_USD_PER_GB_S
    }
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "at most ${:.4}: {} invocations (${:.4}), at most {:.1} GB-s of compute if every INIT took its 10 s limit \
             and every invoke its timeout (${:.4}), X-Ray ${:.4}; {} prices, free tiers not counted",
            self.max_total_usd,
            self.invocations,
            self.requests_usd,
            self.max_gb_s,
            self.max_compute_usd,
            self.xray_usd,
            self.prices_region
        )?;
        if let Some(region) = &self.region_differs {
            write!(f, " ({region}'s prices differ a little)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(architecture: &str, xray: bool) -> Work {
        Work {
            function: "f".into(),
            cold_starts: 100,
            memory_mb: 1024,
            architecture: architecture.into(),
            timeout_s: 3,
            xray,
        }
    }

    #[test]
    fn the_bound_is_requests_plus_compute_at_the_limits_plus_xray() {
        let e = estimate(&[work("x86_64", true)], Some("us-east-1"));
        assert_eq!(e.invocations, 100);
        // 100 × (10 s + 3 s) × 1 GB.
        assert!((e.max_gb_s - 1300.0).abs() < 1e-9);
        assert!((e.max_compute_usd - 1300.0 * LAMBDA_X86_USD_PER_GB_S).abs() < 1e-12);
        assert!((e.requests_usd - 100.0 * 0.20 / 1e6).abs() < 1e-15);
        assert!((e.xray_usd - 100.0 * 5.50 / 1e6).abs() < 1e-15);
        assert!((e.max_total_usd - (e.requests_usd + e.max_compute_usd + e.xray_usd)).abs() < 1e-15);
        assert_eq!(e.region_differs, None);
    }

    #[test]
    fn arm64_is_cheaper_and_another_region_is_flagged() {
        let x86 = estimate(&[work("x86_64", false)], None);
        let arm = estimate(&[work("arm64", false)], Some("eu-west-1"));
        assert!(arm.max_compute_usd < x86.max_compute_usd);
        assert!(arm.xray_usd.abs() < 1e-15, "no X-Ray, no X-Ray cost");
        assert_eq!(arm.region_differs.as_deref(), Some("eu-west-1"));
        assert!(arm.to_string().contains("eu-west-1's prices differ"), "{arm}");
    }
}
