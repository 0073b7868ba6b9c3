//! Accounts and credentials: registration, browser login sessions, OAuth
//! 2.0 tokens, and resolving a credential to its user.

use crate::auth::Authenticated;
use crate::auth::password::{self, Lane};
use crate::auth::tokens;
use crate::email::Email;
use crate::error::{Error, Result};
use crate::events;
use crate::ids::{LoginId, UserId};
use crate::state::{Accounts, Live};
use crate::store::tokens::TokenKind;
use crate::store::tokens::{NewToken, RefreshOutcome};
use crate::store::users::UserRecord;
use chrono::{DateTime, Utc};
use messenger_proto::v1::{Login, RegisterRequest, TokenGrant, token_request::Grant};
use std::time::Duration;

/// Longest name, in characters.
const MAX_NAME_CHARS: usize = 100;
/// Longest password: bounds the cost of hashing it.
const MAX_PASSWORD_CHARS: usize = 1024;

/// Creates an account after checking its fields; counted against
/// `client_address`, which may register only so many in a window.
pub async fn register(
    accounts: &Accounts,
    request: RegisterRequest,
    client_address: Option<&str>,
) -> Result<UserRecord> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    crate::text::check_line("name", name)?;
    let email = Email::parse(&request.email)?;
    let length = request.password.chars().count();
    let min = accounts.settings.min_password_chars;
    if length < min || length > MAX_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password",
            format!("must be at least {min} characters"),
        ));
    }
    let attempt = accounts
        .registrations
        .begin(&email, client_address)
        .await
        .map_err(Error::too_many_attempts)?;
    let turn = accounts
        .lanes
        .turn_counted(Lane::Registration, &accounts.registrations, &attempt)
        .await?;
    let user = UserRecord {
        id: UserId::random(),
        name: name.to_owned(),
        email: email.as_str().to_owned(),
        password_hash: password::hash(request.password, turn).await?,
    };
    accounts.store.insert_user(&user).await?;
    Ok(user)
}

/// Checks the password and opens a browser login session.
pub async fn create_login_session(
    accounts: &Accounts,
    login: Login,
    client_address: Option<&str>,
) -> Result<(String, DateTime<Utc>, UserRecord)> {
    let user = check_credentials(accounts, &login, client_address).await?;
    let (token, _, expires_at) = session_token(accounts, user.id).await?;
    Ok((token, expires_at, user))
}

/// A login-session token of `user` for a login of its own: the token, that
/// login, and when it expires.
pub async fn session_token(
    accounts: &Accounts,
    user: UserId,
) -> Result<(String, LoginId, DateTime<Utc>)> {
    let login = LoginId::random();
    let expires_at = expiry(accounts.settings.session_ttl);
    let (token, _) = issue_session_token(accounts, user, login, expires_at).await?;
    Ok((token, login, expires_at))
}

/// Stores a new login-session token of `user` in the login `family`; the
/// token and its hash.
async fn issue_session_token(
    accounts: &Accounts,
    user: UserId,
    family: LoginId,
    expires_at: DateTime<Utc>,
) -> Result<(String, String)> {
    let token = tokens::generate(TokenKind::Session);
    let record = NewToken {
        hash: tokens::hash(&token),
        kind: TokenKind::Session,
        user_id: user,
        family_id: family,
        expires_at,
    };
    let hash = record.hash.clone();
    accounts.store.insert_tokens(&[record]).await?;
    Ok((token, hash))
}

/// The OAuth 2.0 password and refresh-token grants.
pub async fn grant_tokens(
    accounts: &Accounts,
    live: &Live,
    grant: Grant,
    client_address: Option<&str>,
) -> Result<TokenGrant> {
    match grant {
        Grant::Password(grant) => {
            let login = Login {
                email: grant.username,
                password: grant.password,
            };
            let user = check_credentials(accounts, &login, client_address).await?;
            let (grant, records) = new_token_pair(accounts, user.id, LoginId::random());
            accounts.store.insert_tokens(&records).await?;
            Ok(grant)
        }
        Grant::Refresh(grant) => refresh(accounts, live, &grant.refresh_token).await,
    }
}

/// Rotates a refresh token: the old one is used up, a new pair is issued.
async fn refresh(accounts: &Accounts, live: &Live, refresh_token: &str) -> Result<TokenGrant> {
    let mut issued = None;
    let outcome = accounts
        .store
        .rotate_refresh_token(&tokens::hash(refresh_token), |user_id, family_id| {
            let (grant, records) = new_token_pair(accounts, user_id, family_id);
            issued = Some(grant);
            records
        })
        .await?;
    match (outcome, issued) {
        (RefreshOutcome::Rotated { .. }, Some(grant)) => Ok(grant),
        (RefreshOutcome::Reused { user_id, login }, _) => {
            tracing::warn!("a used refresh token was presented again; its login is revoked");
            events::revoked(accounts, live, user_id, login);
            Err(Error::InvalidGrant)
        }
        _ => Err(Error::InvalidGrant),
    }
}

