//! `GET /chats?limit=N&offset=M`: a page of the caller's chats with their
//! first members and last message.

use super::params::PageParams;
use super::{Context, json_reply};
use crate::auth::Caller;
use crate::error::{Detail, ValidationError};
use crate::json::HistoryMessage;
use crate::openapi::Document;
use messenger_proto::v1;
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// One chat of the caller.
#[derive(Serialize, ToSchema)]
pub struct ChatSummary<'a> {
    #[schema(format = Uuid)]
    id: &'a str,
    name: &'a str,
    /// 0 personal, 1 group.
    #[serde(rename = "type")]
    #[schema(maximum = 1)]
    kind: u32,
    /// The first 20 members by name.
    members: Vec<ChatMember<'a>>,
    /// Members in all.
    member_count: u32,
    /// Null in a chat without messages.
    #[schema(required = true)]
    last_message: Option<HistoryMessage<'a>>,
    /// Messages of others the caller has not seen.
    unread_count: u64,
}

/// A member of a chat, a person found: id and name (never an email).
#[derive(Serialize, ToSchema)]
pub struct ChatMember<'a> {
    #[schema(format = Uuid)]
    id: &'a str,
    name: &'a str,
}

impl<'a> From<&'a v1::User> for ChatMember<'a> {
    fn from(user: &'a v1::User) -> Self {
        ChatMember {
            id: &user.id,
            name: &user.name,
        }
    }
}

impl<'a> From<&'a v1::ChatSummary> for ChatSummary<'a> {
    fn from(chat: &'a v1::ChatSummary) -> Self {
        ChatSummary {
            id: &chat.id,
            name: &chat.name,
            kind: chat.r#type,
            members: chat.members.iter().map(ChatMember::from).collect(),
            member_count: chat.member_count,
            last_message: chat.last_message.as_ref().map(HistoryMessage::from),
            unread_count: chat.unread_count,
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
        .and(context.with_query())
        .and_then(list)
}

/// A page of the caller's chats, most recently active first
#[utoipa::path(
    get,
    path = "/chats",
    params(PageParams),
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The chats", body = [ChatSummary]),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
        (status = 422, description = "Invalid parameters", body = ValidationError),
    )
)]
async fn list(
    query: Vec<(String, String)>,
    caller: Caller,
    context: Context,
) -> Result<Response, Rejection> {
    let request = |limit, offset| v1::ListChatsRequest { limit, offset };
    let chats = context
        .page(&caller, &query, request, async |core, request| {
            core.list_chats(request).await
        })
        .await?
        .chats;
    let body: Vec<ChatSummary> = chats.iter().map(ChatSummary::from).collect();
    Ok(json_reply(&body, StatusCode::OK))
}
