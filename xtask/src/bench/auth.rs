//! Edge auth benchmarks: full validations per second per algorithm, next to OpenSSL's raw
//! verify rate measured in the same run, and the generated CloudFront Function's
//! per-request cost in the embedded engine.
//!
//! Targets: RS256 full validation (parse, verify, claims) at least 1.0× OpenSSL's `rsa2048`
//! verify rate and at least 0.95× the same signature check alone (the ceiling; aws-lc's
//! own EVP verify rate is reported beside it);
//! HS256 at least 400,000 validations per second on one core; no parity mismatch between
//! the validator and the generated functions on the generated corpus.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use edge_auth::{Algorithm, Key, KeySet, Policy, Validator};
use serde_json::json;

use super::{Measure, Options};

const NOW_S: f64 = 1_700_000_000.0;

fn data(name: &str) -> anyhow::Result<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/edge-auth/tests/data")
        .join(name);
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// A key set with one key per algorithm, and a valid token for each.
fn fixtures() -> anyhow::Result<(Validator, Vec<(Algorithm, String)>)> {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let rsa_pub = data("rsa2048.pub.pem")?;
    let rsa_key = data("rsa2048.key.pem")?;
    let cases: Vec<(Algorithm, Key, EncodingKey)> = vec![
        (
            Algorithm::HS256,
            Key::hmac("HS256", Algorithm::HS256, &[7; 32])?,
            EncodingKey::from_secret(&[7; 32]),
        ),
        (
            Algorithm::HS384,
            Key::hmac("HS384", Algorithm::HS384, &[7; 48])?,
            EncodingKey::from_secret(&[7; 48]),
        ),
        (
            Algorithm::HS512,
            Key::hmac("HS512", Algorithm::HS512, &[7; 64])?,
            EncodingKey::from_secret(&[7; 64]),
        ),
        (
            Algorithm::RS256,
            Key::from_pem("RS256", Algorithm::RS256, &rsa_pub)?,
            EncodingKey::from_rsa_pem(rsa_key.as_bytes())?,
        ),
        (
            Algorithm::PS256,
            Key::from_pem("PS256", Algorithm::PS256, &rsa_pub)?,
            EncodingKey::from_rsa_pem(rsa_key.as_bytes())?,
        ),
        (
            Algorithm::ES256,
            Key::from_pem("ES256", Algorithm::ES256, &data("p256.pub.pem")?)?,
            EncodingKey::from_ec_pem(data("p256.key.pem")?.as_bytes())?,
        ),
        (
            Algorithm::EdDSA,
            Key::from_pem("EdDSA", Algorithm::EdDSA, &data("ed25519.pub.pem")?)?,
            EncodingKey::from_ed_pem(data("ed25519.key.pem")?.as_bytes())?,
        ),
    ];
    let claims = json!({"sub": "ann", "iss": "https://login.example", "aud": "wiki", "tenant": "acme", "exp": NOW_S as u64 + 600, "iat": NOW_S as u64});
    let mut keys = KeySet::new();
    let mut tokens = Vec::new();
    for (alg, key, encoding) in cases {
        let mut header = Header::new(alg.to_jwt());
        header.kid = Some(alg.as_str().to_owned());
        tokens.push((alg, encode(&header, &claims, &encoding)?));
        keys.insert(key)?;
    }
    let policy = Policy {
        issuer: Some("https://login.example".into()),
        audience: Some("wiki".into()),
        wiki_domain: Some("wiki.example".into()),
        ..Policy::default()
    };
    Ok((Validator::new(keys, policy), tokens))
}

