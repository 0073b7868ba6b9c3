//! `GET /me/connections?limit=N&offset=M`: the caller's own connection
//! history (one row per logged-in WebSocket), newest first.

use super::accounts::require_credential;
use super::history::integer;
use super::{Context, json_reply, with_context};
use crate::auth::{Caller, caller};
use crate::error::ApiError;
use crate::ws::translate::format_time;
use messenger_proto::v1::{Connection, ListConnectionsRequest};
use serde_json::{Value, json};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// The route.
pub fn route(context: Context) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    warp::path!("me" / "connections")
        .and(warp::get())
        .and(warp::query::<Vec<(String, String)>>())
        .and(caller())
        .and(with_context(context))
        .and_then(list)
}

async fn list(
    query: Vec<(String, String)>,
    caller: Caller,
    mut context: Context,
) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    let mut invalid = Vec::new();
    // Absent, it is 0: the core's default page size.
    let limit = integer(&query, "limit", 1, 0, &mut invalid);
    let offset = integer(&query, "offset", 0, 0, &mut invalid);
    if !invalid.is_empty() {
        return Err(warp::reject::custom(ApiError::Validation(invalid)));
    }
    let request = ListConnectionsRequest {
        limit: u32::try_from(limit).unwrap_or(u32::MAX),
        offset: u64::try_from(offset).unwrap_or(0),
    };
    let page = context
        .core
        .list_connections(caller.request(request))
        .await
        .map_err(|status| warp::reject::custom(ApiError::from_status(&status, "query")))?
        .into_inner();
    let body: Vec<Value> = page.connections.iter().map(connection_json).collect();
    Ok(json_reply(&body, StatusCode::OK))
}

fn connection_json(connection: &Connection) -> Value {
    let text = |value: &str| (!value.is_empty()).then(|| value.to_owned());
    json!({
        "id": connection.id,
        "started_at": format_time(connection.started_at.as_ref()),
        "ended_at": connection.ended_at.as_ref().map(|time| format_time(Some(time))),
        "client_address": text(&connection.client_address),
        "user_agent": text(&connection.user_agent),
        "edge": text(&connection.edge),
        "end_reason": text(&connection.end_reason),
    })
}
