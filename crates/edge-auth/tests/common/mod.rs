//! Shared fixtures: keys, a policy, token crafting and the attack catalog.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use edge_auth::{Algorithm, DenyReason, Key, KeySet, Policy};
use serde_json::{Value, json};

/// The pinned clock of every catalog case (Unix seconds).
pub const NOW_S: f64 = 1_700_000_000.0;
pub const HS_SECRET: &[u8] = b"catalog-hs256-secret-0123456789abcdef";
pub const HS_SECRET_2: &[u8] = b"catalog-hs256-second-secret-0123456789";
pub const HOST: &str = "acme.wiki.example";

pub fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub fn policy() -> Policy {
    Policy {
        issuer: Some("https://login.example".into()),
        audience: Some("wiki".into()),
        wiki_domain: Some("wiki.example".into()),
        ..Policy::default()
    }
}

pub fn keyset(alg: Algorithm) -> KeySet {
    match alg {
        Algorithm::HS256 => KeySet::new()
            .with(Key::hmac("k1", alg, HS_SECRET).unwrap())
            .unwrap()
            .with(Key::hmac("k2", alg, HS_SECRET_2).unwrap())
            .unwrap(),
        Algorithm::RS256 => KeySet::new()
            .with(Key::from_pem("k1", alg, &data("rsa2048.pub.pem")).unwrap())
            .unwrap()
            .with(Key::from_pem("k2", alg, &data("rsa2048-other.pub.pem")).unwrap())
            .unwrap(),
        other => panic!("no catalog key set for {other}"),
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `header.claims` (given as raw JSON text) with the catalog's key for `kid`.
pub fn sign_raw(alg: Algorithm, kid: &str, header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    format!("{input}.{}", signature(alg, kid, input.as_bytes()))
}

pub fn signature(alg: Algorithm, kid: &str, input: &[u8]) -> String {
    let key = match (alg, kid) {
        (Algorithm::HS256, "k2") => jsonwebtoken::EncodingKey::from_secret(HS_SECRET_2),
        (Algorithm::HS256, _) => jsonwebtoken::EncodingKey::from_secret(HS_SECRET),
        (Algorithm::RS256, "k2") => {
            jsonwebtoken::EncodingKey::from_rsa_pem(data("rsa2048-other.key.pem").as_bytes()).unwrap()
        }
        (Algorithm::RS256, _) => jsonwebtoken::EncodingKey::from_rsa_pem(data("rsa2048.key.pem").as_bytes()).unwrap(),
        (other, _) => panic!("no catalog signer for {other}"),
    };
    jsonwebtoken::crypto::sign(input, &key, alg.to_jwt()).unwrap()
}

pub fn claims() -> Value {
    json!({"sub": "ann", "iss": "https://login.example", "aud": "wiki", "tenant": "acme", "exp": NOW_S as u64 + 600, "iat": NOW_S as u64})
}

pub fn header(alg: Algorithm, kid: &str) -> String {
    format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"}}"#)
}

/// Where the token travels in the request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Carrier {
    Bearer,
    Cookie,
    Authorization(&'static str),
    None,
}

/// What a case must produce.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expect {
    Allow,
    /// Denied, for whichever reason comes first (several can apply).
    DenyAny,
    Deny(DenyReason),
}

impl Expect {
    pub fn matches(self, got: Option<DenyReason>) -> bool {
        match (self, got) {
            (Expect::Allow, None) | (Expect::DenyAny, Some(_)) => true,
            (Expect::Deny(want), Some(got)) => want == got,
            _ => false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub token: String,
    pub host: Option<String>,
    pub carrier: Carrier,
    pub expect: Expect,
    /// Whether the case reaches signature verification (costly for the limb variant).
    pub verifies: bool,
}

impl Case {
    pub fn event(&self) -> Value {
        let mut headers = serde_json::Map::new();
        if let Some(host) = &self.host {
            headers.insert("host".into(), json!({"value": host}));
        }
        let mut cookies = serde_json::Map::new();
        match self.carrier {
            Carrier::Bearer => {
                headers.insert(
                    "authorization".into(),
                    json!({"value": format!("Bearer {}", self.token)}),
                );
            }
            Carrier::Authorization(scheme) => {
                headers.insert(
                    "authorization".into(),
                    json!({"value": format!("{scheme} {}", self.token)}),
                );
            }
            Carrier::Cookie => {
                cookies.insert("token".into(), json!({"value": self.token}));
            }
            Carrier::None => {}
        }
        json!({
            "version": "1.0",
            "context": {"eventType": "viewer-request"},
            "viewer": {"ip": "198.51.100.7"},
            "request": {"method": "GET", "uri": "/Home", "querystring": {}, "headers": headers, "cookies": cookies}
        })
    }
}

fn case(name: &str, token: String, expect: Expect, verifies: bool) -> Case {
    Case {
        name: name.into(),
        token,
        host: Some(HOST.into()),
        carrier: Carrier::Bearer,
        expect,
        verifies,
    }
}

fn deny(r: DenyReason) -> Expect {
    Expect::Deny(r)
}

/// Every attack class of docs/sources.md, "JWT attacks", against a key set pinned to `alg` (HS256 or RS256),
/// plus the valid tokens that must still pass.
pub fn catalog(alg: Algorithm) -> Vec<Case> {
    use DenyReason as R;
    let c = claims();
    let h = header(alg, "k1");
    let good = sign_raw(alg, "k1", &h, &c.to_string());
    let with = |f: &dyn Fn(&mut Value)| {
        let mut claims = claims();
        f(&mut claims);
        sign_raw(alg, "k1", &h, &claims.to_string())
    };
    let parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let other_alg = if alg == Algorithm::HS256 {
        Algorithm::RS256
    } else {
        Algorithm::HS256
    };
    let now = NOW_S as u64;
    let leeway = 60;
    let mut cases = vec![
        case("valid bearer", good.clone(), Expect::Allow, true),
        case(
            "valid second key",
            sign_raw(alg, "k2", &header(alg, "k2"), &c.to_string()),
            Expect::Allow,
            true,
        ),
        case(
            "valid, aud as array",
            with(&|c| c["aud"] = json!(["other", "wiki"])),
            Expect::Allow,
            true,
        ),
        case("valid, upper-case host", good.clone(), Expect::Allow, true),
        // alg none, in several spellings, with and without a signature.
        case(
            "alg none, empty signature",
            format!("{}.{}.", b64(br#"{"alg":"none","kid":"k1"}"#), parts[1]),
            deny(R::EmptySignature),
            false,
        ),
        case(
            "alg none, junk signature",
            format!("{}.{}.{}", b64(br#"{"alg":"none","kid":"k1"}"#), parts[1], parts[2]),
            deny(R::AlgNone),
            false,
        ),
        case(
            "alg NONE",
            format!("{}.{}.{}", b64(br#"{"alg":"NONE","kid":"k1"}"#), parts[1], parts[2]),
            deny(R::AlgNone),
            false,
        ),
        case(
            "alg nOnE",
            format!("{}.{}.{}", b64(br#"{"alg":"nOnE"}"#), parts[1], parts[2]),
            deny(R::AlgNone),
            false,
        ),
        case(
            "alg missing",
            sign_raw(alg, "k1", r#"{"kid":"k1"}"#, &c.to_string()),
            deny(R::MissingAlg),
            false,
        ),
        case(
            "alg not a string",
            sign_raw(alg, "k1", r#"{"alg":256,"kid":"k1"}"#, &c.to_string()),
            deny(R::MissingAlg),
            false,
        ),
        case(
            "alg unsupported (ES512)",
            sign_raw(alg, "k1", r#"{"alg":"ES512","kid":"k1"}"#, &c.to_string()),
            deny(R::UnsupportedAlg),
            false,
        ),
        case(
            "alg unsupported (HS1)",
            sign_raw(alg, "k1", r#"{"alg":"HS1","kid":"k1"}"#, &c.to_string()),
            deny(R::UnsupportedAlg),
            false,
        ),
        // Key confusion: the other family's alg on this kid.
        case(
            "key confusion: other alg on the kid",
            confusion(alg, other_alg, &c),
            deny(R::AlgMismatch),
            false,
        ),
        case(
            "ECDSA r=s=0 (CVE-2022-21449)",
            format!(
                "{}.{}.{}",
                b64(br#"{"alg":"ES256","kid":"k1"}"#),
                parts[1],
                b64(&[0u8; 64])
            ),
            deny(R::AlgMismatch),
            false,
        ),
        case(
            "PS256 on an RS/HS kid",
            sign_raw(alg, "k1", r#"{"alg":"PS256","kid":"k1"}"#, &c.to_string()),
            deny(R::AlgMismatch),
            false,
        ),
        // kid traversal and injection.
        case(
            "kid traversal",
            kid_token(alg, json!("../../../../dev/null"), &c),
            deny(R::UnknownKid),
            false,
        ),
        case(
            "kid traversal to a real kid",
            kid_token(alg, json!("k1/../k1"), &c),
            deny(R::UnknownKid),
            false,
        ),
        case(
            "kid __proto__",
            kid_token(alg, json!("__proto__"), &c),
            deny(R::UnknownKid),
            false,
        ),
        case(
            "kid constructor",
            kid_token(alg, json!("constructor"), &c),
            deny(R::UnknownKid),
            false,
        ),
        case(
            "kid SQL injection",
            kid_token(alg, json!("k1' OR '1'='1"), &c),
            deny(R::UnknownKid),
            false,
        ),
        case(
            "kid with NUL",
            kid_token(alg, json!("k1\u{0}"), &c),
            deny(R::UnknownKid),
            false,
        ),
        case("kid number", kid_token(alg, json!(1), &c), deny(R::UnknownKid), false),
        case(
            "kid array",
            kid_token(alg, json!(["k1"]), &c),
            deny(R::UnknownKid),
            false,
        ),
        case(
            "kid missing with two keys",
            sign_raw(alg, "k1", &format!(r#"{{"alg":"{alg}"}}"#), &c.to_string()),
            deny(R::MissingKid),
            false,
        ),
        // Keys from the token itself.
        case(
            "jku header",
            header_extra(alg, r#""jku":"https://evil.example/jwks.json""#, &c),
            deny(R::ForbiddenHeader),
            false,
        ),
        case(
            "x5u header",
            header_extra(alg, r#""x5u":"https://evil.example/cert.pem""#, &c),
            deny(R::ForbiddenHeader),
            false,
        ),
        case(
            "embedded jwk header",
            header_extra(alg, r#""jwk":{"kty":"oct","k":"AAAA"}"#, &c),
            deny(R::ForbiddenHeader),
            false,
        ),
        case(
            "x5c header",
            header_extra(alg, r#""x5c":["MIIB"]"#, &c),
            deny(R::ForbiddenHeader),
            false,
        ),
        // crit and b64.
        case(
            "unknown crit",
            header_extra(alg, r#""crit":["exp"],"exp":1"#, &c),
            deny(R::UnknownCrit),
            false,
        ),
        case(
            "empty crit",
            header_extra(alg, r#""crit":[]"#, &c),
            deny(R::UnknownCrit),
            false,
        ),
        case(
            "b64 false",
            header_extra(alg, r#""b64":false,"crit":["b64"]"#, &c),
            deny(R::UnknownCrit),
            false,
        ),
        // Signatures.
        case(
            "empty signature",
            format!("{}.{}.", parts[0], parts[1]),
            deny(R::EmptySignature),
            false,
        ),
        case(
            "truncated signature",
            format!("{}.{}.{}", parts[0], parts[1], &parts[2][..parts[2].len() - 4]),
            Expect::DenyAny,
            true,
        ),
        case(
            "signature of another key",
            format!(
                "{}.{}.{}",
                parts[0],
                parts[1],
                signature(alg, "k2", format!("{}.{}", parts[0], parts[1]).as_bytes())
            ),
            deny(R::BadSignature),
            true,
        ),
        case(
            "claims swapped under a valid signature",
            format!("{}.{}.{}", parts[0], b64(with_tenant("evil").as_bytes()), parts[2]),
            deny(R::BadSignature),
            true,
        ),
        case(
            "signature bit flipped",
            format!("{}.{}.{}", parts[0], parts[1], flip(&parts[2])),
            Expect::DenyAny,
            true,
        ),
        // Segment count.
        case(
            "two segments",
            format!("{}.{}", parts[0], parts[1]),
            deny(R::WrongSegmentCount),
            false,
        ),
        case(
            "four segments",
            format!("{good}.{}", parts[2]),
            deny(R::WrongSegmentCount),
            false,
        ),
        case(
            "five segments (JWE)",
            format!("{}.{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[1], parts[2]),
            deny(R::WrongSegmentCount),
            false,
        ),
        case("trailing dot", format!("{good}."), deny(R::WrongSegmentCount), false),
        case("not a token", "hello".into(), deny(R::WrongSegmentCount), false),
        // Base64.
        case(
            "padded signature",
            format!("{good}{}", pad(&parts[2])),
            Expect::DenyAny,
            false,
        ),
        case(
            "standard alphabet header",
            format!(
                "{}.{}.{}",
                parts[0].replace('-', "+").replace('_', "/") + "+",
                parts[1],
                parts[2]
            ),
            deny(R::BadBase64),
            false,
        ),
        case(
            "space in payload",
            format!("{}. {}.{}", parts[0], parts[1], parts[2]),
            deny(R::BadBase64),
            false,
        ),
        case(
            "non-canonical trailing bits",
            format!("{}.{}.{}", parts[0], parts[1], noncanonical(&parts[2])),
            Expect::DenyAny,
            false,
        ),
        case(
            "length 1 mod 4 header",
            format!("{}A.{}.{}", parts[0], parts[1], parts[2]),
            Expect::DenyAny,
            false,
        ),
        // JSON.
        case(
            "duplicate alg in header",
            sign_raw(
                alg,
                "k1",
                &format!(r#"{{"alg":"none","alg":"{alg}","kid":"k1"}}"#),
                &c.to_string(),
            ),
            deny(R::DuplicateJsonKey),
            false,
        ),
        case(
            "duplicate tenant in claims",
            sign_raw(alg, "k1", &h, &with_dup_tenant()),
            deny(R::DuplicateJsonKey),
            false,
        ),
        case(
            "escaped duplicate in claims",
            sign_raw(
                alg,
                "k1",
                &h,
                &c.to_string()
                    .replacen("\"tenant\"", "\"te\\u006eant\":\"evil\",\"tenant\"", 1),
            ),
            deny(R::DuplicateJsonKey),
            false,
        ),
        case(
            "nested duplicate in claims",
            sign_raw(
                alg,
                "k1",
                &h,
                &c.to_string().replacen('{', r#"{"x":[{"a":1,"a":2}],"#, 1),
            ),
            deny(R::DuplicateJsonKey),
            false,
        ),
        case(
            "header not an object",
            sign_raw(alg, "k1", "[1]", &c.to_string()),
            deny(R::BadHeader),
            false,
        ),
        case(
            "header not JSON",
            sign_raw(alg, "k1", "{alg", &c.to_string()),
            deny(R::BadHeader),
            false,
        ),
        case(
            "claims not an object",
            sign_raw(alg, "k1", &h, "\"x\""),
            deny(R::BadClaims),
            false,
        ),
        case(
            "claims not UTF-8",
            sign_raw_bytes(alg, &h, b"{\"sub\":\"\xff\"}"),
            deny(R::BadClaims),
            false,
        ),
        // exp, nbf, leeway.
        case(
            "exp missing",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            deny(R::MissingExp),
            true,
        ),
        case(
            "exp a string",
            with(&|c| c["exp"] = json!((now + 600).to_string())),
            deny(R::BadTimeClaim),
            true,
        ),
        case(
            "exp null",
            with(&|c| c["exp"] = json!(null)),
            deny(R::BadTimeClaim),
            true,
        ),
        case(
            "nbf a string",
            with(&|c| c["nbf"] = json!("0")),
            deny(R::BadTimeClaim),
            true,
        ),
        case(
            "expired",
            with(&|c| c["exp"] = json!(now - 3600)),
            deny(R::Expired),
            true,
        ),
        case(
            "exp at the leeway edge",
            with(&|c| c["exp"] = json!(now - leeway)),
            deny(R::Expired),
            true,
        ),
        case(
            "exp one second inside leeway",
            with(&|c| c["exp"] = json!(now - leeway + 1)),
            Expect::Allow,
            true,
        ),
        case(
            "exp fractional inside",
            with(&|c| c["exp"] = json!(NOW_S - 59.5)),
            Expect::Allow,
            true,
        ),
        case(
            "nbf beyond leeway",
            with(&|c| c["nbf"] = json!(now + leeway + 1)),
            deny(R::NotYetValid),
            true,
        ),
        case(
            "nbf at the leeway edge",
            with(&|c| c["nbf"] = json!(now + leeway)),
            Expect::Allow,
            true,
        ),
        // Size.
        case(
            "oversize",
            with(&|c| c["pad"] = json!("x".repeat(4200))),
            deny(R::Oversize),
            false,
        ),
        // iss, aud.
        case(
            "wrong issuer",
            with(&|c| c["iss"] = json!("https://evil.example")),
            deny(R::WrongIssuer),
            true,
        ),
        case(
            "issuer missing",
            with(&|c| {
                c.as_object_mut().unwrap().remove("iss");
            }),
            deny(R::WrongIssuer),
            true,
        ),
        case(
            "wrong audience",
            with(&|c| c["aud"] = json!("api")),
            deny(R::WrongAudience),
            true,
        ),
        case(
            "audience missing",
            with(&|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
            deny(R::WrongAudience),
            true,
        ),
        case(
            "audience array without us",
            with(&|c| c["aud"] = json!(["api"])),
            deny(R::WrongAudience),
            true,
        ),
        case(
            "audience a number",
            with(&|c| c["aud"] = json!(1)),
            deny(R::WrongAudience),
            true,
        ),
        // Tenant.
        case(
            "wrong tenant",
            with(&|c| c["tenant"] = json!("other")),
            deny(R::WrongTenant),
            true,
        ),
        case(
            "tenant missing",
            with(&|c| {
                c.as_object_mut().unwrap().remove("tenant");
            }),
            deny(R::WrongTenant),
            true,
        ),
        case(
            "tenant not a string",
            with(&|c| c["tenant"] = json!(["acme"])),
            deny(R::WrongTenant),
            true,
        ),
        case(
            "tenant upper-case",
            with(&|c| c["tenant"] = json!("ACME")),
            deny(R::WrongTenant),
            true,
        ),
    ];
    // Host variations on the valid token.
    for (name, host, expect) in [
        ("host missing", None, deny(R::BadHost)),
        ("host of another domain", Some("acme.evil.example"), deny(R::BadHost)),
        ("host suffix trick", Some("acmewiki.example"), deny(R::BadHost)),
        ("host two labels deep", Some("x.acme.wiki.example"), deny(R::BadHost)),
        ("host non-ASCII", Some("acm\u{e9}.wiki.example"), deny(R::BadHost)),
        (
            "host of another tenant",
            Some("other.wiki.example"),
            deny(R::WrongTenant),
        ),
        ("host with port", Some("acme.wiki.example:443"), Expect::Allow),
        ("host upper-case", Some("ACME.Wiki.Example"), Expect::Allow),
    ] {
        let mut case = case(name, good.clone(), expect, true);
        case.host = host.map(str::to_owned);
        cases.push(case);
    }
    // Carriers.
    for (name, carrier, expect) in [
        ("cookie", Carrier::Cookie, Expect::Allow),
        ("lower-case bearer", Carrier::Authorization("bearer"), Expect::Allow),
        ("basic scheme", Carrier::Authorization("Basic"), deny(R::NoToken)),
        ("no token", Carrier::None, deny(R::NoToken)),
    ] {
        let mut case = case(name, good.clone(), expect, expect == Expect::Allow);
        case.carrier = carrier;
        cases.push(case);
    }
    cases
}

fn with_tenant(tenant: &str) -> String {
    let mut c = claims();
    c["tenant"] = json!(tenant);
    c.to_string()
}

fn with_dup_tenant() -> String {
    let c = claims().to_string();
    c.replacen("\"tenant\":\"acme\"", "\"tenant\":\"evil\",\"tenant\":\"acme\"", 1)
}

fn sign_raw_bytes(alg: Algorithm, header: &str, claims: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims));
    format!("{input}.{}", signature(alg, "k1", input.as_bytes()))
}

fn kid_token(alg: Algorithm, kid: Value, c: &Value) -> String {
    sign_raw(
        alg,
        "k1",
        &json!({"alg": alg.as_str(), "kid": kid}).to_string(),
        &c.to_string(),
    )
}

fn header_extra(alg: Algorithm, extra: &str, c: &Value) -> String {
    sign_raw(
        alg,
        "k1",
        &format!(r#"{{"alg":"{alg}","kid":"k1",{extra}}}"#),
        &c.to_string(),
    )
}

/// An HS256 token MACed with the RSA public key PEM as secret (CVE-2015-9235), or an
/// RS256-labelled token for an HMAC kid.
fn confusion(alg: Algorithm, other: Algorithm, c: &Value) -> String {
    let header = header(other, "k1");
    let input = format!("{}.{}", b64(header.as_bytes()), b64(c.to_string().as_bytes()));
    let sig = if other == Algorithm::HS256 {
        let key = jsonwebtoken::EncodingKey::from_secret(data("rsa2048.pub.pem").as_bytes());
        jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256).unwrap()
    } else {
        signature(Algorithm::RS256, "k1", input.as_bytes())
    };
    let _ = alg;
    format!("{input}.{sig}")
}

fn flip(sig: &str) -> String {
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bytes[0] ^= 1;
    b64(&bytes)
}

fn pad(sig: &str) -> &'static str {
    match sig.len() % 4 {
        2 => "==",
        3 => "=",
        _ => "====",
    }
}

/// The same bytes with non-zero unused trailing bits (when the length leaves any).
fn noncanonical(sig: &str) -> String {
    let mut s = sig.to_owned();
    if s.len().is_multiple_of(4) {
        // No unused bits: a stray extra character makes the length invalid instead.
        s.push('A');
    } else {
        let last = s.pop().unwrap();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.iter().position(|&b| b == last as u8).unwrap();
        s.push(alphabet[index | 1] as char);
        if s.ends_with(last) {
            s.pop();
            s.push(alphabet[(index + 1) % 64] as char);
        }
    }
    s
}

pub fn keyset_es_ed() -> KeySet {
    KeySet::new()
        .with(Key::from_pem("e1", Algorithm::ES256, &data("p256.pub.pem")).unwrap())
        .unwrap()
        .with(Key::from_pem("d1", Algorithm::EdDSA, &data("ed25519.pub.pem")).unwrap())
        .unwrap()
}

/// What the generated function decided under Node.js (`tests/node/run_function.mjs`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct NodeOutcome {
    pub allowed: bool,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub error: Option<String>,
}

/// Runs `code` on every `(event, now_ms)` under Node.js with the given KeyValueStore.
/// Node is required: the parity tests exist to compare with an engine the project did not
/// write, so its absence is a failure, not a skip.
pub fn node_outcomes(
    code: &str,
    kvs: &std::collections::BTreeMap<String, String>,
    cases: &[(Value, f64)],
) -> Vec<NodeOutcome> {
    use std::io::Write as _;
    let script = format!("{}/tests/node/run_function.mjs", env!("CARGO_MANIFEST_DIR"));
    let mut child = std::process::Command::new("node")
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `node` ({e}): the parity tests need Node.js 18 or later on PATH"));
    let input = json!({
        "code": code,
        "kvs": kvs,
        "cases": cases.iter().map(|(event, now_ms)| json!({"event": event, "now_ms": now_ms})).collect::<Vec<_>>(),
    });
    let mut stdin = child.stdin.take().expect("stdin");
    let text = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let output = child.wait_with_output().expect("node runs");
    writer.join().expect("writer").expect("node reads its input");
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("node's JSON")
}

/// The library's parity corpus as catalog cases, signed with the catalog's keys.
pub fn corpus(alg: Algorithm, count: usize, seed: u64) -> Vec<Case> {
    edge_auth::parity::corpus(alg, count, seed, &|kid, input| signature(alg, kid, input))
        .into_iter()
        .map(|c| Case {
            name: c.name,
            token: c.token,
            host: c.host,
            carrier: if c.in_cookie { Carrier::Cookie } else { Carrier::Bearer },
            expect: Expect::DenyAny,
            verifies: c.verifies,
        })
        .collect()
}
