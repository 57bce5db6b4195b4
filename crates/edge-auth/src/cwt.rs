//! CBOR Web Tokens (RFC 8392) as `COSE_Mac0` (RFC 9052) with HMAC-SHA256: issued here,
//! validated here with the JWT validator's policy, and validated at the edge by CloudFront's
//! native `cf.cwt.validateToken` (docs/sources.md, "CWT").
//!
//! The key design decision: **[`validate_token`] is `cf.cwt.validateToken`**. It does what
//! AWS documents that call to do — token size (1 KB), tags (COSE_Mac0 tag 17, optionally
//! inside CWT tag 61), structure, algorithm (HMAC-SHA256) and MAC, and no claim checks — and
//! returns what it returns: the three maps with every key as a string. The local runner's
//! `cf.cwt` shim calls this same function, and [`CwtValidator`] calls it before checking the
//! claims exactly as the generated function does in JavaScript, so the Rust validator and
//! the function cannot disagree about the COSE layer, and the parity test holds them to the
//! same claim checks. A failure inside `validateToken` is one reason, `invalid_token`, because
//! the function only sees that the call threw; [`CwtDecision::Deny`] keeps the precise cause
//! beside it for people.
//!
//! Claims use the RFC 8392 integer labels (`iss` 1, `sub` 2, `aud` 3, `exp` 4, `nbf` 5,
//! `iat` 6, `cti` 7); the tenant is the text-string key [`TENANT_CLAIM`] (`"tenant"`), which
//! no registered claim uses and which reads the same in CBOR diagnostic notation and in the
//! decoded object (`payload.tenant`).
//!
//! ```
//! use edge_auth::cwt::{CwtClaims, CwtKey, CwtValidator, SignOptions, issue};
//! use edge_auth::Policy;
//!
//! let key = CwtKey::new("k1", b"a-cwt-secret-of-at-least-32-bytes!!")?;
//! let claims = CwtClaims { sub: Some("ann".into()), exp: Some(2_000_000_000), tenant: Some("acme".into()), ..CwtClaims::default() };
//! let token = issue(&claims, &key, &SignOptions::default());
//! assert!(token.len() < 100);
//!
//! let policy = Policy { wiki_domain: Some("wiki.example".into()), ..Policy::default() };
//! let validator = CwtValidator::new(vec![key], policy);
//! let text = edge_auth::cwt::to_text(&token);
//! assert!(validator.validate(&text, Some("acme.wiki.example"), 1_700_000_000.0).is_allow());
//! assert_eq!(validator.validate(&text, Some("other.wiki.example"), 1_700_000_000.0).reason().map(|r| r.code()), Some("wrong_tenant"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use aws_lc_rs::{constant_time, hmac};
use ciborium::value::Value;
use serde::Serialize;

use crate::validate::tenant_from_host;
use crate::{EdgeRequest, Error, KeySet, Policy, b64};

/// The largest token `cf.cwt.validateToken` accepts, in bytes of CBOR (docs/sources.md, "CWT").
pub const MAX_TOKEN_BYTES: usize = 1024;
/// The longest unpadded base64url text of a token within [`MAX_TOKEN_BYTES`].
pub const MAX_TOKEN_TEXT_BYTES: usize = (MAX_TOKEN_BYTES * 4).div_ceil(3);
/// The CWT CBOR tag (RFC 8392 §6); optional.
pub const TAG_CWT: u64 = 61;
/// The `COSE_Mac0` CBOR tag (RFC 9052 §2); required by `cf.cwt`.
pub const TAG_COSE_MAC0: u64 = 17;
/// The claim key that names the tenant (wiki): a text string, since RFC 8392 registers
/// integer labels only for its own claims.
pub const TENANT_CLAIM: &str = "tenant";

/// RFC 8392 claim labels.
pub mod label {
    /// Issuer.
    pub const ISS: i64 = 1;
    /// Subject.
    pub const SUB: i64 = 2;
    /// Audience.
    pub const AUD: i64 = 3;
    /// Expiration time.
    pub const EXP: i64 = 4;
    /// Not before.
    pub const NBF: i64 = 5;
    /// Issued at.
    pub const IAT: i64 = 6;
    /// CWT ID.
    pub const CTI: i64 = 7;
}

/// COSE header labels used here (RFC 9052 §3.1).
const HEADER_ALG: &str = "1";
const HEADER_CRIT: &str = "2";
const HEADER_KID: i64 = 4;
/// Nesting deeper than this is refused (a token is at most 1 KB; claims are shallow).
const MAX_DEPTH: usize = 16;

