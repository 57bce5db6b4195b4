//! The parity corpus: generated viewer requests on which the Rust validator and a generated
//! CloudFront Function must reach the same decision for the same reason. The tests run it in
//! the project's QuickJS runner and under Node; `cargo xtask bench` reports the mismatch
//! count as `auth_parity_mismatches`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::runner::{EdgeRunner, RunnerOptions};
use crate::{Algorithm, EdgeRequest, Error, Validator};

/// The clock every corpus case is generated for (Unix seconds).
pub const CORPUS_NOW_S: f64 = 1_700_000_000.0;

/// One generated request.
#[derive(Debug, Clone)]
pub struct ParityCase {
    /// What the case is, for a reader of a mismatch.
    pub name: String,
    /// The token.
    pub token: String,
    /// The `Host` header, if any.
    pub host: Option<String>,
    /// Whether the token travels in the `token` cookie instead of `Authorization: Bearer`.
    pub in_cookie: bool,
    /// Whether the case carries the key's own signature (reaches verification).
    pub verifies: bool,
}

impl ParityCase {
    /// The CloudFront viewer-request event for this case.
    pub fn event(&self) -> Value {
        let mut headers = serde_json::Map::new();
        if let Some(host) = &self.host {
            headers.insert("host".into(), json!({"value": host}));
        }
        let mut cookies = serde_json::Map::new();
        if self.in_cookie {
            cookies.insert("token".into(), json!({"value": self.token}));
        } else {
            headers.insert(
                "authorization".into(),
                json!({"value": format!("Bearer {}", self.token)}),
            );
        }
        json!({
            "version": "1.0",
            "context": {"eventType": "viewer-request"},
            "viewer": {"ip": "198.51.100.7"},
            "request": {"method": "GET", "uri": "/Home", "querystring": {}, "headers": headers, "cookies": cookies}
        })
    }
}

fn b64(bytes: &[u8]) -> String {
    crate::b64::encode(bytes)
}

fn flip(sig: &str) -> String {
    let mut bytes = crate::b64::decode(sig).unwrap_or_default();
    if let Some(first) = bytes.first_mut() {
        *first ^= 1;
    }
    b64(&bytes)
}

/// A small deterministic generator (SplitMix64), so a corpus is the same on every run.
struct Mix(u64);

