//! The common case of [`super::read`] without serde: a JSON object whose strings have no
//! escapes or control characters and whose numbers are non-negative integers of at most
//! 18 digits, which is every header and claims set a real issuer mints.
//!
//! The scanner only ever accepts. Anything outside that common case (an escape, a
//! fraction, a sign, deep nesting) or anything wrong (bad syntax, a duplicated member,
//! trailing text) makes it give up, and the serde reader decides the document instead, so
//! every refusal and its reason still come from one place. What it accepts it reads
//! exactly as the serde reader would (a property test holds the two together).
//!
//! It exists for `auth_rs256_vs_raw_verify_ratio` (`cargo xtask bench`): everything around
//! an RS256 signature check should cost under 5 % of it, and serde's visitor machinery
//! was half of what remained.

use std::borrow::Cow;

use super::{LONG_NAME, Member, Members, NameKey, SHORT_NAME_BYTES, name_key, same_name};

/// Deeper documents are left to serde, whose own limit is 128.
const MAX_DEPTH: usize = 32;

/// Member names an object holds before their duplicate check spills to the heap.
const SEEN_INLINE: usize = 16;

/// Reads the members `members` asks for from the object in `text` into it, or `None`
/// when the document is outside the common case or is refused (with `members` then partly
/// filled).
#[inline]
pub(super) fn read_into<'de, const SLOTS: usize>(text: &'de str, members: &mut Members<'de, SLOTS>) -> Option<()> {
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        text,
        at: 0,
    };
    scanner.skip_whitespace();
    scanner.object(0, Some(members))?;
    scanner.skip_whitespace();
    (scanner.at == scanner.bytes.len()).then_some(())
}

/// The length of the string text at the start of `bytes`: up to the first `"`, `\` or
/// control character, or `None` when there is none. Eight bytes at a time, because the
/// values worth reading are URLs and names.
#[inline(always)]
fn string_length(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        // The high bit of each byte that is 0 after the xor (a `"` or a `\`) or below
        // 0x20; a flag is only ever wrong above a byte that is truly flagged, so the
        // lowest one is exact (Bit Twiddling Hacks, "Determine if a word has a zero byte").
        let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        let flags = zero_byte(word ^ (ONES * u64::from(b'"')))
            | zero_byte(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGHS);
        if flags != 0 {
            return Some(at + flags.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| at + i)
}

/// The value of eight ASCII digits, or `None` when a byte is not one: simdjson's
/// "parse_eight_digits_unrolled" on one 64-bit word, in place of eight multiply-adds.
fn eight_digits(chunk: &[u8]) -> Option<u64> {
    const HIGH_NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZEROS: u64 = u64::from_le_bytes([b'0'; 8]);
    let word = u64::from_le_bytes(chunk.try_into().ok()?);
    // A digit's high nibble is 3 and stays 3 when 6 is added (its low nibble is at most 9).
    if word & HIGH_NIBBLES != ZEROS || word.wrapping_add(0x0606_0606_0606_0606) & HIGH_NIBBLES != ZEROS {
        return None;
    }
    // The first digit is the lowest byte. Pairs, then fours, then all eight are combined;
    // no lane carries into the next.
    let digits = word - ZEROS;
    let pairs = digits * 10 + (digits >> 8);
    let low = (pairs & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32));
    let high = ((pairs >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32));
    Some(low.wrapping_add(high) >> 32)
}

struct Scanner<'de> {
    text: &'de str,
    bytes: &'de [u8],
    at: usize,
}

