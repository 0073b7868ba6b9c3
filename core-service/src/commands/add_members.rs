//! `AddMembers`: a member brings people into a group chat.

use super::SessionState;
use super::create_group::users;
use crate::bus::wire::Notice;
use crate::convert::{self, parse_uuid};
use crate::error::{Error, Result};
use crate::events;
use crate::ids::UserId;
use crate::state::{Chats, Live};
use crate::store::members::AddLimits;
use messenger_proto::v1::{AddMembers, MembersAdded, server_event::Event};

/// Adds the users who are not members yet. They get `group_created` (the
/// group as it is now); the members before them get `members_added`, this
/// session included (its answer). With nobody new, only this session is
/// answered, with an empty `members_added`.
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    add: AddMembers,
) -> Result<()> {
    let user = session.user()?;
    let chat = parse_uuid("chat_id", &add.chat_id)?;
    let wanted = users(chats, user, &add.user_ids)?;
    if wanted.len() < 2 {
        return Err(Error::invalid("users", "name at least one user"));
    }
    let limits = AddLimits {
        members_per_group: chats.limits.max_group_members,
        chats_per_user: chats.limits.max_chats_per_user,
    };
    let added = chats
        .store
        .add_members(chat, user, &wanted[1..], limits)
        .await?;
    let told = MembersAdded {
        chat_id: add.chat_id,
        user_ids: added.added.iter().map(ToString::to_string).collect(),
        added_by: user.to_string(),
    };
    if added.added.is_empty() {
        session.reply(Event::MembersAdded(told)).await;
        return Ok(());
    }
    let newcomers = Notice {
        users: added.added.clone().into(),
        event: convert::event(Event::GroupCreated(convert::group_created(&added.group))),
        membership: Some(added.membership.clone()),
    };
    events::notify(chats, live, newcomers, None);
    let before: Vec<UserId> = (added.membership.members.iter())
        .filter(|member| !added.added.contains(member))
        .copied()
        .collect();
    let members = Notice {
        users: before.into(),
        event: convert::event(Event::MembersAdded(told)),
        membership: Some(added.membership),
    };
    events::notify(chats, live, members, None);
    Ok(())
}
