//! JSON objects parsed strictly: a duplicated member name anywhere is an error.
//!
//! serde_json keeps the last duplicate and JavaScript's `JSON.parse` does too, so a token
//! with `{"alg":"HS256","alg":"none"}` means different things to different parsers. Both
//! the validator and the generated edge function refuse such documents outright.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value whose objects, at any depth, have unique member names.
pub(crate) struct StrictValue(pub Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let StrictValue(value) = map.next_value()?;
            if object.contains_key(&name) {
                return Err(de::Error::custom(format_args!("duplicate member {name:?}")));
            }
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

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

/// Parses bytes as one JSON object with unique member names.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonProblem> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(Value::Object(map))) => Ok(map),
        Ok(_) => Err(JsonProblem::NotObject),
        Err(err) if err.to_string().starts_with("duplicate member") => Err(JsonProblem::Duplicate),
        Err(_) => Err(JsonProblem::Syntax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_at_any_depth() {
        assert!(parse_object(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
        assert_eq!(parse_object(br#"{"a":1,"a":2}"#), Err(JsonProblem::Duplicate));
        assert_eq!(parse_object(br#"{"x":[{"a":1,"a":1}]}"#), Err(JsonProblem::Duplicate));
        // An escaped spelling of the same name is the same name.
        assert_eq!(parse_object(br#"{"a":1,"\u0061":2}"#), Err(JsonProblem::Duplicate));
        assert_eq!(parse_object(b"[1]"), Err(JsonProblem::NotObject));
        assert_eq!(parse_object(b"{"), Err(JsonProblem::Syntax));
        assert_eq!(parse_object(b"{} x"), Err(JsonProblem::Syntax));
    }
}
