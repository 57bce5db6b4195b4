//! Splitting a compact JWS into its decoded parts, strictly.

use crate::b64;
use crate::validate::DenyReason;

/// A token's three segments, decoded.
pub(crate) struct Jws<'t> {
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'t str,
    /// The header segment as sent.
    pub header_b64: &'t str,
    /// The header decoded; empty when the caller said it knows the header already.
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// The header segment of a token: everything before its first `.`.
pub(crate) fn header_segment(token: &str) -> &str {
    token.split_once('.').map_or(token, |(header, _)| header)
}

/// Splits a token and decodes its segments (the header only when `decode_header`, for a
/// header segment the caller has seen decoded before); every failure is a deny reason.
pub(crate) fn split(token: &str, decode_header: bool) -> Result<Jws<'_>, DenyReason> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DenyReason::WrongSegmentCount);
    };
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    let header = if decode_header {
        b64::decode(header_b64).ok_or(DenyReason::BadBase64)?
    } else {
        Vec::new()
    };
    let payload = b64::decode(payload_b64).ok_or(DenyReason::BadBase64)?;
    if signature_b64.is_empty() {
        return Err(DenyReason::EmptySignature);
    }
    let signature = b64::decode(signature_b64).ok_or(DenyReason::BadBase64)?;
    Ok(Jws {
        signing_input,
        header_b64,
        header,
        payload,
        signature,
    })
}
