//! Parity: the whole attack catalog through the Rust validator and the generated
//! CloudFront Function (in the local runner) must give identical decisions and reasons.

mod common;

use std::collections::BTreeMap;

use common::{Case, NOW_S, catalog, corpus, keyset, node_outcomes, policy};
use edge_auth::cff::{FunctionOptions, KeySource, RsaVariant, generate};
use edge_auth::runner::{EdgeRunner, RunnerOptions};
use edge_auth::{Algorithm, EdgeRequest, Key, KeySet, Validator};

/// Runs `cases` through the Rust validator, the generated function in the project's
/// QuickJS runner, and the same function under Node.js; returns every disagreement.
fn disagreements(keys: &KeySet, alg: Algorithm, variant: RsaVariant, source: KeySource, cases: &[Case]) -> Vec<String> {
    let validator = Validator::new(keys.clone(), policy());
    let options = FunctionOptions {
        alg,
        rsa_variant: variant,
        key_source: source,
        expose_reason: true,
        force_minify: false,
    };
    let function = generate(keys, &policy(), &options).unwrap();
    assert!(function.size_bytes <= edge_auth::cff::FUNCTION_SIZE_LIMIT_BYTES);
    let kvs: BTreeMap<String, String> = function
        .kvs_entries
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    let runner = EdgeRunner::load(
        &function.code,
        &RunnerOptions {
            kvs: kvs.clone(),
            ..RunnerOptions::default()
        },
    )
    .unwrap();
    let events: Vec<(serde_json::Value, f64)> = cases.iter().map(|c| (c.event(), NOW_S * 1000.0)).collect();
    let node = node_outcomes(&function.code, &kvs, &events);
    let mut mismatches = Vec::new();
    for ((case, (event, now_ms)), node) in cases.iter().zip(&events).zip(&node) {
        let rust = validator.validate_request(&EdgeRequest::from_cloudfront_event(event, "token"), NOW_S);
        let rust_reason = rust.reason().map(|r| r.code().to_owned());
        let js = runner.run(event, *now_ms).unwrap();
        assert!(
            js.error.is_none(),
            "{}: the function threw in QuickJS: {:?}",
            case.name,
            js.error
        );
        assert!(
            node.error.is_none(),
            "{}: the function threw in Node: {:?}",
            case.name,
            node.error
        );
        let js_reason = js.deny_reason().map(str::to_owned);
        if rust.is_allow() != js.allowed() || rust_reason != js_reason {
            mismatches.push(format!("{}: rust {rust_reason:?}, QuickJS {js_reason:?}", case.name));
        }
        if rust.is_allow() != node.allowed || rust_reason != node.reason {
            mismatches.push(format!("{}: rust {rust_reason:?}, Node {:?}", case.name, node.reason));
        }
        if !js.allowed() {
            assert_eq!(js.status, Some(401), "{}", case.name);
        }
        if !node.allowed {
            assert_eq!(node.status, Some(401), "{}", case.name);
        }
    }
    mismatches
}

fn check(alg: Algorithm, variant: RsaVariant, source: KeySource, only_cheap: bool) {
    // The limb variant costs tens of milliseconds per verification in a debug build; it
    // runs the cases that reach verification on a sample, and every other case.
    let cases: Vec<Case> = catalog(alg)
        .into_iter()
        .filter(|case| {
            !only_cheap
                || !case.verifies
                || matches!(
                    case.name.as_str(),
                    "valid bearer"
                        | "signature of another key"
                        | "claims swapped under a valid signature"
                        | "expired"
                        | "cookie"
                )
        })
        .collect();
    assert!(cases.len() > 20);
    let mismatches = disagreements(&keyset(alg), alg, variant, source, &cases);
    assert!(mismatches.is_empty(), "{alg} {variant:?}:\n{}", mismatches.join("\n"));
}

