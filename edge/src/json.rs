//! JSON objects that REST answers and WebSocket frames share, written once:
//! times as the protocol writes them, one person's presence, and a message
//! in its two shapes: in history (with `seen`, documented in the OpenAPI
//! document) and as a WebSocket frame (with its `type`; whether it was seen
//! comes in `message_seen` instead).

use messenger_proto::timestamp;
use messenger_proto::v1;
use serde::Serialize;
use utoipa::ToSchema;

/// A core timestamp as the protocol writes it.
pub fn format_time(time: Option<&prost_types::Timestamp>) -> String {
    time.and_then(timestamp::from_proto)
        .map(timestamp::format)
        .unwrap_or_default()
}

/// A time the core may leave out (an edit, a last sighting, an end), as
/// the protocol writes it; `None` when it is left out.
pub fn format_optional_time(time: Option<&prost_types::Timestamp>) -> Option<String> {
    time.map(|time| format_time(Some(time)))
}

/// One person's presence.
#[derive(Serialize, ToSchema)]
pub struct Presence<'a> {
    #[schema(format = Uuid)]
    pub user_id: &'a str,
    /// True while any of their devices is connected.
    pub online: bool,
    /// When their last device left; null while online or if never seen.
    #[schema(required = true, format = DateTime)]
    pub last_seen: Option<String>,
}

impl<'a> From<&'a v1::Presence> for Presence<'a> {
    fn from(presence: &'a v1::Presence) -> Self {
        Presence {
            user_id: &presence.user_id,
            online: presence.online,
            last_seen: format_optional_time(presence.last_seen.as_ref()),
        }
    }
}

/// One message as the REST API shows it.
#[derive(Serialize, ToSchema)]
pub struct HistoryMessage<'a> {
    #[schema(format = Uuid)]
    id: &'a str,
    #[schema(format = Uuid)]
    sender_id: &'a str,
    #[schema(format = Uuid)]
    chat_id: &'a str,
    /// When the server stored the message (RFC 3339, UTC).
    #[schema(format = DateTime)]
    timestamp: String,
    text: &'a str,
    /// True once every member of the chat has seen it.
    seen: bool,
    /// The message's number in its chat: 1, 2, 3, … no gaps.
    seq: u64,
    /// When its sender last edited it (RFC 3339, UTC); only on edited
    /// messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    edited_at: Option<String>,
    /// Only on a deleted message (a tombstone, whose text is empty).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
    /// Its files, in the order sent; only on messages that have some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
}

/// A file in a message, or an upload's answer.
#[derive(Serialize, ToSchema)]
pub struct Attachment<'a> {
    /// Fetched with `GET /media/{id}` (and `/media/{id}/thumbnail`).
    #[schema(format = Uuid)]
    pub id: &'a str,
    /// The name it was uploaded with.
    pub name: &'a str,
    /// Bytes.
    pub size: u64,
    /// Read from its bytes by the server.
    pub content_type: &'a str,
    /// Images only: pixels as shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl<'a> From<&'a v1::Attachment> for Attachment<'a> {
    fn from(file: &'a v1::Attachment) -> Self {
        Attachment {
            id: &file.id,
            name: &file.name,
            size: file.size,
            content_type: &file.content_type,
            width: file.width,
            height: file.height,
        }
    }
}

/// A message's files as JSON.
fn attachments(message: &v1::Message) -> Vec<Attachment<'_>> {
    message.attachments.iter().map(Attachment::from).collect()
}

impl<'a> From<&'a v1::Message> for HistoryMessage<'a> {
    fn from(message: &'a v1::Message) -> Self {
        HistoryMessage {
            id: &message.id,
            sender_id: &message.sender_id,
            chat_id: &message.chat_id,
            timestamp: format_time(message.timestamp.as_ref()),
            text: &message.text,
            seen: message.seen,
            seq: message.seq,
            edited_at: format_optional_time(message.edited_at.as_ref()),
            deleted: message.deleted,
            attachments: attachments(message),
        }
    }
}

/// An incoming-message frame, or the detail of a `message_seen`.
#[derive(Serialize)]
pub struct MessageFrame<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    id: &'a str,
    sender_id: &'a str,
    chat_id: &'a str,
    timestamp: String,
    text: &'a str,
    /// The message's number in its chat (an addition to the original protocol).
    seq: u64,
    /// When it was last edited; only on edited messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    edited_at: Option<String>,
    /// Only on tombstones.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
    /// Only on messages with files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
}

/// `message` as a frame of `kind` (none for the detail of `message_seen`).
pub fn message_frame<'a>(message: &'a v1::Message, kind: Option<&'static str>) -> MessageFrame<'a> {
    MessageFrame {
        kind,
        id: &message.id,
        sender_id: &message.sender_id,
        chat_id: &message.chat_id,
        timestamp: format_time(message.timestamp.as_ref()),
        text: &message.text,
        seq: message.seq,
        edited_at: format_optional_time(message.edited_at.as_ref()),
        deleted: message.deleted,
        attachments: attachments(message),
    }
}