/// Calls of `call` per second on this thread, for about `duration` (the clock read once
/// per 64 calls).
fn calls_per_s(duration: Duration, mut call: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < duration {
        for _ in 0..64 {
            call();
        }
        count += 64;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

/// Full validations per second of one token on this thread, for about `duration`.
fn rate(validator: &Validator, token: &str, duration: Duration) -> anyhow::Result<f64> {
    anyhow::ensure!(
        validator.validate(token, Some("acme.wiki.example"), NOW_S).is_allow(),
        "the benchmark token is not valid"
    );
    Ok(calls_per_s(duration, || {
        std::hint::black_box(validator.validate(std::hint::black_box(token), Some("acme.wiki.example"), NOW_S));
    }))
}

/// A token's signing input and its signature, decoded.
fn signing_input_and_signature(token: &str) -> anyhow::Result<(&str, Vec<u8>)> {
    use base64::Engine as _;
    let (input, signature) = token.rsplit_once('.').context("a JWS has a signature")?;
    Ok((
        input,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature)?,
    ))
}

/// The RS256 key, signing input and decoded signature of `token`, for raw verifies: the
/// key parsed once, exactly as a validation holds it.
fn raw_verify_parts<'t>(token: &'t str, public_pem: &str) -> anyhow::Result<(Key, &'t str, Vec<u8>)> {
    let (input, signature) = signing_input_and_signature(token)?;
    let key = Key::from_pem("raw", Algorithm::RS256, public_pem)?;
    anyhow::ensure!(key.verify(input.as_bytes(), &signature), "the raw verify fails");
    Ok((key, input, signature))
}

/// The RS256 key's own verify rate (per second) on the token's signing input and
/// signature: the check a validation runs (SHA-256, then RSAVP1 on aws-lc's Montgomery
/// multiplication), without the token's base64, JSON and claims. The ceiling a full
/// validation can approach.
fn raw_rsa_verify_rate(token: &str, public_pem: &str, duration: Duration) -> anyhow::Result<f64> {
    let (key, input, signature) = raw_verify_parts(token, public_pem)?;
    Ok(calls_per_s(duration, || {
        std::hint::black_box(key.verify(std::hint::black_box(input.as_bytes()), &signature));
    }))
}

/// aws-lc's own RSA-2048 PKCS#1 v1.5 SHA-256 verify rate (per second) on the token's
/// signing input and signature: `EVP_DigestVerify` on a key parsed once, through aws-lc-rs.
/// The verify coldfront's RS256 check replaced, reported beside it.
fn awslc_evp_verify_rate(token: &str, public_pem: &str, duration: Duration) -> anyhow::Result<f64> {
    use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    use jsonwebtoken::{DecodingKey, DecodingKeyKind};
    let (input, signature) = signing_input_and_signature(token)?;
    let decoding = DecodingKey::from_rsa_pem(public_pem.as_bytes())?;
    let DecodingKeyKind::SecretOrDer(der) = decoding.kind() else {
        anyhow::bail!("the RSA PEM did not give a DER key");
    };
    let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_slice())
        .map_err(|e| anyhow::anyhow!("aws-lc refuses the RSA key: {e}"))?;
    anyhow::ensure!(
        key.verify_sig(input.as_bytes(), &signature).is_ok(),
        "aws-lc's verify fails"
    );
    Ok(calls_per_s(duration, || {
        let verified = key.verify_sig(std::hint::black_box(input.as_bytes()), &signature);
        std::hint::black_box(verified.is_ok());
    }))
}

/// The time of each of `pairs` full validations and raw verifies (ns), timed call by call
/// and interleaved — validation then verify, then the other way round — so each pair
/// meets the same machine.
///
/// Each call is about 20 µs. On this shared VM the speed of a whole burst of calls drifts
/// by up to 40 % within seconds, and a preempted call is an outlier on one side only;
/// medians of single calls taken side by side are robust to both. Reading the clock adds
/// the same few tens of nanoseconds to either side.
fn interleaved_call_ns(
    validator: &Validator,
    token: &str,
    public_pem: &str,
    pairs: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let (key, input, signature) = raw_verify_parts(token, public_pem)?;
    anyhow::ensure!(
        validator.validate(token, Some("acme.wiki.example"), NOW_S).is_allow(),
        "the benchmark token is not valid"
    );
    let full = || {
        let start = Instant::now();
        std::hint::black_box(validator.validate(std::hint::black_box(token), Some("acme.wiki.example"), NOW_S));
        start.elapsed().as_nanos() as f64
    };
    let raw = || {
        let start = Instant::now();
        std::hint::black_box(key.verify(std::hint::black_box(input.as_bytes()), &signature));
        start.elapsed().as_nanos() as f64
    };
    let (mut full_ns, mut raw_ns) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for pair in 0..pairs {
        if pair % 2 == 0 {
            full_ns.push(full());
            raw_ns.push(raw());
        } else {
            raw_ns.push(raw());
            full_ns.push(full());
        }
    }
    Ok((full_ns, raw_ns))
}

