//! Accounts and browser sessions: `POST /users`, `POST /auth/login`,
//! `POST /auth/logout`, `GET /me`.

use super::{Context, body_error, json_reply, with_context};
use crate::auth::{self, Caller, require_credential};
use crate::error::{Detail, Throttled, ValidationError};
use crate::http::body::{MAX_BODY_BYTES, Text, checked, json_object};
use crate::openapi::Document;
use messenger_proto::v1;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

/// A user as the REST API shows it.
#[derive(Serialize, ToSchema)]
pub struct User {
    #[schema(format = Uuid)]
    id: String,
    name: String,
    #[schema(format = Email)]
    email: String,
}

impl From<v1::User> for User {
    fn from(user: v1::User) -> Self {
        User {
            id: user.id,
            name: user.name,
            email: user.email,
        }
    }
}

/// The body of `POST /users`. Other fields are ignored.
#[derive(Deserialize, ToSchema)]
pub struct Registration {
    #[serde(default)]
    #[schema(value_type = String, required = true, max_length = 100)]
    name: Text,
    #[serde(default)]
    #[schema(value_type = String, required = true, format = Email)]
    email: Text,
    #[serde(default)]
    #[schema(value_type = String, required = true, format = Password, min_length = 8)]
    password: Text,
}

/// The body of `POST /auth/login`. Other fields are ignored.
#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    email: Text,
    #[serde(default)]
    #[schema(value_type = String, required = true, format = Password)]
    password: Text,
}

/// The four routes.
pub fn routes(
    document: &mut Document,
    context: Context,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + use<> {
    let body = warp::body::content_length_limit(MAX_BODY_BYTES).and(warp::body::bytes());
    let register = document
        .route::<__path_register>()
        .and(body)
        .and(context.caller())
        .and(with_context(context.clone()))
        .and_then(register);
    let login = document
        .route::<__path_login>()
        .and(body)
        .and(context.caller())
        .and(with_context(context.clone()))
        .and_then(login);
    let logout = document
        .route::<__path_logout>()
        .and(context.caller())
        .and(with_context(context.clone()))
        .and_then(logout);
    let me = document
        .route::<__path_me>()
        .and(context.caller())
        .and(with_context(context))
        .and_then(me);
    register.or(login).unify().or(logout).unify().or(me).unify()
}

/// Register an account
#[utoipa::path(
    post,
    path = "/users",
    request_body = Registration,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 409, description = "Email already registered", body = Detail),
        (status = 422, description = "Invalid fields; every one is listed", body = ValidationError),
        (status = 429, description = "Too many registrations from this address \
            (REGISTRATIONS_PER_ADDRESS per REGISTRATION_WINDOW_SECONDS); Retry-After says when",
            body = Detail),
        (status = 503, description = "Too many passwords waiting to be hashed, or the core is \
            unavailable: retry in a moment", body = Detail),
    )
)]
async fn register(
    body: bytes::Bytes,
    caller: Caller,
    context: Context,
) -> Result<Response, Rejection> {
    let form: Registration = json_object(&body)?;
    let mut invalid = Vec::new();
    let request = v1::RegisterRequest {
        name: form.name.take("name", &mut invalid),
        email: form.email.take("email", &mut invalid),
        password: form.password.take("password", &mut invalid),
    };
    let request = checked(request, invalid)?;
    let user = context
        .call(&caller, request, async |core, request| {
            core.register(request).await
        })
        .await
        .map_err(body_error)?;
    Ok(json_reply(&User::from(user), StatusCode::CREATED))
}

/// Log in and get a session cookie
#[utoipa::path(
    post,
    path = "/auth/login",
    request_body = Credentials,
    responses(
        (status = 200, body = User,
            description = "Logged in; Set-Cookie carries the session (HttpOnly, SameSite=Lax, Path=/)",
            headers(("Set-Cookie" = String))),
        (status = 401, description = "Wrong email or password", body = Detail),
        (status = 422, description = "Invalid fields; every one is listed", body = ValidationError),
        (status = 429, description = "Too many failed logins", body = Throttled,
            headers(("Retry-After" = u32))),
    )
)]
async fn login(
    body: bytes::Bytes,
    caller: Caller,
    context: Context,
) -> Result<Response, Rejection> {
    let form: Credentials = json_object(&body)?;
    let mut invalid = Vec::new();
    let request = v1::Login {
        email: form.email.take("email", &mut invalid),
        password: form.password.take("password", &mut invalid),
    };
    let request = checked(request, invalid)?;
    let session = context
        .call(&caller, request, async |core, request| {
            core.create_login_session(request).await
        })
        .await
        .map_err(body_error)?;
    let max_age = session
        .expires_at
        .as_ref()
        .and_then(messenger_proto::timestamp::from_proto)
        .map(|expiry| (expiry - chrono::Utc::now()).num_seconds())
        .unwrap_or(0);
    let cookie = auth::login_cookie(&session.token, max_age, context.cookie_secure);
    let user = User::from(session.user.unwrap_or_default());
    let reply = json_reply(&user, StatusCode::OK);
    Ok(warp::reply::with_header(reply, "set-cookie", cookie).into_response())
}

/// Revoke the session (or the bearer token's login)
#[utoipa::path(
    post,
    path = "/auth/logout",
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Revoked; the cookie is cleared"),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
    )
)]
async fn logout(caller: Caller, context: Context) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    context
        .call(&caller, v1::RevokeRequest {}, async |core, request| {
            core.revoke(request).await
        })
        .await
        .map_err(body_error)?;
    let reply = warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT);
    let cookie = auth::cleared_cookie(context.cookie_secure);
    Ok(warp::reply::with_header(reply, "set-cookie", cookie).into_response())
}

/// The authenticated user
#[utoipa::path(
    get,
    path = "/me",
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
    )
)]
async fn me(caller: Caller, context: Context) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    let asked = v1::AuthenticateRequest {};
    let user = context
        .call(&caller, asked, async |core, request| {
            core.authenticate(request).await
        })
        .await
        .map_err(body_error)?;
    Ok(json_reply(&User::from(user), StatusCode::OK))
}
