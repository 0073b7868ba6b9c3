//! `Login`: checks the email and password and binds the session to the user.

use super::SessionState;
use crate::auth::password::{self, Lane};
use crate::email::Email;
use crate::error::{Error, Result};
use crate::state::Core;
use crate::store::users::UserRecord;
use messenger_proto::v1::Login;

/// Checks the credentials and logs the session in as that user.
pub async fn run(core: &Core, session: &mut SessionState, login: Login) -> Result<()> {
    let address = session.origin.client_address.clone();
    let user = check_credentials(core, &login, address.as_deref()).await?;
    // A password login rests on no token: nothing of it expires.
    if let Some((_, expires_at)) = session.grant.take() {
        core.expiries.forget(expires_at, session.id);
    }
    session.log_in(core, &user).await
}

/// The account whose email and password these are. A wrong email and a
/// wrong password give the same error after the same time; while the
/// account or the address has too many recent attempts, the password is not
/// even checked (see [`crate::auth::throttle`]).
pub async fn check_credentials(
    core: &Core,
    login: &Login,
    client_address: Option<&str>,
) -> Result<UserRecord> {
    let checked = verify(core, login, client_address).await;
    crate::telemetry::login(match &checked {
        Ok(_) => "success",
        Err(Error::InvalidCredentials) => "failure",
        Err(Error::TooManyAttempts { .. }) => "throttled",
        Err(_) => "error",
    });
    checked
}

async fn verify(core: &Core, login: &Login, client_address: Option<&str>) -> Result<UserRecord> {
    // No account has an address too long or with control characters:
    // refused before it becomes a key of the throttle's counts or a query.
    let email = Email::normalize(&login.email)?;
    let attempt = core
        .throttle
        .begin(&email, client_address)
        .await
        .map_err(Error::too_many_attempts)?;
    let user = core.store.user_by_email(&email).await?;
    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let turn = core
        .lanes
        .turn_counted(Lane::Login, &core.throttle, &attempt)
        .await?;
    let matches = password::verify(login.password.clone(), stored_hash, turn).await?;
    match user.filter(|_| matches) {
        Some(user) => {
            core.throttle.succeeded(&attempt).await;
            Ok(user)
        }
        // The attempt stays counted.
        None => Err(Error::InvalidCredentials),
    }
}
