//! The `media` and `attachments` tables: which content is kept, whose
//! uploads use it, which message took them, and who may read them.

use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::store::Store;
use crate::store::messages::stored_from_row;
use crate::store::records::{Attachment, NewMessage, StoredMessage};
use chrono::{DateTime, Utc};
use tokio_postgres::error::SqlState;
use uuid::Uuid;

/// Stored content, as its row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRecord {
    pub digest: [u8; 32],
    /// Of what is served.
    pub size: i64,
    pub content_type: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// Set for images.
    pub thumbnail_size: Option<i64>,
}

/// One of a user's uploads, as a message would show it, and whether a
/// message took it already.
#[derive(Debug, Clone)]
pub struct Upload {
    pub attachment: Attachment,
    pub owner: UserId,
    pub sent: bool,
}

/// A file a reader may fetch: what it is, and where its bytes are.
#[derive(Debug, Clone)]
pub struct Readable {
    pub attachment: Attachment,
    pub media: MediaRecord,
}

const MEDIA_COLUMNS: &str = "digest, size, content_type, width, height, thumbnail_size";

fn media_from_row(row: &tokio_postgres::Row, first: usize) -> MediaRecord {
    let digest: Vec<u8> = row.get(first);
    MediaRecord {
        digest: digest.try_into().unwrap_or([0; 32]),
        size: row.get(first + 1),
        content_type: row.get(first + 2),
        width: row.get(first + 3),
        height: row.get(first + 4),
        thumbnail_size: row.get(first + 5),
    }
}

