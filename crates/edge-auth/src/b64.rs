//! Strict base64url: the JWS alphabet, no padding, canonical trailing bits.
//!
//! Lenient decoders accept `+`, `/`, `=` and non-zero trailing bits, which lets an attacker
//! mint many spellings of one signature; the edge function applies the same rules, so both
//! reject exactly the same segments.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Decodes one JWS segment, or `None` when it is not canonical unpadded base64url.
pub(crate) fn decode(segment: &str) -> Option<Vec<u8>> {
    if !segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    // The engine rejects padding, a length of 1 mod 4 and non-zero trailing bits.
    URL_SAFE_NO_PAD.decode(segment).ok()
}

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_padding_other_alphabets_and_trailing_bits() {
        assert_eq!(decode("YQ").as_deref(), Some(&b"a"[..]));
        assert!(decode("YQ==").is_none());
        assert!(decode("YR").is_none(), "non-zero trailing bits");
        assert!(decode("a+b/").is_none());
        assert!(decode("Y").is_none());
        assert!(decode("Y Q").is_none());
        assert_eq!(decode("").as_deref(), Some(&b""[..]));
    }
}
