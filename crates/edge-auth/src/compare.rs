//! The edge auth options side by side (signed cookies, a CloudFront Function on a JWT or on
//! CloudFront's native CWT module, Lambda@Edge), as plain data for the TUI and the CDN design
//! page: per-request latency (measured locally), cost per million requests (from the
//! price table; docs/sources.md, "Prices"), capabilities, and where every figure comes from.

use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair, UnparsedPublicKey};
use serde::Serialize;

use crate::budget::{self, BudgetOptions, BudgetReport, Rs256Verdict, TokenFormat};
use crate::cff::{FUNCTION_SIZE_LIMIT_BYTES, RsaVariant};
use crate::{Algorithm, EdgeRequest, Error, Validator};

/// CloudFront Functions, USD per million invocations (docs/sources.md, "CloudFront prices").
pub const CLOUDFRONT_FUNCTIONS_USD_PER_MILLION: f64 = 0.10;
/// KeyValueStore reads, USD per million (docs/sources.md, "CloudFront prices"; UNVERIFIED).
pub const KVS_READS_USD_PER_MILLION: f64 = 0.03;
/// Lambda@Edge requests, USD per million (docs/sources.md, "Lambda prices").
pub const LAMBDA_EDGE_USD_PER_MILLION_REQUESTS: f64 = 0.60;
/// Lambda@Edge duration, USD per GB-second (docs/sources.md, "Lambda prices").
pub const LAMBDA_EDGE_USD_PER_GB_S: f64 = 0.000_050_01;
/// Lambda@Edge viewer-event memory, MB (docs/sources.md, "Lambda@Edge").
pub const LAMBDA_EDGE_VIEWER_MEMORY_MB: f64 = 128.0;
/// Lambda@Edge's added latency for a warm viewer-request invocation, in ms. AWS publishes
/// no figure; this is an ASSUMPTION (the same one cdn-design makes), shown as such.
pub const LAMBDA_EDGE_ASSUMED_WARM_MS: f64 = 5.0;

/// Where a figure comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Provenance {
    /// Measured on this machine, with how.
    Measured(String),
    /// From the price table (docs/sources.md, "Prices"), with the entries used.
    PriceTable(String),
    /// An assumption, with its source.
    Assumed(String),
}

/// Whether an option can do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Support {
    /// Yes.
    Yes,
    /// No.
    No,
    /// With a condition (see the row's notes).
    Partly,
}

/// What an option can check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Verifies RS256 JWTs.
    pub rs256: Support,
    /// Fetches keys from a JWKS URL.
    pub jwks: Support,
    /// Checks claims (exp, iss, aud, tenant).
    pub claim_checks: Support,
    /// Rotates keys without redeploying.
    pub key_rotation: Support,
}

/// Which edge option a row describes: the stable key other crates match on (the same
/// names as cdn-design's auth options), never the display name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeOption {
    /// CloudFront signed cookies, checked by CloudFront itself.
    SignedCookies,
    /// A CloudFront Function checking an HS256 JWT.
    CloudfrontFunctionHs256,
    /// A CloudFront Function checking an RS256 JWT in JavaScript.
    CloudfrontFunctionRs256,
    /// A Lambda@Edge viewer-request function.
    LambdaAtEdge,
    /// A CloudFront Function checking a CWT with the native `cf.cwt` module.
    CloudfrontFunctionCwt,
}

impl EdgeOption {
    /// The stable key (`signed-cookies`, `cloudfront-function-hs256`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Self::SignedCookies => "signed-cookies",
            Self::CloudfrontFunctionHs256 => "cloudfront-function-hs256",
            Self::CloudfrontFunctionRs256 => "cloudfront-function-rs256",
            Self::LambdaAtEdge => "lambda-at-edge",
            Self::CloudfrontFunctionCwt => "cloudfront-function-cwt",
        }
    }
}

/// One option in the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionRow {
    /// Which option this is.
    pub key: EdgeOption,
    /// The option's name, for people.
    pub option: String,
    /// Per-request latency of the check, in milliseconds.
    pub latency_ms: f64,
    /// Where the latency comes from.
    pub latency_provenance: Provenance,
    /// Extra cost per million requests beyond CloudFront's own request price, in USD.
    pub cost_usd_per_million: f64,
    /// Where the cost comes from.
    pub cost_provenance: Provenance,
    /// What it can check.
    pub capabilities: Capabilities,
    /// Caveats, one sentence each.
    pub notes: Vec<String>,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Signed cookies, CloudFront Function, Lambda@Edge.
    pub rows: Vec<OptionRow>,
    /// Size of the generated RS256 (BigInt) function, in bytes.
    pub function_size_bytes: usize,
    /// CloudFront's limit, in bytes.
    pub function_limit_bytes: usize,
    /// Does RS256 fit a CloudFront Function?
    pub rs256_verdict: Rs256Verdict,
    /// The verdict in words.
    pub verdict_summary: String,
    /// The budget used, in milliseconds, and where it comes from.
    pub budget_ms: f64,
    /// Where the budget comes from.
    pub budget_provenance: String,
    /// The edge-budget measurement behind the CloudFront Function row.
    pub budget: BudgetReport,
}

