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
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::path::FullPath;

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
        crate::http::history::HistoryMessage,
        crate::http::chats::ChatSummary,
        crate::http::connections::Connection,
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
    pub fn route_with_params<P: utoipa::Path>(&mut self) -> BoxedFilter<(PathParams,)> {
        let (path, methods) = (P::path(), P::methods());
        self.openapi
            .paths
            .add_path_operation(&path, methods.clone(), P::operation());
        let template: Arc<[Segment]> = path
            .trim_start_matches('/')
            .split('/')
            .map(Segment::from)
            .collect();
        let method = match methods.as_slice() {
            [HttpMethod::Post] => warp::post().boxed(),
            [HttpMethod::Get] => warp::get().boxed(),
            _ => panic!("{path}: a route has exactly one method, GET or POST"),
        };
        warp::path::full()
            .and_then(move |full: FullPath| {
                let matched = PathParams::matching(&template, full.as_str());
                async move { matched.ok_or_else(warp::reject::not_found) }
            })
            .and(method)
            .boxed()
    }

    /// [`Document::route_with_params`] for a path without parameters.
    pub fn route<P: utoipa::Path>(&mut self) -> BoxedFilter<()> {
        self.route_with_params::<P>()
            .map(|_: PathParams| ())
            .untuple_one()
            .boxed()
    }

    /// The finished document as JSON.
    pub fn into_json(self) -> String {
        self.openapi
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    }
}

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
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if segments.len() != template.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, expected) in segments.into_iter().zip(template) {
            match expected {
                Segment::Literal(literal) if literal == segment => {}
                Segment::Parameter(name) if !segment.is_empty() => {
                    params.push((name.clone(), segment.to_owned()));
                }
                _ => return None,
            }
        }
        Some(PathParams(params))
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

    fn template(path: &str) -> Vec<Segment> {
        path.trim_start_matches('/')
            .split('/')
            .map(Segment::from)
            .collect()
    }

    #[test]
    fn paths_match_their_template_exactly() {
        let history = template("/history/{chat_id}");
        let params = PathParams::matching(&history, "/history/abc").unwrap();
        assert_eq!(params.take("chat_id"), "abc");
        assert!(PathParams::matching(&history, "/history/").is_none());
        assert!(PathParams::matching(&history, "/history/abc/more").is_none());
        assert!(PathParams::matching(&history, "/histories/abc").is_none());
        let me = template("/me");
        assert!(PathParams::matching(&me, "/me").is_some());
        assert!(PathParams::matching(&me, "/me/").is_none());
        assert!(PathParams::matching(&template("/me/connections"), "/me").is_none());
    }
}
