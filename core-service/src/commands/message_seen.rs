//! `MessageSeen`: records a read receipt; tells the sender once all have read.

use super::SessionState;
use crate::convert::parse_uuid;
use crate::error::{Error, Result};
use crate::events;
use crate::state::{Chats, Live};
use crate::store::receipts::SeenOutcome;
use messenger_proto::v1::MessageSeen;

/// Records the receipt. When it completes the set of members, the sender's
/// sessions get `message_seen`, exactly once per message.
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    seen: MessageSeen,
) -> Result<()> {
    let user = session.user()?;
    let message_id = parse_uuid("message_id", &seen.message_id)?;
    match chats.store.mark_seen(user, message_id).await? {
        SeenOutcome::NotFound => Err(Error::MessageNotFound),
        SeenOutcome::Recorded => Ok(()),
        SeenOutcome::NowSeenByAll(message) => {
            events::seen(live, &message);
            Ok(())
        }
    }
}
