//! Key tooling: new keys for a key set (`coldfront auth keys generate`) and key sets from
//! what identity providers and other libraries publish (`coldfront auth keys import`):
//! a JWKS, PEM files, or a PyJWT-style `{kid: key}` dictionary.
//!
//! Every result is checked by parsing it back as a [`KeySet`] before anyone writes it, and
//! every error names the entry at fault and what to do, once.

use aws_lc_rs::encoding::{AsDer as _, PublicKeyX509Der};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use aws_lc_rs::rsa::{KeyPair as RsaPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::{Algorithm, Error, KeySet};

/// A freshly generated key: what goes into the key set, and the files to write.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// Its key id.
    pub kid: String,
    /// Its pinned algorithm.
    pub alg: Algorithm,
    /// The key set entry (public part, or the secret for HMAC keys).
    pub entry: Value,
    /// The private key as PKCS#8 PEM, for public-key algorithms (keep it secret).
    pub private_pem: Option<String>,
    /// The public key as SPKI PEM, for public-key algorithms.
    pub public_pem: Option<String>,
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Generates a key pinned to `alg`: a 256-bit HMAC secret for HS256, RSA-2048 for RS256,
/// P-256 for ES256. Public-key entries name their public PEM as `pem_file`
/// (`<kid>.pub.pem`), so the key set file itself holds nothing secret.
pub fn generate(alg: Algorithm, kid: &str) -> Result<GeneratedKey, Error> {
    let bad = |message: String| Error::Key {
        kid: kid.to_owned(),
        message,
    };
    check_kid(kid)?;
    let (entry, private_pem, public_pem) = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            // RFC 7518 §3.2: a key at least as long as the hash output.
            let len = match alg {
                Algorithm::HS384 => 48,
                Algorithm::HS512 => 64,
                _ => 32,
            };
            let mut secret = vec![0u8; len];
            SystemRandom::new()
                .fill(&mut secret)
                .map_err(|_| bad("the system random source failed".into()))?;
            let entry = json!({"kid": kid, "alg": alg.as_str(), "secret_b64": crate::b64::encode(&secret)});
            (entry, None, None)
        }
        Algorithm::RS256 | Algorithm::PS256 => {
            let pair = RsaPair::generate(KeySize::Rsa2048).map_err(|_| bad("RSA key generation failed".into()))?;
            let private = pair.as_der().map_err(|_| bad("cannot encode the RSA key".into()))?;
            let public: PublicKeyX509Der<'_> = pair
                .public_key()
                .as_der()
                .map_err(|_| bad("cannot encode the RSA public key".into()))?;
            (
                json!({"kid": kid, "alg": alg.as_str(), "pem_file": format!("{kid}.pub.pem")}),
                Some(pem("PRIVATE KEY", private.as_ref())),
                Some(pem("PUBLIC KEY", public.as_ref())),
            )
        }
        Algorithm::ES256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .map_err(|_| bad("P-256 key generation failed".into()))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                .map_err(|_| bad("cannot read back the P-256 key".into()))?;
            let public: PublicKeyX509Der<'_> = pair
                .public_key()
                .as_der()
                .map_err(|_| bad("cannot encode the P-256 public key".into()))?;
            (
                json!({"kid": kid, "alg": alg.as_str(), "pem_file": format!("{kid}.pub.pem")}),
                Some(pem("PRIVATE KEY", pkcs8.as_ref())),
                Some(pem("PUBLIC KEY", public.as_ref())),
            )
        }
        Algorithm::EdDSA => {
            return Err(bad(
                "EdDSA keys are not generated here (no edge option uses them); use HS256, RS256 or ES256".into(),
            ));
        }
    };
    Ok(GeneratedKey {
        kid: kid.to_owned(),
        alg,
        entry,
        private_pem,
        public_pem,
    })
}

/// A kid the edge function's lookup accepts (`[A-Za-z0-9._-]`, 1–128 characters).
pub fn check_kid(kid: &str) -> Result<(), Error> {
    if kid.is_empty()
        || kid.len() > 128
        || !kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(Error::Key {
            kid: kid.to_owned(),
            message: "a kid must be 1 to 128 of A-Z a-z 0-9 . _ - (the edge function refuses others)".into(),
        });
    }
    Ok(())
}

/// The `alg` a JWK entry most plausibly means when it does not say, from `kty`/`crv`;
/// `None` when that is ambiguous (an `oct` key could be any HS size).
fn implied_alg(obj: &Map<String, Value>) -> Option<Algorithm> {
    match (obj.get("kty")?.as_str()?, obj.get("crv").and_then(Value::as_str)) {
        ("EC", Some("P-256")) => Some(Algorithm::ES256),
        ("OKP", Some("Ed25519")) => Some(Algorithm::EdDSA),
        _ => None,
    }
}

