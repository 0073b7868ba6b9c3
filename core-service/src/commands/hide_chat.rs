//! `HideChat`: a chat deleted for the user alone.

use super::SessionState;
use crate::convert::parse_uuid;
use crate::error::{Error, Result};
use crate::events;
use crate::state::{Chats, Live};
use messenger_proto::v1::{ChatHidden, HideChat, server_event::Event};

/// Hides the chat for the user up to its newest message (`sql/0026`);
/// every session of the user, on every core, gets `chat_hidden`.
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    hide: HideChat,
) -> Result<()> {
    let user = session.user()?;
    let chat = parse_uuid("chat_id", &hide.chat_id)?;
    let seq = chats
        .store
        .hide_chat(chat, user)
        .await?
        .ok_or(Error::NotAMember)?;
    let hidden = ChatHidden {
        chat_id: chat.to_string(),
        seq: u64::try_from(seq).unwrap_or(0),
    };
    events::notify_user(chats, live, user, Event::ChatHidden(hidden));
    Ok(())
}
