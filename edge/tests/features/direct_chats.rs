//! Direct chats: one personal chat per pair of users, started by either.

use crate::common::{Stack, send_frame, stack_with_world};
use core_service::demo_data::DemoUser;
use serde_json::{Value, json};

fn open(user: &core_service::demo_data::DemoUser) -> Value {
    json!({"type": "open_direct_chat", "user_id": user.id})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_direct_chat_reaches_both_users_devices_and_is_found_again() {
    let (stack, world) = stack_with_world().await;
    let [asker, other] = [&world.users[2], &world.users[3]];
    let mut phone = stack.login(asker).await;
    let mut laptop = stack.login(asker).await;
    let mut other_client = stack.login(other).await;

    phone.send(open(other)).await;
    let answer = phone.recv().await;
    assert_eq!(answer["type"], "direct_chat");
    let chat = answer["chat_id"].as_str().unwrap().to_owned();
    let members = answer["members"].as_array().unwrap();
    assert!(members.contains(&json!(asker.id)) && members.contains(&json!(other.id)));
    assert_eq!(laptop.recv().await, answer);
    assert_eq!(other_client.recv().await, answer);

    // The chat works at once, for both.
    let (_, frame) = send_frame(other, chat.parse().unwrap(), "hi there");
    other_client.send(frame).await;
    assert_eq!(other_client.recv().await["type"], "message_ack");
    assert_eq!(phone.recv().await["text"], "hi there");
    assert_eq!(laptop.recv().await["text"], "hi there");

    // Asked again, from the other side: the same chat, told to the asker only.
    other_client.send(open(asker)).await;
    assert_eq!(other_client.recv().await["chat_id"], chat.as_str());
    phone.expect_silence().await;
    // A pair whose chat came with the loaded data finds that one.
    let mut first = stack.login(&world.users[0]).await;
    first.send(open(&world.users[1])).await;
    let found = first.recv().await;
    assert_eq!(found["chat_id"], world.personal_chat.to_string());
    let personal = "SELECT count(*) FROM chats WHERE type = 0";
    assert_eq!(stack.db.count(personal).await, 3);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_asking_at_once_from_several_devices_get_one_chat() {
    let (stack, world) = stack_with_world().await;
    let [one, other] = [&world.users[2], &world.users[4]];
    let mut clients = vec![];
    for user in [one, one, other, other] {
        clients.push(stack.login(user).await);
    }
    let frames = [open(other), open(other), open(one), open(one)];
    let asks = clients
        .iter_mut()
        .zip(frames)
        .map(|(client, frame)| async move {
            client.send_text(&frame.to_string()).await;
        });
    futures_util::future::join_all(asks).await;
    let mut chats = vec![];
    for client in &mut clients {
        for frame in client.drain_for(crate::common::QUIET).await {
            assert_eq!(frame["type"], "direct_chat", "{frame}");
            chats.push(frame["chat_id"].clone());
        }
    }
    // Each asks and gets an answer; the creating request also told the
    // three other sessions.
    assert_eq!(chats.len(), 7, "{chats:?}");
    assert!(chats.iter().all(|chat| *chat == chats[0]));
    let pairs = "SELECT count(*) FROM direct_chats";
    assert_eq!(stack.db.count(pairs).await, 3);
    let personal = "SELECT count(*) FROM chats WHERE type = 0";
    assert_eq!(stack.db.count(personal).await, 3);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_chats_refused_change_nothing() {
    let (stack, world) = stack_with_world().await;
    let [asker, blocker] = [&world.users[2], &world.users[3]];
    let mut client = stack.login(asker).await;
    let mut blocker_client = stack.login(blocker).await;

    client.send(open(asker)).await;
    client.recv_error("invalid_field").await;
    let nobody = json!({"type": "open_direct_chat", "user_id": uuid::Uuid::new_v4()});
    client.send(nobody).await;
    client.recv_error("unknown_user").await;
    client
        .send(json!({"type": "open_direct_chat", "user_id": "x"}))
        .await;
    client.recv_error("invalid_field").await;
    let block = json!({"type": "block_user", "user_id": asker.id});
    blocker_client.send(block).await;
    assert_eq!(blocker_client.recv().await["type"], "block_changed");
    client.send(open(blocker)).await;
    client.recv_error("blocked").await;
    blocker_client.expect_silence().await;
    let personal = "SELECT count(*) FROM chats WHERE type = 0";
    assert_eq!(stack.db.count(personal).await, 2);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_announces_a_direct_chat_started_while_away() {
    let (stack, world) = stack_with_world().await;
    let [away, asker] = [&world.users[4], &world.users[2]];
    let mut client = stack.login(away).await;
    let cursor = crate::sync_cursor(&mut client).await;
    client.close().await;

    let mut asker_client = stack.login(asker).await;
    asker_client.send(open(away)).await;
    let chat = asker_client.recv().await["chat_id"].clone();
    let (_, frame) = send_frame(asker, chat.as_str().unwrap().parse().unwrap(), "while away");
    asker_client.send(frame).await;
    asker_client.recv().await;

    let mut client = stack.login(away).await;
    client.send(json!({"type": "sync", "since": cursor})).await;
    let announced = client.recv().await;
    assert_eq!(announced["type"], "direct_chat");
    assert_eq!(announced["chat_id"], chat);
    assert_eq!(client.recv().await["text"], "while away");
    let done = client.recv().await;
    assert_eq!(done["cursor"][chat.as_str().unwrap()], 1);
    stack.stop().await;
}

/// The chat list of `user`: each chat's id, its last message's text and
/// its unread count.
async fn chat_list(stack: &Stack, user: &DemoUser) -> Vec<(String, Value, u64)> {
    let (status, chats) = stack.get_as(user, "/chats").await;
    assert_eq!(status, 200, "{chats}");
    let chats = chats.as_array().unwrap().iter();
    chats
        .map(|chat| {
            let id = chat["id"].as_str().unwrap().to_owned();
            let unread = chat["unread_count"].as_u64().unwrap();
            (id, chat["last_message"]["text"].clone(), unread)
        })
        .collect()
}

// One scenario, step by step: splitting it would hide the order.
#[allow(clippy::too_many_lines)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_chat_leaves_the_hiders_devices_and_comes_back_with_the_next_message() {
    let (stack, world) = stack_with_world().await;
    let [hider, other] = [&world.users[0], &world.users[1]];
    let chat = world.personal_chat;
    let mut phone = stack.login(hider).await;
    let cursor = crate::sync_cursor(&mut phone).await;
    let mut other_client = stack.login(other).await;
    let (_, frame) = send_frame(other, chat, "before");
    other_client.send(frame).await;
    let before = other_client.recv().await;
    assert_eq!(before["type"], "message_ack");
    assert_eq!(phone.recv().await["text"], "before");
    let mut laptop = stack.login(hider).await;

    phone
        .send(json!({"type": "hide_chat", "chat_id": chat}))
        .await;
    let hidden = phone.recv().await;
    assert_eq!(
        hidden,
        json!({"type": "chat_hidden", "chat_id": chat, "seq": 1})
    );
    assert_eq!(laptop.recv().await, hidden, "every device of the hider");
    other_client.expect_silence().await;

    // Gone for the hider, whole for the other.
    let listed = |list: &[(String, Value, u64)]| list.iter().any(|c| c.0 == chat.to_string());
    assert!(!listed(&chat_list(&stack, hider).await));
    assert!(listed(&chat_list(&stack, other).await));
    assert!(stack.history_texts(hider, chat).await.is_empty());
    assert_eq!(stack.history_texts(other, chat).await, ["before"]);
    // A device that was away learns of it in its sync, with no messages.
    let mut tablet = stack.login(hider).await;
    tablet.send(json!({"type": "sync", "since": cursor})).await;
    assert_eq!(tablet.recv().await, hidden);
    let done = tablet.recv().await;
    assert_eq!(done["type"], "sync_done", "{done}");
    assert_eq!(done["cursor"][chat.to_string()], 1);

    // A change to a message the hider no longer has is not theirs either.
    other_client
        .send(
            json!({"type": "edit_message", "client_id": uuid::Uuid::new_v4(),
                     "message_id": before["id"], "text": "before, edited"}),
        )
        .await;
    assert_eq!(other_client.recv().await["type"], "message_edited");
    phone.expect_silence().await;
    laptop.expect_silence().await;

    // The next message brings it back, with only what follows.
    let (_, frame) = send_frame(other, chat, "after");
    other_client.send(frame).await;
    assert_eq!(other_client.recv().await["type"], "message_ack");
    assert_eq!(phone.recv().await["text"], "after");
    let list = chat_list(&stack, hider).await;
    let back = list.iter().find(|c| c.0 == chat.to_string()).unwrap();
    assert_eq!((&back.1, back.2), (&json!("after"), 1));
    assert_eq!(stack.history_texts(hider, chat).await, ["after"]);
    let (status, page) = stack
        .get_as(hider, &format!("/history/{chat}?before_seq=3&limit=5"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(page.as_array().unwrap().len(), 1, "{page}");
    assert_eq!(
        stack.history_texts(other, chat).await,
        ["before, edited", "after"]
    );

    // Only members hide; a group is hidden the same way, not left.
    let mut outsider = stack.login(&world.users[3]).await;
    outsider
        .send(json!({"type": "hide_chat", "chat_id": chat}))
        .await;
    outsider.recv_error("not_a_member").await;
    phone
        .send(json!({"type": "hide_chat", "chat_id": world.group_chat}))
        .await;
    assert_eq!(phone.recv().await["type"], "chat_hidden");
    let (status, _) = stack
        .get_as(hider, &format!("/history/{}", world.group_chat))
        .await;
    assert_eq!(status, 200, "still a member");

    // A chat with no message yet is hidden too.
    let asker = &world.users[2];
    let mut fresh = stack.login(asker).await;
    fresh.send(open(&world.users[3])).await;
    let empty = fresh.recv().await["chat_id"].as_str().unwrap().to_owned();
    fresh
        .send(json!({"type": "hide_chat", "chat_id": empty}))
        .await;
    assert_eq!(fresh.recv().await["seq"], 0);
    assert!(chat_list(&stack, asker).await.iter().all(|c| c.0 != empty));
    stack.stop().await;
}
