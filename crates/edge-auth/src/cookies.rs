//! CloudFront signed cookies (option 1): make and check `CloudFront-*` cookies for a
//! canned or custom policy, with an RSA-2048 or ECDSA P-256 key and SHA-1 or SHA-256
//! (docs/sources.md, "Signed cookies").
//!
//! CloudFront checks these cookies itself, before the cache, at no extra charge; what it
//! cannot check is anything inside a JWT (tenant, audience), only the policy's resource
//! pattern, time window and source IP. SHA-256 signatures are made with aws-lc-rs; SHA-1
//! (CloudFront's default when `CloudFront-Hash-Algorithm` is absent) with RustCrypto's `rsa`
//! and `p256`, because aws-lc-rs signs SHA-1 with neither. Note RUSTSEC-2023-0071 (a timing
//! side channel in `rsa`'s private-key operations): sign SHA-1 cookies only where an
//! attacker cannot time the signer, or prefer SHA-256. Verification always uses aws-lc-rs.

use std::net::Ipv4Addr;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaKeyPair, UnparsedPublicKey};
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use crate::Error;

/// The digest under the signature (`CloudFront-Hash-Algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HashAlgorithm {
    /// SHA-1, CloudFront's default.
    Sha1,
    /// SHA-256.
    Sha256,
}

/// The key type, read from the PEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyKind {
    /// RSA (CloudFront requires 2048 bits).
    Rsa2048,
    /// ECDSA on P-256.
    EcdsaP256,
}

/// What a cookie grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CookiePolicy {
    /// The resource URL, `*` wildcards allowed (`https://acme.wiki.example/*`).
    pub resource: String,
    /// `DateLessThan`: expiry, Unix seconds.
    pub expires_epoch_s: u64,
    /// `DateGreaterThan`: start, Unix seconds (custom policy only).
    pub not_before_epoch_s: Option<u64>,
    /// `IpAddress`: IPv4 CIDR of allowed viewers (custom policy only).
    pub source_ip: Option<String>,
}

impl CookiePolicy {
    /// The policy JSON, whitespace removed, in CloudFront's member order: `Resource` before
    /// `Condition`, and `DateLessThan`, `IpAddress`, `DateGreaterThan` within it (the order
    /// botocore's `CloudFrontSigner` writes). For a canned policy the order is not a
    /// choice: CloudFront rebuilds the statement from the URL and verifies the signature
    /// against its own text, byte for byte. The text is therefore written out member by
    /// member, never through a JSON map whose order depends on cargo features
    /// (serde_json's `preserve_order`, turned on by any crate in the build).
    pub fn to_json(&self) -> String {
        let mut condition = format!(r#"{{"DateLessThan":{{"AWS:EpochTime":{}}}"#, self.expires_epoch_s);
        if let Some(ip) = &self.source_ip {
            condition.push_str(&format!(r#","IpAddress":{{"AWS:SourceIp":{}}}"#, json_string(ip)));
        }
        if let Some(start) = self.not_before_epoch_s {
            condition.push_str(&format!(r#","DateGreaterThan":{{"AWS:EpochTime":{start}}}"#));
        }
        condition.push('}');
        format!(
            r#"{{"Statement":[{{"Resource":{},"Condition":{condition}}}]}}"#,
            json_string(&self.resource)
        )
    }

    /// Whether a canned policy can express it: no start time, no IP range, and one exact
    /// URL (CloudFront rebuilds a canned policy from the requested URL, so a `*` cannot
    /// match; a `?` there is the URL's own query, not a wildcard).
    pub fn is_canned(&self) -> bool {
        self.not_before_epoch_s.is_none() && self.source_ip.is_none() && !self.resource.contains('*')
    }
}

/// A JSON string literal for `text`, escaped as Python's `json.dumps` does by default
/// (non-ASCII as `\uXXXX`), so a policy's text is the same whichever side wrote it.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='\u{7f}' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// A set of signed cookies, name and value, in the order CloudFront documents them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedCookies {
    /// `(name, value)` pairs.
    pub cookies: Vec<(String, String)>,
    /// The policy JSON that was signed.
    pub policy_json: String,
    /// Whether the canned form was used.
    pub canned: bool,
    /// The key type used.
    pub key_kind: KeyKind,
    /// The digest used.
    pub hash: HashAlgorithm,
}

impl SignedCookies {
    /// `Set-Cookie` header values with the given attributes (e.g. `Domain=acme.wiki.example; Path=/; Secure; HttpOnly`).
    pub fn set_cookie_headers(&self, attributes: &str) -> Vec<String> {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}; {attributes}"))
            .collect()
    }
}

/// CloudFront's URL-safe base64: standard base64 with `+`→`-`, `=`→`_`, `/`→`~`.
pub fn cloudfront_b64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            other => other,
        })
        .collect()
}

