//! Full-text search of the messages of a user's chats: the words indexed
//! so far (`message_words`, see `sql/0031_words_off_the_send_path.sql`),
//! and the text of the few messages sent since (`crate::words`).

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
///
/// Chat by chat: each chat's newest matches (at most a page), then the
/// newest of those. How one chat is searched depends on how common the
/// words are, which the planner knows only from the query's own text (a
/// word in half the messages is found by reading a chat backwards, a rare
/// one through the index of words): so the query is written in, not behind
/// a subquery, and planned for each search (see `search_messages`). On 10
/// million messages, one statement for every search had planned a common
/// word through the index and read 500,000 messages (30 s).
///
/// Within one chat, the newest by `seq`: two messages stored within the
/// same moment may come in storage order, not by their timestamps. A
/// chat's messages are found by their words where these are written (up
/// to where the chat is indexed, and any edited since), the others (sent
/// in the last moment, or the whole chat on a database not indexed yet)
/// by their text, read in the same snapshot: so every message is looked
/// at once, whether the indexer has passed it. Each of the two makes its
/// own page with every condition: the words' page is chosen among the
/// words alone (they carry the sender, for blocks; a later page reads
/// each candidate's time), so that a common word's matches are read
/// backwards until the page is full and a rarer word's sorted by seq,
/// and only the page's messages are read. The text is read between two
/// bounds, which the planner takes for a short range (as it is), where
/// one bound made it expect a third of the chat and plan the whole
/// statement as if for millions of rows.
const SEARCH_SQL: &str = concat!(
    "SELECT ",
    message_columns!(),
    ", ts_headline('simple', text, websearch_to_tsquery('simple', $2),
                   'StartSel=' || chr(2) || ', StopSel=' || chr(3)
                   || ', MaxWords=30, MinWords=12')
     FROM (
         SELECT found.* FROM chat_members cm
         CROSS JOIN LATERAL (
             SELECT coalesce((SELECT w.indexed_seq FROM chat_words w
                              WHERE w.chat_id = cm.chat_id), 0) AS indexed_seq,
                    (SELECT c.last_seq FROM chats c WHERE c.id = cm.chat_id) AS last_seq
         ) cw
         CROSS JOIN LATERAL (
             (SELECT m.* FROM (
                  SELECT w.seq FROM message_words w
                  WHERE w.chat_id = cm.chat_id
                    AND w.words @@ websearch_to_tsquery('simple', $2)
                    AND w.seq > coalesce(cm.cleared_seq, 0)
                    AND NOT EXISTS (SELECT 1 FROM blocks b
                                    WHERE b.blocker_id = $1 AND b.blocked_id = w.sender_id)
                    AND ($4::uuid IS NULL OR EXISTS (
                        SELECT 1 FROM messages o
                        WHERE o.chat_id = w.chat_id AND o.seq = w.seq
                          AND (o.timestamp, o.id) < (
                              SELECT p.timestamp, p.id FROM messages p WHERE p.id = $4)))
                  ORDER BY w.seq DESC
                  LIMIT $5
              ) hit
              JOIN messages m ON m.chat_id = cm.chat_id AND m.seq = hit.seq
              -- (a deleted message's words are empty: never a hit)
              WHERE m.deleted_at IS NULL)
             UNION ALL
             (SELECT m.* FROM messages m
              WHERE m.chat_id = cm.chat_id
                AND m.seq > greatest(cm.cleared_seq, cw.indexed_seq)
                AND m.seq <= cw.last_seq
                AND to_tsvector('simple', m.text) @@ websearch_to_tsquery('simple', $2)
                AND NOT EXISTS (SELECT 1 FROM message_words x
                                WHERE x.chat_id = m.chat_id AND x.seq = m.seq)
                AND m.deleted_at IS NULL
                AND ($4::uuid IS NULL OR (m.timestamp, m.id) < (
                    SELECT p.timestamp, p.id FROM messages p WHERE p.id = $4))
                AND NOT EXISTS (SELECT 1 FROM blocks b
                                WHERE b.blocker_id = $1 AND b.blocked_id = m.sender_id)
              ORDER BY m.seq DESC
              LIMIT $5)
             ORDER BY seq DESC
             LIMIT $5
         ) found
         WHERE cm.user_id = $1
           AND ($3::uuid IS NULL OR cm.chat_id = $3)
         ORDER BY found.timestamp DESC, found.id DESC
         LIMIT $5
     ) found
     ORDER BY timestamp DESC, id DESC"
);

impl Store {
    /// The messages `search` asks for, newest first.
    pub async fn search_messages(&self, search: &MessageSearch<'_>) -> Result<Vec<Found>> {
        let client = self.connection().await?;
        // Prepared anew each time, so that it is planned for its words
        // (a cached statement soon runs one plan for every search).
        let rows = client
            .query(
                SEARCH_SQL,
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
