//! What people expect of a messenger on the first day, each family in a
//! module: read markers, direct chats, groups over time, edits and
//! deletes, typing, finding people.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod direct_chats;
mod edits;
mod groups;
mod media;
mod people;
mod read_markers;
mod search;
mod typing;

use common::{Client, send_frame};
use core_service::demo_data::DemoUser;
use uuid::Uuid;

/// Sends `count` messages from `sender` to `chat` at once; their acks.
pub async fn send_many(
    client: &mut Client,
    sender: &DemoUser,
    chat: Uuid,
    count: usize,
) -> Vec<serde_json::Value> {
    for n in 0..count {
        let (_, frame) = send_frame(sender, chat, &format!("message {n}"));
        client.send(frame).await;
    }
    let mut acks = Vec::with_capacity(count);
    while acks.len() < count {
        let frame = client.recv().await;
        assert_eq!(frame["type"], "message_ack", "{frame}");
        acks.push(frame);
    }
    acks
}

/// Receives `count` frames of type `kind` (and nothing else) on `client`.
pub async fn recv_many(client: &mut Client, kind: &str, count: usize) -> Vec<serde_json::Value> {
    let mut frames = Vec::with_capacity(count);
    while frames.len() < count {
        let frame = client.recv().await;
        assert_eq!(frame["type"], kind, "{frame}");
        frames.push(frame);
    }
    frames
}

/// Syncs `client` from nothing; the cursor its `sync_done` carries.
pub async fn sync_cursor(client: &mut Client) -> serde_json::Value {
    client.send(serde_json::json!({"type": "sync"})).await;
    loop {
        let frame = client.recv().await;
        if frame["type"] == "sync_done" {
            return frame["cursor"].clone();
        }
    }
}