/// The MAC algorithms `validateToken` verifies: HMAC with SHA-256, whole or truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MacAlg {
    /// COSE 4, HMAC 256/64: the tag is the first 8 bytes (RFC 9053 §3.1). RFC 8392's MACed
    /// example and AWS's own example use it; the generated function refuses it.
    Hmac256_64,
    /// COSE 5, HMAC 256/256 ("HS256"): the algorithm AWS documents and the one issued here.
    Hmac256_256,
}

impl MacAlg {
    /// The COSE algorithm value.
    pub fn cose_value(self) -> i64 {
        match self {
            MacAlg::Hmac256_64 => 4,
            MacAlg::Hmac256_256 => 5,
        }
    }

    fn tag_bytes(self) -> usize {
        match self {
            MacAlg::Hmac256_64 => 8,
            MacAlg::Hmac256_256 => 32,
        }
    }

    fn from_cose(value: i128) -> Option<Self> {
        match value {
            4 => Some(MacAlg::Hmac256_64),
            5 => Some(MacAlg::Hmac256_256),
            _ => None,
        }
    }
}

/// Why `validateToken` threw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoseError {
    /// Over [`MAX_TOKEN_BYTES`].
    #[error("the token is {0} bytes; cf.cwt accepts at most {MAX_TOKEN_BYTES}")]
    TooLarge(usize),
    /// Not exactly one well-formed CBOR item.
    #[error("the token is not one CBOR item: {0}")]
    NotCbor(String),
    /// Not tagged `COSE_Mac0` (17), optionally inside the CWT tag (61).
    #[error("the token is not a COSE_Mac0 (tag 17, optionally inside CWT tag 61): {0}")]
    NotMac0(String),
    /// Tagged right, but not `[protected bstr, unprotected map, payload bstr, tag bstr]`.
    #[error("malformed COSE_Mac0: {0}")]
    Malformed(String),
    /// The protected `alg` is missing or not HMAC-SHA256.
    #[error("unsupported algorithm {0}: cf.cwt verifies HMAC-SHA256 only (COSE alg 5, or 4 truncated)")]
    UnsupportedAlg(String),
    /// The tag does not verify with the key.
    #[error("the MAC does not verify with this key")]
    BadMac,
    /// The MAC verified, but the payload is not a claims map.
    #[error("the payload is not a CWT claims map: {0}")]
    BadPayload(String),
}

/// A decoded CBOR item as `cf.cwt` hands it to JavaScript: map keys are strings (integer
/// labels in decimal), byte strings become Buffers.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An integer (a JavaScript Number on the edge).
    Int(i128),
    /// A float (half, single or double in CBOR).
    Float(f64),
    /// A text string.
    Text(String),
    /// A byte string (a Buffer on the edge).
    Bytes(Vec<u8>),
    /// `true` or `false`.
    Bool(bool),
    /// `null` (or `undefined`).
    Null,
    /// An array.
    Array(Vec<Item>),
    /// A map, in the token's order, keys as strings.
    Map(Vec<(String, Item)>),
}

impl Item {
    /// The item as a JavaScript Number would see it, if it is a finite number.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            // Integers become Numbers on the edge; the same rounding happens here.
            #[allow(clippy::cast_precision_loss)]
            Item::Int(i) => Some(*i as f64),
            Item::Float(f) if f.is_finite() => Some(*f),
            _ => None,
        }
    }

    /// The item as JSON: integers as numbers, byte strings as CBOR diagnostic `h'…'` text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Item::Int(i) => i64::try_from(*i).map_or_else(|_| J::from(i.to_string()), J::from),
            Item::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Item::Text(t) => J::from(t.as_str()),
            Item::Bytes(b) => J::from(format!("h'{}'", hex(b))),
            Item::Bool(b) => J::from(*b),
            Item::Null => J::Null,
            Item::Array(items) => J::Array(items.iter().map(Item::to_json).collect()),
            Item::Map(members) => J::Object(members.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

/// A map's member by key.
pub fn member<'a>(map: &'a [(String, Item)], key: &str) -> Option<&'a Item> {
    map.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// What `validateToken` returns: the `CWTObject`.
#[derive(Debug, Clone, PartialEq)]
pub struct CwtObject {
    /// The MAC algorithm of the protected header.
    pub alg: MacAlg,
    /// The protected header.
    pub protected_headers: Vec<(String, Item)>,
    /// The unprotected header.
    pub unprotected_headers: Vec<(String, Item)>,
    /// The claims.
    pub payload: Vec<(String, Item)>,
}

