//! The CloudFront Function generator: a `cloudfront-js-2.0` viewer-request function that
//! performs the validator's checks at the edge.
//!
//! The function is assembled from the JavaScript templates in `templates/`, which mirror
//! `validate.rs` check for check, plus a `C` object holding the policy and (inlined) keys.
//! CloudFront's `crypto` module offers HMAC and hashes but no signature verification
//! (docs/sources.md, "CloudFront Functions crypto"), so RS256 is verified in pure
//! JavaScript, on BigInt or, for runtimes without BigInt, on 16-bit limbs in Numbers with
//! Montgomery multiplication. CloudFront refuses functions over 10 KB; the generator
//! minifies when needed and refuses to emit a function that still does not fit.

use serde::Serialize;
use serde_json::{Value, json};

use crate::keys::Material;
use crate::{Algorithm, Error, KeySet, Policy, b64};

mod cwt;
pub use cwt::{CwtFunctionOptions, generate_cwt};

/// CloudFront's limit on a function's source size (10 KB; docs/sources.md, "CloudFront Functions limits").
pub const FUNCTION_SIZE_LIMIT_BYTES: usize = 10 * 1024;

const HELPERS: &str = include_str!("templates/helpers.js");
const COMMON: &str = include_str!("templates/common.js");
const KEY_INLINE: &str = include_str!("templates/key_inline.js");
const KEY_KVS: &str = include_str!("templates/key_kvs.js");
const HS256: &str = include_str!("templates/hs256.js");
const RS256_COMMON: &str = include_str!("templates/rs256_common.js");
const RS256_BIGINT: &str = include_str!("templates/rs256_bigint.js");
const RS256_LIMBS: &str = include_str!("templates/rs256_limbs.js");

/// How the RS256 function does its big-number arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RsaVariant {
    /// BigInt: fast (the bench's `auth_cff_rs256_bigint_per_request_ms`), needs BigInt, which is UNVERIFIED on the edge.
    BigInt,
    /// 16-bit limbs in Numbers: runs anywhere, tens of milliseconds.
    Limbs,
    /// Both, choosing BigInt when `typeof BigInt === 'function'`.
    Auto,
}

impl RsaVariant {
    /// The variant's name as used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RsaVariant::BigInt => "bigint",
            RsaVariant::Limbs => "limbs",
            RsaVariant::Auto => "auto",
        }
    }
}

/// Where the function finds its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeySource {
    /// Inlined in the function's source (rotation means republishing the function).
    Inline,
    /// In the associated CloudFront KeyValueStore under `prefix + kid` (rotation is a KVS
    /// write; each lookup is a KVS read). Each value is JSON naming its algorithm and kid,
    /// and the function uses no value bound to another algorithm or kid.
    KeyValueStore {
        /// Prefix of the KVS keys.
        prefix: String,
    },
}

impl KeySource {
    /// The KeyValueStore prefix used unless another is given: one per algorithm, so that
    /// an HS256 and an RS256 function sharing a store never look at each other's entries.
    pub fn default_kvs_prefix(alg: Algorithm) -> String {
        format!("jwt-{}-", alg.as_str().to_ascii_lowercase())
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionOptions {
    /// HS256 or RS256 (the only algorithms the edge's `crypto` module makes practical).
    pub alg: Algorithm,
    /// Arithmetic for RS256.
    pub rsa_variant: RsaVariant,
    /// Inline keys or KeyValueStore.
    pub key_source: KeySource,
    /// Put the deny reason in an `x-edge-auth-reason` response header (for debugging and
    /// tests; off by default so clients learn nothing about why they were refused).
    pub expose_reason: bool,
    /// Always minify, even when the readable source fits.
    pub force_minify: bool,
}

impl Default for FunctionOptions {
    fn default() -> Self {
        Self {
            alg: Algorithm::HS256,
            rsa_variant: RsaVariant::BigInt,
            key_source: KeySource::Inline,
            expose_reason: false,
            force_minify: false,
        }
    }
}

/// One KeyValueStore entry the function expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KvsEntry {
    /// The KVS key (`prefix + kid`).
    pub key: String,
    /// The value: JSON with `alg`, `kid` and the key (`k`, the base64url HMAC secret, or
    /// `n`, `e` and `r2` for RSA).
    pub value: String,
}

/// A generated function and its vital statistics.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratedFunction {
    /// The JavaScript source.
    pub code: String,
    /// Its size in bytes.
    pub size_bytes: usize,
    /// CloudFront's limit, [`FUNCTION_SIZE_LIMIT_BYTES`].
    pub limit_bytes: usize,
    /// Whether the source was minified to fit (or because it was asked for).
    pub minified: bool,
    /// The pinned algorithm.
    pub alg: Algorithm,
    /// The RS256 arithmetic, when RS256.
    pub rsa_variant: Option<RsaVariant>,
    /// Whether the handler is `async` (it is when keys come from the KeyValueStore).
    pub is_async: bool,
    /// Entries to write to the KeyValueStore (empty for inline keys).
    pub kvs_entries: Vec<KvsEntry>,
    /// The kids the function knows at generation time.
    pub kids: Vec<String>,
}

