//! The `ListChats` RPC.

use crate::error::Result;
use crate::grpc::convert;
use crate::state::Core;
use messenger_proto::v1::{ChatList, ChatSummary, User};
use uuid::Uuid;

/// The user's chats, most recently active first.
pub async fn list(core: &Core, user_id: Uuid) -> Result<ChatList> {
    let records = core.store.chats_of_user(user_id).await?;
    let chats = records
        .iter()
        .map(|chat| ChatSummary {
            id: chat.id.to_string(),
            name: chat.name.clone(),
            r#type: u32::try_from(chat.kind).unwrap_or_default(),
            members: chat
                .members
                .iter()
                .map(|(id, name)| User {
                    id: id.to_string(),
                    name: name.clone(),
                    email: String::new(),
                })
                .collect(),
            last_message: chat.last_message.as_ref().map(convert::message),
            unread_count: u64::try_from(chat.unread).unwrap_or_default(),
        })
        .collect();
    Ok(ChatList { chats })
}
