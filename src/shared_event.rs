//! [`SharedEvent`]: a `messenger.v1.ServerEvent` that may already be encoded.
//!
//! A message to a group goes to many sessions. Encoding it once and sharing
//! the bytes (a reference-counted buffer) means each session's stream only
//! copies bytes into its frame instead of encoding the event again. On the
//! wire a `SharedEvent` is exactly a `ServerEvent`, so any gRPC client
//! (grpcurl included) reads it as one.
//!
//! Received, it keeps the event's bytes and decodes them only when asked
//! ([`SharedEvent::into_event`]): an edge that cannot decode one event in
//! a `LinkDelivery` fails that delivery's sessions, not the link that
//! carries every other session's events.

use crate::v1::ServerEvent;
use prost::bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::encoding::{self, DecodeContext, WireType};
use prost::{DecodeError, Message};

/// A server event, as a value or as its encoded bytes.
///
/// The value is boxed so that a `SharedEvent` is small (the size of
/// `Bytes`): every session's queue reserves room for events in blocks, and
/// an inline `ServerEvent` would make that several KiB per session.
#[derive(Clone, Debug, PartialEq)]
pub enum SharedEvent {
    /// An event to encode when it is sent (or one that was received).
    Decoded(Box<ServerEvent>),
    /// An event encoded once, to be sent as it is to any number of sessions.
    Encoded(Bytes),
}

impl SharedEvent {
    /// Encodes `event` now, for sending to many sessions.
    pub fn encode_once(event: &ServerEvent) -> Self {
        SharedEvent::Encoded(Bytes::from(event.encode_to_vec()))
    }

    /// The event as a value.
    pub fn into_event(self) -> Result<ServerEvent, DecodeError> {
        match self {
            SharedEvent::Decoded(event) => Ok(*event),
            SharedEvent::Encoded(bytes) => ServerEvent::decode(bytes),
        }
    }
}

impl SharedEvent {
    /// Whether nothing of the event was received or set yet.
    fn is_empty(&self) -> bool {
        matches!(self, SharedEvent::Encoded(bytes) if bytes.is_empty())
    }
}

/// The usual case of receiving a `ServerEvent`: its one (length-delimited)
/// field, read with its key in one copy straight from the buffer, when its
/// length and contents are there in one piece. `None` leaves `buf` as it
/// was, for the general path (which also reports what is wrong).
fn whole_field(tag: u32, buf: &mut impl Buf) -> Option<Bytes> {
    let chunk = buf.chunk();
    let mut rest = chunk;
    let length = usize::try_from(encoding::decode_varint(&mut rest).ok()?).ok()?;
    let header = chunk.len() - rest.len();
    let body = rest.get(..length)?;
    let mut field = BytesMut::with_capacity(encoding::key_len(tag) + header + length);
    encoding::encode_key(tag, WireType::LengthDelimited, &mut field);
    field.extend_from_slice(&chunk[..header]);
    field.extend_from_slice(body);
    buf.advance(header + length);
    Some(field.freeze())
}

impl Default for SharedEvent {
    /// An empty event, as its (no) bytes: made for every delivery decoded,
    /// so it allocates nothing.
    fn default() -> Self {
        SharedEvent::Encoded(Bytes::new())
    }
}

impl From<ServerEvent> for SharedEvent {
    fn from(event: ServerEvent) -> Self {
        SharedEvent::Decoded(Box::new(event))
    }
}

impl Message for SharedEvent {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        match self {
            SharedEvent::Decoded(event) => event.encode_raw(buf),
            SharedEvent::Encoded(bytes) => buf.put_slice(bytes),
        }
    }

    /// Copies the field's bytes as they are (a `ServerEvent` has one field
    /// on the wire, its oneof), for [`SharedEvent::into_event`] to decode.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        if self.is_empty()
            && wire_type == WireType::LengthDelimited
            && let Some(field) = whole_field(tag, buf)
        {
            *self = SharedEvent::Encoded(field);
            return Ok(());
        }
        let mut raw = match std::mem::take(self) {
            SharedEvent::Encoded(bytes) => bytes.to_vec(),
            SharedEvent::Decoded(event) => event.encode_to_vec(),
        };
        match wire_type {
            WireType::Varint => {
                let mut value = 0_u64;
                encoding::uint64::merge(wire_type, &mut value, buf, ctx)?;
                encoding::encode_key(tag, wire_type, &mut raw);
                encoding::encode_varint(value, &mut raw);
            }
            WireType::SixtyFourBit => {
                let mut value = 0_u64;
                encoding::fixed64::merge(wire_type, &mut value, buf, ctx)?;
                encoding::fixed64::encode(tag, &value, &mut raw);
            }
            WireType::ThirtyTwoBit => {
                let mut value = 0_u32;
                encoding::fixed32::merge(wire_type, &mut value, buf, ctx)?;
                encoding::fixed32::encode(tag, &value, &mut raw);
            }
            WireType::LengthDelimited => {
                let mut value = Vec::new();
                encoding::bytes::merge(wire_type, &mut value, buf, ctx)?;
                encoding::bytes::encode(tag, &value, &mut raw);
            }
            // Not part of a ServerEvent; skipped as any decoder would.
            WireType::StartGroup | WireType::EndGroup => {
                encoding::skip_field(wire_type, tag, buf, ctx)?;
            }
        }
        *self = SharedEvent::Encoded(Bytes::from(raw));
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        match self {
            SharedEvent::Decoded(event) => event.encoded_len(),
            SharedEvent::Encoded(bytes) => bytes.len(),
        }
    }

    fn clear(&mut self) {
        *self = SharedEvent::default();
    }
}

