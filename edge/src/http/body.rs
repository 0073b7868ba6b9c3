//! Reading JSON request bodies with serde while still reporting every
//! problem at once in the documented 422 shape: each field is a [`Text`],
//! which keeps what was given, so one pass finds all missing or mistyped
//! fields instead of stopping at the first.

use crate::error::{ApiError, InvalidParameter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Largest JSON body accepted by the account endpoints.
pub const MAX_BODY_BYTES: u64 = 16 * 1024;

/// A string field of a body as it arrived.
#[derive(Debug, Default)]
pub enum Text {
    #[default]
    Missing,
    /// Present, but not a string.
    NotText(Value),
    Given(String),
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::String(text) => Text::Given(text),
            other => Text::NotText(other),
        })
    }
}

impl Text {
    /// The string, or an empty one after adding the problem to `invalid`.
    pub fn take(self, name: &'static str, invalid: &mut Vec<InvalidParameter>) -> String {
        let (msg, kind, input) = match self {
            Text::Given(text) => return text,
            Text::NotText(input) => ("Input should be a valid string", "string_type", input),
            Text::Missing => ("Field required", "missing", Value::Null),
        };
        invalid.push(InvalidParameter {
            loc: ["body", name],
            msg: msg.into(),
            kind,
            input,
        });
        String::new()
    }
}

/// `body` as `T`, or the 422 for a body that is not a JSON object. (An
/// array is refused here: serde would read a struct from one too.)
pub fn json_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    match serde_json::from_slice(body) {
        Ok(object @ Value::Object(_)) => T::deserialize(object).map_err(|_| not_an_object()),
        Ok(_) | Err(_) => Err(not_an_object()),
    }
}

fn not_an_object() -> ApiError {
    ApiError::Validation(vec![InvalidParameter {
        loc: ["body", "body"],
        msg: "Input should be a JSON object".into(),
        kind: "json_invalid",
        input: Value::Null,
    }])
}

/// `Ok(value)` if nothing was invalid, else the 422 listing it all.
pub fn checked<T>(value: T, invalid: Vec<InvalidParameter>) -> Result<T, ApiError> {
    if invalid.is_empty() {
        Ok(value)
    } else {
        Err(ApiError::Validation(invalid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Pair {
        #[serde(default)]
        a: Text,
        #[serde(default)]
        b: Text,
    }

    fn read(body: &[u8]) -> Result<(String, String), ApiError> {
        let pair: Pair = json_object(body)?;
        let mut invalid = Vec::new();
        let values = (
            pair.a.take("a", &mut invalid),
            pair.b.take("b", &mut invalid),
        );
        checked(values, invalid)
    }

    #[test]
    fn reads_fields_and_lists_every_problem() {
        let (a, b) = read(br#"{"a":"x","b":"y","c":1}"#).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("x", "y"));
        let Err(ApiError::Validation(invalid)) = read(br#"{"a":1}"#) else {
            panic!("expected a validation error");
        };
        let kinds: Vec<_> = invalid.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["string_type", "missing"]);
        assert_eq!(invalid[0].input, Value::from(1));
        for body in [&b"nope"[..], b"[1]", b"\"text\""] {
            let Err(ApiError::Validation(invalid)) = read(body) else {
                panic!("expected a validation error");
            };
            assert_eq!(invalid[0].kind, "json_invalid");
        }
    }
}
