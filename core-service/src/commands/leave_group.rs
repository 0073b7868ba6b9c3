//! `LeaveGroup`: a member gives up a group chat.

use super::SessionState;
use crate::convert::parse_uuid;
use crate::error::{Error, Result};
use crate::events;
use crate::state::Core;
use crate::store::chats::Departure;
use messenger_proto::v1::LeaveGroup;

/// Takes the user out of the chat, then tells the members who remain and
/// every session of the user (this one included) with `member_left`. From
/// then on the chat's messages, history and sync leave the user out.
pub async fn run(core: &Core, session: &mut SessionState, leave: LeaveGroup) -> Result<()> {
    let user = session.user()?;
    let chat_id = parse_uuid("chat_id", &leave.chat_id)?;
    match core.store.leave_chat(chat_id, user).await? {
        Departure::Left(remaining) => {
            events::left(core, chat_id, user, remaining.into(), None);
            Ok(())
        }
        Departure::Personal => Err(Error::PersonalChat),
        Departure::NotAMember => Err(Error::NotAMember),
    }
}
