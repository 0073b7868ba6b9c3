//! The REST endpoints.

pub mod accounts;
pub mod body;
pub mod chats;
pub mod connections;
pub mod docs;
pub mod health;
pub mod history;
pub mod oauth;
pub mod people;
pub mod presence;

use crate::auth::Caller;
use crate::core_client::{CoreClient, Cores};
use crate::error::ApiError;
use history::{optional_integer, optional_limit};
use serde::Serialize;
use startup::traces::Traces;
use std::convert::Infallible;
use std::sync::Arc;
use utoipa::IntoParams;
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

/// A JSON response with `status`.
pub fn json_reply(body: &impl Serialize, status: StatusCode) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}
