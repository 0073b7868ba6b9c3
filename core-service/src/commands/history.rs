//! `GetHistory`: one page of a chat's history, for a member of the chat.

use crate::error::{Error, Result};
use crate::ids::{ChatId, UserId};
use crate::state::Chats;
use crate::store::records::MessageRecord;

/// A page of a chat's history, as asked: either `offset` messages into the
/// chat, or between the cursors `after_seq` and `before_seq`.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub chat_id: ChatId,
    /// `None`: the default page size.
    pub limit: Option<u32>,
    pub offset: u64,
    pub after_seq: Option<u64>,
    pub before_seq: Option<u64>,
}

/// The messages of the page, oldest first.
pub async fn get(
    chats: &Chats,
    user_id: UserId,
    query: HistoryQuery,
) -> Result<Vec<MessageRecord>> {
    let started = std::time::Instant::now();
    let page = read(chats, user_id, query).await;
    crate::telemetry::history(started.elapsed());
    page
}

async fn read(chats: &Chats, user_id: UserId, query: HistoryQuery) -> Result<Vec<MessageRecord>> {
    let (limit, offset) = page(chats, query.limit, query.offset)?;
    let after = cursor(query.after_seq, "after_seq")?;
    let before = cursor(query.before_seq, "before_seq")?;
    if offset > 0 && (after.is_some() || before.is_some()) {
        return Err(Error::invalid(
            "offset",
            "cannot be combined with after_seq or before_seq",
        ));
    }
    // The database decides, not the membership cache: a reader who was
    // just removed on another core is refused at once.
    let reader = (chats.store.reader(query.chat_id, user_id).await?).ok_or(Error::NotAMember)?;
    if !reader.blocks.is_empty() || reader.cleared_seq > 0 {
        // The reader blocks someone, or hid the chat: the blocked users'
        // messages and everything up to the hiding are left out, and the
        // page is filled from further on. An offset page is the page
        // after seq `offset` of what is left.
        let floor = reader.cleared_seq;
        let after = match (after, before) {
            (None, None) => Some(floor.saturating_add(offset)),
            _ => after,
        };
        return chats
            .store
            .history_hiding(query.chat_id, after, before, floor, limit, &reader.blocks)
            .await;
    }
    if after.is_some() || before.is_some() {
        chats
            .store
            .history_between(query.chat_id, after, before, limit)
            .await
    } else {
        chats.store.history(query.chat_id, limit, offset).await
    }
}

/// Checks a page request: `limit` from 1 to the maximum page size (none
/// given is the default page size), an `offset` that fits the database's
/// integers.
pub fn page(chats: &Chats, limit: Option<u32>, offset: u64) -> Result<(i64, i64)> {
    let max = chats.limits.max_page_size;
    let limit = match limit {
        None => chats.limits.default_page_size.min(max),
        Some(limit) if limit == 0 || limit > max => {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {max}"),
            ));
        }
        Some(limit) => limit,
    };
    let offset = i64::try_from(offset).map_err(|_| Error::invalid("offset", "too large"))?;
    Ok((i64::from(limit), offset))
}

/// A seq cursor as the database's integer.
fn cursor(value: Option<u64>, field: &'static str) -> Result<Option<i64>> {
    value
        .map(|seq| i64::try_from(seq).map_err(|_| Error::invalid(field, "too large")))
        .transpose()
}
