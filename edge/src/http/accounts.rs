//! Accounts and browser sessions: `POST /users`, `POST /auth/login`,
//! `POST /auth/logout`, `GET /me`.

use super::{Context, json_reply, with_context};
use crate::auth::{self, Caller, caller};
use crate::error::ApiError;
use crate::http::body::{MAX_BODY_BYTES, string_fields};
use messenger_proto::v1::{AuthenticateRequest, Login, RegisterRequest, RevokeRequest, User};
use serde_json::json;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

/// The four routes.
pub fn routes(context: Context) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let body = warp::body::content_length_limit(MAX_BODY_BYTES).and(warp::body::bytes());
    let register = warp::path!("users")
        .and(warp::post())
        .and(body)
        .and(caller())
        .and(with_context(context.clone()))
        .and_then(register);
    let login = warp::path!("auth" / "login")
        .and(warp::post())
        .and(body)
        .and(caller())
        .and(with_context(context.clone()))
        .and_then(login);
    let logout = warp::path!("auth" / "logout")
        .and(warp::post())
        .and(caller())
        .and(with_context(context.clone()))
        .and_then(logout);
    let me = warp::path!("me")
        .and(warp::get())
        .and(caller())
        .and(with_context(context))
        .and_then(me);
    register.or(login).unify().or(logout).unify().or(me).unify()
}

/// A user as the REST API shows it.
pub fn user_json(user: &User) -> serde_json::Value {
    json!({"id": user.id, "name": user.name, "email": user.email})
}

async fn register(
    body: bytes::Bytes,
    caller: Caller,
    mut context: Context,
) -> Result<Response, Rejection> {
    let [name, email, password] = string_fields(&body, ["name", "email", "password"])?;
    let request = caller.request(RegisterRequest {
        name,
        email,
        password,
    });
    let user = context.core.register(request).await.map_err(body_error)?;
    Ok(json_reply(
        &user_json(&user.into_inner()),
        StatusCode::CREATED,
    ))
}

async fn login(
    body: bytes::Bytes,
    caller: Caller,
    mut context: Context,
) -> Result<Response, Rejection> {
    let [email, password] = string_fields(&body, ["email", "password"])?;
    let request = caller.request(Login { email, password });
    let session = context
        .core
        .create_login_session(request)
        .await
        .map_err(body_error)?
        .into_inner();
    let max_age = session
        .expires_at
        .as_ref()
        .and_then(messenger_proto::timestamp::from_proto)
        .map(|expiry| (expiry - chrono::Utc::now()).num_seconds())
        .unwrap_or(0);
    let cookie = auth::session_cookie(&session.token, max_age, context.cookie_secure);
    let user = session.user.unwrap_or_default();
    let reply = json_reply(&user_json(&user), StatusCode::OK);
    Ok(warp::reply::with_header(reply, "set-cookie", cookie).into_response())
}

async fn logout(caller: Caller, mut context: Context) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    context
        .core
        .revoke(caller.request(RevokeRequest {}))
        .await
        .map_err(body_error)?;
    let reply = warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT);
    let cookie = auth::cleared_cookie(context.cookie_secure);
    Ok(warp::reply::with_header(reply, "set-cookie", cookie).into_response())
}

async fn me(caller: Caller, mut context: Context) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    let user = context
        .core
        .authenticate(caller.request(AuthenticateRequest {}))
        .await
        .map_err(body_error)?;
    Ok(json_reply(&user_json(&user.into_inner()), StatusCode::OK))
}

/// 401 before calling the core when no credential was presented at all.
pub fn require_credential(caller: &Caller) -> Result<(), Rejection> {
    match caller.credential {
        Some(_) => Ok(()),
        None => Err(warp::reject::custom(ApiError::Unauthorized(
            "authentication required: a session cookie or a bearer token".into(),
        ))),
    }
}

fn body_error(status: tonic::Status) -> Rejection {
    warp::reject::custom(ApiError::from_status(&status, "body"))
}
