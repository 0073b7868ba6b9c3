//! `POST /oauth/token`: the OAuth 2.0 token endpoint (RFC 6749) with the
//! resource-owner password grant (§4.3) and the refresh-token grant (§6).
//!
//! Clients are public (no client authentication); `client_id` and `scope`
//! are accepted and ignored. Responses carry `Cache-Control: no-store`.

use super::{Context, with_context};
use crate::auth::Caller;
use crate::error::{ApiError, OAuthError, OAuthErrorBody, no_store, retry_after};
use crate::http::body::MAX_BODY_BYTES;
use crate::openapi::Document;
use messenger_proto::v1::token_request::Grant;
use messenger_proto::v1::{PasswordGrant, RefreshGrant, TokenGrant, TokenRequest};
use serde::{Deserialize, Serialize};
use tonic::Code;
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// The form of a token request. Other fields (`client_id`, `scope`) are
/// ignored; a repeated field is an error.
#[derive(Deserialize, ToSchema)]
pub struct TokenForm {
    /// `password` or `refresh_token`.
    #[schema(required = true)]
    grant_type: Option<String>,
    /// The account's email (password grant).
    username: Option<String>,
    #[schema(format = Password)]
    password: Option<String>,
    /// The refresh token of the last grant (refresh grant).
    refresh_token: Option<String>,
}

/// The §5.1 success body.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse<'a> {
    access_token: &'a str,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds the access token is valid for.
    expires_in: u32,
    refresh_token: &'a str,
}

/// The route.
pub fn route(
    document: &mut Document,
    context: Context,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + use<> {
    document
        .route::<__path_token>()
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::bytes())
        .and(context.caller())
        .and(with_context(context))
        .and_then(token)
}

/// OAuth 2.0 token endpoint (password and refresh_token grants)
#[utoipa::path(
    post,
    path = "/oauth/token",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens (Cache-Control: no-store)", body = TokenResponse),
        (status = 400, description = "RFC 6749 §5.2 error", body = OAuthErrorBody),
        (status = 429, description = "Too many failed logins", body = OAuthErrorBody,
            headers(("Retry-After" = u32))),
        (status = 503, description = "The messenger core is unavailable", body = OAuthErrorBody),
    )
)]
async fn token(
    content_type: Option<String>,
    body: bytes::Bytes,
    caller: Caller,
    context: Context,
) -> Result<Response, Rejection> {
    let request = parse(content_type.as_deref(), &body).map_err(reject)?;
    let grant = context
        .call(&caller, request, async |core, request| {
            core.grant_tokens(request).await
        })
        .await
        .map_err(|status| reject(status_error(&status)))?;
    Ok(success(&grant))
}

fn reject(error: OAuthError) -> Rejection {
    warp::reject::custom(ApiError::OAuth(error))
}

/// Reads the form into a grant request, or the §5.2 error for it.
fn parse(content_type: Option<&str>, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    let form_type = "application/x-www-form-urlencoded";
    if !content_type.is_some_and(|value| value.trim().starts_with(form_type)) {
        return Err(OAuthError::invalid_request(format!(
            "the body must be {form_type}"
        )));
    }
    let form: TokenForm = serde_urlencoded::from_bytes(body).map_err(|error| {
        OAuthError::invalid_request(format!("the body is not a valid form: {error}"))
    })?;
    let required = |value: Option<String>, name: &str| {
        value
            .filter(|value| !value.is_empty())
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    };
    let grant = match required(form.grant_type, "grant_type")?.as_str() {
        "password" => Grant::Password(PasswordGrant {
            username: required(form.username, "username")?,
            password: required(form.password, "password")?,
        }),
        "refresh_token" => Grant::Refresh(RefreshGrant {
            refresh_token: required(form.refresh_token, "refresh_token")?,
        }),
        other => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported; use password or refresh_token"),
            ));
        }
    };
    Ok(TokenRequest { grant: Some(grant) })
}

fn status_error(status: &tonic::Status) -> OAuthError {
    match status.code() {
        Code::Unauthenticated => {
            OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", status.message())
        }
        Code::ResourceExhausted => OAuthError {
            retry_after: Some(retry_after(status)),
            ..OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_request",
                status.message(),
            )
        },
        Code::InvalidArgument => OAuthError::invalid_request(status.message()),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the messenger core is unavailable, retry later",
        ),
        _ => {
            tracing::error!(%status, "token grant failed");
            OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            )
        }
    }
}

/// The §5.1 success response.
fn success(grant: &TokenGrant) -> Response {
    no_store(warp::reply::json(&TokenResponse {
        access_token: &grant.access_token,
        token_type: "Bearer",
        expires_in: grant.expires_in,
        refresh_token: &grant.refresh_token,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn reads_both_grants() {
        let request = parse(
            FORM,
            b"grant_type=password&username=a%40example.com&password=p%26w",
        )
        .unwrap();
        let Some(Grant::Password(grant)) = request.grant else {
            panic!("not a password grant");
        };
        assert_eq!(
            (grant.username.as_str(), grant.password.as_str()),
            ("a@example.com", "p&w")
        );
        let request = parse(FORM, b"grant_type=refresh_token&refresh_token=msr_1").unwrap();
        assert!(matches!(request.grant, Some(Grant::Refresh(_))));
    }

    #[test]
    fn errors_follow_section_5_2() {
        let error = |content_type, body: &[u8]| parse(content_type, body).unwrap_err().error;
        assert_eq!(error(FORM, b"username=a"), "invalid_request");
        assert_eq!(
            error(FORM, b"grant_type=password&username=a"),
            "invalid_request"
        );
        assert_eq!(
            error(FORM, b"grant_type=client_credentials"),
            "unsupported_grant_type"
        );
        assert_eq!(
            error(FORM, b"grant_type=password&grant_type=password"),
            "invalid_request"
        );
        assert_eq!(error(Some("application/json"), b"{}"), "invalid_request");
    }
}
