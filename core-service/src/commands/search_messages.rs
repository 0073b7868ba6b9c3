//! `SearchMessages`: the messages of the caller's chats with given words.

use crate::convert::parse_uuid;
use crate::error::{Error, Result};
use crate::ids::{ChatId, MessageId, UserId};
use crate::state::{Chats, Rates};
use crate::store::search::{Found, MessageSearch};
use messenger_proto::v1::SearchMessagesRequest;

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 256;

/// Up to a page of the messages of the user's chats (or of the one chat
/// asked for, which the user must be in) that have the query's words,
/// newest first; paged by `before`, the last message of the previous page.
/// Counts against the user's searches per minute.
pub async fn run(
    chats: &Chats,
    rates: &Rates,
    user: UserId,
    request: &SearchMessagesRequest,
) -> Result<Vec<Found>> {
    let query = request.query.trim();
    if query.is_empty() {
        return Err(Error::invalid("query", "must not be empty"));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        let reason = format!("longer than {MAX_QUERY_CHARS} characters");
        return Err(Error::invalid("query", reason));
    }
    crate::text::check_line("query", query)?;
    let chat: Option<ChatId> = optional_id("chat_id", request.chat_id.as_deref())?;
    let before: Option<MessageId> = optional_id("before", request.before.as_deref())?;
    // 0, the contract's default, is none given.
    let limit = Some(request.limit).filter(|limit| *limit != 0);
    let (limit, _) = super::history::page(chats, limit, 0)?;
    rates
        .searches
        .take(user)
        .map_err(Error::too_many_attempts)?;
    if let Some(chat) = chat {
        chats
            .membership
            .members_with(&chats.store, chat, user)
            .await?
            .ok_or(Error::NotAMember)?;
    }
    let search = MessageSearch {
        reader: user,
        query,
        chat,
        before,
        limit,
    };
    chats.store.search_messages(&search).await
}

fn optional_id<Id: From<uuid::Uuid>>(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<Id>> {
    value.map(|value| parse_uuid(field, value)).transpose()
}
