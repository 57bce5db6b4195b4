//! Parity: the whole attack catalog through the Rust validator and the generated
//! CloudFront Function (in the local runner) must give identical decisions and reasons.

mod common;

use std::collections::BTreeMap;

use common::{NOW_S, catalog, keyset, policy};
use edge_auth::cff::{FunctionOptions, KeySource, RsaVariant, generate};
use edge_auth::runner::{EdgeRunner, RunnerOptions};
use edge_auth::{Algorithm, EdgeRequest, Validator};

fn check(alg: Algorithm, variant: RsaVariant, source: KeySource, only_cheap: bool) {
    let keys = keyset(alg);
    let validator = Validator::new(keys.clone(), policy());
    let options = FunctionOptions {
        alg,
        rsa_variant: variant,
        key_source: source,
        expose_reason: true,
        force_minify: false,
    };
    let function = generate(&keys, &policy(), &options).unwrap();
    assert!(function.size_bytes <= edge_auth::cff::FUNCTION_SIZE_LIMIT_BYTES);
    let kvs: BTreeMap<String, String> = function
        .kvs_entries
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    let runner = EdgeRunner::load(
        &function.code,
        &RunnerOptions {
            kvs,
            ..RunnerOptions::default()
        },
    )
    .unwrap();
    let mut mismatches = Vec::new();
    let mut cases = 0;
    for case in catalog(alg) {
        // The limb variant costs tens of milliseconds per verification in a debug build;
        // it runs the cases that reach verification on a sample, and every other case.
        if only_cheap
            && case.verifies
            && !matches!(
                case.name.as_str(),
                "valid bearer"
                    | "signature of another key"
                    | "claims swapped under a valid signature"
                    | "expired"
                    | "cookie"
            )
        {
            continue;
        }
        cases += 1;
        let event = case.event();
        let rust = validator.validate_request(&EdgeRequest::from_cloudfront_event(&event, "token"), NOW_S);
        let js = runner.run(&event, NOW_S * 1000.0).unwrap();
        assert!(js.error.is_none(), "{}: the function threw: {:?}", case.name, js.error);
        let js_reason = js.deny_reason().map(str::to_owned);
        let rust_reason = rust.reason().map(|r| r.code().to_owned());
        if rust.is_allow() != js.allowed() || rust_reason != js_reason {
            mismatches.push(format!("{}: rust {rust_reason:?}, edge {js_reason:?}", case.name));
        }
        if !js.allowed() {
            assert_eq!(js.status, Some(401), "{}", case.name);
        }
    }
    assert!(cases > 20);
    assert!(mismatches.is_empty(), "{alg} {variant:?}:\n{}", mismatches.join("\n"));
}

#[test]
fn hs256_inline_matches_the_validator() {
    check(Algorithm::HS256, RsaVariant::BigInt, KeySource::Inline, false);
}

#[test]
fn hs256_kvs_matches_the_validator() {
    check(
        Algorithm::HS256,
        RsaVariant::BigInt,
        KeySource::KeyValueStore { prefix: "jwt-".into() },
        false,
    );
}

#[test]
fn rs256_bigint_matches_the_validator() {
    check(Algorithm::RS256, RsaVariant::BigInt, KeySource::Inline, false);
}

#[test]
fn rs256_bigint_kvs_matches_the_validator() {
    check(
        Algorithm::RS256,
        RsaVariant::BigInt,
        KeySource::KeyValueStore { prefix: "jwt-".into() },
        true,
    );
}

#[test]
fn rs256_limbs_matches_the_validator() {
    check(Algorithm::RS256, RsaVariant::Limbs, KeySource::Inline, true);
}

#[test]
fn generated_functions_fit_and_parse_in_every_variant() {
    for (alg, variant) in [
        (Algorithm::HS256, RsaVariant::BigInt),
        (Algorithm::RS256, RsaVariant::BigInt),
        (Algorithm::RS256, RsaVariant::Limbs),
        (Algorithm::RS256, RsaVariant::Auto),
    ] {
        let options = FunctionOptions {
            alg,
            rsa_variant: variant,
            force_minify: true,
            ..FunctionOptions::default()
        };
        let function = generate(&keyset(alg), &policy(), &options).unwrap();
        assert!(
            function.minified && function.size_bytes < 10 * 1024,
            "{alg} {variant:?}: {} bytes",
            function.size_bytes
        );
        EdgeRunner::load(&function.code, &RunnerOptions::default()).unwrap();
    }
}
