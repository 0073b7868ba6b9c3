//! A member left a group chat, or was taken out: the membership caches drop
//! them first, then the remaining members and the user are told.

use super::fanout::publish;
use crate::bus::Event;
use crate::convert;
use crate::ids::UserId;
use crate::membership::Membership;
use crate::state::{Chats, Live};
use messenger_proto::v1::server_event::Event as ServerEvent;

/// `user` left a group chat (or `removed_by` took them out), in which
/// `remaining` stay: every core's membership cache drops them, and the
/// sessions of both the remaining members and the user get `member_left`.
pub fn left(
    chats: &Chats,
    live: &Live,
    user: UserId,
    remaining: Membership,
    removed_by: Option<UserId>,
) {
    publish(live, || Event::Left {
        user,
        remaining: remaining.clone(),
        removed_by,
    });
    // The list comes from the transaction that changed it.
    chats.membership.learn(&remaining);
    depart(live, user, &remaining, removed_by);
}

/// Another core took `user` out: the chat's members are read again here.
pub(super) fn apply(
    chats: &Chats,
    live: &Live,
    user: UserId,
    remaining: &Membership,
    removed_by: Option<UserId>,
) {
    chats.membership.forget(remaining.chat, remaining.version);
    depart(live, user, remaining, removed_by);
}

/// Tells a departure here (the cache has been updated first, so that no
/// message of the chat is fanned out to the user after their `member_left`).
fn depart(live: &Live, user: UserId, remaining: &Membership, removed_by: Option<UserId>) {
    let mut told = remaining.members.to_vec();
    told.push(user);
    let event = convert::event(ServerEvent::MemberLeft(messenger_proto::v1::MemberLeft {
        chat_id: remaining.chat.to_string(),
        user_id: user.to_string(),
        removed_by: removed_by.map(|by| by.to_string()),
    }));
    live.sessions.deliver(&told, None, &event);
}
