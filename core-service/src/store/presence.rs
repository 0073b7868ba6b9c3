//! What presence needs from the database: who shares a chat with a user,
//! and when each user was last seen.

use crate::error::Result;
use crate::ids::UserId;
use crate::store::Store;
use chrono::{DateTime, Utc};

/// Someone a user shares a chat with, and when they were last seen.
#[derive(Debug, Clone)]
pub struct ContactRecord {
    pub id: UserId,
    pub last_seen: Option<DateTime<Utc>>,
}

/// The other members of every chat of `$1`, once each.
const CONTACTS: &str = "SELECT DISTINCT theirs.user_id
     FROM chat_members mine
     JOIN chat_members theirs ON theirs.chat_id = mine.chat_id
     WHERE mine.user_id = $1 AND theirs.user_id <> $1";

impl Store {
    /// Everyone `user` shares a chat with.
    pub async fn contacts(&self, user: UserId) -> Result<Vec<UserId>> {
        let client = self.connection().await?;
        let statement = client.prepare_cached(CONTACTS).await?;
        let rows = client.query(&statement, &[&user]).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Everyone `user` shares a chat with, and when each was last seen.
    pub async fn contacts_last_seen(&self, user: UserId) -> Result<Vec<ContactRecord>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT u.id, u.last_seen_at FROM users u WHERE u.id IN ({CONTACTS})
                 ORDER BY u.id"
            ))
            .await?;
        let rows = client.query(&statement, &[&user]).await?;
        Ok(rows
            .iter()
            .map(|row| ContactRecord {
                id: row.get(0),
                last_seen: row.get(1),
            })
            .collect())
    }

    /// The last device of `user` left now; returns the time recorded.
    pub async fn last_seen_now(&self, user: UserId) -> Result<Option<DateTime<Utc>>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "UPDATE users SET last_seen_at = now() WHERE id = $1 RETURNING last_seen_at",
            )
            .await?;
        let row = client.query_opt(&statement, &[&user]).await?;
        Ok(row.map(|row| row.get(0)))
    }
}
