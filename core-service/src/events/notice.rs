//! A notice: an event for some users' sessions on every core, maybe with a
//! chat's new members for the membership caches (how the additions'
//! events travel: members added, roles, renames, read markers, blocks).

use super::fanout::publish;
use crate::bus::Event;
use crate::bus::wire::Notice;
use crate::convert;
use crate::ids::UserId;
use crate::sessions::SessionId;
use crate::state::{Chats, Live};
use messenger_proto::v1::server_event::Event as ServerEvent;

/// Tells `notice.event` to the sessions of `notice.users` (but `skip`),
/// here and on every other core, each core's membership cache first taking
/// `notice.membership` when it is given.
pub fn notify(chats: &Chats, live: &Live, notice: Notice, skip: Option<SessionId>) {
    publish(live, || Event::Notice(notice.clone()));
    if let Some(membership) = &notice.membership {
        chats.membership.learn(membership);
    }
    tell(live, &notice, skip);
}

/// Tells `event` to every session of `user` (all their devices), here and
/// on every other core.
pub fn notify_user(chats: &Chats, live: &Live, user: UserId, event: ServerEvent) {
    let notice = Notice {
        users: vec![user].into(),
        event: convert::event(event),
        membership: None,
    };
    notify(chats, live, notice, None);
}

/// Another core's notice: its chat's members, if it names them, are read
/// again here (the event's list is never installed).
pub(super) fn apply(chats: &Chats, live: &Live, notice: &Notice) {
    if let Some(membership) = &notice.membership {
        chats.membership.forget(membership.chat, membership.version);
    }
    tell(live, notice, None);
}

/// Tells a notice here (the cache has been updated first, so that no
/// message of the chat is fanned out by the old members after the event).
fn tell(live: &Live, notice: &Notice, skip: Option<SessionId>) {
    live.sessions.deliver(&notice.users, skip, &notice.event);
}
