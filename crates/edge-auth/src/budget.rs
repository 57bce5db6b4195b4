//! The RS256 answer: does a pure-JavaScript RS256 check fit a CloudFront Function?
//!
//! Measured locally by running the generated functions in the [`crate::runner`] on a valid
//! token (the most expensive path: every check runs) and comparing the median per-request
//! time with a budget. The default budget of 1 ms is an ASSUMPTION: AWS documents the
//! duration only as "submillisecond"; the 1 ms figure is third-party (docs/sources.md,
//! "CloudFront Functions limits").
//! QuickJS is an interpreter like the edge runtime but not the same one, so the verdict is
//! a local estimate; CloudFront's own `ComputeUtilization` ([`crate::aws`]) is the check.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, KeyPair as _, RsaKeyPair};
use serde::Serialize;
use serde_json::json;

use crate::cff::{CwtFunctionOptions, FunctionOptions, GeneratedFunction, KeySource, RsaVariant, generate};
use crate::cwt::{CwtClaims, CwtKey, SignOptions};
use crate::runner::{EdgeRunner, RunnerOptions};
use crate::{Algorithm, Error, Key, KeySet, Policy, b64};

/// The default budget per request, in milliseconds (an assumption; see the module docs).
pub const DEFAULT_BUDGET_MS: f64 = 1.0;

/// Where the budget figure comes from.
pub const BUDGET_PROVENANCE: &str = "ASSUMED: 1 ms is a third-party figure; AWS documents CloudFront Functions only as \"submillisecond\" (sources.md §CloudFront Functions limits, UNVERIFIED)";

/// The fallback when RS256 does not fit.
pub const HS256_FALLBACK: &str = "HS256 fallback: the login service signs tokens with a shared secret kept in the CloudFront KeyValueStore, and the function checks them with crypto.createHmac (native, no big-number arithmetic). Every claim check stays the same; what is lost is that the edge then holds a secret that can mint tokens, so keep it per-distribution, rotate it through the KVS (kid-named entries), and never reuse the login service's RS256 private key material.";

/// How long to measure.
#[derive(Debug, Clone, Copy)]
pub struct BudgetOptions {
    /// The per-request budget, in milliseconds.
    pub budget_ms: f64,
    /// Fewer samples, for UIs and quick benches.
    pub quick: bool,
}

impl Default for BudgetOptions {
    fn default() -> Self {
        Self {
            budget_ms: DEFAULT_BUDGET_MS,
            quick: false,
        }
    }
}

/// What a function checks: a JWT in JavaScript, or a CWT with CloudFront's native `cf.cwt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFormat {
    /// A compact JWS (JWT), checked by the generated JavaScript.
    Jwt,
    /// A CWT (`COSE_Mac0`, HMAC 256/256), verified by `cf.cwt.validateToken`.
    Cwt,
}

/// The measured cost of one generated function.
#[derive(Debug, Clone, Serialize)]
pub struct VariantCost {
    /// `HS256`, `RS256 BigInt`, `RS256 limbs` or `CWT (cf.cwt)`.
    pub name: String,
    /// JWT or CWT.
    pub token_format: TokenFormat,
    /// The pinned algorithm (HS256 for the CWT: HMAC 256/256 is the same MAC).
    pub alg: Algorithm,
    /// RS256 arithmetic.
    pub rsa_variant: Option<RsaVariant>,
    /// The function's size in bytes (limit 10,240).
    pub size_bytes: usize,
    /// The measured token as it travels in the `Authorization` header (base64url for the
    /// CWT), in bytes, for the same claims.
    pub token_bytes: usize,
    /// Median handler time per request, in milliseconds (measured locally, QuickJS).
    pub per_request_ms: f64,
    /// 90th percentile, in milliseconds.
    pub p90_ms: f64,
    /// Interrupt-handler polls per request (≈ 10,000 back-jumps or calls each).
    pub interrupt_checks_per_request: f64,
    /// Engine memory in use after a request, in bytes (limit 2 MB).
    pub memory_used_bytes: u64,
    /// Samples behind the median.
    pub samples: usize,
    /// Whether the median is within the budget.
    pub within_budget: bool,
}

/// The answer to "does RS256 fit?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rs256Verdict {
    /// Both variants fit the budget.
    Fits,
    /// Only the BigInt variant fits: RS256 works if the runtime has BigInt (UNVERIFIED;
    /// probe `typeof BigInt` with TestFunction), else fall back to HS256.
    FitsOnlyWithBigInt,
    /// Neither fits: use HS256.
    DoesNotFit,
}

impl Rs256Verdict {
    /// One line for people.
    pub fn summary(self) -> &'static str {
        match self {
            Rs256Verdict::Fits => "RS256 fits the budget in both variants",
            Rs256Verdict::FitsOnlyWithBigInt => {
                "RS256 fits only with BigInt (whether cloudfront-js-2.0 has BigInt is UNVERIFIED: probe it with TestFunction); without it, use the HS256 fallback"
            }
            Rs256Verdict::DoesNotFit => "RS256 does not fit the budget: use the HS256 fallback",
        }
    }
}

