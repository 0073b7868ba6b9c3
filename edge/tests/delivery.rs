//! Delivery guarantees: exactly-once sends and per-chat order.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get_json_as, send_frame, stack_with_world};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_send_is_acked_with_the_same_id_and_stored_once() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut member = stack.login(&world.users[1]).await;
    let (client_id, frame) = send_frame(&world.users[0], world.personal_chat, "once");
    sender.send(frame.clone()).await;
    let first = sender.recv().await;
    sender.send(frame.clone()).await;
    let second = sender.recv().await;
    assert_eq!(first["type"], "message_ack");
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["seq"], first["seq"]);
    assert_eq!(second["client_id"], client_id.to_string());

    assert_eq!(member.recv().await["id"], first["id"]);
    member.expect_silence().await;
    assert_eq!(stack.db.count("SELECT count(*) FROM messages").await, 1);

    // The number given back by the retry is reused: the next message is 2.
    let (_, next) = send_frame(&world.users[0], world.personal_chat, "next");
    sender.send(next).await;
    assert_eq!(sender.recv().await["seq"], 2);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_racing_on_two_connections_store_one_message() {
    let (stack, world) = stack_with_world().await;
    let mut member = stack.login(&world.users[1]).await;
    for round in 0..5 {
        let mut phone = stack.login(&world.users[0]).await;
        let mut laptop = stack.login(&world.users[0]).await;
        let (_, frame) = send_frame(&world.users[0], world.group_chat, &format!("race {round}"));
        let text = frame.to_string();
        tokio::join!(phone.send_text(&text), laptop.send_text(&text));
        let acks = [next_ack(&mut phone).await, next_ack(&mut laptop).await];
        assert_eq!(acks[0]["id"], acks[1]["id"], "round {round}");
        assert_eq!(member.recv().await["id"], acks[0]["id"]);
        member.expect_silence().await;
    }
    assert_eq!(stack.db.count("SELECT count(*) FROM messages").await, 5);
    stack.stop().await;
}

/// The next ack on a connection of the sender (a mirrored copy of the
/// message may come first, sent by the other device).
async fn next_ack(client: &mut common::Client) -> Value {
    loop {
        let frame = client.recv().await;
        if frame["type"] == "message_ack" {
            return frame;
        }
        assert_eq!(frame["type"], "message", "{frame}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seq_has_no_gaps_under_concurrent_senders() {
    let (stack, world) = stack_with_world().await;
    let per_sender = 20;
    let mut tasks = vec![];
    for user in 0..3 {
        let mut client = stack.login(&world.users[user]).await;
        let sender = world.users[user].clone();
        let chat = world.group_chat;
        tasks.push(tokio::spawn(async move {
            let mut seqs = vec![];
            for n in 0..per_sender {
                let (_, frame) = send_frame(&sender, chat, &format!("{n}"));
                client.send(frame).await;
                seqs.push(next_ack(&mut client).await["seq"].as_u64().unwrap());
            }
            seqs
        }));
    }
    let mut all: Vec<u64> = vec![];
    for task in tasks {
        let seqs = task.await.unwrap();
        assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "{seqs:?}");
        all.extend(seqs);
    }
    all.sort();
    assert_eq!(all, (1..=3 * per_sender).collect::<Vec<_>>());

    let token = stack.access_token(&world.users[0]).await;
    let url = stack.http_url(&format!("/history/{}?limit=100", world.group_chat));
    let (_, history) = get_json_as(&url, &token).await;
    let seqs: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=3 * per_sender).collect::<Vec<_>>());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_by_seq_cursor() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    for n in 1..=7 {
        let (_, frame) = send_frame(&world.users[0], world.group_chat, &format!("{n}"));
        sender.send(frame).await;
        sender.recv().await;
    }
    let token = stack.access_token(&world.users[1]).await;
    let page = |query: &str| {
        let url = stack.http_url(&format!("/history/{}?{query}", world.group_chat));
        let token = token.clone();
        async move { get_json_as(&url, &token).await }
    };
    let seqs = |body: Value| -> Vec<u64> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(seqs(page("after_seq=2&limit=3").await.1), [3, 4, 5]);
    assert_eq!(seqs(page("before_seq=6&limit=2").await.1), [4, 5]);
    assert_eq!(seqs(page("before_seq=3").await.1), [1, 2]);
    assert_eq!(seqs(page("after_seq=5&before_seq=7").await.1), [6]);
    assert_eq!(seqs(page("after_seq=7").await.1), Vec::<u64>::new());
    let (status, body) = page("after_seq=1&offset=2").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["query", "offset"])
    );
    assert_eq!(page("after_seq=-1").await.0, 422);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_show_unread_counts_from_seen_statuses() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let mut reader = stack.login(&world.users[1]).await;
    let mut ids = vec![];
    for n in 0..3 {
        let (_, frame) = send_frame(&world.users[0], world.personal_chat, &format!("{n}"));
        sender.send(frame).await;
        ids.push(sender.recv().await["id"].clone());
        reader.recv().await;
    }
    let unread = |user: usize| {
        let stack = &stack;
        let user = world.users[user].clone();
        let chat = world.personal_chat.to_string();
        async move {
            let token = stack.access_token(&user).await;
            let (_, chats) = get_json_as(&stack.http_url("/chats"), &token).await;
            let chat = chats
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == chat)
                .unwrap()
                .clone();
            chat["unread_count"].as_u64().unwrap()
        }
    };
    assert_eq!(unread(1).await, 3);
    assert_eq!(unread(0).await, 0, "own messages are not unread");
    reader.send(serde_json::json!({"message_id": ids[0]})).await;
    sender.recv().await; // message_seen for the first message
    assert_eq!(unread(1).await, 2);
    stack.stop().await;
}