/// `cf.cwt.validateToken(token, {key})`: decodes the token, checks its tags, structure and
/// algorithm, verifies the MAC with `key`, and returns the headers and claims. No claim is
/// checked. Strict where the COSE specification is: duplicate map keys (also `1` beside
/// `"1"`, which would collide as JavaScript property names), a label in both headers, `crit`,
/// a detached payload and tags inside the claims are refused.
pub fn validate_token(token: &[u8], key: &[u8]) -> Result<CwtObject, CoseError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(CoseError::TooLarge(token.len()));
    }
    let value = decode_one(token).map_err(CoseError::NotCbor)?;
    let value = match value {
        Value::Tag(TAG_CWT, inner) => *inner,
        other => other,
    };
    let Value::Tag(TAG_COSE_MAC0, inner) = value else {
        return Err(CoseError::NotMac0(match value {
            Value::Tag(tag, _) => format!("tag {tag}"),
            _ => "untagged".to_owned(),
        }));
    };
    let Value::Array(parts) = *inner else {
        return Err(CoseError::Malformed("not an array".into()));
    };
    let [protected, unprotected, payload, tag]: [Value; 4] = parts
        .try_into()
        .map_err(|parts: Vec<Value>| CoseError::Malformed(format!("{} elements, not 4", parts.len())))?;
    let Value::Bytes(protected) = protected else {
        return Err(CoseError::Malformed("the protected header is not a byte string".into()));
    };
    let protected_headers = if protected.is_empty() {
        Vec::new()
    } else {
        match decode_one(&protected).map_err(CoseError::Malformed)? {
            map @ Value::Map(_) => into_map(map, 0).map_err(CoseError::Malformed)?,
            _ => return Err(CoseError::Malformed("the protected header is not a map".into())),
        }
    };
    let unprotected_headers = match unprotected {
        map @ Value::Map(_) => into_map(map, 0).map_err(CoseError::Malformed)?,
        _ => return Err(CoseError::Malformed("the unprotected header is not a map".into())),
    };
    if let Some((name, _)) = protected_headers
        .iter()
        .find(|(name, _)| member(&unprotected_headers, name).is_some())
    {
        return Err(CoseError::Malformed(format!(
            "header {name} is both protected and unprotected"
        )));
    }
    if member(&protected_headers, HEADER_CRIT).is_some() {
        return Err(CoseError::Malformed(
            "crit names header parameters this validator does not understand".into(),
        ));
    }
    let Value::Bytes(payload) = payload else {
        return Err(CoseError::Malformed(
            "the payload is not a byte string (detached payloads are not supported)".into(),
        ));
    };
    let Value::Bytes(tag) = tag else {
        return Err(CoseError::Malformed("the tag is not a byte string".into()));
    };
    let alg = match member(&protected_headers, HEADER_ALG) {
        None => {
            return Err(CoseError::UnsupportedAlg(
                "none (the protected header has no alg)".into(),
            ));
        }
        Some(Item::Int(value)) => {
            MacAlg::from_cose(*value).ok_or_else(|| CoseError::UnsupportedAlg(value.to_string()))?
        }
        Some(other) => return Err(CoseError::UnsupportedAlg(format!("{other:?}"))),
    };
    let expected = mac(alg, key, &protected, &payload);
    if tag.len() != alg.tag_bytes() || constant_time::verify_slices_are_equal(&expected, &tag).is_err() {
        return Err(CoseError::BadMac);
    }
    let payload = match decode_one(&payload).map_err(CoseError::BadPayload)? {
        map @ Value::Map(_) => into_map(map, 0).map_err(CoseError::BadPayload)?,
        _ => return Err(CoseError::BadPayload("not a map".into())),
    };
    Ok(CwtObject {
        alg,
        protected_headers,
        unprotected_headers,
        payload,
    })
}

/// Exactly one CBOR item, nothing after it.
fn decode_one(bytes: &[u8]) -> Result<Value, String> {
    let mut rest = bytes;
    let value: Value =
        ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH).map_err(|e| e.to_string())?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(format!("{} bytes after the item", rest.len()))
    }
}

fn into_map(value: Value, depth: usize) -> Result<Vec<(String, Item)>, String> {
    match into_item(value, depth)? {
        Item::Map(members) => Ok(members),
        _ => Err("not a map".into()),
    }
}

