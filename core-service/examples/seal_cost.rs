//! What sealing costs per bus event: encoding a stored message's event and
//! sealing it (the publishing core), and checking the seal and decoding it
//! (each other core). Run by hand:
//! `cargo run --release -p core-service --example seal_cost`.

use core_service::bus::Event;
use core_service::bus::seal::{ClusterSecret, Seal};
use core_service::bus::wire::Envelope;
use core_service::ids::{ChatId, MessageId, UserId};
use core_service::store::records::MessageRecord;
use std::hint::black_box;
use std::time::{Duration, Instant};
use uuid::Uuid;

const EVENTS: u32 = 200_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let core = Uuid::new_v4();
    let event = Event::Stored(MessageRecord {
        id: MessageId(Uuid::now_v7()),
        chat_id: ChatId(Uuid::new_v4()),
        sender_id: UserId(Uuid::new_v4()),
        // A message of a typical length.
        text: "x".repeat(120),
        timestamp: chrono::Utc::now(),
        seen: false,
        seq: 4242,
        edited_at: None,
        deleted: false,
        attachments: Default::default(),
    });
    let seal = Seal::new(&ClusterSecret::random(), "messenger.events");
    let encode = per_event(|| black_box(Envelope::encode(core, &event)));
    let encode_seal = per_event(|| black_box(seal.seal(Envelope::encode(core, &event))));
    let sealed = seal.seal(Envelope::encode(core, &event));
    let plain = Envelope::encode(core, &event);
    let decode = per_event(|| black_box(Envelope::decode_event(&plain).map(|_| ())));
    let open_decode = per_event(|| {
        let Ok(envelope) = seal.open(&sealed) else {
            return black_box(Err(()));
        };
        black_box(Envelope::decode_event(envelope).map(|_| ()).map_err(|_| ()))
    });
    println!("event of {} bytes, sealed {}", plain.len(), sealed.len());
    println!("publish: encode {encode:?}, encode and seal {encode_seal:?}");
    println!("receive: decode {decode:?}, open and decode {open_decode:?}");
    Ok(())
}

/// Time per call of `step`, over `EVENTS` calls.
fn per_event<T>(mut step: impl FnMut() -> T) -> Duration {
    let started = Instant::now();
    for _ in 0..EVENTS {
        black_box(step());
    }
    started.elapsed() / EVENTS
}
