//! CloudFront's native CWT option: the runner's `cf.cwt` shim on the RFC examples, and
//! parity between the Rust validator (`CwtValidator`) and the generated function in the
//! runner on a catalog of good and bad tokens, each with the reason it must get.

use ciborium::value::Value;
use edge_auth::Policy;
use edge_auth::cff::{CwtFunctionOptions, FUNCTION_SIZE_LIMIT_BYTES, KeySource, generate_cwt};
use edge_auth::cwt::{
    CwtClaims, CwtKey, CwtValidator, MAX_TOKEN_BYTES, MacAlg, SignOptions, issue, sign_payload, to_text,
};
use edge_auth::runner::{EdgeRunner, RunnerOptions};
use serde_json::{Value as Json, json};

const NOW_S: f64 = 1_700_000_000.0;
const HOST: &str = "acme.wiki.example";
/// RFC 8392 Appendix A.2.2, kid "Symmetric256".
const RFC8392_KEY: &str = "403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388";
/// RFC 8392 Appendix A.4 (HMAC 256/64, CWT tag).
const RFC8392_A4: &str = "d83dd18443a10104a1044c53796d6d65747269633235365850a70175636f61703a2f2f61732e6578616d706c652e636f6d02656572696b77037818636f61703a2f2f6c696768742e6578616d706c652e636f6d041a5612aeb0051a5610d9f0061a5610d9f007420b7148093101ef6d789200";
/// RFC 8392 Appendix A.7 (no CWT tag, floating-point iat).
const RFC8392_A7: &str = "d18443a10104a1044c53796d6d65747269633235364ba106fb41d584367c20000048b8816f34c0542892";
/// cose-wg/Examples HMac-enc-01 (COSE_Mac0, HMAC 256/256) and HMac-enc-02 (HMAC 384/384).
const HMAC_ENC_01: &str = "d18443a10105a054546869732069732074686520636f6e74656e742e5820a1a848d3471f9d61ee49018d244c824772f223ad4f935293f1789fc3a08d8c58";
const HMAC_ENC_02: &str = "d18443a10106a054546869732069732074686520636f6e74656e742e5830998d26c6459aaeecf44ed20ce00c8ccedf0a1f3d22a92fc05db08c5aeb1cb594caaf5a5c5e2e9d01cce7e77a93aa8c62";
const HMAC_ENC_KEY_HEX: &str = "849b57219dae48de646d07dbb533566e976686457c1491be3a76dcea6c427188";

fn keys() -> Vec<CwtKey> {
    vec![
        CwtKey::new("cwt-2", b"catalog-cwt-current-secret-0123456789").unwrap(),
        CwtKey::new("cwt-1", b"catalog-cwt-retiring-secret-012345678").unwrap(),
    ]
}

fn policy() -> Policy {
    Policy {
        issuer: Some("https://login.example".into()),
        audience: Some("wiki".into()),
        wiki_domain: Some("wiki.example".into()),
        ..Policy::default()
    }
}

/// The claims of a good token as CBOR map members.
fn good_members() -> Vec<(Value, Value)> {
    let now = NOW_S as i64;
    vec![
        (1.into(), "https://login.example".into()),
        (2.into(), "ann".into()),
        (3.into(), "wiki".into()),
        (4.into(), (now + 600).into()),
        (6.into(), now.into()),
        ("tenant".into(), "acme".into()),
    ]
}

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

