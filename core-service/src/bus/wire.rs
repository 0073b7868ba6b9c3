//! The events cores send each other: the contract is
//! `proto/messenger/bus/v1/bus.proto` (the cores' own, not part of the
//! public one); here, its messages to and from the core's records.
//!
//! Ids travel as their 16 bytes and times as microseconds, so an event is
//! small and cheap to read; a field that does not decode makes the whole
//! event undecodable, and it is dropped (the database still has the truth).

use crate::ids::{ChatId, GroupId, LoginId, MessageId, UserId};
use crate::membership::{Members, Membership};
use crate::presence::Announcement;
use crate::store::chats::GroupRecord;
use crate::store::records::{Attachment, MessageRecord};
use chrono::{DateTime, Utc};
use messenger_proto::v1::ServerEvent;
use prost::Message as _;
use uuid::Uuid;

/// The bus's messages, generated from `proto/messenger/bus/v1/bus.proto`.
// Generated code: its shape is the generator's.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/messenger.bus.v1.rs"));
}

pub use proto::Envelope;
use proto::envelope::Kind;

/// An event that does not decode.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("not an event: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("an id is not 16 bytes")]
    Id,
    #[error("a time is out of range")]
    Time,
    #[error("no event")]
    Empty,
}

/// An event, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Stored(MessageRecord),
    Seen(MessageRecord),
    Group(GroupRecord),
    Revoked {
        user: UserId,
        login: LoginId,
    },
    Presence(Announcement),
    Left {
        user: UserId,
        /// The members who remain.
        remaining: Membership,
        /// Who took the user out; `None` when they left.
        removed_by: Option<UserId>,
    },
    Notice(Notice),
    Edited(MessageRecord),
    /// Who blocks this user changed.
    Blocked(UserId),
}

/// An event for the sessions of some users (see `events::notify`).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub users: Members,
    pub event: ServerEvent,
    /// A chat's members after the change the event tells of, for every
    /// core's membership cache.
    pub membership: Option<Membership>,
}

impl Envelope {
    /// `event`, sent by `core`, as bytes.
    pub fn encode(core: Uuid, event: &Event) -> Vec<u8> {
        let kind = match event {
            Event::Stored(record) => Kind::Stored(message(record)),
            Event::Seen(record) => Kind::Seen(message(record)),
            Event::Edited(record) => Kind::Edited(message(record)),
            Event::Group(group) => Kind::Group(proto::Group {
                id: bytes(group.id.0),
                name: group.name.clone(),
                creator_id: bytes(group.creator_id.0),
                chat_id: bytes(group.chat_id.0),
                member_ids: group.member_ids.iter().map(|id| bytes(id.0)).collect(),
            }),
            Event::Revoked { user, login } => Kind::Revoked(proto::Revoked {
                user_id: bytes(user.0),
                login_id: bytes(login.0),
            }),
            Event::Left {
                user,
                remaining,
                removed_by,
            } => Kind::Left(proto::Left {
                chat_id: bytes(remaining.chat.0),
                user_id: bytes(user.0),
                remaining_ids: ids(&remaining.members),
                removed_by: removed_by.map(|by| bytes(by.0)).unwrap_or_default(),
                version: remaining.version,
            }),
            Event::Notice(notice) => Kind::Notice(proto::Notice {
                user_ids: ids(&notice.users),
                event: notice.event.encode_to_vec(),
                chat_id: notice
                    .membership
                    .as_ref()
                    .map(|membership| bytes(membership.chat.0))
                    .unwrap_or_default(),
                member_ids: notice
                    .membership
                    .as_ref()
                    .map(|membership| ids(&membership.members))
                    .unwrap_or_default(),
                version: notice.membership.as_ref().map_or(0, |m| m.version),
            }),
            Event::Blocked(user) => Kind::Blocked(proto::Blocked {
                user_id: bytes(user.0),
            }),
            Event::Presence(announcement) => Kind::Presence(proto::Presence {
                user_id: bytes(announcement.user.0),
                online: announcement.online,
                last_seen_micros: announcement.last_seen.map(|time| time.timestamp_micros()),
                hidden: announcement.hidden,
            }),
        };
        Envelope {
            core: bytes(core),
            kind: Some(kind),
        }
        .encode_to_vec()
    }