fn into_item(value: Value, depth: usize) -> Result<Item, String> {
    if depth > MAX_DEPTH {
        return Err("nested too deeply".into());
    }
    Ok(match value {
        Value::Integer(i) => Item::Int(i128::from(i)),
        Value::Float(f) => Item::Float(f),
        Value::Text(t) => Item::Text(t),
        Value::Bytes(b) => Item::Bytes(b),
        Value::Bool(b) => Item::Bool(b),
        Value::Null => Item::Null,
        Value::Array(items) => Item::Array(
            items
                .into_iter()
                .map(|v| into_item(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(members) => {
            let mut out: Vec<(String, Item)> = Vec::with_capacity(members.len());
            for (k, v) in members {
                let key = match k {
                    Value::Integer(i) => i128::from(i).to_string(),
                    Value::Text(t) => t,
                    other => return Err(format!("a map key of type {}", kind(&other))),
                };
                if out.iter().any(|(existing, _)| *existing == key) {
                    return Err(format!("the map key {key:?} appears twice"));
                }
                out.push((key, into_item(v, depth + 1)?));
            }
            Item::Map(out)
        }
        Value::Tag(tag, _) => return Err(format!("a tagged item (tag {tag})")),
        other => return Err(format!("an item of type {}", kind(&other))),
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Integer(_) => "integer",
        Value::Bytes(_) => "bytes",
        Value::Float(_) => "float",
        Value::Text(_) => "text",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        Value::Tag(..) => "tag",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        _ => "unknown",
    }
}

/// `MAC_structure = ["MAC0", protected, external_aad, payload]` (RFC 9052 §6.3), encoded,
/// with an empty `external_aad`.
pub fn mac_structure(protected: &[u8], external_aad: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + protected.len() + external_aad.len() + payload.len());
    out.push(0x84);
    text(&mut out, "MAC0");
    bytes(&mut out, protected);
    bytes(&mut out, external_aad);
    bytes(&mut out, payload);
    out
}

fn mac(alg: MacAlg, key: &[u8], protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let full = hmac::sign(&key, &mac_structure(protected, &[], payload));
    full.as_ref()[..alg.tag_bytes()].to_vec()
}

// A minimal deterministic CBOR encoder for what is issued here (RFC 8949 §4.2.1: shortest
// heads, definite lengths).
fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    // Each arm's range makes its cast exact.
    #[allow(clippy::cast_possible_truncation)]
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 0x18, n as u8]),
        0x100..=0xffff => {
            out.push(m | 0x19);
            out.extend((n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 0x1a);
            out.extend((n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 0x1b);
            out.extend(n.to_be_bytes());
        }
    }
}

fn int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        head(out, 0, n.unsigned_abs());
    } else {
        head(out, 1, (-1 - n).unsigned_abs());
    }
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend(s.as_bytes());
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend(b);
}

/// The claims an issued token carries. Absent claims are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CwtClaims {
    /// `iss` (1).
    pub iss: Option<String>,
    /// `sub` (2).
    pub sub: Option<String>,
    /// `aud` (3), one audience.
    pub aud: Option<String>,
    /// `exp` (4), Unix seconds.
    pub exp: Option<i64>,
    /// `nbf` (5), Unix seconds.
    pub nbf: Option<i64>,
    /// `iat` (6), Unix seconds.
    pub iat: Option<i64>,
    /// `cti` (7), the token's id.
    pub cti: Option<Vec<u8>>,
    /// The tenant, under the text key [`TENANT_CLAIM`].
    pub tenant: Option<String>,
}

impl CwtClaims {
    /// The claims as a CBOR map, in label order and then the tenant.
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut members: Vec<Vec<u8>> = Vec::new();
        let mut push = |key: &dyn Fn(&mut Vec<u8>), value: &dyn Fn(&mut Vec<u8>)| {
            let mut m = Vec::new();
            key(&mut m);
            value(&mut m);
            members.push(m);
        };
        let texts = [
            (label::ISS, &self.iss),
            (label::SUB, &self.sub),
            (label::AUD, &self.aud),
        ];
        for (l, v) in texts {
            if let Some(v) = v {
                push(&|o| int(o, l), &|o| text(o, v));
            }
        }
        for (l, v) in [(label::EXP, self.exp), (label::NBF, self.nbf), (label::IAT, self.iat)] {
            if let Some(v) = v {
                push(&|o| int(o, l), &|o| int(o, v));
            }
        }
        if let Some(cti) = &self.cti {
            push(&|o| int(o, label::CTI), &|o| bytes(o, cti));
        }
        if let Some(tenant) = &self.tenant {
            push(&|o| text(o, TENANT_CLAIM), &|o| text(o, tenant));
        }
        let mut out = Vec::new();
        head(&mut out, 5, members.len() as u64);
        for m in members {
            out.extend(m);
        }
        out
    }
}

