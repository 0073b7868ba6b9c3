//! `ListChats` and `ListConnections`: what a user sees of their own chats
//! and devices.

use super::history::page;
use crate::error::Result;
use crate::ids::UserId;
use crate::state::Chats;
use crate::store::chats::ChatSummaryRecord;
use crate::store::connections::ConnectionRecord;

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
