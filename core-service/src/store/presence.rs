//! What presence needs from the database: who shares a chat with a user,
//! and when each user was last seen.

use crate::email::Email;
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

/// The other members of every chat of `$1`, once each, but those who block
/// `$1` or whom `$1` blocks (presence never crosses a block). Each chat's members
/// are gathered by a LATERAL aggregate, which the planner cannot turn
/// into a join over the whole of `chat_members` (`docs/data-model.md`,
/// "Plans").
const CONTACTS: &str = "SELECT DISTINCT contact
     FROM chat_members mine
     CROSS JOIN LATERAL (
         SELECT array_agg(m.user_id) AS ids FROM chat_members m WHERE m.chat_id = mine.chat_id
     ) theirs
     CROSS JOIN LATERAL unnest(theirs.ids) AS contact
     WHERE mine.user_id = $1 AND contact <> $1
       AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $1 AND b.blocked_id = contact)
       AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = contact AND b.blocked_id = $1)";

impl Store {
    /// Everyone `user` shares a chat with.
    pub async fn contacts(&self, user: UserId) -> Result<Vec<UserId>> {
        let client = self.connection().await?;
        let statement = client.prepare_cached(CONTACTS).await?;
        let rows = client.query(&statement, &[&user]).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Up to `limit` of the people `user` shares a chat with, the most
    /// recently seen first, and when each was last seen.
    pub async fn contacts_last_seen(&self, user: UserId, limit: i64) -> Result<Vec<ContactRecord>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT u.id, u.last_seen_at FROM ({CONTACTS}) contacts (id)
                 CROSS JOIN LATERAL (
                     SELECT u.id, u.last_seen_at FROM users u WHERE u.id = contacts.id LIMIT 1
                 ) u
                 ORDER BY u.last_seen_at DESC NULLS LAST, u.id LIMIT $2"
            ))
            .await?;
        let rows = client.query(&statement, &[&user, &limit]).await?;
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

impl Store {
    /// The people `user` may find with `query` (already lower case): the
    /// contacts whose name has a word starting with it, and whoever has
    /// exactly the address `email`; by name.
    pub async fn search_users(
        &self,
        user: UserId,
        query: &str,
        email: &Email,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<(UserId, String)>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT u.id, u.name FROM (
                     {CONTACTS}
                     UNION
                     SELECT id FROM users WHERE email = $2
                 ) found (id)
                 CROSS JOIN LATERAL (
                     SELECT u.id, u.name, u.email FROM users u WHERE u.id = found.id LIMIT 1
                 ) u
                 WHERE u.id <> $1
                   AND (lower(u.name) LIKE $3 OR lower(u.name) LIKE '% ' || $3
                        OR u.email = $2)
                 ORDER BY u.name, u.id LIMIT $4 OFFSET $5"
            ))
            .await?;
        let prefix = format!("{}%", escape_like(query));
        let rows = client
            .query(
                &statement,
                &[&user, &email.as_str(), &prefix, &limit, &offset],
            )
            .await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }
}

/// `text` matched literally by `LIKE` (whose escape character is `\`).
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(super::escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
