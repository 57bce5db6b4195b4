//! The key set: keys found by `kid`, each pinned to one algorithm.
//!
//! A token's `alg` header never chooses how a key is used. The key's own pinned algorithm
//! does, and a token whose `alg` differs is denied before any cryptography runs. This is what
//! defeats RS→HS key confusion (CVE-2015-9235, CVE-2016-10555): an RSA public key can never
//! be used as an HMAC secret because no HMAC key is ever made from it.
//!
//! # The key set file (`keys.json`)
//!
//! ```json
//! {"keys": [
//!   {"kid": "hs-1", "alg": "HS256", "secret_b64": "c2VjcmV0LXRoYXQtaXMtbG9uZy1lbm91Z2gtZm9yLWhzMjU2"},
//!   {"kid": "rs-1", "alg": "RS256", "pem_file": "rs-1.pub.pem"},
//!   {"kid": "ec-1", "alg": "ES256", "pem": "-----BEGIN PUBLIC KEY-----\n..."},
//!   {"kty": "RSA", "kid": "rs-2", "alg": "RS256", "n": "...", "e": "AQAB"}
//! ]}
//! ```
//!
//! Each entry names its `kid` and pinned `alg` and gives the key as one of `secret` (UTF-8),
//! `secret_b64` (base64 or base64url), `pem`, `pem_file` (relative to the key set file), or a
//! JWK's own members (`kty` with `k`, `n`/`e`, `x`/`y` or `x`), so a JWKS whose keys all
//! carry `kid` and `alg` is itself a valid key set file.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use std::sync::Arc;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use jsonwebtoken::{DecodingKey, DecodingKeyKind};
use serde_json::{Map, Value};

use crate::Error;
use crate::rsa_pkcs1::Pkcs1Sha256Key;

/// A signature algorithm a key can be pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm, in a stable order.
    pub const ALL: [Algorithm; 7] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ];

    /// The JOSE name (`"RS256"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::PS256 => "PS256",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// Whether this is an HMAC algorithm (a shared secret rather than a public key).
    pub fn is_hmac(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    /// The same algorithm as jsonwebtoken names it, e.g. for the header of a token signed
    /// with `jsonwebtoken::encode`.
    pub fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::HS384 => jsonwebtoken::Algorithm::HS384,
            Algorithm::HS512 => jsonwebtoken::Algorithm::HS512,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses a JOSE name exactly (`"RS256"`); `none` and unsupported names are errors.
    fn from_str(s: &str) -> Result<Self, Error> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::Key {
                kid: String::new(),
                message: format!(
                    "unsupported algorithm {s:?} (supported: HS256, HS384, HS512, RS256, PS256, ES256, EdDSA)"
                ),
            })
    }
}

/// The raw material of a key, kept so the edge function generator can inline it or write it
/// to a KeyValueStore.
#[derive(Clone)]
pub(crate) enum Material {
    /// An HMAC secret.
    Secret(Vec<u8>),
    /// An RSA public key as big-endian modulus and exponent.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Any other public key (EC, Ed25519), kept only as a jsonwebtoken key.
    Other,
}

/// The key, ready to verify: parsed once when the key set is loaded.
///
/// jsonwebtoken imports the key (PEM, JWK, components), but its `crypto::verify` builds a
/// verifier from the `DecodingKey` on every call, re-parsing an RSA key and its Montgomery
/// constants each time, which held RS256 at 0.56× OpenSSL's raw verify rate in the bench
/// (`auth_rs256_vs_openssl_ratio`; issue 4's target is 0.75×). The same aws-lc backend verifies here with the key parsed
/// once; `tests/attacks.rs` holds both to the same answers.
///
/// RS256 goes one step further: aws-lc-rs's verify call also sets up two EVP contexts per
/// call, so RS256 keys verify through aws-lc's `RSA_verify` on an `RSA` object made once
/// ([`crate::rsa_pkcs1`]), still checked by the aws-lc-rs parse for its size limits.
enum Verifier {
    Hmac(Box<hmac::Key>),
    Public(ParsedPublicKey),
    Rs256(Pkcs1Sha256Key),
}

