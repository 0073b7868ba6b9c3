//! Who may put whom where: any member may leave a group, and a user can
//! block someone from putting them in groups at all.

use crate::common::{Stack, World, get_with, send_frame, stack_with_world};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_leaves_hears_nothing_more_from_the_group() {
    let (stack, world) = stack_with_world().await;
    leave_and_hear_nothing_more(stack, world).await;
}

/// The same with two cores: the sockets alternate between them, so the
/// leave is made on one core and learnt by the other through the bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_leaves_hears_nothing_more_on_any_core() {
    let stack = Stack::start_pair().await;
    let world = World::new();
    stack.load(&world).await;
    leave_and_hear_nothing_more(stack, world).await;
}

async fn leave_and_hear_nothing_more(stack: Stack, world: World) {
    let [stayer, leaver, third] = [&world.users[0], &world.users[1], &world.users[2]];
    let mut stayer_client = stack.login(stayer).await;
    let mut phone = stack.login(leaver).await;
    let mut laptop = stack.login(leaver).await;
    let mut third_client = stack.login(third).await;
    let group = world.group_chat.to_string();

    phone
        .send(json!({"type": "leave_group", "chat_id": group}))
        .await;
    let left = json!({"type": "member_left", "chat_id": group, "user_id": leaver.id});
    for client in [
        &mut phone,
        &mut laptop,
        &mut stayer_client,
        &mut third_client,
    ] {
        assert_eq!(client.recv().await, left);
    }

    // Nothing more from the chat: live, by history, by sync; no sending.
    let (_, frame) = send_frame(stayer, world.group_chat, "after you left");
    stayer_client.send(frame).await;
    assert_eq!(stayer_client.recv().await["type"], "message_ack");
    assert_eq!(third_client.recv().await["text"], "after you left");
    phone.expect_silence().await;
    laptop.expect_silence().await;
    let token = stack.access_token(leaver).await;
    let bearer = format!("Bearer {token}");
    let history = format!("/history/{group}");
    let (status, _) = get_with(&stack, &history, &[("authorization", &bearer)]).await;
    assert_eq!(status, 403);
    phone.send(json!({"type": "sync"})).await;
    loop {
        let frame = phone.recv().await;
        assert_ne!(frame["chat_id"], group.as_str(), "{frame}");
        if frame["type"] == "sync_done" {
            assert!(frame["cursor"].get(&group).is_none());
            break;
        }
    }
    let (_, frame) = send_frame(leaver, world.group_chat, "let me back");
    phone.send(frame).await;
    phone.recv_error("not_a_member").await;

    // Leaving again, or leaving a personal chat, is refused.
    phone
        .send(json!({"type": "leave_group", "chat_id": group}))
        .await;
    phone.recv_error("not_a_member").await;
    phone
        .send(json!({"type": "leave_group", "chat_id": world.personal_chat}))
        .await;
    phone.recv_error("personal_chat").await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_user_cannot_put_the_blocker_in_a_group() {
    let (stack, world) = stack_with_world().await;
    let [pest, blocker, friend] = [&world.users[0], &world.users[1], &world.users[2]];
    let mut pest_client = stack.login(pest).await;
    let mut blocker_client = stack.login(blocker).await;

    blocker_client
        .send(json!({"type": "block_user", "user_id": pest.id}))
        .await;
    let changed = json!({"type": "block_changed", "user_id": pest.id, "blocked": true});
    assert_eq!(blocker_client.recv().await, changed);
    pest_client
        .send(json!({"name": "Trap", "users": [blocker.id, friend.id]}))
        .await;
    pest_client.recv_error("blocked").await;
    blocker_client.expect_silence().await;
    let groups = "SELECT count(*) FROM groups WHERE name = 'Trap'";
    assert_eq!(stack.db.count(groups).await, 0);
    // The blocker's list names the one blocked; nobody else's does.
    let (status, blocks) = stack.get_as(blocker, "/me/blocks").await;
    assert_eq!(status, 200);
    assert_eq!(blocks, json!([{"id": pest.id, "name": pest.name}]));
    assert_eq!(stack.get_as(pest, "/me/blocks").await.1, json!([]));

    blocker_client
        .send(json!({"type": "unblock_user", "user_id": pest.id}))
        .await;
    let changed = json!({"type": "block_changed", "user_id": pest.id, "blocked": false});
    assert_eq!(blocker_client.recv().await, changed);
    let (_, blocks) = stack.get_as(blocker, "/me/blocks").await;
    assert_eq!(blocks, json!([]), "the list a block leaves unblocked");
    pest_client
        .send(json!({"name": "Party", "users": [blocker.id]}))
        .await;
    assert_eq!(pest_client.recv().await["type"], "group_created");
    assert_eq!(blocker_client.recv().await["type"], "group_created");

    // Nobody, and not oneself.
    blocker_client
        .send(json!({"type": "block_user", "user_id": uuid::Uuid::new_v4()}))
        .await;
    blocker_client.recv_error("unknown_user").await;
    blocker_client
        .send(json!({"type": "block_user", "user_id": blocker.id}))
        .await;
    blocker_client.recv_error("invalid_field").await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocker_gets_nothing_of_the_blocked_user_in_any_chat() {
    let (stack, world) = stack_with_world().await;
    block_and_hear_nothing(stack, world).await;
}

/// The same with two cores: the sockets alternate between them, so the
/// block is made on one core and learnt by the other through the bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocker_gets_nothing_of_the_blocked_user_on_any_core() {
    let stack = Stack::start_pair().await;
    let world = World::new();
    stack.load(&world).await;
    block_and_hear_nothing(stack, world).await;
}

// One scenario, step by step: splitting it would hide the order.
#[allow(clippy::too_many_lines)]
async fn block_and_hear_nothing(stack: Stack, world: World) {
    // 0 and 1 share a direct chat and the group (with 2).
    let [pest, blocker, friend] = [&world.users[0], &world.users[1], &world.users[2]];
    let (direct, group) = (world.personal_chat, world.group_chat);
    // All three are contacts: presence would cross but for the block.
    for (a, b) in [(pest, blocker), (pest, friend), (blocker, friend)] {
        let (a, b) = (
            core_service::ids::UserId(a.id),
            core_service::ids::UserId(b.id),
        );
        core_service::testing::make_contacts(&stack.store, a, b).await;
    }
    let mut blocker_client = stack.login(blocker).await;
    let mut friend_client = stack.login(friend).await;
    let mut pest_client = stack.login(pest).await;
    let (_, frame) = send_frame(pest, direct, "before");
    pest_client.send(frame).await;
    assert_eq!(pest_client.recv().await["type"], "message_ack");
    // (The greetings that made them contacts were stored behind the core's
    // back: they come first, as the gap before "before".)
    let mut frame = blocker_client.recv().await;
    while frame["text"] == "hello" {
        frame = blocker_client.recv().await;
    }
    assert_eq!(frame["text"], "before");
    pest_client
        .drain_for(std::time::Duration::from_millis(500))
        .await;

    let mut blocker_laptop = stack.login(blocker).await;
    blocker_client
        .send(json!({"type": "block_user", "user_id": pest.id}))
        .await;
    assert_eq!(blocker_client.recv().await["blocked"], true);
    let told = blocker_laptop.recv().await;
    assert_eq!(
        (&told["type"], &told["user_id"], &told["blocked"]),
        (&json!("block_changed"), &json!(pest.id), &json!(true)),
        "the blocker's other devices are told"
    );
    drop(blocker_laptop);
    for (client, sees_pest) in [(&mut blocker_client, false), (&mut friend_client, true)] {
        client.send(json!({"type": "watch_presence"})).await;
        let list = client.recv().await;
        assert_eq!(list["type"], "presence_list");
        let people = list["people"].as_array().unwrap();
        let has_pest = people.iter().any(|p| p["user_id"] == json!(pest.id));
        assert_eq!(has_pest, sees_pest, "{list}");
    }

    // Messages in both chats, typing, an edit: the friend gets them, the
    // blocker nothing.
    let (_, frame) = send_frame(pest, direct, "let me in");
    pest_client.send(frame).await;
    assert_eq!(pest_client.recv().await["type"], "message_ack");
    let (_, frame) = send_frame(pest, group, "hello group");
    pest_client.send(frame).await;
    let ack = pest_client.recv().await;
    assert_eq!(friend_client.recv().await["text"], "hello group");
    pest_client
        .send(json!({"type": "typing", "chat_id": group}))
        .await;
    assert_eq!(friend_client.recv().await["type"], "typing");
    let edit = json!({"type": "edit_message", "client_id": uuid::Uuid::new_v4(), "message_id": ack["id"], "text": "edited"});
    pest_client.send(edit).await;
    assert_eq!(pest_client.recv().await["type"], "message_edited");
    assert_eq!(friend_client.recv().await["text"], "edited");
    // Presence either way: the pest leaves and comes back.
    pest_client.close().await;
    let gone = friend_client.recv().await;
    assert_eq!(
        (&gone["type"], &gone["online"]),
        (&json!("presence"), &json!(false))
    );
    let mut pest_client = stack.login(pest).await;
    assert_eq!(friend_client.recv().await["online"], true);
    blocker_client.expect_silence().await;

    // Not in history, not in sync; the others' history is whole.
    assert_eq!(
        stack.history_texts(blocker, direct).await,
        ["hello"],
        "only the blocker's own"
    );
    assert_eq!(
        stack.history_texts(blocker, group).await,
        Vec::<String>::new()
    );
    assert_eq!(stack.history_texts(friend, group).await, ["edited"]);
    assert_eq!(
        stack.history_texts(pest, direct).await,
        ["hello", "hello", "before", "let me in"]
    );
    // Nor in the chat list's previews and unread counts.
    let (status, chats) = stack.get_as(blocker, "/chats").await;
    assert_eq!(status, 200);
    for chat in chats.as_array().unwrap() {
        let last = &chat["last_message"];
        assert_ne!(last["sender_id"], json!(pest.id), "{chat}");
        if chat["id"] == json!(group) {
            assert!(last.is_null(), "{chat}");
        }
        if chat["id"] == json!(group) || chat["id"] == json!(direct) {
            assert_eq!(chat["unread_count"], 0, "{chat}");
        }
    }
    blocker_client.send(json!({"type": "sync"})).await;
    loop {
        // Others' messages (the greetings), never the pest's, then the end.
        let frame = blocker_client.recv().await;
        if frame["type"] == "sync_done" {
            break;
        }
        assert_ne!(frame["sender_id"], json!(pest.id), "{frame}");
    }
    // The blocked user sees no presence of the blocker either.
    pest_client.send(json!({"type": "watch_presence"})).await;
    let list = pest_client.recv().await;
    let people = list["people"].as_array().unwrap();
    assert!(
        people.iter().all(|p| p["user_id"] != json!(blocker.id)),
        "{list}"
    );

    // Unblocked, the messages are there again, and new ones arrive.
    blocker_client
        .send(json!({"type": "unblock_user", "user_id": pest.id}))
        .await;
    assert_eq!(blocker_client.recv().await["blocked"], false);
    assert_eq!(
        stack.history_texts(blocker, direct).await,
        ["hello", "hello", "before", "let me in"]
    );
    let (_, frame) = send_frame(pest, direct, "friends again");
    pest_client.send(frame).await;
    assert_eq!(blocker_client.recv().await["text"], "friends again");
    stack.stop().await;
}
