//! Reading JSON request bodies field by field, so that every problem is
//! reported in the documented 422 shape.

use crate::error::{ApiError, InvalidParameter};
use serde_json::Value;

/// Largest JSON body accepted by the account endpoints.
pub const MAX_BODY_BYTES: u64 = 16 * 1024;

/// The string fields `names` of a JSON object body, or a 422 listing every
/// missing or mistyped one.
pub fn string_fields<const N: usize>(
    body: &[u8],
    names: [&'static str; N],
) -> Result<[String; N], ApiError> {
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => object,
        Ok(_) | Err(_) => {
            return Err(ApiError::Validation(vec![InvalidParameter {
                loc: ["body", "body"],
                msg: "Input should be a JSON object".into(),
                kind: "json_invalid",
                input: Value::Null,
            }]));
        }
    };
    let mut invalid = Vec::new();
    let values = names.map(|name| match object.get(name) {
        Some(Value::String(text)) => text.clone(),
        Some(other) => {
            invalid.push(InvalidParameter {
                loc: ["body", name],
                msg: "Input should be a valid string".into(),
                kind: "string_type",
                input: other.clone(),
            });
            String::new()
        }
        None => {
            invalid.push(InvalidParameter {
                loc: ["body", name],
                msg: "Field required".into(),
                kind: "missing",
                input: Value::Null,
            });
            String::new()
        }
    });
    if invalid.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::Validation(invalid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_lists_every_problem() {
        let [a, b] = string_fields(br#"{"a":"x","b":"y","c":1}"#, ["a", "b"]).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("x", "y"));
        let Err(ApiError::Validation(invalid)) = string_fields(br#"{"a":1}"#, ["a", "b"]) else {
            panic!("expected a validation error");
        };
        let kinds: Vec<_> = invalid.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["string_type", "missing"]);
        assert!(string_fields(b"nope", ["a"]).is_err());
    }
}