/// OpenSSL's verify rates (per second) for rsa2048 and ecdsap256, from
/// `openssl speed -elapsed -mr`.
///
/// `-elapsed` divides by wall-clock time, as coldfront's own rates do. Without it,
/// `openssl speed` divides by the process's user CPU time, which leaves out system time,
/// interrupts and a VM's stolen time: on this 2-core VM during a build, alternating runs
/// gave 35–45k RSA-2048 verifies/s by user time and 26–29k/s with `-elapsed`. A CPU-time
/// rate over a wall-clock rate is not a comparison.
fn openssl_verify_rates(seconds: u32) -> Result<(f64, f64), String> {
    let output = Command::new("openssl")
        .args([
            "speed",
            "-elapsed",
            "-mr",
            "-seconds",
            &seconds.to_string(),
            "rsa2048",
            "ecdsap256",
        ])
        .output()
        .map_err(|e| format!("openssl not run: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    // Machine-readable lines: `+F2:<n>:2048:<sign/s>:<verify/s>` (RSA), `+F4:<n>:256:...` (ECDSA).
    let verify = |prefix: &str, bits: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() == 4 && f[1] == bits)
            .and_then(|f| f[3].parse::<f64>().ok())
    };
    match (verify("+F2:", "2048"), verify("+F4:", "256")) {
        (Some(rsa), Some(ec)) => Ok((rsa, ec)),
        _ => Err(format!(
            "cannot parse `openssl speed -mr` output: {}",
            text.lines().take(3).collect::<Vec<_>>().join(" | ")
        )),
    }
}

