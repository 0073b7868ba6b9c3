//! A core killed with SIGKILL mid-stream loses nothing: after it restarts,
//! clients that resend their un-acked messages (same client ids) and sync
//! from their cursor end up with every message exactly once.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use core_service::demo_data::generate::{Sizes, generate};
use core_service::demo_data::{DemoData, populate};
use core_service::testing::{Process, TestDatabase};
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::messenger_client::MessengerClient;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{self as pb, ClientOperation, Cursor, Login, SendMessage, Sync};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// The real core binary, serving `database` on `address`.
fn start_core(database: &str, address: SocketAddr) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_messenger-core"));
    command
        .arg("serve")
        .env("DATABASE_URL", database)
        .env("CORE_LISTEN", address.to_string())
        .env("EDGE_SECRET", core_service::testing::EDGE_SECRET)
        // The traffic comes from one user at once.
        .env("MESSAGE_BURST", "1000")
        .env("RUST_LOG", "warn");
    Process::start(command, "the core binary")
}

/// A session of `user` once the core answers.
async fn session(
    address: SocketAddr,
    user: &core_service::demo_data::DemoUser,
) -> (
    mpsc::Sender<ClientOperation>,
    tonic::Streaming<messenger_proto::SharedEvent>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut client) = MessengerClient::connect(format!("http://{address}")).await {
            let (operations, queue) = mpsc::channel(256);
            if let Ok(response) = client.session(ReceiverStream::new(queue)).await {
                let mut events = response.into_inner();
                let login = Login {
                    email: user.email.clone(),
                    password: user.password.clone(),
                };
                operations
                    .send(operation(Operation::Login(login)))
                    .await
                    .unwrap();
                let first = next(&mut events).await.expect("login answered");
                assert!(matches!(first, Event::AuthSuccess(_)), "{first:?}");
                return (operations, events);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the core did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A database with two users who share a personal chat, and a free
/// address for the core.
async fn two_users(seed: u64) -> (TestDatabase, DemoData, SocketAddr) {
    let db = TestDatabase::create().await;
    let data = generate(&Sizes {
        users: 2,
        personal_chats: 1,
        groups: 0,
        group_size: 2,
        messages_per_chat: 0,
        seed,
        ..Sizes::default()
    })
    .unwrap();
    populate::populate(&db.store(), &data).await.unwrap();
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = reserved.local_addr().unwrap();
    (db, data, address)
}

fn operation(operation: Operation) -> ClientOperation {
    ClientOperation::from(operation)
}

/// The next event, or `None` when the stream failed or ended.
async fn next(events: &mut tonic::Streaming<messenger_proto::SharedEvent>) -> Option<Event> {
    let event = tokio::time::timeout(Duration::from_secs(10), events.message())
        .await
        .expect("an event or an error in time");
    event
        .ok()
        .flatten()
        .and_then(|event| event.into_event().ok()?.event)
}

// One scenario, step by step: splitting it would hide the order.
#[allow(clippy::too_many_lines)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_core_loses_and_duplicates_nothing() {
    let (db, data, address) = two_users(3).await;
    let chat = data.chats[0].id;
    let (alice, bob) = (&data.users[0], &data.users[1]);

    let mut core = start_core(&db.url(), address);
    let (sender, mut sender_events) = session(address, alice).await;
    let (_receiver, mut receiver_events) = session(address, bob).await;

    // 200 messages in flight; the core is killed after the 60th ack.
    let total = 200;
    let client_ids: Vec<String> = (0..total)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let send = |n: usize| {
        operation(Operation::SendMessage(SendMessage {
            attachment_ids: Vec::new(),
            written_at: None,
            client_id: client_ids[n].clone(),
            sender_id: alice.id.to_string(),
            chat_id: chat.to_string(),
            text: format!("message {n}"),
        }))
    };
    for n in 0..total {
        sender.send(send(n)).await.unwrap();
    }
    let mut acked: HashMap<String, String> = HashMap::new();
    while acked.len() < 60 {
        match next(&mut sender_events).await {
            Some(Event::MessageAck(ack)) => {
                acked.insert(ack.client_id, ack.id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    core.kill();

    // Bob keeps what arrived before the kill; his stream then fails.
    let mut received: Vec<pb::Message> = vec![];
    while let Some(event) = next(&mut receiver_events).await {
        if let Event::Message(message) = event {
            received.push(message);
        }
    }
    // Alice may still read acks that were in flight.
    while let Some(event) = next(&mut sender_events).await {
        if let Event::MessageAck(ack) = event {
            acked.insert(ack.client_id, ack.id);
        }
    }

    let mut core = start_core(&db.url(), address);
    // Alice resends everything not acked, with the same client ids.
    let (sender, mut sender_events) = session(address, alice).await;
    let unacked: Vec<usize> = (0..total)
        .filter(|n| !acked.contains_key(&client_ids[*n]))
        .collect();
    for n in &unacked {
        sender.send(send(*n)).await.unwrap();
    }
    for _ in &unacked {
        match next(&mut sender_events).await {
            Some(Event::MessageAck(ack)) => {
                let earlier = acked.insert(ack.client_id.clone(), ack.id.clone());
                assert!(
                    earlier.is_none() || earlier == Some(ack.id),
                    "a retry changed its id"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(acked.len(), total);

    // Bob syncs from the last seq he saw.
    let last_seen = received.iter().map(|m| m.seq).max().unwrap_or(0);
    let (receiver, mut receiver_events) = session(address, bob).await;
    let cursor = Cursor {
        chats: [(chat.to_string(), last_seen)].into_iter().collect(),
    };
    receiver
        .send(operation(Operation::Sync(Sync {
            since: Some(cursor),
        })))
        .await
        .unwrap();
    loop {
        match next(&mut receiver_events).await {
            Some(Event::Message(message)) => received.push(message),
            Some(Event::SyncDone(_)) => break,
            other => panic!("unexpected {other:?}"),
        }
    }

    let ids: Vec<&str> = received.iter().map(|m| m.id.as_str()).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "Bob got a message twice");
    let expected: HashSet<&str> = acked.values().map(String::as_str).collect();
    assert_eq!(unique, expected, "Bob has every acked message");
    assert_eq!(
        db.count("SELECT count(*) FROM messages").await,
        total as i64
    );
    let seqs: Vec<u64> = received.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=total as u64).collect::<Vec<_>>(),
        "in order, no gaps"
    );
    core.kill();
}

/// `docker stop` (SIGTERM) under traffic: the core stops taking work, ends
/// every session (records each connection's end), and exits cleanly; every
/// message it acked is stored, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_traffic_stops_cleanly_and_keeps_every_acked_message() {
    let (db, data, address) = two_users(5).await;
    let chat = data.chats[0].id;
    let (alice, bob) = (&data.users[0], &data.users[1]);

    let mut core = start_core(&db.url(), address);
    let (sender, mut sender_events) = session(address, alice).await;
    let (_receiver, mut receiver_events) = session(address, bob).await;
    for n in 0..300 {
        let send = SendMessage {
            attachment_ids: Vec::new(),
            written_at: None,
            client_id: uuid::Uuid::new_v4().to_string(),
            sender_id: alice.id.to_string(),
            chat_id: chat.to_string(),
            text: format!("message {n}"),
        };
        sender
            .send(operation(Operation::SendMessage(send)))
            .await
            .unwrap();
    }
    let mut acked: HashSet<String> = HashSet::new();
    while acked.len() < 50 {
        if let Some(Event::MessageAck(ack)) = next(&mut sender_events).await {
            acked.insert(ack.id);
        }
    }
    core.terminate();
    while let Some(event) = next(&mut sender_events).await {
        if let Event::MessageAck(ack) = event {
            acked.insert(ack.id);
        }
    }
    while next(&mut receiver_events).await.is_some() {}
    let status = tokio::task::spawn_blocking(move || {
        let status = core.wait_exit(Duration::from_secs(20));
        (status, core)
    })
    .await
    .unwrap()
    .0;
    assert!(status.is_some_and(|status| status.success()), "{status:?}");

    let ids: Vec<String> = acked.into_iter().collect();
    let client = db.store().connection().await.unwrap();
    let stored: i64 = client
        .query_one(
            "SELECT count(*) FROM messages WHERE id::text = ANY($1)",
            &[&ids],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, ids.len() as i64, "every acked message is stored");
    let open = "SELECT count(*) FROM connections WHERE ended_at IS NULL";
    assert_eq!(db.count(open).await, 0, "every connection row is ended");
    let shut = "SELECT count(*) FROM connections WHERE end_reason = 'server_shutdown'";
    assert_eq!(db.count(shut).await, 2);
}
