//! A notice: an event for some users' sessions on every core, maybe with a
//! chat's new members for the membership caches (how the additions'
//! events travel: members added, roles, renames, read markers, blocks).

use super::fanout::publish;
use crate::bus::Event;
use crate::bus::wire::Notice;
use crate::convert;
use crate::ids::UserId;
use crate::sessions::SessionId;
use crate::state::Core;
use messenger_proto::v1::server_event::Event as ServerEvent;

/// Tells `notice.event` to the sessions of `notice.users` (but `skip`),
/// here and on every other core, each core's membership cache first taking
/// `notice.membership` when it is given.
pub fn notify(core: &Core, notice: Notice, skip: Option<SessionId>) {
    publish(core, || Event::Notice(notice.clone()));
    if let Some(membership) = &notice.membership {
        core.membership.learn(membership);
    }
    tell(core, &notice, skip);
}

/// Tells `event` to every session of `user` (all their devices), here and
/// on every other core.
pub fn notify_user(core: &Core, user: UserId, event: ServerEvent) {
    let notice = Notice {
        users: vec![user].into(),
        event: convert::event(event),
        membership: None,
    };
    notify(core, notice, None);
}

/// Another core's notice: its chat's members, if it names them, are read
/// again here (the event's list is never installed).
pub(super) fn apply(core: &Core, notice: &Notice) {
    if let Some(membership) = &notice.membership {
        core.membership.forget(membership.chat, membership.version);
    }
    tell(core, notice, None);
}

/// Tells a notice here (the cache has been updated first, so that no
/// message of the chat is fanned out by the old members after the event).
fn tell(core: &Core, notice: &Notice, skip: Option<SessionId>) {
    core.sessions.deliver(&notice.users, skip, &notice.event);
}
