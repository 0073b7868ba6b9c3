//! Turns every warp rejection into a JSON response: the edge's errors get
//! their own status, warp's built-in ones a plain `{"detail": …}`.

use crate::error::ApiError;
use serde_json::json;
use std::convert::Infallible;
use warp::Rejection;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

/// The one rejection → HTTP mapping of the edge.
pub async fn handle_rejection(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(error) = rejection.find::<ApiError>() {
        return Ok(error.response());
    }
    if rejection.find::<crate::hosts::UnknownHost>().is_some() {
        let body = warp::reply::json(&json!({ "detail": "this edge does not serve that host" }));
        return Ok(warp::reply::with_status(body, StatusCode::MISDIRECTED_REQUEST).into_response());
    }
    if let Some(crate::ws::upgrade::NotAnUpgrade(reason)) = rejection.find() {
        let body =
            warp::reply::json(&json!({ "detail": format!("not a WebSocket upgrade: {reason}") }));
        return Ok(warp::reply::with_status(body, StatusCode::BAD_REQUEST).into_response());
    }
    // A route's own refusals come before "method not allowed", which only
    // says that another route of the same path was tried (`GET /users`
    // beside `POST /users`).
    let (status, detail) = if rejection.is_not_found() {
        (StatusCode::NOT_FOUND, "Not Found")
    } else if rejection.find::<warp::cors::CorsForbidden>().is_some() {
        (StatusCode::FORBIDDEN, "origin not allowed")
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        (StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        (StatusCode::LENGTH_REQUIRED, "content-length required")
    } else if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        (StatusCode::BAD_REQUEST, "invalid query string")
    } else if rejection.find::<warp::reject::MissingHeader>().is_some()
        || rejection.find::<warp::reject::InvalidHeader>().is_some()
    {
        (StatusCode::BAD_REQUEST, "missing or invalid header")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some()
        || rejection
            .find::<crate::openapi::MethodNotAllowed>()
            .is_some()
    {
        (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
    } else {
        tracing::warn!(?rejection, "unhandled rejection");
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    };
    let body = warp::reply::json(&json!({ "detail": detail }));
    Ok(warp::reply::with_status(body, status).into_response())
}
