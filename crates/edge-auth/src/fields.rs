//! Strict JSON: single-pass, allocation-light reading of the header and claim members the
//! validator checks, refusing a duplicated member name at any depth.
//!
//! serde_json keeps the last duplicate and JavaScript's `JSON.parse` does too, so a token
//! with `{"alg":"HS256","alg":"none"}` means different things to different parsers. Both
//! the validator and the generated edge function refuse such documents outright.
//!
//! Building a `serde_json::Value` for every header and claims set cost more than the HMAC
//! itself (issue 4 asks for 400,000 HS256 validations per second), so only the members
//! that decide are kept, as borrowed strings where the JSON has no escapes; the rest is
//! walked for duplicates and dropped. The claims text is kept and parsed on demand.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

mod scan;

/// Why a segment's JSON was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonProblem {
    /// Not JSON at all, or not UTF-8.
    Syntax,
    /// A member name appears twice in one object.
    Duplicate,
    /// Valid JSON, but not an object.
    NotObject,
}

/// A member name or string value, borrowed from the input when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// What a member's value turned out to be, keeping only what the checks need.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member<'de> {
    Str(Cow<'de, str>),
    Num(f64),
    True,
    /// An array whose elements were all strings (for `aud`).
    Strings(Vec<Cow<'de, str>>),
    /// Anything else (null, false, objects, other arrays).
    Other,
}

/// Walks any value, refusing duplicate member names; keeps strings, numbers, `true` and
/// arrays of strings.
struct MemberSeed;

impl<'de> DeserializeSeed<'de> for MemberSeed {
    type Value = Member<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Member<'de>, D::Error> {
        deserializer.deserialize_any(MemberVisitor)
    }
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Member<'de>, E> {
        Ok(if v { Member::True } else { Member::Other })
    }
    fn visit_i64<E>(self, v: i64) -> Result<Member<'de>, E> {
        Ok(Member::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Member<'de>, E> {
        Ok(Member::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Member<'de>, E> {
        Ok(Member::Num(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Member<'de>, E> {
        Ok(Member::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Member<'de>, E> {
        Ok(Member::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Member<'de>, E> {
        Ok(Member::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Member<'de>, E> {
        Ok(Member::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Member<'de>, A::Error> {
        let mut strings = Some(Vec::new());
        while let Some(item) = seq.next_element_seed(MemberSeed)? {
            match (item, strings.as_mut()) {
                (Member::Str(s), Some(list)) => list.push(s),
                _ => strings = None,
            }
        }
        Ok(strings.map_or(Member::Other, Member::Strings))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member<'de>, A::Error> {
        // One allocation for the usual handful of members, not one per doubling.
        let mut seen: Vec<Cow<'de, str>> = Vec::with_capacity(8);
        while let Some(Text(name)) = map.next_key()? {
            check_unique(&mut seen, name)?;
            map.next_value_seed(MemberSeed)?;
        }
        Ok(Member::Other)
    }
}

fn check_unique<'de, E: de::Error>(seen: &mut Vec<Cow<'de, str>>, name: Cow<'de, str>) -> Result<(), E> {
    if seen.contains(&name) {
        return Err(E::custom(format_args!("duplicate member {name:?}")));
    }
    seen.push(name);
    Ok(())
}

/// A member name of at most [`SHORT_NAME_BYTES`] bytes as one integer: its bytes,
/// little-endian, with its length in the top byte, so two short names are equal exactly
/// when their keys are. JWT member names are mostly three letters, and comparing them is
/// most of what finding a member's slot and refusing a duplicate costs.
pub(crate) type NameKey = u64;

/// The longest name with a key of its own.
pub(crate) const SHORT_NAME_BYTES: usize = 7;

/// The key of every longer name; such names are compared as text. No short name has it,
/// because its top byte would say a length of 255.
pub(crate) const LONG_NAME: NameKey = u64::MAX;

/// The [`NameKey`] of `name`.
pub(crate) const fn name_key(name: &str) -> NameKey {
    let bytes = name.as_bytes();
    if bytes.len() > SHORT_NAME_BYTES {
        return LONG_NAME;
    }
    let mut key = (bytes.len() as u64) << 56;
    let mut at = 0;
    while at < bytes.len() {
        key |= (bytes[at] as u64) << (8 * at);
        at += 1;
    }
    key
}

/// Whether `a` (whose key is `a_key`) and `b` (key `b_key`) are the same name: one integer
/// comparison for short names, the text for long ones.
#[inline]
pub(crate) fn same_name(a: &str, a_key: NameKey, b: &str, b_key: NameKey) -> bool {
    a_key == b_key && (a_key != LONG_NAME || a == b)
}

/// The member names a [`read`] keeps, with their keys worked out once, at compile time,
/// for a read into `SLOTS` places: one per name and one for the extra name. Each caller
/// sizes its own, because every place is set up, moved and dropped on every validation.
pub(crate) struct Names<const SLOTS: usize> {
    names: &'static [&'static str],
    keys: [NameKey; SLOTS],
}

impl<const SLOTS: usize> Names<SLOTS> {
    /// At most `SLOTS - 1` names: the extra one takes the last place.
    pub(crate) const fn new(names: &'static [&'static str]) -> Self {
        assert!(names.len() < SLOTS, "too many names: the extra one needs a place");
        let mut keys = [LONG_NAME; SLOTS];
        let mut at = 0;
        while at < names.len() {
            keys[at] = name_key(names[at]);
            at += 1;
        }
        Names { names, keys }
    }

    /// Where a read puts the value of the extra name `extra`: in the place of the name it
    /// equals, or right after the names (as [`Members`] does for every document).
    pub(crate) fn extra_slot(&self, extra: &str) -> usize {
        self.names
            .iter()
            .position(|name| *name == extra)
            .unwrap_or(self.names.len())
    }
}

/// The top-level members of an object, by name, for the names asked for.
pub(crate) struct Members<'de, const SLOTS: usize> {
    names: &'static Names<SLOTS>,
    extra: Option<(&'de str, NameKey)>,
    /// Values of `names` (and `extra` right after them), `None` when absent. An array,
    /// not a `Vec`: one allocation less on every validation.
    pub values: [Option<Member<'de>>; SLOTS],
}

impl<'de, const SLOTS: usize> Members<'de, SLOTS> {
    /// No member read yet.
    pub(crate) fn new(names: &'static Names<SLOTS>, extra: Option<&'de str>) -> Self {
        Members {
            names,
            extra: extra.map(|extra| (extra, name_key(extra))),
            values: [const { None }; SLOTS],
        }
    }

    /// Where the value of `name`, whose key is `key`, goes in `values`: its place among
    /// the names asked for, or right after them for the extra name; `None` for a name not
    /// asked for.
    #[inline]
    fn slot(&self, name: &str, key: NameKey) -> Option<usize> {
        let count = self.names.names.len();
        let same = |other: &str, other_key: NameKey| same_name(name, key, other, other_key);
        let mut names = self.names.names.iter().zip(&self.names.keys);
        names
            .position(|(&other, &other_key)| same(other, other_key))
            .or_else(|| {
                self.extra
                    .is_some_and(|(extra, extra_key)| same(extra, extra_key))
                    .then_some(count)
            })
    }

    /// The value of `name` (which must be one of the names asked for, or the extra name).
    pub fn get(&self, name: &str) -> Option<&Member<'de>> {
        self.values[self.slot(name, name_key(name))?].as_ref()
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

struct ObjectSeed<'de, const SLOTS: usize> {
    names: &'static Names<SLOTS>,
    extra: Option<&'de str>,
}

impl<'de, const SLOTS: usize> DeserializeSeed<'de> for ObjectSeed<'de, SLOTS> {
    type Value = Option<Members<'de, SLOTS>>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, const SLOTS: usize> Visitor<'de> for ObjectSeed<'de, SLOTS> {
    type Value = Option<Members<'de, SLOTS>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Members::new(self.names, self.extra);
        // One allocation for the usual handful of members, not one per doubling.
        let mut seen: Vec<Cow<'de, str>> = Vec::with_capacity(8);
        while let Some(Text(name)) = map.next_key()? {
            let slot = members.slot(&name, name_key(&name));
            check_unique(&mut seen, name)?;
            let value = map.next_value_seed(MemberSeed)?;
            if let Some(slot) = slot {
                members.values[slot] = Some(value);
            }
        }
        Ok(Some(members))
    }
    // Any other top-level value is "not an object"; arrays are still walked for duplicates.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element_seed(MemberSeed)?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Reads the members `names` (and `extra`) of the JSON object in `bytes`.
pub(crate) fn read<'de, const SLOTS: usize>(
    bytes: &'de [u8],
    names: &'static Names<SLOTS>,
    extra: Option<&'de str>,
) -> Result<Members<'de, SLOTS>, JsonProblem> {
    match std::str::from_utf8(bytes) {
        Ok(text) => read_str(text, names, extra),
        // Not UTF-8: serde refuses it and says where.
        Err(_) => read_with_serde(bytes, names, extra),
    }
}

/// [`read`] for text already known to be UTF-8.
pub(crate) fn read_str<'de, const SLOTS: usize>(
    text: &'de str,
    names: &'static Names<SLOTS>,
    extra: Option<&'de str>,
) -> Result<Members<'de, SLOTS>, JsonProblem> {
    let mut members = Members::new(names, extra);
    read_str_into(text, &mut members)?;
    Ok(members)
}

