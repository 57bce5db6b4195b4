//! The price table: one dated, editable table (defaults from docs/sources.md, "Prices").

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// Where the default prices come from.
pub const PRICES_SOURCE: &str = "sources.md §Prices (us-east-1 / North America, as found 2026)";

/// Every price the cost model uses. Load overrides with [`PriceTable::from_toml_str`]
/// (any subset of fields; the rest keep their defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriceTable {
    /// When the prices were found.
    pub as_of: String,
    /// Where they come from.
    pub source: String,
    /// CloudFront HTTPS requests, per 10,000.
    pub cloudfront_usd_per_10k_requests: f64,
    /// CloudFront data transfer out, per GB (first 10 TB).
    pub cloudfront_usd_per_gb_out: f64,
    /// Always-free CloudFront requests per month.
    pub cloudfront_free_requests_per_month: f64,
    /// Always-free CloudFront data transfer per month.
    pub cloudfront_free_gb_per_month: f64,
    /// Invalidation paths free per month.
    pub invalidation_free_paths_per_month: f64,
    /// Each invalidation path after the free ones.
    pub invalidation_usd_per_path: f64,
    /// CloudFront Functions, per million invocations.
    pub cloudfront_functions_usd_per_million: f64,
    /// Always-free CloudFront Functions invocations per month.
    pub cloudfront_functions_free_per_month: f64,
    /// KeyValueStore reads from functions, per million (UNVERIFIED; docs/sources.md, "CloudFront prices").
    pub kvs_usd_per_million_reads: f64,
    /// Lambda@Edge, per million requests.
    pub lambda_at_edge_usd_per_million: f64,
    /// Lambda@Edge compute, per GB-s (1 ms billing).
    pub lambda_at_edge_usd_per_gb_s: f64,
    /// Lambda requests, per million.
    pub lambda_usd_per_million_requests: f64,
    /// Lambda x86 compute, per GB-s.
    pub lambda_x86_usd_per_gb_s: f64,
    /// Lambda arm64 compute, per GB-s.
    pub lambda_arm64_usd_per_gb_s: f64,
    /// CloudFront flat-rate plans (since 2025-11-18).
    pub flat_rate_plans: Vec<FlatRatePlan>,
}

/// A CloudFront flat-rate plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatRatePlan {
    /// Plan name.
    pub name: String,
    /// Monthly price.
    pub usd_per_month: f64,
    /// Requests included per month.
    pub requests_per_month: f64,
    /// Data transfer included per month, where docs/sources.md ("CloudFront flat-rate plans") states it.
    pub gb_per_month: Option<f64>,
}

impl Default for PriceTable {
    fn default() -> Self {
        let plan = |name: &str, usd_per_month: f64, requests_per_month: f64, gb_per_month: Option<f64>| FlatRatePlan {
            name: name.to_owned(),
            usd_per_month,
            requests_per_month,
            gb_per_month,
        };
        Self {
            as_of: "2026".to_owned(),
            source: PRICES_SOURCE.to_owned(),
            cloudfront_usd_per_10k_requests: 0.0100,
            cloudfront_usd_per_gb_out: 0.085,
            cloudfront_free_requests_per_month: 10e6,
            cloudfront_free_gb_per_month: 1000.0,
            invalidation_free_paths_per_month: 1000.0,
            invalidation_usd_per_path: 0.005,
            cloudfront_functions_usd_per_million: 0.10,
            cloudfront_functions_free_per_month: 2e6,
            kvs_usd_per_million_reads: 0.03,
            lambda_at_edge_usd_per_million: 0.60,
            lambda_at_edge_usd_per_gb_s: 0.000_050_01,
            lambda_usd_per_million_requests: 0.20,
            lambda_x86_usd_per_gb_s: 0.000_016_666_7,
            lambda_arm64_usd_per_gb_s: 0.000_013_333_4,
            flat_rate_plans: vec![
                plan("Free", 0.0, 1e6, Some(100.0)),
                plan("Pro", 15.0, 10e6, None),
                plan("Business", 200.0, 125e6, None),
                plan("Premium", 1000.0, 500e6, None),
            ],
        }
    }
}

impl PriceTable {
    /// Reads a price file (TOML, any subset of the fields).
    pub fn from_toml_file(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses price TOML; `origin` names the text in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ModelError> {
        let table: Self = toml::from_str(text).map_err(|err| crate::toml_file::toml_error(text, origin, &err))?;
        table.check(origin)?;
        Ok(table)
    }

    fn check(&self, origin: &str) -> Result<(), ModelError> {
        let values = [
            ("cloudfront_usd_per_10k_requests", self.cloudfront_usd_per_10k_requests),
            ("cloudfront_usd_per_gb_out", self.cloudfront_usd_per_gb_out),
            (
                "cloudfront_free_requests_per_month",
                self.cloudfront_free_requests_per_month,
            ),
            ("cloudfront_free_gb_per_month", self.cloudfront_free_gb_per_month),
            (
                "invalidation_free_paths_per_month",
                self.invalidation_free_paths_per_month,
            ),
            ("invalidation_usd_per_path", self.invalidation_usd_per_path),
            (
                "cloudfront_functions_usd_per_million",
                self.cloudfront_functions_usd_per_million,
            ),
            (
                "cloudfront_functions_free_per_month",
                self.cloudfront_functions_free_per_month,
            ),
            ("kvs_usd_per_million_reads", self.kvs_usd_per_million_reads),
            ("lambda_at_edge_usd_per_million", self.lambda_at_edge_usd_per_million),
            ("lambda_at_edge_usd_per_gb_s", self.lambda_at_edge_usd_per_gb_s),
            ("lambda_usd_per_million_requests", self.lambda_usd_per_million_requests),
            ("lambda_x86_usd_per_gb_s", self.lambda_x86_usd_per_gb_s),
            ("lambda_arm64_usd_per_gb_s", self.lambda_arm64_usd_per_gb_s),
        ];
        for (key, value) in values {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ModelError::OutOfRange {
                    at: origin.to_owned(),
                    key: format!("prices.{key}"),
                    value,
                    problem: "a price must be a finite number ≥ 0".to_owned(),
                });
            }
        }
        Ok(())
    }
}
