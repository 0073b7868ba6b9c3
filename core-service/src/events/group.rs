//! A group was created: its members' sessions are told (the chat itself
//! is read from the database on first use).

use super::fanout::publish;
use crate::bus::Event;
use crate::convert;
use crate::sessions::SessionId;
use crate::state::Live;
use crate::store::chats::GroupRecord;
use messenger_proto::v1::server_event::Event as ServerEvent;

/// A session of this core (`creator`, which has its answer) created `group`.
pub fn group_created(live: &Live, group: &GroupRecord, creator: SessionId) {
    publish(live, || Event::Group(group.clone()));
    announce(live, group, Some(creator));
}

/// Another core created `group`.
pub(super) fn apply(live: &Live, group: &GroupRecord) {
    announce(live, group, None);
}

/// Tells the members' sessions (but `skip`) about a new group.
fn announce(live: &Live, group: &GroupRecord, skip: Option<SessionId>) {
    let event = convert::event(ServerEvent::GroupCreated(convert::group_created(group)));
    live.sessions.deliver(&group.member_ids, skip, &event);
}
