//! Full-text search of the messages of a user's chats (`words`, see
//! `sql/0028_message_search.sql`).

use crate::error::Result;
use crate::ids::{ChatId, MessageId, UserId};
use crate::store::Store;
use crate::store::records::{MESSAGE_COLUMN_COUNT, MessageRecord, message_columns};

/// What marks the start and the end of a matched word in a snippet:
/// control characters, which no message may contain (`crate::text`).
pub const MATCH_START: char = '\u{2}';
pub const MATCH_END: char = '\u{3}';

/// A message found, with the text around its matched words.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub message: MessageRecord,
    /// Part of its text, each matched word between [`MATCH_START`] and
    /// [`MATCH_END`].
    pub snippet: String,
}

/// What to look for.
#[derive(Debug, Clone)]
pub struct MessageSearch<'a> {
    pub reader: UserId,
    /// Words, as a web search engine takes them (`"a phrase"`, `or`,
    /// `-word`).
    pub query: &'a str,
    /// Only this chat.
    pub chat: Option<ChatId>,
    /// Only messages older than this one (the last of the previous page).
    pub before: Option<MessageId>,
    pub limit: i64,
}

/// The newest `$5` messages with the words of `$2` in the chats of `$1`
/// (only `$3` if given) older than the message `$4` (if given): none up to
/// where the reader hid a chat, none deleted, none of a user the reader
/// blocks. Newest first by time, then id.
const SEARCH_SQL: &str = concat!(
    "WITH asked AS (SELECT websearch_to_tsquery('simple', $2) AS words),
          below AS (SELECT m.timestamp, m.id FROM messages m WHERE m.id = $4)
     SELECT ",
    message_columns!(),
    ", ts_headline('simple', text, (SELECT words FROM asked),
                   'StartSel=' || chr(2) || ', StopSel=' || chr(3)
                   || ', MaxWords=30, MinWords=12')
     FROM (
         SELECT m.* FROM chat_members cm
         JOIN messages m ON m.chat_id = cm.chat_id
         WHERE cm.user_id = $1
           AND ($3::uuid IS NULL OR cm.chat_id = $3)
           AND m.words @@ (SELECT words FROM asked)
           AND m.seq > coalesce(cm.cleared_seq, 0)
           AND m.deleted_at IS NULL
           AND ($4::uuid IS NULL OR (m.timestamp, m.id) < (SELECT timestamp, id FROM below))
           AND NOT EXISTS (SELECT 1 FROM blocks b
                           WHERE b.blocker_id = $1 AND b.blocked_id = m.sender_id)
         ORDER BY m.timestamp DESC, m.id DESC
         LIMIT $5
     ) found
     ORDER BY timestamp DESC, id DESC"
);

impl Store {
    /// The messages `search` asks for, newest first.
    pub async fn search_messages(&self, search: &MessageSearch<'_>) -> Result<Vec<Found>> {
        let client = self.connection().await?;
        let statement = client.prepare_cached(SEARCH_SQL).await?;
        let rows = client
            .query(
                &statement,
                &[
                    &search.reader,
                    &search.query,
                    &search.chat,
                    &search.before,
                    &search.limit,
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| Found {
                message: MessageRecord::from_row(row),
                snippet: row.get(MESSAGE_COLUMN_COUNT),
            })
            .collect())
    }
}
