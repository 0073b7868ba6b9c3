//! How fast one user may send, counted for all their devices on every core
//! of the cluster (through Redis), and in memory when Redis is gone.

use crate::events::Session;
use crate::{Cluster, cluster_settings, nats_url, require_nats, two_users};
use core_service::ids::UserId;
use core_service::send_rate::{Rate, SendRate};
use core_service::state::{Limits, Settings};
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{self as pb};
use std::time::Duration;
use uuid::Uuid;

/// One message a second, three at once.
fn slow_cluster_settings() -> Settings {
    let subject = format!("test.{}.events", Uuid::new_v4().simple());
    Settings {
        limits: Limits {
            messages_per_second: 1,
            message_burst: 3,
            ..Limits::default()
        },
        ..cluster_settings(&nats_url(), &subject)
    }
}

pub(crate) fn send(client_id: &str, sender: Uuid, chat: Uuid, text: &str) -> Operation {
    Operation::SendMessage(pb::SendMessage {
        attachment_ids: Vec::new(),
        written_at: None,
        client_id: client_id.to_owned(),
        sender_id: sender.to_string(),
        chat_id: chat.to_string(),
        text: text.to_owned(),
    })
}

/// The answer to a session's own operation, past the messages its user's
/// other devices send.
pub(crate) async fn answer(session: &mut Session) -> Event {
    loop {
        match session.next().await {
            Event::Message(_) => {}
            event => return event,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_devices_on_two_cores_share_one_rate() {
    require_nats().await;
    let cluster = Cluster::start_with(&two_users(), slow_cluster_settings()).await;
    let (alice, bob) = (&cluster.data.users[0], &cluster.data.users[1]);
    let chat = cluster.data.chats[0].id;
    let mut phone = Session::open(&cluster.urls[0], alice).await;
    let mut laptop = Session::open(&cluster.urls[1], alice).await;
    let mut reader = Session::open(&cluster.urls[0], bob).await;

    for n in 0..2 {
        phone
            .operate(send(
                &Uuid::new_v4().to_string(),
                alice.id,
                chat,
                &format!("phone {n}"),
            ))
            .await;
        assert!(matches!(answer(&mut phone).await, Event::MessageAck(_)));
    }
    laptop
        .operate(send(
            &Uuid::new_v4().to_string(),
            alice.id,
            chat,
            "laptop 0",
        ))
        .await;
    assert!(matches!(answer(&mut laptop).await, Event::MessageAck(_)));
    assert_eq!(reader.messages(3).await.len(), 3);

    // The fourth, from either device, is beyond the burst.
    let refused = Uuid::new_v4().to_string();
    laptop
        .operate(send(&refused, alice.id, chat, "laptop 1"))
        .await;
    let wait = match answer(&mut laptop).await {
        Event::Error(error) => {
            assert_eq!(error.code, "rate_limited");
            assert_eq!(error.client_id.as_deref(), Some(refused.as_str()));
            error.retry_after_seconds.expect("a retry_after")
        }
        other => panic!("expected rate_limited, got {other:?}"),
    };
    assert_eq!(wait, 1);
    assert!(
        reader.is_quiet().await,
        "a refused message is not delivered"
    );
    let stored = format!("SELECT count(*) FROM messages WHERE chat_id = '{chat}'");
    assert_eq!(cluster.db.count(&stored).await, 3, "nor stored");

    // The same message, retried after the wait, goes through once.
    tokio::time::sleep(Duration::from_secs(wait.into())).await;
    phone
        .operate(send(&refused, alice.id, chat, "laptop 1"))
        .await;
    assert!(matches!(answer(&mut phone).await, Event::MessageAck(_)));
    let arrived = reader.messages(1).await;
    assert_eq!(arrived[0].text, "laptop 1");
    assert_eq!(cluster.db.count(&stored).await, 4);
}

#[tokio::test]
async fn without_redis_a_core_counts_in_its_own_memory() {
    let rate = SendRate::shared(
        Rate::new(1, 2),
        crate::redis_link("redis://127.0.0.1:1"),
        "test",
    );
    let user = UserId(Uuid::new_v4());
    assert!(rate.take(user).await.is_ok());
    assert!(rate.take(user).await.is_ok());
    assert!(rate.take(user).await.is_err());
    assert!(rate.take(UserId(Uuid::new_v4())).await.is_ok());
}
