//! The `blocks` table: who blocks whom.

use crate::error::Result;
use crate::ids::UserId;
use crate::store::Store;

impl Store {
    /// Records that `blocker` blocks `blocked` (again: nothing changes);
    /// false if `blocked` is no user.
    pub async fn block(&self, blocker: UserId, blocked: UserId) -> Result<bool> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "INSERT INTO blocks (blocker_id, blocked_id)
                 SELECT $1, id FROM users WHERE id = $2
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        client.execute(&statement, &[&blocker, &blocked]).await?;
        self.user_exists(blocked).await
    }

    /// Forgets that `blocker` blocks `blocked`, if they did.
    pub async fn unblock(&self, blocker: UserId, blocked: UserId) -> Result<()> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .await?;
        client.execute(&statement, &[&blocker, &blocked]).await?;
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