/// Generates the function for the keys of `options.alg` in `keys`, enforcing `policy`.
pub fn generate(keys: &KeySet, policy: &Policy, options: &FunctionOptions) -> Result<GeneratedFunction, Error> {
    let alg = options.alg;
    if !matches!(alg, Algorithm::HS256 | Algorithm::RS256) {
        return Err(Error::Generate(format!(
            "{alg} is not available at the edge: CloudFront's crypto module has HMAC-SHA256 but no other HS size, and RS256 is the only public-key algorithm implemented in JavaScript here (use --alg HS256 or RS256)"
        )));
    }
    policy.check()?;
    // A token without `kid` may use the key set's only key, and only when the whole set has
    // one key, exactly as the validator decides; not one key left after filtering by
    // algorithm.
    let single = keys.single().filter(|k| k.alg() == alg).map(|k| k.kid().to_owned());
    let keys = keys.only(alg);
    if keys.is_empty() {
        return Err(Error::Generate(format!(
            "the key set has no {alg} key (add one with \"alg\": \"{alg}\")"
        )));
    }
    let mut inline = serde_json::Map::new();
    let mut kvs_entries = Vec::new();
    for key in keys.iter() {
        let value = key_value(key.kid(), key.material())?;
        match &options.key_source {
            KeySource::Inline => {
                inline.insert(key.kid().to_owned(), value);
            }
            KeySource::KeyValueStore { prefix } => {
                // Bound to its algorithm and kid, built member by member so the text does
                // not depend on serde_json's map order.
                let text = match value {
                    Value::String(secret) => format!(
                        "{{\"alg\":{},\"kid\":{},\"k\":{}}}",
                        Value::from(alg.as_str()),
                        Value::from(key.kid()),
                        Value::from(secret)
                    ),
                    Value::Object(rsa) => format!(
                        "{{\"alg\":{},\"kid\":{},\"n\":{},\"e\":{},\"r2\":{}}}",
                        Value::from(alg.as_str()),
                        Value::from(key.kid()),
                        rsa["n"],
                        rsa["e"],
                        rsa["r2"]
                    ),
                    other => other.to_string(),
                };
                let entry = KvsEntry {
                    key: format!("{prefix}{}", key.kid()),
                    value: text,
                };
                if entry.key.len() > 512 || entry.value.len() > 1024 {
                    return Err(Error::Generate(format!(
                        "KeyValueStore entry {:?} is {} bytes (key) / {} bytes (value); the limits are 512 and 1024 (sources.md §KeyValueStore)",
                        entry.key,
                        entry.key.len(),
                        entry.value.len()
                    )));
                }
                kvs_entries.push(entry);
            }
        }
    }
    let kids: Vec<String> = keys.iter().map(|k| k.kid().to_owned()).collect();
    let config = json!({
        "alg": alg.as_str(),
        "algs": Algorithm::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "keys": inline,
        "single": single,
        "prefix": match &options.key_source { KeySource::KeyValueStore { prefix } => prefix.as_str(), KeySource::Inline => "" },
        "leeway": policy.leeway_s,
        "iss": policy.issuer,
        "aud": policy.audience,
        "tenant": policy.tenant_claim,
        "domain": policy.wiki_domain.as_ref().map(|d| d.to_ascii_lowercase()),
        "cookie": policy.cookie_name,
        "maxBytes": policy.max_token_bytes,
        "exposeReason": options.expose_reason,
    });
    let is_async = matches!(options.key_source, KeySource::KeyValueStore { .. });
    let mut code = String::new();
    if is_async {
        code.push_str("import cf from 'cloudfront';\n");
    }
    let variant = (alg == Algorithm::RS256).then_some(options.rsa_variant);
    code.push_str(&format!(
        "// Generated by `coldfront auth cf-function` (edge-auth): {alg}{} viewer-request JWT check, cloudfront-js-2.0.\n",
        variant.map(|v| format!(" ({})", v.as_str())).unwrap_or_default()
    ));
    code.push_str("var crypto = require('crypto');\n");
    code.push_str(&format!("var C = {config};\n"));
    let (asynk, awaitt) = if is_async { ("async ", "await ") } else { ("", "") };
    code.push_str(&HELPERS.replace("/*ASYNC*/", asynk).replace("/*AWAIT*/", awaitt));
    code.push_str(&COMMON.replace("/*ASYNC*/", asynk).replace("/*AWAIT*/", awaitt));
    code.push_str(if is_async { KEY_KVS } else { KEY_INLINE });
    match variant {
        None => code.push_str(HS256),
        Some(v) => {
            code.push_str(RS256_COMMON);
            let call = match v {
                RsaVariant::BigInt => {
                    code.push_str(RS256_BIGINT);
                    "rsaBig(key, input, sig)"
                }
                RsaVariant::Limbs => {
                    code.push_str(RS256_LIMBS);
                    "rsaLimbs(key, input, sig)"
                }
                RsaVariant::Auto => {
                    code.push_str(RS256_BIGINT);
                    code.push_str(RS256_LIMBS);
                    "typeof BigInt === 'function' ? rsaBig(key, input, sig) : rsaLimbs(key, input, sig)"
                }
            };
            code.push_str(&format!(
                "function verify(key, input, sigB64, sig) {{\n    return {call};\n}}\n"
            ));
        }
    }
    let mut minified = false;
    if options.force_minify || code.len() > FUNCTION_SIZE_LIMIT_BYTES {
        code = minify(&code);
        minified = true;
    }
    if code.len() > FUNCTION_SIZE_LIMIT_BYTES {
        return Err(Error::Generate(format!(
            "the function is {} bytes even minified, over CloudFront's {FUNCTION_SIZE_LIMIT_BYTES}-byte limit; inline fewer keys or use --kvs",
            code.len()
        )));
    }
    Ok(GeneratedFunction {
        size_bytes: code.len(),
        code,
        limit_bytes: FUNCTION_SIZE_LIMIT_BYTES,
        minified,
        alg,
        rsa_variant: variant,
        is_async,
        kvs_entries,
        kids,
    })
}

