//! Headers every response carries, whatever route made it (the web
//! client's pages, the REST API, errors, the API document): a browser that
//! reaches any of them is told not to guess types, not to pass the address
//! on, not to frame it, and not to lend it the camera, microphone or
//! location; over TLS, to come back only over TLS. A route that sets one of
//! them itself (the web client's fuller `Content-Security-Policy`) keeps
//! its own.

use warp::http::HeaderValue;
use warp::http::header::{HeaderName, STRICT_TRANSPORT_SECURITY};
use warp::reply::Response;

/// The headers of every response, and their values.
const EVERY_RESPONSE: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
    ("content-security-policy", "frame-ancestors 'none'"),
    ("x-frame-options", "DENY"),
];

/// A year: browsers remember to use HTTPS for this long.
const HSTS: &str = "max-age=31536000";

/// `response` with the headers of every response it does not set itself;
/// with `tls` (the edge serves HTTPS itself), HSTS too.
pub fn secure(mut response: Response, tls: bool) -> Response {
    let headers = response.headers_mut();
    for (name, value) in EVERY_RESPONSE {
        headers
            .entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    if tls {
        headers
            .entry(STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(HSTS));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_routes_own_header_is_kept_and_hsts_only_over_tls() {
        let mut own = Response::new("".into());
        let policy = HeaderValue::from_static("default-src 'self'");
        own.headers_mut()
            .insert("content-security-policy", policy.clone());
        let plain = secure(own, false);
        assert_eq!(plain.headers()["content-security-policy"], policy);
        assert_eq!(plain.headers()["x-content-type-options"], "nosniff");
        assert!(!plain.headers().contains_key(STRICT_TRANSPORT_SECURITY));
        let tls = secure(Response::new("".into()), true);
        assert_eq!(tls.headers()[STRICT_TRANSPORT_SECURITY], HSTS);
        assert_eq!(tls.headers()["x-frame-options"], "DENY");
    }
}
