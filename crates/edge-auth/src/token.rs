//! Splitting a compact JWS into its decoded parts, strictly.

use crate::b64;
use crate::validate::DenyReason;

/// A token's three segments, decoded.
pub(crate) struct Jws<'t> {
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'t str,
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Splits a token and decodes its segments; every failure is a deny reason.
pub(crate) fn split(token: &str) -> Result<Jws<'_>, DenyReason> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DenyReason::WrongSegmentCount);
    };
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    let header = b64::decode(header_b64).ok_or(DenyReason::BadBase64)?;
    let payload = b64::decode(payload_b64).ok_or(DenyReason::BadBase64)?;
    if signature_b64.is_empty() {
        return Err(DenyReason::EmptySignature);
    }
    let signature = b64::decode(signature_b64).ok_or(DenyReason::BadBase64)?;
    Ok(Jws {
        signing_input,
        header,
        payload,
        signature,
    })
}
