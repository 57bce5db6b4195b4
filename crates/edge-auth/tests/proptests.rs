//! Property tests: random and mutated tokens never panic and are never accepted without
//! the right key.

mod common;

use common::{NOW_S, keyset, policy, sign_raw};
use edge_auth::{Algorithm, EdgeRequest, Validator};
use proptest::prelude::*;

fn good_token() -> String {
    sign_raw(
        Algorithm::HS256,
        "k1",
        &common::header(Algorithm::HS256, "k1"),
        &common::claims().to_string(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_are_denied_without_panic(token in "\\PC{0,300}", host in "\\PC{0,40}") {
        let validator = Validator::new(keyset(Algorithm::HS256), policy());
        prop_assert!(!validator.validate(&token, Some(&host), NOW_S).is_allow());
    }

    #[test]
    fn token_shaped_garbage_is_denied(h in "[A-Za-z0-9_=+/-]{0,60}", p in "[A-Za-z0-9_=+/-]{0,120}", s in "[A-Za-z0-9_=+/-]{0,90}") {
        let validator = Validator::new(keyset(Algorithm::HS256), policy());
        let token = format!("{h}.{p}.{s}");
        prop_assert!(!validator.validate(&token, Some(common::HOST), NOW_S).is_allow());
    }

    #[test]
    fn mutated_valid_tokens_are_never_accepted(index in 0usize..400, byte in any::<u8>(), delete in any::<bool>()) {
        let token = good_token();
        let mut bytes = token.clone().into_bytes();
        let at = index % bytes.len();
        if delete { bytes.remove(at); } else { bytes[at] = byte; }
        prop_assume!(bytes != token.as_bytes());
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        let validator = Validator::new(keyset(Algorithm::HS256), policy());
        prop_assert!(!validator.validate(&mutated, Some(common::HOST), NOW_S).is_allow(), "accepted {mutated}");
    }

    #[test]
    fn valid_claims_signed_with_a_wrong_key_are_denied(secret in proptest::collection::vec(any::<u8>(), 32..64), kid in prop_oneof![Just("k1"), Just("k2"), Just("k3")]) {
        prop_assume!(secret != common::HS_SECRET && secret != common::HS_SECRET_2);
        let token = edge_auth::sign_hs(Algorithm::HS256, kid, &secret, &common::claims()).unwrap();
        let validator = Validator::new(keyset(Algorithm::HS256), policy());
        prop_assert!(!validator.validate(&token, Some(common::HOST), NOW_S).is_allow());
    }

    #[test]
    fn arbitrary_events_never_panic(auth in proptest::option::of("\\PC{0,80}"), cookie in proptest::option::of("\\PC{0,80}"), host in proptest::option::of("\\PC{0,30}")) {
        let validator = Validator::new(keyset(Algorithm::HS256), policy());
        let request = EdgeRequest { host: host.as_deref(), authorization: auth.as_deref(), cookie: cookie.as_deref() };
        prop_assert!(!validator.validate_request(&request, NOW_S).is_allow());
    }
}
