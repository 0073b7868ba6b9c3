//! Messages, receipts and groups between sessions on different cores: in
//! each chat's order, exactly once, and complete even when an event is
//! lost (a core that died between its commit and its event, a NATS that
//! restarted).

use crate::{Cluster, require_redis};
use core_service::demo_data::DemoUser;
use core_service::demo_data::generate::Sizes;
use core_service::ids::{ChatId, MessageId, UserId};
use core_service::store::records::NewMessage;
use core_service::testing::Process;
use messenger_proto::SharedEvent;
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::messenger_client::MessengerClient;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{self as pb, Login};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

/// How long a test waits for one event.
const WAIT: Duration = Duration::from_secs(10);

/// A logged-in session with a stream of its own.
pub(crate) struct Session {
    operations: mpsc::Sender<pb::ClientOperation>,
    events: tonic::Streaming<SharedEvent>,
}

impl Session {
    pub(crate) async fn open(url: &str, user: &DemoUser) -> Session {
        let (operations, queue) = mpsc::channel(256);
        let mut client = MessengerClient::connect(url.to_owned()).await.unwrap();
        let events = client
            .session(ReceiverStream::new(queue))
            .await
            .unwrap()
            .into_inner();
        let mut session = Session { operations, events };
        session
            .operate(Operation::Login(Login {
                email: user.email.clone(),
                password: user.password.clone(),
            }))
            .await;
        assert!(matches!(session.next().await, Event::AuthSuccess(_)));
        session
    }

    pub(crate) async fn operate(&self, operation: Operation) {
        let operation = pb::ClientOperation::from(operation);
        self.operations.send(operation).await.unwrap();
    }

    pub(crate) async fn send(&self, sender: Uuid, chat: Uuid, text: String) {
        self.operate(Operation::SendMessage(pb::SendMessage {
            attachment_ids: Vec::new(),
            written_at: None,
            client_id: Uuid::new_v4().to_string(),
            sender_id: sender.to_string(),
            chat_id: chat.to_string(),
            text,
        }))
        .await;
    }

    pub(crate) async fn next(&mut self) -> Event {
        let event = tokio::time::timeout(WAIT, self.events.message())
            .await
            .expect("an event in time")
            .unwrap()
            .expect("the session goes on");
        event.into_event().unwrap().event.unwrap()
    }

    /// The next `count` messages of other sessions, skipping acks.
    pub(crate) async fn messages(&mut self, count: usize) -> Vec<pb::Message> {
        let mut messages = Vec::with_capacity(count);
        while messages.len() < count {
            match self.next().await {
                Event::Message(message) => messages.push(message),
                Event::MessageAck(_) => {}
                other => panic!("unexpected event {other:?}"),
            }
        }
        messages
    }

    /// The messages that come until none has for a moment.
    async fn rest(&mut self) -> Vec<pb::Message> {
        let mut messages = Vec::new();
        loop {
            let wait = tokio::time::timeout(Duration::from_secs(3), self.events.message());
            let Ok(event) = wait.await else {
                return messages;
            };
            let event = event.unwrap().unwrap().into_event().unwrap().event;
            if let Some(Event::Message(message)) = event {
                messages.push(message);
            }
        }
    }

    /// No other message arrives for a moment (acks of its own may).
    pub(crate) async fn is_quiet(&mut self) -> bool {
        loop {
            let wait = tokio::time::timeout(Duration::from_millis(1500), self.events.message());
            let Ok(event) = wait.await else {
                return true;
            };
            let event = event.unwrap().unwrap().into_event().unwrap().event;
            if !matches!(event, Some(Event::MessageAck(_))) {
                return false;
            }
        }
    }
}

/// One group of four users; the users and the group's chat.
pub(crate) fn group_of_four() -> Sizes {
    Sizes {
        users: 4,
        personal_chats: 0,
        groups: 1,
        group_size: 4,
        ..Sizes::default()
    }
}

/// The users of the cluster's one group and its chat.
pub(crate) fn group(cluster: &Cluster) -> (Vec<DemoUser>, Uuid) {
    let group = &cluster.data.groups[0];
    let members = cluster
        .data
        .user_group
        .iter()
        .filter(|member| member.group_id == group.id)
        .map(|member| {
            let user = cluster.data.users.iter().find(|u| u.id == member.user_id);
            user.unwrap().clone()
        })
        .collect();
    (members, group.chat_id)
}

