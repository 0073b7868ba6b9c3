//! The `chats`, `chat_members`, `groups` and `user_groups` tables.

use crate::error::Result;
use crate::store::Store;
use uuid::Uuid;

/// Chat type of a one-to-one chat.
pub const PERSONAL_CHAT: i16 = 0;
/// Chat type of a group chat.
pub const GROUP_CHAT: i16 = 1;

/// A group to create, with its chat.
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub group_id: Uuid,
    pub chat_id: Uuid,
    pub name: String,
    pub creator_id: Uuid,
    /// Every member, the creator included, without repeats.
    pub member_ids: Vec<Uuid>,
}

impl Store {
    /// The members of a chat; empty if the chat does not exist.
    pub async fn chat_members(&self, chat_id: Uuid) -> Result<Vec<Uuid>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("SELECT user_id FROM chat_members WHERE chat_id = $1")
            .await?;
        let rows = client.query(&statement, &[&chat_id]).await?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Creates the group's chat, its members, the group and its `user_groups`
    /// rows in one transaction: all of it or none.
    pub async fn create_group(&self, group: &NewGroup) -> Result<()> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "INSERT INTO chats (id, name, type) VALUES ($1, $2, $3)",
                &[&group.chat_id, &group.name, &GROUP_CHAT],
            )
            .await?;
        transaction
            .execute(
                "INSERT INTO chat_members (chat_id, user_id) SELECT $1, unnest($2::uuid[])",
                &[&group.chat_id, &group.member_ids],
            )
            .await?;
        transaction
            .execute(
                "INSERT INTO groups (id, name, creator_id, chat_id) VALUES ($1, $2, $3, $4)",
                &[
                    &group.group_id,
                    &group.name,
                    &group.creator_id,
                    &group.chat_id,
                ],
            )
            .await?;
        transaction
            .execute(
                "INSERT INTO user_groups (group_id, user_id) SELECT $1, unnest($2::uuid[])",
                &[&group.group_id, &group.member_ids],
            )
            .await?;
        transaction.commit().await?;
        Ok(())
    }
}
