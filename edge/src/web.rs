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

const SCRIPT: &str = "text/javascript; charset=utf-8";

/// The file at `web/static/<path>`, served at `/<path>`.
macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_str!(concat!("../../web/static/", $path)),
        }
    };
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../web/static/index.html"),
    },
    asset!("app.js", SCRIPT),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("js/api.js", SCRIPT),
    asset!("js/blocks.js", SCRIPT),
    asset!("js/chats.js", SCRIPT),
    asset!("js/composer.js", SCRIPT),
    asset!("js/details.js", SCRIPT),
    asset!("js/dom.js", SCRIPT),
    asset!("js/files.js", SCRIPT),
    asset!("js/groups.js", SCRIPT),
    asset!("js/messages.js", SCRIPT),
    asset!("js/notify.js", SCRIPT),
    asset!("js/render.js", SCRIPT),
    asset!("js/search.js", SCRIPT),
    asset!("js/socket.js", SCRIPT),
    asset!("js/state.js", SCRIPT),
    asset!("js/views.js", SCRIPT),
];

/// `GET /` and the client's files (`/app.js`, `/js/…`, `/app.css`, `/icon.svg`).
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every file in `web/static/` (a module added there included) is in
    /// the binary: a page that imports one the edge does not serve breaks.
    #[test]
    fn every_file_of_the_client_is_served() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/static");
        let mut files = Vec::new();
        let mut folders = vec![folder.clone()];
        while let Some(next) = folders.pop() {
            for entry in std::fs::read_dir(next).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let relative = path.strip_prefix(&folder).unwrap();
                    files.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let served =
            |file: &String| file == "index.html" || ASSETS.iter().any(|asset| asset.path == file);
        let missing: Vec<_> = files.iter().filter(|file| !served(file)).collect();
        assert!(files.len() > 4, "{files:?}");
        assert!(missing.is_empty(), "not served: {missing:?}");
    }
}