/// Frames until `sync_done`; the frames before it and the cursor.
async fn sync(client: &mut common::Client, since: Value) -> (Vec<Value>, Value) {
    client
        .send(serde_json::json!({"type": "sync", "since": since}))
        .await;
    let mut frames = vec![];
    loop {
        let frame = client.recv().await;
        if frame["type"] == "sync_done" {
            return (frames, frame["cursor"].clone());
        }
        frames.push(frame);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_user_catches_up_on_every_chat_in_order() {
    let (stack, world) = stack_with_world().await;
    let mut away = stack.login(&world.users[1]).await;
    let (frames, cursor) = sync(&mut away, Value::Null).await;
    assert!(frames.is_empty());
    assert_eq!(cursor[world.personal_chat.to_string()], 0);
    assert_eq!(cursor[world.group_chat.to_string()], 0);
    away.close().await;

    // While user 1 is away: messages in two chats and a new group.
    let mut alice = stack.login(&world.users[0]).await;
    let mut carol = stack.login(&world.users[2]).await;
    let plan = [
        (0, world.personal_chat, "p1"),
        (0, world.group_chat, "g1"),
        (2, world.group_chat, "g2"),
        (0, world.personal_chat, "p2"),
        (0, world.personal_chat, "p3"),
    ];
    for (user, chat, text) in plan {
        let client = if user == 0 { &mut alice } else { &mut carol };
        let (_, frame) = send_frame(&world.users[user], chat, text);
        client.send(frame).await;
        next_ack(client).await;
    }
    alice
        .send(serde_json::json!({"name": "While away", "users": [world.users[1].id]}))
        .await;
    let created = loop {
        let frame = alice.recv().await;
        if frame["type"] == "group_created" {
            break frame;
        }
    };
    let new_chat: uuid::Uuid = created["chat_id"].as_str().unwrap().parse().unwrap();
    let (_, frame) = send_frame(&world.users[0], new_chat, "n1");
    alice.send(frame).await;
    next_ack(&mut alice).await;

    let mut back = stack.login(&world.users[1]).await;
    let (frames, new_cursor) = sync(&mut back, cursor).await;
    let texts_in = |chat: uuid::Uuid| -> Vec<String> {
        frames
            .iter()
            .filter(|f| f["type"] == "message" && f["chat_id"] == chat.to_string())
            .map(|f| f["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(texts_in(world.personal_chat), ["p1", "p2", "p3"]);
    assert_eq!(texts_in(world.group_chat), ["g1", "g2"]);
    assert_eq!(texts_in(new_chat), ["n1"]);
    assert_eq!(frames.len(), 7, "six messages and one group: {frames:?}");
    let announced = frames
        .iter()
        .position(|f| f["type"] == "group_created")
        .unwrap();
    let first_new = frames
        .iter()
        .position(|f| f["chat_id"] == new_chat.to_string() && f["type"] == "message")
        .unwrap();
    assert!(
        announced < first_new,
        "the group is announced before its messages"
    );
    assert_eq!(frames[announced]["id"], created["id"]);
    assert_eq!(new_cursor[world.personal_chat.to_string()], 3);
    assert_eq!(new_cursor[world.group_chat.to_string()], 2);
    assert_eq!(new_cursor[new_chat.to_string()], 1);

    // Nothing new: nothing but the cursor.
    let (frames, again) = sync(&mut back, new_cursor.clone()).await;
    assert!(frames.is_empty(), "{frames:?}");
    assert_eq!(again, new_cursor);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_without_a_cursor_sends_a_recent_window() {
    let (stack, world) = stack_with_world().await;
    let mut alice = stack.login(&world.users[0]).await;
    for n in 1..=55 {
        let (_, frame) = send_frame(&world.users[0], world.personal_chat, &format!("{n}"));
        alice.send(frame).await;
        alice.recv().await;
    }
    let mut bob = stack.login(&world.users[1]).await;
    let (frames, cursor) = sync(&mut bob, Value::Null).await;
    let seqs: Vec<u64> = frames.iter().map(|f| f["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (6..=55).collect::<Vec<_>>());
    assert_eq!(cursor[world.personal_chat.to_string()], 55);
    bob.send(serde_json::json!({"type": "sync", "since": {"nope": 1}}))
        .await;
    bob.recv_error("invalid_field").await;
    stack.stop().await;
}

/// A message the core's cache has not seen (another core's, whose event is
/// still on its way; here written behind the core's back) is still in a
/// sync's answer: the end of a chat is the database's, so a `sync_done`
/// never tells a client it has everything while an acked message is
/// missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_sends_messages_the_cores_cache_has_not_seen() {
    use core_service::ids::{ChatId, MessageId, UserId};
    use core_service::store::{Store, records::NewMessage};
    let (stack, world) = stack_with_world().await;
    let mut alice = stack.login(&world.users[0]).await;
    for text in ["one", "two"] {
        let (_, frame) = send_frame(&world.users[0], world.personal_chat, text);
        alice.send(frame).await;
        next_ack(&mut alice).await;
    }
    // Reading the chat's newest page puts it in the core's cache.
    let path = format!("/history/{}", world.personal_chat);
    let (status, _) = stack.get_as(&world.users[1], &path).await;
    assert_eq!(status, 200);
    let elsewhere = Store::with_config(stack.db.config(), 1).unwrap();
    let stored = elsewhere
        .insert_message(&NewMessage {
            id: MessageId::random(),
            chat_id: ChatId(world.personal_chat),
            sender_id: UserId(world.users[0].id),
            client_id: uuid::Uuid::new_v4(),
            written_at: None,
            text: "three".into(),
            attachments: Default::default(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.seq, 3);
    let mut bob = stack.login(&world.users[1]).await;
    let since = serde_json::json!({ world.personal_chat.to_string(): 2 });
    let (frames, cursor) = sync(&mut bob, since).await;
    let texts: Vec<&str> = frames.iter().filter_map(|f| f["text"].as_str()).collect();
    assert_eq!(texts, ["three"]);
    assert_eq!(cursor[world.personal_chat.to_string()], 3);
    stack.stop().await;
}