/// Key set entries from a JWKS (`{"keys": [...]}`). Entries without `alg` take
/// `default_alg`, or one implied by the curve; entries with `"use": "enc"` are skipped
/// (they are for encryption, not signatures) and reported in the second value.
pub fn from_jwks(text: &str, default_alg: Option<Algorithm>) -> Result<(Vec<Value>, Vec<String>), Error> {
    let doc: Value = serde_json::from_str(text).map_err(|e| Error::Key {
        kid: String::new(),
        message: format!("not JSON at line {} column {}: {e}", e.line(), e.column()),
    })?;
    let keys = doc.get("keys").and_then(Value::as_array).ok_or_else(|| Error::Key {
        kid: String::new(),
        message: "not a JWKS: expected an object with a \"keys\" array".into(),
    })?;
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let obj = key.as_object().ok_or_else(|| Error::Key {
            kid: String::new(),
            message: format!("keys[{index}] is not a JSON object"),
        })?;
        let kid = obj.get("kid").and_then(Value::as_str).ok_or_else(|| Error::Key {
            kid: String::new(),
            message: format!("keys[{index}] has no \"kid\"; tokens name their key by kid, so every key needs one"),
        })?;
        if obj.get("use").and_then(Value::as_str) == Some("enc") {
            skipped.push(format!("{kid} (\"use\": \"enc\", an encryption key)"));
            continue;
        }
        let mut entry = obj.clone();
        if !entry.contains_key("alg") {
            let alg = default_alg.or_else(|| implied_alg(obj)).ok_or_else(|| Error::Key {
                kid: kid.to_owned(),
                message: format!("keys[{index}] has no \"alg\"; pass --alg to pin it (e.g. --alg RS256)"),
            })?;
            entry.insert("alg".into(), Value::from(alg.as_str()));
        }
        entries.push(Value::Object(entry));
    }
    Ok((entries, skipped))
}

/// A key set entry from one PEM (a public key, or for HMAC a secret is not PEM: use
/// [`from_pyjwt_dict`]).
pub fn from_pem(pem_text: &str, alg: Algorithm, kid: &str) -> Result<Value, Error> {
    check_kid(kid)?;
    if alg.is_hmac() {
        return Err(Error::Key {
            kid: kid.to_owned(),
            message: format!("{alg} keys are secrets, not PEM; import them from a {{kid: secret}} file"),
        });
    }
    if pem_text.contains("PRIVATE KEY") {
        return Err(Error::Key {
            kid: kid.to_owned(),
            message:
                "this PEM is a private key; give the public key (openssl pkey -pubout) so no secret enters the key set"
                    .into(),
        });
    }
    Ok(json!({"kid": kid, "alg": alg.as_str(), "pem": pem_text}))
}

/// Key set entries from a PyJWT-style dictionary: `{"kid": "<PEM or secret>"}` with one
/// `alg` for all, or `{"kid": {"key": "...", "alg": "RS256"}}` per entry.
pub fn from_pyjwt_dict(text: &str, default_alg: Option<Algorithm>) -> Result<Vec<Value>, Error> {
    let doc: Value = serde_json::from_str(text).map_err(|e| Error::Key {
        kid: String::new(),
        message: format!("not JSON at line {} column {}: {e}", e.line(), e.column()),
    })?;
    let map = doc.as_object().ok_or_else(|| Error::Key {
        kid: String::new(),
        message: "expected an object mapping each kid to its key".into(),
    })?;
    let mut entries = Vec::new();
    for (kid, value) in map {
        let (key, alg) = match value {
            Value::String(key) => (key.as_str(), None),
            Value::Object(o) => (
                o.get("key").and_then(Value::as_str).ok_or_else(|| Error::Key {
                    kid: kid.clone(),
                    message: "an object entry needs a \"key\" string".into(),
                })?,
                o.get("alg").and_then(Value::as_str),
            ),
            _ => {
                return Err(Error::Key {
                    kid: kid.clone(),
                    message: "each value must be the key (a string) or {\"key\": ..., \"alg\": ...}".into(),
                });
            }
        };
        let alg = match alg {
            Some(name) => name.parse::<Algorithm>().map_err(|_| Error::Key {
                kid: kid.clone(),
                message: format!(
                    "unsupported \"alg\" {name:?} (use HS256, HS384, HS512, RS256, PS256, ES256 or EdDSA)"
                ),
            })?,
            None => default_alg.ok_or_else(|| Error::Key {
                kid: kid.clone(),
                message: "no algorithm: pass --alg, or give {\"key\": ..., \"alg\": ...}".into(),
            })?,
        };
        check_kid(kid)?;
        entries.push(if alg.is_hmac() {
            json!({"kid": kid, "alg": alg.as_str(), "secret": key})
        } else {
            from_pem(key, alg, kid)?
        });
    }
    Ok(entries)
}

