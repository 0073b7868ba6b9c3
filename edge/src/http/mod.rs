//! The REST endpoints.

pub mod accounts;
pub mod body;
pub mod chats;
pub mod connections;
pub mod docs;
pub mod health;
pub mod history;
pub mod oauth;
pub mod params;
pub mod people;
pub mod presence;

use crate::auth::Caller;
use crate::core_client::{CoreClient, Cores};
use serde::Serialize;
use startup::traces::Traces;
use std::convert::Infallible;
use std::sync::Arc;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

/// What every REST handler needs.
#[derive(Clone)]
pub struct Context {
    pub cores: Arc<Cores>,
    /// Whether session cookies get the `Secure` attribute.
    pub cookie_secure: bool,
    /// Where the requests' spans go.
    pub traces: Traces,
}

impl Context {
    /// The caller of a request, with the request's span.
    pub fn caller(&self) -> impl Filter<Extract = (Caller,), Error = Rejection> + Clone + use<> {
        crate::auth::caller(self.cookie_secure, self.traces.clone())
    }

    /// A core for one call: the next in turn that has not just failed.
    pub fn core(&self) -> CoreClient {
        self.cores.pick()
    }
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
