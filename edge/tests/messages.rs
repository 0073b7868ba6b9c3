//! Sending messages: ack, delivery, identity and membership.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{send_frame, stack_with_world};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_is_acked_then_delivered_once_to_each_other_member() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut member = stack.login(&world.users[1]).await;
    let mut other_member = stack.login(&world.users[2]).await;
    let mut outsider = stack.login(&world.users[3]).await;

    let (client_id, frame) = send_frame(&world.users[0], world.group_chat, "Hello");
    sender.send(frame).await;
    let ack = sender.recv().await;
    assert_eq!(ack["type"], "message_ack");
    assert_eq!(ack["client_id"], client_id.to_string());
    let id = ack["id"].as_str().unwrap().to_owned();

    for client in [&mut member, &mut other_member] {
        let message = client.recv().await;
        assert_eq!(message["type"], "message");
        assert_eq!(message["id"], id);
        assert_eq!(message["sender_id"], world.users[0].id.to_string());
        assert_eq!(message["chat_id"], world.group_chat.to_string());
        assert_eq!(message["text"], "Hello");
        client.expect_silence().await;
    }
    sender.expect_silence().await;
    outsider.expect_silence().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_clock_stamps_messages() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut member = stack.login(&world.users[1]).await;
    let before = common::now();
    let (_, frame) = send_frame(&world.users[0], world.personal_chat, "What time is it?");
    sender.send(frame).await;
    sender.recv().await;
    let message = member.recv().await;
    let stamped =
        messenger_proto::timestamp::parse(message["timestamp"].as_str().unwrap()).unwrap();
    assert!(
        stamped >= before - chrono::Duration::seconds(1),
        "{stamped} vs {before}"
    );
    assert!(stamped <= common::now() + chrono::Duration::seconds(1));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_is_offline_finds_the_message_in_history() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let (_, frame) = send_frame(&world.users[0], world.personal_chat, "Are you there?");
    sender.send(frame).await;
    let id = sender.recv().await["id"].clone();

    let path = format!("/history/{}", world.personal_chat);
    let (status, history) = stack.get_as(&world.users[1], &path).await;
    assert_eq!(status, 200);
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["id"], id);
    assert_eq!(history[0]["text"], "Are you there?");
    assert_eq!(history[0]["seen"], false);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoofed_sender_id_is_refused_and_nothing_is_stored() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut member = stack.login(&world.users[1]).await;
    let (client_id, frame) = send_frame(&world.users[1], world.personal_chat, "I am user 1");
    sender.send(frame).await;
    let detail = sender.recv_error("sender_mismatch").await;
    assert_eq!(detail["client_id"], client_id.to_string());
    member.expect_silence().await;
    assert_eq!(stack.db.count("SELECT count(*) FROM messages").await, 0);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_to_a_chat_the_user_is_not_in_is_refused() {
    let (stack, world) = stack_with_world().await;
    let mut outsider = stack.login(&world.users[3]).await;
    let mut member = stack.login(&world.users[0]).await;
    let (client_id, frame) = send_frame(&world.users[3], world.group_chat, "let me in");
    outsider.send(frame).await;
    let detail = outsider.recv_error("not_a_member").await;
    assert_eq!(detail["client_id"], client_id.to_string());
    // A chat that does not exist at all looks the same.
    let (_, frame) = send_frame(&world.users[3], uuid::Uuid::new_v4(), "anyone?");
    outsider.send(frame).await;
    outsider.recv_error("not_a_member").await;
    member.expect_silence().await;
    assert_eq!(stack.db.count("SELECT count(*) FROM messages").await, 0);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_and_overlong_texts_are_refused() {
    let limits = core_service::state::Limits {
        max_text_chars: 10,
        ..Default::default()
    };
    let stack = common::Stack::start_with(limits, 64 * 1024).await;
    let world = common::World::new();
    stack.load(&world).await;
    let mut sender = stack.login(&world.users[0]).await;
    let (_, frame) = send_frame(&world.users[0], world.personal_chat, "   ");
    sender.send(frame).await;
    sender.recv_error("invalid_field").await;
    let (_, frame) = send_frame(&world.users[0], world.personal_chat, "ééééééééééé");
    sender.send(frame).await;
    let detail = sender.recv_error("invalid_field").await;
    assert!(
        detail["message"]
            .as_str()
            .unwrap()
            .contains("10 characters")
    );
    let (_, frame) = send_frame(&world.users[0], world.personal_chat, "éééééééééé");
    sender.send(frame).await;
    assert_eq!(sender.recv().await["type"], "message_ack");
    assert_eq!(stack.db.count("SELECT count(*) FROM messages").await, 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_senders_other_devices_get_the_message_too() {
    let (stack, world) = stack_with_world().await;
    let mut phone = stack.login(&world.users[0]).await;
    let mut laptop = stack.login(&world.users[0]).await;
    let mut member = stack.login(&world.users[1]).await;
    let (_, frame) = send_frame(&world.users[0], world.personal_chat, "from my phone");
    phone.send(frame).await;
    let id = phone.recv().await["id"].clone();
    assert_eq!(laptop.recv().await["id"], id);
    assert_eq!(member.recv().await["id"], id);
    phone.expect_silence().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_counts_as_having_seen_their_message() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut reader = stack.login(&world.users[1]).await;
    let (_, frame) = send_frame(&world.users[0], world.personal_chat, "hi");
    sender.send(frame).await;
    let id = sender.recv().await["id"].clone();
    assert_eq!(reader.recv().await["id"], id);

    // The sender's own receipt changes nothing: their status is implied.
    sender.send(serde_json::json!({ "message_id": id })).await;
    sender.expect_silence().await;
    let statuses = stack
        .db
        .count(&format!(
            "SELECT count(*) FROM message_seen_status WHERE message_id = '{}'",
            id.as_str().unwrap()
        ))
        .await;
    assert_eq!(statuses, 0);

    // So the one other member's receipt is the last one missing.
    reader.send(serde_json::json!({ "message_id": id })).await;
    let seen = sender.recv().await;
    assert_eq!(seen["type"], "message_seen");
    assert_eq!(seen["detail"]["id"], id);
    stack.stop().await;
}

/// The client's time of writing travels with a send. A retry is acked
/// with the first copy for as long as its key is kept; a new send written
/// before the kept keys begin is refused as `stale_retry` and stores
/// nothing; a time more than a day ahead of the server is invalid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_written_before_the_kept_retries_is_refused_as_stale() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let user = &world.users[0];
    let chat = world.personal_chat;
    let acked_id = |ack: serde_json::Value| {
        assert_eq!(ack["type"], "message_ack", "{ack}");
        ack["id"].as_str().unwrap().to_owned()
    };
    // Written in 2025: nothing is forgotten yet, so it is stored.
    let (_, written_long_ago) = send_frame(user, chat, "from a slow clock");
    sender.send(written_long_ago.clone()).await;
    let first = acked_id(sender.recv().await);

    // The server has forgotten the keys stored before eight days ago.
    let moved = "WITH moved AS (
                     UPDATE sent_keys_horizon SET kept_since = now() - interval '8 days'
                     RETURNING 1)
                 SELECT count(*) FROM moved";
    assert_eq!(stack.db.count(moved).await, 1);
    sender.send(written_long_ago).await;
    assert_eq!(acked_id(sender.recv().await), first, "its key is kept");

    let (client_id, stale) = send_frame(user, chat, "written long ago");
    sender.send(stale).await;
    let detail = sender.recv_error("stale_retry").await;
    assert_eq!(detail["client_id"], client_id.to_string());

    let (_, mut ahead) = send_frame(user, chat, "from the future");
    ahead["timestamp"] = json!((common::now() + chrono::Duration::days(2)).to_rfc3339());
    sender.send(ahead).await;
    let detail = sender.recv_error("invalid_field").await;
    assert!(detail["message"].as_str().unwrap().contains("timestamp"));

    let (_, mut now) = send_frame(user, chat, "written now");
    now["timestamp"] = json!(common::now().to_rfc3339());
    sender.send(now).await;
    acked_id(sender.recv().await);
    let stored = "SELECT count(*) FROM messages WHERE text IN
                  ('from a slow clock', 'written long ago', 'from the future', 'written now')";
    assert_eq!(stack.db.count(stored).await, 2);
    stack.stop().await;
}
