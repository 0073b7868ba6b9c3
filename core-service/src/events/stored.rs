//! A message was stored: it goes through its chat's line to the live
//! sessions of the members who may hear its sender.

use super::fanout::{arrival, arrive, audience, publish};
use crate::bus::Event;
use crate::membership::Members;
use crate::sessions::SessionId;
use crate::state::{Chats, Live};
use crate::store::records::MessageRecord;

/// A session of this core stored `record` in a chat with `members`.
pub async fn stored(
    chats: &Chats,
    live: &Live,
    record: MessageRecord,
    members: Members,
    sender: SessionId,
) {
    publish(live, || Event::Stored(record.clone()));
    let members = audience(chats, record.sender_id, members).await;
    arrive(chats, live, arrival(record, members, Some(sender)));
}

/// Another core stored `record`.
pub(super) async fn apply(chats: &Chats, live: &Live, record: MessageRecord) {
    if startup::metrics_on() {
        let lag = chrono::Utc::now() - record.timestamp;
        crate::telemetry::bus_lag(lag.to_std().unwrap_or_default());
    }
    match chats.membership.members(&chats.store, record.chat_id).await {
        Ok(members) => {
            let members = audience(chats, record.sender_id, members).await;
            arrive(chats, live, arrival(record, members, None));
        }
        // The chat's line finds the gap when its next message comes, or
        // its tail check does.
        Err(error) => error.log(),
    }
}
