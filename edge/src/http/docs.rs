//! `GET /openapi.json` and `GET /docs`: the API description, served from
//! files compiled into the binary.

use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

const OPENAPI: &str = include_str!("openapi.json");
const DOCS_PAGE: &str = include_str!("docs.html");

/// Both documentation routes.
pub fn routes() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let openapi = warp::path!("openapi.json").and(warp::get()).map(|| {
        warp::reply::with_header(OPENAPI, "content-type", "application/json").into_response()
    });
    let docs = warp::path!("docs")
        .and(warp::get())
        .map(|| warp::reply::html(DOCS_PAGE).into_response());
    openapi.or(docs).unify()
}
