//! "Read up to seq N": the receipt for a whole chat at once.

use crate::common::{Stack, World, stack_with_world};
use crate::{recv_many, send_many};
use core_service::state::Limits;
use serde_json::{Value, json};

/// The unread count of `chat` in a `/chats` answer.
fn unread(chats: &Value, chat: uuid::Uuid) -> u64 {
    let chats = chats.as_array().unwrap();
    let found = chats.iter().find(|entry| entry["id"] == chat.to_string());
    found.unwrap()["unread_count"].as_u64().unwrap()
}

/// The ids of `message_seen` frames, in the order they came.
fn seen_ids(frames: &[Value]) -> Vec<Value> {
    frames
        .iter()
        .map(|frame| frame["detail"]["id"].clone())
        .collect()
}

fn ids(acks: &[Value]) -> Vec<Value> {
    acks.iter().map(|ack| ack["id"].clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_up_to_a_thousand_messages_notifies_each_sender_once_per_message() {
    // Each sender sends 500 at once: far beyond a person's burst.
    let limits = Limits {
        message_burst: 1_000,
        ..Limits::default()
    };
    let stack = Stack::start_with(limits, 64 * 1024).await;
    let world = World::new();
    stack.load(&world).await;
    let [first, second, reader] = [&world.users[0], &world.users[1], &world.users[2]];
    let group = world.group_chat;
    let mut first_client = stack.login(first).await;
    let mut second_client = stack.login(second).await;
    let mut phone = stack.login(reader).await;
    let mut laptop = stack.login(reader).await;

    let first_acks = send_many(&mut first_client, first, group, 500).await;
    for client in [&mut second_client, &mut phone, &mut laptop] {
        recv_many(client, "message", 500).await;
    }
    let second_acks = send_many(&mut second_client, second, group, 500).await;
    for client in [&mut first_client, &mut phone, &mut laptop] {
        recv_many(client, "message", 500).await;
    }
    let path = "/chats";
    assert_eq!(unread(&stack.get_as(reader, path).await.1, group), 1000);

    // The two senders read each other's messages: the reader is missing.
    let read_all = json!({"type": "read_up_to", "chat_id": group, "seq": 1000});
    first_client.send(read_all.clone()).await;
    second_client.send(read_all.clone()).await;
    let marker = json!({"type": "read_marker", "chat_id": group, "seq": 1000});
    assert_eq!(first_client.recv().await, marker);
    assert_eq!(second_client.recv().await, marker);
    first_client.expect_silence().await;

    // The reader's one frame completes all thousand, each sender hears of
    // each of their messages once, in order; both devices learn the marker.
    phone.send(read_all.clone()).await;
    let seen_first = recv_many(&mut first_client, "message_seen", 500).await;
    let seen_second = recv_many(&mut second_client, "message_seen", 500).await;
    assert_eq!(seen_ids(&seen_first), ids(&first_acks));
    assert_eq!(seen_ids(&seen_second), ids(&second_acks));
    assert_eq!(phone.recv().await, marker);
    assert_eq!(laptop.recv().await, marker);
    assert_eq!(unread(&stack.get_as(reader, path).await.1, group), 0);

    // Again, from the other device: the marker is where it was, nobody
    // else hears anything.
    laptop.send(read_all).await;
    assert_eq!(laptop.recv().await, marker);
    assert_eq!(phone.recv().await, marker);
    first_client.expect_silence().await;
    second_client.expect_silence().await;
    let seen = "SELECT count(*) FROM messages WHERE seen";
    assert_eq!(stack.db.count(seen).await, 1000);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_moves_forward_only_and_never_past_the_last_message() {
    let (stack, world) = stack_with_world().await;
    let [sender, reader] = [&world.users[0], &world.users[1]];
    let chat = world.personal_chat;
    let mut sender_client = stack.login(sender).await;
    let mut reader_client = stack.login(reader).await;
    send_many(&mut sender_client, sender, chat, 3).await;
    recv_many(&mut reader_client, "message", 3).await;

    let read = |seq: u64| json!({"type": "read_up_to", "chat_id": chat, "seq": seq});
    let marker = |seq: u64| json!({"type": "read_marker", "chat_id": chat, "seq": seq});
    reader_client.send(read(2)).await;
    assert_eq!(reader_client.recv().await, marker(2));
    assert_eq!(sender_client.recv().await["type"], "message_seen");
    sender_client.recv().await;
    reader_client.send(read(1)).await;
    assert_eq!(reader_client.recv().await, marker(2));
    // Beyond the last message: up to the last one, not to messages to come.
    reader_client.send(read(99)).await;
    assert_eq!(reader_client.recv().await, marker(3));
    assert_eq!(sender_client.recv().await["detail"]["seq"], 3);
    send_many(&mut sender_client, sender, chat, 1).await;
    recv_many(&mut reader_client, "message", 1).await;
    let path = "/chats";
    assert_eq!(unread(&stack.get_as(reader, path).await.1, chat), 1);

    // Refused: a chat one is not in, a seq that is not a number.
    let other = json!({"type": "read_up_to", "chat_id": world.other_chat, "seq": 1});
    reader_client.send(other).await;
    reader_client.recv_error("not_a_member").await;
    let negative = json!({"type": "read_up_to", "chat_id": chat, "seq": -1});
    reader_client.send(negative).await;
    reader_client.recv_error("invalid_field").await;
    let markers = "SELECT count(*) FROM chat_members WHERE read_seq > 0";
    assert_eq!(stack.db.count(markers).await, 1);
    stack.stop().await;
}

/// A marker and single receipts racing for the same messages complete each
/// message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markers_and_single_receipts_racing_complete_each_message_once() {
    let (stack, world) = stack_with_world().await;
    let [sender, marker_user, receipt_user] = [&world.users[0], &world.users[1], &world.users[2]];
    let group = world.group_chat;
    let mut sender_client = stack.login(sender).await;
    let mut marker_client = stack.login(marker_user).await;
    let mut receipt_client = stack.login(receipt_user).await;
    for round in 1..=10_u64 {
        let acks = send_many(&mut sender_client, sender, group, 3).await;
        recv_many(&mut marker_client, "message", 3).await;
        recv_many(&mut receipt_client, "message", 3).await;
        let receipts = acks
            .iter()
            .map(|ack| json!({"message_id": ack["id"]}).to_string());
        let receipts: Vec<String> = receipts.collect();
        let read = json!({"type": "read_up_to", "chat_id": group, "seq": round * 3});
        let marking = marker_client.send(read);
        let receipting = async {
            for receipt in &receipts {
                receipt_client.send_text(receipt).await;
            }
        };
        tokio::join!(marking, receipting);
        let seen = recv_many(&mut sender_client, "message_seen", 3).await;
        let mut seen = seen_ids(&seen);
        seen.sort_by_key(Value::to_string);
        let mut sent = ids(&acks);
        sent.sort_by_key(Value::to_string);
        assert_eq!(seen, sent);
        sender_client.expect_silence().await;
        assert_eq!(marker_client.recv().await["type"], "read_marker");
    }
    stack.stop().await;
}
