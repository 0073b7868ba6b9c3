//! The `message_seen_status` table and the `seen` flag it drives.

use crate::error::Result;
use crate::ids::{ChatId, MessageId, UserId};
use crate::store::Store;
use crate::store::records::MessageRecord;
use tokio_postgres::error::SqlState;

/// What recording a seen status led to.
#[derive(Debug, Clone, PartialEq)]
pub enum SeenOutcome {
    /// No such message in any chat of the user's.
    NotFound,
    /// Recorded (or already recorded); not every member has seen it yet, or
    /// the message had already become seen before.
    Recorded,
    /// This status was the last one missing: the message is now seen. Only
    /// one caller ever gets this for a given message.
    NowSeenByAll(MessageRecord),
}

/// A receipt after the reader's mark takes its message out of their unread
/// count, unless it was out already (its sender is one they block).
async fn count_receipt(
    transaction: &deadpool_postgres::Transaction<'_>,
    chat: ChatId,
    reader: UserId,
    sender: UserId,
) -> Result<()> {
    let count = transaction
        .prepare_cached(
            "UPDATE chat_members SET uncounted = uncounted + 1
             WHERE chat_id = $1 AND user_id = $2 AND NOT EXISTS (
                 SELECT 1 FROM blocks b WHERE b.blocker_id = $2 AND b.blocked_id = $3)",
        )
        .await?;
    transaction
        .execute(&count, &[&chat, &reader, &sender])
        .await?;
    Ok(())
}

impl Store {
    /// Records that `user_id` has seen `message_id`.
    ///
    /// The member row is locked first, as a read marker locks it (so the
    /// two never wait on each other in a circle), then the message row, so
    /// concurrent calls for the same message run one after the other and
    /// exactly one of them observes the moment the last member's status
    /// arrives.
    pub async fn mark_seen(&self, user_id: UserId, message_id: MessageId) -> Result<SeenOutcome> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        let member = transaction
            .prepare_cached(
                "SELECT greatest(cm.read_seq, coalesce(cm.cleared_seq, 0)) FROM chat_members cm
                 WHERE cm.chat_id = (SELECT m.chat_id FROM messages m WHERE m.id = $1)
                   AND cm.user_id = $2
                 FOR NO KEY UPDATE",
            )
            .await?;
        let Some(member) = transaction
            .query_opt(&member, &[&message_id, &user_id])
            .await?
        else {
            return Ok(SeenOutcome::NotFound);
        };
        let mark: i64 = member.get(0);
        let lock = transaction
            .prepare_cached(
                "SELECT m.seen, m.chat_id, m.sender_id, m.seq FROM messages m
                 WHERE m.id = $1 FOR UPDATE",
            )
            .await?;
        let row = transaction.query_one(&lock, &[&message_id]).await?;
        // The sender's own status is implied (`sql/0009`), never stored.
        let sender_id: UserId = row.get(2);
        if user_id != sender_id {
            let record = transaction
                .prepare_cached(
                    "INSERT INTO message_seen_status (message_id, user_id) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                )
                .await?;
            let recorded = transaction
                .execute(&record, &[&message_id, &user_id])
                .await?;
            if recorded == 1 && row.get::<_, i64>(3) > mark {
                count_receipt(&transaction, row.get(1), user_id, sender_id).await?;
            }
        }
        if row.get::<_, bool>(0) {
            transaction.commit().await?;
            return Ok(SeenOutcome::Recorded);
        }
        // The chat, the sender and the seq are parameters rather than
        // columns of `m`: the check then depends on no row of the update,
        // is run once, and reads the chat's members and the message's
        // statuses by their keys. A member whose read marker covers the
        // message has seen it (`sql/0018`); one the sender blocks never
        // counts as having seen it (`sql/0027`).
        let complete = transaction
            .prepare_cached(
                "UPDATE messages m SET seen = true
                 WHERE m.id = $1 AND NOT m.seen AND NOT EXISTS (
                     SELECT 1 FROM chat_members cm
                     WHERE cm.chat_id = $2 AND cm.user_id <> $3
                       AND ((cm.read_seq < $4
                             AND NOT EXISTS (
                               SELECT 1 FROM message_seen_status s
                               WHERE s.message_id = $1 AND s.user_id = cm.user_id))
                            OR EXISTS (
                               SELECT 1 FROM blocks b
                               WHERE b.blocker_id = $3 AND b.blocked_id = cm.user_id)))
                 RETURNING id, chat_id, sender_id, text, timestamp, seen, seq, edited_at,
                           deleted_at IS NOT NULL, attachments",
            )
            .await?;
        let chat_id: ChatId = row.get(1);
        let seq: i64 = row.get(3);
        let updated = transaction
            .query_opt(&complete, &[&message_id, &chat_id, &sender_id, &seq])
            .await?;
        transaction.commit().await?;
        Ok(match updated {
            Some(row) => {
                let record = MessageRecord::from_row(&row);
                self.recent.seen(record.chat_id, record.seq);
                SeenOutcome::NowSeenByAll(record)
            }
            None => SeenOutcome::Recorded,
        })
    }
}

/// What moving a read marker did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOutcome {
    /// The reader's marker now (never lower than before, never above the
    /// chat's last seq).
    pub read_seq: i64,
    /// The messages it completed: now seen by every member, in seq order.
    /// Only one caller ever gets a given message here or in
    /// [`SeenOutcome::NowSeenByAll`].
    pub now_seen_by_all: Vec<MessageRecord>,
}

impl Store {
    /// Records that `reader` has read `chat_id` up to `upto`: one call of
    /// `read_up_to()` (`sql/0018`), one round trip however many messages it
    /// covers. `None` if the reader is not a member of the chat.
    pub async fn read_up_to(
        &self,
        chat_id: ChatId,
        reader: UserId,
        upto: i64,
    ) -> Result<Option<ReadOutcome>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT read_seq, id, chat_id, sender_id, text, timestamp, seen, seq,
                        edited_at, deleted
                 FROM read_up_to($1, $2, $3)",
            )
            .await?;
        let rows = match client.query(&statement, &[&chat_id, &reader, &upto]).await {
            Ok(rows) => rows,
            Err(error) if error.code() == Some(&SqlState::NO_DATA_FOUND) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let read_seq = rows.first().map_or(0, |row| row.get(0));
        let mut now_seen_by_all: Vec<MessageRecord> = rows
            .iter()
            .filter(|row| row.get::<_, Option<MessageId>>(1).is_some())
            .map(|row| MessageRecord::from_columns(row, 1))
            .collect();
        now_seen_by_all.sort_by_key(|record| record.seq);
        for record in &now_seen_by_all {
            self.recent.seen(record.chat_id, record.seq);
        }
        Ok(Some(ReadOutcome {
            read_seq,
            now_seen_by_all,
        }))
    }
}
