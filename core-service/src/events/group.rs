//! A group was created: its members' sessions are told (the chat itself
//! is read from the database on first use).

use super::fanout::publish;
use crate::bus::Event;
use crate::convert;
use crate::sessions::SessionId;
use crate::state::Core;
use crate::store::chats::GroupRecord;
use messenger_proto::v1::server_event::Event as ServerEvent;

/// A session of this core (`creator`, which has its answer) created `group`.
pub fn group_created(core: &Core, group: &GroupRecord, creator: SessionId) {
    publish(core, || Event::Group(group.clone()));
    announce(core, group, Some(creator));
}

/// Another core created `group`.
pub(super) fn apply(core: &Core, group: &GroupRecord) {
    announce(core, group, None);
}

/// Tells the members' sessions (but `skip`) about a new group.
fn announce(core: &Core, group: &GroupRecord, skip: Option<SessionId>) {
    let event = convert::event(ServerEvent::GroupCreated(convert::group_created(group)));
    core.sessions.deliver(&group.member_ids, skip, &event);
}
