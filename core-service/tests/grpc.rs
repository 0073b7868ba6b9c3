//! The core's gRPC face, driven with real gRPC clients: health, reflection,
//! history, login check, and session streams.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use core_service::demo_data::generate::{Sizes, generate};
use core_service::demo_data::{DemoData, populate};
use core_service::state::Limits;
use core_service::testing::TestDatabase;
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::messenger_client::MessengerClient;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{self as pb, ClientOperation, HistoryRequest, Login};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::Channel;

struct Core {
    url: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    data: DemoData,
    db: TestDatabase,
}

async fn start(limits: Limits) -> Core {
    let db = TestDatabase::create().await;
    let data = generate(&Sizes {
        users: 4,
        personal_chats: 2,
        groups: 1,
        group_size: 3,
        messages_per_chat: 3,
        seed: 11,
    });
    populate::populate(&db.store(), &data).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut stopped) = watch::channel(false);
    let store = db.store();
    let task = tokio::spawn(async move {
        let signal = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        core_service::serve(store, limits, listener, signal)
            .await
            .unwrap();
    });
    Core {
        url,
        stop,
        task,
        data,
        db,
    }
}

impl Core {
    async fn channel(&self) -> Channel {
        Channel::from_shared(self.url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("core stops in time")
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_serving() {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let core = start(Limits::default()).await;
    let mut health = HealthClient::new(core.channel().await);
    for service in ["", "messenger.v1.Messenger"] {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        let status = health.check(request).await.unwrap().into_inner().status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_the_services_in_both_versions() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let core = start(Limits::default()).await;
    let mut reflection = ServerReflectionClient::new(core.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    assert!(
        names.contains(&"messenger.v1.Messenger".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );

    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as Alpha;
    use tonic_reflection::pb::v1alpha::{self as alpha};
    let mut old = Alpha::new(core.channel().await);
    let request = alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut responses = old
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    assert!(
        responses
            .message()
            .await
            .unwrap()
            .unwrap()
            .message_response
            .is_some()
    );
    core.stop().await;
}

/// A request carrying `token` as its credential.
fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

/// An access token of the demo user `user`.
async fn access_token(core: &Core, user: usize) -> String {
    use messenger_proto::v1::{PasswordGrant, TokenRequest, token_request::Grant};
    let mut client = MessengerClient::new(core.channel().await);
    let user = &core.data.users[user];
    let grant = Grant::Password(PasswordGrant {
        username: user.email.clone(),
        password: user.password.clone(),
    });
    let request = TokenRequest { grant: Some(grant) };
    client
        .grant_tokens(request)
        .await
        .unwrap()
        .into_inner()
        .access_token
}

// One scenario, step by step: splitting it would hide the order.
#[allow(clippy::too_many_lines)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_validates_and_returns_storage_order() {
    let limits = Limits {
        default_page_size: 2,
        ..Limits::default()
    };
    let core = start(limits).await;
    let mut client = MessengerClient::new(core.channel().await);
    let chat = core.data.chats[0].id.to_string();
    let member = core
        .data
        .chat_members
        .iter()
        .find(|m| m.chat_id == core.data.chats[0].id)
        .unwrap();
    let user = core
        .data
        .users
        .iter()
        .position(|u| u.id == member.user_id)
        .unwrap();
    let token = access_token(&core, user).await;
    let page = client
        .get_history(authorized(
            HistoryRequest {
                chat_id: chat.clone(),
                limit: 10,
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut expected: Vec<_> = core
        .data
        .messages
        .iter()
        .filter(|m| m.chat_id.to_string() == chat)
        .collect();
    expected.sort_by_key(|m| m.timestamp);
    let got: Vec<String> = page.messages.iter().map(|m| m.id.clone()).collect();
    let want: Vec<String> = expected.iter().map(|m| m.id.to_string()).collect();
    assert_eq!(got, want);

    // No limit: the core's default page size, from the oldest.
    let first = HistoryRequest {
        chat_id: chat.clone(),
        ..Default::default()
    };
    let page = client.get_history(authorized(first, &token)).await.unwrap();
    let got: Vec<String> = page
        .into_inner()
        .messages
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(got, want[..2]);

    for (request, field) in [
        (
            HistoryRequest {
                chat_id: "nope".into(),
                limit: 1,
                ..Default::default()
            },
            "chat_id",
        ),
        (
            HistoryRequest {
                chat_id: chat.clone(),
                limit: 101,
                ..Default::default()
            },
            "limit",
        ),
    ] {
        let status = client
            .get_history(authorized(request, &token))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let named = status
            .metadata()
            .get(messenger_proto::INVALID_FIELD_METADATA)
            .unwrap();
        assert_eq!(named.to_str().unwrap(), field);
    }
    let unauthenticated = HistoryRequest {
        chat_id: chat.clone(),
        limit: 1,
        offset: 0,
        ..Default::default()
    };
    let status = client.get_history(unauthenticated).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_login_answers_without_revealing_which_part_was_wrong() {
    let core = start(Limits::default()).await;
    let mut client = MessengerClient::new(core.channel().await);
    let user = &core.data.users[0];
    let ok = client
        .check_login(Login {
            email: user.email.clone(),
            password: user.password.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.id, user.id.to_string());
    let wrong_password = client
        .check_login(Login {
            email: user.email.clone(),
            password: "x".into(),
        })
        .await
        .unwrap_err();
    let unknown = client
        .check_login(Login {
            email: "nobody@example.com".into(),
            password: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong_password.code(), Code::Unauthenticated);
    assert_eq!(wrong_password.message(), unknown.message());
    core.stop().await;
}

/// The login operation of the demo user `user`.
fn login(core: &Core, user: usize) -> ClientOperation {
    let user = &core.data.users[user];
    let login = Login {
        email: user.email.clone(),
        password: user.password.clone(),
    };
    ClientOperation {
        operation: Some(Operation::Login(login)),
    }
}

/// A raw gRPC session: the operation sender and the event stream.
async fn session(
    core: &Core,
    user: usize,
) -> (
    mpsc::Sender<ClientOperation>,
    tonic::Streaming<messenger_proto::SharedEvent>,
) {
    let (operations, queue) = mpsc::channel(16);
    let mut client = MessengerClient::new(core.channel().await);
    let mut events = client
        .session(ReceiverStream::new(queue))
        .await
        .unwrap()
        .into_inner();
    operations.send(login(core, user)).await.unwrap();
    let first = events.message().await.unwrap().unwrap();
    assert!(matches!(
        first.into_event().unwrap().event,
        Some(Event::AuthSuccess(_))
    ));
    (operations, events)
}

// One scenario, step by step: splitting it would hide the order.
#[allow(clippy::too_many_lines)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_closed_while_others_keep_receiving() {
    // Big messages, so that the HTTP/2 windows between core and reader
    // (2 MiB per stream) fill up and the core's queue of 4 overflows.
    let limits = Limits {
        session_queue: 4,
        max_text_chars: 20_000,
        ..Limits::default()
    };
    let core = start(limits).await;
    let chat = &core.data.chats[0];
    let members: Vec<usize> = core
        .data
        .chat_members
        .iter()
        .filter(|m| m.chat_id == chat.id)
        .map(|m| {
            core.data
                .users
                .iter()
                .position(|u| u.id == m.user_id)
                .unwrap()
        })
        .collect();
    let (sender_ops, mut sender_events) = session(&core, members[0]).await;
    let (slow_ops, mut slow_events) = session(&core, members[1]).await;
    let (_fast_ops, mut fast_events) = session(&core, members[1]).await;
    let sender_id = core.data.users[members[0]].id.to_string();
    let total = 400;
    let fast_reader = tokio::spawn(async move {
        let mut received = 0;
        while received < total {
            match fast_events
                .message()
                .await
                .unwrap()
                .unwrap()
                .into_event()
                .unwrap()
                .event
            {
                Some(Event::Message(_)) => received += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        received
    });
    for n in 0..total {
        let send = pb::SendMessage {
            client_id: uuid::Uuid::new_v4().to_string(),
            sender_id: sender_id.clone(),
            chat_id: chat.id.to_string(),
            client_timestamp: None,
            text: format!("{n} {}", "x".repeat(16_000)),
        };
        sender_ops
            .send(ClientOperation {
                operation: Some(Operation::SendMessage(send)),
            })
            .await
            .unwrap();
        let ack = sender_events
            .message()
            .await
            .unwrap()
            .unwrap()
            .into_event()
            .unwrap();
        assert!(matches!(ack.event, Some(Event::MessageAck(_))), "{ack:?}");
    }
    assert_eq!(fast_reader.await.unwrap(), total);
    // The slow session, read only now, ends with RESOURCE_EXHAUSTED.
    let status = loop {
        match slow_events.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the slow session ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted);
    // Once the client hangs up, its connection history says why it ended.
    drop(slow_ops);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let sql = "SELECT count(*) FROM connections WHERE end_reason = 'slow_consumer'";
    while core.db.count(sql).await != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "slow consumer not recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_sessions_with_unavailable() {
    let core = start(Limits::default()).await;
    let (_ops, mut events) = session(&core, 0).await;
    let (_anonymous, queue) = mpsc::channel::<ClientOperation>(1);
    let mut client = MessengerClient::new(core.channel().await);
    let mut anonymous_events = client
        .session(ReceiverStream::new(queue))
        .await
        .unwrap()
        .into_inner();
    let _ = core.stop.send(true);
    assert_eq!(
        events.message().await.unwrap_err().code(),
        Code::Unavailable
    );
    assert_eq!(
        anonymous_events.message().await.unwrap_err().code(),
        Code::Unavailable
    );
    tokio::time::timeout(Duration::from_secs(10), core.task)
        .await
        .unwrap()
        .unwrap();
}

/// The demo users in the group chat (the chat with the most members).
fn group_members(core: &Core) -> Vec<usize> {
    let data = &core.data;
    let members_of = |chat: uuid::Uuid| -> Vec<usize> {
        data.chat_members
            .iter()
            .filter(|m| m.chat_id == chat)
            .map(|m| data.users.iter().position(|u| u.id == m.user_id).unwrap())
            .collect()
    };
    data.chats
        .iter()
        .map(|chat| members_of(chat.id))
        .max_by_key(Vec::len)
        .unwrap()
}

/// An edge's link to `core`: the signal sender and the deliveries.
async fn edge_link(
    core: &Core,
) -> (
    mpsc::Sender<pb::LinkSignal>,
    tonic::Streaming<messenger_proto::LinkDelivery>,
) {
    let (signals, queue) = mpsc::channel(256);
    let mut request = tonic::Request::new(ReceiverStream::new(queue));
    let name = uuid::Uuid::new_v4().to_string().parse().unwrap();
    request.metadata_mut().insert("x-edge-link", name);
    request
        .metadata_mut()
        .insert("x-edge-id", "edge-under-test".parse().unwrap());
    let mut client = MessengerClient::new(core.channel().await);
    let deliveries = client.edge_link(request).await.unwrap().into_inner();
    (signals, deliveries)
}

async fn signal(signals: &mpsc::Sender<pb::LinkSignal>, signal: pb::link_signal::Signal) {
    let signal = Some(signal);
    signals.send(pb::LinkSignal { signal }).await.unwrap();
}

/// Opens session `number` on the link, with `token` if given.
async fn open_linked(signals: &mpsc::Sender<pb::LinkSignal>, number: u64, token: &str) {
    let opening = pb::OpenSession {
        session: number,
        token: token.into(),
        client_address: "192.0.2.7".into(),
        user_agent: "grpc-test".into(),
    };
    signal(signals, pb::link_signal::Signal::OpenSession(opening)).await;
}

/// Sends `operation` as session `number`'s.
async fn operate(signals: &mpsc::Sender<pb::LinkSignal>, number: u64, operation: ClientOperation) {
    let operation = pb::SessionOperation {
        session: number,
        operation: Some(operation),
    };
    signal(signals, pb::link_signal::Signal::Operation(operation)).await;
}

/// The next delivery on the link.
async fn delivery(
    link: &mut tonic::Streaming<messenger_proto::LinkDelivery>,
) -> messenger_proto::LinkDelivery {
    tokio::time::timeout(Duration::from_secs(10), link.message())
        .await
        .expect("a delivery comes")
        .unwrap()
        .expect("the link is open")
}

fn event_of(delivery: messenger_proto::LinkDelivery) -> Option<Event> {
    delivery.event?.into_event().unwrap().event
}

/// Opens session `number` on the link and logs it in as `user` with the
/// login operation; its `auth_success` arrives on the link, and says that
/// the core took the operation.
async fn linked_session(
    core: &Core,
    signals: &mpsc::Sender<pb::LinkSignal>,
    link: &mut tonic::Streaming<messenger_proto::LinkDelivery>,
    number: u64,
    user: usize,
) {
    open_linked(signals, number, "").await;
    operate(signals, number, login(core, user)).await;
    let delivery = delivery(link).await;
    assert_eq!(delivery.sessions, vec![number]);
    assert_eq!(delivery.operations_taken, 1);
    let event = event_of(delivery);
    assert!(matches!(event, Some(Event::AuthSuccess(_))), "{event:?}");
}

/// Waits until `sql` counts `expected` rows.
async fn wait_for_count(core: &Core, sql: &str, expected: i64) {
    for _ in 0..200 {
        if core.db.count(sql).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{sql} never counted {expected}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_carries_each_event_once_for_all_its_sessions() {
    let core = start(Limits::default()).await;
    let members = group_members(&core);
    let chat = core.data.chats.iter().find(|chat| {
        core.data
            .chat_members
            .iter()
            .filter(|m| m.chat_id == chat.id)
            .count()
            == members.len()
    });
    let chat = chat.unwrap().id.to_string();
    let (signals, mut link) = edge_link(&core).await;
    let (sender_ops, mut sender_events) = session(&core, members[0]).await;
    linked_session(&core, &signals, &mut link, 7, members[1]).await;
    linked_session(&core, &signals, &mut link, 9, members[2]).await;

    let send = pb::SendMessage {
        client_id: uuid::Uuid::new_v4().to_string(),
        sender_id: core.data.users[members[0]].id.to_string(),
        chat_id: chat,
        client_timestamp: None,
        text: "once per edge".into(),
    };
    let operation = Some(Operation::SendMessage(send));
    sender_ops
        .send(ClientOperation { operation })
        .await
        .unwrap();
    let ack = sender_events.message().await.unwrap().unwrap();
    assert!(matches!(
        ack.into_event().unwrap().event,
        Some(Event::MessageAck(_))
    ));
    let delivery_of_message = delivery(&mut link).await;
    let mut sessions = delivery_of_message.sessions.clone();
    sessions.sort_unstable();
    assert_eq!(sessions, vec![7, 9], "one delivery for both sessions");
    assert_eq!(delivery_of_message.operations_taken, 0);
    match event_of(delivery_of_message) {
        Some(Event::Message(message)) => assert_eq!(message.text, "once per edge"),
        other => panic!("expected the message, got {other:?}"),
    }

    // A session the edge reports as slow ends; the other one does not.
    signal(&signals, pb::link_signal::Signal::SlowSession(9)).await;
    let ended = delivery(&mut link).await;
    assert_eq!(ended.sessions, vec![9]);
    let status = ended.ended.expect("session 9 ended");
    assert_eq!(status.code, Code::ResourceExhausted as i32);
    let quiet = tokio::time::timeout(Duration::from_millis(200), link.message()).await;
    assert!(quiet.is_err(), "nothing for session 7: {quiet:?}");

    // When the edge drops the link, the sessions on it end; the history
    // names the edge and the client the edge reported.
    drop(signals);
    drop(link);
    let ended = "SELECT count(*) FROM connections WHERE edge = 'edge-under-test' \
                 AND client_address = '192.0.2.7' AND user_agent = 'grpc-test' AND end_reason";
    wait_for_count(&core, &format!("{ended} = 'slow_consumer'"), 1).await;
    wait_for_count(&core, &format!("{ended} = 'error'"), 1).await;
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_session_opened_with_a_token_is_logged_in_and_ends_when_its_client_leaves() {
    let core = start(Limits::default()).await;
    let user = &core.data.users[0];
    let mut client = MessengerClient::new(core.channel().await);
    let login = Login {
        email: user.email.clone(),
        password: user.password.clone(),
    };
    let token = client.create_login_session(login).await.unwrap();
    let token = token.into_inner().token;
    let (signals, mut link) = edge_link(&core).await;

    open_linked(&signals, 1, &token).await;
    let first = delivery(&mut link).await;
    assert_eq!(first.sessions, vec![1]);
    match event_of(first) {
        Some(Event::AuthSuccess(me)) => assert_eq!(me.id, user.id.to_string()),
        other => panic!("expected auth_success, got {other:?}"),
    }

    // A token that is not valid ends the session at once.
    open_linked(&signals, 2, "msa_not-a-token").await;
    let refused = delivery(&mut link).await;
    assert_eq!(refused.sessions, vec![2]);
    assert_eq!(refused.ended.unwrap().code, Code::Unauthenticated as i32);

    // An operation with no reply is still reported as taken.
    let seen = pb::MessageSeen {
        message_id: uuid::Uuid::new_v4().to_string(),
    };
    let operation = ClientOperation {
        operation: Some(Operation::MessageSeen(seen)),
    };
    operate(&signals, 1, operation).await;
    let answer = delivery(&mut link).await;
    assert_eq!(answer.operations_taken, 1);

    signal(&signals, pb::link_signal::Signal::CloseSession(1)).await;
    let closed = "SELECT count(*) FROM connections WHERE end_reason = 'client_closed'";
    wait_for_count(&core, closed, 1).await;
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_that_sends_past_a_sessions_window_ends_only_that_session() {
    let core = start(Limits::default()).await;
    let (signals, mut link) = edge_link(&core).await;
    linked_session(&core, &signals, &mut link, 1, 0).await;

    // Logins wait their turn for the password hash, so the operations pile
    // up in the session's queue until one goes past the window.
    open_linked(&signals, 2, "").await;
    let mut wrong = login(&core, 1);
    if let Some(Operation::Login(login)) = &mut wrong.operation {
        login.password = "not the password".into();
    }
    for _ in 0..=messenger_proto::LINK_OPERATION_WINDOW {
        operate(&signals, 2, wrong.clone()).await;
    }
    let ended = loop {
        let next = delivery(&mut link).await;
        if let Some(ended) = next.ended {
            assert_eq!(next.sessions, vec![2]);
            break ended;
        }
    };
    assert_eq!(ended.code, Code::ResourceExhausted as i32);

    // The link and its other session carry on.
    let seen = pb::MessageSeen {
        message_id: uuid::Uuid::new_v4().to_string(),
    };
    let operation = ClientOperation {
        operation: Some(Operation::MessageSeen(seen)),
    };
    operate(&signals, 1, operation).await;
    let answer = loop {
        let next = delivery(&mut link).await;
        if next.sessions == vec![1] {
            break next;
        }
    };
    assert!(matches!(event_of(answer), Some(Event::Error(_))));
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_needs_a_uuid_name() {
    let core = start(Limits::default()).await;
    let (_signals, queue) = mpsc::channel::<pb::LinkSignal>(1);
    let mut client = MessengerClient::new(core.channel().await);
    let mut request = tonic::Request::new(ReceiverStream::new(queue));
    request
        .metadata_mut()
        .insert("x-edge-link", "not-a-uuid".parse().unwrap());
    let status = client.edge_link(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    core.stop().await;
}
