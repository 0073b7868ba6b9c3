//! The one place where the JSON protocol meets protobuf: client frames →
//! core operations, core events → server frames.

use super::frames::{Addition, ClientFrame, FrameError, GroupAddsFrom, PresenceShownTo, Role};
use crate::json::{Presence, message_frame};
use messenger_proto::v1::{self as pb, client_operation::Operation, server_event::Event};
use serde::Serialize;

/// A client frame as the core's operation.
pub fn operation(frame: ClientFrame) -> pb::ClientOperation {
    let operation = match frame {
        ClientFrame::Addition(frame) => addition(frame),
        ClientFrame::Login(login) => Operation::Login(pb::Login {
            email: login.email,
            password: login.password,
        }),
        // The core stamps a message with its own clock; the client's says
        // how old a retry is.
        ClientFrame::SendMessage(send) => Operation::SendMessage(pb::SendMessage {
            client_id: send.client_id,
            sender_id: send.sender_id,
            chat_id: send.chat_id,
            text: send.text,
            attachment_ids: send.attachments,
            written_at: send.timestamp.map(messenger_proto::timestamp::to_proto),
        }),
        ClientFrame::CreateGroup(group) => Operation::CreateGroup(pb::CreateGroup {
            name: group.name,
            user_ids: group.users,
        }),
        ClientFrame::MessageSeen(seen) => Operation::MessageSeen(pb::MessageSeen {
            message_id: seen.message_id,
        }),
        ClientFrame::Sync(sync) => Operation::Sync(pb::Sync {
            since: sync.since.map(|chats| pb::Cursor {
                chats: chats.into_iter().collect(),
            }),
        }),
        ClientFrame::WatchPresence => Operation::WatchPresence(pb::WatchPresence {}),
        ClientFrame::LeaveGroup(chat) => Operation::LeaveGroup(pb::LeaveGroup {
            chat_id: chat.chat_id,
        }),
        ClientFrame::BlockUser(user) => Operation::BlockUser(pb::BlockUser {
            user_id: user.user_id,
        }),
        ClientFrame::UnblockUser(user) => Operation::UnblockUser(pb::UnblockUser {
            user_id: user.user_id,
        }),
    };
    operation.into()
}

/// The operations added to the documented protocol.
fn addition(frame: Addition) -> Operation {
    match frame {
        Addition::ReadUpTo(read) => Operation::ReadUpTo(pb::ReadUpTo {
            chat_id: read.chat_id,
            seq: read.seq,
        }),
        Addition::OpenDirectChat(user) => Operation::OpenDirectChat(pb::OpenDirectChat {
            user_id: user.user_id,
        }),
        Addition::EditMessage(edit) => Operation::EditMessage(pb::EditMessage {
            client_id: edit.client_id,
            message_id: edit.message_id,
            text: edit.text,
        }),
        Addition::DeleteMessage(delete) => Operation::DeleteMessage(pb::DeleteMessage {
            message_id: delete.message_id,
        }),
        Addition::Typing(chat) => Operation::Typing(pb::Typing {
            chat_id: chat.chat_id,
        }),
        Addition::HideChat(chat) => Operation::HideChat(pb::HideChat {
            chat_id: chat.chat_id,
        }),
        Addition::AddMembers(add) => Operation::AddMembers(pb::AddMembers {
            chat_id: add.chat_id,
            user_ids: add.users,
        }),
        Addition::RemoveMember(remove) => Operation::RemoveMember(pb::RemoveMember {
            chat_id: remove.chat_id,
            user_id: remove.user_id,
        }),
        Addition::RenameGroup(rename) => Operation::RenameGroup(pb::RenameGroup {
            chat_id: rename.chat_id,
            name: rename.name,
        }),
        Addition::SetRole(set) => Operation::SetRole(pb::SetRole {
            chat_id: set.chat_id,
            user_id: set.user_id,
            role: match set.role {
                Role::Member => pb::Role::Member,
                Role::Admin => pb::Role::Admin,
            }
            .into(),
        }),
        Addition::SetPrivacy(set) => Operation::SetPrivacy(pb::SetPrivacy {
            presence: set.presence.map(|to| {
                match to {
                    PresenceShownTo::Contacts => "contacts",
                    PresenceShownTo::Nobody => "nobody",
                }
                .to_owned()
            }),
            group_adds: set.group_adds.map(|from| {
                match from {
                    GroupAddsFrom::Everyone => "everyone",
                    GroupAddsFrom::Contacts => "contacts",
                }
                .to_owned()
            }),
        }),
    }
}

/// `{"type": …, "detail": …}`: the notification frame.
#[derive(Serialize)]
struct Notification<T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    detail: Option<T>,
}

/// The detail of an error frame.
#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    /// Seconds to wait before logging in again, for `too_many_attempts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u32>,
}

#[derive(Serialize)]
struct AckFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    client_id: &'a str,
    id: &'a str,
    seq: u64,
}

#[derive(Serialize)]
struct GroupFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    id: &'a str,
    creator_id: &'a str,
    chat_id: &'a str,
    user_group: Vec<UserGroup<'a>>,
}

