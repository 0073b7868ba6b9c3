//! The web client, served at `/` from files built into the binary
//! (`web/static/`), so that the one command that runs the messenger also
//! serves its client, on the API's own origin.

use warp::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use warp::http::{Response as HttpResponse, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection};

/// Where the client's scripts, styles, sockets and fetches may go: this
/// edge only, and never framed by another page.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// One file of the client: its path, type and contents.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 4] = [
    Asset {
        path: "",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../web/static/index.html"),
    },
    Asset {
        path: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/static/app.js"),
    },
    Asset {
        path: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../web/static/app.css"),
    },
    Asset {
        path: "icon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../../web/static/icon.svg"),
    },
];

/// `GET /`, `/app.js`, `/app.css`, `/icon.svg`.
pub fn route() -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::get()
        .and(warp::path::tail())
        .and_then(|tail: warp::path::Tail| {
            let found = ASSETS.iter().find(|asset| asset.path == tail.as_str());
            std::future::ready(found.map(reply).ok_or_else(warp::reject::not_found))
        })
}

fn reply(asset: &'static Asset) -> Response {
    let mut response = HttpResponse::new(asset.body.into());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    // Built into the binary: a new version comes with a restart, so the
    // browser asks again each time (cheap, and never stale).
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    // nosniff, no-referrer and the rest come with every response
    // (`headers.rs`).
    response
}
