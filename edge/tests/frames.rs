//! Frames the edge cannot accept: an error frame each, the connection kept.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Stack, World, send_frame, stack_with_world};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// After an error, the same connection (of user 0) still works.
async fn still_works(client: &mut common::Client, world: &World) {
    still_works_for(client, world, 0).await;
}

async fn still_works_for(client: &mut common::Client, world: &World, user: usize) {
    let (_, frame) = send_frame(&world.users[user], world.personal_chat, "still here");
    client.send(frame).await;
    assert_eq!(client.recv().await["type"], "message_ack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_an_error_and_the_connection_stays_open() {
    let (stack, world) = stack_with_world().await;
    let mut client = stack.login(&world.users[0]).await;
    client.send_text("{\"email\": ").await;
    client.recv_error("invalid_json").await;
    client.send_text("[1, 2, 3]").await;
    client.recv_error("invalid_frame").await;
    client.send_text("\"a string\"").await;
    client.recv_error("invalid_frame").await;
    still_works(&mut client, &world).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_frame_shape_is_an_error() {
    let (stack, world) = stack_with_world().await;
    let mut client = stack.login(&world.users[0]).await;
    client.send(json!({"hello": "world"})).await;
    client.recv_error("unknown_frame").await;
    client.send(json!({})).await;
    client.recv_error("unknown_frame").await;
    still_works(&mut client, &world).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_field_values_are_named() {
    let (stack, world) = stack_with_world().await;
    let mut client = stack.login(&world.users[0]).await;
    let (client_id, mut frame) = send_frame(&world.users[0], world.personal_chat, "x");
    frame["chat_id"] = json!("not-a-uuid");
    client.send(frame.clone()).await;
    let detail = client.recv_error("invalid_field").await;
    assert!(detail["message"].as_str().unwrap().contains("chat_id"));
    assert_eq!(detail["client_id"], client_id.to_string());

    frame["chat_id"] = json!(world.personal_chat);
    frame["timestamp"] = json!("half past four");
    client.send(frame.clone()).await;
    let detail = client.recv_error("invalid_field").await;
    assert!(detail["message"].as_str().unwrap().contains("timestamp"));

    frame.as_object_mut().unwrap().remove("timestamp");
    frame["text"] = json!(42);
    client.send(frame).await;
    let detail = client.recv_error("invalid_field").await;
    assert!(detail["message"].as_str().unwrap().contains("text"));

    client.send(json!({"message_id": 7})).await;
    client.recv_error("invalid_field").await;
    client.send(json!({"name": "G", "users": "everyone"})).await;
    client.recv_error("invalid_field").await;
    client.send(json!({"email": "a@example.com"})).await;
    client.recv_error("missing_field").await;

    assert_eq!(stack.db.count("SELECT count(*) FROM messages").await, 0);
    still_works(&mut client, &world).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_is_an_error_and_the_connection_stays_open() {
    let stack = Stack::start_with(Default::default(), 1024).await;
    let world = World::new();
    stack.load(&world).await;
    let mut client = stack.login(&world.users[0]).await;
    let (client_id, frame) = send_frame(&world.users[0], world.personal_chat, &"x".repeat(2000));
    client.send(frame).await;
    let detail = client.recv_error("frame_too_large").await;
    assert!(detail["message"].as_str().unwrap().contains("1024"));
    // The edge does not read oversized frames, so it cannot repeat their ids.
    assert!(detail.get("client_id").is_none(), "{detail} {client_id}");
    assert_eq!(stack.db.count("SELECT count(*) FROM messages").await, 0);
    still_works(&mut client, &world).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_beyond_the_hard_limit_closes_with_1009() {
    let stack = Stack::start_with(Default::default(), 1024).await;
    let world = World::new();
    stack.load(&world).await;
    let mut client = stack.login(&world.users[0]).await;
    // The hard limit is 16 × the frame limit, at least 1 MiB.
    client.try_send_text(&"y".repeat(2 * 1024 * 1024)).await;
    // The server stops reading, so the client may see the close frame or,
    // with unread data still in flight, a reset.
    if let Some(code) = client.wait_closed().await {
        assert_eq!(code, 1009);
    }
    // Other connections are unaffected.
    let mut other = stack.login(&world.users[1]).await;
    still_works_for(&mut other, &world, 1).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frames_are_an_error() {
    let (stack, world) = stack_with_world().await;
    let mut client = stack.login(&world.users[0]).await;
    client.send_message(Message::binary(vec![1u8, 2, 3])).await;
    client.recv_error("unsupported_frame").await;
    still_works(&mut client, &world).await;
    stack.stop().await;
}
