//! The `auth_tokens` table: login sessions and OAuth tokens, by hash.

use crate::error::Result;
use crate::ids::{LoginId, UserId};
use crate::store::Store;
use crate::store::users::UserRecord;
use chrono::{DateTime, Utc};

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A browser's login session (kept in a cookie).
    Session,
    /// An OAuth access token.
    Access,
    /// An OAuth refresh token.
    Refresh,
}

impl TokenKind {
    /// The name stored in `auth_tokens.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// A token to store (its hash only).
#[derive(Debug, Clone)]
pub struct NewToken {
    pub hash: String,
    pub kind: TokenKind,
    pub user_id: UserId,
    pub family_id: LoginId,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq)]
pub enum RefreshOutcome {
    /// Valid: it is now used, and `replacements` were stored in its family.
    Rotated { user_id: UserId },
    /// Unknown or expired.
    Invalid,
    /// Already used or revoked: the whole family (`login`) is now revoked.
    Reused { user_id: UserId, login: LoginId },
}

impl Store {
    /// Stores tokens (one statement).
    pub async fn insert_tokens(&self, tokens: &[NewToken]) -> Result<()> {
        let client = self.connection().await?;
        insert(&client, tokens).await
    }

    /// The user of a live login-session or access token, the login (token
    /// family) it belongs to and when it expires.
    pub async fn user_by_token(
        &self,
        hash: &str,
    ) -> Result<Option<(UserRecord, LoginId, DateTime<Utc>)>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT u.id, u.name, u.email, u.password_hash, t.family_id, t.expires_at
                 FROM auth_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = $1 AND t.kind IN ('session', 'access')
                   AND t.revoked_at IS NULL AND t.expires_at > now()",
            )
            .await?;
        let row = client.query_opt(&statement, &[&hash]).await?;
        Ok(row.map(|row| {
            let user = UserRecord {
                id: row.get(0),
                name: row.get(1),
                email: row.get(2),
                password_hash: row.get(3),
            };
            (user, row.get(4), row.get(5))
        }))
    }

    /// Revokes the family of a live login-session or access token (the
    /// login it came from); its user and family, or `None` if the token was
    /// not live.
    /// Revokes every token of login `login`.
    /// Revokes the one token with `hash` (not its login).
    pub async fn revoke_token(&self, hash: &str) -> Result<()> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "UPDATE auth_tokens SET revoked_at = now()
                 WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .await?;
        client.execute(&statement, &[&hash]).await?;
        Ok(())
    }

    pub async fn revoke_family_of(&self, hash: &str) -> Result<Option<(UserId, LoginId)>> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        let family = transaction
            .query_opt(
                "SELECT user_id, family_id FROM auth_tokens
                 WHERE token_hash = $1 AND kind IN ('session', 'access')
                   AND revoked_at IS NULL AND expires_at > now()",
                &[&hash],
            )
            .await?;
        let Some(family) = family else {
            return Ok(None);
        };
        let (user_id, family_id): (UserId, LoginId) = (family.get(0), family.get(1));
        lock_family(&transaction, family_id).await?;
        // After the lock: a rotation that committed meanwhile is seen, and
        // its new pair revoked with the rest.
        revoke_family(&transaction, family_id).await?;
        transaction.commit().await?;
        Ok(Some((user_id, family_id)))
    }

    /// Exchanges a refresh token: marks it used and stores `replacements`
    /// (built for the token's user and family by `make`), in one
    /// transaction. A token used twice revokes its whole family.
    pub async fn rotate_refresh_token(
        &self,
        hash: &str,
        make: impl FnOnce(UserId, LoginId) -> Vec<NewToken>,
    ) -> Result<RefreshOutcome> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        let family: Option<LoginId> = transaction
            .query_opt(
                "SELECT family_id FROM auth_tokens WHERE token_hash = $1 AND kind = 'refresh'",
                &[&hash],
            )
            .await?
            .map(|row| row.get(0));
        let Some(family) = family else {
            return Ok(RefreshOutcome::Invalid);
        };
        lock_family(&transaction, family).await?;
        // Read after the lock: a logout that committed meanwhile is seen.
        let row = transaction
            .query_opt(
                "SELECT user_id, family_id, expires_at > now(), used_at IS NULL AND revoked_at IS NULL
                 FROM auth_tokens WHERE token_hash = $1 AND kind = 'refresh' FOR UPDATE",
                &[&hash],
            )
            .await?;
        let Some(row) = row else {
            return Ok(RefreshOutcome::Invalid);
        };
        let (user_id, family_id): (UserId, LoginId) = (row.get(0), row.get(1));
        let (unexpired, unused): (bool, bool) = (row.get(2), row.get(3));
        if !unused {
            revoke_family(&transaction, family_id).await?;
            transaction.commit().await?;
            return Ok(RefreshOutcome::Reused {
                user_id,
                login: family_id,
            });
        }
        if !unexpired {
            return Ok(RefreshOutcome::Invalid);
        }
        transaction
            .execute(
                "UPDATE auth_tokens SET used_at = now() WHERE token_hash = $1",
                &[&hash],
            )
            .await?;
        insert(&transaction, &make(user_id, family_id)).await?;
        transaction.commit().await?;
        Ok(RefreshOutcome::Rotated { user_id })
    }
}

/// Makes a logout and a refresh of one login take turns (until the
/// transaction ends): otherwise a refresh could add a new pair that a
/// logout running at the same moment does not see, and the pair would
/// outlive the logout.
async fn lock_family(
    transaction: &deadpool_postgres::Transaction<'_>,
    family: LoginId,
) -> Result<()> {
    transaction
        .execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 1))",
            &[&family],
        )
        .await?;
    Ok(())
}

/// Revokes every live token of the login `family`.
async fn revoke_family(
    transaction: &deadpool_postgres::Transaction<'_>,
    family: LoginId,
) -> Result<()> {
    transaction
        .execute(
            "UPDATE auth_tokens SET revoked_at = now()
             WHERE family_id = $1 AND revoked_at IS NULL",
            &[&family],
        )
        .await?;
    Ok(())
}

async fn insert(client: &impl deadpool_postgres::GenericClient, tokens: &[NewToken]) -> Result<()> {
    let hashes: Vec<&str> = tokens.iter().map(|t| t.hash.as_str()).collect();
    let kinds: Vec<&str> = tokens.iter().map(|t| t.kind.as_str()).collect();
    let users: Vec<UserId> = tokens.iter().map(|t| t.user_id).collect();
    let families: Vec<LoginId> = tokens.iter().map(|t| t.family_id).collect();
    let expiries: Vec<DateTime<Utc>> = tokens.iter().map(|t| t.expires_at).collect();
    client
        .execute(
            "INSERT INTO auth_tokens (token_hash, kind, user_id, family_id, expires_at)
             SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::timestamptz[])",
            &[&hashes, &kinds, &users, &families, &expiries],
        )
        .await?;
    Ok(())
}