/// Adds `entries` to an existing key set document (or a new one), refusing a kid that is
/// already there, and checks that the result parses as a [`KeySet`] (with `pem_file`
/// paths relative to `base_dir`). Returns the new document's text.
pub fn merge(existing: Option<&str>, entries: Vec<Value>, base_dir: Option<&std::path::Path>) -> Result<String, Error> {
    let mut doc: Value = match existing {
        Some(text) => serde_json::from_str(text).map_err(|e| Error::Key {
            kid: String::new(),
            message: format!(
                "the existing key set is not JSON (line {} column {}): {e}",
                e.line(),
                e.column()
            ),
        })?,
        None => json!({"keys": []}),
    };
    let keys = doc
        .get_mut("keys")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| Error::Key {
            kid: String::new(),
            message: "the existing key set has no \"keys\" array".into(),
        })?;
    for entry in entries {
        let kid = entry.get("kid").and_then(Value::as_str).unwrap_or_default().to_owned();
        if keys
            .iter()
            .any(|k| k.get("kid").and_then(Value::as_str) == Some(kid.as_str()))
        {
            return Err(Error::Key {
                kid,
                message:
                    "the key set already has this kid; choose another (rotation keeps both keys under different kids)"
                        .into(),
            });
        }
        keys.push(entry);
    }
    let text = serde_json::to_string_pretty(&doc).expect("JSON values serialise") + "\n";
    KeySet::parse(&text, base_dir)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify_through_the_key_set() {
        for alg in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256] {
            let key = generate(alg, "k-1").unwrap();
            let dir = tempfile_dir();
            if let Some(public) = &key.public_pem {
                std::fs::write(dir.join("k-1.pub.pem"), public).unwrap();
            }
            let text = merge(None, vec![key.entry.clone()], Some(&dir)).unwrap();
            let set = KeySet::parse(&text, Some(&dir)).unwrap();
            assert_eq!(set.get("k-1").unwrap().alg(), alg);
            // A token signed with the private part verifies under the key set.
            let claims = json!({"sub": "ann", "exp": 4_000_000_000_u64});
            let token = if alg == Algorithm::HS256 {
                let secret = crate::b64::decode(key.entry["secret_b64"].as_str().unwrap()).unwrap();
                assert_eq!(secret.len(), 32);
                crate::sign_hs(alg, "k-1", &secret, &claims).unwrap()
            } else {
                let private = key.private_pem.as_ref().unwrap().as_bytes();
                let encoding = if alg == Algorithm::RS256 {
                    jsonwebtoken::EncodingKey::from_rsa_pem(private)
                } else {
                    jsonwebtoken::EncodingKey::from_ec_pem(private)
                }
                .unwrap();
                let mut header = jsonwebtoken::Header::new(alg.to_jwt());
                header.kid = Some("k-1".into());
                jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
            };
            let policy = crate::Policy {
                tenant_claim: None,
                ..crate::Policy::default()
            };
            let decision = crate::Validator::new(set, policy).validate(&token, None, 1_700_000_000.0);
            assert!(decision.is_allow(), "{alg}: {decision:?}");
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("edge-auth-keygen-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn rand_suffix() -> u64 {
        let mut bytes = [0u8; 8];
        SystemRandom::new().fill(&mut bytes).unwrap();
        u64::from_le_bytes(bytes)
    }

    #[test]
    fn a_duplicate_kid_and_a_bad_kid_are_refused_by_name() {
        let key = generate(Algorithm::HS256, "k-1").unwrap();
        let text = merge(None, vec![key.entry.clone()], None).unwrap();
        let again = generate(Algorithm::HS256, "k-1").unwrap();
        let err = merge(Some(&text), vec![again.entry], None).unwrap_err().to_string();
        assert!(err.contains("\"k-1\"") && err.contains("already"), "{err}");
        assert!(generate(Algorithm::HS256, "bad kid/").is_err());
    }

    #[test]
    fn jwks_entries_need_kid_and_get_an_alg_or_say_so() {
        let jwks = r#"{"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "ec", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}
        ]}"#;
        let (entries, skipped) = from_jwks(jwks, None).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["alg"], "ES256");
        assert_eq!(skipped.len(), 1);
        let err = from_jwks(
            r#"{"keys": [{"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"}]}"#,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("\"r\"") && err.contains("--alg"), "{err}");
        let err = from_jwks(r#"{"keys": [{"kty": "RSA"}]}"#, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("keys[0]") && err.contains("kid"), "{err}");
    }

    #[test]
    fn pyjwt_dicts_and_pem_files_become_entries() {
        let public =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rsa2048.pub.pem")).unwrap();
        let dict =
            json!({"rs-1": public, "hs-1": {"key": "a-shared-secret-of-32-bytes-len!", "alg": "HS256"}}).to_string();
        let entries = from_pyjwt_dict(&dict, Some(Algorithm::RS256)).unwrap();
        let text = merge(None, entries, None).unwrap();
        let set = KeySet::parse(&text, None).unwrap();
        assert_eq!(set.get("rs-1").unwrap().alg(), Algorithm::RS256);
        assert_eq!(set.get("hs-1").unwrap().alg(), Algorithm::HS256);
        let private =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rsa2048.key.pem")).unwrap();
        let err = from_pem(&private, Algorithm::RS256, "x").unwrap_err().to_string();
        assert!(err.contains("private key"), "{err}");
        let err = from_pyjwt_dict(r#"{"a": "secret"}"#, None).unwrap_err().to_string();
        assert!(err.contains("\"a\"") && err.contains("--alg"), "{err}");
    }
}
