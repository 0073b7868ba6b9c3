//! `GET /presence`: whether the people the caller shares a chat with are
//! online, and when they were last seen.

use super::accounts::require_credential;
use super::{Context, json_reply, with_context};
use crate::auth::Caller;
use crate::error::{ApiError, Detail};
use crate::openapi::Document;
use crate::ws::translate::format_time;
use messenger_proto::v1;
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// One person's presence.
#[derive(Serialize, ToSchema)]
pub struct Presence<'a> {
    #[schema(format = Uuid)]
    pub user_id: &'a str,
    /// True while any of their devices is connected.
    pub online: bool,
    /// When their last device left; null while online or if never seen.
    #[schema(required = true, format = DateTime)]
    pub last_seen: Option<String>,
}

impl<'a> From<&'a v1::Presence> for Presence<'a> {
    fn from(presence: &'a v1::Presence) -> Self {
        Presence {
            user_id: &presence.user_id,
            online: presence.online,
            last_seen: presence
                .last_seen
                .as_ref()
                .map(|time| format_time(Some(time))),
        }
    }
}

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
    let people = context
        .core()
        .list_presence(caller.request(v1::ListPresenceRequest {}))
        .await
        .map_err(|status| warp::reject::custom(ApiError::from_status(&status, "query")))?
        .into_inner()
        .people;
    let body: Vec<Presence> = people.iter().map(Presence::from).collect();
    Ok(json_reply(&body, StatusCode::OK))
}
