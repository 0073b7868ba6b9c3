//! The `messages` table.

use crate::error::Result;
use crate::store::Store;
use crate::store::recent::{self, Page};
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
    /// The message's number in its chat.
    pub seq: i64,
}

impl MessageRecord {
    /// Reads the columns `id, chat_id, sender_id, text, timestamp, seen, seq`.
    pub(crate) fn from_row(row: &Row) -> Self {
        MessageRecord {
            id: row.get(0),
            chat_id: row.get(1),
            sender_id: row.get(2),
            text: row.get(3),
            timestamp: row.get(4),
            seen: row.get(5),
            seq: row.get(6),
        }
    }
}

/// What storing a client's message led to.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub id: Uuid,
    pub chat_id: Uuid,
    pub seq: i64,
    pub timestamp: DateTime<Utc>,
    /// False for a retry: the message was stored before and nothing changed.
    pub created: bool,
}

impl StoredMessage {
    /// The stored row of `message`, as first stored (not yet seen).
    pub(super) fn record(&self, message: &NewMessage) -> MessageRecord {
        MessageRecord {
            id: self.id,
            chat_id: self.chat_id,
            sender_id: message.sender_id,
            text: message.text.clone(),
            timestamp: self.timestamp,
            seen: false,
            seq: self.seq,
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

/// Stores one message; parameters `id, chat_id, sender_id, client_id, text`.
pub(crate) const STORE_MESSAGE_SQL: &str =
    "SELECT id, chat_id, seq, stored_at, created FROM store_message($1, $2, $3, $4, $5)";

/// Reads a row of [`STORE_MESSAGE_SQL`].
pub(crate) fn stored_from_row(row: &Row) -> StoredMessage {
    StoredMessage {
        id: row.get(0),
        chat_id: row.get(1),
        seq: row.get(2),
        timestamp: row.get(3),
        created: row.get(4),
    }
}

impl Store {
    /// Stores a message with its number in the chat and its sender's seen
    /// status, in one round trip (`store_message`, see `sql/`), stamped with
    /// the server's clock. A retry of the same sender and client id returns
    /// the message stored the first time. `None` if the chat does not exist.
    pub async fn insert_message(&self, message: &NewMessage) -> Result<Option<StoredMessage>> {
        let client = self.connection().await?;
        let statement = client.prepare_cached(STORE_MESSAGE_SQL).await?;
        let row = client
            .query_opt(
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
        let stored = row.as_ref().map(stored_from_row);
        if let Some(stored) = &stored {
            self.recent.stored([(message, stored)]);
        }
        Ok(stored)
    }

    /// Stores a batch like [`Store::insert_message`] stores one, in one
    /// statement and transaction; the answers are in the batch's order.
    pub async fn insert_messages(
        &self,
        messages: &[&NewMessage],
    ) -> Result<Vec<Option<StoredMessage>>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT ord, id, chat_id, seq, stored_at, created
                 FROM store_messages($1, $2, $3, $4, $5)",
            )
            .await?;
        let column = |field: fn(&NewMessage) -> Uuid| {
            messages.iter().map(|m| field(m)).collect::<Vec<Uuid>>()
        };
        let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
        let rows = client
            .query(
                &statement,
                &[
                    &column(|m| m.id),
                    &column(|m| m.chat_id),
                    &column(|m| m.sender_id),
                    &column(|m| m.client_id),
                    &texts,
                ],
            )
            .await?;
        let mut answers = vec![None; messages.len()];
        for row in rows {
            let ord: i64 = row.get(0);
            let stored = StoredMessage {
                id: row.get(1),
                chat_id: row.get(2),
                seq: row.get(3),
                timestamp: row.get(4),
                created: row.get(5),
            };
            if let Some(answer) = usize::try_from(ord - 1)
                .ok()
                .and_then(|i| answers.get_mut(i))
            {
                *answer = Some(stored);
            }
        }
        let stored = messages.iter().zip(&answers);
        self.recent
            .stored(stored.filter_map(|(message, answer)| Some((*message, answer.as_ref()?))));
        Ok(answers)
    }

    /// One page of a chat's messages in storage order.
    pub async fn history(
        &self,
        chat_id: Uuid,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<MessageRecord>> {
        let page = Page::Offset {
            limit: count(limit),
            offset: count(offset),
        };
        if let Some(records) = self.recent_page(chat_id, page).await? {
            return Ok(records);
        }
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT id, chat_id, sender_id, text, timestamp, seen, seq FROM messages
                 WHERE chat_id = $1 ORDER BY seq LIMIT $2 OFFSET $3",
            )
            .await?;
        let rows = client
            .query(&statement, &[&chat_id, &limit, &offset])
            .await?;
        Ok(rows.iter().map(MessageRecord::from_row).collect())
    }

    /// The page from the recent-messages cache, loading the chat's window
    /// into it first when it has none; `None` when the page is older than
    /// what the cache holds.
    async fn recent_page(&self, chat_id: Uuid, page: Page) -> Result<Option<Vec<MessageRecord>>> {
        if let Some(records) = self.recent.page(chat_id, page) {
            return Ok(Some(records));
        }
        if !page.loads_window() {
            return Ok(None);
        }
        let load = self.recent.start_load(chat_id);
        if !load.is_needed() {
            return Ok(None);
        }
        let newest = self.newest_messages(chat_id, recent::WINDOW + 1).await?;
        Ok(self.recent.finish_load(load, newest, page))
    }

    /// The chat's newest `count` messages, newest first.
    async fn newest_messages(&self, chat_id: Uuid, count: usize) -> Result<Vec<MessageRecord>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT id, chat_id, sender_id, text, timestamp, seen, seq FROM messages
                 WHERE chat_id = $1 ORDER BY seq DESC LIMIT $2",
            )
            .await?;
        let limit = i64::try_from(count).unwrap_or(i64::MAX);
        let rows = client.query(&statement, &[&chat_id, &limit]).await?;
        Ok(rows.iter().map(MessageRecord::from_row).collect())
    }

    /// Up to `limit` messages with `after < seq < before`, oldest first:
    /// the oldest such when `after` is given, else the newest before `before`.
    pub async fn history_between(
        &self,
        chat_id: Uuid,
        after: Option<i64>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<MessageRecord>> {
        let page = Page::Between {
            after,
            before,
            limit: count(limit),
        };
        if let Some(records) = self.recent_page(chat_id, page).await? {
            return Ok(records);
        }
        let client = self.connection().await?;
        let newest_first = after.is_none();
        let sql = if newest_first {
            "SELECT id, chat_id, sender_id, text, timestamp, seen, seq FROM messages
             WHERE chat_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq DESC LIMIT $4"
        } else {
            "SELECT id, chat_id, sender_id, text, timestamp, seen, seq FROM messages
             WHERE chat_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq LIMIT $4"
        };
        let statement = client.prepare_cached(sql).await?;
        let (after, before) = (after.unwrap_or(0), before.unwrap_or(i64::MAX));
        let rows = client
            .query(&statement, &[&chat_id, &after, &before, &limit])
            .await?;
        let mut records: Vec<MessageRecord> = rows.iter().map(MessageRecord::from_row).collect();
        if newest_first {
            records.reverse();
        }
        Ok(records)
    }
}

/// A non-negative count from SQL's integers (negative ones count as 0).
fn count(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}
