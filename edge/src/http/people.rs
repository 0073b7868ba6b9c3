//! `GET /users?query=…`: finding people to talk to.

use super::chats::ChatMember;
use super::params::PageParams;
use super::{Context, json_reply, query_error};
use crate::auth::Caller;
use crate::auth::require_credential;
use crate::error::{ApiError, Detail, InvalidParameter, ValidationError};
use crate::openapi::Document;
use messenger_proto::v1;
use serde_json::Value;
use utoipa::IntoParams;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// What to look for.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct SearchParams {
    /// The start of a name (of any word of it) or an email address; a whole
    /// email address finds its owner even outside the caller's chats.
    query: String,
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

/// People the caller may find, by name: those they share a chat with whose
/// name or email starts with the query, and anyone whose email is the query
#[utoipa::path(
    get,
    path = "/users",
    params(SearchParams, PageParams),
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The people found (ids and names)", body = [ChatMember]),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
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
    let params = PageParams::from_query(&query)?;
    let Some((_, text)) = query.iter().rev().find(|(key, _)| key == "query") else {
        let missing = InvalidParameter {
            loc: ["query", "query"],
            msg: "Field required".into(),
            kind: "missing",
            input: Value::Null,
        };
        return Err(warp::reject::custom(ApiError::Validation(vec![missing])));
    };
    let request = v1::SearchUsersRequest {
        query: text.clone(),
        limit: params.limit(),
        offset: params.offset(),
    };
    let users = context
        .call(&caller, request, async |core, request| {
            core.search_users(request).await
        })
        .await
        .map_err(query_error)?
        .users;
    let body: Vec<ChatMember> = users.iter().map(ChatMember::from).collect();
    Ok(json_reply(&body, StatusCode::OK))
}
