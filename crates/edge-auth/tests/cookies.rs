//! Signed cookies: every key type and digest, canned and custom policies, and the ways
//! CloudFront would refuse them.

mod common;

use edge_auth::cookies::{
    CookieDenyReason, CookiePolicy, HashAlgorithm, KeyKind, cloudfront_b64_decode, parse_cookie_header, sign_cookies,
    verify_cookies,
};

const URL: &str = "https://acme.wiki.example/Home";
const NOW: u64 = 1_700_000_000;

fn policy() -> CookiePolicy {
    CookiePolicy {
        resource: "https://acme.wiki.example/*".into(),
        expires_epoch_s: NOW + 3600,
        not_before_epoch_s: None,
        source_ip: None,
    }
}

#[test]
fn every_key_type_and_digest_signs_and_verifies() {
    for (key, public, kind) in [
        ("rsa2048.key.pem", "rsa2048.pub.pem", KeyKind::Rsa2048),
        ("p256.key.pem", "p256.pub.pem", KeyKind::EcdsaP256),
    ] {
        for hash in [HashAlgorithm::Sha1, HashAlgorithm::Sha256] {
            for canned in [true, false] {
                // A canned policy names one exact URL; a custom one may use wildcards.
                let policy = if canned {
                    CookiePolicy {
                        resource: URL.into(),
                        ..policy()
                    }
                } else {
                    policy()
                };
                let signed = sign_cookies(&common::data(key), "K2JCJMDEHXQW5F", &policy, canned, hash).unwrap();
                assert_eq!(signed.key_kind, kind);
                let names: Vec<&str> = signed.cookies.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(names.contains(&"CloudFront-Expires"), canned);
                assert_eq!(names.contains(&"CloudFront-Policy"), !canned);
                assert_eq!(
                    names.contains(&"CloudFront-Hash-Algorithm"),
                    hash == HashAlgorithm::Sha256
                );
                // CloudFront's base64 never contains '+', '=' or '/'.
                assert!(
                    signed.cookies.iter().all(|(_, v)| !v.contains(['+', '=', '/'])),
                    "{signed:?}"
                );
                let verdict = verify_cookies(&common::data(public), &signed.cookies, URL, None, NOW).unwrap();
                assert_eq!(verdict.deny, None, "{kind:?} {hash:?} canned={canned}");
                // The other key's public half must not verify.
                let other = if kind == KeyKind::Rsa2048 {
                    "rsa2048-other.pub.pem"
                } else {
                    "rsa2048.pub.pem"
                };
                let verdict = verify_cookies(&common::data(other), &signed.cookies, URL, None, NOW).unwrap();
                assert_eq!(verdict.deny, Some(CookieDenyReason::BadSignature));
            }
        }
    }
}

#[test]
fn policy_conditions_are_enforced() {
    let key = common::data("rsa2048.key.pem");
    let public = common::data("rsa2048.pub.pem");
    let custom = CookiePolicy {
        not_before_epoch_s: Some(NOW - 10),
        source_ip: Some("192.0.2.0/24".into()),
        ..policy()
    };
    let signed = sign_cookies(&key, "K1", &custom, false, HashAlgorithm::Sha256).unwrap();
    let check =
        |url: &str, ip: Option<&str>, now: u64| verify_cookies(&public, &signed.cookies, url, ip, now).unwrap().deny;
    assert_eq!(check(URL, Some("192.0.2.9"), NOW), None);
    assert_eq!(check(URL, Some("198.51.100.1"), NOW), Some(CookieDenyReason::WrongIp));
    assert_eq!(check(URL, None, NOW), Some(CookieDenyReason::WrongIp));
    assert_eq!(
        check("https://other.wiki.example/Home", Some("192.0.2.9"), NOW),
        Some(CookieDenyReason::WrongResource)
    );
    assert_eq!(
        check(URL, Some("192.0.2.9"), NOW + 3600),
        Some(CookieDenyReason::Expired)
    );
    assert_eq!(
        check(URL, Some("192.0.2.9"), NOW - 11),
        Some(CookieDenyReason::NotYetValid)
    );
    // A canned policy cannot carry a start time or an IP range.
    assert!(sign_cookies(&key, "K1", &custom, true, HashAlgorithm::Sha1).is_err());
}

#[test]
fn tampering_and_missing_cookies_are_refused() {
    let public = common::data("rsa2048.pub.pem");
    let exact = CookiePolicy {
        resource: URL.into(),
        ..policy()
    };
    let signed = sign_cookies(
        &common::data("rsa2048.key.pem"),
        "K1",
        &exact,
        true,
        HashAlgorithm::Sha1,
    )
    .unwrap();
    assert!(
        sign_cookies(
            &common::data("rsa2048.key.pem"),
            "K1",
            &policy(),
            true,
            HashAlgorithm::Sha1
        )
        .is_err()
    );
    // A canned policy binds the expiry: extending it breaks the signature.
    let mut extended = signed.cookies.clone();
    extended[0].1 = (NOW + 999_999).to_string();
    assert_eq!(
        verify_cookies(&public, &extended, URL, None, NOW).unwrap().deny,
        Some(CookieDenyReason::BadSignature)
    );
    // A canned policy is for the exact URL it was made for.
    assert_eq!(
        verify_cookies(&public, &signed.cookies, "https://acme.wiki.example/Other", None, NOW)
            .unwrap()
            .deny,
        Some(CookieDenyReason::BadSignature)
    );
    let header = signed
        .cookies
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let parsed = parse_cookie_header(&header);
    assert_eq!(parsed, signed.cookies);
    let missing: Vec<_> = parsed
        .into_iter()
        .filter(|(n, _)| n != "CloudFront-Signature")
        .collect();
    assert_eq!(
        verify_cookies(&public, &missing, URL, None, NOW).unwrap().deny,
        Some(CookieDenyReason::Malformed)
    );
    // The Expires cookie is decimal; the Signature decodes from CloudFront's base64.
    let sig = &signed
        .cookies
        .iter()
        .find(|(n, _)| n == "CloudFront-Signature")
        .unwrap()
        .1;
    assert_eq!(cloudfront_b64_decode(sig).unwrap().len(), 256);
}
