//! `SetRole`: the owner makes a member an admin, or an admin a member.

use super::SessionState;
use crate::bus::wire::Notice;
use crate::convert::{self, parse_uuid};
use crate::error::{Error, Result};
use crate::events;
use crate::state::{Chats, Live};
use crate::store::members::Role;
use messenger_proto::v1::{self as pb, SetRole, server_event::Event};

/// Changes the member's role; every member's sessions get `role_changed`
/// (this one's is its answer).
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    set: SetRole,
) -> Result<()> {
    let user = session.user()?;
    let chat = parse_uuid("chat_id", &set.chat_id)?;
    let target = parse_uuid("user_id", &set.user_id)?;
    let role = match pb::Role::try_from(set.role) {
        Ok(pb::Role::Member) => Role::Member,
        Ok(pb::Role::Admin) => Role::Admin,
        _ => return Err(Error::invalid("role", "must be member or admin")),
    };
    let members = chats.store.set_role(chat, user, target, role).await?;
    let notice = Notice {
        users: members.into(),
        event: convert::event(Event::RoleChanged(convert::role_changed(
            chat, target, role,
        ))),
        membership: None,
    };
    events::notify(chats, live, notice, None);
    Ok(())
}
