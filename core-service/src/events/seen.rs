//! A message became seen by every member of its chat: its sender's
//! sessions are told.

use super::fanout::publish;
use crate::bus::Event;
use crate::convert;
use crate::state::Core;
use crate::store::records::MessageRecord;
use messenger_proto::v1::server_event::Event as ServerEvent;

/// `record` has just become seen by every member of its chat.
pub fn seen(core: &Core, record: &MessageRecord) {
    publish(core, || Event::Seen(record.clone()));
    tell_sender(core, record);
}

/// Another core saw `record` become seen.
pub(super) fn apply(core: &Core, record: &MessageRecord) {
    core.store.cache_seen(record);
    tell_sender(core, record);
}

/// Tells the sender's sessions that every member has seen their message.
fn tell_sender(core: &Core, record: &MessageRecord) {
    let event = convert::event(ServerEvent::MessageSeen(convert::message(record)));
    core.sessions.deliver(&[record.sender_id], None, &event);
}
