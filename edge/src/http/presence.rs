//! `GET /presence`: whether the people the caller shares a chat with are
//! online, and when they were last seen.

use super::{Context, json_reply, query_error, with_context};
use crate::auth::Caller;
use crate::auth::require_credential;
use crate::error::Detail;
use crate::json::Presence;
use crate::openapi::Document;
use messenger_proto::v1;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// The route.
pub fn route(
    document: &mut Document,
    context: Context,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + use<> {
    document
        .route::<__path_list>()
        .and(context.caller())
        .and(with_context(context))
        .and_then(list)
}

/// The presence of everyone the caller shares a chat with
#[utoipa::path(
    get,
    path = "/presence",
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "One entry per person, by user id", body = [Presence]),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
        (status = 503, description = "Presence cannot be read right now", body = Detail),
    )
)]
async fn list(caller: Caller, context: Context) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    let asked = v1::ListPresenceRequest {};
    let people = context
        .call(&caller, asked, async |core, request| {
            core.list_presence(request).await
        })
        .await
        .map_err(query_error)?
        .people;
    let body: Vec<Presence> = people.iter().map(Presence::from).collect();
    Ok(json_reply(&body, StatusCode::OK))
}
