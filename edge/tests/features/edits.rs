//! Edits and deletes: a sender changes their own message, every member's
//! devices hear of it once, and retries change nothing.

use crate::common::{send_frame, stack_with_world};
use serde_json::{Value, json};

fn edit(client_id: uuid::Uuid, message: &Value, text: &str) -> Value {
    json!({"type": "edit_message", "client_id": client_id, "message_id": message, "text": text})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_deletes_reach_every_device_once_and_retries_change_nothing() {
    let (stack, world) = stack_with_world().await;
    let [sender, first, second] = [&world.users[0], &world.users[1], &world.users[2]];
    let group = world.group_chat;
    let mut phone = stack.login(sender).await;
    let mut laptop = stack.login(sender).await;
    let mut first_client = stack.login(first).await;
    let mut second_client = stack.login(second).await;
    let (_, frame) = send_frame(sender, group, "teh typo");
    phone.send(frame).await;
    let ack = phone.recv().await;
    let id = ack["id"].clone();
    for client in [&mut laptop, &mut first_client, &mut second_client] {
        assert_eq!(client.recv().await["id"], id);
    }

    let edit_id = uuid::Uuid::new_v4();
    phone.send(edit(edit_id, &id, "the typo")).await;
    let edited = phone.recv().await;
    assert_eq!(edited["type"], "message_edited");
    assert_eq!((&edited["id"], &edited["seq"]), (&id, &ack["seq"]));
    assert_eq!(edited["text"], "the typo");
    assert!(edited["edited_at"].is_string());
    for client in [&mut laptop, &mut first_client, &mut second_client] {
        assert_eq!(client.recv().await, edited);
    }
    // The retry is answered, and nobody else hears of it.
    phone.send(edit(edit_id, &id, "the typo")).await;
    assert_eq!(phone.recv().await, edited);
    laptop.expect_silence().await;
    first_client.expect_silence().await;
    let path = format!("/history/{group}");
    let history = stack.get_as(first, &path).await.1;
    assert_eq!(history[0]["text"], "the typo");
    assert_eq!(history[0]["edited_at"], edited["edited_at"]);

    let delete = json!({"type": "delete_message", "message_id": id});
    laptop.send(delete.clone()).await;
    let deleted = laptop.recv().await;
    assert_eq!(deleted["type"], "message_deleted");
    assert_eq!(
        (&deleted["text"], &deleted["deleted"]),
        (&json!(""), &json!(true))
    );
    for client in [&mut phone, &mut first_client, &mut second_client] {
        assert_eq!(client.recv().await, deleted);
    }
    laptop.send(delete).await;
    assert_eq!(laptop.recv().await, deleted);
    phone.expect_silence().await;
    second_client.expect_silence().await;

    // A tombstone in history and in sync; it cannot be edited any more.
    let history = stack.get_as(second, &path).await.1;
    assert_eq!(
        (&history[0]["text"], &history[0]["deleted"]),
        (&json!(""), &json!(true))
    );
    second_client.send(json!({"type": "sync"})).await;
    let synced = second_client.recv().await;
    assert_eq!((&synced["id"], &synced["deleted"]), (&id, &json!(true)));
    phone.send(edit(uuid::Uuid::new_v4(), &id, "back")).await;
    phone.recv_error("message_deleted").await;
    let texts = "SELECT count(*) FROM messages WHERE text = '' AND deleted_at IS NOT NULL";
    assert_eq!(stack.db.count(texts).await, 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_sender_may_change_a_message() {
    let (stack, world) = stack_with_world().await;
    let [sender, member, stranger] = [&world.users[0], &world.users[1], &world.users[3]];
    let mut sender_client = stack.login(sender).await;
    let mut member_client = stack.login(member).await;
    let mut stranger_client = stack.login(stranger).await;
    let (_, frame) = send_frame(sender, world.personal_chat, "mine");
    sender_client.send(frame).await;
    let id = sender_client.recv().await["id"].clone();
    member_client.recv().await;

    member_client
        .send(edit(uuid::Uuid::new_v4(), &id, "yours"))
        .await;
    let refused = member_client.recv_error("not_your_message").await;
    assert_eq!(refused["message_id"], id);
    let delete = json!({"type": "delete_message", "message_id": id});
    member_client.send(delete.clone()).await;
    member_client.recv_error("not_your_message").await;
    stranger_client.send(delete).await;
    stranger_client.recv_error("message_not_found").await;
    sender_client
        .send(edit(uuid::Uuid::new_v4(), &id, "  "))
        .await;
    sender_client.recv_error("invalid_field").await;
    sender_client
        .send(edit(uuid::Uuid::new_v4(), &id, "nul\u{0}"))
        .await;
    sender_client.recv_error("invalid_field").await;
    sender_client.expect_silence().await;
    let changed = "SELECT count(*) FROM messages WHERE text <> 'mine' OR edited_at IS NOT NULL";
    assert_eq!(stack.db.count(changed).await, 0);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_edit_retried_after_a_newer_one_changes_nothing() {
    let (stack, world) = stack_with_world().await;
    let [sender, reader] = [&world.users[0], &world.users[1]];
    let group = world.group_chat;
    let mut phone = stack.login(sender).await;
    let mut other = stack.login(reader).await;
    let (_, frame) = send_frame(sender, group, "one");
    phone.send(frame).await;
    let id = phone.recv().await["id"].clone();
    other.recv().await;

    let (first, second) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    phone.send(edit(first, &id, "two")).await;
    let two = phone.recv().await;
    phone.send(edit(second, &id, "three")).await;
    let three = phone.recv().await;
    assert!(three["edited_at"].as_str() > two["edited_at"].as_str());
    for expected in [&two, &three] {
        assert_eq!(&other.recv().await, expected);
    }
    // The first edit again (a client that never saw its answer): answered
    // with the message as it is, to the asker alone.
    phone.send(edit(first, &id, "two")).await;
    assert_eq!(phone.recv().await, three);
    other.expect_silence().await;
    let history = stack.get_as(reader, &format!("/history/{group}")).await.1;
    assert_eq!(history[0]["text"], "three");
    assert_eq!(history[0]["edited_at"], three["edited_at"]);
    stack.stop().await;
}
