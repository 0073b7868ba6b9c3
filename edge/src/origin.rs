//! The edge's own origin. The web client is served by the edge, so its
//! requests come from the edge's own origin (`http(s)://` + the `Host` the
//! browser asked for), which needs no entry in `ALLOWED_ORIGINS`: the
//! session cookie and the REST API work there without configuration.
//!
//! Trusting `Host` is safe here: a page on another site cannot make the
//! browser send this edge's host with its own origin, and a name rebound
//! to this edge's address (DNS rebinding) gets no cookie of this edge's.

use warp::{Filter, Rejection};

/// The scheme the edge serves with: `https` with TLS, else `http`.
pub fn scheme(tls: bool) -> &'static str {
    if tls { "https" } else { "http" }
}

/// Whether `origin` is the origin of a request for `host` over `scheme`.
pub fn is_own(origin: &str, host: Option<&str>, scheme: &str) -> bool {
    let Some(host) = host else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    origin.len() == scheme.len() + 3 + host.len()
        && origin[..scheme.len()].eq_ignore_ascii_case(scheme)
        && &origin[scheme.len()..scheme.len() + 3] == "://"
        && origin[scheme.len() + 3..].eq_ignore_ascii_case(host)
}

/// Passes a request exactly when `own` says whether it comes without
/// `Origin` or from the edge's own origin, and rejects it (as not found)
/// otherwise. The two guards, `true` and `false`, split the requests
/// between the route for the edge's own pages and the route with the CORS
/// rules for other origins, so that each request runs its handler once:
/// one that a handler refused does not go on to the other route.
pub fn guard(
    scheme: &'static str,
    own: bool,
) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::optional::<String>("origin")
        .and(warp::header::optional::<String>("host"))
        .and_then(move |origin: Option<String>, host: Option<String>| {
            let is_own_or_none = origin
                .as_deref()
                .is_none_or(|origin| is_own(origin, host.as_deref(), scheme));
            std::future::ready(if is_own_or_none == own {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            })
        })
        .untuple_one()
}

#[cfg(test)]
mod tests {
    use super::is_own;

    #[test]
    fn only_the_same_scheme_host_and_port_are_own() {
        let host = Some("127.0.0.1:8000");
        assert!(is_own("http://127.0.0.1:8000", host, "http"));
        assert!(is_own("HTTP://127.0.0.1:8000/", host, "http"));
        assert!(!is_own("https://127.0.0.1:8000", host, "http"));
        assert!(!is_own("http://127.0.0.1:8001", host, "http"));
        assert!(!is_own("http://evil.example", host, "http"));
        assert!(!is_own("http://127.0.0.1:8000", None, "http"));
        assert!(!is_own("http://127.0.0.1:8000.evil", host, "http"));
    }
}
