//! The attack catalog (docs/sources.md, "JWT attacks") against the Rust validator: zero accepted attacks,
//! and every deny for the expected reason.

mod common;

use common::{Case, NOW_S, catalog, keyset, policy};
use edge_auth::{Algorithm, Decision, DenyReason, EdgeRequest, Validator};

fn decide(validator: &Validator, case: &Case) -> Decision {
    let event = case.event();
    validator.validate_request(&EdgeRequest::from_cloudfront_event(&event, "token"), NOW_S)
}

fn check_catalog(alg: Algorithm) {
    let validator = Validator::new(keyset(alg), policy());
    let mut failures = Vec::new();
    for case in catalog(alg) {
        let decision = decide(&validator, &case);
        let ok = case.expect.matches(decision.reason());
        if !ok {
            failures.push(format!(
                "{alg} {}: expected {:?}, got {:?}",
                case.name,
                case.expect,
                decision.reason()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hs256_catalog_accepts_no_attack() {
    check_catalog(Algorithm::HS256);
}

#[test]
fn rs256_catalog_accepts_no_attack() {
    check_catalog(Algorithm::RS256);
}

#[test]
fn ecdsa_zero_signature_and_eddsa_confusion_are_refused() {
    let validator = Validator::new(
        common::keyset_es_ed(),
        edge_auth::Policy {
            tenant_claim: None,
            ..Default::default()
        },
    );
    let claims = common::b64(format!(r#"{{"exp":{}}}"#, NOW_S as u64 + 60).as_bytes());
    // CVE-2022-21449: r = s = 0 must never verify, in raw and DER-ish spellings.
    for sig in [
        vec![0u8; 64],
        vec![0u8; 1],
        vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00],
    ] {
        let token = format!(
            "{}.{claims}.{}",
            common::b64(br#"{"alg":"ES256","kid":"e1"}"#),
            common::b64(&sig)
        );
        assert_eq!(
            validator.validate(&token, None, NOW_S).reason(),
            Some(DenyReason::BadSignature)
        );
    }
    let token = format!(
        "{}.{claims}.{}",
        common::b64(br#"{"alg":"EdDSA","kid":"d1"}"#),
        common::b64(&[0u8; 64])
    );
    assert_eq!(
        validator.validate(&token, None, NOW_S).reason(),
        Some(DenyReason::BadSignature)
    );
    let token = format!(
        "{}.{claims}.{}",
        common::b64(br#"{"alg":"ES256","kid":"d1"}"#),
        common::b64(&[0u8; 64])
    );
    assert_eq!(
        validator.validate(&token, None, NOW_S).reason(),
        Some(DenyReason::AlgMismatch)
    );
}

#[test]
fn every_algorithm_round_trips_with_its_pinned_key() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let cases: Vec<(Algorithm, &str, EncodingKey, edge_auth::Key)> = vec![
        (
            Algorithm::HS384,
            "h3",
            EncodingKey::from_secret(&[7u8; 48]),
            edge_auth::Key::hmac("h3", Algorithm::HS384, &[7u8; 48]).unwrap(),
        ),
        (
            Algorithm::HS512,
            "h5",
            EncodingKey::from_secret(&[9u8; 64]),
            edge_auth::Key::hmac("h5", Algorithm::HS512, &[9u8; 64]).unwrap(),
        ),
        (
            Algorithm::PS256,
            "p1",
            EncodingKey::from_rsa_pem(common::data("rsa2048.key.pem").as_bytes()).unwrap(),
            edge_auth::Key::from_pem("p1", Algorithm::PS256, &common::data("rsa2048.pub.pem")).unwrap(),
        ),
        (
            Algorithm::ES256,
            "e1",
            EncodingKey::from_ec_pem(common::data("p256.key.pem").as_bytes()).unwrap(),
            edge_auth::Key::from_pem("e1", Algorithm::ES256, &common::data("p256.pub.pem")).unwrap(),
        ),
        (
            Algorithm::EdDSA,
            "d1",
            EncodingKey::from_ed_pem(common::data("ed25519.key.pem").as_bytes()).unwrap(),
            edge_auth::Key::from_pem("d1", Algorithm::EdDSA, &common::data("ed25519.pub.pem")).unwrap(),
        ),
    ];
    for (alg, kid, encoding, key) in cases {
        let mut header = Header::new(alg.to_jwt());
        header.kid = Some(kid.to_owned());
        let token = encode(&header, &common::claims(), &encoding).unwrap();
        let validator = Validator::new(edge_auth::KeySet::new().with(key).unwrap(), policy());
        let decision = validator.validate(&token, Some(common::HOST), NOW_S);
        assert!(decision.is_allow(), "{alg}: {decision:?}");
    }
}

#[test]
fn signature_checks_agree_with_jsonwebtoken() {
    use jsonwebtoken::{DecodingKey, crypto};
    // The validator verifies with keys parsed once; jsonwebtoken re-imports per call. Both
    // must give the same answer on valid, tampered and foreign signatures.
    let pem = |name: &str| common::data(name);
    let cases: Vec<(Algorithm, DecodingKey, jsonwebtoken::EncodingKey, edge_auth::Key)> = vec![
        (
            Algorithm::HS256,
            DecodingKey::from_secret(common::HS_SECRET),
            jsonwebtoken::EncodingKey::from_secret(common::HS_SECRET),
            edge_auth::Key::hmac("k", Algorithm::HS256, common::HS_SECRET).unwrap(),
        ),
        (
            Algorithm::RS256,
            DecodingKey::from_rsa_pem(pem("rsa2048.pub.pem").as_bytes()).unwrap(),
            jsonwebtoken::EncodingKey::from_rsa_pem(pem("rsa2048.key.pem").as_bytes()).unwrap(),
            edge_auth::Key::from_pem("k", Algorithm::RS256, &pem("rsa2048.pub.pem")).unwrap(),
        ),
        (
            Algorithm::PS256,
            DecodingKey::from_rsa_pem(pem("rsa2048.pub.pem").as_bytes()).unwrap(),
            jsonwebtoken::EncodingKey::from_rsa_pem(pem("rsa2048.key.pem").as_bytes()).unwrap(),
            edge_auth::Key::from_pem("k", Algorithm::PS256, &pem("rsa2048.pub.pem")).unwrap(),
        ),
        (
            Algorithm::ES256,
            DecodingKey::from_ec_pem(pem("p256.pub.pem").as_bytes()).unwrap(),
            jsonwebtoken::EncodingKey::from_ec_pem(pem("p256.key.pem").as_bytes()).unwrap(),
            edge_auth::Key::from_pem("k", Algorithm::ES256, &pem("p256.pub.pem")).unwrap(),
        ),
        (
            Algorithm::EdDSA,
            DecodingKey::from_ed_pem(pem("ed25519.pub.pem").as_bytes()).unwrap(),
            jsonwebtoken::EncodingKey::from_ed_pem(pem("ed25519.key.pem").as_bytes()).unwrap(),
            edge_auth::Key::from_pem("k", Algorithm::EdDSA, &pem("ed25519.pub.pem")).unwrap(),
        ),
    ];
    for (alg, decoding, encoding, key) in cases {
        let jwt_alg = alg.to_jwt();
        let validator = Validator::new(
            edge_auth::KeySet::new().with(key).unwrap(),
            edge_auth::Policy::default(),
        );
        let input = format!(
            "{}.{}",
            common::b64(format!(r#"{{"alg":"{alg}","kid":"k"}}"#).as_bytes()),
            common::b64(b"{}")
        );
        let good = crypto::sign(input.as_bytes(), &encoding, jwt_alg).unwrap();
        let flipped = common::b64(&{
            use base64::Engine as _;
            let mut b = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&good).unwrap();
            b[3] ^= 0x20;
            b
        });
        let zero = common::b64(&vec![0u8; good.len() * 3 / 4]);
        for sig in [good.as_str(), flipped.as_str(), zero.as_str()] {
            let ours = validator.verify_jws(&format!("{input}.{sig}")).is_ok();
            let theirs = crypto::verify(sig, input.as_bytes(), &decoding, jwt_alg).unwrap_or(false);
            assert_eq!(ours, theirs, "{alg} {sig}");
        }
        assert!(validator.verify_jws(&format!("{input}.{good}")).is_ok(), "{alg}");
    }
}

/// A thread remembers the last header it accepted; the verdict on a token must not depend
/// on which tokens or validators came before it on the thread. Each token is judged after
/// one with the very same header segment (so the remembered header is used) and, as the
/// reference, on a fresh thread that has seen nothing.
#[test]
fn a_remembered_header_changes_no_decision() {
    use common::{HOST, claims, header, sign_raw};
    let rs = Validator::new(keyset(Algorithm::RS256), policy());
    let hs = Validator::new(keyset(Algorithm::HS256), policy());
    // The HS256 set has a `k1` too, but pinned to HS256; an empty set has no key at all.
    let empty = Validator::new(edge_auth::KeySet::new(), policy());
    let good_claims = claims().to_string();
    let rs_header = header(Algorithm::RS256, "k1");
    let tokens = [
        sign_raw(Algorithm::RS256, "k1", &rs_header, &good_claims),
        // Same header, claims that are not JSON: the claims' reason, not the key's.
        sign_raw(Algorithm::RS256, "k1", &rs_header, "{not json"),
        // Same header, signed by the other key: a bad signature.
        sign_raw(Algorithm::RS256, "k2", &rs_header, &good_claims),
        // Same header, expired.
        sign_raw(
            Algorithm::RS256,
            "k1",
            &rs_header,
            &serde_json::json!({"sub": "ann", "iss": "https://login.example", "aud": "wiki", "tenant": "acme", "exp": NOW_S as u64 - 600}).to_string(),
        ),
    ];
    let fresh = |validator: &Validator, token: &str| {
        std::thread::scope(|scope| {
            scope
                .spawn(|| validator.validate(token, Some(HOST), NOW_S))
                .join()
                .expect("the thread runs")
        })
    };
    for validator in [&rs, &hs, &empty] {
        for token in &tokens {
            // Prime the thread with the header (through any validator), then judge.
            let _ = rs.validate(&tokens[0], Some(HOST), NOW_S);
            let remembered = validator.validate(token, Some(HOST), NOW_S);
            let reference = fresh(validator, token);
            assert_eq!(remembered.reason(), reference.reason(), "{token}");
            assert_eq!(remembered.is_allow(), reference.is_allow(), "{token}");
        }
    }
    // The reasons themselves, as a fresh thread gives them.
    let reasons: Vec<_> = tokens.iter().map(|t| fresh(&rs, t).reason()).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some(DenyReason::BadClaims),
            Some(DenyReason::BadSignature),
            Some(DenyReason::Expired)
        ]
    );
    assert_eq!(fresh(&hs, &tokens[0]).reason(), Some(DenyReason::AlgMismatch));
    assert_eq!(fresh(&empty, &tokens[0]).reason(), Some(DenyReason::UnknownKid));
}