impl Store {
    /// The content `digest` if it is kept, marked as just used so that it
    /// is not collected while an upload takes it.
    pub async fn take_media(&self, digest: &[u8; 32]) -> Result<Option<MediaRecord>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(&format!(
                "UPDATE media SET used_at = now() WHERE digest = $1 RETURNING {MEDIA_COLUMNS}"
            ))
            .await?;
        let row = client.query_opt(&statement, &[&digest.as_slice()]).await?;
        Ok(row.map(|row| media_from_row(&row, 0)))
    }

    /// Records content whose bytes were just stored (a concurrent upload
    /// of the same content may have recorded it first: its row is kept).
    pub async fn add_media(&self, media: &MediaRecord) -> Result<MediaRecord> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(&format!(
                "INSERT INTO media ({MEDIA_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (digest) DO UPDATE SET used_at = now()
                 RETURNING {MEDIA_COLUMNS}"
            ))
            .await?;
        let row = client
            .query_one(
                &statement,
                &[
                    &media.digest.as_slice(),
                    &media.size,
                    &media.content_type,
                    &media.width,
                    &media.height,
                    &media.thumbnail_size,
                ],
            )
            .await?;
        Ok(media_from_row(&row, 0))
    }

    /// The bytes `owner`'s uploads take, sent or not.
    pub async fn storage_used(&self, owner: UserId) -> Result<i64> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT coalesce(sum(md.size), 0)::bigint FROM attachments a
                 JOIN media md ON md.digest = a.digest WHERE a.owner_id = $1",
            )
            .await?;
        Ok(client.query_one(&statement, &[&owner]).await?.get(0))
    }

    /// Records `owner`'s upload `id` of `media` named `name`, unless it
    /// would take their storage beyond `quota` bytes (`false` then). One
    /// user's uploads are recorded one at a time, so that two of them
    /// cannot both fit the last free bytes.
    pub async fn add_upload(
        &self,
        id: Uuid,
        owner: UserId,
        media: &MediaRecord,
        name: &str,
        quota: i64,
    ) -> Result<bool> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&owner])
            .await?;
        let inserted = transaction
            .execute(
                "INSERT INTO attachments (id, owner_id, digest, name)
                 SELECT $1, $2, $3, $4
                 WHERE (SELECT coalesce(sum(md.size), 0)::bigint FROM attachments a
                        JOIN media md ON md.digest = a.digest WHERE a.owner_id = $2)
                       + $5::bigint <= $6::bigint",
                &[
                    &id,
                    &owner,
                    &media.digest.as_slice(),
                    &name,
                    &media.size,
                    &quota,
                ],
            )
            .await?;
        transaction.commit().await?;
        Ok(inserted == 1)
    }

    /// The uploads `ids` as they are now (those that exist).
    pub async fn uploads(&self, ids: &[Uuid]) -> Result<Vec<Upload>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT a.id, a.name, md.size, md.content_type, md.width, md.height,
                        a.owner_id, a.message_id IS NOT NULL
                 FROM attachments a JOIN media md ON md.digest = a.digest
                 WHERE a.id = ANY ($1)",
            )
            .await?;
        let rows = client.query(&statement, &[&ids]).await?;
        Ok(rows
            .iter()
            .map(|row| Upload {
                attachment: attachment_from_row(row),
                owner: row.get(6),
                sent: row.get(7),
            })
            .collect())
    }

    /// Stores `message` with its files (`store_message_with_attachments`,
    /// see `sql/`): as [`Store::insert_message`], and the sender's uploads
    /// go into it under their locks, so that an upload goes into one
    /// message only.
    pub async fn insert_message_with_attachments(
        &self,
        message: &NewMessage,
    ) -> Result<Option<StoredMessage>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(
                "SELECT id, chat_id, seq, stored_at, created
                 FROM store_message_with_attachments($1, $2, $3, $4, $5, $6, $7)",
            )
            .await?;
        let ids: Vec<Uuid> = message.attachments.iter().map(|file| file.id).collect();
        let row = client
            .query_opt(
                &statement,
                &[
                    &message.id,
                    &message.chat_id,
                    &message.sender_id,
                    &message.client_id,
                    &message.text,
                    &ids,
                    &message.written_at,
                ],
            )
            .await;
        match row {
            Ok(row) => {
                let stored = row.map(|row| stored_from_row(&row, 0)).transpose()?;
                if let Some(stored) = &stored {
                    self.recent.stored([(message, stored)]);
                }
                Ok(stored)
            }
            Err(error) => Err(match error.code().map(SqlState::code) {
                Some("MSA01") => Error::UnknownAttachment,
                Some("MSA02") => Error::AttachmentInUse,
                Some("MSA03") => return Ok(None),
                Some("MSK01") => Error::StaleRetry,
                Some("MSK02") => Error::ClientIdReused,
                _ => error.into(),
            }),
        }
    }

    /// The file `id` if `reader` may fetch it: their own upload not yet
    /// sent, or a file of a message they can read (a member of its chat,
    /// past where they hid it, not from someone they block, not deleted).
    pub async fn readable_file(&self, id: Uuid, reader: UserId) -> Result<Option<Readable>> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached(&format!(
                "SELECT a.id, a.name, md.size, md.content_type, md.width, md.height,
                        {}
                 FROM attachments a JOIN media md ON md.digest = a.digest
                 -- The message by its key (LIMIT 1: a probe, whatever the
                 -- statistics say).
                 LEFT JOIN LATERAL (
                     SELECT m.chat_id, m.seq, m.sender_id FROM messages m
                     WHERE m.id = a.message_id AND m.deleted_at IS NULL LIMIT 1
                 ) m ON true
                 WHERE a.id = $1 AND (
                     (a.message_id IS NULL AND a.owner_id = $2)
                     OR (m.chat_id IS NOT NULL
                         AND EXISTS (
                             SELECT 1 FROM chat_members cm
                             WHERE cm.chat_id = m.chat_id AND cm.user_id = $2
                               AND m.seq > coalesce(cm.cleared_seq, 0))
                         AND NOT EXISTS (
                             SELECT 1 FROM blocks b
                             WHERE b.blocker_id = $2 AND b.blocked_id = m.sender_id)))",
                MEDIA_COLUMNS
                    .split(", ")
                    .map(|column| format!("md.{column}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .await?;
        let row = client.query_opt(&statement, &[&id, &reader]).await?;
        Ok(row.map(|row| Readable {
            attachment: attachment_from_row(&row),
            media: media_from_row(&row, 6),
        }))
    }

    /// Deletes uploads no message took that were made before `before`;
    /// how many.
    pub async fn delete_unsent(&self, before: DateTime<Utc>) -> Result<u64> {
        let client = self.connection().await?;
        let statement = client
            .prepare_cached("DELETE FROM attachments WHERE message_id IS NULL AND uploaded_at < $1")
            .await?;
        Ok(client.execute(&statement, &[&before]).await?)
    }

    /// Collects up to `limit` contents no upload uses that were last taken
    /// before `before`: `remove` deletes their bytes while their rows are
    /// locked (an upload that would take one waits, then finds it gone and
    /// stores it again), then the rows go. How many were collected.
    pub async fn collect_media(
        &self,
        before: DateTime<Utc>,
        limit: i64,
        remove: impl AsyncFnOnce(&[MediaRecord]) -> bool,
    ) -> Result<usize> {
        let mut client = self.connection().await?;
        let transaction = client.transaction().await?;
        let rows = transaction
            .query(
                &format!(
                    "SELECT {MEDIA_COLUMNS} FROM media md
                     WHERE md.used_at < $1
                       AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.digest = md.digest)
                     ORDER BY md.used_at LIMIT $2
                     FOR UPDATE SKIP LOCKED"
                ),
                &[&before, &limit],
            )
            .await?;
        let unused: Vec<MediaRecord> = rows.iter().map(|row| media_from_row(row, 0)).collect();
        if unused.is_empty() || !remove(&unused).await {
            return Ok(0);
        }
        let digests: Vec<&[u8]> = unused.iter().map(|media| media.digest.as_slice()).collect();
        transaction
            .execute("DELETE FROM media WHERE digest = ANY ($1)", &[&digests])
            .await?;
        transaction.commit().await?;
        Ok(unused.len())
    }
}

/// Reads `id, name, size, content_type, width, height` from column 0.
fn attachment_from_row(row: &tokio_postgres::Row) -> Attachment {
    Attachment {
        id: row.get(0),
        name: row.get(1),
        size: row.get(2),
        content_type: row.get(3),
        width: row.get(4),
        height: row.get(5),
    }
}