/// The end of a sync, with the cursor to send next time.
#[derive(Serialize)]
struct SyncDoneFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    cursor: &'a std::collections::HashMap<String, u64>,
}

#[derive(Serialize)]
struct PresenceFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    presence: Presence<'a>,
}

#[derive(Serialize)]
struct MemberLeftFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    chat_id: &'a str,
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    removed_by: Option<&'a str>,
}

/// `read_marker`, and `typing` with who and for how long.
#[derive(Serialize)]
struct ChatFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    chat_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_ms: Option<u32>,
}

#[derive(Serialize)]
struct DirectChatFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    chat_id: &'a str,
    members: &'a [String],
}

#[derive(Serialize)]
struct MembersAddedFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    chat_id: &'a str,
    users: &'a [String],
    added_by: &'a str,
}

#[derive(Serialize)]
struct GroupRenamedFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    chat_id: &'a str,
    name: &'a str,
    renamed_by: &'a str,
}

#[derive(Serialize)]
struct RoleFrame<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chat_id: Option<&'a str>,
    user_id: &'a str,
    role: &'static str,
}

#[derive(Serialize)]
struct GroupStateFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    chat_id: &'a str,
    name: &'a str,
    members: Vec<RoleFrame<'a>>,
}

#[derive(Serialize)]
struct PrivacyFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    presence: &'a str,
    group_adds: &'a str,
}

#[derive(Serialize)]
struct BlockChangedFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    user_id: &'a str,
    blocked: bool,
}

#[derive(Serialize)]
struct PresenceListFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    people: Vec<Presence<'a>>,
}

#[derive(Serialize)]
struct UserGroup<'a> {
    user_id: &'a str,
    group_id: &'a str,
}

/// The JSON text of a core event; `None` for an empty event.
pub fn event_json(event: &pb::ServerEvent) -> Option<String> {
    let json = match event.event.as_ref()? {
        Event::AuthSuccess(_) => to_json(&Notification::<()> {
            kind: "auth_success",
            detail: None,
        }),
        Event::Error(error) => to_json(&Notification {
            kind: "error",
            detail: Some(ErrorDetail {
                code: &error.code,
                message: &error.message,
                client_id: error.client_id.as_deref(),
                message_id: error.message_id.as_deref(),
                retry_after: error.retry_after_seconds,
            }),
        }),
        Event::MessageAck(ack) => to_json(&AckFrame {
            kind: "message_ack",
            client_id: &ack.client_id,
            id: &ack.id,
            seq: ack.seq,
        }),
        Event::Message(message) => to_json(&message_frame(message, Some("message"))),
        Event::MessageSeen(message) => to_json(&Notification {
            kind: "message_seen",
            detail: Some(message_frame(message, None)),
        }),
        Event::GroupCreated(group) => to_json(&group_frame(group)),
        Event::SyncDone(cursor) => to_json(&SyncDoneFrame {
            kind: "sync_done",
            cursor: &cursor.chats,
        }),
        Event::Presence(presence) => to_json(&PresenceFrame {
            kind: "presence",
            presence: Presence::from(presence),
        }),
        Event::PresenceList(list) => to_json(&PresenceListFrame {
            kind: "presence_list",
            people: list.people.iter().map(Presence::from).collect(),
        }),
        Event::MemberLeft(left) => to_json(&MemberLeftFrame {
            kind: "member_left",
            chat_id: &left.chat_id,
            user_id: &left.user_id,
            removed_by: left.removed_by.as_deref(),
        }),
        Event::BlockChanged(change) => to_json(&BlockChangedFrame {
            kind: "block_changed",
            user_id: &change.user_id,
            blocked: change.blocked,
        }),
        // For the edge itself (see `link`), never for the client.
        Event::Resumable(_) => return None,
        addition => return addition_json(addition),
    };
    Some(json)
}

