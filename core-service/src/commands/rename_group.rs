//! `RenameGroup`: the owner or an admin gives a group a new name.

use super::SessionState;
use super::create_group::group_name;
use crate::bus::wire::Notice;
use crate::convert::{self, parse_uuid};
use crate::error::Result;
use crate::events;
use crate::state::{Chats, Live};
use messenger_proto::v1::{GroupRenamed, RenameGroup, server_event::Event};

/// Renames the group; every member's sessions get `group_renamed` (this
/// one's is its answer).
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    rename: RenameGroup,
) -> Result<()> {
    let user = session.user()?;
    let chat = parse_uuid("chat_id", &rename.chat_id)?;
    let name = group_name(chats, &rename.name)?;
    let members = chats.store.rename_group(chat, user, name).await?;
    let renamed = GroupRenamed {
        chat_id: rename.chat_id.clone(),
        name: name.to_owned(),
        renamed_by: user.to_string(),
    };
    let notice = Notice {
        users: members.into(),
        event: convert::event(Event::GroupRenamed(renamed)),
        membership: None,
    };
    events::notify(chats, live, notice, None);
    Ok(())
}
