//! `Typing`: a member is typing; the others see it for a moment.

use super::SessionState;
use crate::bus::wire::Notice;
use crate::convert::{self, parse_uuid};
use crate::error::{Error, Result};
use crate::events;
use crate::ids::UserId;
use crate::state::{Chats, Live, Rates};
use messenger_proto::v1::{Typing, TypingNotice, server_event::Event};

/// How long a client shows a `typing` notice unless another comes: two
/// intervals, so one lost notice does not make it flicker.
const TYPING_SHOWN_MS: u32 = 6_000;

/// Tells the other members' sessions, on every core, that the user is
/// typing. Nothing is stored and nothing answers: a notice within
/// [`crate::state::TYPING_INTERVAL`] of the last one passed on is dropped.
pub async fn run(
    chats: &Chats,
    rates: &Rates,
    live: &Live,
    session: &mut SessionState,
    typing: Typing,
) -> Result<()> {
    let user = session.user()?;
    let chat = parse_uuid("chat_id", &typing.chat_id)?;
    let members = chats
        .membership
        .members_with(&chats.store, chat, user)
        .await?
        .ok_or(Error::NotAMember)?;
    if rates.typing.take((user, chat)).is_err() {
        return Ok(());
    }
    let members = events::fanout::audience(chats, user, members).await;
    let others: Vec<UserId> = members.iter().copied().filter(|m| *m != user).collect();
    let notice = TypingNotice {
        chat_id: typing.chat_id,
        user_id: user.to_string(),
        expires_in_ms: TYPING_SHOWN_MS,
    };
    let notice = Notice {
        users: others.into(),
        event: convert::event(Event::Typing(notice)),
        membership: None,
    };
    events::notify(chats, live, notice, None);
    Ok(())
}
