//! Revocations carried to every core over NATS.

use crate::{Cluster, authorized};
use messenger_proto::v1::messenger_client::MessengerClient;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{self as pb, Login};
use std::time::Duration;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_core_ends_the_login_on_the_other() {
    let cluster = Cluster::start(&crate::two_users()).await;
    let user = &cluster.data.users[0];
    let [first, second] = cluster.urls.clone();
    let mut on_first = MessengerClient::connect(first).await.unwrap();
    let mut on_second = MessengerClient::connect(second).await.unwrap();
    let login = Login {
        email: user.email.clone(),
        password: user.password.clone(),
    };
    let token = on_first
        .create_login_session(login)
        .await
        .unwrap()
        .into_inner()
        .token;
    // A session on the second core, opened with the token, which that core
    // has now looked up (and cached).
    let (_operations, queue) = tokio::sync::mpsc::channel::<pb::ClientOperation>(4);
    let stream = tokio_stream::wrappers::ReceiverStream::new(queue);
    let mut events = on_second
        .session(authorized(stream, &token))
        .await
        .unwrap()
        .into_inner();
    let first_event = events
        .message()
        .await
        .unwrap()
        .unwrap()
        .into_event()
        .unwrap();
    assert!(matches!(first_event.event, Some(Event::AuthSuccess(_))));
    let me = pb::AuthenticateRequest {};
    on_second
        .authenticate(authorized(me, &token))
        .await
        .unwrap();

    let revoked_at = std::time::Instant::now();
    on_first
        .revoke(authorized(pb::RevokeRequest {}, &token))
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), events.message())
        .await
        .expect("the session on the other core ends at once");
    // The figure docs/performance.md quotes (run with --nocapture).
    println!(
        "revocation ended the other core's session after {:?}",
        revoked_at.elapsed()
    );
    assert_eq!(ended.unwrap_err().code(), Code::Unauthenticated);
    let refused = on_second.authenticate(authorized(me, &token)).await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
}
