//! Minting HMAC tokens, for tests, examples and the command line's `--sign` helpers.

use serde_json::Value;

use crate::{Algorithm, Error, b64};

/// Signs `claims` as a compact JWS with an HMAC algorithm and the given `kid`.
pub fn sign_hs(alg: Algorithm, kid: &str, secret: &[u8], claims: &Value) -> Result<String, Error> {
    if !alg.is_hmac() {
        return Err(Error::Key {
            kid: kid.to_owned(),
            message: format!("sign_hs needs an HMAC algorithm, not {alg}"),
        });
    }
    let header = serde_json::json!({"alg": alg.as_str(), "typ": "JWT", "kid": kid});
    let signing_input = format!(
        "{}.{}",
        b64::encode(header.to_string().as_bytes()),
        b64::encode(claims.to_string().as_bytes())
    );
    let key = jsonwebtoken::EncodingKey::from_secret(secret);
    let signature =
        jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, alg.to_jwt()).map_err(|e| Error::Key {
            kid: kid.to_owned(),
            message: e.to_string(),
        })?;
    Ok(format!("{signing_input}.{signature}"))
}