pub(crate) fn run(
    options: &Options,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    eprintln!("auth: validator throughput, OpenSSL speed, CloudFront Function cost");
    let duration = if options.quick {
        Duration::from_millis(400)
    } else {
        Duration::from_secs(2)
    };
    let (validator, tokens) = fixtures()?;
    let mut rates = BTreeMap::new();
    for (alg, token) in &tokens {
        let per_s = rate(&validator, token, duration)?;
        rates.insert(*alg, per_s);
        measures.insert(
            format!("auth_{}_validations_per_s", alg.as_str().to_ascii_lowercase()),
            Measure::info(per_s, "1/s"),
        );
    }
    // The machine is shared, so OpenSSL and the validator are measured in interleaved
    // rounds and each side keeps its best round: both are compared at their peak.
    let rounds = 3;
    let token_of = |alg: Algorithm| {
        tokens
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, token)| token)
            .with_context(|| format!("no {alg} token"))
    };
    let (rs256_token, hs256_token) = (token_of(Algorithm::RS256)?, token_of(Algorithm::HS256)?);
    let mut hs256_rounds = Vec::new();
    let mut rs256_rounds = Vec::new();
    let mut openssl_rounds = Vec::new();
    let mut openssl_error = None;
    let mut raw_rounds = Vec::new();
    let mut evp_rounds = Vec::new();
    let rsa_pub = data("rsa2048.pub.pem")?;
    for _ in 0..rounds {
        rs256_rounds.push(rate(&validator, rs256_token, duration)?);
        raw_rounds.push(raw_rsa_verify_rate(rs256_token, &rsa_pub, duration)?);
        evp_rounds.push(awslc_evp_verify_rate(rs256_token, &rsa_pub, duration)?);
        hs256_rounds.push(rate(&validator, hs256_token, duration)?);
        // Without OpenSSL the validator's rounds still run, so HS256 keeps its best of three.
        if openssl_error.is_none() {
            match openssl_verify_rates(1) {
                Ok(r) => openssl_rounds.push(r),
                Err(why) => openssl_error = Some(why),
            }
        }
    }
    let best_rs256 = rs256_rounds.iter().copied().fold(rates[&Algorithm::RS256], f64::max);
    // HS256 against its fixed target, also at its best round: one 2 s interval on a shared
    // 2-core machine can land on someone else's build.
    let best_hs256 = hs256_rounds.iter().copied().fold(rates[&Algorithm::HS256], f64::max);
    measures.insert(
        "auth_hs256_validations_per_s".into(),
        Measure::at_least(best_hs256, "1/s", 400_000.0),
    );
    measures.insert("auth_rs256_validations_per_s".into(), Measure::info(best_rs256, "1/s"));
    // The ceiling is the verify a validation runs (coldfront's RSAVP1 on aws-lc's
    // Montgomery multiplication); aws-lc's own EVP verify is reported beside it.
    let best_raw = raw_rounds.iter().copied().fold(0.0, f64::max);
    measures.insert("auth_rs256_verify_per_s".into(), Measure::info(best_raw, "1/s"));
    let best_evp = evp_rounds.iter().copied().fold(0.0, f64::max);
    // A new name: before, `auth_awslc_rsa2048_verify_per_s` held the verify a validation
    // runs, when that was aws-lc's RSA_verify.
    measures.insert(
        "auth_awslc_evp_rsa2048_verify_per_s".into(),
        Measure::info(best_evp, "1/s"),
    );
    measures.insert(
        "auth_rs256_vs_awslc_verify_ratio".into(),
        Measure::info(best_rs256 / best_evp, "ratio"),
    );
    // Everything around the signature (base64, JSON, claims) should cost under 5 %: the
    // median raw verify over the median full validation, call by call.
    let pairs = if options.quick { 4_000 } else { 40_000 };
    let (full_ns, raw_ns) = interleaved_call_ns(&validator, rs256_token, &rsa_pub, pairs)?;
    let quantile_ratio =
        |q: f64| init_trace::stats::percentile(&raw_ns, q) / init_trace::stats::percentile(&full_ns, q);
    let (full_median_ns, raw_median_ns) = (init_trace::stats::median(&full_ns), init_trace::stats::median(&raw_ns));
    measures.insert(
        "auth_rs256_vs_raw_verify_ratio".into(),
        Measure::at_least(raw_median_ns / full_median_ns, "ratio", 0.95),
    );
    details.insert(
        "auth_rs256_vs_raw_verify".into(),
        json!({
            "pairs": pairs,
            "full_validation_median_ns": full_median_ns,
            "raw_verify_median_ns": raw_median_ns,
            "ratio_at_p10": quantile_ratio(0.1),
            "ratio_at_p25": quantile_ratio(0.25),
            "best_rounds_ratio": best_rs256 / best_raw,
        }),
    );
    match openssl_error {
        None => {
            let rsa_per_s = openssl_rounds.iter().map(|r| r.0).fold(0.0, f64::max);
            let ec_per_s = openssl_rounds.iter().map(|r| r.1).fold(0.0, f64::max);
            measures.insert(
                "auth_openssl_rsa2048_verify_per_s".into(),
                Measure::info(rsa_per_s, "1/s"),
            );
            measures.insert(
                "auth_openssl_ecdsap256_verify_per_s".into(),
                Measure::info(ec_per_s, "1/s"),
            );
            measures.insert(
                "auth_rs256_vs_openssl_ratio".into(),
                Measure::at_least(best_rs256 / rsa_per_s, "ratio", 1.0),
            );
            measures.insert(
                "auth_es256_vs_openssl_ratio".into(),
                Measure::info(rates[&Algorithm::ES256] / ec_per_s, "ratio"),
            );
            details.insert(
                "auth_openssl".into(),
                json!({"rounds": rounds, "rs256_validations_per_s": rs256_rounds, "openssl_rsa2048_ecdsap256_verify_per_s": openssl_rounds}),
            );
        }
        Some(why) => {
            // A peer that is missing is a miss, not a pass by absence.
            eprintln!("auth: OpenSSL comparison not run: {why}");
            measures.insert("auth_rs256_vs_openssl_ratio".into(), Measure::not_run(">= 1.0"));
            details.insert("auth_openssl".into(), json!({"status": "not run", "why": why}));
        }
    }
    parity(&rsa_pub, measures, details)?;
    let budget = edge_auth::budget::measure(&edge_auth::budget::BudgetOptions {
        quick: options.quick,
        ..Default::default()
    })?;
    for variant in &budget.variants {
        let name = variant.name.to_ascii_lowercase().replace(' ', "_");
        measures.insert(
            format!("auth_cff_{name}_per_request_ms"),
            Measure::info(variant.per_request_ms, "ms"),
        );
        measures.insert(
            format!("auth_cff_{name}_interrupt_checks"),
            Measure::info(variant.interrupt_checks_per_request, "count"),
        );
        measures.insert(
            format!("auth_cff_{name}_size_bytes"),
            Measure::info(variant.size_bytes as f64, "bytes"),
        );
    }
    details.insert(
        "auth".into(),
        json!({
            "validation_window_s": duration.as_secs_f64(),
            "validations_per_s": rates.iter().map(|(a, r)| (a.as_str(), *r)).collect::<BTreeMap<_, _>>(),
            "edge_budget": budget,
        }),
    );
    Ok(())
}

