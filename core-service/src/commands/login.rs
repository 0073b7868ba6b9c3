//! `Login`: checks the email and password and binds the session to the user.

use super::SessionState;
use crate::auth::password;
use crate::error::{Error, Result};
use crate::grpc::convert;
use crate::state::Core;
use messenger_proto::v1::{Login, server_event::Event};

/// Checks the credentials, registers the session under the user (replacing
/// any earlier login of this session) and replies `auth_success`.
pub async fn run(core: &Core, session: &mut SessionState, login: Login) -> Result<()> {
    let user = check_credentials(core, login).await?;
    session.end(core);
    session.user = Some(user.id);
    core.sessions
        .register(user.id, session.id, session.outbox.clone());
    tracing::info!(user_id = %user.id, session_id = session.id, "logged in");
    session
        .reply(Event::AuthSuccess(convert::user(&user)))
        .await;
    Ok(())
}

/// The account whose email and password these are; the same error, after
/// the same time, whether the email or the password was wrong.
pub async fn check_credentials(
    core: &Core,
    login: Login,
) -> Result<crate::store::users::UserRecord> {
    let user = core.store.user_by_email(login.email.trim()).await?;
    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    if password::verify(login.password, stored_hash).await? {
        user.ok_or(Error::InvalidCredentials)
    } else {
        Err(Error::InvalidCredentials)
    }
}
