//! Stored records → the contract's protobuf messages: the events the
//! operations send (`commands`) and the answers of the gRPC calls (`grpc`).

use crate::error::{Error, Result};
use crate::ids::{ChatId, UserId};
use crate::store::chats::GroupRecord;
use crate::store::members::{GroupState, Role};
use crate::store::records::{Attachment, MessageRecord};
use crate::store::users::UserRecord;
use messenger_proto::timestamp;
use messenger_proto::v1::{self as pb, server_event::Event};
use uuid::Uuid;

/// A UUID field of a request or an operation; `field` names it in the error.
pub fn parse_uuid<Id: From<Uuid>>(field: &'static str, text: &str) -> Result<Id> {
    Uuid::parse_str(text)
        .map(Id::from)
        .map_err(|_| Error::invalid(field, "must be a UUID"))
}

/// A stored message as the API shows it.
pub fn message(record: &MessageRecord) -> pb::Message {
    pb::Message {
        id: record.id.to_string(),
        sender_id: record.sender_id.to_string(),
        chat_id: record.chat_id.to_string(),
        timestamp: Some(timestamp::to_proto(record.timestamp)),
        text: record.text.clone(),
        seen: record.seen,
        seq: u64::try_from(record.seq).unwrap_or_default(),
        edited_at: record.edited_at.map(timestamp::to_proto),
        deleted: record.deleted,
        attachments: record.attachments.iter().map(attachment).collect(),
    }
}

/// A file as the API shows it.
pub fn attachment(file: &Attachment) -> pb::Attachment {
    pb::Attachment {
        id: file.id.to_string(),
        name: file.name.clone(),
        size: u64::try_from(file.size).unwrap_or_default(),
        content_type: file.content_type.clone(),
        width: file.width.and_then(|width| u32::try_from(width).ok()),
        height: file.height.and_then(|height| u32::try_from(height).ok()),
    }
}

/// The event that tells of an edit or a delete: the message as it is now.
pub fn edit_event(record: &MessageRecord) -> pb::ServerEvent {
    let message = message(record);
    event(if record.deleted {
        Event::MessageDeleted(message)
    } else {
        Event::MessageEdited(message)
    })
}

/// A user's presence as the API shows it.
pub fn presence(
    user: UserId,
    online: bool,
    last_seen: Option<chrono::DateTime<chrono::Utc>>,
) -> pb::Presence {
    pb::Presence {
        user_id: user.to_string(),
        online,
        last_seen: last_seen.map(timestamp::to_proto),
    }
}

/// Contacts and whether each is online, as the API shows them (the last
/// seen time only for those offline).
pub fn presence_list(
    people: Vec<(crate::store::presence::ContactRecord, bool)>,
) -> pb::PresenceList {
    let people = people
        .into_iter()
        .map(|(contact, online)| {
            presence(contact.id, online, contact.last_seen.filter(|_| !online))
        })
        .collect();
    pb::PresenceList { people }
}

/// A group as its `group_created` event shows it.
pub fn group_created(group: &GroupRecord) -> pb::GroupCreated {
    pb::GroupCreated {
        id: group.id.to_string(),
        name: group.name.clone(),
        creator_id: group.creator_id.to_string(),
        chat_id: group.chat_id.to_string(),
        member_ids: group.member_ids.iter().map(ToString::to_string).collect(),
    }
}

/// A personal chat as its `direct_chat` event shows it.
pub fn direct_chat(chat: ChatId, members: &[UserId]) -> pb::DirectChat {
    pb::DirectChat {
        chat_id: chat.to_string(),
        member_ids: members.iter().map(ToString::to_string).collect(),
    }
}

/// A member's role as the API names it.
pub fn role(role: Role) -> pb::Role {
    match role {
        Role::Member => pb::Role::Member,
        Role::Admin => pb::Role::Admin,
        Role::Owner => pb::Role::Owner,
    }
}

/// A member's new role in a group chat.
pub fn role_changed(chat: ChatId, user: UserId, new_role: Role) -> pb::RoleChanged {
    pb::RoleChanged {
        chat_id: chat.to_string(),
        user_id: user.to_string(),
        role: role(new_role).into(),
    }
}

/// A group chat as a sync that missed its changes gets it.
pub fn group_state(state: &GroupState) -> pb::GroupState {
    pb::GroupState {
        chat_id: state.chat.to_string(),
        name: state.name.clone(),
        members: state
            .members
            .iter()
            .map(|(user, member_role)| pb::Member {
                user_id: user.to_string(),
                role: role(*member_role).into(),
                name: String::new(),
            })
            .collect(),
    }
}

/// An account as the API shows it: never its password hash.
pub fn user(record: &UserRecord) -> pb::User {
    pb::User {
        id: record.id.to_string(),
        name: record.name.clone(),
        email: record.email.clone(),
    }
}

/// Wraps an event for a session stream.
pub fn event(event: Event) -> pb::ServerEvent {
    pb::ServerEvent { event: Some(event) }
}