fn new_token_pair(
    accounts: &Accounts,
    user_id: UserId,
    family_id: LoginId,
) -> (TokenGrant, Vec<NewToken>) {
    let access = tokens::generate(TokenKind::Access);
    let refresh = tokens::generate(TokenKind::Refresh);
    let record = |token: &str, kind, ttl| NewToken {
        hash: tokens::hash(token),
        kind,
        user_id,
        family_id,
        expires_at: expiry(ttl),
    };
    let records = vec![
        record(
            &access,
            TokenKind::Access,
            accounts.settings.access_token_ttl,
        ),
        record(
            &refresh,
            TokenKind::Refresh,
            accounts.settings.refresh_token_ttl,
        ),
    ];
    let grant = TokenGrant {
        access_token: access,
        expires_in: u32::try_from(accounts.settings.access_token_ttl.as_secs()).unwrap_or(u32::MAX),
        refresh_token: refresh,
    };
    (grant, records)
}

fn expiry(ttl: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

/// Whom `token` (a login session or an access token) stands for.
pub async fn authenticate_token(accounts: &Accounts, token: &str) -> Result<Authenticated> {
    let hash = tokens::hash(token);
    let cached = accounts.tokens.get(&hash);
    crate::telemetry::cache("token", cached.is_some());
    if let Some(owner) = cached {
        return Ok(owner);
    }
    let (user, login, expires_at) = accounts
        .store
        .user_by_token(&hash)
        .await?
        .ok_or(Error::InvalidCredential)?;
    accounts
        .tokens
        .insert(hash, user.clone(), login, expires_at);
    Ok(Authenticated {
        user,
        login,
        expires_at,
    })
}

/// A token with which the edge may open a session of `user` again on
/// another core: in the login `grant` (so that its logout ends the moved
/// session too) and expiring with it, or, for a session logged in with a
/// password, a login of its own. Returns the token and its hash.
pub async fn resume_token(
    accounts: &Accounts,
    user: UserId,
    grant: Option<(LoginId, DateTime<Utc>)>,
) -> Result<(String, String)> {
    let (family, expires_at) =
        grant.unwrap_or_else(|| (LoginId::random(), expiry(accounts.settings.session_ttl)));
    issue_session_token(accounts, user, family, expires_at).await
}

/// Revokes `token` with its whole login, and closes the live sessions that
/// were opened with that login.
pub async fn revoke(accounts: &Accounts, live: &Live, token: &str) -> Result<()> {
    let (user_id, login) = accounts
        .store
        .revoke_family_of(&tokens::hash(token))
        .await?
        .ok_or(Error::InvalidCredential)?;
    events::revoked(accounts, live, user_id, login);
    Ok(())
}

/// The account whose email and password these are. A wrong email and a
/// wrong password give the same error after the same time; while the
/// account or the address has too many recent attempts, the password is not
/// even checked (see [`crate::auth::throttle`]).
pub async fn check_credentials(
    accounts: &Accounts,
    login: &Login,
    client_address: Option<&str>,
) -> Result<UserRecord> {
    let checked = verify(accounts, login, client_address).await;
    crate::telemetry::login(match &checked {
        Ok(_) => "success",
        Err(Error::InvalidCredentials) => "failure",
        Err(Error::TooManyAttempts { .. }) => "throttled",
        Err(_) => "error",
    });
    checked
}

async fn verify(
    accounts: &Accounts,
    login: &Login,
    client_address: Option<&str>,
) -> Result<UserRecord> {
    // No account has an address too long or with control characters:
    // refused before it becomes a key of the throttle's counts or a query.
    let email = Email::normalize(&login.email)?;
    let attempt = accounts
        .throttle
        .begin(&email, client_address)
        .await
        .map_err(Error::too_many_attempts)?;
    let user = accounts.store.user_by_email(&email).await?;
    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let turn = accounts
        .lanes
        .turn_counted(Lane::Login, &accounts.throttle, &attempt)
        .await?;
    let matches = password::verify(login.password.clone(), stored_hash, turn).await?;
    match user.filter(|_| matches) {
        Some(user) => {
            accounts.throttle.succeeded(&attempt).await;
            Ok(user)
        }
        // The attempt stays counted.
        None => Err(Error::InvalidCredentials),
    }
}
