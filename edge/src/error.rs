//! The edge's REST errors and the one place that maps them to HTTP.

use serde_json::{Value, json};
use tonic::{Code, Status};
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

/// One invalid request parameter, in the documented 422 body shape.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InvalidParameter {
    /// Where it is: `["path", "chat_id"]`, `["query", "limit"]`.
    pub loc: [&'static str; 2],
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub input: Value,
}

/// A REST request that failed.
#[derive(Debug)]
pub enum ApiError {
    /// 422: every invalid parameter.
    Validation(Vec<InvalidParameter>),
    /// 503: the core cannot be reached.
    CoreUnavailable,
    /// 503: the edge holds as many WebSocket connections as it may.
    TooManyConnections,
    /// 500: anything else; the cause was logged.
    Internal,
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    /// The HTTP response for this error.
    pub fn response(&self) -> Response {
        let (status, body) = match self {
            ApiError::Validation(invalid) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "detail": invalid }),
            ),
            ApiError::CoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "detail": "the messenger core is unavailable, retry later" }),
            ),
            ApiError::TooManyConnections => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "detail": "too many connections, retry later" }),
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "detail": "internal error" }),
            ),
        };
        warp::reply::with_status(warp::reply::json(&body), status).into_response()
    }

    /// Maps a core status; `field_in` tells where an invalid field came from.
    pub fn from_status(status: &Status, field_in: &'static str) -> ApiError {
        match status.code() {
            Code::InvalidArgument => {
                let field = status
                    .metadata()
                    .get(messenger_proto::INVALID_FIELD_METADATA)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("request");
                ApiError::Validation(vec![InvalidParameter {
                    loc: [field_in, known_parameter(field)],
                    msg: status.message().to_owned(),
                    kind: "value_error",
                    input: Value::Null,
                }])
            }
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                ApiError::CoreUnavailable
            }
            _ => {
                tracing::error!(%status, "core call failed");
                ApiError::Internal
            }
        }
    }
}

/// The parameter a core field name stands for (names outside the REST
/// parameters are reported as `request`).
fn known_parameter(field: &str) -> &'static str {
    match field {
        "chat_id" => "chat_id",
        "limit" => "limit",
        "offset" => "offset",
        _ => "request",
    }
}
