//! The steps every event's telling shares: publishing it for the other
//! cores, choosing who may hear it, and handing a message to its chat's
//! line and from there to the live sessions.

use crate::bus::Event;
use crate::convert;
use crate::ids::UserId;
use crate::lines::Arrival;
use crate::membership::Members;
use crate::sessions::SessionId;
use crate::state::{Chats, Live};
use crate::store::records::MessageRecord;
use messenger_proto::v1::server_event::Event as ServerEvent;

/// Publishes the event `event` makes, if there is a bus (made only then).
pub fn publish(live: &Live, event: impl FnOnce() -> Event) {
    if let Some(bus) = &live.bus {
        bus.publish(&event());
        crate::telemetry::bus_event("published");
    }
}

/// `members` but those who block `sender` (all of them when that cannot be
/// read: a failed read must not lose a message for everyone).
pub async fn audience(chats: &Chats, sender: UserId, members: Members) -> Members {
    match chats
        .blocks
        .audience(&chats.store, sender, members.clone())
        .await
    {
        Ok(audience) => audience,
        Err(error) => {
            error.log();
            members
        }
    }
}

/// A message for its chat's line.
pub fn arrival(record: MessageRecord, members: Members, skip: Option<SessionId>) -> Arrival {
    let event = convert::event(ServerEvent::Message(convert::message(&record)));
    Arrival {
        record,
        event,
        members,
        skip,
    }
}

pub fn arrive(chats: &Chats, live: &Live, arrival: Arrival) {
    live.order
        .arrive(arrival, &mut |arrival| deliver(chats, live, arrival));
}

/// Hands a message, in its turn, to the live sessions of its chat's members.
pub fn deliver(chats: &Chats, live: &Live, arrival: &Arrival) {
    live.sessions
        .deliver(&arrival.members, arrival.skip, &arrival.event);
    if arrival.skip.is_some() && startup::metrics_on() {
        let took = chrono::Utc::now() - arrival.record.timestamp;
        crate::telemetry::fanned_out(took.to_std().unwrap_or_default());
    }
    // A message one of this core's sessions sent (it has a session to
    // skip) went into the cache with its commit; only the others' need it.
    if arrival.skip.is_none() {
        chats.store.cache_message(&arrival.record);
    }
}
