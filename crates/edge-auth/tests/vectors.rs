//! Published vectors: RFC 7515 Appendix A and RFC 7520 §4, with the clock pinned.

use edge_auth::{Algorithm, DenyReason, KeySet, Policy, Validator};
use serde_json::Value;

fn data(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A single-key set from a vector's JWK, pinned to `alg`.
fn keys(jwk: &Value, alg: Algorithm, kid: &str) -> KeySet {
    let mut entry = jwk.clone();
    entry["kid"] = Value::from(kid);
    entry["alg"] = Value::from(alg.as_str());
    KeySet::parse(&serde_json::json!({"keys": [entry]}).to_string(), None).unwrap()
}

fn policy() -> Policy {
    // The vectors carry no tenant, audience or issuer of ours.
    Policy {
        tenant_claim: None,
        leeway_s: 0,
        ..Policy::default()
    }
}

const A_EXP_S: f64 = 1_300_819_380.0;

#[test]
fn rfc7515_appendix_a_vectors_verify_before_exp_and_expire_after() {
    let vectors = data("rfc7515_appendix_a.json");
    for (name, alg) in [
        ("a1_hs256", Algorithm::HS256),
        ("a2_rs256", Algorithm::RS256),
        ("a3_es256", Algorithm::ES256),
    ] {
        let v = &vectors[name];
        let validator = Validator::new(keys(&v["jwk"], alg, "rfc"), policy());
        let token = v["token"].as_str().unwrap();
        let decision = validator.validate(token, None, A_EXP_S - 1.0);
        assert!(decision.is_allow(), "{name}: {decision:?}");
        assert_eq!(
            validator.validate(token, None, A_EXP_S).reason(),
            Some(DenyReason::Expired),
            "{name}"
        );
        // The same vector under a key pinned to another algorithm is refused outright.
        let other = if alg == Algorithm::HS256 {
            Algorithm::HS512
        } else {
            Algorithm::HS256
        };
        let confused = KeySet::new()
            .with(edge_auth::Key::hmac("rfc", other, &[1u8; 64]).unwrap())
            .unwrap();
        let reason = Validator::new(confused, policy())
            .validate(token, None, A_EXP_S - 1.0)
            .reason();
        assert_eq!(reason, Some(DenyReason::AlgMismatch), "{name}");
    }
}

#[test]
fn rfc7515_a1_header_with_crlf_is_accepted_but_a_flipped_bit_is_not() {
    let v = &data("rfc7515_appendix_a.json")["a1_hs256"];
    let validator = Validator::new(keys(&v["jwk"], Algorithm::HS256, "rfc"), policy());
    let token = v["token"].as_str().unwrap();
    let (rest, sig) = token.rsplit_once('.').unwrap();
    let tampered = format!("{rest}.{}{}", if sig.starts_with('d') { "e" } else { "d" }, &sig[1..]);
    assert_eq!(
        validator.validate(&tampered, None, A_EXP_S - 1.0).reason(),
        Some(DenyReason::BadSignature)
    );
}

#[test]
fn rfc7520_section4_vectors() {
    let vectors = data("rfc7520_section4.json");
    // 4.1 RS256 and 4.4 HS256: the signatures verify, but the text payload is no JWT.
    for (name, alg) in [("4_1_rs256", Algorithm::RS256), ("4_4_hs256", Algorithm::HS256)] {
        let v = &vectors[name];
        let kid = v["jwk"]["kid"].as_str().unwrap();
        let validator = Validator::new(keys(&v["jwk"], alg, kid), policy());
        let token = v["token"].as_str().unwrap();
        assert_eq!(validator.verify_jws(token).map(edge_auth::Key::kid), Ok(kid), "{name}");
        assert_eq!(
            validator.validate(token, None, 0.0).reason(),
            Some(DenyReason::BadClaims),
            "{name}"
        );
    }
    // 4.3 ES512 is not supported (jsonwebtoken has no ES512): refused before any key lookup.
    let hs = &vectors["4_4_hs256"];
    let validator = Validator::new(
        keys(&hs["jwk"], Algorithm::HS256, "bilbo.baggins@hobbiton.example"),
        policy(),
    );
    let token = vectors["4_3_es512"]["token"].as_str().unwrap();
    assert_eq!(validator.verify_jws(token).err(), Some(DenyReason::UnsupportedAlg));
}
