//! Read receipts: `message_seen` reaches the sender once everyone has read.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, send_frame, stack_with_world};
use serde_json::{Value, json};

/// Sends a message from `sender` and returns the stored message's id.
async fn send(
    sender: &mut Client,
    user: &core_service::demo_data::DemoUser,
    chat: uuid::Uuid,
) -> String {
    let (_, frame) = send_frame(user, chat, "read me");
    sender.send(frame).await;
    let ack = sender.recv().await;
    ack["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seen_by_all_members_notifies_the_sender_exactly_once() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut first = stack.login(&world.users[1]).await;
    let mut second = stack.login(&world.users[2]).await;
    let id = send(&mut sender, &world.users[0], world.group_chat).await;
    first.recv().await;
    second.recv().await;

    first.send(json!({"message_id": id})).await;
    first.send(json!({"message_id": id})).await;
    sender.expect_silence().await;

    second.send(json!({"message_id": id})).await;
    let seen = sender.recv().await;
    assert_eq!(seen["type"], "message_seen");
    assert_eq!(seen["detail"]["id"], id);
    assert_eq!(seen["detail"]["sender_id"], world.users[0].id.to_string());
    assert_eq!(seen["detail"]["chat_id"], world.group_chat.to_string());
    assert_eq!(seen["detail"]["text"], "read me");

    // Duplicates after the fact change nothing and notify nobody.
    second.send(json!({"message_id": id})).await;
    first.send(json!({"message_id": id})).await;
    sender.expect_silence().await;
    first.expect_silence().await;
    second.expect_silence().await;

    let path = format!("/history/{}", world.group_chat);
    let history = stack.get_as(&world.users[2], &path).await.1;
    assert_eq!(history[0]["seen"], true);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_seen_frames_notify_the_sender_exactly_once() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut readers = vec![];
    for user in [1, 1, 2, 2] {
        readers.push(stack.login(&world.users[user]).await);
    }
    for _ in 0..5 {
        let id = send(&mut sender, &world.users[0], world.group_chat).await;
        for reader in readers.iter_mut() {
            reader.recv().await;
        }
        // Every device of both readers says "seen" twice, all at once.
        let frame = json!({"message_id": id}).to_string();
        let sends = readers.iter_mut().map(|reader| {
            let frame = frame.clone();
            async move {
                reader.send_text(&frame).await;
                reader.send_text(&frame).await;
            }
        });
        futures_util::future::join_all(sends).await;
        let seen: Value = sender.recv().await;
        assert_eq!(seen["type"], "message_seen");
        assert_eq!(seen["detail"]["id"], id);
        sender.expect_silence().await;
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_personal_chat_one_reader_completes_the_receipt() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut reader = stack.login(&world.users[1]).await;
    let id = send(&mut sender, &world.users[0], world.personal_chat).await;
    reader.recv().await;
    reader.send(json!({"message_id": id})).await;
    assert_eq!(sender.recv().await["type"], "message_seen");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seen_for_a_message_outside_the_users_chats_is_refused() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut outsider = stack.login(&world.users[3]).await;
    let id = send(&mut sender, &world.users[0], world.personal_chat).await;

    outsider.send(json!({"message_id": id})).await;
    let detail = outsider.recv_error("message_not_found").await;
    assert_eq!(detail["message_id"], id);
    let unknown = uuid::Uuid::new_v4().to_string();
    outsider.send(json!({"message_id": unknown})).await;
    outsider.recv_error("message_not_found").await;

    sender.expect_silence().await;
    let statuses = stack
        .db
        .count(&format!(
            "SELECT count(*) FROM message_seen_status WHERE message_id = '{id}'"
        ))
        .await;
    assert_eq!(statuses, 0, "nothing recorded (the sender's is implied)");
    stack.stop().await;
}

/// A block blocks receipts: the blocked user's reads, single or by marker,
/// never make the blocker's messages seen, in a direct chat or a group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reads_of_a_blocked_user_are_no_receipts_for_the_blocker() {
    let (stack, world) = stack_with_world().await;
    let [blocker, pest, friend] = [&world.users[0], &world.users[1], &world.users[2]];
    let mut blocker_client = stack.login(blocker).await;
    let mut pest_client = stack.login(pest).await;
    let mut friend_client = stack.login(friend).await;
    // Before the block, the pest's read is a receipt.
    let id = send(&mut blocker_client, blocker, world.personal_chat).await;
    pest_client.recv().await;
    pest_client.send(json!({"message_id": id})).await;
    assert_eq!(blocker_client.recv().await["type"], "message_seen");

    blocker_client
        .send(json!({"type": "block_user", "user_id": pest.id}))
        .await;
    assert_eq!(blocker_client.recv().await["type"], "block_changed");
    let direct = send(&mut blocker_client, blocker, world.personal_chat).await;
    assert_eq!(pest_client.recv().await["id"], direct.as_str());
    pest_client.send(json!({"message_id": direct})).await;
    let group = send(&mut blocker_client, blocker, world.group_chat).await;
    pest_client.recv().await;
    friend_client.recv().await;
    friend_client.send(json!({"message_id": group})).await;
    for chat in [world.personal_chat, world.group_chat] {
        let read = json!({"type": "read_up_to", "chat_id": chat, "seq": 100});
        pest_client.send(read).await;
        assert_eq!(pest_client.recv().await["type"], "read_marker");
    }
    blocker_client.expect_silence().await;
    for (chat, id) in [(world.personal_chat, &direct), (world.group_chat, &group)] {
        let (_, page) = stack.get_as(blocker, &format!("/history/{chat}")).await;
        let message = page
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id.as_str());
        assert_eq!(message.unwrap()["seen"], false, "{page}");
    }
    stack.stop().await;
}
