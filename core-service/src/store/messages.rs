//! The `messages` table.

use crate::error::{Error, Result};
use crate::ids::{ChatId, MessageId, UserId};
use crate::store::Store;
use crate::store::recent::{self, Page};
use crate::store::records::{MessageRecord, NewMessage, StoredMessage, message_columns};
use tokio_postgres::Row;
use uuid::Uuid;

/// Stores one message; parameters `id, chat_id, sender_id, client_id,
/// text, written_at`.
pub(crate) const STORE_MESSAGE_SQL: &str =
    "SELECT id, chat_id, seq, stored_at, created FROM store_message($1, $2, $3, $4, $5, $6)";

/// What the store says of one message of a batch: stored (or stored
/// before), `None` for a sender who is not a member, or why it was not.
pub type Answer = Result<Option<StoredMessage>>;

/// Reads a row of [`STORE_MESSAGE_SQL`] from column `first` on: a null id
/// is a send that may be a retry whose key is forgotten.
pub(crate) fn stored_from_row(row: &Row, first: usize) -> Result<StoredMessage> {
    let id: Option<MessageId> = row.get(first);
    Ok(StoredMessage {
        id: id.ok_or(Error::StaleRetry)?,
        chat_id: row.get(first + 1),
        seq: row.get(first + 2),
        timestamp: row.get(first + 3),
        created: row.get(first + 4),
    })
}

impl Store {
    /// Stores a message with its number in the chat, in one round trip
    /// (`store_message`, see `sql/`), stamped with the server's clock. A
    /// retry of the same sender and client id returns the message stored
    /// the first time; a send older than the kept keys is
    /// [`Error::StaleRetry`]. `None` if the chat does not exist or the
    /// sender is not a member.
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
                    &message.written_at,
                ],
            )
            .await?;
        let stored = row.map(|row| stored_from_row(&row, 0)).transpose()?;
        if let Some(stored) = &stored {
            self.recent.stored([(message, stored)]);
        }
        Ok(stored)
    }

    /// The text of the message `id`, if there is one.
    pub async fn message_text(&self, id: MessageId) -> Result<Option<String>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("SELECT text FROM messages WHERE id = $1")
            .await?;
        let row = client.query_opt(&statement, &[&id]).await?;
        Ok(row.map(|row| row.get(0)))
    }

    /// Stores a batch like [`Store::insert_message`] stores one, in one
    /// statement and transaction; the answers are in the batch's order.
    pub async fn insert_messages(&self, messages: &[&NewMessage]) -> Result<Vec<Answer>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT ord, id, chat_id, seq, stored_at, created
                 FROM store_messages($1, $2, $3, $4, $5, $6)",
            )
            .await?;
        let column = |field: fn(&NewMessage) -> Uuid| {
            messages.iter().map(|m| field(m)).collect::<Vec<Uuid>>()
        };
        let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
        let written: Vec<_> = messages.iter().map(|m| m.written_at).collect();
        let rows = client
            .query(
                &statement,
                &[
                    &column(|m| m.id.0),
                    &column(|m| m.chat_id.0),
                    &column(|m| m.sender_id.0),
                    &column(|m| m.client_id),
                    &texts,
                    &written,
                ],
            )
            .await?;
        let mut answers: Vec<Answer> = messages.iter().map(|_| Ok(None)).collect();
        for row in rows {
            let ord: i64 = row.get(0);
            if let Some(answer) = usize::try_from(ord - 1)
                .ok()
                .and_then(|i| answers.get_mut(i))
            {
                *answer = stored_from_row(&row, 1).map(Some);
            }
        }
        let stored = messages.iter().zip(&answers);
        self.recent.stored(
            stored
                .filter_map(|(message, answer)| Some((*message, answer.as_ref().ok()?.as_ref()?))),
        );
        Ok(answers)
    }

    /// One page of a chat's messages in storage order: skip `offset`,
    /// take `limit`.
    pub async fn history(
        &self,
        chat_id: ChatId,
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
        // Skipping `offset` messages starts the page after seq `offset`.
        let (first, last) = after_range(offset, i64::MAX, limit);
        self.seq_range(chat_id, first, last).await
    }

    /// The page from the recent-messages cache, loading the chat's window
    /// into it first when it has none; `None` when the page is older than
    /// what the cache holds.
    async fn recent_page(&self, chat_id: ChatId, page: Page) -> Result<Option<Vec<MessageRecord>>> {
        if let Some(records) = self.recent.page(chat_id, page) {
            crate::telemetry::cache("recent", true);
            return Ok(Some(records));
        }
        crate::telemetry::cache("recent", false);
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
    async fn newest_messages(&self, chat_id: ChatId, count: usize) -> Result<Vec<MessageRecord>> {
        self.newest_up_to(chat_id, i64::MAX, i64::try_from(count).unwrap_or(i64::MAX))
            .await
    }

    /// The chat's newest `count` messages numbered `last` or lower, newest
    /// first.
    async fn newest_up_to(
        &self,
        chat_id: ChatId,
        last: i64,
        count: i64,
    ) -> Result<Vec<MessageRecord>> {
        let client = self.connection().await?;
        let statement = client.prepare_cached(NEWEST_SQL).await?;
        let rows = client.query(&statement, &[&chat_id, &last, &count]).await?;
        Ok(rows.iter().map(MessageRecord::from_row).collect())
    }

    /// The chat's messages numbered `first` to `last`, oldest first.
    pub async fn seq_range(
        &self,
        chat_id: ChatId,
        first: i64,
        last: i64,
    ) -> Result<Vec<MessageRecord>> {
        if first > last {
            return Ok(Vec::new());
        }
        let client = self.connection().await?;
        let statement = client.prepare_cached(RANGE_SQL).await?;
        let rows = client.query(&statement, &[&chat_id, &first, &last]).await?;
        Ok(rows.iter().map(MessageRecord::from_row).collect())
    }

    /// Up to `limit` messages with `after < seq < before`, oldest first:
    /// the oldest such when `after` is given, else the newest before `before`.
    pub async fn history_between(
        &self,
        chat_id: ChatId,
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
        let below = before.map_or(i64::MAX, |before| before.saturating_sub(1));
        match after {
            Some(after) => {
                let (first, last) = after_range(after, below, limit);
                self.seq_range(chat_id, first, last).await
            }
            None => {
                let mut records = self.newest_up_to(chat_id, below, limit).await?;
                records.reverse();
                Ok(records)
            }
        }
    }
}