    /// The sending core and its event.
    pub fn decode_event(payload: &[u8]) -> Result<(Uuid, Event), WireError> {
        let envelope = Envelope::decode(payload)?;
        let core = id(&envelope.core)?;
        let event = match envelope.kind.ok_or(WireError::Empty)? {
            Kind::Stored(message) => Event::Stored(record(message)?),
            Kind::Seen(message) => Event::Seen(record(message)?),
            Kind::Edited(message) => Event::Edited(record(message)?),
            Kind::Group(group) => Event::Group(GroupRecord {
                id: GroupId(id(&group.id)?),
                name: group.name,
                creator_id: UserId(id(&group.creator_id)?),
                chat_id: ChatId(id(&group.chat_id)?),
                member_ids: group
                    .member_ids
                    .iter()
                    .map(|member| id(member).map(UserId))
                    .collect::<Result<_, _>>()?,
            }),
            Kind::Revoked(revoked) => Event::Revoked {
                user: UserId(id(&revoked.user_id)?),
                login: LoginId(id(&revoked.login_id)?),
            },
            Kind::Presence(presence) => Event::Presence(announcement(presence)?),
            Kind::Left(left) => Event::Left {
                user: UserId(id(&left.user_id)?),
                remaining: Membership {
                    chat: ChatId(id(&left.chat_id)?),
                    version: left.version,
                    members: users(&left.remaining_ids)?,
                },
                removed_by: match left.removed_by.as_slice() {
                    [] => None,
                    by => Some(UserId(id(by)?)),
                },
            },
            Kind::Notice(notice) => Event::Notice(self::notice(notice)?),
            Kind::Blocked(blocked) => Event::Blocked(UserId(id(&blocked.user_id)?)),
        };
        Ok((core, event))
    }
}

fn message(record: &MessageRecord) -> proto::Message {
    proto::Message {
        id: bytes(record.id.0),
        chat_id: bytes(record.chat_id.0),
        sender_id: bytes(record.sender_id.0),
        text: record.text.clone(),
        timestamp_micros: record.timestamp.timestamp_micros(),
        seen: record.seen,
        seq: record.seq,
        edited_at_micros: record.edited_at.map(|time| time.timestamp_micros()),
        deleted: record.deleted,
        attachments: record.attachments.iter().map(attachment).collect(),
    }
}

fn attachment(file: &Attachment) -> proto::Attachment {
    proto::Attachment {
        id: bytes(file.id),
        name: file.name.clone(),
        size: file.size,
        content_type: file.content_type.clone(),
        width: file.width,
        height: file.height,
    }
}

fn file(file: proto::Attachment) -> Result<Attachment, WireError> {
    Ok(Attachment {
        id: id(&file.id)?,
        name: file.name,
        size: file.size,
        content_type: file.content_type,
        width: file.width,
        height: file.height,
    })
}

fn record(message: proto::Message) -> Result<MessageRecord, WireError> {
    Ok(MessageRecord {
        id: MessageId(id(&message.id)?),
        chat_id: ChatId(id(&message.chat_id)?),
        sender_id: UserId(id(&message.sender_id)?),
        text: message.text,
        timestamp: time(message.timestamp_micros)?,
        seen: message.seen,
        seq: message.seq,
        edited_at: message.edited_at_micros.map(time).transpose()?,
        deleted: message.deleted,
        attachments: message
            .attachments
            .into_iter()
            .map(file)
            .collect::<Result<_, _>>()?,
    })
}

fn time(micros: i64) -> Result<DateTime<Utc>, WireError> {
    DateTime::<Utc>::from_timestamp_micros(micros).ok_or(WireError::Time)
}

fn announcement(presence: proto::Presence) -> Result<Announcement, WireError> {
    Ok(Announcement {
        user: UserId(id(&presence.user_id)?),
        online: presence.online,
        last_seen: presence.last_seen_micros.map(time).transpose()?,
        hidden: presence.hidden,
    })
}

fn notice(notice: proto::Notice) -> Result<Notice, WireError> {
    let membership = if notice.chat_id.is_empty() {
        None
    } else {
        Some(Membership {
            chat: ChatId(id(&notice.chat_id)?),
            version: notice.version,
            members: users(&notice.member_ids)?,
        })
    };
    Ok(Notice {
        users: users(&notice.user_ids)?,
        event: ServerEvent::decode(notice.event.as_slice())?,
        membership,
    })
}

fn users(ids: &[Vec<u8>]) -> Result<Members, WireError> {
    Ok(ids
        .iter()
        .map(|user| id(user).map(UserId))
        .collect::<Result<Vec<_>, _>>()?
        .into())
}

fn ids(users: &[UserId]) -> Vec<Vec<u8>> {
    users.iter().map(|user| bytes(user.0)).collect()
}

