//! The `messages` table.

use crate::error::Result;
use crate::store::Store;
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

/// A stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub sender_id: Uuid,
    pub text: String,
    pub timestamp: DateTime<Utc>,
    pub seen: bool,
}

impl MessageRecord {
    /// Reads the columns `id, chat_id, sender_id, text, timestamp, seen`.
    pub(crate) fn from_row(row: &Row) -> Self {
        MessageRecord {
            id: row.get(0),
            chat_id: row.get(1),
            sender_id: row.get(2),
            text: row.get(3),
            timestamp: row.get(4),
            seen: row.get(5),
        }
    }
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub sender_id: Uuid,
    pub client_id: Uuid,
    pub text: String,
}

impl Store {
    /// Stores a message together with its sender's seen status, in one
    /// statement (one round trip, atomic), stamped with the server's clock.
    /// Returns the stored time.
    pub async fn insert_message(&self, message: &NewMessage) -> Result<DateTime<Utc>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "WITH stored AS (
                     INSERT INTO messages (id, chat_id, sender_id, client_id, text)
                     VALUES ($1, $2, $3, $4, $5)
                     RETURNING id, timestamp
                 ), sender_seen AS (
                     INSERT INTO message_seen_status (message_id, user_id)
                     SELECT id, $3 FROM stored
                 )
                 SELECT timestamp FROM stored",
            )
            .await?;
        let row = client
            .query_one(
                &statement,
                &[
                    &message.id,
                    &message.chat_id,
                    &message.sender_id,
                    &message.client_id,
                    &message.text,
                ],
            )
            .await?;
        Ok(row.get(0))
    }

    /// One page of a chat's messages in storage order.
    pub async fn history(
        &self,
        chat_id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<MessageRecord>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT id, chat_id, sender_id, text, timestamp, seen FROM messages
                 WHERE chat_id = $1 ORDER BY position LIMIT $2 OFFSET $3",
            )
            .await?;
        let rows = client
            .query(&statement, &[&chat_id, &limit, &offset])
            .await?;
        Ok(rows.iter().map(MessageRecord::from_row).collect())
    }
}
