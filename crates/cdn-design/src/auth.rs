//! Edge auth figures: per-request latency and price of each option.
//!
//! edge-auth (issue 4) measures these; this crate does not depend on it. Callers pass its
//! rows in as plain values ([`AuthRow`]); without them the built-in assumptions below are
//! used and labelled as such.

use serde::{Deserialize, Serialize};

use crate::model::{AuthOption, Model};

/// One auth option's figures, as edge-auth's comparison reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthRow {
    /// Option name: an [`AuthOption::name`] (`cloudfront-function-hs256`, ...) or free text.
    pub option: String,
    /// Added latency per request at the edge.
    pub latency_ms: f64,
    /// Price per million requests, all included.
    pub usd_per_million_requests: f64,
    /// What it can and cannot do.
    pub capabilities: String,
    /// Where the figures come from.
    pub provenance: String,
}

/// Lambda@Edge duration assumed when no measurement is given (UNVERIFIED).
const LAMBDA_AT_EDGE_ASSUMED_MS: f64 = 5.0;

/// The built-in figures for an option, computed from the model's price table.
pub fn default_row(model: &Model, option: AuthOption) -> AuthRow {
    let p = &model.prices;
    let (latency_ms, usd_per_million_requests, capabilities, provenance) = match option {
        AuthOption::SignedCookies => (
            0.0,
            0.0,
            "CloudFront checks the cookie signature itself (RSA-2048 or ECDSA P-256); no claims, no per-wiki roles",
            "sources.md §Signed cookies; no function runs, so no added latency or price",
        ),
        AuthOption::CloudfrontFunctionHs256 => (
            1.0,
            p.cloudfront_functions_usd_per_million,
            "JWT HS256 with crypto.createHmac; shared secret in KeyValueStore; claim checks in code",
            "price sources.md §CloudFront prices; ASSUMED 1 ms ('submillisecond', sources.md §CloudFront Functions limits)",
        ),
        AuthOption::CloudfrontFunctionRs256 => (
            67.0,
            p.cloudfront_functions_usd_per_million,
            "JWT RS256 in pure JavaScript (no signature API at the edge); likely throttled",
            "QuickJS measurement 64–70 ms with Number limbs (sources.md §CloudFront Functions crypto), far over the ~1 ms budget",
        ),
        AuthOption::LambdaAtEdge => (
            LAMBDA_AT_EDGE_ASSUMED_MS,
            p.lambda_at_edge_usd_per_million
                + 1e6 * p.lambda_at_edge_usd_per_gb_s * 0.128 * LAMBDA_AT_EDGE_ASSUMED_MS / 1000.0,
            "full Node crypto: RS256, JWKS, OIDC; 128 MB, 5 s; no CloudFront Function on the same events",
            "price sources.md §Lambda prices, limits §Lambda@Edge; ASSUMED 5 ms at 128 MB (not measured)",
        ),
    };
    AuthRow {
        option: option.name().to_owned(),
        latency_ms,
        usd_per_million_requests,
        capabilities: capabilities.to_owned(),
        provenance: provenance.to_owned(),
    }
}

/// The figures for an option: the caller's row when it gave one, else the default.
pub fn row_for(model: &Model, option: AuthOption) -> AuthRow {
    model
        .auth_rows
        .iter()
        .find(|r| r.option == option.name())
        .cloned()
        .unwrap_or_else(|| default_row(model, option))
}
