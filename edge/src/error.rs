//! The edge's REST errors (the OAuth endpoint's among them) and the one
//! place that maps them to HTTP.

use serde::Serialize;
use serde_json::{Value, json};
use tonic::{Code, Status};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

/// One invalid request parameter, in the documented 422 body shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InvalidParameter {
    /// Where it is: `["path", "chat_id"]`, `["query", "limit"]`.
    #[schema(value_type = Vec<String>, example = json!(["query", "limit"]))]
    pub loc: [&'static str; 2],
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The value given, when there was one.
    pub input: Value,
}

/// 422: every invalid parameter of the request.
#[derive(Serialize, ToSchema)]
pub struct ValidationError {
    pub detail: Vec<InvalidParameter>,
}

/// Any other error: what went wrong, in words.
#[derive(Serialize, ToSchema)]
pub struct Detail {
    pub detail: String,
}

/// 429: too many failed logins or registrations.
#[derive(Serialize, ToSchema)]
pub struct Throttled {
    pub detail: String,
    /// Seconds until a login may be tried again (also in `Retry-After`).
    pub retry_after: u32,
}

/// An OAuth 2.0 error body (RFC 6749 §5.2).
#[derive(Serialize, ToSchema)]
#[schema(as = OAuthError)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_grant`, `unsupported_grant_type`,
    /// `temporarily_unavailable` or `server_error`.
    pub error: &'static str,
    pub error_description: String,
}

