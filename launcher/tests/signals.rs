//! `docker stop` on the whole messenger: SIGTERM to the `messenger` binary
//! while clients send. The edge closes every WebSocket with 1001, the core
//! finishes what it took, every connection's end is recorded, the process
//! exits cleanly, and every message a client saw acked is stored.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{demo_pair, free_port, logged_in, messenger, next_frame};
use core_service::testing::{Process, TestDatabase};
use futures_util::SinkExt;
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_traffic_closes_clients_and_loses_nothing() {
    let db = TestDatabase::create().await;
    let (edge_port, core_port) = (free_port(), free_port());
    let mut command = messenger(&db, edge_port, core_port);
    // The 300 messages come from one user at once.
    command.env("MESSAGE_BURST", "1000");
    let mut messenger = Process::start(command, "the messenger binary");
    let ([alice, bob], chat) = demo_pair();
    let mut sender = logged_in(edge_port, &alice.0, &alice.1).await;
    let mut receiver = logged_in(edge_port, &bob.0, &bob.1).await;

    for n in 0..300 {
        let frame = json!({"client_id": uuid::Uuid::new_v4(), "sender_id": alice.2,
                           "chat_id": chat, "text": format!("message {n}")});
        sender.send(Message::text(frame.to_string())).await.unwrap();
    }
    let mut acked: HashSet<String> = HashSet::new();
    while acked.len() < 50 {
        let frame = next_frame(&mut sender).await.unwrap();
        if frame["type"] == "message_ack" {
            acked.insert(frame["id"].as_str().unwrap().to_owned());
        }
    }
    messenger.terminate();
    let code = loop {
        match next_frame(&mut sender).await {
            Ok(frame) if frame["type"] == "message_ack" => {
                acked.insert(frame["id"].as_str().unwrap().to_owned());
            }
            Ok(_) => {}
            Err(code) => break code,
        }
    };
    assert_eq!(code, Some(1001), "the edge says it is going away");
    while next_frame(&mut receiver).await.is_ok() {}
    let status = tokio::task::spawn_blocking(move || messenger.wait_exit(Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(status.is_some_and(|status| status.success()), "{status:?}");

    let ids: Vec<String> = acked.into_iter().collect();
    let client = db.store().connection().await.unwrap();
    let row = client
        .query_one(
            "SELECT count(*) FROM messages WHERE id::text = ANY($1)",
            &[&ids],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, i64>(0),
        ids.len() as i64,
        "every acked message is stored"
    );
    let open = "SELECT count(*) FROM connections WHERE ended_at IS NULL";
    assert_eq!(db.count(open).await, 0, "every connection row is ended");
    assert_eq!(db.count("SELECT count(*) FROM connections").await, 2);
}
