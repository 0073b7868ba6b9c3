//! A message became seen by every member of its chat: its sender's
//! sessions are told.

use super::fanout::publish;
use crate::bus::Event;
use crate::convert;
use crate::state::{Chats, Live};
use crate::store::records::MessageRecord;
use messenger_proto::v1::server_event::Event as ServerEvent;

/// `record` has just become seen by every member of its chat.
pub fn seen(live: &Live, record: &MessageRecord) {
    publish(live, || Event::Seen(record.clone()));
    tell_sender(live, record);
}

/// Another core saw `record` become seen.
pub(super) fn apply(chats: &Chats, live: &Live, record: &MessageRecord) {
    chats.store.cache_seen(record);
    tell_sender(live, record);
}

/// Tells the sender's sessions that every member has seen their message.
fn tell_sender(live: &Live, record: &MessageRecord) {
    let event = convert::event(ServerEvent::MessageSeen(convert::message(record)));
    live.sessions.deliver(&[record.sender_id], None, &event);
}
