//! Splitting a compact JWS into its decoded parts, strictly.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use crate::b64;
use crate::validate::DenyReason;

/// A token's three segments, decoded.
pub(crate) struct Jws<'t, 'b> {
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'t str,
    /// The header segment as sent.
    pub header_b64: &'t str,
    /// The header decoded; empty when the caller said it knows the header already.
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    /// In the caller's buffer when it fits (every signature a supported key can make
    /// does), so that a validation allocates for it only when it will fail anyway.
    pub signature: Cow<'b, [u8]>,
}

/// Room for the longest signature a supported key makes: RSA-8192's 1,024 bytes.
pub(crate) const SIGNATURE_BUFFER_BYTES: usize = 1024;

/// Where [`split`] decodes a signature.
pub(crate) type SignatureBuffer = [MaybeUninit<u8>; SIGNATURE_BUFFER_BYTES];

/// An empty [`SignatureBuffer`]; nothing in it is read before the decoder writes it.
pub(crate) const fn signature_buffer() -> SignatureBuffer {
    [MaybeUninit::uninit(); SIGNATURE_BUFFER_BYTES]
}

/// The header segment of a token: everything before its first `.`.
pub(crate) fn header_segment(token: &str) -> &str {
    // `.` is ASCII, so its index is a character boundary.
    memchr::memchr(b'.', token.as_bytes()).map_or(token, |dot| &token[..dot])
}

/// Splits a token whose [`header_segment`] is `header_b64` and decodes its segments (the
/// header only when `decode_header`, for a header segment the caller has seen decoded
/// before; the signature into `buffer` when it fits); every failure is a deny reason.
pub(crate) fn split<'t, 'b>(
    token: &'t str,
    header_b64: &'t str,
    decode_header: bool,
    buffer: &'b mut SignatureBuffer,
) -> Result<Jws<'t, 'b>, DenyReason> {
    debug_assert_eq!(
        header_b64,
        header_segment(token),
        "split needs the token's own header segment"
    );
    match split_valid(token, header_b64, decode_header, buffer) {
        Some(jws) => Ok(jws),
        None => split_strictly(token, decode_header),
    }
}

/// The split of a well-formed token without looking for a fourth segment: the signature
/// is everything after the second `.`, and a `.` in it fails its base64 decoding. Any
/// failure is left to [`split_strictly`], which finds the reason in the order the edge
/// function does. This saves scanning the 342 characters of an RS256 signature and the
/// header twice.
fn split_valid<'t, 'b>(
    token: &'t str,
    header_b64: &'t str,
    decode_header: bool,
    buffer: &'b mut SignatureBuffer,
) -> Option<Jws<'t, 'b>> {
    let rest = token.get(header_b64.len()..)?.strip_prefix('.')?;
    let dot = memchr::memchr(b'.', rest.as_bytes())?;
    let (payload_b64, signature_b64) = (&rest[..dot], &rest[dot + 1..]);
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
        signature: b64::decode_into(signature_b64, buffer)?,
    })
}

/// Splits a token and decodes its segments, checking each in turn.
fn split_strictly(token: &str, decode_header: bool) -> Result<Jws<'_, 'static>, DenyReason> {
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
    let signature = Cow::Owned(b64::decode(signature_b64).ok_or(DenyReason::BadBase64)?);
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

    fn parts<'t>(jws: Result<Jws<'t, '_>, DenyReason>) -> Parts<'t> {
        jws.map(|j| {
            (
                j.signing_input,
                j.header_b64,
                j.header,
                j.payload,
                j.signature.into_owned(),
            )
        })
    }

    fn quick(token: &str, decode_header: bool) -> Parts<'_> {
        parts(split(
            token,
            header_segment(token),
            decode_header,
            &mut signature_buffer(),
        ))
    }

    proptest::proptest! {
        /// The quick split and the strict one agree on every token, valid or not, down to
        /// the reason: segments of base64url, stray dots, padding and empty segments.
        #[test]
        fn splits_as_the_strict_split_does(
            token in "([A-Za-z0-9_\\-]{0,6}[.+=]?){0,5}",
            decode_header in proptest::prelude::any::<bool>(),
        ) {
            proptest::prop_assert_eq!(quick(&token, decode_header), parts(split_strictly(&token, decode_header)));
        }
    }

    #[test]
    fn takes_the_quick_path_for_a_valid_token_only() {
        let valid = |token| split_valid(token, header_segment(token), true, &mut signature_buffer()).is_some();
        assert!(valid("eyJ9.e30.c2ln"));
        // A fourth segment is found by the signature's decoding, which refuses the `.`.
        for token in [
            "eyJ9.e30.c2ln.",
            "eyJ9.e30.c2.ln",
            "eyJ9.e30.",
            "eyJ9.e30",
            "eyJ9.e3=.c2ln",
            "eyJ9",
        ] {
            assert!(!valid(token), "{token}");
        }
        assert_eq!(quick("a.b.c.d", true).err(), Some(DenyReason::WrongSegmentCount));
        assert_eq!(quick("eyJ9.e30.c2ln.", true).err(), Some(DenyReason::WrongSegmentCount));
        assert_eq!(quick("eyJ9.e30.", true).err(), Some(DenyReason::EmptySignature));
        assert_eq!(quick("eyJ9.e30.c2l=", true).err(), Some(DenyReason::BadBase64));
    }

    #[test]
    fn a_signature_too_long_for_the_buffer_is_decoded_on_the_heap() {
        let long = b64::encode(&[7; SIGNATURE_BUFFER_BYTES + 1]);
        let token = format!("eyJ9.e30.{long}");
        let mut buffer = signature_buffer();
        let jws = split(&token, "eyJ9", true, &mut buffer).unwrap();
        assert!(matches!(jws.signature, Cow::Owned(_)));
        assert_eq!(jws.signature.len(), SIGNATURE_BUFFER_BYTES + 1);
        let fits = format!("eyJ9.e30.{}", b64::encode(&[7; SIGNATURE_BUFFER_BYTES]));
        let jws = split(&fits, "eyJ9", true, &mut buffer).unwrap();
        assert!(matches!(jws.signature, Cow::Borrowed(_)));
        assert_eq!(*jws.signature, [7; SIGNATURE_BUFFER_BYTES]);
    }
}