/// The JSON text of the events added for what people expect of a
/// messenger (`None` for the others, which `event_json` writes).
fn addition_json(event: &Event) -> Option<String> {
    let json = match event {
        Event::ReadMarker(marker) => to_json(&ChatFrame {
            kind: "read_marker",
            chat_id: &marker.chat_id,
            seq: Some(marker.seq),
            user_id: None,
            expires_in_ms: None,
        }),
        Event::ChatHidden(hidden) => to_json(&ChatFrame {
            kind: "chat_hidden",
            chat_id: &hidden.chat_id,
            seq: Some(hidden.seq),
            user_id: None,
            expires_in_ms: None,
        }),
        Event::Typing(typing) => to_json(&ChatFrame {
            kind: "typing",
            chat_id: &typing.chat_id,
            seq: None,
            user_id: Some(&typing.user_id),
            expires_in_ms: Some(typing.expires_in_ms),
        }),
        Event::DirectChat(chat) => to_json(&DirectChatFrame {
            kind: "direct_chat",
            chat_id: &chat.chat_id,
            members: &chat.member_ids,
        }),
        Event::MessageEdited(message) => to_json(&message_frame(message, Some("message_edited"))),
        Event::MessageDeleted(message) => to_json(&message_frame(message, Some("message_deleted"))),
        Event::MembersAdded(added) => to_json(&MembersAddedFrame {
            kind: "members_added",
            chat_id: &added.chat_id,
            users: &added.user_ids,
            added_by: &added.added_by,
        }),
        Event::GroupRenamed(renamed) => to_json(&GroupRenamedFrame {
            kind: "group_renamed",
            chat_id: &renamed.chat_id,
            name: &renamed.name,
            renamed_by: &renamed.renamed_by,
        }),
        Event::RoleChanged(changed) => to_json(&RoleFrame {
            kind: Some("role_changed"),
            chat_id: Some(&changed.chat_id),
            user_id: &changed.user_id,
            role: role_name(changed.role()),
        }),
        Event::GroupState(state) => to_json(&GroupStateFrame {
            kind: "group_state",
            chat_id: &state.chat_id,
            name: &state.name,
            members: state
                .members
                .iter()
                .map(|member| RoleFrame {
                    kind: None,
                    chat_id: None,
                    user_id: &member.user_id,
                    role: role_name(member.role()),
                })
                .collect(),
        }),
        Event::Privacy(privacy) => to_json(&PrivacyFrame {
            kind: "privacy",
            presence: &privacy.presence,
            group_adds: &privacy.group_adds,
        }),
        _ => return None,
    };
    Some(json)
}

/// A role as the protocol names it.
fn role_name(role: pb::Role) -> &'static str {
    match role {
        pb::Role::Member => "member",
        pb::Role::Admin => "admin",
        pb::Role::Owner => "owner",
    }
}

/// The JSON text of an error frame for a frame the edge refused itself.
pub fn frame_error_json(error: &FrameError) -> String {
    crate::telemetry::frame_error(error.code);
    to_json(&Notification {
        kind: "error",
        detail: Some(ErrorDetail {
            code: error.code,
            message: &error.message,
            client_id: error.client_id.as_deref(),
            message_id: error.message_id.as_deref(),
            retry_after: None,
        }),
    })
}

fn group_frame(group: &pb::GroupCreated) -> GroupFrame<'_> {
    GroupFrame {
        kind: "group_created",
        name: &group.name,
        id: &group.id,
        creator_id: &group.creator_id,
        chat_id: &group.chat_id,
        user_group: group
            .member_ids
            .iter()
            .map(|user_id| UserGroup {
                user_id,
                group_id: &group.id,
            })
            .collect(),
    }
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("frames always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parsed(event: Event) -> Value {
        let text = event_json(&pb::ServerEvent { event: Some(event) }).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn message() -> pb::Message {
        pb::Message {
            id: "m".into(),
            sender_id: "s".into(),
            chat_id: "c".into(),
            timestamp: Some(prost_types::Timestamp {
                seconds: 1_746_333_950,
                nanos: 0,
            }),
            text: "Hello".into(),
            seen: false,
            seq: 3,
            edited_at: None,
            deleted: false,
            attachments: Vec::new(),
        }
    }

    #[test]
    fn notifications_have_type_and_detail() {
        assert_eq!(
            parsed(Event::AuthSuccess(pb::User::default())),
            json!({"type": "auth_success", "detail": null})
        );
        let error = parsed(Event::Error(pb::Error {
            code: "not_a_member".into(),
            message: "no".into(),
            client_id: Some("c1".into()),
            message_id: None,
            retry_after_seconds: None,
        }));
        assert_eq!(
            error,
            json!({"type": "error", "detail": {"code": "not_a_member", "message": "no", "client_id": "c1"}})
        );
    }

    #[test]
    fn messages_keep_the_documented_fields() {
        assert_eq!(
            parsed(Event::Message(message())),
            json!({"type": "message", "id": "m", "sender_id": "s", "chat_id": "c",
                   "timestamp": "2025-05-04T04:45:50.000000Z", "text": "Hello", "seq": 3})
        );
        assert_eq!(
            parsed(Event::MessageSeen(message()))["detail"],
            json!({"id": "m", "sender_id": "s", "chat_id": "c",
                   "timestamp": "2025-05-04T04:45:50.000000Z", "text": "Hello", "seq": 3})
        );
    }

    #[test]
    fn acks_and_groups_have_the_documented_shape() {
        let ack = parsed(Event::MessageAck(pb::MessageAck {
            client_id: "c".into(),
            id: "m".into(),
            timestamp: None,
            seq: 9,
            chat_id: "chat".into(),
        }));
        assert_eq!(
            ack,
            json!({"type": "message_ack", "client_id": "c", "id": "m", "seq": 9})
        );
        let group = parsed(Event::GroupCreated(pb::GroupCreated {
            id: "g".into(),
            name: "Car.".into(),
            creator_id: "u1".into(),
            chat_id: "c".into(),
            member_ids: vec!["u1".into(), "u2".into()],
        }));
        assert_eq!(
            group,
            json!({"type": "group_created", "name": "Car.", "id": "g", "creator_id": "u1", "chat_id": "c",
                   "user_group": [{"user_id": "u1", "group_id": "g"}, {"user_id": "u2", "group_id": "g"}]})
        );
    }
}