/// One key with its pinned algorithm.
#[derive(Clone)]
pub struct Key {
    /// Shared, so that an allow decision names its key without copying the kid.
    kid: Arc<str>,
    alg: Algorithm,
    verifier: Arc<Verifier>,
    material: Material,
}

impl fmt::Debug for Key {
    // Secrets are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// An HMAC key; refuses secrets shorter than the hash output (RFC 7518 §3.2).
    pub fn hmac(kid: impl Into<String>, alg: Algorithm, secret: &[u8]) -> Result<Self, Error> {
        let kid = kid.into();
        if !alg.is_hmac() {
            return Err(Error::Key {
                kid,
                message: format!("{alg} is not an HMAC algorithm"),
            });
        }
        let min_bytes = match alg {
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 32,
        };
        if secret.len() < min_bytes {
            return Err(Error::Key {
                kid,
                message: format!(
                    "{alg} secret is {} bytes; RFC 7518 §3.2 requires at least {min_bytes} (generate one with `openssl rand -base64 {min_bytes}`)",
                    secret.len()
                ),
            });
        }
        let algorithm = match alg {
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            _ => hmac::HMAC_SHA256,
        };
        Ok(Self {
            kid: kid.into(),
            alg,
            verifier: Arc::new(Verifier::Hmac(Box::new(hmac::Key::new(algorithm, secret)))),
            material: Material::Secret(secret.to_vec()),
        })
    }

    /// A public key from PEM (SPKI `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`).
    pub fn from_pem(kid: impl Into<String>, alg: Algorithm, pem: &str) -> Result<Self, Error> {
        let kid = kid.into();
        let bad = |message: String| Error::Key {
            kid: kid.clone(),
            message,
        };
        let (decoding, material) = match alg {
            Algorithm::RS256 | Algorithm::PS256 => {
                let decoding = DecodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|e| bad(format!("not an RSA public key PEM: {e}")))?;
                let (n, e) = rsa_components_from_pem(pem).map_err(bad)?;
                check_rsa_bits(&n).map_err(bad)?;
                (decoding, Material::Rsa { n, e })
            }
            Algorithm::ES256 => (
                DecodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| bad(format!("not an EC public key PEM: {e}")))?,
                Material::Other,
            ),
            Algorithm::EdDSA => (
                DecodingKey::from_ed_pem(pem.as_bytes())
                    .map_err(|e| bad(format!("not an Ed25519 public key PEM: {e}")))?,
                Material::Other,
            ),
            _ => return Err(bad(format!("{alg} takes a secret, not a PEM public key"))),
        };
        Self::from_decoding(kid, alg, &decoding, material)
    }

    /// Parses a jsonwebtoken-imported public key once for verification.
    fn from_decoding(kid: String, alg: Algorithm, decoding: &DecodingKey, material: Material) -> Result<Self, Error> {
        let rejected = |e: &dyn std::fmt::Display| Error::Key {
            kid: kid.clone(),
            message: format!("unusable {alg} public key: {e}"),
        };
        let rsa_params = if alg == Algorithm::PS256 {
            &signature::RSA_PSS_2048_8192_SHA256
        } else {
            &signature::RSA_PKCS1_2048_8192_SHA256
        };
        let parsed = match (alg, decoding.kind()) {
            (Algorithm::RS256 | Algorithm::PS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
                RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .to_parsed_public_key(rsa_params)
            }
            (Algorithm::RS256 | Algorithm::PS256, DecodingKeyKind::SecretOrDer(der)) => {
                ParsedPublicKey::new(rsa_params, der)
            }
            (Algorithm::ES256, DecodingKeyKind::SecretOrDer(point)) => {
                ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
            }
            (Algorithm::EdDSA, DecodingKeyKind::SecretOrDer(raw)) => ParsedPublicKey::new(&signature::ED25519, raw),
            _ => return Err(rejected(&"this key form cannot carry that algorithm")),
        }
        .map_err(|e| rejected(&e))?;
        let verifier = match (&material, alg) {
            (Material::Rsa { n, e }, Algorithm::RS256) => Verifier::Rs256(
                Pkcs1Sha256Key::new(n, e).ok_or_else(|| rejected(&"aws-lc refuses its modulus or exponent"))?,
            ),
            _ => Verifier::Public(parsed),
        };
        Ok(Self {
            kid: kid.into(),
            alg,
            verifier: Arc::new(verifier),
            material,
        })
    }

    /// An RSA public key from its big-endian modulus and exponent.
    pub fn rsa(kid: impl Into<String>, alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Self, Error> {
        let kid = kid.into();
        if !matches!(alg, Algorithm::RS256 | Algorithm::PS256) {
            return Err(Error::Key {
                kid,
                message: format!("{alg} is not an RSA algorithm"),
            });
        }
        let n = strip_zeros(n).to_vec();
        let e = strip_zeros(e).to_vec();
        check_rsa_bits(&n).map_err(|message| Error::Key {
            kid: kid.clone(),
            message,
        })?;
        let decoding = DecodingKey::from_rsa_raw_components(&n, &e);
        Self::from_decoding(kid, alg, &decoding, Material::Rsa { n, e })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key id, shared.
    pub(crate) fn shared_kid(&self) -> Arc<str> {
        Arc::clone(&self.kid)
    }

    /// The algorithm this key is pinned to.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    pub(crate) fn material(&self) -> &Material {
        &self.material
    }

    /// Verifies `signature` over `message` with the pinned algorithm (HMAC tags are
    /// compared in constant time): the cryptography of a validation alone, without the
    /// token's parsing or claims. For a JWS, `message` is its signing input
    /// (`header.payload` as sent) and `signature` the decoded third part.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self.verifier.as_ref() {
            Verifier::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Verifier::Public(key) => key.verify_sig(message, signature).is_ok(),
            Verifier::Rs256(key) => key.verify(message, signature),
        }
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn check_rsa_bits(n: &[u8]) -> Result<(), String> {
    let bits = n.len() * 8;
    if (2048..=8192).contains(&bits) {
        Ok(())
    } else {
        Err(format!(
            "RSA modulus is {bits} bits; use 2048 to 8192 (RFC 7518 §3.3 requires at least 2048)"
        ))
    }
}