fn with(change: impl Fn(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let mut members = good_members();
    change(&mut members);
    cbor(&Value::Map(members))
}

fn set(members: &mut Vec<(Value, Value)>, key: Value, value: Value) {
    members.retain(|(k, _)| *k != key);
    members.push((key, value));
}

fn signed(payload: &[u8]) -> Vec<u8> {
    sign_payload(payload, &keys()[0], &SignOptions::default())
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

struct Case {
    name: &'static str,
    token: Option<String>,
    host: &'static str,
    cookie: bool,
    /// The reason it must get; `None` is an allow.
    want: Option<&'static str>,
}

fn case(name: &'static str, token: &[u8], want: Option<&'static str>) -> Case {
    Case {
        name,
        token: Some(to_text(token)),
        host: HOST,
        cookie: false,
        want,
    }
}

impl Case {
    fn event(&self) -> Json {
        let mut headers = json!({"host": {"value": self.host}});
        let mut cookies = json!({});
        if let Some(token) = &self.token {
            if self.cookie {
                cookies["token"] = json!({"value": token});
            } else {
                headers["authorization"] = json!({"value": format!("Bearer {token}")});
            }
        }
        json!({"version": "1.0", "context": {"eventType": "viewer-request"}, "viewer": {"ip": "198.51.100.7"},
            "request": {"method": "GET", "uri": "/Home", "querystring": {}, "headers": headers, "cookies": cookies}})
    }
}

/// A token of exactly `bytes` bytes of CBOR, padded through the `sub` claim.
fn token_of_size(bytes: usize) -> Vec<u8> {
    let mut pad = 0;
    loop {
        let token = signed(&with(|m| set(m, 2.into(), "x".repeat(pad).into())));
        match token.len().cmp(&bytes) {
            std::cmp::Ordering::Equal => return token,
            std::cmp::Ordering::Less => pad += 1,
            // The text head grows by a byte at 24 and 256 characters; step over it.
            std::cmp::Ordering::Greater => panic!("no token of exactly {bytes} bytes (at pad {pad})"),
        }
    }
}

fn catalog() -> Vec<Case> {
    let key = &keys()[0];
    let now = NOW_S as i64;
    let good = signed(&with(|_| {}));
    let mut tampered_tag = good.clone();
    *tampered_tag.last_mut().unwrap() ^= 0x01;
    let mut tampered_payload = good.clone();
    let at = tampered_payload.windows(4).position(|w| w == b"acme").unwrap();
    tampered_payload[at] = b'e';
    let mut sign1 = good.clone();
    sign1[2] = 0xd2;
    let mut encrypt0 = good.clone();
    encrypt0[2] = 0xd0;
    let wrong_key = CwtKey::new("cwt-2", b"someone-elses-secret-0123456789abcdef").unwrap();
    let truncated = SignOptions {
        alg: MacAlg::Hmac256_64,
        ..SignOptions::default()
    };
    let mut hs384 = vec![0xd1, 0x84, 0x43, 0xa1, 0x01, 0x06, 0xa0];
    let payload = with(|_| {});
    hs384.push(0x58);
    hs384.push(u8::try_from(payload.len()).unwrap());
    hs384.extend(&payload);
    hs384.extend([0x58, 48]);
    hs384.extend([0u8; 48]);
    let mut cases = vec![
        case("good", &good, None),
        case(
            "good, rotated-out key",
            &sign_payload(&payload, &keys()[1], &SignOptions::default()),
            None,
        ),
        case(
            "good, no CWT tag, no kid",
            &sign_payload(
                &payload,
                key,
                &SignOptions {
                    cwt_tag: false,
                    include_kid: false,
                    ..SignOptions::default()
                },
            ),
            None,
        ),
        case(
            "good, issued through CwtClaims",
            &issue(
                &CwtClaims {
                    iss: Some("https://login.example".into()),
                    aud: Some("wiki".into()),
                    exp: Some(now + 60),
                    nbf: Some(now - 60),
                    cti: Some(vec![1, 2, 3]),
                    tenant: Some("acme".into()),
                    ..CwtClaims::default()
                },
                key,
                &SignOptions::default(),
            ),
            None,
        ),
        case(
            "good, float exp",
            &signed(&with(|m| set(m, 4.into(), Value::Float(NOW_S + 0.5)))),
            None,
        ),
        case(
            "good, exp beyond 2^53",
            &signed(&with(|m| set(m, 4.into(), Value::Integer(u64::MAX.into())))),
            None,
        ),
        case(
            "good, aud array",
            &signed(&with(|m| {
                set(m, 3.into(), Value::Array(vec!["other".into(), "wiki".into()]));
            })),
            None,
        ),
        case("exactly 1 KB", &token_of_size(MAX_TOKEN_BYTES), None),
        case("1 KB and a byte", &token_of_size(MAX_TOKEN_BYTES + 1), Some("oversize")),
        case(
            "oversize",
            &signed(&with(|m| set(m, 2.into(), "x".repeat(1500).into()))),
            Some("oversize"),
        ),
        case(
            "expired",
            &signed(&with(|m| set(m, 4.into(), (now - 61).into()))),
            Some("expired"),
        ),
        case(
            "expired within leeway",
            &signed(&with(|m| set(m, 4.into(), (now - 59).into()))),
            None,
        ),
        case(
            "not yet valid",
            &signed(&with(|m| set(m, 5.into(), (now + 61).into()))),
            Some("not_yet_valid"),
        ),
        case(
            "missing exp",
            &signed(&with(|m| m.retain(|(k, _)| *k != Value::from(4)))),
            Some("missing_exp"),
        ),
        case(
            "exp as text",
            &signed(&with(|m| set(m, 4.into(), "2000000000".into()))),
            Some("bad_time_claim"),
        ),
        case(
            "exp NaN",
            &signed(&with(|m| set(m, 4.into(), Value::Float(f64::NAN)))),
            Some("bad_time_claim"),
        ),
        case(
            "iat as bytes",
            &signed(&with(|m| set(m, 6.into(), Value::Bytes(vec![1])))),
            Some("bad_time_claim"),
        ),
        case(
            "wrong key",
            &sign_payload(&payload, &wrong_key, &SignOptions::default()),
            Some("invalid_token"),
        ),
        case("tampered tag", &tampered_tag, Some("invalid_token")),
        case("tampered payload", &tampered_payload, Some("invalid_token")),
        case(
            "wrong alg: HMAC 256/64 with the right key",
            &sign_payload(&payload, key, &truncated),
            Some("wrong_alg"),
        ),
        case("wrong alg: HMAC 384/384", &hs384, Some("invalid_token")),
        case("not MAC0: COSE_Sign1 tag", &sign1, Some("invalid_token")),
        case("not MAC0: COSE_Encrypt0 tag", &encrypt0, Some("invalid_token")),
        case("not MAC0: untagged", &good[3..], Some("invalid_token")),
        case("not CBOR", b"not a token at all", Some("invalid_token")),
        case(
            "payload not a map",
            &signed(&cbor(&Value::Array(vec![1.into()]))),
            Some("invalid_token"),
        ),
        case(
            "duplicate claim",
            &signed(&with(|m| m.push(("tenant".into(), "acme".into())))),
            Some("invalid_token"),
        ),
        case(
            "integer and text key collide",
            &signed(&with(|m| m.push(("4".into(), (now + 600).into())))),
            Some("invalid_token"),
        ),
        case(
            "wrong tenant",
            &signed(&with(|m| set(m, "tenant".into(), "other".into()))),
            Some("wrong_tenant"),
        ),
        case(
            "tenant under an integer label",
            &signed(&with(|m| {
                m.retain(|(k, _)| *k != Value::from("tenant"));
                m.push((100.into(), "acme".into()));
            })),
            Some("wrong_tenant"),
        ),
        case(
            "wrong issuer",
            &signed(&with(|m| set(m, 1.into(), "https://evil.example".into()))),
            Some("wrong_issuer"),
        ),
        case(
            "missing aud",
            &signed(&with(|m| m.retain(|(k, _)| *k != Value::from(3)))),
            Some("wrong_audience"),
        ),
        case(
            "aud array with a number",
            &signed(&with(|m| set(m, 3.into(), Value::Array(vec!["wiki".into(), 7.into()])))),
            Some("wrong_audience"),
        ),
        case(
            "RFC 8392 A.4 (HMAC 256/64, unknown key)",
            &unhex(RFC8392_A4),
            Some("invalid_token"),
        ),
    ];
    let text = to_text(&good);
    for (name, token, want) in [
        ("padded base64", format!("{text}=="), "bad_base64"),
        (
            "standard alphabet",
            text.replace('-', "+").replace('_', "/") + "+",
            "bad_base64",
        ),
        ("a JWT", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln".to_owned(), "bad_base64"),
        ("oversize text", "A".repeat(1400), "oversize"),
        ("oversize non-ASCII text", "\u{e9}".repeat(700), "oversize"),
    ] {
        cases.push(Case {
            name,
            token: Some(token),
            host: HOST,
            cookie: false,
            want: Some(want),
        });
    }
    for (name, host, want) in [
        ("foreign parent domain", "acme.evil.test", Some("bad_host")),
        ("nested subdomain", "a.acme.wiki.example", Some("bad_host")),
        ("host with port and case", "ACME.wiki.example:443", None),
        ("other tenant's host", "other.wiki.example", Some("wrong_tenant")),
    ] {
        cases.push(Case {
            name,
            token: Some(text.clone()),
            host,
            cookie: false,
            want,
        });
    }
    cases.push(Case {
        name: "cookie",
        token: Some(text),
        host: HOST,
        cookie: true,
        want: None,
    });
    cases.push(Case {
        name: "no token",
        token: None,
        host: HOST,
        cookie: false,
        want: Some("no_token"),
    });
    cases
}

/// The generated function with inline keys or with its keys in the KeyValueStore, loaded
/// in the runner (with the store's entries).
fn function_runner(key_source: KeySource, force_minify: bool) -> EdgeRunner {
    let function = generate_cwt(
        &keys(),
        &policy(),
        &CwtFunctionOptions {
            key_source,
            expose_reason: true,
            force_minify,
        },
    )
    .unwrap();
    assert!(function.size_bytes <= FUNCTION_SIZE_LIMIT_BYTES);
    assert!(function.code.starts_with("import cf from 'cloudfront';"));
    assert_eq!(function.is_async, !function.kvs_entries.is_empty());
    let kvs = function
        .kvs_entries
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    EdgeRunner::load(
        &function.code,
        &RunnerOptions {
            kvs,
            ..RunnerOptions::default()
        },
    )
    .unwrap()
}

fn kvs() -> KeySource {
    KeySource::KeyValueStore {
        prefix: CwtFunctionOptions::default_kvs_prefix(),
    }
}

#[test]
fn rust_validator_and_generated_function_agree_on_the_catalog() {
    for source in [KeySource::Inline, kvs()] {
        agree_on_the_catalog(&source);
    }
}

fn agree_on_the_catalog(source: &KeySource) {
    let validator = CwtValidator::new(keys(), policy());
    let runner = function_runner(source.clone(), false);
    let cases = catalog();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let event = case.event();
        let rust = validator.validate_request(&edge_auth::EdgeRequest::from_cloudfront_event(&event, "token"), NOW_S);
        let js = runner.run(&event, NOW_S * 1000.0).unwrap();
        assert!(js.error.is_none(), "{}: the function threw: {:?}", case.name, js.error);
        let rust_reason = rust.reason().map(edge_auth::cwt::CwtDenyReason::code);
        if rust.is_allow() != js.allowed() || rust_reason != js.deny_reason() {
            failures.push(format!(
                "{} ({source:?}): rust {rust_reason:?}, function {:?}",
                case.name,
                js.deny_reason()
            ));
        }
        if rust_reason != case.want {
            failures.push(format!(
                "{}: wanted {:?}, got {rust_reason:?} ({rust:?})",
                case.name, case.want
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `cf.cwt.validateToken` on a hex token and key inside the runner and returns what
/// the function saw: the decoded object (Buffers as hex) or the error.
fn shim(token_hex: &str, key: &str) -> Json {
    let source = r"import cf from 'cloudfront';
function plain(v) {
    if (Buffer.isBuffer(v)) return {hex: v.toString('hex')};
    if (v !== null && typeof v === 'object') {
        var o = {}, k = Object.keys(v);
        for (var i = 0; i < k.length; i++) o[k[i]] = plain(v[k[i]]);
        return o;
    }
    return v;
}
function handler(event) {
    var h = event.request.headers;
    var key = h.kind.value === 'hex' ? Buffer.from(h.key.value, 'hex') : h.key.value;
    try {
        var o = cf.cwt.validateToken(Buffer.from(h.token.value, 'hex'), {key: key});
        return {statusCode: 200, object: plain(o)};
    } catch (e) {
        return {statusCode: 401, error: String(e.message)};
    }
}
";
    let runner = EdgeRunner::load(source, &RunnerOptions::default()).unwrap();
    let (kind, key) = key.split_once(':').unwrap();
    let event = json!({"request": {"headers": {"token": {"value": token_hex}, "kind": {"value": kind}, "key": {"value": key}}}});
    runner.run(&event, NOW_S * 1000.0).unwrap().output
}

#[test]
fn shim_decodes_the_rfc_examples_as_the_module_documents() {
    let key = format!("hex:{RFC8392_KEY}");
    let a4 = shim(RFC8392_A4, &key);
    assert_eq!(a4["statusCode"], 200, "{a4}");
    // Keys as strings; integers as Numbers; byte strings as Buffers.
    assert_eq!(a4["object"]["protectedHeaders"], json!({"1": 4}));
    assert_eq!(
        a4["object"]["unprotectedHeaders"],
        json!({"4": {"hex": "53796d6d6574726963323536"}})
    );
    assert_eq!(
        a4["object"]["payload"],
        json!({"1": "coap://as.example.com", "2": "erikw", "3": "coap://light.example.com",
            "4": 1_444_064_944, "5": 1_443_944_944, "6": 1_443_944_944, "7": {"hex": "0b71"}})
    );
    let a7 = shim(RFC8392_A7, &key);
    assert_eq!(a7["object"]["payload"], json!({"6": 1_443_944_944.5}), "{a7}");
    // The key as a string is its UTF-8 bytes.
    let text_key = "a-text-key-that-is-long-enough-0123456789";
    let token = sign_payload(
        &cbor(&Value::Map(vec![(4.into(), 1.into())])),
        &CwtKey::new("t", text_key.as_bytes()).unwrap(),
        &SignOptions::default(),
    );
    let hex = token.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    });
    let text = shim(&hex, &format!("text:{text_key}"));
    assert_eq!(text["object"]["payload"], json!({"4": 1}), "{text}");
    // Another key, a flipped bit, HMAC-384 and a payload that is no claims map all throw.
    assert_eq!(shim(RFC8392_A4, &format!("hex:{}", "00".repeat(32)))["statusCode"], 401);
    let flipped = format!("{}01", &RFC8392_A4[..RFC8392_A4.len() - 2]);
    let thrown = shim(&flipped, &key);
    assert_eq!(thrown["statusCode"], 401);
    assert!(thrown["error"].as_str().unwrap().contains("MAC"), "{thrown}");
    let enc_key = format!("hex:{HMAC_ENC_KEY_HEX}");
    let enc_02 = shim(HMAC_ENC_02, &enc_key);
    assert!(
        enc_02["error"].as_str().unwrap().contains("unsupported algorithm"),
        "{enc_02}"
    );
    // HMac-enc-01's MAC verifies (alg 5), but its payload is text, not a claims map.
    let enc_01 = shim(HMAC_ENC_01, &enc_key);
    assert!(enc_01["error"].as_str().unwrap().contains("claims map"), "{enc_01}");
}

/// A small deterministic generator (xorshift64*), so the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// 2,000 generated tokens and requests: claims of every type at every position around the
/// clock and leeway, both keys and a foreign one, both MAC algorithms, tags on and off,
/// tampering, and hosts with ports, case, foreign parents and nesting. Only parity is
/// asserted per case; the spread of outcomes is asserted over the corpus.
#[test]
fn rust_validator_and_generated_function_agree_on_a_generated_corpus() {
    let validator = CwtValidator::new(keys(), policy());
    let runner = function_runner(KeySource::Inline, true);
    let foreign = CwtKey::new("cwt-2", b"someone-elses-secret-0123456789abcdef").unwrap();
    let signers = [
        keys()[0].clone(),
        keys()[0].clone(),
        keys()[0].clone(),
        keys()[1].clone(),
        keys()[1].clone(),
        foreign,
    ];
    let now = NOW_S as i64;
    let times: Vec<Option<Value>> = vec![
        None,
        Some((now - 61).into()),
        Some((now - 60).into()),
        Some((now - 59).into()),
        Some(now.into()),
        Some((now + 59).into()),
        Some((now + 60).into()),
        Some((now + 61).into()),
        Some((now + 600).into()),
        Some(Value::Float(NOW_S - 60.5)),
        Some(Value::Float(NOW_S + 60.5)),
        Some(Value::Float(f64::INFINITY)),
        Some("1700000600".into()),
        Some(Value::Bool(true)),
        Some(Value::Null),
        Some(Value::Integer(u64::MAX.into())),
        Some(Value::Integer((-1_i64).into())),
    ];
    let texts: Vec<Option<Value>> = vec![
        None,
        Some("https://login.example".into()),
        Some("wiki".into()),
        Some("acme".into()),
        Some("other".into()),
        Some("ACME".into()),
        Some(7.into()),
        Some(Value::Bytes(b"acme".to_vec())),
        Some(Value::Array(vec!["wiki".into()])),
        Some(Value::Array(vec!["x".into(), "wiki".into()])),
        Some(Value::Array(vec!["wiki".into(), Value::Null])),
        Some(Value::Array(vec![])),
    ];
    let hosts = [
        "acme.wiki.example",
        "ACME.Wiki.Example:8443",
        "other.wiki.example",
        "acme.wiki.example.",
        "acme.evil.test",
        "a.acme.wiki.example",
        "wiki.example",
        "acme.wiki.example:",
    ];
    let mut rng = Rng(0x0c01_df20_2612_0216);
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let mut mismatches = Vec::new();
    for i in 0..2000 {
        let mut members: Vec<(Value, Value)> = Vec::new();
        for (label, pool) in [(4, &times), (5, &times), (6, &times)] {
            if let Some(v) = rng.pick(pool) {
                members.push((label.into(), v.clone()));
            }
        }
        for (label, pool) in [
            (Value::from(1), &texts),
            (Value::from(3), &texts),
            (Value::from("tenant"), &texts),
        ] {
            if let Some(v) = rng.pick(pool) {
                members.push((label, v.clone()));
            }
        }
        // Most tokens are valid but for at most one claim, so every later check is reached.
        if !rng.next().is_multiple_of(4) {
            members.retain(|(k, _)| *k != Value::from(5) && *k != Value::from(6));
            set(&mut members, 1.into(), "https://login.example".into());
            set(&mut members, 3.into(), "wiki".into());
            set(&mut members, 4.into(), (now + 600).into());
            set(&mut members, "tenant".into(), "acme".into());
            let (label, pool): (Value, &Vec<Option<Value>>) = match rng.next() % 7 {
                0 => (1.into(), &texts),
                1 => (3.into(), &texts),
                2 => ("tenant".into(), &texts),
                3 => (4.into(), &times),
                4 => (5.into(), &times),
                5 => (6.into(), &times),
                _ => (7.into(), &texts),
            };
            match rng.pick(pool) {
                Some(v) => set(&mut members, label, v.clone()),
                None => members.retain(|(k, _)| *k != label),
            }
        }
        let options = SignOptions {
            alg: if rng.next().is_multiple_of(6) {
                MacAlg::Hmac256_64
            } else {
                MacAlg::Hmac256_256
            },
            include_kid: rng.next().is_multiple_of(2),
            cwt_tag: rng.next().is_multiple_of(2),
        };
        let mut token = sign_payload(&cbor(&Value::Map(members)), rng.pick(&signers), &options);
        if rng.next().is_multiple_of(20) {
            let at = usize::try_from(rng.next() % token.len() as u64).unwrap();
            token[at] ^= 1 << (rng.next() % 8);
        }
        let case = Case {
            name: "generated",
            token: Some(to_text(&token)),
            host: hosts[rng.below(hosts.len())],
            cookie: rng.next().is_multiple_of(4),
            want: None,
        };
        let event = case.event();
        let rust = validator.validate_request(&edge_auth::EdgeRequest::from_cloudfront_event(&event, "token"), NOW_S);
        let js = runner.run(&event, NOW_S * 1000.0).unwrap();
        assert!(js.error.is_none(), "case {i}: the function threw: {:?}", js.error);
        let rust_reason = rust.reason().map(edge_auth::cwt::CwtDenyReason::code);
        if rust.is_allow() != js.allowed() || rust_reason != js.deny_reason() {
            mismatches.push(format!(
                "case {i}: rust {rust_reason:?}, function {:?}",
                js.deny_reason()
            ));
        }
        *counts.entry(rust_reason.unwrap_or("allow").to_owned()).or_default() += 1;
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    for outcome in [
        "allow",
        "invalid_token",
        "wrong_alg",
        "expired",
        "not_yet_valid",
        "bad_time_claim",
        "wrong_issuer",
        "wrong_audience",
        "bad_host",
        "wrong_tenant",
    ] {
        assert!(
            counts.get(outcome).copied().unwrap_or(0) >= 10,
            "too few {outcome}: {counts:?}"
        );
    }
}

/// KeyValueStore entries are bound to HS256 and their kid: an entry holding another
/// algorithm's key (an RSA public key is no secret) or written under another kid is never
/// used to verify, and a missing entry is skipped for the next key.
#[test]
fn kvs_entries_bound_to_another_algorithm_or_kid_are_never_used() {
    let function = generate_cwt(
        &keys(),
        &policy(),
        &CwtFunctionOptions {
            key_source: kvs(),
            expose_reason: true,
            force_minify: false,
        },
    )
    .unwrap();
    assert_eq!(function.kvs_entries.len(), 2);
    assert_eq!(function.kvs_entries[0].key, "cwt-hs256-cwt-2");
    assert!(
        !function
            .code
            .contains(&to_text(b"catalog-cwt-current-secret-0123456789"))
    );
    let public_text = "-----BEGIN PUBLIC KEY-----MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA";
    let forged_key = CwtKey::new("cwt-2", public_text.as_bytes()).unwrap();
    let forged = to_text(&sign_payload(&with(|_| {}), &forged_key, &SignOptions::default()));
    let good = to_text(&signed(&with(|_| {})));
    let run = |store: Vec<(String, String)>, token: &str| {
        let runner = EdgeRunner::load(
            &function.code,
            &RunnerOptions {
                kvs: store.into_iter().collect(),
                ..RunnerOptions::default()
            },
        )
        .unwrap();
        let case = Case {
            name: "kvs",
            token: Some(token.to_owned()),
            host: HOST,
            cookie: false,
            want: None,
        };
        let outcome = runner.run(&case.event(), NOW_S * 1000.0).unwrap();
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        outcome.deny_reason().map(str::to_owned)
    };
    let entry = |kid: &str, alg: &str, k: &[u8]| {
        (
            format!("cwt-hs256-{kid}"),
            json!({"alg": alg, "kid": kid, "k": to_text(k)}).to_string(),
        )
    };
    // The RSA public key text under the current kid, bound to RS256: refused.
    let rs_bound = vec![entry("cwt-2", "RS256", public_text.as_bytes())];
    assert_eq!(run(rs_bound, &forged).as_deref(), Some("invalid_token"));
    // The right secret, but written for another kid: refused.
    let mut other_kid = entry("cwt-1", "HS256", b"catalog-cwt-current-secret-0123456789");
    other_kid.0 = "cwt-hs256-cwt-2".into();
    assert_eq!(run(vec![other_kid], &good).as_deref(), Some("invalid_token"));
    // The current key missing: the rotated-out one is still tried; a token of the current
    // key then fails, one of the rotated-out key passes.
    let only_old = vec![entry("cwt-1", "HS256", b"catalog-cwt-retiring-secret-012345678")];
    assert_eq!(run(only_old.clone(), &good).as_deref(), Some("invalid_token"));
    let old = to_text(&sign_payload(&with(|_| {}), &keys()[1], &SignOptions::default()));
    assert_eq!(run(only_old, &old), None);
    // The generated entries as they are: allowed.
    let store: Vec<(String, String)> = function
        .kvs_entries
        .iter()
        .map(|e| (e.key.clone(), e.value.clone()))
        .collect();
    assert_eq!(run(store, &good), None);
}
