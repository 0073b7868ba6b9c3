//! The reads that let a core catch up on events it missed (see
//! `events::catch_up`), and the cache updates for events of other cores.

use crate::error::Result;
use crate::ids::ChatId;
use crate::store::Store;
use crate::store::records::MESSAGE_COLUMN_COUNT;
use crate::store::records::MessageRecord;
use crate::store::records::message_columns;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Messages a chat's start looks at, at most.
const START_WINDOW: i64 = 64;

impl Store {
    /// The database's clock.
    pub async fn now(&self) -> Result<DateTime<Utc>> {
        let client = self.connection().await?;
        let row = client.query_one("SELECT now()", &[]).await?;
        Ok(row.get(0))
    }

    /// The chat's messages before seq `before` that were stored within
    /// `look_back` of now and after `since`, oldest first: the newest run of
    /// such messages (at most a few dozen).
    pub async fn recent_before(
        &self,
        chat_id: ChatId,
        before: i64,
        look_back: Duration,
        since: DateTime<Utc>,
    ) -> Result<Vec<MessageRecord>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(concat!(
                "SELECT ",
                message_columns!(),
                ", timestamp > greatest(now() - make_interval(secs => $3), $4) AS recent
                 FROM messages WHERE chat_id = $1 AND seq < $2
                 ORDER BY seq DESC LIMIT $5"
            ))
            .await?;
        let rows = client
            .query(
                &statement,
                &[
                    &chat_id,
                    &before,
                    &look_back.as_secs_f64(),
                    &since,
                    &START_WINDOW,
                ],
            )
            .await?;
        let mut records: Vec<MessageRecord> = rows
            .iter()
            .take_while(|row| row.get::<_, bool>(MESSAGE_COLUMN_COUNT))
            .map(MessageRecord::from_row)
            .collect();
        records.reverse();
        Ok(records)
    }

    /// The last seq of each of `chats` (the ones that exist).
    pub async fn last_seqs(&self, chats: &[ChatId]) -> Result<Vec<(ChatId, i64)>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("SELECT id, last_seq FROM chats WHERE id = ANY($1)")
            .await?;
        let rows = client.query(&statement, &[&chats]).await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// Keeps the recent-messages cache current with a message another core
    /// stored (or one read to fill a gap).
    pub fn cache_message(&self, record: &MessageRecord) {
        self.recent.append(record);
    }

    /// Keeps the recent-messages cache current with a message that another
    /// core found seen by every member.
    pub fn cache_seen(&self, record: &MessageRecord) {
        self.recent.seen(record.chat_id, record.seq);
    }

    /// Forgets the chat's cached messages: one of them changed (edited,
    /// deleted), which is rare enough that reading them again is simpler
    /// than patching them.
    pub fn forget_cached(&self, chat_id: ChatId) {
        self.recent.forget(chat_id);
    }

    /// Forgets every cached message: after events may have been missed,
    /// a window could lack a message or a seen flag.
    pub fn clear_cache(&self) {
        self.recent.clear();
    }
}
