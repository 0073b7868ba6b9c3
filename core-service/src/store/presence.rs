//! What presence and people search need from the database: a user's
//! contacts (by consent), who sees whose presence, and when each user was
//! last seen.

use crate::email::Email;
use crate::error::Result;
use crate::ids::UserId;
use crate::store::Store;
use chrono::{DateTime, Utc};

/// A contact of a user, and when they were last seen.
#[derive(Debug, Clone)]
pub struct ContactRecord {
    pub id: UserId,
    pub last_seen: Option<DateTime<Utc>>,
}

/// The contacts of `$1` (the other side of each personal chat both have
/// written in, `sql/0025`, found from either side by an index) but
/// those who block `$1` or whom `$1` blocks.
const UNBLOCKED_CONTACTS: &str = "SELECT c.contact FROM (
         SELECT d.user_high FROM direct_chats d
         WHERE d.user_low = $1 AND d.low_wrote AND d.high_wrote
         UNION ALL
         SELECT d.user_low FROM direct_chats d
         WHERE d.user_high = $1 AND d.low_wrote AND d.high_wrote
     ) c (contact)
     WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $1 AND b.blocked_id = c.contact)
       AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = c.contact AND b.blocked_id = $1)";

/// Whom `$1`'s presence is shown to: their unblocked contacts who share
/// their own presence (it is shared both ways or not at all), and only if
/// `$1` shares theirs, unless `$2` (telling contacts that `$1` stopped).
const PRESENCE_AUDIENCE: &str = "SELECT u.id, u.last_seen_at FROM ({UNBLOCKED_CONTACTS}) c
     CROSS JOIN LATERAL (
         SELECT u.id, u.last_seen_at, u.shares_presence FROM users u WHERE u.id = c.contact LIMIT 1
     ) u
     WHERE u.shares_presence
       AND ($2 OR EXISTS (SELECT 1 FROM users me WHERE me.id = $1 AND me.shares_presence))
     ORDER BY u.last_seen_at DESC NULLS LAST, u.id LIMIT $3";

impl Store {
    /// Up to `limit` of the people who see `user`'s presence, the most
    /// recently seen first; with `even_if_hidden`, also when `user` hides
    /// theirs (to tell them it is hidden now).
    pub async fn presence_audience(
        &self,
        user: UserId,
        even_if_hidden: bool,
        limit: i64,
    ) -> Result<Vec<UserId>> {
        let rows = self.audience_rows(user, even_if_hidden, limit).await?;
        Ok(rows.into_iter().map(|contact| contact.id).collect())
    }

    /// Up to `limit` of the contacts whose presence `user` sees (the same
    /// people who see theirs), the most recently seen first, and when each
    /// was last seen.
    pub async fn contacts_last_seen(&self, user: UserId, limit: i64) -> Result<Vec<ContactRecord>> {
        self.audience_rows(user, false, limit).await
    }

    async fn audience_rows(
        &self,
        user: UserId,
        even_if_hidden: bool,
        limit: i64,
    ) -> Result<Vec<ContactRecord>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(&PRESENCE_AUDIENCE.replace("{UNBLOCKED_CONTACTS}", UNBLOCKED_CONTACTS))
            .await?;
        let rows = client
            .query(&statement, &[&user, &even_if_hidden, &limit])
            .await?;
        Ok(rows
            .iter()
            .map(|row| ContactRecord {
                id: row.get(0),
                last_seen: row.get(1),
            })
            .collect())
    }

    /// When the last device of `user` left last.
    pub async fn last_seen(&self, user: UserId) -> Result<Option<DateTime<Utc>>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("SELECT last_seen_at FROM users WHERE id = $1")
            .await?;
        let row = client.query_opt(&statement, &[&user]).await?;
        Ok(row.and_then(|row| row.get(0)))
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
    /// The people `user` may find with `query` (already lower case): their
    /// contacts whose name has a word starting with it, and whoever has
    /// exactly the address `email`; never anyone across a block; by name.
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
                     SELECT c.contact, true FROM ({UNBLOCKED_CONTACTS}) c
                     UNION ALL
                     SELECT id, false FROM users WHERE email = $2
                 ) found (id, contact)
                 CROSS JOIN LATERAL (
                     SELECT u.id, u.name, u.email FROM users u WHERE u.id = found.id LIMIT 1
                 ) u
                 WHERE u.id <> $1
                   AND ((found.contact AND (lower(u.name) LIKE $3 OR lower(u.name) LIKE '% ' || $3))
                        OR (NOT found.contact AND u.email = $2
                            AND NOT EXISTS (SELECT 1 FROM blocks b
                                            WHERE b.blocker_id = u.id AND b.blocked_id = $1)))
                 GROUP BY u.id, u.name
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