/// How much to measure.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompareOptions {
    /// Fewer samples (well under a second in a release build), for UIs.
    pub quick: bool,
    /// The CloudFront Function budget (default 1 ms, an assumption).
    pub budget_ms: Option<f64>,
}

fn median_us(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Measures and tabulates the three options.
pub fn compare(options: &CompareOptions) -> Result<Comparison, Error> {
    let budget_ms = options.budget_ms.unwrap_or(budget::DEFAULT_BUDGET_MS);
    let budget = budget::measure(&BudgetOptions {
        budget_ms,
        quick: options.quick,
    })?;
    let iterations = if options.quick { 200 } else { 2000 };

    // Option 1: CloudFront checks the cookie's RSA signature natively; the local proxy is
    // an RSA-2048 SHA-256 verification of a policy-sized message with aws-lc.
    let pair = RsaKeyPair::generate(KeySize::Rsa2048)
        .map_err(|e| Error::Cookie(format!("cannot make a measuring key: {e}")))?;
    let policy = br#"{"Statement":[{"Resource":"https://acme.wiki.example/*","Condition":{"DateLessThan":{"AWS:EpochTime":1700000600}}}]}"#;
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), policy, &mut sig)
        .map_err(|e| Error::Cookie(e.to_string()))?;
    let public = UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        pair.public_key().as_ref().to_vec(),
    );
    let cookie_us = median_us(
        (0..iterations)
            .map(|_| {
                let start = Instant::now();
                let ok = public.verify(policy, &sig).is_ok();
                std::hint::black_box(ok);
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect(),
    );

    // Option 3: Lambda@Edge runs full crypto; the local figure is the Rust validator's
    // RS256 check, which leaves out Lambda's invocation overhead (not measurable here).
    let fixture = budget::fixture()?;
    let validator = Validator::new(fixture.keys.only(Algorithm::RS256), fixture.policy.clone());
    let event = budget::event_for(&fixture.rs_token);
    let request = EdgeRequest::from_cloudfront_event(&event, "token");
    let lambda_us = median_us(
        (0..iterations)
            .map(|_| {
                let start = Instant::now();
                let decision = validator.validate_request(&request, fixture.now_s);
                std::hint::black_box(decision);
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect(),
    );

    let rs_big = budget
        .variants
        .iter()
        .find(|v| v.rsa_variant == Some(RsaVariant::BigInt) && v.alg == Algorithm::RS256);
    let hs = budget
        .variants
        .iter()
        .find(|v| v.alg == Algorithm::HS256 && v.token_format == TokenFormat::Jwt);
    let cwt = budget
        .variants
        .iter()
        .find(|v| v.token_format == TokenFormat::Cwt)
        .ok_or_else(|| Error::Runner("the edge-budget measurement has no CWT function".into()))?;
    let (cff_key, cff_ms, cff_size, cff_label) = match (budget.rs256_verdict, rs_big, hs) {
        (Rs256Verdict::DoesNotFit, _, Some(hs)) => (
            EdgeOption::CloudfrontFunctionHs256,
            hs.per_request_ms,
            hs.size_bytes,
            "HS256 fallback",
        ),
        (_, Some(rs), _) => (
            EdgeOption::CloudfrontFunctionRs256,
            rs.per_request_ms,
            rs.size_bytes,
            "RS256, BigInt",
        ),
        _ => return Err(Error::Runner("the edge-budget measurement is incomplete".into())),
    };
    // Lambda@Edge: the check itself is measured (the validator's CPU time), the invocation
    // around it is not measurable here and AWS publishes no figure, so the row's latency
    // and billed duration are the assumption plus the check, labelled as such.
    let lambda_ms = LAMBDA_EDGE_ASSUMED_WARM_MS + lambda_us / 1000.0;
    let billed_ms = lambda_ms.ceil().max(1.0);
    let lambda_cost = LAMBDA_EDGE_USD_PER_MILLION_REQUESTS
        + 1e6 * LAMBDA_EDGE_USD_PER_GB_S * (LAMBDA_EDGE_VIEWER_MEMORY_MB / 1024.0) * (billed_ms / 1000.0);
    let rows = vec![
        OptionRow {
            key: EdgeOption::SignedCookies,
            option: "CloudFront signed cookies".into(),
            latency_ms: cookie_us / 1000.0,
            latency_provenance: Provenance::Measured(format!(
                "local proxy: median of {iterations} RSA-2048 signature checks of a policy with aws-lc; CloudFront's own check is native and unpublished"
            )),
            cost_usd_per_million: 0.0,
            cost_provenance: Provenance::PriceTable("no charge beyond CloudFront's request price ($0.0100 per 10k HTTPS requests)".into()),
            capabilities: Capabilities { rs256: Support::No, jwks: Support::No, claim_checks: Support::No, key_rotation: Support::Yes },
            notes: vec![
                "Checks only the policy (resource pattern, time window, source IP): no tenant, audience or issuer claims.".into(),
                "Rotation through CloudFront key groups (several public keys at once).".into(),
                "Cookies are set per subdomain after login, so the tenant is scoped by the cookie's Domain and Resource.".into(),
            ],
        },
        OptionRow {
            key: cff_key,
            option: format!("CloudFront Function JWT ({cff_label})"),
            latency_ms: cff_ms,
            latency_provenance: Provenance::Measured(budget.provenance.trim_start_matches("MEASURED locally: ").to_owned()),
            cost_usd_per_million: CLOUDFRONT_FUNCTIONS_USD_PER_MILLION + KVS_READS_USD_PER_MILLION,
            cost_provenance: Provenance::PriceTable(format!(
                "${CLOUDFRONT_FUNCTIONS_USD_PER_MILLION:.2} per 1M invocations + ~${KVS_READS_USD_PER_MILLION:.2} per 1M KeyValueStore reads (the KVS price is UNVERIFIED); first 2M invocations a month free"
            )),
            capabilities: Capabilities {
                rs256: match budget.rs256_verdict {
                    Rs256Verdict::Fits => Support::Yes,
                    Rs256Verdict::FitsOnlyWithBigInt => Support::Partly,
                    Rs256Verdict::DoesNotFit => Support::No,
                },
                jwks: Support::No,
                claim_checks: Support::Yes,
                key_rotation: Support::Yes,
            },
            notes: vec![
                budget.verdict_summary.clone(),
                "No network: keys are inlined or read from the KeyValueStore, never fetched from a JWKS URL.".into(),
                format!("Generated function {cff_size} bytes of {FUNCTION_SIZE_LIMIT_BYTES}."),
            ],
        },
        OptionRow {
            key: EdgeOption::LambdaAtEdge,
            option: "Lambda@Edge JWT".into(),
            latency_ms: lambda_ms,
            latency_provenance: Provenance::Assumed(format!(
                "ASSUMED {LAMBDA_EDGE_ASSUMED_WARM_MS} ms for a warm invocation (AWS publishes no figure) + the RS256 check itself, \
                 {:.3} ms measured here (median of {iterations} validations by this crate's validator); cold starts add more",
                lambda_us / 1000.0
            )),
            cost_usd_per_million: lambda_cost,
            cost_provenance: Provenance::PriceTable(format!(
                "${LAMBDA_EDGE_USD_PER_MILLION_REQUESTS:.2} per 1M requests + ${LAMBDA_EDGE_USD_PER_GB_S} per GB-s at {LAMBDA_EDGE_VIEWER_MEMORY_MB} MB, billed {billed_ms} ms (1 ms granularity, on the ASSUMED duration)"
            )),
            capabilities: Capabilities { rs256: Support::Yes, jwks: Support::Yes, claim_checks: Support::Yes, key_rotation: Support::Yes },
            notes: vec![
                "Full Node crypto and network (JWKS, OIDC); 128 MB and 5 s for viewer events.".into(),
                "Cannot share a behaviour's viewer events with a CloudFront Function.".into(),
            ],
        },
        OptionRow {
            key: EdgeOption::CloudfrontFunctionCwt,
            option: "CloudFront Function CWT (cf.cwt)".into(),
            latency_ms: cwt.per_request_ms,
            latency_provenance: Provenance::Measured(format!(
                "median handler time of the generated CWT function on a valid token in embedded QuickJS; the MAC is checked by the runner's native cf.cwt shim (Rust, as the module is native on the edge), the claims by the function's JavaScript; {} samples",
                cwt.samples
            )),
            cost_usd_per_million: CLOUDFRONT_FUNCTIONS_USD_PER_MILLION,
            cost_provenance: Provenance::PriceTable(format!(
                "${CLOUDFRONT_FUNCTIONS_USD_PER_MILLION:.2} per 1M invocations, no KeyValueStore read (keys inlined); first 2M invocations a month free"
            )),
            capabilities: Capabilities {
                rs256: Support::No,
                jwks: Support::No,
                claim_checks: Support::Yes,
                key_rotation: Support::Partly,
            },
            notes: vec![
                "cf.cwt verifies only COSE_Mac0 with HMAC-SHA256 and tokens up to 1 KB, and checks no claim: exp, nbf, iss, aud and the tenant are checked by the generated JavaScript.".into(),
                format!(
                    "Token {} bytes (base64url CWT) against {} for the same claims as an HS256 JWT; function {} bytes of {FUNCTION_SIZE_LIMIT_BYTES}.",
                    cwt.token_bytes,
                    hs.map_or(0, |h| h.token_bytes),
                    cwt.size_bytes
                ),
                "Rotation: keys are tried in order, inlined (measured here; rotating republishes the function) or with --kvs read from the KeyValueStore (a KVS write rotates; one read per key tried, ~$0.03 per 1M, UNVERIFIED). The login service must issue CWTs.".into(),
            ],
        },
    ];
    Ok(Comparison {
        rows,
        function_size_bytes: rs_big.map_or(0, |r| r.size_bytes),
        function_limit_bytes: FUNCTION_SIZE_LIMIT_BYTES,
        rs256_verdict: budget.rs256_verdict,
        verdict_summary: budget.verdict_summary.clone(),
        budget_ms,
        budget_provenance: budget.budget_provenance.clone(),
        budget,
    })
}
