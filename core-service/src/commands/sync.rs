//! `Sync`: everything a reconnecting client missed, in all its chats.

use super::SessionState;
use crate::convert;
use crate::convert::parse_uuid;
use crate::error::{Error, Result};
use crate::ids::{ChatId, UserId};
use crate::state::Chats;
use crate::store::chats::{ChatPosition, GROUP_CHAT};
use messenger_proto::v1::{ChatHidden, Cursor, MemberLeft, Sync, server_event::Event};
use std::collections::HashMap;

/// Without a cursor, this many of each chat's newest messages are sent.
const RECENT_WINDOW: i64 = 50;
/// Messages read from the database at a time.
const PAGE: i64 = 500;

/// Sends the missed messages chat by chat in seq order, then `sync_done`.
/// The replies are paced by the client: they wait until it has taken the
/// earlier ones, so a long catch-up never holds more than a window of it
/// in memory here or on the edge, and never fills the client's queue.
pub async fn run(chats: &Chats, session: &mut SessionState, sync: Sync) -> Result<()> {
    if let Some(cursor) = catch_up(chats, session, sync.since).await? {
        session.reply_paced(Event::SyncDone(cursor)).await;
    }
    Ok(())
}

/// A sync without its `sync_done`: the cursor that would say, or `None` if
/// the session ended on the way.
pub(super) async fn catch_up(
    chats: &Chats,
    session: &SessionState,
    since: Option<Cursor>,
) -> Result<Option<Cursor>> {
    let user = session.user()?;
    let mut since = since.map(parse_cursor).transpose()?;
    let mut cursor = Cursor::default();
    // Nothing of a user this one blocks is sent (the cursor still passes
    // their messages).
    let hidden = chats.store.blocked_by(user).await?;
    for chat in chats.store.chat_positions(user).await? {
        let from = match since.as_mut().map(|known| known.remove(&chat.id)) {
            None => (chat.last_seq - RECENT_WINDOW).max(0),
            Some(Some(seq)) => {
                tell_changes(chats, session, &chat, seq).await?;
                tell_hidden(session, &chat, seq).await;
                seq
            }
            Some(None) => {
                if !is_hidden(&chat) {
                    announce(chats, session, &chat).await?;
                }
                0
            }
        };
        // Nothing up to where the user hid the chat is sent again.
        let from = from.max(chat.cleared_seq.unwrap_or(0));
        let Some(last) = send_after(chats, session, &chat, from, &hidden).await? else {
            return Ok(None);
        };
        cursor
            .chats
            .insert(chat.id.to_string(), u64::try_from(last).unwrap_or(0));
    }
    // What remains of the cursor are chats the user is no longer in.
    for chat in since.into_iter().flat_map(HashMap::into_keys) {
        let left = MemberLeft {
            chat_id: chat.to_string(),
            user_id: user.to_string(),
            removed_by: None,
        };
        session.reply_paced(Event::MemberLeft(left)).await;
    }
    Ok(Some(cursor))
}

/// Sends a group's state when its members, roles or name changed since
/// the client's cursor (`seq`) was taken.
async fn tell_changes(
    chats: &Chats,
    session: &SessionState,
    chat: &ChatPosition,
    seq: i64,
) -> Result<()> {
    if chat.kind != GROUP_CHAT || chat.changed_seq.is_none_or(|changed| changed < seq) {
        return Ok(());
    }
    let state = chats.store.group_state(chat.id).await?;
    session
        .reply_paced(Event::GroupState(convert::group_state(&state)))
        .await;
    Ok(())
}

/// Tells a client whose cursor predates the hiding of a chat (on another
/// device, while it was away) that the chat is hidden up to that seq.
async fn tell_hidden(session: &SessionState, chat: &ChatPosition, seq: i64) {
    let Some(cleared) = chat.cleared_seq.filter(|cleared| seq <= *cleared) else {
        return;
    };
    let hidden = ChatHidden {
        chat_id: chat.id.to_string(),
        seq: u64::try_from(cleared).unwrap_or(0),
    };
    session.reply_paced(Event::ChatHidden(hidden)).await;
}

/// Whether the user hid the chat and nothing came after.
fn is_hidden(chat: &ChatPosition) -> bool {
    chat.cleared_seq
        .is_some_and(|cleared| chat.last_seq <= cleared)
}

fn parse_cursor(cursor: Cursor) -> Result<HashMap<ChatId, i64>> {
    cursor
        .chats
        .into_iter()
        .map(|(chat, seq)| {
            let seq = i64::try_from(seq).map_err(|_| Error::invalid("since", "seq too large"))?;
            Ok((parse_uuid("since", &chat)?, seq))
        })
        .collect()
}

/// Announces a chat the client did not know (created while it was away):
/// `group_created` for a group, `direct_chat` for a personal one.
async fn announce(chats: &Chats, session: &SessionState, chat: &ChatPosition) -> Result<()> {
    if chat.kind != GROUP_CHAT {
        let members = chats.membership.members(&chats.store, chat.id).await?;
        let event = Event::DirectChat(convert::direct_chat(chat.id, &members));
        session.reply_paced(event).await;
        return Ok(());
    }
    if let Some(group) = chats.store.group_of_chat(chat.id).await? {
        let event = Event::GroupCreated(convert::group_created(&group));
        session.reply_paced(event).await;
    }
    Ok(())
}

/// Sends every message of the chat after `from` up to its last seq when
/// the sync began (later ones reach the session live); returns the last seq
/// sent (or `from` if there was none), or `None` if the session ended.
///
/// Pages come from the recent-messages cache where it has them, but the
/// end of the chat is the database's: a message another core stored and
/// acked may not have reached this core's cache over the bus yet, and a
/// `sync_done` without it would tell the client it has everything.
async fn send_after(
    chats: &Chats,
    session: &SessionState,
    chat: &ChatPosition,
    mut from: i64,
    hidden: &[UserId],
) -> Result<Option<i64>> {
    while from < chat.last_seq {
        let mut page = chats
            .store
            .history_between(chat.id, Some(from), Some(chat.last_seq + 1), PAGE)
            .await?;
        if page.is_empty() {
            let last = from.saturating_add(PAGE).min(chat.last_seq);
            page = chats.store.seq_range(chat.id, from + 1, last).await?;
        }
        let Some(end) = page.last().map(|message| message.seq) else {
            break;
        };
        for message in page.iter().filter(|m| !hidden.contains(&m.sender_id)) {
            let event = Event::Message(convert::message(message));
            if !session.reply_paced(event).await {
                return Ok(None);
            }
        }
        from = end;
    }
    Ok(Some(from))
}
