//! Someone blocked or unblocked a user: every core reads again who blocks
//! them before fanning out what they do.

use super::fanout::publish;
use crate::bus::Event;
use crate::ids::UserId;
use crate::state::Core;

/// Who blocks `user` changed.
pub fn blocks_changed(core: &Core, user: UserId) {
    publish(core, || Event::Blocked(user));
    apply(core, user);
}

/// Another core changed who blocks `user`.
pub(super) fn apply(core: &Core, user: UserId) {
    core.blocks.forget(user);
}
