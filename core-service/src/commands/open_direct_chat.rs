//! `OpenDirectChat`: the personal chat with another user, started if new.

use super::SessionState;
use crate::bus::wire::Notice;
use crate::convert::{self, parse_uuid};
use crate::error::{Error, Result};
use crate::events;
use crate::ids::{ChatId, UserId};
use crate::membership::Membership;
use crate::state::{Chats, Live};
use crate::store::direct_chats::DirectChat;
use messenger_proto::v1::{OpenDirectChat, server_event::Event};

/// Answers with `direct_chat`; a chat created now is also told to every
/// other session of both users (and every core's membership cache).
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    open: OpenDirectChat,
) -> Result<()> {
    let user = session.user()?;
    let other: UserId = parse_uuid("user_id", &open.user_id)?;
    if other == user {
        return Err(Error::invalid(
            "user_id",
            "a direct chat needs another user",
        ));
    }
    let found = chats
        .store
        .open_direct_chat(
            user,
            other,
            ChatId::random(),
            chats.limits.max_chats_per_user,
        )
        .await?;
    let members = [user, other];
    let answer = Event::DirectChat(convert::direct_chat(found.chat_id(), &members));
    if let DirectChat::Created(chat) = found {
        let notice = Notice {
            users: members.to_vec().into(),
            event: convert::event(answer.clone()),
            membership: Some(Membership {
                chat,
                version: 0,
                members: members.to_vec().into(),
            }),
        };
        events::notify(chats, live, notice, Some(session.id));
    }
    session.reply(answer).await;
    Ok(())
}