/// Each message's seq, checked to be the chat's numbers in order.
fn assert_in_order(messages: &[pb::Message], first: u64) {
    let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
    let expected: Vec<u64> = (first..first + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "each message once, in the chat's order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_on_two_cores_reach_every_session_in_order_exactly_once() {
    let cluster = Cluster::start(&group_of_four()).await;
    let (users, chat) = group(&cluster);
    let [first, second] = cluster.urls.clone();
    let mut sessions = Vec::new();
    for (n, user) in users.iter().enumerate() {
        let url = if n % 2 == 0 { &first } else { &second };
        sessions.push(Session::open(url, user).await);
    }
    // Users 0 (first core) and 1 (second core) send at the same time.
    const EACH: usize = 60;
    for n in 0..EACH {
        for sender in 0..2 {
            let text = format!("{sender}:{n}");
            sessions[sender].send(users[sender].id, chat, text).await;
        }
    }
    for (n, session) in sessions.iter_mut().enumerate() {
        let expected = if n < 2 { EACH } else { 2 * EACH };
        let messages = session.messages(expected).await;
        if n >= 2 {
            assert_in_order(&messages, 1);
        } else {
            // A sender sees the other's messages, in order, never its own.
            let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
            assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "{seqs:?}");
            let own = users[n].id.to_string();
            assert!(messages.iter().all(|m| m.sender_id != own));
        }
        assert!(session.is_quiet().await, "nothing is delivered twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_and_its_receipts_reach_the_members_on_the_other_core() {
    let cluster = Cluster::start(&group_of_four()).await;
    let (users, _) = group(&cluster);
    let [first, second] = cluster.urls.clone();
    let mut creator = Session::open(&first, &users[0]).await;
    let mut member = Session::open(&second, &users[1]).await;
    creator
        .operate(Operation::CreateGroup(pb::CreateGroup {
            name: "across".into(),
            user_ids: vec![users[1].id.to_string()],
        }))
        .await;
    let Event::GroupCreated(created) = creator.next().await else {
        panic!("the creator is answered");
    };
    let Event::GroupCreated(announced) = member.next().await else {
        panic!("the member on the other core is told");
    };
    assert_eq!(announced, created);
    // The other core knows the new chat's members at once: its first
    // message is taken and delivered.
    let chat: Uuid = created.chat_id.parse().unwrap();
    member.send(users[1].id, chat, "first!".into()).await;
    let Event::MessageAck(ack) = member.next().await else {
        panic!("the message is stored");
    };
    let delivered = creator.messages(1).await;
    assert_eq!(delivered[0].id, ack.id);
    creator
        .operate(Operation::MessageSeen(pb::MessageSeen {
            message_id: ack.id.clone(),
        }))
        .await;
    let Event::MessageSeen(seen) = member.next().await else {
        panic!("the sender on the other core learns it was seen");
    };
    assert_eq!(seen.id, ack.id);
    assert!(seen.seen);
}

/// Stores a message the way a core does, with no event at all: what a
/// core that died between its commit and its event leaves behind.
async fn store_silently(cluster: &Cluster, sender: Uuid, chat: Uuid, text: &str) {
    let message = NewMessage {
        id: MessageId(Uuid::now_v7()),
        chat_id: ChatId(chat),
        sender_id: UserId(sender),
        client_id: Uuid::new_v4(),
        written_at: None,
        text: text.to_owned(),
        attachments: Default::default(),
    };
    let stored = cluster.db.store().insert_message(&message).await.unwrap();
    assert!(stored.unwrap().created);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_event_never_came_is_read_from_the_database() {
    let cluster = Cluster::start(&group_of_four()).await;
    let (users, chat) = group(&cluster);
    let [first, second] = cluster.urls.clone();
    let sender = Session::open(&first, &users[0]).await;
    let mut reader = Session::open(&second, &users[1]).await;
    sender.send(users[0].id, chat, "one".into()).await;
    assert_in_order(&reader.messages(1).await, 1);
    // The lost message is the chat's last: only the tail check can find it.
    store_silently(&cluster, users[2].id, chat, "two").await;
    let lost_at = std::time::Instant::now();
    let found = reader.messages(1).await;
    println!("a lost last message was read after {:?}", lost_at.elapsed());
    assert_in_order(&found, 2);
    assert_eq!(found[0].text, "two");
    // A lost message followed by a delivered one: the gap holds the later
    // one back until the earlier is read.
    store_silently(&cluster, users[2].id, chat, "three").await;
    sender.send(users[0].id, chat, "four".into()).await;
    let rest = reader.messages(2).await;
    assert_in_order(&rest, 3);
    assert!(reader.is_quiet().await, "nothing is delivered twice");
}

/// A NATS server of the test's own, on `port`.
fn nats_server(port: u16) -> Process {
    let mut command = std::process::Command::new("nats-server");
    command.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
    Process::start(command, "nats-server (is it installed?)")
}

pub(crate) async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

pub(crate) async fn until_listening(port: u16) {
    if !listens_within(port, Duration::from_secs(5)).await {
        panic!("nothing listens on port {port}");
    }
}

/// Whether something listens on `port` within `patience`.
pub(crate) async fn listens_within(port: u16, patience: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + patience;
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_nats_restarts_all_arrive_in_order() {
    require_redis().await;
    let port = free_port().await;
    let mut nats = nats_server(port);
    until_listening(port).await;
    let url = format!("nats://127.0.0.1:{port}");
    let cluster = Cluster::start_on(&group_of_four(), &url).await;
    let (users, chat) = group(&cluster);
    let [first, second] = cluster.urls.clone();
    let sender = Session::open(&first, &users[0]).await;
    let mut reader = Session::open(&second, &users[1]).await;
    const TOTAL: usize = 60;
    for n in 0..TOTAL {
        if n == TOTAL / 3 {
            nats.kill();
        }
        if n == 2 * TOTAL / 3 {
            nats = nats_server(port);
            until_listening(port).await;
        }
        sender.send(users[0].id, chat, format!("m{n}")).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let messages = reader.messages(TOTAL).await;
    assert_in_order(&messages, 1);
    assert!(reader.is_quiet().await, "nothing is delivered twice");
}

/// A core process of `cluster` on `port`.
fn core_process(cluster: &Cluster, port: u16) -> Process {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_messenger-core"));
    command
        .arg("serve")
        .env("DATABASE_URL", cluster.db.url())
        .env("CORE_LISTEN", format!("127.0.0.1:{port}"))
        .env("NATS_URL", &cluster.nats)
        .env("EDGE_SECRET", core_service::testing::EDGE_SECRET)
        // The traffic comes from one user at once.
        .env("MESSAGE_BURST", "1000")
        .env("NATS_SUBJECT", &cluster.subject)
        .env("CLUSTER_SECRET", core_service::testing::CLUSTER_SECRET)
        .env("REDIS_URL", crate::redis_url())
        .env("RUST_LOG", "warn");
    Process::start(command, "the core binary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_killed_mid_stream_leaves_the_other_cores_sessions_every_acked_message() {
    let cluster = Cluster::start(&group_of_four()).await;
    let (users, chat) = group(&cluster);
    let port = free_port().await;
    let mut doomed = core_process(&cluster, port);
    until_listening(port).await;
    let mut sender = Session::open(&format!("http://127.0.0.1:{port}"), &users[0]).await;
    let mut reader = Session::open(&cluster.urls[1], &users[1]).await;
    for n in 0..200 {
        sender.send(users[0].id, chat, format!("m{n}")).await;
    }
    let mut acked = Vec::new();
    while acked.len() < 40 {
        if let Event::MessageAck(ack) = sender.next().await {
            acked.push(ack.seq);
        }
    }
    doomed.kill();
    // Acks already on their way still count.
    while let Ok(Ok(Some(event))) =
        tokio::time::timeout(Duration::from_secs(1), sender.events.message()).await
    {
        if let Ok(pb::ServerEvent {
            event: Some(Event::MessageAck(ack)),
        }) = event.into_event()
        {
            acked.push(ack.seq);
        }
    }
    let last_acked = acked.iter().copied().max().unwrap();
    // The reader gets every stored message (the acked ones and those the
    // killed core stored without acking), each once, in order.
    let mut received = reader.messages(usize::try_from(last_acked).unwrap()).await;
    received.extend(reader.rest().await);
    let stored = cluster
        .db
        .count(&format!(
            "SELECT count(*) FROM messages WHERE chat_id = '{chat}'"
        ))
        .await;
    assert_eq!(received.len() as i64, stored);
    assert_in_order(&received, 1);
}