impl Mix {
    fn new(seed: u64) -> Self {
        Self(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
    /// The first item (the valid choice) five times in six, else any of them.
    fn mostly<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        if self.next().is_multiple_of(6) {
            self.pick(items)
        } else {
            &items[0]
        }
    }
}

/// `count` generated cases against the catalog's key set for `alg`: every header, claim,
/// host and signature dimension the edge checks, combined at random (seeded). Most cases
/// are near-valid, so each check is reached often, not only the first that fails.
/// `sign(kid, input)` returns the base64url signature of `input` by key `kid` (`k1` or
/// `k2`, both pinned to `alg`); the policy is the catalog's: issuer
/// `https://login.example`, audience `wiki`, tenant claim `tenant`, wiki domain
/// `wiki.example`, host tenant `acme`.
pub fn corpus(alg: Algorithm, count: usize, seed: u64, sign: &dyn Fn(&str, &[u8]) -> String) -> Vec<ParityCase> {
    let now = CORPUS_NOW_S as i64;
    let other = if alg == Algorithm::HS256 {
        Algorithm::RS256
    } else {
        Algorithm::HS256
    };
    let kids = [
        r#""k1""#,
        r#""k1""#,
        r#""k2""#,
        "",
        r#""nope""#,
        "7",
        r#""__proto__""#,
        "null",
    ];
    let algs = [
        alg.as_str(),
        alg.as_str(),
        alg.as_str(),
        other.as_str(),
        "none",
        "HS512",
        "ES256",
    ];
    let extras = [
        "",
        "",
        "",
        "",
        r#","cty":"JWT""#,
        r#","cty":"jwt""#,
        r#","cty":"text/plain""#,
        r#","crit":["exp"]"#,
        r#","b64":false"#,
        r#","b64":true"#,
        r#","jku":"https://evil.test/k""#,
        r#","typ":"at+jwt""#,
    ];
    let auds = [
        r#""wiki""#,
        r#""wiki""#,
        r#"["wiki"]"#,
        r#"["x","wiki"]"#,
        r#"["wiki",1]"#,
        r#"["wiki",null]"#,
        "[]",
        r#""other""#,
        "",
        "null",
        r#"["WIKI"]"#,
    ];
    let tenants = [
        r#""acme""#,
        r#""acme""#,
        r#""acme""#,
        r#""other""#,
        "",
        "5",
        r#""ACME""#,
    ];
    let exps = [
        (now + 600).to_string(),
        (now + 600).to_string(),
        (now - 1).to_string(),
        (now - 60).to_string(),
        (now - 59).to_string(),
        String::new(),
        r#""soon""#.to_owned(),
        format!("{}.5", now + 10),
    ];
    let nbfs = [
        String::new(),
        String::new(),
        (now + 30).to_string(),
        (now + 61).to_string(),
        r#""x""#.to_owned(),
    ];
    let isss = [
        r#""https://login.example""#,
        r#""https://login.example""#,
        r#""https://evil.test""#,
        "",
    ];
    let hosts = [
        Some("acme.wiki.example"),
        Some("acme.wiki.example"),
        Some("ACME.Wiki.Example"),
        Some("acme.wiki.example:443"),
        Some("acme.wiki.example."),
        Some("acme.evil.test"),
        Some("acme.wiki.example.evil.test"),
        Some("x.acme.wiki.example"),
        Some("wiki.example"),
        None,
        Some("acme.wiki.example:"),
        Some("acme.wiki.example:abc"),
        Some("acmewiki.example"),
        Some("ac_me.wiki.example"),
    ];
    let signatures = ["own", "own", "own", "other key", "flipped", "empty"];
    let mut mix = Mix::new(seed);
    (0..count)
        .map(|i| {
            let kid = *mix.mostly(&kids);
            let header = format!(
                r#"{{"alg":"{}","typ":"JWT"{}{}}}"#,
                mix.mostly(&algs),
                if kid.is_empty() {
                    String::new()
                } else {
                    format!(r#","kid":{kid}"#)
                },
                mix.mostly(&extras)
            );
            let mut members = vec![r#""sub":"ann""#.to_owned()];
            for (name, value) in [
                ("iss", mix.mostly(&isss).to_string()),
                ("aud", mix.mostly(&auds).to_string()),
                ("tenant", mix.mostly(&tenants).to_string()),
                ("exp", mix.mostly(&exps).clone()),
                ("nbf", mix.mostly(&nbfs).clone()),
            ] {
                if !value.is_empty() {
                    members.push(format!(r#""{name}":{value}"#));
                }
            }
            let claims = format!("{{{}}}", members.join(","));
            let signer = if kid == r#""k2""# { "k2" } else { "k1" };
            let signed_by = *mix.mostly(&signatures);
            let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
            let sig = match signed_by {
                "own" => sign(signer, input.as_bytes()),
                "other key" => sign(if signer == "k1" { "k2" } else { "k1" }, input.as_bytes()),
                "flipped" => flip(&sign(signer, input.as_bytes())),
                _ => String::new(),
            };
            let host = *mix.mostly(&hosts);
            ParityCase {
                name: format!("corpus #{i}: {header} {claims} host {host:?} signature {signed_by}"),
                token: format!("{input}.{sig}"),
                host: host.map(str::to_owned),
                in_cookie: mix.next().is_multiple_of(4),
                verifies: signed_by == "own",
            }
        })
        .collect()
}

/// Runs `cases` through the validator and the generated function (in the QuickJS runner,
/// with `kvs` as its KeyValueStore) at [`CORPUS_NOW_S`]; returns every disagreement in
/// decision or reason.
pub fn mismatches(
    validator: &Validator,
    function_code: &str,
    kvs: &BTreeMap<String, String>,
    cases: &[ParityCase],
) -> Result<Vec<String>, Error> {
    let runner = EdgeRunner::load(
        function_code,
        &RunnerOptions {
            kvs: kvs.clone(),
            ..RunnerOptions::default()
        },
    )?;
    let mut out = Vec::new();
    for case in cases {
        let event = case.event();
        let rust = validator.validate_request(&EdgeRequest::from_cloudfront_event(&event, "token"), CORPUS_NOW_S);
        let rust_reason = rust.reason().map(|r| r.code().to_owned());
        let js = runner.run(&event, CORPUS_NOW_S * 1000.0)?;
        if let Some(error) = &js.error {
            out.push(format!("{}: the function threw: {error}", case.name));
            continue;
        }
        let js_reason = js.deny_reason().map(str::to_owned);
        if rust.is_allow() != js.allowed() || rust_reason != js_reason {
            out.push(format!(
                "{}: validator {rust_reason:?}, function {js_reason:?}",
                case.name
            ));
        }
    }
    Ok(out)
}
