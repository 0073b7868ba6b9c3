//! A login was revoked (a logout, a refresh token replayed): its tokens are
//! forgotten and its sessions closed on every core.

use super::fanout::publish;
use crate::bus::Event;
use crate::ids::{LoginId, UserId};
use crate::state::Core;

/// The login `login` of `user` was revoked: its sessions close everywhere.
pub fn revoked(core: &Core, user: UserId, login: LoginId) {
    publish(core, || Event::Revoked { user, login });
    apply(core, user, login);
}

/// Forgets a revoked login's tokens and closes its sessions on this core.
pub(super) fn apply(core: &Core, user: UserId, login: LoginId) {
    core.tokens.forget_login(login);
    core.sessions.close_login(user, login);
}