/// Extracts `(n, e)` from an RSA public key PEM, SPKI or PKCS#1, with a minimal DER walk.
fn rsa_components_from_pem(pem: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("PEM body is not base64: {e}"))?;
    rsa_components_from_der(&der)
}

/// Extracts `(n, e)` from SPKI or PKCS#1 `RSAPublicKey` DER.
pub(crate) fn rsa_components_from_der(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut reader = Der(der);
    let mut outer = reader.take(0x30).ok_or("PEM is not a DER SEQUENCE")?;
    // SPKI wraps the PKCS#1 key in a BIT STRING after an AlgorithmIdentifier.
    let mut rsa_key = if outer.0.first() == Some(&0x30) {
        outer.take(0x30).ok_or("malformed SPKI")?;
        let bits = outer.take(0x03).ok_or("malformed SPKI bit string")?;
        let inner = bits.0.get(1..).ok_or("empty SPKI bit string")?;
        Der(inner).take(0x30).ok_or("malformed RSAPublicKey")?
    } else {
        outer
    };
    let n = rsa_key.take(0x02).ok_or("RSAPublicKey has no modulus")?;
    let e = rsa_key.take(0x02).ok_or("RSAPublicKey has no exponent")?;
    Ok((strip_zeros(n.0).to_vec(), strip_zeros(e.0).to_vec()))
}

/// The parts of a SubjectPublicKeyInfo that signature verification needs.
pub(crate) struct Spki<'a> {
    /// RSA (`rsaEncryption`) rather than EC.
    pub is_rsa: bool,
    /// The BIT STRING's contents: PKCS#1 `RSAPublicKey` DER, or the EC point.
    pub key: &'a [u8],
}

