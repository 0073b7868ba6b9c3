//! `ListChats`, `ListConnections`, `ListMembers` and `ListBlocks`: what a
//! user sees of their own chats, devices and blocks.

use super::history::page;
use crate::error::Result;
use crate::ids::{ChatId, UserId};
use crate::state::Chats;
use crate::store::chats::ChatSummaryRecord;
use crate::store::connections::ConnectionRecord;
use crate::store::members::NamedMember;

/// One page of the user's chats, most recently active first (`limit` as
/// in history: none given is the default page size).
pub async fn list(
    chats: &Chats,
    user_id: UserId,
    limit: Option<u32>,
    offset: u64,
) -> Result<Vec<ChatSummaryRecord>> {
    let (limit, offset) = page(chats, limit, offset)?;
    chats.store.chats_of_user(user_id, limit, offset).await
}

/// One page of the user's own connections, newest first (`limit` as in
/// history: none given is the default page size).
pub async fn connections(
    chats: &Chats,
    user_id: UserId,
    limit: Option<u32>,
    offset: u64,
) -> Result<Vec<ConnectionRecord>> {
    let (limit, offset) = page(chats, limit, offset)?;
    chats.store.connections_of(user_id, limit, offset).await
}

/// Everyone in `chat`, with names and roles, if the user is in it
/// (`NotAMember` otherwise, as for a chat that does not exist).
pub async fn members(chats: &Chats, user_id: UserId, chat: ChatId) -> Result<Vec<NamedMember>> {
    chats.store.members_of(chat, user_id).await
}

/// The people the user blocks, by name.
pub async fn blocks(chats: &Chats, user_id: UserId) -> Result<Vec<(UserId, String)>> {
    chats.store.blocked_people(user_id).await
}
