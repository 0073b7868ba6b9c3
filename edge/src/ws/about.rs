//! What a frame from the core is, as far as moving its session goes: read
//! once per event by the link (`link::open`), used by each socket to keep
//! what its client has and is owed (`session_move`).

use messenger_proto::v1::ServerEvent;
use messenger_proto::v1::server_event::Event;
use std::sync::Arc;

/// What a frame from the core is, as far as moving its session goes.
#[derive(Debug, Clone, PartialEq)]
pub enum About {
    Message {
        chat: Arc<str>,
        seq: u64,
    },
    /// The ack of the client's own message, which it never gets as a
    /// `message` frame.
    Ack {
        client_id: Arc<str>,
        chat: Arc<str>,
        seq: u64,
    },
    /// An error answering one of the client's messages.
    Refused {
        client_id: Arc<str>,
    },
    Group {
        chat: Arc<str>,
    },
    SyncDone,
    Other,
}

impl About {
    pub fn of(event: &ServerEvent) -> About {
        match &event.event {
            Some(Event::Message(message)) => About::Message {
                chat: message.chat_id.as_str().into(),
                seq: message.seq,
            },
            Some(Event::MessageAck(ack)) => About::Ack {
                client_id: ack.client_id.as_str().into(),
                chat: ack.chat_id.as_str().into(),
                seq: ack.seq,
            },
            Some(Event::Error(error)) => match &error.client_id {
                Some(client_id) => About::Refused {
                    client_id: client_id.as_str().into(),
                },
                None => About::Other,
            },
            Some(Event::GroupCreated(group)) => About::Group {
                chat: group.chat_id.as_str().into(),
            },
            Some(Event::SyncDone(_)) => About::SyncDone,
            _ => About::Other,
        }
    }
}
