//! What every family of gRPC tests uses: a core on a fresh database with
//! demo data, authenticated requests, session streams and edge links.

pub use core_service::demo_data::generate::{Sizes, generate};
pub use core_service::demo_data::{DemoData, populate};
pub use core_service::state::{AuthSettings, EdgeSettings, Limits, Settings};
pub use core_service::testing::TestDatabase;
pub use messenger_proto::v1::client_operation::Operation;
pub use messenger_proto::v1::messenger_client::MessengerClient;
pub use messenger_proto::v1::server_event::Event;
pub use messenger_proto::v1::{self as pb, ClientOperation, HistoryRequest, Login};
pub use std::time::Duration;
pub use tokio::sync::{mpsc, watch};
pub use tokio_stream::wrappers::ReceiverStream;
pub use tonic::Code;
pub use tonic::transport::Channel;

/// A core serving on a local port, over a database of its own with a small
/// demo data set.
pub struct Core {
    pub url: String,
    pub stop: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<()>,
    pub data: DemoData,
    pub db: TestDatabase,
}

/// Starts a core with `settings` on a fresh database; it accepts the test
/// edges unless the settings say otherwise.
pub async fn start(settings: impl Into<Settings>) -> Core {
    let mut settings = settings.into();
    if settings.edges.secret.is_none() {
        settings.edges.secret = Some(core_service::testing::edge_secret());
    }
    let db = TestDatabase::create().await;
    let data = generate(&Sizes {
        users: 4,
        personal_chats: 2,
        groups: 1,
        group_size: 3,
        messages_per_chat: 3,
        seed: 11,
        ..Sizes::default()
    })
    .unwrap();
    populate::populate(&db.store(), &data).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut stopped) = watch::channel(false);
    let store = db.store();
    let settings = db.with_media(settings);
    let task = tokio::spawn(async move {
        let signal = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        core_service::serve(store, settings, listener, signal)
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
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("core stops in time")
            .unwrap();
    }
}

/// A request carrying `token` as its credential.
pub fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