/// [`read_str`] into `members` (new, as [`Members::new`] makes them), which a refusal
/// leaves partly filled. The validation reads its claims this way: `Members` is a few
/// hundred bytes, and returning it copies it at each step out.
#[inline]
pub(crate) fn read_str_into<'de, const SLOTS: usize>(
    text: &'de str,
    members: &mut Members<'de, SLOTS>,
) -> Result<(), JsonProblem> {
    debug_assert!(
        members.values.iter().all(Option::is_none),
        "read_str_into needs new Members: a value from an earlier read would stay"
    );
    if scan::read_into(text, members).is_none() {
        *members = read_with_serde(text.as_bytes(), members.names, members.extra.map(|(extra, _)| extra))?;
    }
    Ok(())
}

/// The reader that decides every document, including each refusal and its reason.
fn read_with_serde<'de, const SLOTS: usize>(
    bytes: &'de [u8],
    names: &'static Names<SLOTS>,
    extra: Option<&'de str>,
) -> Result<Members<'de, SLOTS>, JsonProblem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = ObjectSeed { names, extra }.deserialize(&mut deserializer);
    match parsed.and_then(|members| deserializer.end().map(|()| members)) {
        Ok(Some(members)) => Ok(members),
        Ok(None) => Err(JsonProblem::NotObject),
        Err(err) if err.to_string().starts_with("duplicate member") => Err(JsonProblem::Duplicate),
        Err(_) => Err(JsonProblem::Syntax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_and_refuses_duplicates_anywhere() {
        const ALG_KID_AUD: Names<4> = Names::new(&["alg", "kid", "aud"]);
        const NONE: Names<1> = Names::new(&[]);
        const EXP: Names<2> = Names::new(&["exp"]);
        let m = read(
            br#"{"alg":"HS256","kid":"k\u0031","x":{"a":[1,{"b":2}]},"aud":["a","b"]}"#,
            &ALG_KID_AUD,
            None,
        )
        .unwrap();
        assert_eq!(m.get("alg"), Some(&Member::Str("HS256".into())));
        assert_eq!(m.get("kid"), Some(&Member::Str("k1".into())));
        assert_eq!(m.get("aud"), Some(&Member::Strings(vec!["a".into(), "b".into()])));
        assert!(!m.has("x"), "not asked for");
        assert_eq!(
            read(br#"{"x":{"a":1,"a":2}}"#, &NONE, None).err(),
            Some(JsonProblem::Duplicate)
        );
        assert_eq!(
            read(br#"{"a":1,"\u0061":2}"#, &NONE, None).err(),
            Some(JsonProblem::Duplicate)
        );
        assert_eq!(
            read(br#"[{"a":1,"a":2}]"#, &NONE, None).err(),
            Some(JsonProblem::Duplicate)
        );
        assert_eq!(read(b"[1]", &NONE, None).err(), Some(JsonProblem::NotObject));
        assert_eq!(read(b"{} x", &NONE, None).err(), Some(JsonProblem::Syntax));
        assert_eq!(read(b"{\"a\":\"\xff\"}", &NONE, None).err(), Some(JsonProblem::Syntax));
        // Names longer than a key holds are compared as text.
        assert_eq!(
            read(br#"{"abcdefgh":1,"abcdefgh":2}"#, &NONE, None).err(),
            Some(JsonProblem::Duplicate)
        );
        assert!(read(br#"{"abcdefgh":1,"abcdefgi":2,"abcdefg":3}"#, &NONE, None).is_ok());
        // A long extra name asked for is found by text, beside a long name not asked for.
        let m = read(
            br#"{"tenant_id":"acme","tenant_idx":"beta","exp":1}"#,
            &EXP,
            Some("tenant_id"),
        )
        .unwrap();
        assert_eq!(m.values, [Some(Member::Num(1.0)), Some(Member::Str("acme".into()))]);
        let m = read(br#"{"tenant":"acme","exp":1.5}"#, &EXP, Some("tenant")).unwrap();
        assert_eq!(m.get("tenant"), Some(&Member::Str("acme".into())));
        assert_eq!(m.get("exp"), Some(&Member::Num(1.5)));
        assert_eq!(m.values[1], Some(Member::Str("acme".into())), "the extra name's place");
        // An extra name that is also one of the names is read into the names' place.
        let m = read(br#"{"exp":7}"#, &EXP, Some("exp")).unwrap();
        assert_eq!(m.values, [Some(Member::Num(7.0)), None]);
    }

    #[test]
    fn name_keys_tell_short_names_apart() {
        let names = ["", "a", "a\u{0}", "\u{0}", "ab", "ba", "abcdefg", "abcdefh", "\u{e9}"];
        for (i, a) in names.iter().enumerate() {
            assert_ne!(name_key(a), LONG_NAME, "{a:?}");
            for b in &names[i + 1..] {
                assert_ne!(name_key(a), name_key(b), "{a:?} and {b:?}");
            }
        }
        assert_eq!(name_key("abcdefgh"), LONG_NAME);
    }
}
