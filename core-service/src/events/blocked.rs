//! Someone blocked or unblocked a user: every core reads again who blocks
//! them before fanning out what they do.

use super::fanout::publish;
use crate::bus::Event;
use crate::ids::UserId;
use crate::state::{Chats, Live};

/// Who blocks `user` changed.
pub fn blocks_changed(chats: &Chats, live: &Live, user: UserId) {
    publish(live, || Event::Blocked(user));
    apply(chats, user);
}

/// Another core changed who blocks `user`.
pub(super) fn apply(chats: &Chats, user: UserId) {
    chats.blocks.forget(user);
}
