//! `BlockUser` and `UnblockUser`: whom the user hears nothing from and
//! does not let put them in groups or chats.

use super::SessionState;
use crate::convert::parse_uuid;
use crate::error::{Error, Result};
use crate::events;
use crate::state::{Chats, Live};
use messenger_proto::v1::{BlockChanged, server_event::Event};

/// Blocks (`blocked`) or unblocks the user named `user_id`; answers, on
/// every session of the user, with `block_changed`. Doing it twice changes nothing and answers the same.
pub async fn run(
    chats: &Chats,
    live: &Live,
    session: &mut SessionState,
    user_id: &str,
    blocked: bool,
) -> Result<()> {
    let user = session.user()?;
    let other = parse_uuid("user_id", user_id)?;
    if other == user {
        return Err(Error::invalid("user_id", "you cannot block yourself"));
    }
    if blocked {
        if !chats.store.block(user, other).await? {
            return Err(Error::UnknownUser(other));
        }
    } else {
        chats.store.unblock(user, other).await?;
    }
    events::blocks_changed(chats, live, other);
    let answer = BlockChanged {
        user_id: other.to_string(),
        blocked,
    };
    // Every device of the user learns of it, on every core.
    events::notify_user(chats, live, user, Event::BlockChanged(answer));
    Ok(())
}