/// Decodes CloudFront's base64 variant.
pub fn cloudfront_b64_decode(text: &str) -> Option<Vec<u8>> {
    let standard: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            other => other,
        })
        .collect();
    base64::engine::general_purpose::STANDARD.decode(standard).ok()
}

fn pem_der(pem: &str, what: &str) -> Result<(String, Vec<u8>), Error> {
    let label = pem
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("-----BEGIN ")
                .and_then(|r| r.strip_suffix("-----"))
        })
        .ok_or_else(|| Error::Cookie(format!("the {what} is not PEM (expected a -----BEGIN ...----- line)")))?
        .to_owned();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| Error::Cookie(format!("the {what} PEM body is not base64: {e}")))?;
    Ok((label, der))
}

/// Signs `policy` as CloudFront cookies with a PKCS#8 (or PKCS#1 / SEC1) private key PEM.
pub fn sign_cookies(
    private_key_pem: &str,
    key_pair_id: &str,
    policy: &CookiePolicy,
    canned: bool,
    hash: HashAlgorithm,
) -> Result<SignedCookies, Error> {
    if canned && !policy.is_canned() {
        return Err(Error::Cookie(
            "a canned policy has only a resource and an expiry; use a custom policy for a start time or an IP range"
                .into(),
        ));
    }
    let policy_json = policy.to_json();
    let (key_kind, signature) = sign_bytes(private_key_pem, hash, policy_json.as_bytes())?;
    let mut cookies = Vec::new();
    if canned {
        cookies.push(("CloudFront-Expires".to_owned(), policy.expires_epoch_s.to_string()));
    } else {
        cookies.push((
            "CloudFront-Policy".to_owned(),
            cloudfront_b64_encode(policy_json.as_bytes()),
        ));
    }
    cookies.push(("CloudFront-Signature".to_owned(), cloudfront_b64_encode(&signature)));
    cookies.push(("CloudFront-Key-Pair-Id".to_owned(), key_pair_id.to_owned()));
    if hash == HashAlgorithm::Sha256 {
        cookies.push(("CloudFront-Hash-Algorithm".to_owned(), "SHA256".to_owned()));
    }
    Ok(SignedCookies {
        cookies,
        policy_json,
        canned,
        key_kind,
        hash,
    })
}