/// Everything `edge-budget` reports.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetReport {
    /// The budget per request, in milliseconds.
    pub budget_ms: f64,
    /// Where the budget comes from.
    pub budget_provenance: String,
    /// HS256, RS256 BigInt and RS256 limbs (JWT), then the CWT function on `cf.cwt`.
    pub variants: Vec<VariantCost>,
    /// The verdict.
    pub rs256_verdict: Rs256Verdict,
    /// The verdict in words.
    pub verdict_summary: String,
    /// The documented fallback.
    pub hs256_fallback: String,
    /// How the figures were measured.
    pub provenance: String,
}

/// A throwaway RSA-2048 key, a secret, and a valid token for each, for measuring.
pub(crate) struct Fixture {
    pub keys: KeySet,
    pub policy: Policy,
    pub hs_token: String,
    pub rs_token: String,
    /// The HS256 secret as a CWT key, and a CWT with the same claims.
    pub cwt_key: CwtKey,
    pub cwt_token: String,
    pub now_s: f64,
}

pub(crate) fn fixture() -> Result<Fixture, Error> {
    fixture_at(1_700_000_000.0)
}

/// The fixture with tokens valid at `now_s` (for ten minutes).
pub(crate) fn fixture_at(now_s: f64) -> Result<Fixture, Error> {
    let fail = |e: &dyn std::fmt::Display| Error::Generate(format!("cannot make a measuring key: {e}"));
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| fail(&e))?;
    let (n, e) = crate::keys::rsa_components_from_der(pair.public_key().as_ref()).map_err(|e| fail(&e))?;
    let secret = b"edge-budget-measuring-secret-0123456789";
    let keys = KeySet::new()
        .with(Key::rsa("rs-1", Algorithm::RS256, &n, &e)?)?
        .with(Key::hmac("hs-1", Algorithm::HS256, secret)?)?;
    let policy = Policy {
        wiki_domain: Some("wiki.example".into()),
        ..Policy::default()
    };
    let iat = now_s as u64;
    let claims = json!({"sub": "ann", "tenant": "acme", "exp": iat + 600, "iat": iat}).to_string();
    let hs_token = crate::sign_hs(
        Algorithm::HS256,
        "hs-1",
        secret,
        &serde_json::from_str(&claims).map_err(|e| fail(&e))?,
    )?;
    let input = format!(
        "{}.{}",
        b64::encode(br#"{"alg":"RS256","typ":"JWT","kid":"rs-1"}"#),
        b64::encode(claims.as_bytes())
    );
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|e| fail(&e))?;
    let rs_token = format!("{input}.{}", b64::encode(&sig));
    let cwt_key = CwtKey::new("hs-1", secret)?;
    let cwt_claims = CwtClaims {
        sub: Some("ann".into()),
        tenant: Some("acme".into()),
        exp: Some(i64::try_from(iat + 600).map_err(|e| fail(&e))?),
        iat: Some(i64::try_from(iat).map_err(|e| fail(&e))?),
        ..CwtClaims::default()
    };
    let cwt_token = crate::cwt::to_text(&crate::cwt::issue(&cwt_claims, &cwt_key, &SignOptions::default()));
    Ok(Fixture {
        keys,
        policy,
        hs_token,
        rs_token,
        cwt_key,
        cwt_token,
        now_s,
    })
}

pub(crate) fn event_for(token: &str) -> serde_json::Value {
    json!({
        "version": "1.0",
        "context": {"eventType": "viewer-request"},
        "viewer": {"ip": "198.51.100.7"},
        "request": {"method": "GET", "uri": "/Home", "querystring": {}, "cookies": {},
            "headers": {"host": {"value": "acme.wiki.example"}, "authorization": {"value": format!("Bearer {token}")}}}
    })
}

/// Generates one function of the fixture.
pub(crate) fn function_for(fixture: &Fixture, alg: Algorithm, variant: RsaVariant) -> Result<GeneratedFunction, Error> {
    let options = FunctionOptions {
        alg,
        rsa_variant: variant,
        key_source: KeySource::Inline,
        ..FunctionOptions::default()
    };
    generate(&fixture.keys, &fixture.policy, &options)
}

