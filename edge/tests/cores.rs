//! An edge with several cores (`CORE_URLS`): new WebSockets go to each in
//! turn, messages cross between them, a core that stopped is left out, and
//! the sockets it served move to another core without noticing.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, Stack, World, cookie_login, post_json, send_frame};
use core_service::ids::UserId;
use core_service::testing::make_contacts;
use serde_json::json;
use std::time::Duration;

/// Open connections per core, as the connection history has them.
async fn cores_serving(stack: &Stack) -> i64 {
    let sql = "SELECT count(DISTINCT core_id) FROM connections WHERE ended_at IS NULL";
    stack.db.count(sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_are_spread_over_the_cores_and_a_stopped_core_is_left_out() {
    let mut stack = Stack::start_pair().await;
    let world = World::new();
    stack.load(&world).await;
    let (alice, bob) = (&world.users[0], &world.users[1]);
    let mut on_first = stack.login(alice).await;
    let mut on_second = stack.login(bob).await;
    assert_eq!(cores_serving(&stack).await, 2, "one socket on each core");

    let (_, frame) = send_frame(alice, world.personal_chat, "across");
    on_first.send(frame).await;
    assert_eq!(on_first.recv().await["type"], "message_ack");
    let delivered = on_second.recv().await;
    assert_eq!(delivered["text"], "across", "{delivered}");

    // The first core stops: every new socket and REST call goes to the
    // other (the sockets it served move there, see below).
    stack.stop_core().await;
    for _ in 0..3 {
        let mut again = stack.login(alice).await;
        let (_, frame) = send_frame(alice, world.personal_chat, "still here");
        again.send(frame).await;
        assert_eq!(again.recv().await["type"], "message_ack");
        let (status, _) = stack.get_as(alice, "/me").await;
        assert_eq!(status, 200);
    }
    assert_eq!(cores_serving(&stack).await, 1);
    drop((on_first, on_second));
    stack.stop().await;
}

/// Sends `text` from `sender` to `chat` until it is acked, resending the
/// same frame (same client id) when no ack comes: what a client does when
/// its request may have been lost.
async fn send_until_acked(
    client: &mut common::Client,
    sender: &core_service::demo_data::DemoUser,
    chat: uuid::Uuid,
    text: &str,
) {
    let (client_id, frame) = send_frame(sender, chat, text);
    for _ in 0..10 {
        client.send(frame.clone()).await;
        let wait = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                let reply = client.recv().await;
                if reply["type"] == "message_ack" && reply["client_id"] == client_id.to_string() {
                    return;
                }
            }
        });
        if wait.await.is_ok() {
            return;
        }
    }
    panic!("{text} was never acked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_of_a_core_that_stops_move_to_the_other_with_no_close_gap_or_repeat() {
    let mut stack = Stack::start_pair().await;
    let world = World::new();
    stack.load(&world).await;
    // Users 1 and 2 read the group chat, two sockets each: on both cores.
    let mut readers = Vec::new();
    for user in [1, 2, 1, 2] {
        readers.push(stack.login(&world.users[user]).await);
    }
    let sender = &world.users[0];
    let mut sending = stack.login(sender).await;
    const TOTAL: usize = 40;
    for n in 0..TOTAL {
        if n == TOTAL / 2 {
            stack.stop_core().await;
        }
        send_until_acked(&mut sending, sender, world.group_chat, &format!("m{n}")).await;
    }
    let expected: Vec<String> = (0..TOTAL).map(|n| format!("m{n}")).collect();
    for reader in &mut readers {
        let mut texts = Vec::new();
        let mut seqs = Vec::new();
        while texts.len() < TOTAL {
            let frame = reader.recv().await;
            assert_eq!(frame["type"], "message", "{frame}");
            texts.push(frame["text"].as_str().unwrap().to_owned());
            seqs.push(frame["seq"].as_u64().unwrap());
        }
        assert_eq!(texts, expected, "every message once, in order");
        assert!(
            seqs.windows(2).all(|pair| pair[1] == pair[0] + 1),
            "{seqs:?}"
        );
        reader.expect_silence().await;
    }
    assert_eq!(
        cores_serving(&stack).await,
        1,
        "every socket is on the core left"
    );
    stack.stop().await;
}

/// Reads until `sync_done`; returns the seqs of the chat's messages and of
/// the acks of the client's own, and the cursor's seq for the chat.
async fn until_sync_done(client: &mut Client, chat: uuid::Uuid) -> (Vec<u64>, u64) {
    let chat = chat.to_string();
    let mut had = Vec::new();
    loop {
        let frame = client.recv().await;
        match frame["type"].as_str() {
            Some("message") if frame["chat_id"] == chat.as_str() => {
                had.push(frame["seq"].as_u64().unwrap());
            }
            Some("message_ack") => had.push(frame["seq"].as_u64().unwrap()),
            Some("sync_done") => return (had, frame["cursor"][&chat].as_u64().unwrap()),
            _ => {}
        }
    }
}

