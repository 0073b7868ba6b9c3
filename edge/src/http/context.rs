//! What every REST handler shares: the context (the cores, cookie and
//! trace settings), the one path of a call to the core, pages of lists,
//! and JSON replies.

use super::params::PageParams;
use crate::auth::Caller;
use crate::core_client::{CoreClient, Cores};
use crate::error::ApiError;
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
    /// Largest upload, in bytes.
    pub max_upload_bytes: u64,
}

impl Context {
    /// The caller of a request, with the request's span.
    pub fn caller(&self) -> impl Filter<Extract = (Caller,), Error = Rejection> + Clone + use<> {
        crate::auth::caller(self.cookie_secure, self.traces.clone())
    }

    /// What a GET route with query parameters hands its handler: the
    /// query's pairs (every one, so that each invalid one can be named),
    /// the caller, and this context.
    pub fn with_query(
        self,
    ) -> impl Filter<Extract = (Vec<(String, String)>, Caller, Context), Error = Rejection> + Clone + use<>
    {
        warp::query::<Vec<(String, String)>>()
            .and(self.caller())
            .and(with_context(self))
    }

    /// A page of one of the caller's lists: the page asked for in `query`
    /// made into the core's request by `request`, and the core's answer to
    /// `rpc` with it. Needs a credential.
    pub async fn page<Q, A>(
        &self,
        caller: &Caller,
        query: &[(String, String)],
        request: impl FnOnce(u32, u64) -> Q,
        rpc: impl AsyncFnOnce(
            &mut CoreClient,
            tonic::Request<Q>,
        ) -> Result<tonic::Response<A>, tonic::Status>,
    ) -> Result<A, Rejection> {
        crate::auth::require_credential(caller)?;
        let page = PageParams::from_query(query)?;
        let request = request(page.limit(), page.offset());
        self.call(caller, request, rpc).await.map_err(query_error)
    }

    /// Calls the core once on behalf of `caller` with `message`: the one
    /// path of every REST call. The core is the next in turn that has not
    /// just failed, and the request carries the caller's credential and
    /// address; `rpc` names the call.
    pub async fn call<Q, A>(
        &self,
        caller: &Caller,
        message: Q,
        rpc: impl AsyncFnOnce(
            &mut CoreClient,
            tonic::Request<Q>,
        ) -> Result<tonic::Response<A>, tonic::Status>,
    ) -> Result<A, tonic::Status> {
        let mut core = self.cores.pick();
        let answer = rpc(&mut core, caller.request(message)).await?;
        Ok(answer.into_inner())
    }
}

/// A failed call about a request's query parameters, as the API's error.
pub fn query_error(status: tonic::Status) -> Rejection {
    warp::reject::custom(ApiError::from_status(&status, "query"))
}

/// A failed call about a request's body, as the API's error.
pub fn body_error(status: tonic::Status) -> Rejection {
    warp::reject::custom(ApiError::from_status(&status, "body"))
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