/// Splits SPKI DER into algorithm family and key bytes.
pub(crate) fn spki_parts(der: &[u8]) -> Option<Spki<'_>> {
    const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let mut outer = Der(der).take(0x30)?;
    let mut algorithm = outer.take(0x30)?;
    let oid = algorithm.take(0x06)?;
    let bits = outer.take(0x03)?;
    let key = bits.0.get(1..)?;
    Some(Spki {
        is_rsa: oid.0 == RSA_OID,
        key,
    })
}

/// A cursor over DER bytes.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// Takes one TLV with the given tag and returns its contents.
    fn take(&mut self, tag: u8) -> Option<Der<'a>> {
        let (&t, rest) = self.0.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let len = rest[..count].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            rest = &rest[count..];
            len
        };
        if rest.len() < len {
            return None;
        }
        let (contents, after) = rest.split_at(len);
        self.0 = after;
        Some(Der(contents))
    }
}

/// Keys found by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    /// Sorted by `kid`, without repeats. A sorted list, not a map: every validation looks
    /// a key up, and a binary search compares a handful of kids where a B-tree node is
    /// scanned kid by kid (7 string comparisons for the last of 7 keys).
    keys: Vec<Key>,
}

impl KeySet {
    /// An empty key set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key; a second key with the same `kid` is an error, since which one a token
    /// meant would be ambiguous.
    pub fn insert(&mut self, key: Key) -> Result<(), Error> {
        match self.position(&key.kid) {
            Ok(_) => Err(Error::Key {
                kid: key.kid.to_string(),
                message: "duplicate kid in the key set".to_owned(),
            }),
            Err(at) => {
                self.keys.insert(at, key);
                Ok(())
            }
        }
    }

    /// Where the key with this `kid` is, or where it would go.
    fn position(&self, kid: &str) -> Result<usize, usize> {
        self.keys.binary_search_by(|key| (*key.kid).cmp(kid))
    }

    /// Builder form of [`KeySet::insert`].
    pub fn with(mut self, key: Key) -> Result<Self, Error> {
        self.insert(key)?;
        Ok(self)
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.get(self.position(kid).ok()?)
    }

    /// The only key, when the set holds exactly one (tokens without `kid` may use it).
    pub fn single(&self) -> Option<&Key> {
        match self.keys.as_slice() {
            [key] => Some(key),
            _ => None,
        }
    }

    /// All keys, ordered by `kid`.
    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Only the keys pinned to `alg`.
    #[must_use]
    pub fn only(&self, alg: Algorithm) -> KeySet {
        KeySet {
            keys: self.keys.iter().filter(|k| k.alg == alg).cloned().collect(),
        }
    }

    /// Reads a key set file (format in the module docs); `pem_file` paths are relative to it.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, path.parent()).map_err(|e| Error::KeyFile {
            path: path.display().to_string(),
            source: Box::new(e),
        })
    }

    /// Parses a key set document; `base_dir` resolves `pem_file` entries.
    pub fn parse(text: &str, base_dir: Option<&Path>) -> Result<Self, Error> {
        let doc: Value = serde_json::from_str(text).map_err(|e| Error::Key {
            kid: String::new(),
            message: format!("not JSON at line {} column {}: {e}", e.line(), e.column()),
        })?;
        let entries = doc.get("keys").and_then(Value::as_array).ok_or_else(|| Error::Key {
            kid: String::new(),
            message: "expected an object with a \"keys\" array".to_owned(),
        })?;
        let mut set = KeySet::new();
        for (index, entry) in entries.iter().enumerate() {
            let key = parse_entry(entry, base_dir).map_err(|e| match e {
                Error::Key { kid, message } if kid.is_empty() => Error::Key {
                    kid: String::new(),
                    message: format!("keys[{index}]: {message}"),
                },
                Error::Key { kid, message } => Error::Key {
                    kid: kid.clone(),
                    message: format!("keys[{index}] (kid {kid:?}): {message}"),
                },
                other => other,
            })?;
            set.insert(key)?;
        }
        if set.is_empty() {
            return Err(Error::Key {
                kid: String::new(),
                message: "the key set has no keys".to_owned(),
            });
        }
        Ok(set)
    }
}

