//! The edge's routes and their OpenAPI document, made from one list: a
//! route is mounted only through its handler's `#[utoipa::path]`, which
//! also writes it into the document, so the two cannot drift apart.
//!
//! Schemas come from the request and response types of the handlers
//! (`#[derive(ToSchema)]` beside each handler).

use std::sync::Arc;
use utoipa::OpenApi;
use utoipa::openapi::HttpMethod;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes,
    SecurityScheme,
};
use warp::http::Method;
use warp::path::FullPath;
use warp::{Filter, Rejection};

/// The document's fixed part: what is not a route.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Messenger edge",
        description = "REST endpoints of the messenger. The real-time protocol is JSON over \
            the WebSocket at GET /ws; it is described at /docs and in docs/protocol.md."
    ),
    components(schemas(
        crate::error::Detail,
        crate::error::ValidationError,
        crate::error::Throttled,
        crate::error::OAuthErrorBody,
        crate::http::accounts::User,
        crate::http::accounts::Registration,
        crate::http::accounts::Credentials,
        crate::json::HistoryMessage,
        crate::json::Attachment,
        crate::http::chats::ChatSummary,
        crate::http::members::Member,
        crate::http::connections::Connection,
        crate::http::search::Found,
        crate::json::Presence,
        crate::http::oauth::TokenForm,
        crate::http::oauth::TokenResponse,
    )),
    modifiers(&SecuritySchemes)
)]
struct Fixed;

/// The ways to present a credential.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "sessionCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::LOGIN_COOKIE,
                "Set by POST /auth/login.",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An access token from POST /oauth/token."))
                    .build(),
            ),
        );
        let password = Password::with_refresh_url("/oauth/token", Scopes::new(), "/oauth/token");
        components.add_security_scheme(
            "oauth",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(password)])),
        );
    }
}

/// The document being filled in as routes are mounted.
pub struct Document {
    openapi: utoipa::openapi::OpenApi,
}

impl Default for Document {
    fn default() -> Self {
        Document {
            openapi: Fixed::openapi(),
        }
    }
}

impl Document {
    /// Writes the operation `P` into the document and returns the filter
    /// that matches its method and path, extracting the path's parameters.
    pub fn route_with_params<P: utoipa::Path>(
        &mut self,
    ) -> impl Filter<Extract = (PathParams,), Error = Rejection> + Clone + use<P> {
        let (path, methods) = (P::path(), P::methods());
        self.openapi
            .paths
            .add_path_operation(&path, methods.clone(), P::operation());
        let method = match methods.as_slice() {
            [HttpMethod::Post] => Method::POST,
            [HttpMethod::Get] => Method::GET,
            _ => panic!("{path}: a route has exactly one method, GET or POST"),
        };
        let template: Arc<[Segment]> = path
            .trim_start_matches('/')
            .split('/')
            .map(Segment::from)
            .collect();
        // One synchronous check, so that trying a route costs what
        // `warp::path!` with a method filter does.
        warp::path::full()
            .and(warp::method())
            .and_then(move |full: FullPath, given: Method| {
                let matched = PathParams::matching(&template, full.as_str())
                    .ok_or_else(warp::reject::not_found)
                    .and_then(|params| {
                        if given == method {
                            Ok(params)
                        } else {
                            Err(warp::reject::custom(MethodNotAllowed))
                        }
                    });
                std::future::ready(matched)
            })
    }

    /// [`Document::route_with_params`] for a path without parameters.
    pub fn route<P: utoipa::Path>(
        &mut self,
    ) -> impl Filter<Extract = (), Error = Rejection> + Clone + use<P> {
        self.route_with_params::<P>()
            .map(|_: PathParams| ())
            .untuple_one()
    }

    /// The finished document as JSON.
    pub fn into_json(self) -> String {
        self.openapi
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    }
}

/// A route's path matched, but not its method: 405.
#[derive(Debug)]
pub struct MethodNotAllowed;

impl warp::reject::Reject for MethodNotAllowed {}

/// One segment of a path template: `history` or `{chat_id}`.
enum Segment {
    Literal(String),
    Parameter(String),
}

impl From<&str> for Segment {
    fn from(text: &str) -> Self {
        match text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Some(name) => Segment::Parameter(name.to_owned()),
            None => Segment::Literal(text.to_owned()),
        }
    }
}

/// The values of a matched path's parameters, by name.
#[derive(Debug)]
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    /// The parameters of `path` if it matches `template` segment by segment.
    fn matching(template: &[Segment], path: &str) -> Option<PathParams> {
        let mut segments = path.trim_start_matches('/').split('/');
        let mut params = Vec::new();
        for expected in template {
            let segment = segments.next()?;
            match expected {
                Segment::Literal(literal) if literal == segment => {}
                Segment::Parameter(name) if !segment.is_empty() => {
                    params.push((name.clone(), segment.to_owned()));
                }
                _ => return None,
            }
        }
        segments.next().is_none().then_some(PathParams(params))
    }

    /// The value of the parameter `name`; the route's template names it, so
    /// a match always has it.
    pub fn take(self, name: &str) -> String {
        self.0
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// History: the value of `chat_id`.
    #[utoipa::path(get, path = "/history/{chat_id}")]
    #[allow(dead_code)]
    fn history() {}

    /// Me.
    #[utoipa::path(post, path = "/me/connections")]
    #[allow(dead_code)]
    fn connections() {}

    #[tokio::test]
    async fn paths_match_their_template_exactly() {
        let mut document = Document::default();
        let history = document.route_with_params::<__path_history>();
        let connections = document.route::<__path_connections>();
        let get = |path: &str| warp::test::request().method("GET").path(path);
        let params = get("/history/abc").filter(&history).await.unwrap();
        assert_eq!(params.take("chat_id"), "abc");
        for path in [
            "/history/",
            "/history/abc/more",
            "/histories/abc",
            "/history",
        ] {
            let refused = get(path).filter(&history).await.unwrap_err();
            assert!(refused.is_not_found(), "{path}");
        }
        let post = warp::test::request().method("POST");
        assert!(
            post.path("/me/connections")
                .filter(&connections)
                .await
                .is_ok()
        );
        let wrong_method = get("/me/connections").filter(&connections).await;
        assert!(
            wrong_method
                .unwrap_err()
                .find::<MethodNotAllowed>()
                .is_some()
        );
        assert!(get("/me").filter(&connections).await.is_err());
        let json = document.into_json();
        assert!(json.contains("/history/{chat_id}") && json.contains("/me/connections"));
    }
}
