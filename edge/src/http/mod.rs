//! The REST endpoints.

pub mod accounts;
pub mod body;
pub mod chats;
pub mod connections;
pub mod docs;
pub mod history;
pub mod oauth;

use crate::core_client::CoreClient;
use serde::Serialize;
use std::convert::Infallible;
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

/// What every REST handler needs.
#[derive(Clone)]
pub struct Context {
    pub core: CoreClient,
    /// Whether session cookies get the `Secure` attribute.
    pub cookie_secure: bool,
}

/// Hands a clone of `context` to a handler.
pub fn with_context(
    context: Context,
) -> impl Filter<Extract = (Context,), Error = Infallible> + Clone {
    warp::any().map(move || context.clone())
}

/// A JSON response with `status`.
pub fn json_reply(body: &impl Serialize, status: StatusCode) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}
