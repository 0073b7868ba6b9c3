//! `GET /search?query=…`: finding old messages in one's own chats.

use super::params::optional_limit;
use super::{Context, json_reply, query_error};
use crate::auth::{Caller, require_credential};
use crate::error::{ApiError, Detail, InvalidParameter, ValidationError};
use crate::json::HistoryMessage;
use crate::openapi::Document;
use messenger_proto::v1::{self, FoundMessage};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// What to look for.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SearchParams {
    /// Words, as a web search engine takes them: `"a phrase"`, `or`,
    /// `-word`. Every word must be in a message for it to be found.
    query: String,
    /// Only this chat (one the caller is in).
    #[param(format = Uuid)]
    chat_id: Option<String>,
    /// Messages per page: 50 when absent, at most the server's
    /// MAX_HISTORY_PAGE (100 by default).
    #[param(minimum = 1)]
    limit: Option<u32>,
    /// Only messages older than this one: the last of the previous page.
    #[param(format = Uuid)]
    before: Option<String>,
}

/// A message found.
#[derive(Serialize, ToSchema)]
pub struct Found<'a> {
    /// The message as history shows it.
    message: HistoryMessage<'a>,
    /// Part of its text, each matched word between U+0002 and U+0003
    /// (characters no message can contain): a client shows them marked.
    snippet: &'a str,
}

/// The route.
pub fn route(
    document: &mut Document,
    context: Context,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + use<> {
    document
        .route::<__path_search>()
        .and(context.with_query())
        .and_then(search)
}

/// The messages of the caller's chats that have the words of `query`,
/// newest first: none up to where the caller hid a chat, none deleted,
/// none of a user the caller blocks; edited ones by their text now.
#[utoipa::path(
    get,
    path = "/search",
    params(SearchParams),
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The messages found, newest first", body = [Found]),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "The caller is not in the chat asked for", body = Detail),
        (status = 422, description = "Invalid parameters", body = ValidationError),
        (status = 429, description = "Too many searches: retry later",
            body = Detail, headers(("Retry-After" = u32))),
    )
)]
async fn search(
    query: Vec<(String, String)>,
    caller: Caller,
    context: Context,
) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    let request = request(&query)?;
    let found = context
        .call(&caller, request, async |core, request| {
            core.search_messages(request).await
        })
        .await
        .map_err(query_error)?
        .messages;
    let body: Vec<Found> = found.iter().filter_map(Found::of).collect();
    Ok(json_reply(&body, StatusCode::OK))
}

/// The core's request for `query`; every invalid parameter named.
fn request(query: &[(String, String)]) -> Result<v1::SearchMessagesRequest, Rejection> {
    let last = |name: &str| {
        query
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let mut invalid = Vec::new();
    let limit = optional_limit(query, &mut invalid);
    let text = last("query");
    if text.is_none() {
        invalid.push(InvalidParameter {
            loc: ["query", "query"],
            msg: "Field required".into(),
            kind: "missing",
            input: Value::Null,
        });
    }
    if !invalid.is_empty() {
        return Err(warp::reject::custom(ApiError::Validation(invalid)));
    }
    Ok(v1::SearchMessagesRequest {
        query: text.unwrap_or_default(),
        chat_id: last("chat_id"),
        limit: limit.unwrap_or(0),
        before: last("before"),
    })
}

impl<'a> Found<'a> {
    fn of(found: &'a FoundMessage) -> Option<Self> {
        Some(Found {
            message: HistoryMessage::from(found.message.as_ref()?),
            snippet: &found.snippet,
        })
    }
}
