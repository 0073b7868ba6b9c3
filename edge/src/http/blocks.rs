//! `GET /me/blocks`: the people the caller blocks.

use super::chats::ChatMember;
use super::{Context, json_reply, query_error, with_context};
use crate::auth::Caller;
use crate::auth::require_credential;
use crate::error::Detail;
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

/// The people the caller blocks, by name
///
/// Blocking and unblocking are WebSocket frames (`block_user`,
/// `unblock_user`); this is the list they change.
#[utoipa::path(
    get,
    path = "/me/blocks",
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The people blocked", body = [ChatMember]),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
        (status = 503, description = "The messenger core is unavailable", body = Detail),
    )
)]
async fn list(caller: Caller, context: Context) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    let users = context
        .call(&caller, v1::ListBlocksRequest {}, async |core, request| {
            core.list_blocks(request).await
        })
        .await
        .map_err(query_error)?
        .users;
    let body: Vec<ChatMember> = users.iter().map(ChatMember::from).collect();
    Ok(json_reply(&body, StatusCode::OK))
}
