//! The demo-data file (`fake_data.json`): its shape and a generator for
//! it. The core loads such files (`populate`), the load generator writes
//! them for its runs and reads who may log in from them.
//!
//! The shape is part of the public contract (see `docs/protocol.md`): files
//! written by other tools in this shape load unchanged, and fields this
//! project does not know are ignored.

pub mod generate;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// A whole demo-data file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DemoData {
    #[serde(default)]
    pub users: Vec<DemoUser>,
    #[serde(default)]
    pub chats: Vec<DemoChat>,
    #[serde(default)]
    pub chat_members: Vec<DemoChatMember>,
    #[serde(default)]
    pub groups: Vec<DemoGroup>,
    #[serde(default)]
    pub user_group: Vec<DemoUserGroup>,
    #[serde(default)]
    pub messages: Vec<DemoMessage>,
    #[serde(default)]
    pub message_seen_status: Vec<DemoSeenStatus>,
}

/// A user; the password is plain text in the file and hashed on load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoUser {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub password: String,
}

/// `type` of a personal chat.
pub const PERSONAL_CHAT: i16 = 0;
/// `type` of a group chat.
pub const GROUP_CHAT: i16 = 1;

/// A chat; `type` is [`PERSONAL_CHAT`] or [`GROUP_CHAT`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoChat {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: i16,
}

/// One member of one chat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoChatMember {
    pub user_id: Uuid,
    pub chat_id: Uuid,
}

/// A group and its chat.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoGroup {
    pub id: Uuid,
    pub name: String,
    pub creator_id: Uuid,
    pub chat_id: Uuid,
}

/// One member of one group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoUserGroup {
    pub user_id: Uuid,
    pub group_id: Uuid,
}

/// A message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoMessage {
    pub id: Uuid,
    pub sender_id: Uuid,
    pub chat_id: Uuid,
    #[serde(
        serialize_with = "write_timestamp",
        deserialize_with = "read_timestamp"
    )]
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub seen: bool,
    pub text: String,
}

/// One user having seen one message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoSeenStatus {
    pub message_id: Uuid,
    pub user_id: Uuid,
}

/// Reads either accepted timestamp form.
fn read_timestamp<'de, D: Deserializer<'de>>(reader: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(reader)?;
    messenger_proto::timestamp::parse(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "invalid timestamp {text:?}: expected e.g. 2025-05-04 04:45:50+00:00"
        ))
    })
}

/// Writes the original service's form, `2025-05-04 04:45:50+00:00`.
fn write_timestamp<S: Serializer>(time: &DateTime<Utc>, writer: S) -> Result<S::Ok, S::Error> {
    writer.serialize_str(&time.format("%Y-%m-%d %H:%M:%S%:z").to_string())
}