/// A REST request that failed.
#[derive(Debug)]
pub enum ApiError {
    /// 422: every invalid parameter.
    Validation(Vec<InvalidParameter>),
    /// 401: no credential, or one that is invalid, expired or revoked; or a
    /// wrong email or password.
    Unauthorized(String),
    /// 403: authenticated, but not allowed (not a member, foreign origin).
    Forbidden(String),
    /// 409: the resource exists already.
    Conflict(String),
    /// 404: no such thing the caller may see.
    NotFound(String),
    /// 411: an upload without `Content-Length`.
    LengthRequired,
    /// 413: an upload beyond a limit (its size, the caller's storage, an
    /// image's pixels).
    TooLarge(String),
    /// 416: a range beyond a file of this many bytes.
    RangeNotSatisfiable(u64),
    /// 429: too many failed logins (or registrations); retry after this many seconds.
    TooManyAttempts(u32),
    /// An OAuth 2.0 error response (RFC 6749 §5.2).
    OAuth(OAuthError),
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
        let detail = |text: &str| {
            json!(Detail {
                detail: text.into()
            })
        };
        let (status, body, header) = match self {
            ApiError::Validation(invalid) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!(ValidationError {
                    detail: invalid.clone()
                }),
                None,
            ),
            ApiError::Unauthorized(text) => (
                StatusCode::UNAUTHORIZED,
                detail(text),
                Some(("www-authenticate", "Bearer".to_owned())),
            ),
            ApiError::Forbidden(text) => (StatusCode::FORBIDDEN, detail(text), None),
            ApiError::Conflict(text) => (StatusCode::CONFLICT, detail(text), None),
            ApiError::NotFound(text) => (StatusCode::NOT_FOUND, detail(text), None),
            ApiError::LengthRequired => (
                StatusCode::LENGTH_REQUIRED,
                detail("an upload needs its Content-Length"),
                None,
            ),
            ApiError::TooLarge(text) => (StatusCode::PAYLOAD_TOO_LARGE, detail(text), None),
            ApiError::RangeNotSatisfiable(size) => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                detail("the range is beyond the end of the file"),
                Some(("content-range", format!("bytes */{size}"))),
            ),
            ApiError::TooManyAttempts(seconds) => (
                StatusCode::TOO_MANY_REQUESTS,
                json!(Throttled {
                    detail: format!("too many attempts: retry in {seconds} seconds"),
                    retry_after: *seconds,
                }),
                Some(("retry-after", seconds.to_string())),
            ),
            ApiError::OAuth(error) => return error.response(),
            ApiError::CoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                detail("the messenger core is unavailable, retry later"),
                None,
            ),
            ApiError::TooManyConnections => (
                StatusCode::SERVICE_UNAVAILABLE,
                detail("too many connections, retry later"),
                None,
            ),
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                detail("internal error"),
                None,
            ),
        };
        let mut response =
            warp::reply::with_status(warp::reply::json(&body), status).into_response();
        if let Some((name, value)) = header
            && let Ok(value) = value.parse()
        {
            response.headers_mut().insert(name, value);
        }
        response
    }

    /// Fills in the value given for each invalid query parameter: the core
    /// names the field it refused, not what it was sent.
    pub fn with_query_input(mut self, query: &[(String, String)]) -> Self {
        if let ApiError::Validation(invalid) = &mut self {
            for parameter in invalid.iter_mut().filter(|p| p.loc[0] == "query") {
                let given = query.iter().rev().find(|(key, _)| key == parameter.loc[1]);
                if let Some((_, text)) = given {
                    parameter.input = Value::String(text.clone());
                }
            }
        }
        self
    }

    /// Maps a core status; `field_in` tells where an invalid field came from.
    pub fn from_status(status: &Status, field_in: &'static str) -> ApiError {
        let code = status
            .metadata()
            .get(messenger_proto::ERROR_CODE_METADATA)
            .and_then(|value| value.to_str().ok());
        let text = || status.message().to_owned();
        match code {
            Some("file_too_large" | "quota_exceeded" | "image_too_large") => {
                return ApiError::TooLarge(text());
            }
            Some("file_not_found" | "unknown_attachment" | "message_not_found") => {
                return ApiError::NotFound(text());
            }
            Some("attachment_in_use") => return ApiError::Conflict(text()),
            Some("range_not_satisfiable") => {
                let size = status
                    .metadata()
                    .get(messenger_proto::FILE_SIZE_METADATA)
                    .and_then(|value| value.to_str().ok()?.parse().ok())
                    .unwrap_or(0);
                return ApiError::RangeNotSatisfiable(size);
            }
            _ => {}
        }
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
            Code::Unauthenticated => ApiError::Unauthorized(status.message().to_owned()),
            Code::PermissionDenied => ApiError::Forbidden(status.message().to_owned()),
            Code::AlreadyExists => ApiError::Conflict(status.message().to_owned()),
            Code::ResourceExhausted => ApiError::TooManyAttempts(retry_after(status)),
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

/// The seconds to wait that a throttled login's status carries.
pub fn retry_after(status: &Status) -> u32 {
    status
        .metadata()
        .get(messenger_proto::RETRY_AFTER_METADATA)
        .and_then(|value| value.to_str().ok()?.parse().ok())
        .unwrap_or(60)
}

/// The parameter a core field name stands for (names outside the REST
/// parameters are reported as `request`).
fn known_parameter(field: &str) -> &'static str {
    match field {
        "chat_id" => "chat_id",
        "limit" => "limit",
        "offset" => "offset",
        "name" => "name",
        "email" => "email",
        "password" => "password",
        "query" => "query",
        "content_type" => "content_type",
        "body" => "body",
        _ => "request",
    }
}

/// An error response of RFC 6749 §5.2.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    pub retry_after: Option<u32>,
}

impl OAuthError {
    /// An error named `error` (one of §5.2's codes) with `status`.
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            retry_after: None,
        }
    }

    /// `invalid_request`: the request is malformed.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// The JSON response, uncacheable as §5.1 and §5.2 require.
    pub fn response(&self) -> Response {
        let body = OAuthErrorBody {
            error: self.error,
            error_description: self.description.clone(),
        };
        let mut response = no_store(warp::reply::with_status(
            warp::reply::json(&body),
            self.status,
        ));
        if let Some(seconds) = self.retry_after
            && let Ok(value) = seconds.to_string().parse()
        {
            response.headers_mut().insert("retry-after", value);
        }
        response
    }
}

/// `reply`, marked as not to be stored by any cache (token responses carry
/// secrets).
pub fn no_store(reply: impl Reply) -> Response {
    let mut response = reply.into_response();
    let headers = response.headers_mut();
    headers.insert(
        "cache-control",
        warp::http::HeaderValue::from_static("no-store"),
    );
    headers.insert("pragma", warp::http::HeaderValue::from_static("no-cache"));
    response
}
