//! Credentials on incoming requests, and passing them on to the core.
//!
//! A request is authenticated by an `Authorization: Bearer <token>` header
//! (an OAuth access token, or any client that prefers headers) or by the
//! login-session cookie a browser got from `POST /auth/login`. The edge only
//! carries the token to the core, which decides whose it is.

use crate::server::Peer;
use messenger_proto::v1::OpenSession;
use startup::traces::{SpanKind, TRACEPARENT, Trace, Traces};
use std::net::SocketAddr;
use warp::Filter;
use warp::http::Method;
use warp::path::FullPath;

/// The name of the cookie holding a login session's token. Browsers hold
/// it under this name, so it stays as it is.
pub const LOGIN_COOKIE: &str = "messenger_session";
/// Its name when cookies are `Secure` (`COOKIE_SECURE`): with the
/// `__Host-` prefix a browser takes the cookie only from this host, over
/// HTTPS, for every path, so a sibling subdomain cannot plant one.
pub const SECURE_LOGIN_COOKIE: &str = "__Host-messenger_session";

/// The login cookie's name under the `secure` setting.
pub fn login_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_LOGIN_COOKIE
    } else {
        LOGIN_COOKIE
    }
}

/// Where a credential came from: a cookie is sent by browsers on their own,
/// so cookie-authenticated WebSockets get an `Origin` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cookie,
    Bearer,
}

/// A token presented with a request.
#[derive(Clone)]
pub struct Credential {
    pub token: String,
    pub source: Source,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token itself.
        formatter
            .debug_struct("Credential")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Facts about the caller that travel to the core with each call.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub credential: Option<Credential>,
    pub address: Option<SocketAddr>,
    pub user_agent: Option<String>,
    /// The span of the request (REST), open while the caller is kept.
    pub trace: Trace,
    /// The trace context the request came with (`traceparent`), passed
    /// on as it is when the edge records no span of its own.
    pub traceparent: Option<String>,
}

impl Caller {
    /// A gRPC request carrying the caller's credential and address.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let metadata = request.metadata_mut();
        if let Some(credential) = &self.credential
            && let Ok(value) = format!("Bearer {}", credential.token).parse()
        {
            metadata.insert("authorization", value);
        }
        if let Some(address) = self.address_text()
            && let Ok(value) = address.parse()
        {
            metadata.insert(messenger_proto::CLIENT_ADDRESS_METADATA, value);
        }
        if let Some(agent) = &self.user_agent
            && let Ok(value) = agent.parse()
        {
            metadata.insert(messenger_proto::CLIENT_USER_AGENT_METADATA, value);
        }
        let traceparent = self
            .trace
            .traceparent()
            .or_else(|| self.traceparent.clone());
        if let Some(value) = traceparent.and_then(|value| value.parse().ok()) {
            metadata.insert(TRACEPARENT, value);
        }
        request
    }

    /// The opening of the caller's session `session` on the edge's link:
    /// the same facts as [`Caller::request`] puts in metadata.
    pub fn open_session(&self, session: u64) -> OpenSession {
        OpenSession {
            session,
            token: self
                .credential
                .as_ref()
                .map(|credential| credential.token.clone())
                .unwrap_or_default(),
            client_address: self.address_text().unwrap_or_default(),
            user_agent: self.user_agent.clone().unwrap_or_default(),
            moving: None,
        }
    }

    /// The same caller with `token` as its credential.
    pub fn with_token(&self, token: &str) -> Caller {
        Caller {
            credential: Some(Credential {
                token: token.to_owned(),
                source: Source::Bearer,
            }),
            address: self.address,
            user_agent: self.user_agent.clone(),
            trace: self.trace.clone(),
            traceparent: self.traceparent.clone(),
        }
    }

    /// The caller's address as the core records it: the IP, no port.
    fn address_text(&self) -> Option<String> {
        self.address.map(|address| address.ip().to_string())
    }
}

/// Extracts the caller: bearer header first, then the session cookie (only
/// the `__Host-` one when cookies are `secure`). The request gets a span
/// of `traces` (named by its method, as OpenTelemetry's HTTP conventions
/// do without a route) that continues the trace it came with.
pub fn caller(
    secure_cookie: bool,
    traces: Traces,
) -> impl Filter<Extract = (Caller,), Error = warp::Rejection> + Clone {
    let traced = warp::method()
        .and(warp::path::full())
        .and(warp::header::optional::<String>(TRACEPARENT))
        .map(
            move |method: Method, path: FullPath, traceparent: Option<String>| {
                let name = span_name(&method);
                let trace = traces.start(name, SpanKind::Server, traceparent.as_deref());
                trace.record("http.request.method", || method.to_string());
                trace.record("url.path", || path.as_str().to_owned());
                (trace, traceparent)
            },
        );
    warp::header::optional::<String>("authorization")
        .and(warp::cookie::optional::<String>(login_cookie_name(
            secure_cookie,
        )))
        .and(warp::ext::optional::<Peer>().map(|peer: Option<Peer>| peer.map(|peer| peer.address)))
        .and(warp::header::optional::<String>("user-agent"))
        .and(traced)
        .map(
            |header: Option<String>,
             cookie: Option<String>,
             address,
             user_agent,
             (trace, traceparent)| Caller {
                credential: bearer(header.as_deref()).or_else(|| from_cookie(cookie)),
                address,
                user_agent,
                trace,
                traceparent,
            },
        )
}

/// A request's span name: its method, from a fixed set (no allocation
/// per request, and a client's made-up method cannot become a name).
fn span_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        _ => "HTTP",
    }
}

fn bearer(header: Option<&str>) -> Option<Credential> {
    let (scheme, token) = header?.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| Credential {
        token: token.to_owned(),
        source: Source::Bearer,
    })
}

fn from_cookie(cookie: Option<String>) -> Option<Credential> {
    let token = cookie.filter(|token| !token.is_empty())?;
    Some(Credential {
        token,
        source: Source::Cookie,
    })
}

/// The `Set-Cookie` value that stores a login session.
pub fn login_cookie(token: &str, max_age_seconds: i64, secure: bool) -> String {
    let name = login_cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{name}={token}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax{secure}",
        max_age_seconds.max(0)
    )
}

/// The `Set-Cookie` value that removes the login-session cookie.
pub fn cleared_cookie(secure: bool) -> String {
    login_cookie("", 0, secure)
}

/// 401 before calling the core when no credential was presented at all.
pub fn require_credential(caller: &Caller) -> Result<(), warp::Rejection> {
    match caller.credential {
        Some(_) => Ok(()),
        None => Err(warp::reject::custom(crate::error::ApiError::Unauthorized(
            "authentication required: a session cookie or a bearer token".into(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers_are_read_case_insensitively() {
        assert_eq!(bearer(Some("Bearer abc")).unwrap().token, "abc");
        assert_eq!(bearer(Some("bearer abc")).unwrap().source, Source::Bearer);
        assert!(bearer(Some("Basic abc")).is_none());
        assert!(bearer(Some("Bearer ")).is_none());
        assert!(bearer(None).is_none());
    }

    #[test]
    fn cookies_have_the_protective_attributes() {
        let cookie = login_cookie("mss_1", 60, true);
        assert_eq!(
            cookie,
            "__Host-messenger_session=mss_1; Max-Age=60; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            login_cookie("mss_1", 60, false),
            "messenger_session=mss_1; Max-Age=60; Path=/; HttpOnly; SameSite=Lax"
        );
        assert!(cleared_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let credential = Credential {
            token: "msa_secret".into(),
            source: Source::Bearer,
        };
        assert!(!format!("{credential:?}").contains("secret"));
    }
}
