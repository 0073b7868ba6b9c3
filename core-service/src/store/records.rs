//! The message records the store hands out and takes in, shared by its
//! queries (`messages`, `receipts`, `chats`) and the cache of recent
//! messages (`recent`), so that neither of those depends on the other; and
//! the members of a chat as the store reads them.

use crate::ids::{ChatId, MessageId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio_postgres::Row;
use tokio_postgres::types::Json;
use uuid::Uuid;

/// The columns of a [`MessageRecord`] in a query of `messages` (a macro,
/// so that `concat!` can build whole statements with it).
macro_rules! message_columns {
    () => {
        "id, chat_id, sender_id, text, timestamp, seen, seq, edited_at, deleted_at IS NOT NULL, \
         attachments"
    };
}
pub(crate) use message_columns;

/// How many columns `message_columns!()` names: the first column a query
/// adds after them.
pub(crate) const MESSAGE_COLUMN_COUNT: usize = 10;

/// A stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub text: String,
    pub timestamp: DateTime<Utc>,
    pub seen: bool,
    /// The message's number in its chat.
    pub seq: i64,
    /// When its sender last edited it.
    pub edited_at: Option<DateTime<Utc>>,
    /// A tombstone: its sender deleted it (the text is empty).
    pub deleted: bool,
    /// Its files, in the order sent (none on a tombstone).
    pub attachments: Attachments,
}

/// A file in a message, as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: Uuid,
    pub name: String,
    /// Bytes, as served.
    pub size: i64,
    pub content_type: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
}

/// A message's files: shared, since a message's record is cloned for every
/// session it reaches; empty for most messages.
pub type Attachments = Arc<[Attachment]>;

impl MessageRecord {
    /// Reads the columns of `message_columns!()`.
    pub(crate) fn from_row(row: &Row) -> Self {
        let files: Option<Json<Vec<Attachment>>> = row.get(9);
        MessageRecord {
            attachments: files.map_or_else(|| Arc::from([]), |Json(files)| files.into()),
            ..MessageRecord::from_columns(row, 0)
        }
    }

    /// Reads the same columns but the files, starting at column `first`
    /// (for answers that do not show files: receipts, chat previews).
    pub(crate) fn from_columns(row: &Row, first: usize) -> Self {
        MessageRecord {
            id: row.get(first),
            chat_id: row.get(first + 1),
            sender_id: row.get(first + 2),
            text: row.get(first + 3),
            timestamp: row.get(first + 4),
            seen: row.get(first + 5),
            seq: row.get(first + 6),
            edited_at: row.get(first + 7),
            deleted: row.get(first + 8),
            attachments: Arc::from([]),
        }
    }
}

/// What storing a client's message led to.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub seq: i64,
    pub timestamp: DateTime<Utc>,
    /// False for a retry: the message was stored before and nothing changed.
    pub created: bool,
}

impl StoredMessage {
    /// The stored row of `message`, as first stored (not yet seen).
    pub(crate) fn record(&self, message: &NewMessage) -> MessageRecord {
        MessageRecord {
            id: self.id,
            chat_id: self.chat_id,
            sender_id: message.sender_id,
            text: message.text.clone(),
            timestamp: self.timestamp,
            seen: false,
            seq: self.seq,
            edited_at: None,
            deleted: false,
            attachments: message.attachments.clone(),
        }
    }
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub client_id: Uuid,
    /// When the client wrote it, by its clock, if it said: how old a
    /// retry is (`sql/0033`).
    pub written_at: Option<DateTime<Utc>>,
    pub text: String,
    /// The sender's uploads it takes, as checked before it is stored.
    pub attachments: Attachments,
}

/// The members of one chat.
pub type Members = Arc<[UserId]>;

/// A chat's members as of one version of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub chat: ChatId,
    pub version: i64,
    pub members: Members,
}
