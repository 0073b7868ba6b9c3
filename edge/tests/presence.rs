//! Presence over the WebSocket and REST: asked for with `watch_presence`,
//! one event per change of a contact's state however many devices they
//! have, nothing for sessions that did not ask.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get_json, stack_with_world};
use serde_json::{Value, json};

/// The entry of `people` for `user`.
fn entry<'a>(people: &'a Value, user: &core_service::demo_data::DemoUser) -> &'a Value {
    people
        .as_array()
        .unwrap()
        .iter()
        .find(|person| person["user_id"] == user.id.to_string())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_see_one_arrival_and_one_departure_across_two_devices() {
    let (stack, world) = stack_with_world().await;
    let users = &world.users;
    let mut watcher = stack.login(&users[1]).await;
    watcher.send(json!({"type": "watch_presence"})).await;
    let list = watcher.recv().await;
    assert_eq!(list["type"], "presence_list");
    assert_eq!(list["people"].as_array().unwrap().len(), 2, "users 0 and 2");
    let offline = json!({"user_id": users[0].id.to_string(), "online": false, "last_seen": null});
    assert_eq!(entry(&list["people"], &users[0]), &offline);
    let mut not_watching = stack.login(&users[2]).await;
    let arrived = watcher.recv().await;
    assert_eq!(arrived["user_id"], users[2].id.to_string());

    let phone = stack.login(&users[0]).await;
    let laptop = stack.login(&users[0]).await;
    let _stranger = stack.login(&users[3]).await;
    assert_eq!(
        watcher.recv().await,
        json!({"type": "presence", "user_id": users[0].id.to_string(),
               "online": true, "last_seen": null})
    );
    watcher.expect_silence().await;

    phone.close().await;
    watcher.expect_silence().await;
    laptop.close().await;
    let left = watcher.recv().await;
    assert_eq!(left["type"], "presence");
    assert_eq!(left["online"], false);
    assert!(left["last_seen"].is_string(), "{left}");
    watcher.expect_silence().await;
    not_watching.expect_silence().await;

    let (status, people) = stack.get_as(&users[1], "/presence").await;
    assert_eq!(status, 200);
    let seen = entry(&people, &users[0]);
    assert_eq!(seen["online"], false);
    assert_eq!(seen["last_seen"], left["last_seen"]);
    assert_eq!(entry(&people, &users[2])["online"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_needs_a_login_and_a_credential() {
    let (stack, _world) = stack_with_world().await;
    let mut anonymous = stack.connect().await;
    anonymous.send(json!({"type": "watch_presence"})).await;
    anonymous.recv_error("not_authenticated").await;
    let (status, _) = get_json(&stack.http_url("/presence")).await;
    assert_eq!(status, 401);
}
