//! `LeaveGroup`: a member gives up a group chat.

use super::SessionState;
use crate::convert::parse_uuid;
use crate::error::Result;
use crate::state::{Chats, Live};
use messenger_proto::v1::LeaveGroup;

/// Takes the user out of the chat, then tells the members who remain and
/// every session of the user (this one included) with `member_left`. From
/// then on the chat's messages, history and sync leave the user out.
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    leave: LeaveGroup,
) -> Result<()> {
    let user = session.user()?;
    let chat = parse_uuid("chat_id", &leave.chat_id)?;
    super::remove_member::take_out(chats, live, chat, user, user).await
}
