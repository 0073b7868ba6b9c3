//! Authentication: passwords, tokens, credentials and login throttling.

use crate::ids::LoginId;
use crate::store::users::UserRecord;
use chrono::{DateTime, Utc};

pub mod password;
pub mod throttle;
pub mod token_cache;
pub mod tokens;

/// Whom a credential (a login-session or access token) stands for.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: UserRecord,
    /// The login (token family) the credential belongs to.
    pub login: LoginId,
    /// When the credential stops being accepted.
    pub expires_at: DateTime<Utc>,
}
