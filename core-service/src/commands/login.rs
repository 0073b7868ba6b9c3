//! `Login`: checks the email and password and binds the session to the user.

use super::SessionState;
use crate::accounts::check_credentials;
use crate::error::Result;
use crate::state::Core;
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
