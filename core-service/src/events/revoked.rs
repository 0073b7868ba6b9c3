//! A login was revoked (a logout, a refresh token replayed): its tokens are
//! forgotten and its sessions closed on every core.

use super::fanout::publish;
use crate::bus::Event;
use crate::ids::{LoginId, UserId};
use crate::state::{Accounts, Live};

/// The login `login` of `user` was revoked: its sessions close everywhere.
pub fn revoked(accounts: &Accounts, live: &Live, user: UserId, login: LoginId) {
    publish(live, || Event::Revoked { user, login });
    apply(accounts, live, user, login);
}

/// Forgets a revoked login's tokens and closes its sessions on this core.
pub(super) fn apply(accounts: &Accounts, live: &Live, user: UserId, login: LoginId) {
    accounts.tokens.forget_login(login);
    live.sessions.close_login(user, login);
}
