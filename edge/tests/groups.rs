//! Creating groups.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{send_frame, stack_with_world};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_creator_and_connected_members_get_group_created() {
    let (stack, world) = stack_with_world().await;
    let [creator, member, offline, outsider] = [
        &world.users[0],
        &world.users[1],
        &world.users[2],
        &world.users[3],
    ];
    let mut creator_client = stack.login(creator).await;
    let mut member_client = stack.login(member).await;
    let mut outsider_client = stack.login(outsider).await;

    creator_client
        .send(json!({"name": "Car.", "users": [member.id, offline.id]}))
        .await;
    let created = creator_client.recv().await;
    assert_eq!(created["type"], "group_created");
    assert_eq!(created["name"], "Car.");
    assert_eq!(created["creator_id"], creator.id.to_string());
    let group_id = created["id"].as_str().unwrap().to_owned();
    let chat_id = created["chat_id"].as_str().unwrap().to_owned();
    let mut members: Vec<String> = created["user_group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            assert_eq!(row["group_id"], group_id);
            row["user_id"].as_str().unwrap().to_owned()
        })
        .collect();
    members.sort();
    let mut expected: Vec<String> = [creator.id, member.id, offline.id]
        .iter()
        .map(|id| id.to_string())
        .collect();
    expected.sort();
    assert_eq!(members, expected, "the creator is always a member");

    assert_eq!(member_client.recv().await, created);
    outsider_client.expect_silence().await;
    creator_client.expect_silence().await;

    // Stored: a group chat, its members, the group and one user_group row each.
    assert_eq!(
        stack
            .db
            .count(&format!(
                "SELECT count(*) FROM chats WHERE id = '{chat_id}' AND type = 1"
            ))
            .await,
        1
    );
    assert_eq!(
        stack
            .db
            .count(&format!(
                "SELECT count(*) FROM chat_members WHERE chat_id = '{chat_id}'"
            ))
            .await,
        3
    );
    assert_eq!(stack.db.count(&format!("SELECT count(*) FROM groups WHERE id = '{group_id}' AND chat_id = '{chat_id}' AND creator_id = '{}'", creator.id)).await, 1);
    assert_eq!(
        stack
            .db
            .count(&format!(
                "SELECT count(*) FROM user_groups WHERE group_id = '{group_id}'"
            ))
            .await,
        3
    );

    // The new chat works at once (membership is known without a restart).
    let (_, frame) = send_frame(member, chat_id.parse().unwrap(), "hi group");
    member_client.send(frame).await;
    assert_eq!(member_client.recv().await["type"], "message_ack");
    assert_eq!(creator_client.recv().await["text"], "hi group");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_the_creator_or_a_member_twice_adds_them_once() {
    let (stack, world) = stack_with_world().await;
    let mut creator = stack.login(&world.users[0]).await;
    let (me, other) = (world.users[0].id, world.users[1].id);
    creator
        .send(json!({"name": "Pair", "users": [me, other, other]}))
        .await;
    let created = creator.recv().await;
    assert_eq!(created["user_group"].as_array().map(Vec::len), Some(2));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_with_an_unknown_user_is_refused_and_nothing_is_created() {
    let (stack, world) = stack_with_world().await;
    let mut creator = stack.login(&world.users[0]).await;
    let ghost = uuid::Uuid::new_v4();
    creator
        .send(json!({"name": "Ghosts", "users": [world.users[1].id, ghost]}))
        .await;
    let detail = creator.recv_error("unknown_user").await;
    assert!(
        detail["message"]
            .as_str()
            .unwrap()
            .contains(&ghost.to_string())
    );
    assert_eq!(stack.db.count("SELECT count(*) FROM groups").await, 1);
    assert_eq!(stack.db.count("SELECT count(*) FROM chats").await, 3);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_needs_a_name() {
    let (stack, world) = stack_with_world().await;
    let mut creator = stack.login(&world.users[0]).await;
    creator
        .send(json!({"name": "  ", "users": [world.users[1].id]}))
        .await;
    let detail: Value = creator.recv_error("invalid_field").await;
    assert!(detail["message"].as_str().unwrap().contains("name"));
    assert_eq!(stack.db.count("SELECT count(*) FROM groups").await, 1);
    stack.stop().await;
}
