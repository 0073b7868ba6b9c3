//! The `users` table.

use crate::email::Email;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::store::Store;
use tokio_postgres::error::SqlState;

/// A user account as stored.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub password_hash: String,
}

impl Store {
    /// The account with this email (stored in the same spelling).
    pub async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("SELECT id, name, email, password_hash FROM users WHERE email = $1")
            .await?;
        let row = client.query_opt(&statement, &[&email.as_str()]).await?;
        Ok(row.map(|row| UserRecord {
            id: row.get(0),
            name: row.get(1),
            email: row.get(2),
            password_hash: row.get(3),
        }))
    }

    /// Creates an account; the password must already be hashed and the
    /// email in its one spelling ([`Email`]). An email already taken is
    /// [`Error::EmailTaken`].
    pub async fn insert_user(&self, user: &UserRecord) -> Result<()> {
        let client = self.connection().await?;
        let inserted = client
            .execute(
                "INSERT INTO users (id, name, email, password_hash) VALUES ($1, $2, $3, $4)",
                &[&user.id, &user.name, &user.email, &user.password_hash],
            )
            .await;
        match inserted {
            // The one unique key a new account can collide on is its email.
            Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                Err(Error::EmailTaken)
            }
            other => other.map(drop).map_err(Error::from),
        }
    }

    /// Whether there is no account at all (a fresh database).
    pub async fn has_no_users(&self) -> Result<bool> {
        let client = self.connection().await?;
        let row = client
            .query_one("SELECT NOT EXISTS (SELECT 1 FROM users)", &[])
            .await?;
        Ok(row.get(0))
    }

    /// Which of `ids` have an account.
    pub async fn existing_users(&self, ids: &[UserId]) -> Result<Vec<UserId>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("SELECT id FROM users WHERE id = ANY($1)")
            .await?;
        let rows = client.query(&statement, &[&ids]).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}