fn parse_entry(entry: &Value, base_dir: Option<&Path>) -> Result<Key, Error> {
    let obj = entry.as_object().ok_or_else(|| Error::Key {
        kid: String::new(),
        message: "each key must be a JSON object".to_owned(),
    })?;
    let text = |name: &str| obj.get(name).and_then(Value::as_str);
    let kid = text("kid").ok_or_else(|| Error::Key {
        kid: String::new(),
        message: "missing \"kid\" (every key needs a key id; tokens name it in their header)".to_owned(),
    })?;
    let alg_name = text("alg").ok_or_else(|| Error::Key {
        kid: kid.to_owned(),
        message: "missing \"alg\": every key must pin its algorithm, e.g. \"alg\": \"RS256\"".to_owned(),
    })?;
    let alg: Algorithm = alg_name.parse().map_err(|_| Error::Key {
        kid: kid.to_owned(),
        message: format!("unsupported \"alg\" {alg_name:?} (use HS256, HS384, HS512, RS256, PS256, ES256 or EdDSA)"),
    })?;
    let bad = |message: String| Error::Key {
        kid: kid.to_owned(),
        message,
    };
    if let Some(secret) = text("secret") {
        return Key::hmac(kid, alg, secret.as_bytes());
    }
    if let Some(secret) = text("secret_b64") {
        return Key::hmac(
            kid,
            alg,
            &decode_any_b64(secret).ok_or_else(|| bad("\"secret_b64\" is not base64".into()))?,
        );
    }
    if let Some(pem) = text("pem") {
        return Key::from_pem(kid, alg, pem);
    }
    if let Some(file) = text("pem_file") {
        let path = base_dir.map_or_else(|| Path::new(file).to_path_buf(), |d| d.join(file));
        let pem =
            std::fs::read_to_string(&path).map_err(|e| bad(format!("cannot read pem_file {}: {e}", path.display())))?;
        return Key::from_pem(kid, alg, &pem);
    }
    if obj.contains_key("kty") {
        return key_from_jwk(kid, alg, obj);
    }
    Err(bad(
        "give the key as one of \"secret\", \"secret_b64\", \"pem\", \"pem_file\" or JWK members (\"kty\", ...)".into(),
    ))
}

fn key_from_jwk(kid: &str, alg: Algorithm, obj: &Map<String, Value>) -> Result<Key, Error> {
    let bad = |message: String| Error::Key {
        kid: kid.to_owned(),
        message,
    };
    let member = |name: &str| {
        obj.get(name)
            .and_then(Value::as_str)
            .and_then(crate::b64::decode)
            .ok_or_else(|| bad(format!("JWK member {name:?} is missing or not base64url")))
    };
    let kty = obj.get("kty").and_then(Value::as_str).unwrap_or_default();
    match (kty, alg) {
        ("oct", a) if a.is_hmac() => Key::hmac(kid, alg, &member("k")?),
        ("RSA", Algorithm::RS256 | Algorithm::PS256) => Key::rsa(kid, alg, &member("n")?, &member("e")?),
        ("EC" | "OKP", Algorithm::ES256 | Algorithm::EdDSA) => {
            let jwk: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(Value::Object(obj.clone())).map_err(|e| bad(format!("not a valid JWK: {e}")))?;
            if alg == Algorithm::ES256 && obj.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err(bad("ES256 needs a P-256 key (\"crv\": \"P-256\")".into()));
            }
            let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| bad(format!("unusable JWK: {e}")))?;
            Key::from_decoding(kid.to_owned(), alg, &decoding, Material::Other)
        }
        _ => Err(bad(format!("a JWK with \"kty\": {kty:?} cannot be pinned to {alg}"))),
    }
}

/// Decodes standard or URL-safe base64, padded or not (for secrets typed by people).
fn decode_any_b64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(text).ok())
}
