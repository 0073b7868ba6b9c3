//! The `blocks` table: who blocks whom.

use crate::error::Result;
use crate::ids::{ChatId, UserId};
use crate::store::Store;

impl Store {
    /// Records that `blocker` blocks `blocked` (again: nothing changes);
    /// false if `blocked` is no user.
    pub async fn block(&self, blocker: UserId, blocked: UserId) -> Result<bool> {
        let insert = "INSERT INTO blocks (blocker_id, blocked_id)
                      SELECT $1, id FROM users WHERE id = $2
                      ON CONFLICT DO NOTHING";
        self.change_block(insert, blocker, blocked).await?;
        self.user_exists(blocked).await
    }

    /// Forgets that `blocker` blocks `blocked`, if they did.
    pub async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<()> {
        let delete = "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2";
        self.change_block(delete, blocker, blocked).await
    }

    /// Runs `change` (of the pair's `blocks` row) and, when it changed the
    /// row, counts again what is not unread for the blocker, in one
    /// transaction.
    async fn change_block(&self, change: &str, blocker: UserId, blocked: UserId) -> Result<()> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        let statement = transaction.prepare_cached(change).await?;
        if transaction
            .execute(&statement, &[&blocker, &blocked])
            .await?
            == 1
        {
            recount_shared(&transaction, blocker, blocked).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The users who block `user`.
    pub async fn blockers_of(&self, user: UserId) -> Result<Vec<UserId>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("SELECT blocker_id FROM blocks WHERE blocked_id = $1")
            .await?;
        let rows = client.query(&statement, &[&user]).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// The users `user` blocks.
    pub async fn blocked_by(&self, user: UserId) -> Result<Vec<UserId>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("SELECT blocked_id FROM blocks WHERE blocker_id = $1")
            .await?;
        let rows = client.query(&statement, &[&user]).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// The users `user` blocks, with their names, by name.
    pub async fn blocked_people(&self, user: UserId) -> Result<Vec<(UserId, String)>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT u.id, u.name FROM blocks b JOIN users u ON u.id = b.blocked_id
                 WHERE b.blocker_id = $1 ORDER BY u.name, u.id",
            )
            .await?;
        let rows = client.query(&statement, &[&user]).await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    async fn user_exists(&self, user: UserId) -> Result<bool> {
        Ok(!self.existing_users(&[user]).await?.is_empty())
    }
}

/// Counts again what is not unread for `blocker` in every chat they share
/// with `blocked` (`sql/0032`), whose messages just left or joined that
/// figure. The chats' rows are share-locked first, so a send under way
/// finishes before the count (which then sees it), and a later one sees the
/// change and counts itself; then the member rows, in the same order as
/// ever (chat before member).
async fn recount_shared(
    transaction: &deadpool_postgres::Transaction<'_>,
    blocker: UserId,
    blocked: UserId,
) -> Result<()> {
    let lock = transaction
        .prepare_cached(
            "SELECT c.id FROM chat_members mine
             JOIN chat_members theirs ON theirs.chat_id = mine.chat_id AND theirs.user_id = $2
             JOIN chats c ON c.id = mine.chat_id
             WHERE mine.user_id = $1 ORDER BY c.id FOR SHARE OF c",
        )
        .await?;
    let rows = transaction.query(&lock, &[&blocker, &blocked]).await?;
    let shared: Vec<ChatId> = rows.iter().map(|row| row.get(0)).collect();
    // The member rows too, before counting: a receipt that holds one
    // finishes first, and the count (a statement of its own) then sees it.
    let members = transaction
        .prepare_cached(
            "SELECT 1 FROM chat_members WHERE chat_id = ANY ($2) AND user_id = $1
             ORDER BY chat_id FOR NO KEY UPDATE",
        )
        .await?;
    transaction.execute(&members, &[&blocker, &shared]).await?;
    let recount = transaction
        .prepare_cached(
            "UPDATE chat_members cm
             SET uncounted = uncounted_after(cm.chat_id, cm.user_id,
                                             greatest(cm.read_seq, coalesce(cm.cleared_seq, 0)))
             WHERE cm.chat_id = ANY ($2) AND cm.user_id = $1",
        )
        .await?;
    transaction.execute(&recount, &[&blocker, &shared]).await?;
    Ok(())
}
