//! `GET /chats/{chat_id}/members`: everyone in one of the caller's chats,
//! with names and roles.

use super::Context;
use super::params::uuid_in_path;
use crate::auth::Caller;
use crate::auth::require_credential;
use crate::error::{ApiError, Detail, ValidationError};
use crate::openapi::{Document, PathParams};
use messenger_proto::v1;
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// A member of a chat.
#[derive(Serialize, ToSchema)]
pub struct Member<'a> {
    #[schema(format = Uuid)]
    id: &'a str,
    name: &'a str,
    /// `owner`, `admin` or `member` (everyone in a personal chat is a member).
    role: &'static str,
}

impl<'a> From<&'a v1::Member> for Member<'a> {
    fn from(member: &'a v1::Member) -> Self {
        Member {
            id: &member.user_id,
            name: &member.name,
            role: match member.role() {
                v1::Role::Owner => "owner",
                v1::Role::Admin => "admin",
                v1::Role::Member => "member",
            },
        }
    }
}

/// The route.
pub fn route(
    document: &mut Document,
    context: Context,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + use<> {
    document
        .route_with_params::<__path_list>()
        .and(context.with_query())
        .and_then(list)
}

/// Everyone in a chat the caller is in
///
/// The owner first, then admins, then members, each by name.
#[utoipa::path(
    get,
    path = "/chats/{chat_id}/members",
    params(("chat_id" = Uuid, Path)),
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The members", body = [Member]),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "Not a member of the chat (or no such chat)", body = Detail),
        (status = 422, description = "The chat id is not a UUID", body = ValidationError),
        (status = 503, description = "The messenger core is unavailable", body = Detail),
    )
)]
async fn list(
    params: PathParams,
    _query: Vec<(String, String)>,
    caller: Caller,
    context: Context,
) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    let chat_id = params.take("chat_id");
    let mut invalid = Vec::new();
    uuid_in_path("chat_id", &chat_id, &mut invalid);
    if !invalid.is_empty() {
        return Err(warp::reject::custom(ApiError::Validation(invalid)));
    }
    let asked = v1::ListMembersRequest { chat_id };
    let members = context
        .call(&caller, asked, async |core, request| {
            core.list_members(request).await
        })
        .await
        .map_err(super::query_error)?
        .members;
    let body: Vec<Member> = members.iter().map(Member::from).collect();
    Ok(super::json_reply(&body, StatusCode::OK))
}
