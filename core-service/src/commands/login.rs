//! `Login`: checks the email and password and binds the session to the user.

use super::SessionState;
use crate::accounts::check_credentials;
use crate::error::Result;
use crate::state::{Accounts, Chats, Live};
use messenger_proto::v1::Login;

/// Checks the credentials and logs the session in as that user.
pub async fn run(
    chats: &Chats,
    accounts: &Accounts,
    live: &Live,
    session: &mut SessionState,
    login: Login,
) -> Result<()> {
    let address = session.origin.client_address.clone();
    let user = check_credentials(accounts, &login, address.as_deref()).await?;
    // A password login rests on no token: nothing of it expires.
    session.release_grant(accounts);
    session.log_in(chats, accounts, live, &user).await
}
