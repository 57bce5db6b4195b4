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
    split_valid(token, decode_header).map_or_else(|| split_strictly(token, decode_header), Ok)
}

/// The split of a well-formed token without looking for a fourth segment: the signature
/// is everything after the second `.`, and a `.` in it fails its base64 decoding. Any
/// failure is left to [`split_strictly`], which finds the reason in the order the edge
/// function does. This saves scanning the 342 characters of an RS256 signature twice.
fn split_valid(token: &str, decode_header: bool) -> Option<Jws<'_>> {
    let (header_b64, rest) = token.split_once('.')?;
    let (payload_b64, signature_b64) = rest.split_once('.')?;
    if signature_b64.is_empty() {
        return None;
    }
    let header = if decode_header {
        b64::decode(header_b64)?
    } else {
        Vec::new()
    };
    Some(Jws {
        signing_input: &token[..header_b64.len() + 1 + payload_b64.len()],
        header_b64,
        header,
        payload: b64::decode(payload_b64)?,
        signature: b64::decode(signature_b64)?,
    })
}

/// Splits a token and decodes its segments, checking each in turn.
fn split_strictly(token: &str, decode_header: bool) -> Result<Jws<'_>, DenyReason> {
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

#[cfg(test)]
mod tests {
    use super::*;

    type Parts<'t> = Result<(&'t str, &'t str, Vec<u8>, Vec<u8>, Vec<u8>), DenyReason>;

    fn parts(jws: Result<Jws<'_>, DenyReason>) -> Parts<'_> {
        jws.map(|j| (j.signing_input, j.header_b64, j.header, j.payload, j.signature))
    }

    proptest::proptest! {
        /// The quick split and the strict one agree on every token, valid or not, down to
        /// the reason: segments of base64url, stray dots, padding and empty segments.
        #[test]
        fn splits_as_the_strict_split_does(
            token in "([A-Za-z0-9_\\-]{0,6}[.+=]?){0,5}",
            decode_header in proptest::prelude::any::<bool>(),
        ) {
            proptest::prop_assert_eq!(parts(split(&token, decode_header)), parts(split_strictly(&token, decode_header)));
        }
    }

    #[test]
    fn takes_the_quick_path_for_a_valid_token_only() {
        assert!(split_valid("eyJ9.e30.c2ln", true).is_some());
        for token in [
            "eyJ9.e30.c2ln.",
            "eyJ9.e30.c2.ln",
            "eyJ9.e30.",
            "eyJ9.e30",
            "eyJ9.e3=.c2ln",
        ] {
            assert!(split_valid(token, true).is_none(), "{token}");
        }
        assert_eq!(split("a.b.c.d", true).err(), Some(DenyReason::WrongSegmentCount));
        assert_eq!(split("eyJ9.e30.", true).err(), Some(DenyReason::EmptySignature));
    }
}
