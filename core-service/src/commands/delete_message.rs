//! `DeleteMessage`: a sender takes their message back, leaving a tombstone.

use super::SessionState;
use crate::convert::parse_uuid;
use crate::error::Result;
use crate::state::{Chats, Live};
use messenger_proto::v1::DeleteMessage;

/// Empties the message and marks it deleted; every member's sessions get
/// `message_deleted` once (this one's is its answer). Deleting it again is
/// answered the same, and nobody else hears of it.
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    delete: DeleteMessage,
) -> Result<()> {
    let user = session.user()?;
    let message_id = parse_uuid("message_id", &delete.message_id)?;
    let change = chats.store.delete_message(message_id, user).await?;
    super::edit_message::answer(chats, live, session, change).await;
    Ok(())
}