/// The validator and every generated variant on the generated corpus: 2,000 HS256 cases
/// inline and 2,000 from the KeyValueStore, 500 RS256 (BigInt) cases; target no mismatch.
fn parity(
    rsa_pub: &str,
    measures: &mut BTreeMap<String, Measure>,
    details: &mut BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<()> {
    use edge_auth::cff::{FunctionOptions, KeySource, RsaVariant, generate};
    use edge_auth::parity::{corpus, mismatches};
    let rsa_key = data("rsa2048.key.pem")?;
    let rsa_other_pub = data("rsa2048-other.pub.pem")?;
    let rsa_other_key = data("rsa2048-other.key.pem")?;
    let policy = Policy {
        issuer: Some("https://login.example".into()),
        audience: Some("wiki".into()),
        wiki_domain: Some("wiki.example".into()),
        ..Policy::default()
    };
    let secrets: [&[u8]; 2] = [
        b"parity-hs256-secret-0123456789abcdef",
        b"parity-hs256-second-secret-01234567",
    ];
    let mut total_cases = 0;
    let mut found = Vec::new();
    for (alg, source, count, seed) in [
        (Algorithm::HS256, KeySource::Inline, 2_000, 11),
        (
            Algorithm::HS256,
            KeySource::KeyValueStore {
                prefix: KeySource::default_kvs_prefix(Algorithm::HS256),
            },
            2_000,
            12,
        ),
        (Algorithm::RS256, KeySource::Inline, 500, 13),
    ] {
        let keys = if alg == Algorithm::HS256 {
            KeySet::new()
                .with(Key::hmac("k1", alg, secrets[0])?)?
                .with(Key::hmac("k2", alg, secrets[1])?)?
        } else {
            KeySet::new()
                .with(Key::from_pem("k1", alg, rsa_pub)?)?
                .with(Key::from_pem("k2", alg, &rsa_other_pub)?)?
        };
        let encoding = |kid: &str| -> jsonwebtoken::EncodingKey {
            match (alg, kid) {
                (Algorithm::HS256, "k2") => jsonwebtoken::EncodingKey::from_secret(secrets[1]),
                (Algorithm::HS256, _) => jsonwebtoken::EncodingKey::from_secret(secrets[0]),
                (_, "k2") => jsonwebtoken::EncodingKey::from_rsa_pem(rsa_other_key.as_bytes()).expect("test key"),
                _ => jsonwebtoken::EncodingKey::from_rsa_pem(rsa_key.as_bytes()).expect("test key"),
            }
        };
        let sign = |kid: &str, input: &[u8]| {
            jsonwebtoken::crypto::sign(input, &encoding(kid), alg.to_jwt()).expect("signing succeeds")
        };
        let cases = corpus(alg, count, seed, &sign);
        let function = generate(
            &keys,
            &policy,
            &FunctionOptions {
                alg,
                rsa_variant: RsaVariant::BigInt,
                key_source: source.clone(),
                expose_reason: true,
                force_minify: false,
            },
        )?;
        let kvs = function
            .kvs_entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect();
        let validator = Validator::new(keys, policy.clone());
        found.extend(mismatches(&validator, &function.code, &kvs, &cases)?);
        total_cases += cases.len();
    }
    measures.insert(
        "auth_parity_mismatches".into(),
        Measure {
            value: found.len() as f64,
            unit: "count",
            target: Some("== 0".into()),
            pass: Some(found.is_empty()),
        },
    );
    measures.insert("auth_parity_cases".into(), Measure::info(total_cases as f64, "count"));
    details.insert(
        "auth_parity".into(),
        json!({"cases": total_cases, "mismatches": found.iter().take(20).collect::<Vec<_>>()}),
    );
    Ok(())
}
