//! `GET /openapi.json` and `GET /docs`: the API description. The OpenAPI
//! document is made from the mounted routes (see [`crate::openapi`]).

use crate::openapi::Document;
use std::sync::Arc;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

const DOCS_PAGE: &str = include_str!("docs.html");

/// The routes of both documents, recorded in `document`.
pub struct Routes {
    openapi: warp::filters::BoxedFilter<()>,
    docs: warp::filters::BoxedFilter<()>,
}

impl Routes {
    /// Mounts both documents' routes in `document`.
    pub fn mount(document: &mut Document) -> Self {
        Routes {
            openapi: document.route::<__path_openapi>().boxed(),
            docs: document.route::<__path_docs>().boxed(),
        }
    }

    /// The filter serving `openapi`, the finished document.
    pub fn serve(
        self,
        document: String,
    ) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
        let document: Arc<str> = document.into();
        let json = self.openapi.map(move || openapi(&document));
        let docs = self.docs.map(docs);
        json.or(docs).unify()
    }
}

/// This document
#[utoipa::path(
    get,
    path = "/openapi.json",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
fn openapi(document: &str) -> Response {
    warp::reply::with_header(document.to_owned(), "content-type", "application/json")
        .into_response()
}

/// The protocol reference for client authors
#[utoipa::path(
    get,
    path = "/docs",
    responses((status = 200, description = "An HTML page", content_type = "text/html"))
)]
fn docs() -> Response {
    warp::reply::html(DOCS_PAGE).into_response()
}
