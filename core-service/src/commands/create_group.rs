//! `CreateGroup`: creates a group chat and tells every member.

use super::SessionState;
use crate::convert;
use crate::convert::parse_uuid;
use crate::error::{Error, Result};
use crate::events;
use crate::ids::{ChatId, GroupId, UserId};
use crate::membership::Membership;
use crate::state::{Chats, Live};
use crate::store::chats::{GroupQuota, GroupRecord};
use messenger_proto::v1::{CreateGroup, server_event::Event};
use std::collections::HashSet;

/// Creates the group (chat, members, group, user_groups: one transaction),
/// then sends `group_created` to this session and every member's sessions.
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    request: CreateGroup,
) -> Result<()> {
    let creator_id = session.user()?;
    let group = parse(chats, creator_id, &request)?;
    let known = chats.store.existing_users(&group.member_ids).await?;
    if let Some(unknown) = group.member_ids.iter().find(|id| !known.contains(id)) {
        return Err(Error::UnknownUser(*unknown));
    }
    let quota = GroupQuota {
        groups_per_creator: chats.limits.max_groups_per_user,
        chats_per_user: chats.limits.max_chats_per_user,
    };
    chats.store.create_group(&group, quota).await?;
    chats.membership.learn(&Membership {
        chat: group.chat_id,
        version: 0,
        members: group.member_ids.clone().into(),
    });
    let event = convert::event(Event::GroupCreated(convert::group_created(&group)));
    let _ = session.outbox.reply(event).await;
    events::group_created(live, &group, session.id);
    Ok(())
}

/// Checks the name and member list; the creator is always a member.
fn parse(chats: &Chats, creator_id: UserId, request: &CreateGroup) -> Result<GroupRecord> {
    let name = group_name(chats, &request.name)?;
    let member_ids = users(chats, creator_id, &request.user_ids)?;
    Ok(GroupRecord {
        id: GroupId::random(),
        chat_id: ChatId::random(),
        name: name.to_owned(),
        creator_id,
        member_ids,
    })
}

/// A group's name, trimmed: not blank, one line, not too long.
pub(super) fn group_name<'a>(chats: &Chats, name: &'a str) -> Result<&'a str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    crate::text::check_line("name", name)?;
    if name.chars().count() > chats.limits.max_group_name_chars {
        let max = chats.limits.max_group_name_chars;
        return Err(Error::invalid(
            "name",
            format!("longer than {max} characters"),
        ));
    }
    Ok(name)
}

/// `first` and the users of a list of ids (field `users`), each once, no
/// more than a group may have.
pub(super) fn users(chats: &Chats, first: UserId, ids: &[String]) -> Result<Vec<UserId>> {
    // The size first: the list is read only once it is known to be small.
    let max = chats.limits.max_group_members;
    if ids.len() > max {
        return Err(Error::invalid("users", format!("more than {max} members")));
    }
    let mut users = vec![first];
    let mut seen = HashSet::from([first]);
    for text in ids {
        let id = parse_uuid("users", text)?;
        if seen.insert(id) {
            users.push(id);
        }
    }
    if users.len() > max {
        return Err(Error::invalid("users", format!("more than {max} members")));
    }
    Ok(users)
}