/// One event for some of an edge's sessions (`messenger.v1.LinkDelivery`).
///
/// Written here rather than generated so that the event can be a
/// [`SharedEvent`]: the core encodes it once for all edges.
#[derive(Clone, PartialEq, Message)]
pub struct LinkDelivery {
    /// The sessions' numbers on the link.
    #[prost(uint64, repeated, tag = "1")]
    pub sessions: Vec<u64>,
    /// Absent in a delivery that only reports taken operations or an end.
    #[prost(message, optional, tag = "2")]
    pub event: Option<SharedEvent>,
    /// Operations of the first session the core took since it last said.
    #[prost(uint32, tag = "3")]
    pub operations_taken: u32,
    /// The (only) session has ended.
    #[prost(message, optional, tag = "4")]
    pub ended: Option<crate::v1::SessionEnded>,
    /// Part of the session's catch-up: the edge returns credit for it.
    #[prost(bool, tag = "5")]
    pub paced: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{Message as ChatMessage, server_event::Event};

    #[test]
    fn a_link_delivery_carries_its_event_bytes_unchanged() {
        let event = event();
        let delivery = LinkDelivery {
            sessions: vec![3, 70_000],
            event: Some(SharedEvent::encode_once(&event)),
            ..Default::default()
        };
        let bytes = delivery.encode_to_vec();
        let decoded = LinkDelivery::decode(bytes.as_slice()).unwrap();
        assert_eq!(decoded.sessions, vec![3, 70_000]);
        assert_eq!(decoded.event.unwrap().into_event().unwrap(), event);
    }

    #[test]
    fn a_shared_event_is_as_small_as_its_bytes() {
        assert!(std::mem::size_of::<SharedEvent>() <= std::mem::size_of::<Bytes>());
    }

    #[test]
    fn a_bad_event_fails_only_when_it_is_read() {
        let good = LinkDelivery {
            sessions: vec![1],
            event: Some(SharedEvent::encode_once(&event())),
            ..Default::default()
        };
        let mut bytes = good.encode_to_vec();
        // Corrupt the event's inner bytes (its message's text field tag)
        // while keeping every length intact.
        let text = bytes.windows(5).position(|w| w == b"Hello").unwrap();
        bytes[text - 2] = 0xff;
        let decoded = LinkDelivery::decode(bytes.as_slice()).expect("the delivery itself decodes");
        assert_eq!(decoded.sessions, vec![1]);
        assert!(decoded.event.unwrap().into_event().is_err());
    }

    #[test]
    fn every_kind_of_field_survives_the_copy() {
        let event = ServerEvent {
            event: Some(Event::Message(ChatMessage {
                id: "m".into(),
                seq: 300,
                text: "with a varint".into(),
                ..Default::default()
            })),
        };
        let bytes = SharedEvent::from(event.clone()).encode_to_vec();
        let copied = SharedEvent::decode(bytes.as_slice()).unwrap();
        assert_eq!(copied.encode_to_vec(), bytes);
        assert_eq!(copied.into_event().unwrap(), event);
    }

    #[test]
    fn fields_of_other_kinds_go_the_general_way_and_keep_their_bytes() {
        // An unknown varint field (tag 99) before the event's own field.
        let mut bytes = Vec::new();
        encoding::encode_key(99, WireType::Varint, &mut bytes);
        encoding::encode_varint(300, &mut bytes);
        SharedEvent::from(event()).encode_raw(&mut bytes);
        let copied = SharedEvent::decode(bytes.as_slice()).unwrap();
        assert_eq!(copied.encode_to_vec(), bytes);
        assert_eq!(copied.into_event().unwrap(), event());
    }

    fn event() -> ServerEvent {
        ServerEvent {
            event: Some(Event::Message(ChatMessage {
                id: "m".into(),
                text: "Hello".into(),
                ..Default::default()
            })),
        }
    }

    #[test]
    fn encoded_once_is_the_same_on_the_wire() {
        let shared = SharedEvent::encode_once(&event());
        assert_eq!(shared.encode_to_vec(), event().encode_to_vec());
        assert_eq!(shared.encoded_len(), event().encoded_len());
        assert_eq!(
            SharedEvent::from(event()).encode_to_vec(),
            event().encode_to_vec()
        );
    }

    #[test]
    fn decodes_as_a_server_event() {
        let wire = event().encode_to_vec();
        let decoded = SharedEvent::decode(wire.as_slice()).unwrap();
        assert_eq!(decoded.clone().into_event().unwrap(), event());
        assert_eq!(
            SharedEvent::encode_once(&event()).into_event().unwrap(),
            event()
        );
    }
}
