//! `ReadUpTo`: a read marker, the receipt for every message up to a seq.

use super::SessionState;
use crate::convert::parse_uuid;
use crate::error::{Error, Result};
use crate::events;
use crate::state::{Chats, Live};
use messenger_proto::v1::{ReadMarker, ReadUpTo, server_event::Event};

/// Moves the user's marker in the chat; tells the senders of the messages
/// this completes (`message_seen`, once per message) and every session of
/// the user (`read_marker`, the answer).
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    read: ReadUpTo,
) -> Result<()> {
    let user = session.user()?;
    let chat_id = parse_uuid("chat_id", &read.chat_id)?;
    let upto = i64::try_from(read.seq).map_err(|_| Error::invalid("seq", "too large"))?;
    let outcome = chats
        .store
        .read_up_to(chat_id, user, upto)
        .await?
        .ok_or(Error::NotAMember)?;
    for record in &outcome.now_seen_by_all {
        events::seen(live, record);
    }
    let marker = ReadMarker {
        chat_id: read.chat_id,
        seq: u64::try_from(outcome.read_seq).unwrap_or_default(),
    };
    events::notify_user(chats, live, user, Event::ReadMarker(marker));
    Ok(())
}
