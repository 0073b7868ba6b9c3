//! The `message_seen_status` table and the `seen` flag it drives.

use crate::error::Result;
use crate::ids::{ChatId, MessageId, UserId};
use crate::store::Store;
use crate::store::records::MessageRecord;

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

impl Store {
    /// Records that `user_id` has seen `message_id`.
    ///
    /// The message row is locked first, so concurrent calls for the same
    /// message run one after the other and exactly one of them observes the
    /// moment the last member's status arrives.
    pub async fn mark_seen(&self, user_id: UserId, message_id: MessageId) -> Result<SeenOutcome> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        let lock = transaction
            .prepare_cached(
                "SELECT m.seen, m.chat_id, m.sender_id FROM messages m
                 JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = $2
                 WHERE m.id = $1 FOR UPDATE OF m",
            )
            .await?;
        let Some(row) = transaction
            .query_opt(&lock, &[&message_id, &user_id])
            .await?
        else {
            return Ok(SeenOutcome::NotFound);
        };
        // The sender's own status is implied (`sql/0009`), never stored.
        let sender_id: UserId = row.get(2);
        if user_id != sender_id {
            let record = transaction
                .prepare_cached(
                    "INSERT INTO message_seen_status (message_id, user_id) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                )
                .await?;
            transaction
                .execute(&record, &[&message_id, &user_id])
                .await?;
        }
        if row.get::<_, bool>(0) {
            transaction.commit().await?;
            return Ok(SeenOutcome::Recorded);
        }
        // The chat and the sender are parameters rather than columns of
        // `m`: the check then depends on no row of the update, is run once,
        // and reads the chat's members and the message's statuses by their
        // keys.
        let complete = transaction
            .prepare_cached(
                "UPDATE messages m SET seen = true
                 WHERE m.id = $1 AND NOT m.seen AND NOT EXISTS (
                     SELECT 1 FROM chat_members cm
                     WHERE cm.chat_id = $2 AND cm.user_id <> $3 AND NOT EXISTS (
                         SELECT 1 FROM message_seen_status s
                         WHERE s.message_id = $1 AND s.user_id = cm.user_id))
                 RETURNING id, chat_id, sender_id, text, timestamp, seen, seq",
            )
            .await?;
        let chat_id: ChatId = row.get(1);
        let updated = transaction
            .query_opt(&complete, &[&message_id, &chat_id, &sender_id])
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
