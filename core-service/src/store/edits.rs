//! Edits and deletes of messages by their senders (`sql/0017`).

use crate::error::{Error, Result};
use crate::ids::{MessageId, UserId};
use crate::store::Store;
use crate::store::records::{MESSAGE_COLUMN_COUNT, MessageRecord, message_columns};
use uuid::Uuid;

/// What an edit or a delete did.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The message changed: as it is now.
    Changed(MessageRecord),
    /// A retry of a change already made: nothing changed (the message as
    /// it is).
    Repeated(MessageRecord),
}

/// The sender is a member of the message's chat (parameters `$1` the
/// message, `$2` the user).
const SENDER_IS_MEMBER: &str = "EXISTS (SELECT 1 FROM chat_members cm WHERE cm.chat_id = messages.chat_id AND cm.user_id = $2)";

impl Store {
    /// Replaces the text of `user`'s message `id`; `edit` is the client's
    /// id for this edit, so a retry of it (even after later edits) changes
    /// nothing. The edit is recorded first (`message_edits`): of two tries
    /// of one edit at once, the second waits for the first's key and then
    /// finds it. `edited_at` rises in the order edits commit (`sql/0023`).
    pub async fn edit_message(
        &self,
        id: MessageId,
        user: UserId,
        edit: Uuid,
        text: &str,
    ) -> Result<Change> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(&format!(
                "WITH recorded AS (
                     INSERT INTO message_edits (message_id, edit_id)
                     SELECT id, $4 FROM messages
                     WHERE id = $1 AND sender_id = $2 AND deleted_at IS NULL AND {SENDER_IS_MEMBER}
                     ON CONFLICT DO NOTHING
                     RETURNING message_id
                 )
                 UPDATE messages
                 SET text = $3,
                     edited_at = greatest(clock_timestamp(), edited_at + interval '1 microsecond')
                 WHERE id = $1 AND deleted_at IS NULL AND EXISTS (SELECT 1 FROM recorded)
                 RETURNING {}",
                message_columns!()
            ))
            .await?;
        if let Some(row) = client
            .query_opt(&statement, &[&id, &user, &text, &edit])
            .await?
        {
            return Ok(Change::Changed(MessageRecord::from_row(&row)));
        }
        let (record, made) = self.unchanged(id, user, Some(edit)).await?;
        if record.deleted {
            return Err(Error::MessageDeleted);
        }
        if !made {
            return Err(Error::Internal("an edit changed nothing".into()));
        }
        Ok(Change::Repeated(record))
    }

    /// Makes `user`'s message `id` a tombstone: no text, no files,
    /// `deleted_at` set.
    /// Deleting it again changes nothing.
    pub async fn delete_message(&self, id: MessageId, user: UserId) -> Result<Change> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(&format!(
                // Its files go with it: no one may fetch them from now on,
                // and their bytes are collected once no message uses them.
                "WITH deleted AS (
                     UPDATE messages SET text = '', deleted_at = now(), attachments = NULL
                     WHERE id = $1 AND sender_id = $2 AND deleted_at IS NULL AND {SENDER_IS_MEMBER}
                     RETURNING {}
                 ), files AS (
                     DELETE FROM attachments a USING deleted d WHERE a.message_id = d.id
                 )
                 SELECT * FROM deleted",
                message_columns!()
            ))
            .await?;
        if let Some(row) = client.query_opt(&statement, &[&id, &user]).await? {
            return Ok(Change::Changed(MessageRecord::from_row(&row)));
        }
        let (record, _) = self.unchanged(id, user, None).await?;
        if !record.deleted {
            return Err(Error::Internal("a delete changed nothing".into()));
        }
        Ok(Change::Repeated(record))
    }

    /// Why a change to message `id` by `user` changed nothing: the message,
    /// and whether the edit `edit` (if one is asked about) was made before;
    /// or the refusal.
    async fn unchanged(
        &self,
        id: MessageId,
        user: UserId,
        edit: Option<Uuid>,
    ) -> Result<(MessageRecord, bool)> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT {},
                        EXISTS (SELECT 1 FROM message_edits e WHERE e.message_id = $1 AND e.edit_id = $3)
                 FROM messages WHERE id = $1 AND {SENDER_IS_MEMBER}",
                message_columns!()
            ))
            .await?;
        let row = client
            .query_opt(&statement, &[&id, &user, &edit])
            .await?
            .ok_or(Error::MessageNotFound)?;
        let record = MessageRecord::from_row(&row);
        if record.sender_id != user {
            return Err(Error::NotYourMessage);
        }
        Ok((record, row.get(MESSAGE_COLUMN_COUNT)))
    }
}
