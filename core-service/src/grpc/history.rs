//! The `GetHistory` RPC.

use crate::convert;
use crate::error::{Error, Result};
use crate::state::Core;
use messenger_proto::v1::{HistoryPage, HistoryRequest};
use uuid::Uuid;

/// Checks a page request: `limit` from 1 to the maximum page size (0, or
/// none given, is the default page size), an `offset` that fits the
/// database's integers.
pub(super) fn page(core: &Core, limit: u32, offset: u64) -> Result<(i64, i64)> {
    let max = core.limits.max_page_size;
    let limit = match limit {
        0 => core.limits.default_page_size.min(max),
        limit if limit > max => {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {max}"),
            ));
        }
        limit => limit,
    };
    let offset = i64::try_from(offset).map_err(|_| Error::invalid("offset", "too large"))?;
    Ok((i64::from(limit), offset))
}

/// One page of a chat's history, oldest first, for a member of the chat.
pub async fn get(core: &Core, user_id: Uuid, request: HistoryRequest) -> Result<HistoryPage> {
    let chat_id = Uuid::parse_str(&request.chat_id)
        .map_err(|_| Error::invalid("chat_id", "must be a UUID"))?;
    let (limit, offset) = page(core, request.limit, request.offset)?;
    let cursor = |value: Option<u64>, field| {
        value
            .map(|seq| i64::try_from(seq).map_err(|_| Error::invalid(field, "too large")))
            .transpose()
    };
    let after = cursor(request.after_seq, "after_seq")?;
    let before = cursor(request.before_seq, "before_seq")?;
    if offset > 0 && (after.is_some() || before.is_some()) {
        return Err(Error::invalid(
            "offset",
            "cannot be combined with after_seq or before_seq",
        ));
    }
    let members = core.membership.members(&core.store, chat_id).await?;
    if !members.contains(&user_id) {
        return Err(Error::NotAMember);
    }
    let records = if after.is_some() || before.is_some() {
        core.store
            .history_between(chat_id, after, before, limit)
            .await?
    } else {
        core.store.history(chat_id, limit, offset).await?
    };
    Ok(HistoryPage {
        messages: records.iter().map(convert::message).collect(),
    })
}
