//! Attacks by whoever reaches the core's port without being an edge: open
//! links, speak for clients, take over or flood an edge's link.

use crate::common::*;
use messenger_proto::v1::EndReason;
use messenger_proto::{CLIENT_ADDRESS_METADATA, EDGE_SECRET_METADATA};

/// An `EdgeLink` call on `core` carrying `secret`, if any.
async fn link_with_secret(core: &Core, secret: Option<&str>) -> Result<(), tonic::Status> {
    let (_signals, queue) = mpsc::channel::<pb::LinkSignal>(1);
    let mut request = tonic::Request::new(ReceiverStream::new(queue));
    let name = uuid::Uuid::new_v4().to_string().parse().unwrap();
    request.metadata_mut().insert("x-edge-link", name);
    if let Some(secret) = secret {
        let value = secret.parse().unwrap();
        request.metadata_mut().insert(EDGE_SECRET_METADATA, value);
    }
    let mut client = MessengerClient::new(core.channel().await);
    client.edge_link(request).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_caller_with_the_edge_secret_opens_a_link() {
    let core = start(Limits::default()).await;
    let anonymous = link_with_secret(&core, None).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::PermissionDenied, "{anonymous:?}");
    let wrong = link_with_secret(&core, Some("a-guess-at-the-secret"))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");
    let secret = core_service::testing::EDGE_SECRET;
    link_with_secret(&core, Some(secret)).await.unwrap();
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn naming_another_address_does_not_escape_the_address_throttle() {
    let settings = Settings {
        auth: AuthSettings {
            max_login_failures: 100,
            max_login_failures_per_address: 3,
            ..AuthSettings::default()
        },
        ..Settings::default()
    };
    let core = start(settings).await;
    let mut client = MessengerClient::new(core.channel().await);
    let mut statuses = Vec::new();
    for attempt in 0..5 {
        let mut request = tonic::Request::new(Login {
            email: format!("guess{attempt}@example.com"),
            password: "wrong password".into(),
        });
        let rotated = format!("198.51.100.{attempt}").parse().unwrap();
        request
            .metadata_mut()
            .insert(CLIENT_ADDRESS_METADATA, rotated);
        statuses.push(client.check_login(request).await.unwrap_err().code());
    }
    assert_eq!(
        statuses,
        [
            Code::Unauthenticated,
            Code::Unauthenticated,
            Code::Unauthenticated,
            Code::ResourceExhausted,
            Code::ResourceExhausted
        ],
        "counted by the caller's own address"
    );
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_link_is_not_taken_over_by_its_name() {
    let core = start(Limits::default()).await;
    let name = uuid::Uuid::new_v4();
    let (signals, mut link) = edge_link_named(&core, name).await.unwrap();
    linked_session(&core, &signals, &mut link, 1, 0).await;

    let taken = edge_link_named(&core, name).await.map(drop).unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists, "{taken:?}");

    // The first link and its session carry on.
    let chats = ClientOperation::from(Operation::Sync(pb::Sync::default()));
    operate(&signals, 1, chats).await;
    let reply = delivery(&mut link).await;
    assert_eq!(reply.sessions, vec![1]);
    assert!(reply.ended.is_none(), "{reply:?}");
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_holds_no_more_sessions_than_its_caps() {
    let settings = Settings {
        edges: EdgeSettings {
            secret: Some(core_service::testing::edge_secret()),
            max_sessions_per_link: 3,
            max_anonymous_sessions_per_link: 2,
        },
        ..Settings::default()
    };
    let core = start(settings).await;
    let (signals, mut link) = edge_link(&core).await;
    open_linked(&signals, 1, "").await;
    open_linked(&signals, 2, "").await;
    open_linked(&signals, 3, "").await;
    let refused = delivery(&mut link).await;
    assert_eq!(refused.sessions, vec![3]);
    assert_eq!(
        refused.ended.expect("session 3 refused").reason(),
        EndReason::Overloaded
    );

    // A login frees an anonymous place; the total stays capped.
    operate(&signals, 1, login(&core, 0)).await;
    let success = event_of(delivery(&mut link).await);
    assert!(
        matches!(success, Some(Event::AuthSuccess(_))),
        "{success:?}"
    );
    resumable(&mut link, 1).await;
    open_linked(&signals, 4, "").await;
    open_linked(&signals, 5, "").await;
    let refused = delivery(&mut link).await;
    assert_eq!(refused.sessions, vec![5]);
    assert_eq!(refused.ended.unwrap().reason(), EndReason::Overloaded);
    core.stop().await;
}