/// The key as the function stores it: a base64url secret, or `{n, e, r2}` for RSA.
fn key_value(kid: &str, material: &Material) -> Result<Value, Error> {
    match material {
        Material::Secret(secret) => Ok(Value::String(b64::encode(secret))),
        Material::Rsa { n, e } => {
            if e.len() > 4 {
                return Err(Error::Generate(format!(
                    "key {kid:?}: RSA exponents over 32 bits are not supported at the edge"
                )));
            }
            let e = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            let standard = |bytes: &[u8]| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(bytes)
            };
            Ok(json!({"n": standard(n), "e": e, "r2": standard(&r_squared_mod(n))}))
        }
        Material::Other => Err(Error::Generate(format!("key {kid:?} cannot be used at the edge"))),
    }
}

/// R² mod n for the limb variant's Montgomery arithmetic, R = 2^(16·L) with L 16-bit limbs,
/// by doubling 1 modulo n; the result has n's length, big-endian.
fn r_squared_mod(n_be: &[u8]) -> Vec<u8> {
    let limbs_16 = n_be.len().div_ceil(2);
    // Little-endian 32-bit words with one spare word for the doubling's carry.
    let words = n_be.len().div_ceil(4) + 1;
    let mut n = vec![0u32; words];
    for (i, &byte) in n_be.iter().rev().enumerate() {
        n[i / 4] |= u32::from(byte) << (8 * (i % 4));
    }
    let mut x = vec![0u32; words];
    x[0] = 1;
    for _ in 0..(2 * 16 * limbs_16) {
        let mut carry = 0u32;
        for word in &mut x {
            let next = *word >> 31;
            *word = (*word << 1) | carry;
            carry = next;
        }
        if x.iter().rev().cmp(n.iter().rev()) != std::cmp::Ordering::Less {
            let mut borrow = 0i64;
            for (xi, ni) in x.iter_mut().zip(&n) {
                let d = i64::from(*xi) - i64::from(*ni) - borrow;
                borrow = i64::from(d < 0);
                *xi = (d + (borrow << 32)) as u32;
            }
        }
    }
    let mut out: Vec<u8> = (0..n_be.len()).map(|i| (x[i / 4] >> (8 * (i % 4))) as u8).collect();
    out.reverse();
    out
}

/// Strips full-line `//` comments, indentation and blank lines. The templates keep every
/// comment on a line of its own, so no tokenising is needed.
fn minify(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for line in code.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_squared_matches_a_small_case() {
        // n = 0x0101 (257), L = 1 limb, R = 2^16, R^2 mod 257 = 1 (2^8 ≡ -1).
        assert_eq!(r_squared_mod(&[0x01, 0x01]), vec![0x00, 0x01]);
        // n = 0xfff1 (65521, prime): 2^32 mod 65521 = 225.
        assert_eq!(r_squared_mod(&[0xff, 0xf1]), vec![0x00, 225]);
    }

    #[test]
    fn minify_drops_comments_and_indentation() {
        assert_eq!(minify("// x\n  var a = 1;\n\n    // y\nf();\n"), "var a = 1;\nf();\n");
    }
}