/// Runs `function` on `token` `samples` times after a warm-up and summarises the cost.
fn measure_function(
    name: &str,
    (function, token_format): (&GeneratedFunction, TokenFormat),
    token: &str,
    now_s: f64,
    samples: usize,
    budget_ms: f64,
) -> Result<VariantCost, Error> {
    let event = &event_for(token);
    let runner = EdgeRunner::load(
        &function.code,
        &RunnerOptions {
            timeout: Duration::from_secs(30),
            ..RunnerOptions::default()
        },
    )?;
    let warm = runner.run(event, now_s * 1000.0)?;
    if !warm.allowed() {
        return Err(Error::Runner(format!(
            "{name}: the function denied a valid token ({:?}); the measurement would be meaningless",
            warm.error.clone().or_else(|| warm.deny_reason().map(str::to_owned))
        )));
    }
    let mut times_ms = Vec::with_capacity(samples);
    let mut checks = 0u64;
    let mut memory_used_bytes = 0;
    for _ in 0..samples.max(1) {
        let outcome = runner.run(event, now_s * 1000.0)?;
        times_ms.push(outcome.duration_us / 1000.0);
        checks += outcome.interrupt_checks;
        memory_used_bytes = memory_used_bytes.max(outcome.memory_used_bytes);
    }
    times_ms.sort_by(f64::total_cmp);
    let pick = |q: f64| times_ms[((times_ms.len() - 1) as f64 * q).round() as usize];
    let per_request_ms = pick(0.5);
    Ok(VariantCost {
        name: name.to_owned(),
        token_format,
        alg: function.alg,
        rsa_variant: function.rsa_variant,
        size_bytes: function.size_bytes,
        token_bytes: token.len(),
        per_request_ms,
        p90_ms: pick(0.9),
        interrupt_checks_per_request: checks as f64 / times_ms.len() as f64,
        memory_used_bytes,
        samples: times_ms.len(),
        within_budget: per_request_ms <= budget_ms,
    })
}

/// Measures the HS256, RS256 BigInt and RS256 limb functions and the CWT function, and
/// gives the verdict.
pub fn measure(options: &BudgetOptions) -> Result<BudgetReport, Error> {
    let fixture = fixture()?;
    let (fast_samples, slow_samples) = if options.quick { (30, 3) } else { (300, 15) };
    let mut variants = Vec::new();
    for (name, alg, variant, token, samples) in [
        (
            "HS256",
            Algorithm::HS256,
            RsaVariant::BigInt,
            &fixture.hs_token,
            fast_samples,
        ),
        (
            "RS256 BigInt",
            Algorithm::RS256,
            RsaVariant::BigInt,
            &fixture.rs_token,
            fast_samples,
        ),
        (
            "RS256 limbs",
            Algorithm::RS256,
            RsaVariant::Limbs,
            &fixture.rs_token,
            slow_samples,
        ),
    ] {
        let function = function_for(&fixture, alg, variant)?;
        variants.push(measure_function(
            name,
            (&function, TokenFormat::Jwt),
            token,
            fixture.now_s,
            samples,
            options.budget_ms,
        )?);
    }
    // CloudFront's native CWT option: the same claims, the MAC checked by cf.cwt (native in
    // the runner as on the edge), the claims by the function's JavaScript.
    let cwt_function = crate::cff::generate_cwt(
        std::slice::from_ref(&fixture.cwt_key),
        &fixture.policy,
        &CwtFunctionOptions::default(),
    )?;
    variants.push(measure_function(
        "CWT (cf.cwt)",
        (&cwt_function, TokenFormat::Cwt),
        &fixture.cwt_token,
        fixture.now_s,
        fast_samples,
        options.budget_ms,
    )?);
    let big = variants[1].within_budget;
    let limbs = variants[2].within_budget;
    let rs256_verdict = match (big, limbs) {
        (true, true) => Rs256Verdict::Fits,
        (true, false) => Rs256Verdict::FitsOnlyWithBigInt,
        _ => Rs256Verdict::DoesNotFit,
    };
    Ok(BudgetReport {
        budget_ms: options.budget_ms,
        budget_provenance: if (options.budget_ms - DEFAULT_BUDGET_MS).abs() < f64::EPSILON {
            BUDGET_PROVENANCE.to_owned()
        } else {
            format!("given on the command line ({} ms)", options.budget_ms)
        },
        variants,
        rs256_verdict,
        verdict_summary: rs256_verdict.summary().to_owned(),
        hs256_fallback: HS256_FALLBACK.to_owned(),
        provenance: "MEASURED locally: median handler time of the generated function on a valid token (every check runs) in embedded QuickJS (rquickjs) with a 2 MB memory limit, after one warm-up request; QuickJS is an interpreter like CloudFront's runtime but not the same engine".to_owned(),
    })
}

/// The RS256 (BigInt) function and a valid event for it, for CloudFront `TestFunction`:
/// the function source and the viewer-request event.
pub fn rs256_probe_function() -> Result<(String, serde_json::Value), Error> {
    // CloudFront runs the function at the real time, so the token must be valid now.
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let fixture = fixture_at(now_s)?;
    let function = function_for(&fixture, Algorithm::RS256, RsaVariant::Auto)?;
    Ok((function.code, event_for(&fixture.rs_token)))
}
