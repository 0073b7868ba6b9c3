//! An edge killed with SIGKILL loses nothing: its clients reconnect to the
//! restarted edge, resend what was not acked (same client ids) and sync,
//! and end up with every message exactly once.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, Stack, World, login_frame};
use core_service::testing::Process;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

/// An edge process on `address` for the core at `core`.
fn edge_process(address: SocketAddr, core: SocketAddr) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_messenger-edge"));
    command
        .env("EDGE_LISTEN", address.to_string())
        .env("CORE_URL", format!("http://{core}"))
        .env("EDGE_SECRET", core_service::testing::EDGE_SECRET)
        .env("RUST_LOG", "warn");
    Process::start(command, "the edge binary")
}

/// A logged-in client of the edge at `address`, once it accepts connections.
async fn login(address: SocketAddr, user: &core_service::demo_data::DemoUser) -> Client {
    let url = format!("ws://{address}/ws");
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        if let Ok(mut client) = Client::connect_with(&url, &[]).await {
            client.send(login_frame(user)).await;
            assert_eq!(client.recv().await["type"], "auth_success");
            return client;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the edge did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn send_frame(world: &World, client_id: &str, n: usize) -> Value {
    json!({
        "client_id": client_id,
        "sender_id": world.users[0].id,
        "chat_id": world.personal_chat,
        "text": format!("message {n}"),
    })
}

// One scenario, step by step: splitting it would hide the order.
#[allow(clippy::too_many_lines)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_edge_loses_and_duplicates_nothing() {
    let limits = core_service::state::Limits {
        // The 150 messages come from one user at once.
        message_burst: 1_000,
        ..core_service::state::Limits::default()
    };
    let stack = Stack::start_configured(limits, |_| {}).await;
    let world = World::new();
    stack.load(&world).await;
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = reserved.local_addr().unwrap();
    drop(reserved);
    let mut edge = edge_process(address, stack.core_address);

    let mut alice = login(address, &world.users[0]).await;
    let mut bob = login(address, &world.users[1]).await;
    let total = 150;
    let client_ids: Vec<String> = (0..total)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    for (n, client_id) in client_ids.iter().enumerate() {
        alice.send(send_frame(&world, client_id, n)).await;
    }
    let mut acked: HashMap<String, Value> = HashMap::new();
    while acked.len() < 40 {
        let ack = alice.recv().await;
        acked.insert(
            ack["client_id"].as_str().unwrap().to_owned(),
            ack["id"].clone(),
        );
    }
    edge.kill();
    for frame in alice.drain().await {
        if frame["type"] == "message_ack" {
            acked.insert(
                frame["client_id"].as_str().unwrap().to_owned(),
                frame["id"].clone(),
            );
        }
    }
    let mut received: Vec<Value> = bob.drain().await;

    let mut edge = edge_process(address, stack.core_address);
    let mut alice = login(address, &world.users[0]).await;
    let unacked: Vec<usize> = (0..total)
        .filter(|n| !acked.contains_key(&client_ids[*n]))
        .collect();
    for n in &unacked {
        alice.send(send_frame(&world, &client_ids[*n], *n)).await;
    }
    let mut acks = 0;
    while acks < unacked.len() {
        let ack = alice.recv().await;
        // The core may still be applying what the dead edge had passed on
        // for Alice's old connection: those arrive here as her messages
        // from another device.
        if ack["type"] == "message" {
            continue;
        }
        assert_eq!(ack["type"], "message_ack", "{ack}");
        acks += 1;
        let earlier = acked.insert(
            ack["client_id"].as_str().unwrap().to_owned(),
            ack["id"].clone(),
        );
        assert!(
            earlier.is_none() || earlier.as_ref() == Some(&ack["id"]),
            "a retry changed its id"
        );
    }
    assert_eq!(acked.len(), total);

    let last_seen = received
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .max()
        .unwrap_or(0);
    let mut bob = login(address, &world.users[1]).await;
    let cursor = json!({ world.personal_chat.to_string(): last_seen });
    bob.send(json!({"type": "sync", "since": cursor})).await;
    loop {
        let frame = bob.recv().await;
        if frame["type"] == "sync_done" {
            break;
        }
        // The world's group chat is not in the cursor: it is announced.
        if frame["type"] == "message" {
            received.push(frame);
        }
    }
    // A message may arrive both live and in the sync; clients drop repeats
    // by id (documented). What matters: nothing missing, nothing stored twice.
    let ids: Vec<String> = received
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    let expected: HashSet<String> = acked
        .values()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    let got: HashSet<String> = unique.into_iter().cloned().collect();
    let missing = expected.difference(&got).count();
    let unexpected = got.difference(&expected).count();
    let stored = stack.db.count("SELECT count(*) FROM messages").await;
    assert!(
        missing == 0 && unexpected == 0,
        "{missing} acked not received, {unexpected} received not acked; \
         {} received, {} acked, {stored} stored",
        got.len(),
        expected.len()
    );
    assert_eq!(
        stack.db.count("SELECT count(*) FROM messages").await,
        total as i64
    );
    edge.kill();
    stack.stop().await;
}
