//! Delivery guarantees: exactly-once sends and per-chat order.

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
