//! The index of messages' words that search reads (`message_words`, how
//! far each chat is indexed in `chat_words`: see
//! `sql/0031_words_off_the_send_path.sql`). Filled by `crate::words`, off
//! the send path; edits and deletions write their words themselves.

use crate::error::Result;
use crate::ids::ChatId;
use crate::store::Store;

/// What one pass of the indexer did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexPass {
    /// Messages whose words it stored.
    pub indexed: u64,
    /// Chats with more messages to index than a pass takes.
    pub behind: Vec<ChatId>,
    /// Chats left out because another transaction was indexing them.
    pub busy: Vec<ChatId>,
}

/// Indexes up to `$2` messages of each chat of `$1` after where its index
/// stops, and moves that point to the last of them. The chat's last seq
/// and its messages are read in one snapshot, so every message up to the
/// new point is visible to it. A row already there was written by an edit
/// or a deletion, with the words of the text as it is now: it is kept.
///
/// A chat whose lock another transaction holds (another core indexing it)
/// is left out and named in the answer: two cores indexing one chat at
/// once would compute the same words twice, wait on each other's rows,
/// and, taking two chats in opposite orders, deadlock (which the cluster
/// at 2,000 msg/s did several times a minute).
const INDEX_SQL: &str = "
    WITH mine AS MATERIALIZED (
        SELECT wanted.id FROM unnest($1::uuid[]) AS wanted (id)
        WHERE pg_try_advisory_xact_lock(hashtextextended(wanted.id::text, 2))
    ), due AS (
        SELECT chat_id, from_seq, least(last_seq, from_seq + $2) AS to_seq, last_seq
        FROM (
            SELECT mine.id AS chat_id,
                   (SELECT c.last_seq FROM chats c WHERE c.id = mine.id) AS last_seq,
                   coalesce((SELECT w.indexed_seq FROM chat_words w
                             WHERE w.chat_id = mine.id), 0) AS from_seq
            FROM mine
        ) chat
        -- (no such chat: no last seq)
        WHERE last_seq > from_seq
    ), indexed AS (
        INSERT INTO message_words (chat_id, seq, sender_id, words)
        SELECT m.chat_id, m.seq, m.sender_id, to_tsvector('simple', m.text)
        FROM due
        JOIN messages m ON m.chat_id = due.chat_id
                       AND m.seq > due.from_seq AND m.seq <= due.to_seq
        WHERE m.text <> ''
        ON CONFLICT (chat_id, seq) DO NOTHING
        RETURNING 1
    ), moved AS (
        INSERT INTO chat_words (chat_id, indexed_seq)
        SELECT chat_id, to_seq FROM due
        ON CONFLICT (chat_id) DO UPDATE
        SET indexed_seq = greatest(chat_words.indexed_seq, EXCLUDED.indexed_seq)
    )
    SELECT (SELECT count(*) FROM indexed),
           array(SELECT chat_id FROM due WHERE to_seq < last_seq),
           array(SELECT id FROM unnest($1::uuid[]) AS wanted (id) EXCEPT SELECT id FROM mine)";

impl Store {
    /// One pass of the indexer over `chats`: up to `per_chat` messages of
    /// each.
    pub async fn index_words(&self, chats: &[ChatId], per_chat: i64) -> Result<IndexPass> {
        let client = self.connection().await?;
        let statement = client.prepare_cached(INDEX_SQL).await?;
        let row = client.query_one(&statement, &[&chats, &per_chat]).await?;
        Ok(IndexPass {
            indexed: u64::try_from(row.get::<_, i64>(0)).unwrap_or_default(),
            behind: row.get(1),
            busy: row.get(2),
        })
    }

    /// Up to `limit` chats after `after` (by id) with messages not indexed
    /// yet, and the last chat looked at (`None` once every chat was).
    pub async fn chats_behind(
        &self,
        after: Option<ChatId>,
        limit: i64,
    ) -> Result<(Vec<ChatId>, Option<ChatId>)> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "WITH page AS (
                     SELECT c.id, c.last_seq FROM chats c
                     WHERE c.id > $1
                     ORDER BY c.id
                     LIMIT $2
                 )
                 SELECT array(SELECT p.id FROM page p
                              WHERE p.last_seq > coalesce((
                                  SELECT w.indexed_seq FROM chat_words w
                                  WHERE w.chat_id = p.id), 0)),
                        (SELECT p.id FROM page p ORDER BY p.id DESC LIMIT 1)",
            )
            .await?;
        // No chat has the nil id (ids are random).
        let after = after.unwrap_or(ChatId(uuid::Uuid::nil()));
        let row = client.query_one(&statement, &[&after, &limit]).await?;
        Ok((row.get(0), row.get(1)))
    }
}
