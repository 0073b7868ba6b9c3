//! `EditMessage`: a sender replaces the text of their message.

use super::SessionState;
use super::send_message::check_text;
use crate::convert::{self, parse_uuid};
use crate::error::Result;
use crate::events;
use crate::state::{Chats, Live};
use crate::store::edits::Change;
use messenger_proto::v1::EditMessage;

/// Stores the new text; every member's sessions get `message_edited` once
/// (this one's is its answer). A retry (same `client_id`) is answered with
/// the message as it is, and nobody else hears of it.
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    edit: EditMessage,
) -> Result<()> {
    let user = session.user()?;
    let edit_id = parse_uuid("client_id", &edit.client_id)?;
    let message_id = parse_uuid("message_id", &edit.message_id)?;
    check_text(&edit.text, chats.limits.max_text_chars)?;
    let change = chats
        .store
        .edit_message(message_id, user, edit_id, &edit.text)
        .await?;
    answer(chats, live, session, change).await;
    Ok(())
}

/// Tells every member of a change, or only this session of a repeat.
pub(super) async fn answer(chats: &Chats, live: &Live, session: &SessionState, change: Change) {
    match change {
        Change::Changed(record) => events::edited(chats, live, &record).await,
        Change::Repeated(record) => {
            let event = convert::edit_event(&record);
            let _ = session.outbox.reply(event).await;
        }
    }
}