/// How to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOptions {
    /// The MAC algorithm (the edge function accepts only [`MacAlg::Hmac256_256`]).
    pub alg: MacAlg,
    /// Put the key's kid in the unprotected header (label 4, as bytes).
    pub include_kid: bool,
    /// Wrap in the CWT tag (61); `cf.cwt` accepts either.
    pub cwt_tag: bool,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self {
            alg: MacAlg::Hmac256_256,
            include_kid: true,
            cwt_tag: true,
        }
    }
}

/// A `COSE_Mac0` over any payload bytes, with `{1: alg}` protected and the kid (if asked
/// for) unprotected.
pub fn sign_payload(payload: &[u8], key: &CwtKey, options: &SignOptions) -> Vec<u8> {
    let mut protected = vec![0xa1];
    int(&mut protected, 1);
    int(&mut protected, options.alg.cose_value());
    let tag = mac(options.alg, &key.secret, &protected, payload);
    let mut out = Vec::with_capacity(payload.len() + 64);
    if options.cwt_tag {
        head(&mut out, 6, TAG_CWT);
    }
    head(&mut out, 6, TAG_COSE_MAC0);
    out.push(0x84);
    bytes(&mut out, &protected);
    if options.include_kid {
        out.push(0xa1);
        int(&mut out, HEADER_KID);
        bytes(&mut out, key.kid.as_bytes());
    } else {
        out.push(0xa0);
    }
    bytes(&mut out, payload);
    bytes(&mut out, &tag);
    out
}

/// Issues a CWT with these claims.
pub fn issue(claims: &CwtClaims, key: &CwtKey, options: &SignOptions) -> Vec<u8> {
    sign_payload(&claims.to_cbor(), key, options)
}

/// A token as it travels in a header or cookie: unpadded base64url.
pub fn to_text(token: &[u8]) -> String {
    b64::encode(token)
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter().fold(String::with_capacity(2 * b.len()), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// An HMAC-SHA256 key with its id.
#[derive(Clone)]
pub struct CwtKey {
    kid: String,
    secret: Vec<u8>,
}

impl fmt::Debug for CwtKey {
    // Secrets are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CwtKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl CwtKey {
    /// A key; refuses secrets shorter than SHA-256's output (RFC 9053 §3.1 keys for HMAC
    /// 256/256 are 256 bits).
    pub fn new(kid: impl Into<String>, secret: &[u8]) -> Result<Self, Error> {
        let kid = kid.into();
        if secret.len() < 32 {
            return Err(Error::Key {
                kid,
                message: format!(
                    "an HMAC-SHA256 CWT key is {} bytes; at least 32 are needed (generate one with `openssl rand -base64 32`)",
                    secret.len()
                ),
            });
        }
        Ok(Self {
            kid,
            secret: secret.to_vec(),
        })
    }

    /// The HS256 keys of a key set (HMAC 256/256 is the MAC HS256 computes): a key set file
    /// serves JWTs and CWTs alike.
    pub fn from_key_set(keys: &KeySet) -> Result<Vec<Self>, Error> {
        let keys = keys.only(crate::Algorithm::HS256);
        keys.iter()
            .filter_map(|k| match k.material() {
                crate::keys::Material::Secret(secret) => Some(Self::new(k.kid(), secret)),
                _ => None,
            })
            .collect()
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }
}

/// Why a CWT was denied; `code()` is the stable form, shared with the JWT reasons where
/// the check is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CwtDenyReason {
    /// No `Authorization: Bearer` header and no token cookie.
    NoToken,
    /// Longer than the 1 KB `cf.cwt` accepts.
    Oversize,
    /// Not canonical unpadded base64url.
    BadBase64,
    /// `validateToken` threw: not a `COSE_Mac0`, malformed, another algorithm, a MAC that
    /// no key verifies, or a payload that is not a claims map.
    InvalidToken,
    /// The MAC verified, but with HMAC 256/64 rather than the pinned HMAC 256/256.
    WrongAlg,
    /// `exp` is absent.
    MissingExp,
    /// `exp`, `nbf` or `iat` is not a finite number.
    BadTimeClaim,
    /// Now is at or after `exp` + leeway.
    Expired,
    /// Now is before `nbf` − leeway.
    NotYetValid,
    /// `iss` is not the expected issuer.
    WrongIssuer,
    /// `aud` does not name the expected audience (or is present when none is expected).
    WrongAudience,
    /// The `Host` header is missing or not a subdomain of the wiki domain.
    BadHost,
    /// The tenant claim is missing or names another wiki.
    WrongTenant,
}

impl CwtDenyReason {
    /// The reason as a stable `snake_case` code.
    pub fn code(self) -> &'static str {
        match self {
            CwtDenyReason::NoToken => "no_token",
            CwtDenyReason::Oversize => "oversize",
            CwtDenyReason::BadBase64 => "bad_base64",
            CwtDenyReason::InvalidToken => "invalid_token",
            CwtDenyReason::WrongAlg => "wrong_alg",
            CwtDenyReason::MissingExp => "missing_exp",
            CwtDenyReason::BadTimeClaim => "bad_time_claim",
            CwtDenyReason::Expired => "expired",
            CwtDenyReason::NotYetValid => "not_yet_valid",
            CwtDenyReason::WrongIssuer => "wrong_issuer",
            CwtDenyReason::WrongAudience => "wrong_audience",
            CwtDenyReason::BadHost => "bad_host",
            CwtDenyReason::WrongTenant => "wrong_tenant",
        }
    }
}