fn sign_bytes(pem: &str, hash: HashAlgorithm, message: &[u8]) -> Result<(KeyKind, Vec<u8>), Error> {
    let (label, der) = pem_der(pem, "private key")?;
    let bad = |e: &dyn std::fmt::Display| Error::Cookie(format!("unusable private key ({label}): {e}"));
    let rsa = match label.as_str() {
        "RSA PRIVATE KEY" => Some(RsaKeyPair::from_der(&der).map_err(|e| bad(&e))?),
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der).ok(),
        _ => None,
    };
    if let Some(pair) = rsa {
        if pair.public_modulus_len() != 256 {
            return Err(Error::Cookie(format!(
                "CloudFront needs an RSA-2048 key; this one is {} bits",
                pair.public_modulus_len() * 8
            )));
        }
        let signature = match hash {
            HashAlgorithm::Sha256 => {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut out)
                    .map_err(|e| bad(&e))?;
                out
            }
            HashAlgorithm::Sha1 => {
                use rsa::pkcs1::DecodeRsaPrivateKey as _;
                use rsa::pkcs8::DecodePrivateKey as _;
                use rsa::signature::{SignatureEncoding as _, Signer as _};
                let key = if label == "RSA PRIVATE KEY" {
                    rsa::RsaPrivateKey::from_pkcs1_der(&der).map_err(|e| bad(&e))?
                } else {
                    rsa::RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| bad(&e))?
                };
                rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key).sign(message).to_vec()
            }
        };
        return Ok((KeyKind::Rsa2048, signature));
    }
    let signature = match hash {
        HashAlgorithm::Sha256 => {
            let pair = if label == "EC PRIVATE KEY" {
                EcdsaKeyPair::from_private_key_der(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &der)
                    .map_err(|e| bad(&e))?
            } else {
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &der).map_err(|e| bad(&e))?
            };
            pair.sign(&SystemRandom::new(), message)
                .map_err(|e| bad(&e))?
                .as_ref()
                .to_vec()
        }
        HashAlgorithm::Sha1 => {
            use p256::ecdsa::signature::hazmat::PrehashSigner as _;
            use p256::pkcs8::DecodePrivateKey as _;
            use sha1::Digest as _;
            let key = if label == "EC PRIVATE KEY" {
                p256::SecretKey::from_sec1_der(&der).map_err(|e| bad(&e))?
            } else {
                p256::SecretKey::from_pkcs8_der(&der).map_err(|e| bad(&e))?
            };
            let digest = sha1::Sha1::digest(message);
            let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(key)
                .sign_prehash(&digest)
                .map_err(|e| bad(&e))?;
            sig.to_der().as_bytes().to_vec()
        }
    };
    Ok((KeyKind::EcdsaP256, signature))
}

/// Why CloudFront would refuse a set of cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CookieDenyReason {
    /// A required cookie is missing or malformed.
    Malformed,
    /// The signature does not verify with the public key.
    BadSignature,
    /// Now is at or after `DateLessThan`.
    Expired,
    /// Now is before `DateGreaterThan`.
    NotYetValid,
    /// The URL does not match the policy's resource.
    WrongResource,
    /// The viewer's IP is outside the policy's range.
    WrongIp,
}

/// The verdict on a set of cookies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CookieVerdict {
    /// `None` when CloudFront would serve the request.
    pub deny: Option<CookieDenyReason>,
    /// The policy the cookies carried (or implied, for a canned policy).
    pub policy_json: Option<String>,
    /// The key pair id named by the cookies.
    pub key_pair_id: Option<String>,
}