#[expect(
    clippy::inline_always,
    reason = "LLVM keeps the string, name and integer reads out of line; inlining them saved 240 instructions a validation between them (callgrind)"
)]
impl<'de> Scanner<'de> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Consumes `byte`, or gives up.
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// A string without escapes or control characters, borrowed. The text is UTF-8 and
    /// `"` is ASCII, so both ends are character boundaries.
    #[inline(always)]
    fn string(&mut self) -> Option<&'de str> {
        self.expect(b'"')?;
        let start = self.at;
        let length = string_length(&self.bytes[start..])?;
        self.at = start + length;
        self.expect(b'"')?;
        Some(&self.text[start..start + length])
    }

    /// A member name and its [`NameKey`]. A short name's key is read as one word when
    /// eight bytes of the text start with it, as they do but at the very end of a document.
    #[inline(always)]
    fn name(&mut self) -> Option<(&'de str, NameKey)> {
        let start = self.at + 1;
        let name = self.string()?;
        let key = match self.bytes.get(start..start + 8) {
            Some(word) if name.len() <= SHORT_NAME_BYTES => {
                let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
                let mask = (1u64 << (8 * name.len())) - 1;
                (word & mask) | ((name.len() as u64) << 56)
            }
            _ => name_key(name),
        };
        Some((name, key))
    }

    /// A non-negative integer of at most 18 digits (so it fits a `u64`), as serde reads
    /// it: the `u64` converted to `f64`.
    #[inline(always)]
    fn integer(&mut self) -> Option<f64> {
        let start = self.at;
        let mut value = 0u64;
        // Eight digits at a time while eight more fit the 18 (a Unix time has ten).
        while self.at - start + 8 <= 18
            && let Some(digits) = self.bytes.get(self.at..self.at + 8).and_then(eight_digits)
        {
            value = value * 100_000_000 + digits;
            self.at += 8;
        }
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            value = value * 10 + u64::from(digit - b'0');
            self.at += 1;
            if self.at - start > 18 {
                return None;
            }
        }
        // A leading zero before more digits is invalid JSON; a fraction or an exponent is
        // serde's to read.
        let leading_zero = self.bytes[start] == b'0' && self.at - start > 1;
        if leading_zero || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        #[expect(
            clippy::cast_precision_loss,
            reason = "serde converts a u64 claim to f64 the same way"
        )]
        Some(value as f64)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.bytes[self.at..].starts_with(word).then(|| self.at += word.len())
    }

    /// Any value, kept as [`super::MemberSeed`] keeps it.
    fn value(&mut self, depth: usize) -> Option<Member<'de>> {
        let mut place = None;
        self.value_into(depth, &mut place)?;
        place
    }

    /// [`Scanner::value`], written into `place` (which is `None`). In place rather than
    /// returned, because moving the 32-byte value right after its fields were stored
    /// stalls the CPU (the store cannot be forwarded to the wider load): perf put a
    /// quarter of a claims read's time on that one load.
    fn value_into(&mut self, depth: usize, place: &mut Option<Member<'de>>) -> Option<()> {
        match self.peek()? {
            b'"' => {
                let text = self.string()?;
                *place = Some(Member::Str(Cow::Borrowed(text)));
            }
            b'0'..=b'9' => {
                let number = self.integer()?;
                *place = Some(Member::Num(number));
            }
            b't' => {
                self.literal(b"true")?;
                *place = Some(Member::True);
            }
            b'f' => {
                self.literal(b"false")?;
                *place = Some(Member::Other);
            }
            b'n' => {
                self.literal(b"null")?;
                *place = Some(Member::Other);
            }
            b'[' => *place = Some(self.array(depth + 1)?),
            b'{' => {
                self.object::<0>(depth + 1, None)?;
                *place = Some(Member::Other);
            }
            _ => return None,
        }
        Some(())
    }

    /// An array: the list of its strings when every element is one, `Other` otherwise.
    fn array(&mut self, depth: usize) -> Option<Member<'de>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.expect(b'[')?;
        self.skip_whitespace();
        let mut strings = Some(Vec::new());
        if self.peek() == Some(b']') {
            self.at += 1;
            return strings.map(Member::Strings);
        }
        loop {
            match (self.value(depth)?, strings.as_mut()) {
                (Member::Str(s), Some(list)) => list.push(s),
                _ => strings = None,
            }
            self.skip_whitespace();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.skip_whitespace();
                }
                b']' => {
                    self.at += 1;
                    return Some(strings.map_or(Member::Other, Member::Strings));
                }
                _ => return None,
            }
        }
    }

    /// An object, its values of the names `members` asks for read into it; gives up on a
    /// duplicated name.
    fn object<const SLOTS: usize>(
        &mut self,
        depth: usize,
        mut members: Option<&mut Members<'de, SLOTS>>,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.expect(b'{')?;
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Some(());
        }
        let mut seen = [(LONG_NAME, ""); SEEN_INLINE];
        let mut seen_count = 0;
        let mut spilled: Vec<(NameKey, &'de str)> = Vec::new();
        loop {
            let (name, key) = self.name()?;
            let same = |&(seen_key, seen_name): &(NameKey, &str)| same_name(name, key, seen_name, seen_key);
            let inline = &seen[..seen_count.min(SEEN_INLINE)];
            if inline.iter().any(same) || spilled.iter().any(same) {
                return None;
            }
            if seen_count < SEEN_INLINE {
                seen[seen_count] = (key, name);
            } else {
                spilled.push((key, name));
            }
            seen_count += 1;
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            let mut unwanted = None;
            let place = match members.as_deref_mut() {
                Some(members) => match members.slot(name, key) {
                    Some(slot) => &mut members.values[slot],
                    None => &mut unwanted,
                },
                None => &mut unwanted,
            };
            self.value_into(depth, place)?;
            self.skip_whitespace();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.skip_whitespace();
                }
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{JsonProblem, Names, read_with_serde};
    use super::*;

    const NAMES: Names<6> = Names::new(&["exp", "nbf", "iat", "iss", "aud"]);

    type Values<'de> = [Option<Member<'de>>; 6];

    fn fast(text: &str) -> Option<Values<'_>> {
        let mut members = Members::new(&NAMES, Some("tenant"));
        read_into(text, &mut members)?;
        Some(members.values)
    }

    fn serde(text: &str) -> Result<Values<'_>, JsonProblem> {
        read_with_serde(text.as_bytes(), &NAMES, Some("tenant")).map(|m| m.values)
    }

    #[test]
    fn reads_what_real_issuers_mint() {
        for text in [
            r#"{"sub":"ann","iss":"https://login.example","aud":"wiki","tenant":"acme","exp":1700000600,"iat":1700000000}"#,
            " {\n\t\"aud\" : [ \"wiki\" , \"api\" ] ,\r\"exp\":0, \"tenant\":\"é\" } \n",
            r#"{"realm_access":{"roles":["a","b"]},"email_verified":true,"x":null,"y":false,"z":[1,{"a":[]}],"exp":123456789012345678}"#,
            "{}",
        ] {
            let read = fast(text).unwrap_or_else(|| panic!("the scanner gave up on {text}"));
            assert_eq!(Ok(read), serde(text), "{text}");
        }
        // Long names that differ only past their eighth byte are not duplicates to the
        // scanner either (serde would accept them, but only after the scanner gave up).
        assert!(fast(r#"{"abcdefgh":1,"abcdefgi":2,"abcdefg":3,"tenant_idx":"x"}"#).is_some());
        let values = fast(r#"{"aud":["a","b"],"exp":5,"tenant":"acme","iss":"i"}"#).unwrap();
        assert_eq!(values[0], Some(Member::Num(5.0)));
        assert_eq!(values[3], Some(Member::Str("i".into())));
        assert_eq!(values[4], Some(Member::Strings(vec!["a".into(), "b".into()])));
        assert_eq!(values[5], Some(Member::Str("acme".into())));
    }

    #[test]
    fn leaves_everything_else_to_serde() {
        for text in [
            r#"{"a":"\u0061"}"#,
            r#"{"\u0061":1}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":-1}"#,
            r#"{"a":1.5}"#,
            r#"{"a":1e3}"#,
            r#"{"a":01}"#,
            r#"{"a":1234567890123456789}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"a":1,"a":2}}"#,
            r#"{"a":1,}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":tru}"#,
            r#"{"a":1} x"#,
            r#"[{"a":1}]"#,
            "\"a\"",
            "",
            &format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40)),
        ] {
            assert_eq!(fast(text), None, "{text}");
        }
        // Seventeen distinct members overflow the inline duplicate list into the spilled
        // one, and an eighteenth may repeat a name from either.
        let many: Vec<String> = (0..17).map(|i| format!("\"m{i}\":{i}")).collect();
        assert!(fast(&format!("{{{}}}", many.join(","))).is_some());
        assert!(fast(&format!("{{{},\"m3\":0}}", many.join(","))).is_none());
        assert!(fast(&format!("{{{},\"m16\":0}}", many.join(","))).is_none());
    }

    proptest! {
        /// Eight bytes at a time, exactly as one at a time: any bytes, stops anywhere.
        #[test]
        fn string_length_stops_where_a_byte_loop_does(bytes in prop::collection::vec(prop::sample::select(vec![b'a', b'"', b'\\', 0x1f, 0x20, 0x00, 0x7f, 0x80, 0xff, 0x21, 0x5b, 0x5d, 0xa2, 0xdc]), 0..40)) {
            let plain = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(string_length(&bytes), plain);
        }
    }

    proptest! {
        /// Eight digits read as one word are the number they spell; anything else is not
        /// read (bytes next to the digits in ASCII included).
        #[test]
        fn eight_digits_reads_exactly_eight_digits(bytes in prop::array::uniform8(prop::sample::select(vec![b'0', b'1', b'5', b'9', b'/', b':', b' ', b'9' + 0x80, b'0' - 0x10, 0x3f, b'a']))) {
            let plain = bytes.iter().all(u8::is_ascii_digit).then(|| {
                bytes.iter().fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'))
            });
            prop_assert_eq!(eight_digits(&bytes), plain);
        }

        #[test]
        fn eight_digits_reads_any_number_of_eight_digits(n in 0u64..100_000_000) {
            prop_assert_eq!(eight_digits(format!("{n:08}").as_bytes()), Some(n));
        }

        /// A name's key read as one word is the key worked out byte by byte, however
        /// close to the end of the text the name ends.
        #[test]
        fn name_keys_read_as_words_are_name_keys(name in "[a-z\u{e9}0-9_]{0,9}", rest in "[:0-9 ]{0,8}") {
            let text = format!("\"{name}\"{rest}");
            let mut scanner = Scanner { bytes: text.as_bytes(), text: &text, at: 0 };
            let (read, key) = scanner.name().unwrap();
            prop_assert_eq!(read, name.as_str());
            prop_assert_eq!(key, name_key(&name));
            prop_assert_eq!(key == LONG_NAME, name.len() > SHORT_NAME_BYTES);
        }
    }

    /// JSON values with the cases the scanner gives up on mixed in.
    fn value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            3 => "[a-zé ]{0,4}".prop_map(|s| format!("\"{s}\"")),
            3 => (0u64..10_000_000_000).prop_map(|n| n.to_string()),
            3 => prop::sample::select(vec!["true", "false", "null", "0", "999999999999999999"]).prop_map(str::to_owned),
            1 => any::<u64>().prop_map(|n| n.to_string()),
            1 => prop::sample::select(vec![
                r#""a\"b""#, r#""\u0061""#, "\"\u{1}\"", "-1", "-0", "1.5", "1e3", "01", "1234567890123456789",
            ])
            .prop_map(str::to_owned),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
                object(inner),
            ]
        })
    }

    fn object(values: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec![
            "exp", "nbf", "iat", "iss", "aud", "tenant", "sub", "a", "b", "", "exp", "aud", "tenant", "\\u0061",
            "abcdefg", "abcdefgh", "abcdefgi",
        ]);
        prop::collection::vec((name, values, prop::sample::select(vec!["", " ", "\n\t"])), 0..7).prop_map(|members| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(name, value, space)| format!("{space}\"{name}\"{space}:{space}{value}{space}"))
                .collect();
            format!("{{{}}}", members.join(","))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the scanner accepts, serde accepts and reads the same; and with the
        /// fallback, `read_str` decides every document (mutated ones too) as serde does.
        #[test]
        fn reads_exactly_what_serde_reads(
            doc in object(value()),
            edit in proptest::option::of((any::<prop::sample::Index>(), prop::sample::select(vec!["", ",", "}", "]", "\"", " ", "x", "1", "{", ":"]))),
        ) {
            let mut text = doc;
            if let Some((at, insert)) = edit {
                let mut chars: Vec<char> = text.chars().collect();
                let at = at.index(chars.len());
                if insert.is_empty() { chars.remove(at); } else { chars.splice(at..at, insert.chars()); }
                text = chars.into_iter().collect();
            }
            if let Some(read) = fast(&text) {
                prop_assert_eq!(Ok(read), serde(&text), "{}", text);
            }
            let read = super::super::read_str(&text, &NAMES, Some("tenant")).map(|m| m.values);
            prop_assert_eq!(read, serde(&text), "{}", text);
        }
    }
}