fn bytes(id: Uuid) -> Vec<u8> {
    id.as_bytes().to_vec()
}

fn id(bytes: &[u8]) -> Result<Uuid, WireError> {
    Uuid::from_slice(bytes).map_err(|_| WireError::Id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MessageRecord {
        MessageRecord {
            id: MessageId::random(),
            chat_id: ChatId::random(),
            sender_id: UserId::random(),
            text: "héllo".into(),
            timestamp: DateTime::<Utc>::from_timestamp_micros(1_790_000_000_123_456)
                .expect("in range"),
            seen: false,
            seq: 42,
            edited_at: None,
            deleted: false,
            attachments: Default::default(),
        }
    }

    #[test]
    fn every_event_comes_back_as_sent() {
        let core = Uuid::new_v4();
        let events = [
            Event::Stored(sample()),
            Event::Seen(sample()),
            Event::Edited(MessageRecord {
                edited_at: DateTime::<Utc>::from_timestamp_micros(1_790_000_001_000_001),
                deleted: true,
                ..sample()
            }),
            Event::Group(GroupRecord {
                id: GroupId::random(),
                name: "team".into(),
                creator_id: UserId::random(),
                chat_id: ChatId::random(),
                member_ids: vec![UserId::random(), UserId::random()],
            }),
            Event::Revoked {
                user: UserId::random(),
                login: LoginId::random(),
            },
            Event::Blocked(UserId::random()),
            Event::Left {
                user: UserId::random(),
                remaining: Membership {
                    chat: ChatId::random(),
                    version: 3,
                    members: vec![UserId::random()].into(),
                },
                removed_by: Some(UserId::random()),
            },
            Event::Notice(Notice {
                users: vec![UserId::random()].into(),
                event: ServerEvent {
                    event: Some(messenger_proto::v1::server_event::Event::ReadMarker(
                        messenger_proto::v1::ReadMarker {
                            chat_id: "c".into(),
                            seq: 7,
                        },
                    )),
                },
                membership: Some(Membership {
                    chat: ChatId::random(),
                    version: 2,
                    members: vec![UserId::random()].into(),
                }),
            }),
        ];
        for event in events {
            let payload = Envelope::encode(core, &event);
            let (from, decoded) = Envelope::decode_event(&payload).expect("decodes");
            assert_eq!((from, decoded), (core, event));
        }
    }

    /// Cores of two versions share a bus during a rolling upgrade: the
    /// bytes of an event are the contract, field by field.
    #[test]
    fn a_stored_message_has_the_bytes_of_the_deployed_format() {
        let id = |n: u128| Uuid::from_u128(n);
        let record = MessageRecord {
            id: MessageId(id(1)),
            chat_id: ChatId(id(2)),
            sender_id: UserId(id(3)),
            text: "hi".into(),
            timestamp: DateTime::<Utc>::from_timestamp_micros(1_000_000).expect("in range"),
            seen: false,
            seq: 7,
            edited_at: None,
            deleted: false,
            attachments: Default::default(),
        };
        // (tag << 3 | wire type), then the value; zero values are left out.
        let field = |tag: u8, bytes: &[u8]| [&[tag << 3 | 2, 16][..], bytes].concat();
        let message = [
            field(1, id(1).as_bytes()),
            field(2, id(2).as_bytes()),
            field(3, id(3).as_bytes()),
            vec![4 << 3 | 2, 2, b'h', b'i'],
            vec![5 << 3, 0xc0, 0x84, 0x3d],
            vec![7 << 3, 7],
        ]
        .concat();
        let mut expected = field(1, id(9).as_bytes());
        expected.extend([2 << 3 | 2, 64]);
        expected.extend(&message);
        assert_eq!(message.len(), 64);
        assert_eq!(Envelope::encode(id(9), &Event::Stored(record)), expected);
    }

    #[test]
    fn garbage_and_short_ids_are_refused() {
        assert!(Envelope::decode_event(b"\xff\xff\xff").is_err());
        let short = Envelope {
            core: vec![1, 2, 3],
            kind: Some(Kind::Revoked(proto::Revoked::default())),
        };
        assert!(matches!(
            Envelope::decode_event(&short.encode_to_vec()),
            Err(WireError::Id)
        ));
        let empty = Envelope {
            core: bytes(Uuid::new_v4()),
            kind: None,
        };
        assert!(matches!(
            Envelope::decode_event(&empty.encode_to_vec()),
            Err(WireError::Empty)
        ));
    }
}