/// An access token of the demo user `user`.
pub async fn access_token(core: &Core, user: usize) -> String {
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

/// The login operation of the demo user `user`.
pub fn login(core: &Core, user: usize) -> ClientOperation {
    let user = &core.data.users[user];
    let login = Login {
        email: user.email.clone(),
        password: user.password.clone(),
    };
    ClientOperation::from(Operation::Login(login))
}

/// A raw gRPC session: the operation sender and the event stream.
pub async fn session(core: &Core, user: usize) -> Own {
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

/// The demo users in the group chat (the chat with the most members).
pub fn group_members(core: &Core) -> Vec<usize> {
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
pub async fn edge_link(
    core: &Core,
) -> (
    mpsc::Sender<pb::LinkSignal>,
    tonic::Streaming<messenger_proto::LinkDelivery>,
) {
    let name = uuid::Uuid::new_v4();
    edge_link_named(core, name).await.unwrap()
}

/// An edge's link to `core` named `name`, or the status it was refused with.
pub async fn edge_link_named(
    core: &Core,
    name: uuid::Uuid,
) -> Result<
    (
        mpsc::Sender<pb::LinkSignal>,
        tonic::Streaming<messenger_proto::LinkDelivery>,
    ),
    tonic::Status,
> {
    let (signals, queue) = mpsc::channel(256);
    let mut request = tonic::Request::new(ReceiverStream::new(queue));
    let name = name.to_string().parse().unwrap();
    request.metadata_mut().insert("x-edge-link", name);
    request.metadata_mut().insert(
        messenger_proto::EDGE_SECRET_METADATA,
        core_service::testing::EDGE_SECRET.parse().unwrap(),
    );
    request
        .metadata_mut()
        .insert("x-edge-id", "edge-under-test".parse().unwrap());
    let mut client = MessengerClient::new(core.channel().await);
    let deliveries = client.edge_link(request).await?.into_inner();
    Ok((signals, deliveries))
}

pub async fn signal(signals: &mpsc::Sender<pb::LinkSignal>, signal: pb::link_signal::Signal) {
    let signal = Some(signal);
    signals.send(pb::LinkSignal { signal }).await.unwrap();
}

/// Opens session `number` on the link, with `token` if given.
pub async fn open_linked(signals: &mpsc::Sender<pb::LinkSignal>, number: u64, token: &str) {
    open_moved(signals, number, token, None).await;
}

/// Opens session `number` on the link with `token`, as a session moved
/// from another core if `moving` is given.
pub async fn open_moved(
    signals: &mpsc::Sender<pb::LinkSignal>,
    number: u64,
    token: &str,
    moving: Option<pb::SessionMove>,
) {
    let opening = pb::OpenSession {
        session: number,
        token: token.into(),
        client_address: "192.0.2.7".into(),
        user_agent: "grpc-test".into(),
        moving,
    };
    signal(signals, pb::link_signal::Signal::OpenSession(opening)).await;
}

/// Sends `operation` as session `number`'s.
pub async fn operate(
    signals: &mpsc::Sender<pb::LinkSignal>,
    number: u64,
    operation: ClientOperation,
) {
    let operation = pb::SessionOperation {
        session: number,
        operation: Some(operation),
    };
    signal(signals, pb::link_signal::Signal::Operation(operation)).await;
}

/// The next delivery on the link.
pub async fn delivery(
    link: &mut tonic::Streaming<messenger_proto::LinkDelivery>,
) -> messenger_proto::LinkDelivery {
    tokio::time::timeout(Duration::from_secs(10), link.message())
        .await
        .expect("a delivery comes")
        .unwrap()
        .expect("the link is open")
}

pub fn event_of(delivery: messenger_proto::LinkDelivery) -> Option<Event> {
    delivery.event?.into_event().unwrap().event
}

/// Takes the `resumable` that follows a linked session's `auth_success`,
/// checking it carries a token and the user's chats.
pub async fn resumable(
    link: &mut tonic::Streaming<messenger_proto::LinkDelivery>,
    number: u64,
) -> pb::Resumable {
    let delivery = delivery(link).await;
    assert_eq!(delivery.sessions, vec![number]);
    match event_of(delivery) {
        Some(Event::Resumable(resumable)) => {
            assert!(!resumable.token.is_empty());
            assert!(resumable.cursor.is_some());
            resumable
        }
        other => panic!("expected resumable, got {other:?}"),
    }
}

/// Opens session `number` on the link and logs it in as `user` with the
/// login operation; its `auth_success` arrives on the link, and says that
/// the core took the operation, followed by its `resumable`.
pub async fn linked_session(
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
    resumable(link, number).await;
}

/// Waits until `sql` counts `expected` rows.
pub async fn wait_for_count(core: &Core, sql: &str, expected: i64) {
    for _ in 0..200 {
        if core.db.count(sql).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{sql} never counted {expected}");
}

/// A user's own session: its operations and its events.
pub type Own = (
    mpsc::Sender<ClientOperation>,
    tonic::Streaming<messenger_proto::SharedEvent>,
);

/// Sends `operation` and waits for the event `wanted` picks.
pub async fn answer<T>(
    own: &mut Own,
    operation: Operation,
    wanted: impl Fn(Event) -> Option<T>,
) -> T {
    own.0.send(ClientOperation::from(operation)).await.unwrap();
    wait(own, wanted).await
}

/// Waits for the event `wanted` picks.
pub async fn wait<T>(own: &mut Own, wanted: impl Fn(Event) -> Option<T>) -> T {
    loop {
        let event = own
            .1
            .message()
            .await
            .unwrap()
            .unwrap()
            .into_event()
            .unwrap();
        if let Some(found) = event.event.and_then(&wanted) {
            return found;
        }
    }
}
