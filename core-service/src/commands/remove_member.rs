//! `RemoveMember`: the owner or an admin takes someone out of a group.

use super::SessionState;
use crate::bus::wire::Notice;
use crate::convert::{self, parse_uuid};
use crate::error::Result;
use crate::events;
use crate::ids::{ChatId, UserId};
use crate::state::{Chats, Live};
use crate::store::members::Role;
use messenger_proto::v1::{RemoveMember, server_event::Event};

/// Removes the member; every member and every session of the removed user
/// get `member_left` with `removed_by`.
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    remove: RemoveMember,
) -> Result<()> {
    let user = session.user()?;
    let chat = parse_uuid("chat_id", &remove.chat_id)?;
    let target = parse_uuid("user_id", &remove.user_id)?;
    take_out(chats, live, chat, user, target).await
}

/// `actor` takes `target` out of `chat` (leaves, when they are the same),
/// and everyone concerned is told; so is the new owner's role when the
/// owner went.
pub(super) async fn take_out(
    chats: &Chats,
    live: &Live,
    chat: ChatId,
    actor: UserId,
    target: UserId,
) -> Result<()> {
    let removed = chats.store.remove_member(chat, actor, target).await?;
    let removed_by = (actor != target).then_some(actor);
    let members = removed.membership.members.clone();
    events::left(chats, live, target, removed.membership, removed_by);
    if let Some(owner) = removed.new_owner {
        let changed = convert::role_changed(chat, owner, Role::Owner);
        let notice = Notice {
            users: members,
            event: convert::event(Event::RoleChanged(changed)),
            membership: None,
        };
        events::notify(chats, live, notice, None);
    }
    Ok(())
}
