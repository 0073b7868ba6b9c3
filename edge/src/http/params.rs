//! Parameters that several routes read: a page of a list, the integers
//! that page and history take, and chat ids in paths, each invalid one
//! named.

use crate::error::{ApiError, InvalidParameter};
use serde_json::Value;
use utoipa::IntoParams;
use warp::Rejection;

/// The query parameters of a page of a list (chats, connections).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page: 50 when absent.
    #[param(minimum = 1)]
    limit: Option<u32>,
    /// How many of the list's first items to skip.
    #[param(minimum = 0)]
    offset: Option<u64>,
}

impl PageParams {
    /// The page asked for in `query`; a rejection lists every invalid
    /// parameter.
    pub fn from_query(query: &[(String, String)]) -> Result<Self, Rejection> {
        let mut invalid = Vec::new();
        let params = PageParams {
            limit: optional_limit(query, &mut invalid),
            offset: optional_integer(query, "offset", &mut invalid),
        };
        if invalid.is_empty() {
            Ok(params)
        } else {
            Err(warp::reject::custom(ApiError::Validation(invalid)))
        }
    }

    /// The page size for the core: 0 (none given) is its default.
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(0)
    }

    pub fn offset(&self) -> u64 {
        self.offset.unwrap_or(0)
    }
}

/// The `limit` parameter (≥ 1) if given and valid. Values above u32 are
/// refused by the core's maximum page size.
pub fn optional_limit(
    query: &[(String, String)],
    invalid: &mut Vec<InvalidParameter>,
) -> Option<u32> {
    integer(query, "limit", 1, invalid).map(|limit| u32::try_from(limit).unwrap_or(u32::MAX))
}

/// A query integer ≥ 0, if given and valid.
pub fn optional_integer(
    query: &[(String, String)],
    name: &'static str,
    invalid: &mut Vec<InvalidParameter>,
) -> Option<u64> {
    integer(query, name, 0, invalid).and_then(|value| u64::try_from(value).ok())
}

/// A query integer ≥ `min` (the last occurrence wins, as in most
/// frameworks); `None` when absent, or when bad, which is then added to
/// `invalid`.
fn integer(
    query: &[(String, String)],
    name: &'static str,
    min: i64,
    invalid: &mut Vec<InvalidParameter>,
) -> Option<i64> {
    let (_, text) = query.iter().rev().find(|(key, _)| key == name)?;
    let input = Value::String(text.clone());
    match text.trim().parse::<i64>() {
        Ok(value) if value >= min => Some(value),
        Ok(_) => {
            invalid.push(InvalidParameter {
                loc: ["query", name],
                msg: format!("Input should be greater than or equal to {min}"),
                kind: "greater_than_equal",
                input,
            });
            None
        }
        Err(_) => {
            invalid.push(InvalidParameter {
                loc: ["query", name],
                msg: "Input should be a valid integer, unable to parse string as an integer".into(),
                kind: "int_parsing",
                input,
            });
            None
        }
    }
}

/// Adds `value` to `invalid` unless it is a UUID: the path parameter `name`.
pub fn uuid_in_path(name: &'static str, value: &str, invalid: &mut Vec<InvalidParameter>) {
    if uuid::Uuid::parse_str(value).is_err() {
        invalid.push(InvalidParameter {
            loc: ["path", name],
            msg: "Input should be a valid UUID".into(),
            kind: "uuid_parsing",
            input: Value::String(value.to_owned()),
        });
    }
}
