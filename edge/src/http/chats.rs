//! `GET /chats`: the caller's chats with members and last message.

use super::accounts::require_credential;
use super::history::message_json;
use super::{Context, json_reply, with_context};
use crate::auth::{Caller, caller};
use crate::error::ApiError;
use messenger_proto::v1::{ChatSummary, ListChatsRequest};
use serde_json::{Value, json};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// The route.
pub fn route(context: Context) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("chats")
        .and(warp::get())
        .and(caller())
        .and(with_context(context))
        .and_then(list)
}

async fn list(caller: Caller, mut context: Context) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    let chats = context
        .core
        .list_chats(caller.request(ListChatsRequest {}))
        .await
        .map_err(|status| warp::reject::custom(ApiError::from_status(&status, "query")))?
        .into_inner()
        .chats;
    let body: Vec<Value> = chats.iter().map(chat_json).collect();
    Ok(json_reply(&body, StatusCode::OK))
}

fn chat_json(chat: &ChatSummary) -> Value {
    let members: Vec<Value> = chat
        .members
        .iter()
        .map(|member| json!({"id": member.id, "name": member.name}))
        .collect();
    json!({
        "id": chat.id,
        "name": chat.name,
        "type": chat.r#type,
        "members": members,
        "last_message": chat.last_message.as_ref().map(message_json),
        "unread_count": chat.unread_count,
    })
}