impl fmt::Display for CwtDenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The outcome of validating one CWT.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum CwtDecision {
    /// The token is valid for this wiki.
    Allow {
        /// The key whose MAC verified.
        kid: String,
        /// The claims, keys as `cf.cwt` gives them (`"4"` for `exp`, `"tenant"`).
        claims: serde_json::Map<String, serde_json::Value>,
    },
    /// The request is refused.
    Deny {
        /// Why.
        reason: CwtDenyReason,
        /// The precise cause when `validateToken` threw (the edge function sees only that
        /// it threw).
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

impl CwtDecision {
    /// Whether this is an allow.
    pub fn is_allow(&self) -> bool {
        matches!(self, CwtDecision::Allow { .. })
    }

    /// The deny reason, if denied.
    pub fn reason(&self) -> Option<CwtDenyReason> {
        match self {
            CwtDecision::Allow { .. } => None,
            CwtDecision::Deny { reason, .. } => Some(*reason),
        }
    }

    fn deny(reason: CwtDenyReason) -> Self {
        CwtDecision::Deny { reason, detail: None }
    }
}

/// HMAC keys and a policy: validates CWTs as the generated function does.
#[derive(Debug, Clone)]
pub struct CwtValidator {
    keys: Vec<CwtKey>,
    policy: Policy,
}

impl CwtValidator {
    /// A validator trying `keys` in order (current first, then the ones being rotated out).
    pub fn new(keys: Vec<CwtKey>, policy: Policy) -> Self {
        Self { keys, policy }
    }

    /// The keys.
    pub fn keys(&self) -> &[CwtKey] {
        &self.keys
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Validates a request at `now_s` (Unix seconds): a `Bearer` authorization wins over the
    /// cookie, as for JWTs.
    pub fn validate_request(&self, request: &EdgeRequest<'_>, now_s: f64) -> CwtDecision {
        match request.token() {
            None => CwtDecision::deny(CwtDenyReason::NoToken),
            Some(token) => self.validate(token, request.host, now_s),
        }
    }

    /// Validates a base64url token for the wiki named by `host` at `now_s` (Unix seconds).
    pub fn validate(&self, token: &str, host: Option<&str>, now_s: f64) -> CwtDecision {
        if token.len() > MAX_TOKEN_TEXT_BYTES {
            return CwtDecision::deny(CwtDenyReason::Oversize);
        }
        let Some(bytes) = b64::decode(token) else {
            return CwtDecision::deny(CwtDenyReason::BadBase64);
        };
        let mut first_error = None;
        let mut verified = None;
        for key in &self.keys {
            match validate_token(&bytes, &key.secret) {
                Ok(object) => {
                    verified = Some((key, object));
                    break;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let Some((key, object)) = verified else {
            return CwtDecision::Deny {
                reason: CwtDenyReason::InvalidToken,
                detail: Some(first_error.map_or_else(|| "no key to verify with".to_owned(), |e| e.to_string())),
            };
        };
        if object.alg != MacAlg::Hmac256_256 {
            return CwtDecision::deny(CwtDenyReason::WrongAlg);
        }
        match self.check_claims(&object.payload, host, now_s) {
            Err(reason) => CwtDecision::deny(reason),
            Ok(()) => CwtDecision::Allow {
                kid: key.kid.clone(),
                claims: object.payload.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            },
        }
    }

    /// The claim checks of `validate.rs`, in its order, on `cf.cwt`'s string keys.
    fn check_claims(&self, claims: &[(String, Item)], host: Option<&str>, now_s: f64) -> Result<(), CwtDenyReason> {
        #[allow(clippy::cast_precision_loss)]
        let leeway_s = self.policy.leeway_s as f64;
        let time = |l: i64| match member(claims, &l.to_string()) {
            None => Ok(None),
            Some(item) => item.as_number().map(Some).ok_or(CwtDenyReason::BadTimeClaim),
        };
        let exp = time(label::EXP)?.ok_or(CwtDenyReason::MissingExp)?;
        let nbf = time(label::NBF)?;
        time(label::IAT)?;
        if now_s >= exp + leeway_s {
            return Err(CwtDenyReason::Expired);
        }
        if nbf.is_some_and(|nbf| now_s + leeway_s < nbf) {
            return Err(CwtDenyReason::NotYetValid);
        }
        if let Some(issuer) = &self.policy.issuer
            && !matches!(member(claims, &label::ISS.to_string()), Some(Item::Text(iss)) if iss == issuer)
        {
            return Err(CwtDenyReason::WrongIssuer);
        }
        let audience_ok = match (&self.policy.audience, member(claims, &label::AUD.to_string())) {
            (None, None) => true,
            (Some(want), Some(Item::Text(aud))) => aud == want,
            (Some(want), Some(Item::Array(auds))) => {
                auds.iter().all(|a| matches!(a, Item::Text(_)))
                    && auds.iter().any(|a| matches!(a, Item::Text(t) if t == want))
            }
            _ => false,
        };
        if !audience_ok {
            return Err(CwtDenyReason::WrongAudience);
        }
        if let Some(claim) = &self.policy.tenant_claim {
            let tenant = tenant_from_host(host, self.policy.wiki_domain.as_deref()).ok_or(CwtDenyReason::BadHost)?;
            if !matches!(member(claims, claim), Some(Item::Text(t)) if *t == tenant) {
                return Err(CwtDenyReason::WrongTenant);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 8392 Appendix A.2.2: the 256-bit symmetric key, kid "Symmetric256".
    const RFC8392_KEY: &str = "403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388";
    /// RFC 8392 Appendix A.4: the MACed CWT (HMAC 256/64, CWT tag).
    const RFC8392_A4: &str = "d83dd18443a10104a1044c53796d6d65747269633235365850a70175636f6170\
        3a2f2f61732e6578616d706c652e636f6d02656572696b77037818636f61703a\
        2f2f6c696768742e6578616d706c652e636f6d041a5612aeb0051a5610d9f006\
        1a5610d9f007420b7148093101ef6d789200";
    /// RFC 8392 Appendix A.7: MACed, no CWT tag, floating-point `iat`.
    const RFC8392_A7: &str = "d18443a10104a1044c53796d6d65747269633235364ba106fb41d584367c2000\
        0048b8816f34c0542892";

    fn rfc_key() -> CwtKey {
        CwtKey::new("Symmetric256", &unhex(RFC8392_KEY)).unwrap()
    }

    fn rfc_claims() -> CwtClaims {
        CwtClaims {
            iss: Some("coap://as.example.com".into()),
            sub: Some("erikw".into()),
            aud: Some("coap://light.example.com".into()),
            exp: Some(1_444_064_944),
            nbf: Some(1_443_944_944),
            iat: Some(1_443_944_944),
            cti: Some(vec![0x0b, 0x71]),
            tenant: None,
        }
    }

    #[test]
    fn issues_rfc8392_a4_byte_for_byte() {
        let options = SignOptions {
            alg: MacAlg::Hmac256_64,
            include_kid: true,
            cwt_tag: true,
        };
        assert_eq!(
            hex(&issue(&rfc_claims(), &rfc_key(), &options)),
            hex(&unhex(RFC8392_A4))
        );
    }

    #[test]
    fn validates_rfc8392_a4_and_a7() {
        let object = validate_token(&unhex(RFC8392_A4), &unhex(RFC8392_KEY)).unwrap();
        assert_eq!(object.alg, MacAlg::Hmac256_64);
        assert_eq!(object.protected_headers, vec![("1".to_owned(), Item::Int(4))]);
        assert_eq!(
            object.unprotected_headers,
            vec![("4".to_owned(), Item::Bytes(b"Symmetric256".to_vec()))]
        );
        assert_eq!(member(&object.payload, "2"), Some(&Item::Text("erikw".into())));
        assert_eq!(member(&object.payload, "4"), Some(&Item::Int(1_444_064_944)));
        assert_eq!(member(&object.payload, "7"), Some(&Item::Bytes(vec![0x0b, 0x71])));
        let a7 = validate_token(&unhex(RFC8392_A7), &unhex(RFC8392_KEY)).unwrap();
        assert_eq!(a7.payload, vec![("6".to_owned(), Item::Float(1_443_944_944.5))]);
        // One flipped bit anywhere in the tag, or another key, fails the MAC.
        let mut tampered = unhex(RFC8392_A4);
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(validate_token(&tampered, &unhex(RFC8392_KEY)), Err(CoseError::BadMac));
        assert_eq!(validate_token(&unhex(RFC8392_A4), &[7; 32]), Err(CoseError::BadMac));
    }

    #[test]
    fn cose_wg_hmac_enc_01_mac_structure_and_tag() {
        // cose-wg/Examples hmac-examples/HMac-enc-01.json: COSE_Mac0, HMAC 256/256.
        let key = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg",
        )
        .unwrap();
        assert_eq!(
            hex(&mac_structure(&[0xa1, 0x01, 0x05], &[], b"This is the content.")),
            "84644d41433043a101054054546869732069732074686520636f6e74656e742e"
        );
        let token = unhex(
            "D18443A10105A054546869732069732074686520636F6E74656E742E5820A1A848D3471F9D61EE49018D244C824772F223AD4F935293F1789FC3A08D8C58",
        );
        // The MAC verifies; the payload is text, not claims, so validateToken refuses it
        // after the MAC, not before.
        assert!(matches!(validate_token(&token, &key), Err(CoseError::BadPayload(_))));
        let key = CwtKey::new("our-secret", &key).unwrap();
        let ours = sign_payload(
            b"This is the content.",
            &key,
            &SignOptions {
                alg: MacAlg::Hmac256_256,
                include_kid: false,
                cwt_tag: false,
            },
        );
        assert_eq!(hex(&ours), hex(&token));
    }

    #[test]
    fn refuses_what_validate_token_refuses() {
        let key = rfc_key();
        let secret = key.secret.clone();
        let good = issue(&rfc_claims(), &key, &SignOptions::default());
        assert!(validate_token(&good, &secret).is_ok());
        // Trailing bytes, no COSE tag, another tag.
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(validate_token(&trailing, &secret), Err(CoseError::NotCbor(_))));
        assert!(matches!(
            validate_token(&good[3..], &secret),
            Err(CoseError::NotMac0(_))
        ));
        let mut sign1 = good.clone();
        sign1[2] = 0xd2;
        assert!(matches!(validate_token(&sign1, &secret), Err(CoseError::NotMac0(_))));
        // Over 1 KB, however well-formed.
        let big = issue(
            &CwtClaims {
                sub: Some("x".repeat(1100)),
                ..rfc_claims()
            },
            &key,
            &SignOptions::default(),
        );
        assert!(matches!(validate_token(&big, &secret), Err(CoseError::TooLarge(_))));
        // HMAC-SHA384 (COSE 6) is not verified.
        let mut out = vec![0xd1, 0x84, 0x43, 0xa1, 0x01, 0x06, 0xa0, 0x41, 0xa0, 0x58, 48];
        out.extend([0; 48]);
        assert!(matches!(
            validate_token(&out, &secret),
            Err(CoseError::UnsupportedAlg(_))
        ));
    }

    #[test]
    fn integer_and_text_keys_that_collide_are_refused() {
        // {1: "a", "1": "b"} would be one JavaScript property.
        let payload = [0xa2, 0x01, 0x61, b'a', 0x61, b'1', 0x61, b'b'];
        let token = sign_payload(&payload, &rfc_key(), &SignOptions::default());
        assert!(matches!(
            validate_token(&token, &rfc_key().secret),
            Err(CoseError::BadPayload(m)) if m.contains("twice")
        ));
    }
}