/// A client's `sync` that waits behind a slow send when its core goes: the
/// socket moves, and the sync must still be answered, with every message
/// after the client's own cursor (not only after what the edge counted as
/// had at login), before its `sync_done` moves the client's cursor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_the_stopped_core_never_answered_is_answered_in_full_after_the_move() {
    let mut stack = Stack::start_pair().await;
    let world = World::new();
    stack.load(&world).await;
    let sender = &world.users[0];
    let mut sending = stack.login(sender).await;
    for n in 0..3 {
        send_until_acked(
            &mut sending,
            sender,
            world.group_chat,
            &format!("before {n}"),
        )
        .await;
    }
    // One socket of user 2 on each core; they log in when the chat is at 3.
    let reader = &world.users[2];
    let mut readers = vec![stack.login(reader).await, stack.login(reader).await];
    // A sync with nothing to send: once it is done, the core has given the
    // edge what it needs to move the socket (after `auth_success`).
    for socket in &mut readers {
        let since = json!({ world.group_chat.to_string(): 3 });
        socket.send(json!({"type": "sync", "since": since})).await;
        let (had, cursor) = until_sync_done(socket, world.group_chat).await;
        assert_eq!((had.len(), cursor), (0, 3));
    }
    // PostgreSQL holds every send (and sync) until the lock goes.
    let lock = stack.db.store().connection().await.unwrap();
    lock.batch_execute("BEGIN; LOCK TABLE chats IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    for (n, socket) in readers.iter_mut().enumerate() {
        let (_, frame) = send_frame(reader, world.group_chat, &format!("held {n}"));
        socket.send(frame).await;
        let since = json!({ world.group_chat.to_string(): 0 });
        socket.send(json!({"type": "sync", "since": since})).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let release = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        lock.batch_execute("COMMIT").await.unwrap();
    };
    tokio::join!(stack.stop_core(), release);
    for socket in &mut readers {
        let (mut had, cursor) = until_sync_done(socket, world.group_chat).await;
        had.sort_unstable();
        had.dedup();
        assert!(cursor >= 4, "the sync came after the socket's own send");
        // The other socket's message may be stored after the sync read the
        // chat's end: it then comes live, before or after `sync_done`.
        let missing: Vec<u64> = (1..=cursor).filter(|seq| !had.contains(seq)).collect();
        assert!(
            missing.is_empty(),
            "everything up to the cursor reached the client: {missing:?} did not"
        );
        assert!(had.iter().all(|seq| *seq <= cursor + 1), "{had:?}");
    }
    drop(readers);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_socket_that_watches_presence_gets_a_fresh_list_and_later_changes() {
    let mut stack = Stack::start_pair().await;
    let world = World::new();
    stack.load(&world).await;
    // Presence is told between contacts only.
    let (arriving, watching) = (&world.users[0], &world.users[1]);
    make_contacts(&stack.store, UserId(arriving.id), UserId(watching.id)).await;
    // Two sockets of user 1, one on each core, both watching.
    let mut watchers = Vec::new();
    for _ in 0..2 {
        let mut watcher = stack.login(&world.users[1]).await;
        watcher.send(json!({"type": "watch_presence"})).await;
        assert_eq!(watcher.recv().await["type"], "presence_list");
        watchers.push(watcher);
    }
    stack.stop_core().await;
    let mut lists = 0;
    for watcher in &mut watchers {
        let wait = tokio::time::timeout(Duration::from_secs(5), watcher.recv());
        if let Ok(frame) = wait.await {
            assert_eq!(frame["type"], "presence_list", "{frame}");
            lists += 1;
        }
    }
    assert_eq!(lists, 1, "the moved socket asked again, the other did not");
    let _arrived = stack.login(&world.users[0]).await;
    for watcher in &mut watchers {
        let frame = watcher.recv().await;
        assert_eq!(frame["type"], "presence");
        assert_eq!(frame["user_id"], world.users[0].id.to_string());
        watcher.expect_silence().await;
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_edges_and_two_cores_carry_messages_groups_receipts_and_logouts() {
    let stack = Stack::start_pair().await;
    let world = World::new();
    stack.load(&world).await;
    let second = format!("ws://{}/ws", stack.second_edge_address.unwrap());
    let (alice, bob, carol) = (&world.users[0], &world.users[1], &world.users[2]);
    let mut on_first = stack.login(alice).await;
    let mut on_second = Client::connect(&second).await;
    on_second.send(common::login_frame(bob)).await;
    assert_eq!(on_second.recv().await["type"], "auth_success");

    // A message across edges (and, one time in two, cores).
    let (_, frame) = send_frame(alice, world.personal_chat, "hello");
    on_first.send(frame).await;
    assert_eq!(on_first.recv().await["type"], "message_ack");
    let message = on_second.recv().await;
    assert_eq!(message["text"], "hello");

    // A group created on one edge, announced on the other, which sends to
    // it at once; its receipt comes back to the sender.
    on_first
        .send(json!({"name": "Across", "users": [bob.id]}))
        .await;
    let created = on_first.recv().await;
    assert_eq!(created["type"], "group_created", "{created}");
    let announced = on_second.recv().await;
    assert_eq!(announced["type"], "group_created");
    let group_chat: uuid::Uuid = announced["chat_id"].as_str().unwrap().parse().unwrap();
    let (_, frame) = send_frame(bob, group_chat, "first in the group");
    on_second.send(frame).await;
    let ack = on_second.recv().await;
    assert_eq!(ack["type"], "message_ack", "{ack}");
    let delivered = on_first.recv().await;
    assert_eq!(delivered["text"], "first in the group");
    on_first.send(json!({"message_id": delivered["id"]})).await;
    let seen = on_second.recv().await;
    assert_eq!(seen["type"], "message_seen", "{seen}");

    // A logout through the first edge closes the socket of that login on
    // the second.
    let cookie = cookie_login(&stack, carol).await;
    let mut doomed = Client::connect_with(&second, &[("cookie", &cookie)])
        .await
        .unwrap();
    assert_eq!(doomed.recv().await["type"], "auth_success");
    let (status, _, _) = post_json(&stack, "/auth/logout", json!({}), &[("cookie", &cookie)]).await;
    assert_eq!(status, 204);
    assert_eq!(doomed.recv_close().await.0, 4001);
    stack.stop().await;
}