impl Store {
    /// A page like [`Store::history_between`] of the messages after seq
    /// `floor` not sent by `hidden` (the users the reader blocks): up to
    /// `limit` of them, the oldest after `after` when it is given, else the
    /// newest before `before`; oldest first. Read from the database, past
    /// the messages left out, so that a page is short only at an end of
    /// the chat.
    pub async fn history_hiding(
        &self,
        chat_id: ChatId,
        after: Option<i64>,
        before: Option<i64>,
        floor: i64,
        limit: i64,
        hidden: &[UserId],
    ) -> Result<Vec<MessageRecord>> {
        let client = self.connection().await?;
        let sql = if after.is_some() {
            HIDING_OLDEST_SQL
        } else {
            HIDING_NEWEST_SQL
        };
        let statement = client.prepare_cached(sql).await?;
        let (after, before) = (after.unwrap_or(0).max(floor), before.unwrap_or(i64::MAX));
        let hidden: Vec<uuid::Uuid> = hidden.iter().map(|user| user.0).collect();
        let rows = client
            .query(&statement, &[&chat_id, &after, &before, &hidden, &limit])
            .await?;
        let mut records: Vec<MessageRecord> = rows.iter().map(MessageRecord::from_row).collect();
        records.sort_by_key(|record| record.seq);
        Ok(records)
    }
}

/// The oldest `$5` messages of a chat with `$2 < seq < $3` not sent by
/// any of `$4`.
const HIDING_OLDEST_SQL: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages
     WHERE chat_id = $1 AND seq > $2 AND seq < $3 AND sender_id <> ALL ($4::uuid[])
     ORDER BY seq LIMIT $5"
);

/// The newest `$5` messages of a chat with `$2 < seq < $3` not sent by
/// any of `$4`.
const HIDING_NEWEST_SQL: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages
     WHERE chat_id = $1 AND seq > $2 AND seq < $3 AND sender_id <> ALL ($4::uuid[])
     ORDER BY seq DESC LIMIT $5"
);

/// A chat's messages numbered `$2` to `$3`, oldest first.
///
/// Every chat numbers its messages 1, 2, 3, … with no gaps, so any page is
/// a range of numbers: one probe of the `(chat_id, seq)` index that reads
/// only the page's rows, however long the chat and wherever the page lies.
const RANGE_SQL: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE chat_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq"
);

/// A chat's newest `$3` messages numbered `$2` or lower, newest first: the
/// range that ends at `$2` or at the chat's `last_seq`, whichever is lower.
/// The bounds are subqueries that depend on no row of `messages`, so they
/// are computed once and the index is probed with them.
const NEWEST_SQL: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages
     WHERE chat_id = $1
       AND seq BETWEEN (SELECT least($2, c.last_seq) - $3 + 1 FROM chats c WHERE c.id = $1)
                   AND (SELECT least($2, c.last_seq) FROM chats c WHERE c.id = $1)
     ORDER BY seq DESC"
);

/// The numbers `first..=last` of the page of `limit` messages after `after`
/// and no higher than `last` (saturating: cursors come from clients).
fn after_range(after: i64, last: i64, limit: i64) -> (i64, i64) {
    match after.checked_add(1) {
        Some(first) => (first, after.saturating_add(limit).min(last)),
        None => (1, 0),
    }
}

/// A non-negative count from SQL's integers (negative ones count as 0).
fn count(value: i64) -> usize {
    usize::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::after_range;

    #[test]
    fn a_page_after_a_cursor_is_the_next_numbers_up_to_the_limit_and_the_last() {
        assert_eq!(after_range(10, i64::MAX, 5), (11, 15));
        assert_eq!(after_range(10, 12, 5), (11, 12));
        assert_eq!(after_range(0, i64::MAX, 1), (1, 1));
    }

    #[test]
    fn cursors_at_the_ends_of_the_integers_do_not_overflow() {
        assert_eq!(
            after_range(i64::MAX - 1, i64::MAX, 100),
            (i64::MAX, i64::MAX)
        );
        let (first, last) = after_range(i64::MAX, i64::MAX, 100);
        assert!(first > last);
    }
}
