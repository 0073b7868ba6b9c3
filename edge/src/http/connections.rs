//! `GET /me/connections?limit=N&offset=M`: the caller's own connection
//! history (one row per logged-in WebSocket), newest first.

use super::params::PageParams;
use super::{Context, json_reply};
use crate::auth::Caller;
use crate::error::{Detail, ValidationError};
use crate::json::{format_optional_time, format_time};
use crate::openapi::Document;
use messenger_proto::v1;
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// One logged-in WebSocket connection of the caller.
#[derive(Serialize, ToSchema)]
pub struct Connection<'a> {
    #[schema(format = Uuid)]
    id: &'a str,
    #[schema(format = DateTime)]
    started_at: String,
    /// Null while the connection is open.
    #[schema(format = DateTime, required = true)]
    ended_at: Option<String>,
    #[schema(required = true)]
    client_address: Option<&'a str>,
    #[schema(required = true)]
    user_agent: Option<&'a str>,
    /// The edge the connection was on.
    #[schema(required = true)]
    edge: Option<&'a str>,
    /// `client_closed`, `error`, `server_shutdown`, `slow_consumer`,
    /// `switched_user`, `logged_out` or `timed_out`.
    #[schema(required = true)]
    end_reason: Option<&'a str>,
}

impl<'a> From<&'a v1::Connection> for Connection<'a> {
    fn from(connection: &'a v1::Connection) -> Self {
        let text = |value: &'a str| (!value.is_empty()).then_some(value);
        Connection {
            id: &connection.id,
            started_at: format_time(connection.started_at.as_ref()),
            ended_at: format_optional_time(connection.ended_at.as_ref()),
            client_address: text(&connection.client_address),
            user_agent: text(&connection.user_agent),
            edge: text(&connection.edge),
            end_reason: text(&connection.end_reason),
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

/// The caller's connection history, newest first
#[utoipa::path(
    get,
    path = "/me/connections",
    params(PageParams),
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The connections", body = [Connection]),
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
    let request = |limit, offset| v1::ListConnectionsRequest { limit, offset };
    let page = context
        .page(&caller, &query, request, async |core, request| {
            core.list_connections(request).await
        })
        .await?;
    let body: Vec<Connection> = page.connections.iter().map(Connection::from).collect();
    Ok(json_reply(&body, StatusCode::OK))
}
