//! The `direct_chats` table: each pair of users' one personal chat.

use crate::error::{Error, Result};
use crate::ids::{ChatId, UserId};
use crate::store::Store;
use crate::store::chats::{PERSONAL_CHAT, refuse_blocking, refuse_full};

/// What asking for a pair's personal chat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectChat {
    /// The pair had none: this one was just created.
    Created(ChatId),
    /// The pair's chat, created before.
    Existing(ChatId),
}

impl DirectChat {
    pub fn chat_id(self) -> ChatId {
        match self {
            DirectChat::Created(chat) | DirectChat::Existing(chat) => chat,
        }
    }
}

impl Store {
    /// The personal chat of `asker` and `other`, created as `new_chat` if
    /// they have none. Two calls for one pair at once create one chat: the
    /// pair is the primary key of `direct_chats`, so the second insert
    /// waits for the first and then finds its row. A new chat is refused
    /// when `other` blocks `asker` or either is in `chats_per_user` chats.
    pub async fn open_direct_chat(
        &self,
        asker: UserId,
        other: UserId,
        new_chat: ChatId,
        chats_per_user: usize,
    ) -> Result<DirectChat> {
        if let Some(chat) = self.direct_chat(asker, other).await? {
            return Ok(DirectChat::Existing(chat));
        }
        if self.existing_users(&[other]).await?.is_empty() {
            return Err(Error::UnknownUser(other));
        }
        if self
            .create_direct_chat(asker, other, new_chat, chats_per_user)
            .await?
        {
            return Ok(DirectChat::Created(new_chat));
        }
        // Another request for the pair committed first.
        let chat = self.direct_chat(asker, other).await?;
        chat.map(DirectChat::Existing)
            .ok_or_else(|| Error::Internal("a direct chat vanished".into()))
    }

    async fn direct_chat(&self, one: UserId, other: UserId) -> Result<Option<ChatId>> {
        let (low, high) = pair(one, other);
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT chat_id FROM direct_chats WHERE user_low = $1 AND user_high = $2",
            )
            .await?;
        let row = client.query_opt(&statement, &[&low, &high]).await?;
        Ok(row.map(|row| row.get(0)))
    }

    /// Creates the chat unless the pair has one; false if it has.
    async fn create_direct_chat(
        &self,
        asker: UserId,
        other: UserId,
        chat: ChatId,
        chats_per_user: usize,
    ) -> Result<bool> {
        let (low, high) = pair(asker, other);
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        refuse_blocking(&transaction, asker, &[other]).await?;
        refuse_full(&transaction, &[asker, other], chats_per_user).await?;
        transaction
            .execute(
                "INSERT INTO chats (id, name, type) VALUES ($1, '', $2)",
                &[&chat, &PERSONAL_CHAT],
            )
            .await?;
        let recorded = transaction
            .execute(
                "INSERT INTO direct_chats (user_low, user_high, chat_id) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&low, &high, &chat],
            )
            .await?;
        if recorded == 0 {
            // Rolled back when dropped: no chat without its pair.
            return Ok(false);
        }
        transaction
            .execute(
                "INSERT INTO chat_members (chat_id, user_id) VALUES ($1, $2), ($1, $3)",
                &[&chat, &asker, &other],
            )
            .await?;
        transaction.commit().await?;
        Ok(true)
    }
}

/// The pair in key order.
fn pair(one: UserId, other: UserId) -> (UserId, UserId) {
    if one.0 < other.0 {
        (one, other)
    } else {
        (other, one)
    }
}