/// The generated corpus: at least 2,000 cases per HS256 variant, in both engines.
fn check_corpus(alg: Algorithm, variant: RsaVariant, source: KeySource, count: usize, seed: u64) {
    let cases = corpus(alg, count, seed);
    let allowed = cases
        .iter()
        .filter(|c| {
            Validator::new(keyset(alg), policy())
                .validate_request(&EdgeRequest::from_cloudfront_event(&c.event(), "token"), NOW_S)
                .is_allow()
        })
        .count();
    // A corpus that never reaches the end of the checks would prove little.
    assert!(
        allowed * 50 >= count,
        "only {allowed} of {count} corpus cases are allowed"
    );
    let mismatches = disagreements(&keyset(alg), alg, variant, source, &cases);
    assert!(
        mismatches.is_empty(),
        "{} of {count} cases differ ({alg} {variant:?}):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
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
        KeySource::KeyValueStore {
            prefix: KeySource::default_kvs_prefix(Algorithm::HS256),
        },
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
        KeySource::KeyValueStore {
            prefix: KeySource::default_kvs_prefix(Algorithm::RS256),
        },
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

#[test]
fn hs256_corpus_matches_the_validator_inline_and_from_the_store() {
    check_corpus(Algorithm::HS256, RsaVariant::BigInt, KeySource::Inline, 2_000, 1);
    let source = KeySource::KeyValueStore {
        prefix: KeySource::default_kvs_prefix(Algorithm::HS256),
    };
    check_corpus(Algorithm::HS256, RsaVariant::BigInt, source, 2_000, 2);
}

#[test]
fn rs256_corpus_matches_the_validator() {
    check_corpus(Algorithm::RS256, RsaVariant::BigInt, KeySource::Inline, 400, 3);
}

/// A token without `kid` may only use the key set's one key: with an HS256 and an RS256
/// key, the HS256 function must not fall back to "the one HS256 key left".
#[test]
fn a_token_without_kid_is_denied_when_the_key_set_has_several_keys() {
    let mixed = KeySet::new()
        .with(Key::hmac("k1", Algorithm::HS256, common::HS_SECRET).unwrap())
        .unwrap()
        .with(Key::from_pem("r1", Algorithm::RS256, &common::data("rsa2048.pub.pem")).unwrap())
        .unwrap();
    let no_kid = common::sign_raw(
        Algorithm::HS256,
        "k1",
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &common::claims().to_string(),
    );
    let case = Case {
        name: "no kid, mixed key set".into(),
        token: no_kid,
        host: Some(common::HOST.into()),
        carrier: common::Carrier::Bearer,
        expect: common::Expect::Deny(edge_auth::DenyReason::MissingKid),
        verifies: true,
    };
    let rust = Validator::new(mixed.clone(), policy())
        .validate_request(&EdgeRequest::from_cloudfront_event(&case.event(), "token"), NOW_S);
    assert_eq!(rust.reason(), Some(edge_auth::DenyReason::MissingKid));
    for source in [
        KeySource::Inline,
        KeySource::KeyValueStore {
            prefix: KeySource::default_kvs_prefix(Algorithm::HS256),
        },
    ] {
        let mismatches = disagreements(
            &mixed,
            Algorithm::HS256,
            RsaVariant::BigInt,
            source,
            std::slice::from_ref(&case),
        );
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }
    // With one key in the whole set, a token without kid uses it, everywhere.
    let single = KeySet::new()
        .with(Key::hmac("k1", Algorithm::HS256, common::HS_SECRET).unwrap())
        .unwrap();
    let allowed = Validator::new(single.clone(), policy())
        .validate_request(&EdgeRequest::from_cloudfront_event(&case.event(), "token"), NOW_S);
    assert!(allowed.is_allow(), "{allowed:?}");
    assert!(
        disagreements(
            &single,
            Algorithm::HS256,
            RsaVariant::BigInt,
            KeySource::Inline,
            &[case]
        )
        .is_empty()
    );
}

/// The forged-HMAC attack on a shared KeyValueStore: an HS256 and an RS256 function use one
/// store under one prefix (the obvious set-up); the attacker takes the RSA entry's public
/// text, HMAC-signs `{"alg":"HS256","kid":"<rsa kid>"}` with it, and tries every function.
/// Each must deny, in QuickJS and under Node; the HS256 function must say `alg_mismatch`, as
/// the validator over both keys does.
#[test]
fn a_public_key_read_as_an_hmac_secret_is_refused_by_every_variant() {
    use base64::Engine as _;
    let shared_prefix = "jwt-".to_owned();
    let keys = KeySet::new()
        .with(Key::hmac("h1", Algorithm::HS256, common::HS_SECRET).unwrap())
        .unwrap()
        .with(Key::from_pem("r1", Algorithm::RS256, &common::data("rsa2048.pub.pem")).unwrap())
        .unwrap();
    let variants = [
        (Algorithm::HS256, RsaVariant::BigInt),
        (Algorithm::RS256, RsaVariant::BigInt),
        (Algorithm::RS256, RsaVariant::Limbs),
        (Algorithm::RS256, RsaVariant::Auto),
    ];
    // The shared store holds both functions' entries.
    let mut store = BTreeMap::new();
    for (alg, variant) in variants {
        let options = FunctionOptions {
            alg,
            rsa_variant: variant,
            key_source: KeySource::KeyValueStore {
                prefix: shared_prefix.clone(),
            },
            ..FunctionOptions::default()
        };
        for entry in generate(&keys, &policy(), &options).unwrap().kvs_entries {
            store.insert(entry.key, entry.value);
        }
    }
    let rsa_entry = store[&format!("{shared_prefix}r1")].clone();
    // Every way a function could turn that public text into HMAC key bytes.
    let lenient: String = rsa_entry
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let lenient = &lenient[..lenient.len() - lenient.len() % 4];
    let secrets: Vec<Vec<u8>> = vec![
        rsa_entry.as_bytes().to_vec(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(lenient)
            .unwrap(),
        common::data("rsa2048.pub.pem").into_bytes(),
    ];
    let header = r#"{"alg":"HS256","typ":"JWT","kid":"r1"}"#;
    let cases: Vec<Case> = secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| {
            let input = format!(
                "{}.{}",
                common::b64(header.as_bytes()),
                common::b64(common::claims().to_string().as_bytes())
            );
            let key = jsonwebtoken::EncodingKey::from_secret(secret);
            let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256).unwrap();
            Case {
                name: format!("forged with secret #{i}"),
                token: format!("{input}.{sig}"),
                host: Some(common::HOST.into()),
                carrier: common::Carrier::Bearer,
                expect: common::Expect::DenyAny,
                verifies: true,
            }
        })
        .collect();
    let validator = Validator::new(keys.clone(), policy());
    let events: Vec<(serde_json::Value, f64)> = cases.iter().map(|c| (c.event(), NOW_S * 1000.0)).collect();
    for (event, _) in &events {
        let rust = validator.validate_request(&EdgeRequest::from_cloudfront_event(event, "token"), NOW_S);
        assert_eq!(rust.reason(), Some(edge_auth::DenyReason::AlgMismatch));
    }
    for (alg, variant) in variants {
        for source in [
            KeySource::Inline,
            KeySource::KeyValueStore {
                prefix: shared_prefix.clone(),
            },
        ] {
            let kvs_mode = matches!(source, KeySource::KeyValueStore { .. });
            let options = FunctionOptions {
                alg,
                rsa_variant: variant,
                key_source: source,
                expose_reason: true,
                force_minify: false,
            };
            let function = generate(&keys, &policy(), &options).unwrap();
            let runner = EdgeRunner::load(
                &function.code,
                &RunnerOptions {
                    kvs: store.clone(),
                    ..RunnerOptions::default()
                },
            )
            .unwrap();
            let node = node_outcomes(&function.code, &store, &events);
            for ((case, (event, now_ms)), node) in cases.iter().zip(&events).zip(&node) {
                let js = runner.run(event, *now_ms).unwrap();
                let what = format!("{alg} {variant:?} kvs={kvs_mode}, {}", case.name);
                assert!(!js.allowed(), "QuickJS allowed a forged token: {what}");
                assert!(!node.allowed, "Node allowed a forged token: {what}");
                if alg == Algorithm::HS256 && kvs_mode {
                    assert_eq!(js.deny_reason(), Some("alg_mismatch"), "{what}");
                    assert_eq!(node.reason.as_deref(), Some("alg_mismatch"), "{what}");
                }
            }
        }
    }
}

#[test]
fn store_entries_name_their_algorithm_and_kid_and_prefixes_differ_by_algorithm() {
    assert_ne!(
        KeySource::default_kvs_prefix(Algorithm::HS256),
        KeySource::default_kvs_prefix(Algorithm::RS256)
    );
    for alg in [Algorithm::HS256, Algorithm::RS256] {
        let options = FunctionOptions {
            alg,
            key_source: KeySource::KeyValueStore {
                prefix: KeySource::default_kvs_prefix(alg),
            },
            ..FunctionOptions::default()
        };
        for entry in generate(&keyset(alg), &policy(), &options).unwrap().kvs_entries {
            let value: serde_json::Value = serde_json::from_str(&entry.value).unwrap();
            assert_eq!(value["alg"], alg.as_str(), "{entry:?}");
            assert_eq!(
                format!(
                    "{}{}",
                    KeySource::default_kvs_prefix(alg),
                    value["kid"].as_str().unwrap()
                ),
                entry.key
            );
        }
    }
}
