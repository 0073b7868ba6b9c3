//! A message was edited or deleted by its sender: the members who may see
//! it are told, as it is now.

use super::fanout::{audience, publish};
use crate::bus::Event;
use crate::convert;
use crate::ids::UserId;
use crate::state::{Chats, Live};
use crate::store::records::MessageRecord;

/// A message was edited or deleted by its sender (`record` is the message
/// as it is now): every core forgets the chat's cached messages, and every
/// member's sessions (the editing one included: it is its answer) get
/// `message_edited` or `message_deleted`.
pub async fn edited(chats: &Chats, live: &Live, record: &MessageRecord) {
    publish(live, || Event::Edited(record.clone()));
    apply(chats, live, record).await;
}

/// Applies an edit or delete here: told to the members who may see the
/// message (not those who block its sender, nor those who hid the chat
/// after it; the sender always, as the answer to the editing session).
pub(super) async fn apply(chats: &Chats, live: &Live, record: &MessageRecord) {
    chats.store.forget_cached(record.chat_id);
    let members = match chats.membership.members(&chats.store, record.chat_id).await {
        Ok(members) => audience(chats, record.sender_id, members).await,
        Err(error) => return error.log(),
    };
    let hidden = match chats.store.hidden_from(record.chat_id, record.seq).await {
        Ok(hidden) => hidden,
        Err(error) => return error.log(),
    };
    let members: Vec<UserId> = members
        .iter()
        .copied()
        .filter(|member| *member == record.sender_id || !hidden.contains(member))
        .collect();
    live.sessions
        .deliver(&members, None, &convert::edit_event(record));
}
