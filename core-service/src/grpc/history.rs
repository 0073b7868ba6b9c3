//! The `GetHistory` RPC.

use crate::error::{Error, Result};
use crate::grpc::convert;
use crate::state::Core;
use messenger_proto::v1::{HistoryPage, HistoryRequest};
use uuid::Uuid;

/// One page of a chat's history, oldest first, for a member of the chat.
pub async fn get(core: &Core, user_id: Uuid, request: HistoryRequest) -> Result<HistoryPage> {
    let chat_id = Uuid::parse_str(&request.chat_id)
        .map_err(|_| Error::invalid("chat_id", "must be a UUID"))?;
    let max = core.limits.max_page_size;
    if request.limit == 0 || request.limit > max {
        return Err(Error::invalid(
            "limit",
            format!("must be between 1 and {max}"),
        ));
    }
    let offset =
        i64::try_from(request.offset).map_err(|_| Error::invalid("offset", "too large"))?;
    let members = core.membership.members(&core.store, chat_id).await?;
    if !members.contains(&user_id) {
        return Err(Error::NotAMember);
    }
    let records = core
        .store
        .history(chat_id, i64::from(request.limit), offset)
        .await?;
    Ok(HistoryPage {
        messages: records.iter().map(convert::message).collect(),
    })
}
