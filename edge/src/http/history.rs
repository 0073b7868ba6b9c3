//! `GET /history/{chat_id}?limit=N&offset=M`: one page of a chat's history.

use super::Context;
use super::params::{optional_integer, optional_limit, uuid_in_path};
use crate::auth::Caller;
use crate::auth::require_credential;
use crate::error::{ApiError, Detail, InvalidParameter, ValidationError};
use crate::json::HistoryMessage;
use crate::openapi::{Document, PathParams};
use messenger_proto::v1::{HistoryRequest, Message};
use serde::Serialize;
use utoipa::IntoParams;
use warp::reply::Response;
use warp::{Filter, Rejection};

/// The query parameters of a history page.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryParams {
    /// Messages per page: 50 when absent, at most the server's
    /// MAX_HISTORY_PAGE (100 by default).
    #[param(minimum = 1)]
    limit: Option<u32>,
    /// How many of the oldest messages to skip.
    #[param(minimum = 0)]
    offset: Option<u64>,
    /// Only messages with a larger seq, oldest first.
    #[param(minimum = 0)]
    after_seq: Option<u64>,
    /// The newest `limit` messages with a smaller seq, oldest first. Not
    /// with offset.
    #[param(minimum = 0)]
    before_seq: Option<u64>,
}

/// The route.
pub fn route(
    document: &mut Document,
    context: Context,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone + use<> {
    document
        .route_with_params::<__path_handle>()
        .and(context.with_query())
        .and_then(handle)
}

/// One page of a chat's history
///
/// Messages of the chat, oldest first, in the order the server stored them.
#[utoipa::path(
    get,
    path = "/history/{chat_id}",
    params(("chat_id" = Uuid, Path), HistoryParams),
    security(("sessionCookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The page", body = [HistoryMessage]),
        (status = 401, description = "No valid credential (missing, expired or revoked)",
            body = Detail, headers(("WWW-Authenticate" = String))),
        (status = 403, description = "Not a member of the chat (or no such chat)", body = Detail),
        (status = 422, description = "Invalid parameters; every invalid one is listed",
            body = ValidationError),
        (status = 503, description = "The messenger core is unavailable", body = Detail),
    )
)]
async fn handle(
    params: PathParams,
    query: Vec<(String, String)>,
    caller: Caller,
    context: Context,
) -> Result<Response, Rejection> {
    require_credential(&caller)?;
    let chat_id = params.take("chat_id");
    let request = parse(&chat_id, &query).map_err(warp::reject::custom)?;
    let page = context
        .call(&caller, request, async |core, request| {
            core.get_history(request).await
        })
        .await
        .map_err(|status| {
            let error = ApiError::from_status(&status, "query").with_query_input(&query);
            warp::reject::custom(error)
        })?;
    let entries: Vec<HistoryMessage> = page.messages.iter().map(HistoryMessage::from).collect();
    Ok(json_body(&entries, page_size_hint(&page.messages)))
}

/// About how long a page is as JSON: its texts plus the fixed part of each
/// entry (three UUIDs, a timestamp, the field names).
fn page_size_hint(messages: &[Message]) -> usize {
    messages.iter().map(|m| m.text.len() + 220).sum::<usize>() + 2
}

/// `value` as a JSON response, written into one buffer of about `size`
/// bytes: a page is tens of KiB, and growing the buffer by doubling cost
/// more than writing it.
fn json_body(value: &impl Serialize, size: usize) -> Response {
    let mut body = Vec::with_capacity(size);
    serde_json::to_writer(&mut body, value).expect("pages serialise");
    let mut response = Response::new(body.into());
    response.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Checks every parameter and reports all invalid ones at once.
fn parse(chat_id: &str, query: &[(String, String)]) -> Result<HistoryRequest, ApiError> {
    let mut invalid = Vec::new();
    uuid_in_path("chat_id", chat_id, &mut invalid);
    let params = HistoryParams::read(query, &mut invalid);
    if !invalid.is_empty() {
        return Err(ApiError::Validation(invalid));
    }
    Ok(HistoryRequest {
        chat_id: chat_id.to_owned(),
        // Absent, it is 0: the core's default page size.
        limit: params.limit.unwrap_or(0),
        offset: params.offset.unwrap_or(0),
        after_seq: params.after_seq,
        before_seq: params.before_seq,
    })
}

impl HistoryParams {
    /// The parameters in `query`; invalid ones are added to `invalid`.
    fn read(query: &[(String, String)], invalid: &mut Vec<InvalidParameter>) -> Self {
        HistoryParams {
            limit: optional_limit(query, invalid),
            offset: optional_integer(query, "offset", invalid),
            after_seq: optional_integer(query, "after_seq", invalid),
            before_seq: optional_integer(query, "before_seq", invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const CHAT: &str = "27784f95-d0e0-478d-b224-f718fe2da52c";

    #[test]
    fn absent_parameters_leave_the_defaults_to_the_core() {
        let request = parse(CHAT, &[]).unwrap();
        assert_eq!((request.limit, request.offset), (0, 0));
    }

    #[test]
    fn every_invalid_parameter_is_listed() {
        let Err(ApiError::Validation(invalid)) =
            parse("nope", &query(&[("limit", "0"), ("offset", "-1")]))
        else {
            panic!("expected a validation error");
        };
        let locs: Vec<_> = invalid.iter().map(|p| p.loc).collect();
        assert_eq!(
            locs,
            [["path", "chat_id"], ["query", "limit"], ["query", "offset"]]
        );
    }

    #[test]
    fn non_integers_are_refused() {
        let Err(ApiError::Validation(invalid)) = parse(CHAT, &query(&[("limit", "ten")])) else {
            panic!("expected a validation error");
        };
        assert_eq!(invalid[0].kind, "int_parsing");
    }
}