/// Parses a `Cookie` header (`a=1; b=2`) into pairs.
pub fn parse_cookie_header(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .filter_map(|part| part.trim().split_once('='))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// Checks cookies as CloudFront would for a request to `url` from `viewer_ip` at `now_s`.
pub fn verify_cookies(
    public_key_pem: &str,
    cookies: &[(String, String)],
    url: &str,
    viewer_ip: Option<&str>,
    now_s: u64,
) -> Result<CookieVerdict, Error> {
    let get = |name: &str| cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let key_pair_id = get("CloudFront-Key-Pair-Id").map(str::to_owned);
    let deny = |reason, policy_json| {
        Ok(CookieVerdict {
            deny: Some(reason),
            policy_json,
            key_pair_id: key_pair_id.clone(),
        })
    };
    let hash = match get("CloudFront-Hash-Algorithm") {
        None | Some("SHA1") => HashAlgorithm::Sha1,
        Some("SHA256") => HashAlgorithm::Sha256,
        Some(_) => return deny(CookieDenyReason::Malformed, None),
    };
    let Some(signature) = get("CloudFront-Signature").and_then(cloudfront_b64_decode) else {
        return deny(CookieDenyReason::Malformed, None);
    };
    if key_pair_id.is_none() {
        return deny(CookieDenyReason::Malformed, None);
    }
    let policy_json = if let Some(policy) = get("CloudFront-Policy") {
        match cloudfront_b64_decode(policy).and_then(|b| String::from_utf8(b).ok()) {
            Some(json) => json,
            None => return deny(CookieDenyReason::Malformed, None),
        }
    } else if let Some(expires) = get("CloudFront-Expires").and_then(|e| e.parse::<u64>().ok()) {
        // A canned policy is signed over the policy CloudFront rebuilds from the URL.
        CookiePolicy {
            resource: url.to_owned(),
            expires_epoch_s: expires,
            not_before_epoch_s: None,
            source_ip: None,
        }
        .to_json()
    } else {
        return deny(CookieDenyReason::Malformed, None);
    };
    if !verify_bytes(public_key_pem, hash, policy_json.as_bytes(), &signature)? {
        return deny(CookieDenyReason::BadSignature, Some(policy_json));
    }
    let Ok(policy) = serde_json::from_str::<Value>(&policy_json) else {
        return deny(CookieDenyReason::Malformed, Some(policy_json));
    };
    let statement = &policy["Statement"][0];
    let condition = &statement["Condition"];
    let resource = statement["Resource"].as_str().unwrap_or_default();
    let reason = match (
        condition["DateLessThan"]["AWS:EpochTime"].as_u64(),
        condition["DateGreaterThan"]["AWS:EpochTime"].as_u64(),
        condition["IpAddress"]["AWS:SourceIp"].as_str(),
    ) {
        (None, _, _) => Some(CookieDenyReason::Malformed),
        (Some(expires), _, _) if now_s >= expires => Some(CookieDenyReason::Expired),
        (_, Some(start), _) if now_s < start => Some(CookieDenyReason::NotYetValid),
        _ if !wildcard_match(resource, url) => Some(CookieDenyReason::WrongResource),
        (_, _, Some(cidr)) if !viewer_ip.is_some_and(|ip| ip_in_cidr(ip, cidr)) => Some(CookieDenyReason::WrongIp),
        _ => None,
    };
    Ok(CookieVerdict {
        deny: reason,
        policy_json: Some(policy_json),
        key_pair_id,
    })
}

/// The query parameters CloudFront reads from a signed URL and removes before it rebuilds
/// a canned policy's resource.
const URL_SIGNING_PARAMS: [&str; 5] = ["Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm"];

/// Signs `url` for `policy` as a CloudFront signed URL (docs/sources.md, "Signed cookies"):
/// `Expires` (canned) or `Policy` (custom), `Signature`, `Key-Pair-Id`, and
/// `Hash-Algorithm=SHA256` when SHA-256 is used, appended to the URL's own query.
pub fn sign_url(
    private_key_pem: &str,
    key_pair_id: &str,
    url: &str,
    policy: &CookiePolicy,
    canned: bool,
    hash: HashAlgorithm,
) -> Result<String, Error> {
    if url.contains('#') {
        return Err(Error::Cookie(format!(
            "{url:?} has a fragment, which a signed URL cannot carry"
        )));
    }
    if let Some(name) = query_pairs(url)
        .into_iter()
        .map(|(n, _)| n)
        .find(|n| URL_SIGNING_PARAMS.contains(&n.as_str()))
    {
        return Err(Error::Cookie(format!(
            "{url:?} already has a {name} parameter; sign the URL without CloudFront's signing parameters"
        )));
    }
    if canned && policy.resource != url {
        return Err(Error::Cookie(format!(
            "a canned policy's resource is the URL itself; {:?} differs from {url:?} (use a custom policy)",
            policy.resource
        )));
    }
    let signed = sign_cookies(private_key_pem, key_pair_id, policy, canned, hash)?;
    let mut params: Vec<String> = signed
        .cookies
        .iter()
        .map(|(name, value)| format!("{}={value}", name.trim_start_matches("CloudFront-")))
        .collect();
    // CloudFront documents the order Expires/Policy, Signature, Key-Pair-Id; the hash
    // algorithm, like the cookie, comes last.
    params.sort_by_key(|p| URL_SIGNING_PARAMS.iter().position(|n| p.starts_with(&format!("{n}="))));
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{separator}{}", params.join("&")))
}

/// Checks a signed URL as CloudFront would for a request from `viewer_ip` at `now_s`.
pub fn verify_url(
    public_key_pem: &str,
    signed_url: &str,
    viewer_ip: Option<&str>,
    now_s: u64,
) -> Result<CookieVerdict, Error> {
    let pairs = query_pairs(signed_url);
    let cookies: Vec<(String, String)> = pairs
        .iter()
        .filter(|(name, _)| URL_SIGNING_PARAMS.contains(&name.as_str()))
        .map(|(name, value)| (format!("CloudFront-{name}"), value.clone()))
        .collect();
    verify_cookies(public_key_pem, &cookies, &unsigned_url(signed_url), viewer_ip, now_s)
}

/// The URL without CloudFront's signing parameters: the resource of a canned policy.
pub fn unsigned_url(signed_url: &str) -> String {
    let Some((base, query)) = signed_url.split_once('?') else {
        return signed_url.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|part| {
            let name = part.split_once('=').map_or(*part, |(n, _)| n);
            !URL_SIGNING_PARAMS.contains(&name)
        })
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

fn query_pairs(url: &str) -> Vec<(String, String)> {
    url.split_once('?')
        .map(|(_, query)| {
            query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (n, v) = p.split_once('=').unwrap_or((p, ""));
                    (n.to_owned(), v.to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn verify_bytes(pem: &str, hash: HashAlgorithm, message: &[u8], sig: &[u8]) -> Result<bool, Error> {
    let (_, der) = pem_der(pem, "public key")?;
    let spki = crate::keys::spki_parts(&der)
        .ok_or_else(|| Error::Cookie("the public key is not an SPKI `PUBLIC KEY` PEM".into()))?;
    let algorithm: &dyn signature::VerificationAlgorithm = match (spki.is_rsa, hash) {
        (true, HashAlgorithm::Sha1) => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        (true, HashAlgorithm::Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (false, HashAlgorithm::Sha1) => &signature::ECDSA_P256_SHA1_ASN1,
        (false, HashAlgorithm::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
    };
    Ok(UnparsedPublicKey::new(algorithm, spki.key).verify(message, sig).is_ok())
}

/// CloudFront's resource match: `*` matches any run of characters, `?` one character.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn ip_in_cidr(ip: &str, cidr: &str) -> bool {
    let (net, bits) = cidr.split_once('/').unwrap_or((cidr, "32"));
    match (ip.parse::<Ipv4Addr>(), net.parse::<Ipv4Addr>(), bits.parse::<u32>()) {
        (Ok(ip), Ok(net), Ok(bits)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudfront_base64_swaps_three_characters() {
        assert_eq!(cloudfront_b64_encode(&[0xfb, 0xff]), "-~8_");
        assert_eq!(cloudfront_b64_decode("-~8_").unwrap(), vec![0xfb, 0xff]);
    }

    #[test]
    fn wildcards_and_cidrs() {
        assert!(wildcard_match(
            "https://acme.wiki.example/*",
            "https://acme.wiki.example/Home"
        ));
        assert!(!wildcard_match(
            "https://acme.wiki.example/*",
            "https://other.wiki.example/Home"
        ));
        assert!(wildcard_match("https://*.example/a?c", "https://x.example/abc"));
        assert!(ip_in_cidr("192.0.2.7", "192.0.2.0/24"));
        assert!(!ip_in_cidr("192.0.3.7", "192.0.2.0/24"));
        assert!(ip_in_cidr("192.0.2.7", "0.0.0.0/0"));
    }
}
