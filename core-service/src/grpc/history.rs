//! The `GetHistory` RPC: the request into a [`HistoryQuery`], the page into
//! protobuf.

use crate::commands::history::{self, HistoryQuery};
use crate::convert;
use crate::error::Result;
use crate::ids::UserId;
use crate::state::Chats;
use messenger_proto::v1::{HistoryPage, HistoryRequest};

/// One page of a chat's history, oldest first, for a member of the chat.
pub async fn get(chats: &Chats, user_id: UserId, request: HistoryRequest) -> Result<HistoryPage> {
    let query = HistoryQuery {
        chat_id: convert::parse_uuid("chat_id", &request.chat_id)?,
        limit: limit(request.limit),
        offset: request.offset,
        after_seq: request.after_seq,
        before_seq: request.before_seq,
    };
    let records = history::get(chats, user_id, query).await?;
    Ok(HistoryPage {
        messages: records.iter().map(convert::message).collect(),
    })
}

/// A page size on the wire: 0 is none given.
pub(super) fn limit(limit: u32) -> Option<u32> {
    (limit > 0).then_some(limit)
}
