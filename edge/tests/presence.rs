//! Presence over the WebSocket and REST: asked for with `watch_presence`,
//! one event per change of a contact's state however many devices they
//! have, nothing for sessions that did not ask; only between contacts
//! (both wrote in their personal chat), never across a block, not for
//! those who hide it; paced per user.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, Stack, get_json, stack_with_world};
use core_service::demo_data::DemoUser;
use core_service::ids::UserId;
use core_service::testing::make_contacts;
use serde_json::{Value, json};

async fn contacts(stack: &Stack, a: &DemoUser, b: &DemoUser) {
    make_contacts(&stack.store, UserId(a.id), UserId(b.id)).await;
}

/// Logs `user` in and watches presence; the client and the list.
async fn watching(stack: &Stack, user: &DemoUser) -> (Client, Value) {
    let mut client = stack.login(user).await;
    client.send(json!({"type": "watch_presence"})).await;
    let list = client.recv().await;
    assert_eq!(list["type"], "presence_list");
    (client, list["people"].clone())
}

/// The answer to a `set_privacy` of `client`.
async fn set_privacy(client: &mut Client, frame: Value) -> Value {
    let mut frame = frame;
    frame["type"] = json!("set_privacy");
    client.send(frame).await;
    let answer = client.recv().await;
    assert_eq!(answer["type"], "privacy", "{answer}");
    answer
}

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
    contacts(&stack, &users[0], &users[1]).await;
    contacts(&stack, &users[1], &users[2]).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knowing_an_address_or_sharing_a_group_shows_no_presence() {
    let (stack, world) = stack_with_world().await;
    let users = &world.users;
    // User 3 knows user 1's address: finds them, opens a chat, writes.
    let mut stranger = stack.login(&users[3]).await;
    stranger
        .send(json!({"type": "open_direct_chat", "user_id": users[1].id}))
        .await;
    let chat = stranger.recv().await;
    assert_eq!(chat["type"], "direct_chat", "{chat}");
    let chat_id: uuid::Uuid = chat["chat_id"].as_str().unwrap().parse().unwrap();
    let (_, hello) = common::send_frame(&users[3], chat_id, "hello?");
    stranger.send(hello).await;
    assert_eq!(stranger.recv().await["type"], "message_ack");
    stranger.send(json!({"type": "watch_presence"})).await;
    let list = stranger.recv().await;
    assert_eq!(list["people"], json!([]), "no answer yet: no contact");
    // User 2 shares a group with user 1, and watches too.
    let (mut group_mate, people) = watching(&stack, &users[2]).await;
    assert_eq!(people, json!([]));

    let target = stack.login(&users[1]).await;
    stranger.expect_silence().await;
    group_mate.expect_silence().await;
    target.close().await;
    assert!(
        stranger
            .drain_for(std::time::Duration::from_secs(4))
            .await
            .is_empty()
    );
    assert!(
        group_mate
            .drain_for(std::time::Duration::from_millis(500))
            .await
            .is_empty()
    );

    // Once user 1 answers, they are contacts: presence both ways...
    contacts(&stack, &users[1], &users[3]).await;
    let target = stack.login(&users[1]).await;
    // (The greetings that made them contacts were stored behind the
    // core's back: it may deliver them as it catches up on the chat.)
    let mut told = stranger.recv().await;
    while told["type"] == "message" && told["text"] == "hello" {
        told = stranger.recv().await;
    }
    assert_eq!(
        (told["user_id"].clone(), told["online"].clone()),
        (json!(users[1].id), json!(true)),
        "{told}"
    );
    // ...until either blocks the other: then nothing crosses, either way.
    let mut blocker = stack.login(&users[1]).await;
    blocker
        .send(json!({"type": "block_user", "user_id": users[3].id}))
        .await;
    assert_eq!(blocker.recv().await["type"], "block_changed");
    target.close().await;
    blocker.close().await;
    let after_block = stranger.drain_for(std::time::Duration::from_secs(4)).await;
    assert!(
        after_block.iter().all(|frame| frame["type"] != "presence"),
        "{after_block:?}"
    );
    let (_, people) = watching(&stack, &users[3]).await;
    assert_eq!(people, json!([]));
    let (_, people) = watching(&stack, &users[1]).await;
    assert!(
        people
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["user_id"] != json!(users[3].id))
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_hides_their_presence_is_shown_to_no_one_and_sees_no_one() {
    let (stack, world) = stack_with_world().await;
    let users = &world.users;
    contacts(&stack, &users[0], &users[1]).await;
    let hider = stack.login(&users[0]).await;
    let (mut watcher, people) = watching(&stack, &users[1]).await;
    assert_eq!(entry(&people, &users[0])["online"], true);

    // Settings are read with an empty frame, and answered on every device.
    let mut settings = stack.login(&users[0]).await;
    let read = set_privacy(&mut settings, json!({})).await;
    assert_eq!(
        read,
        json!({"type": "privacy", "presence": "contacts", "group_adds": "everyone"})
    );
    let mut other_device = stack.login(&users[0]).await;
    let hidden = set_privacy(&mut settings, json!({"presence": "nobody"})).await;
    assert_eq!(hidden["presence"], "nobody");
    assert_eq!(other_device.recv().await, hidden);
    // The watcher is told the hider is gone, with no last-seen time.
    assert_eq!(
        watcher.recv().await,
        json!({"type": "presence", "user_id": users[0].id.to_string(),
               "online": false, "last_seen": null})
    );
    hider.close().await;
    other_device.close().await;
    assert!(
        watcher
            .drain_for(std::time::Duration::from_secs(4))
            .await
            .is_empty()
    );
    let (_, people) = watching(&stack, &users[1]).await;
    assert_eq!(people, json!([]));
    let (_, people) = watching(&stack, &users[0]).await;
    assert_eq!(people, json!([]), "who hides sees no one");

    // Shown again: the watcher learns the state as it is.
    set_privacy(&mut settings, json!({"presence": "contacts"})).await;
    let shown = watcher.recv().await;
    assert_eq!(shown["user_id"], json!(users[0].id.to_string()));
    assert_eq!(shown["online"], true);
    // Unknown values change nothing.
    settings
        .send(json!({"type": "set_privacy", "presence": "friends"}))
        .await;
    settings.recv_error("invalid_field").await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_reconnects_in_a_second_are_told_as_one_change_or_none() {
    let (stack, world) = stack_with_world().await;
    let users = &world.users;
    contacts(&stack, &users[0], &users[1]).await;
    let (mut watcher, _) = watching(&stack, &users[1]).await;
    for _ in 0..30 {
        stack.login(&users[0]).await.close().await;
    }
    let told: Vec<Value> = watcher
        .drain_for(std::time::Duration::from_secs(6))
        .await
        .into_iter()
        .filter(|frame| frame["type"] == "presence")
        .collect();
    assert!(!told.is_empty() && told.len() <= 2, "{told:?}");
    assert_eq!(told[0]["online"], true);
    assert_eq!(
        told.last().unwrap()["online"],
        false,
        "the state it ends in"
    );
    stack.stop().await;
}
