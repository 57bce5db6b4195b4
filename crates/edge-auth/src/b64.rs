//! Strict base64url: the JWS alphabet, no padding, canonical trailing bits.
//!
//! Lenient decoders accept `+`, `/`, `=` and non-zero trailing bits, which lets an attacker
//! mint many spellings of one signature; the edge function applies the same rules, so both
//! reject exactly the same segments.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Decodes one JWS segment, or `None` when it is not canonical unpadded base64url.
pub(crate) fn decode(segment: &str) -> Option<Vec<u8>> {
    // The engine alone is strict enough: its URL-safe alphabet has no `+` or `/` (nor
    // whitespace or any non-ASCII byte), `NO_PAD` refuses `=`, and it rejects a length of
    // 1 mod 4 and non-zero trailing bits. The tests below hold it to each of these, and to
    // deciding exactly as the `base64` crate's strict engine does.
    base64_simd::URL_SAFE_NO_PAD.decode_to_vec(segment).ok()
}

/// [`decode`] into `buffer` when the bytes fit, onto the heap when they do not.
pub(crate) fn decode_into<'b>(segment: &str, buffer: &'b mut [MaybeUninit<u8>]) -> Option<Cow<'b, [u8]>> {
    let engine = base64_simd::URL_SAFE_NO_PAD;
    // Also refuses what `decode` refuses for its length alone, before the decoder (which
    // panics on a short buffer) sees the segment.
    let length = engine.decoded_length(segment.as_bytes()).ok()?;
    if length > buffer.len() {
        return decode(segment).map(Cow::Owned);
    }
    let decoded = engine
        .decode(segment.as_bytes(), base64_simd::Out::from_uninit_slice(buffer))
        .ok()?;
    Some(Cow::Borrowed(decoded))
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
        assert!(decode("YQ\n").is_none());
        assert!(decode("YW=J").is_none(), "padding inside");
        assert!(decode("YWJj+A").is_none());
        assert!(decode("YWJj/A").is_none());
        assert!(decode("YWJ\u{e9}").is_none(), "non-ASCII");
        assert_eq!(decode("").as_deref(), Some(&b""[..]));
    }

    proptest::proptest! {
        /// Any text over the alphabet plus the characters lenient decoders allow, of any
        /// length: the same bytes or the same refusal as the `base64` crate's strict engine.
        #[test]
        fn decides_as_the_base64_crates_strict_engine(
            text in "[A-Za-z0-9_\\-+/= \n\u{e9}]{0,80}",
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        ) {
            proptest::prop_assert_eq!(decode(&text), URL_SAFE_NO_PAD.decode(&text).ok());
            // Into a buffer that fits some decodings and not others: the same bytes.
            let mut buffer = [MaybeUninit::uninit(); 24];
            proptest::prop_assert_eq!(decode_into(&text, &mut buffer).map(Cow::into_owned), decode(&text));
            // Every canonical encoding decodes back, whatever its length, into the buffer
            // or (longer than 24 bytes) onto the heap.
            let encoded = encode(&bytes);
            proptest::prop_assert_eq!(decode(&encoded), Some(bytes.clone()));
            let into = decode_into(&encoded, &mut buffer);
            proptest::prop_assert_eq!(matches!(into, Some(Cow::Borrowed(_))), bytes.len() <= 24);
            proptest::prop_assert_eq!(into.map(Cow::into_owned), Some(bytes.clone()));
            // Mostly-valid text: the canonical encoding with one character changed.
            if !encoded.is_empty() {
                let mut chars: Vec<char> = encoded.chars().collect();
                let at = bytes.len() % chars.len();
                chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
                let changed: String = chars.into_iter().collect();
                proptest::prop_assert_eq!(decode(&changed), URL_SAFE_NO_PAD.decode(&changed).ok());
            }
        }
    }
}
