//! Logging in over the WebSocket, and what a connection may do before.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{login_frame, send_frame, stack_with_world};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_credentials_get_auth_success() {
    let (stack, world) = stack_with_world().await;
    let mut client = stack.connect().await;
    client.send(login_frame(&world.users[0])).await;
    assert_eq!(
        client.recv().await,
        json!({"type": "auth_success", "detail": null})
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_is_matched_without_regard_to_case() {
    let (stack, world) = stack_with_world().await;
    let mut client = stack.connect().await;
    let user = &world.users[1];
    let frame = json!({"email": user.email.to_uppercase(), "password": user.password});
    client.send(frame).await;
    assert_eq!(client.recv().await["type"], "auth_success");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_an_error_and_the_connection_may_retry() {
    let (stack, world) = stack_with_world().await;
    let mut client = stack.connect().await;
    let user = &world.users[0];
    client
        .send(json!({"email": user.email, "password": "not it"}))
        .await;
    client.recv_error("invalid_credentials").await;
    client.send(login_frame(user)).await;
    assert_eq!(client.recv().await["type"], "auth_success");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_email_gets_the_same_error_as_a_wrong_password() {
    let (stack, _world) = stack_with_world().await;
    let mut client = stack.connect().await;
    client
        .send(json!({"email": "nobody@example.com", "password": "whatever"}))
        .await;
    let detail = client.recv_error("invalid_credentials").await;
    assert_eq!(detail["message"], "wrong email or password");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_frame_but_login_is_refused_before_login_and_changes_nothing() {
    let (stack, world) = stack_with_world().await;
    let mut client = stack.connect().await;
    let (client_id, send) = send_frame(&world.users[0], world.personal_chat, "hi");
    client.send(send).await;
    let detail = client.recv_error("not_authenticated").await;
    assert_eq!(detail["client_id"], client_id.to_string());
    assert!(
        detail["message"]
            .as_str()
            .unwrap()
            .contains("access denied")
    );

    let message_id = uuid::Uuid::new_v4().to_string();
    client.send(json!({"message_id": message_id})).await;
    let detail = client.recv_error("not_authenticated").await;
    assert_eq!(detail["message_id"], message_id);

    client
        .send(json!({"name": "Sneaky", "users": [world.users[1].id]}))
        .await;
    let detail = client.recv_error("not_authenticated").await;
    assert!(
        detail["message"]
            .as_str()
            .unwrap()
            .contains("access denied")
    );

    assert_eq!(stack.db.count("SELECT count(*) FROM messages").await, 0);
    assert_eq!(stack.db.count("SELECT count(*) FROM groups").await, 1);
    assert_eq!(stack.db.count("SELECT count(*) FROM chats").await, 3);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_in_again_switches_the_connection_to_the_new_user() {
    let (stack, world) = stack_with_world().await;
    let mut client = stack.login(&world.users[0]).await;
    client.send(login_frame(&world.users[3])).await;
    assert_eq!(client.recv().await["type"], "auth_success");
    // Now user 3: sending as user 0 is refused, user 3's own chat works.
    let (_, as_old) = send_frame(&world.users[0], world.personal_chat, "hi");
    client.send(as_old).await;
    client.recv_error("sender_mismatch").await;
    let (_, as_new) = send_frame(&world.users[3], world.other_chat, "hi");
    client.send(as_new).await;
    assert_eq!(client.recv().await["type"], "message_ack");
    stack.stop().await;
}
