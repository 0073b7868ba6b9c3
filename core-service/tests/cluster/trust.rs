//! What the cores believe: only events sealed with the cluster's secret,
//! and even those only as hints. Membership is the database's word: a
//! forged or replayed event cannot open a chat to an outsider, and a core
//! that missed an event refuses a former member at once where it counts
//! (sending, history) and stops delivering to them within the membership
//! cache's time to live.

use crate::events::{Session, free_port, group, until_listening};
use crate::{Cluster, authorized, cluster_settings, nats_url, require_nats, start_core_with};
use core_service::bus::Event as BusEvent;
use core_service::bus::access::{NatsAccess, NatsCredentials};
use core_service::bus::seal::{ClusterSecret, Seal};
use core_service::bus::wire::{Envelope, Notice};
use core_service::demo_data::DemoUser;
use core_service::demo_data::generate::Sizes;
use core_service::ids::{ChatId, MessageId, UserId};
use core_service::membership::Membership;
use core_service::store::records::MessageRecord;
use core_service::testing::Process;
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::messenger_client::MessengerClient;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{self as pb, Login};
use std::time::Duration;
use tonic::Code;
use uuid::Uuid;

/// A group of four and one user outside it.
fn group_and_outsider() -> Sizes {
    Sizes {
        users: 5,
        personal_chats: 0,
        groups: 1,
        group_size: 4,
        ..Sizes::default()
    }
}

fn outsider(cluster: &Cluster, members: &[DemoUser]) -> DemoUser {
    let inside = |user: &&DemoUser| members.iter().any(|member| member.id == user.id);
    let found = cluster.data.users.iter().find(|user| !inside(user));
    found.unwrap().clone()
}

/// A notice that claims `outsider` joined the chat, with a version far
/// beyond the chat's, and tells the outsider a read marker.
fn notice_opening(chat: Uuid, members: &[DemoUser], outsider: Uuid) -> BusEvent {
    let mut claimed: Vec<UserId> = members.iter().map(|member| UserId(member.id)).collect();
    claimed.push(UserId(outsider));
    let marker = pb::ReadMarker {
        chat_id: chat.to_string(),
        seq: 1,
    };
    BusEvent::Notice(Notice {
        users: vec![UserId(outsider)].into(),
        event: pb::ServerEvent {
            event: Some(Event::ReadMarker(marker)),
        },
        membership: Some(Membership {
            chat: ChatId(chat),
            version: 1_000_000,
            members: claimed.into(),
        }),
    })
}

/// A message "stored" in the chat that no core stored.
fn message_from(chat: Uuid, sender: Uuid, seq: i64, text: &str) -> BusEvent {
    BusEvent::Stored(MessageRecord {
        id: MessageId(Uuid::now_v7()),
        chat_id: ChatId(chat),
        sender_id: UserId(sender),
        text: text.into(),
        timestamp: chrono::Utc::now(),
        seen: false,
        seq,
        edited_at: None,
        deleted: false,
        attachments: Default::default(),
    })
}

/// Publishes raw payloads on the cluster's subject, from a client that is
/// not a core.
async fn publish(cluster: &Cluster, payloads: Vec<Vec<u8>>) {
    let nats = async_nats::connect(&cluster.nats).await.unwrap();
    for payload in payloads {
        let subject = cluster.subject.clone();
        nats.publish(subject, payload.into()).await.unwrap();
    }
    nats.flush().await.unwrap();
}

/// `user`'s history of `chat` read through the core at `url`.
async fn history(url: &str, user: &DemoUser, chat: Uuid) -> Result<usize, tonic::Status> {
    let mut client = MessengerClient::connect(url.to_owned()).await.unwrap();
    let login = Login {
        email: user.email.clone(),
        password: user.password.clone(),
    };
    let token = client.create_login_session(login).await?.into_inner().token;
    let request = pb::HistoryRequest {
        chat_id: chat.to_string(),
        ..Default::default()
    };
    let page = client.get_history(authorized(request, &token)).await?;
    Ok(page.into_inner().messages.len())
}

/// The next error the session gets, skipping anything else.
async fn next_error(session: &mut Session) -> pb::Error {
    loop {
        if let Event::Error(error) = session.next().await {
            return error;
        }
    }
}

/// `session` (of `user`) can neither read nor send to `chat` through the
/// core at `url`.
async fn refused(url: &str, session: &mut Session, user: &DemoUser, chat: Uuid) {
    let status = history(url, user, chat).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    session.send(user.id, chat, "let me in".into()).await;
    assert_eq!(next_error(session).await.code, "not_a_member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_without_the_clusters_seal_are_dropped() {
    let cluster = Cluster::start(&group_and_outsider()).await;
    let (members, chat) = group(&cluster);
    let stranger = outsider(&cluster, &members);
    let [first, second] = cluster.urls.clone();
    let mut member = Session::open(&second, &members[1]).await;
    let mut watcher = Session::open(&second, &stranger).await;

    // Unsealed, and sealed with another secret.
    let forged = [
        notice_opening(chat, &members, stranger.id),
        message_from(chat, members[0].id, 1, "forged"),
    ];
    let other_cluster = Seal::new(&ClusterSecret::random(), &cluster.subject);
    let mut payloads = Vec::new();
    for event in &forged {
        let plain = Envelope::encode(Uuid::new_v4(), event);
        payloads.push(other_cluster.seal(plain.clone()));
        payloads.push(plain);
    }
    publish(&cluster, payloads).await;

    // The message that really takes seq 1, after the forgeries.
    let sender = Session::open(&first, &members[0]).await;
    sender.send(members[0].id, chat, "real".into()).await;
    let got = member.messages(1).await;
    assert_eq!((got[0].text.as_str(), got[0].seq), ("real", 1));
    assert!(member.is_quiet().await, "nothing forged arrives");
    assert!(watcher.is_quiet().await, "the outsider is told nothing");
    refused(&second, &mut watcher, &stranger, chat).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_event_cannot_make_a_member_the_database_does_not_know() {
    let cluster = Cluster::start(&group_and_outsider()).await;
    let (members, chat) = group(&cluster);
    let stranger = outsider(&cluster, &members);
    let [first, second] = cluster.urls.clone();
    // Both cores have read the chat's members (a message went through).
    let sender = Session::open(&first, &members[0]).await;
    let mut member = Session::open(&second, &members[1]).await;
    sender.send(members[0].id, chat, "hello".into()).await;
    member.messages(1).await;

    // A replayed or mistaken event, with the cluster's seal.
    let seal = Seal::new(&core_service::testing::cluster_secret(), &cluster.subject);
    let event = notice_opening(chat, &members, stranger.id);
    let payload = seal.seal(Envelope::encode(Uuid::new_v4(), &event));
    publish(&cluster, vec![payload]).await;

    let mut watcher = Session::open(&second, &stranger).await;
    refused(&second, &mut watcher, &stranger, chat).await;
    // Members still get the chat's messages on the core that took the event.
    sender.send(members[0].id, chat, "still here".into()).await;
    assert_eq!(member.messages(1).await[0].text, "still here");
    assert!(watcher.is_quiet().await, "the outsider gets none of them");
}

/// How long the membership cache keeps a chat in the test below.
const MEMBERSHIP_TTL: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_that_missed_a_removal_refuses_the_former_member_in_bounded_time() {
    require_nats().await;
    let cluster = Cluster::start(&group_and_outsider()).await;
    let (members, chat) = group(&cluster);
    // A third core on a subject of its own: it hears none of the others.
    let deaf = crate::Settings {
        membership_ttl: MEMBERSHIP_TTL,
        ..cluster_settings(
            &nats_url(),
            &format!("test.{}.deaf", Uuid::new_v4().simple()),
        )
    };
    let (lonely, _stop) = start_core_with(&cluster.db, deaf).await;
    let owner = members
        .iter()
        .find(|member| member.id == cluster.data.groups[0].creator_id)
        .unwrap();
    let others: Vec<&DemoUser> = members.iter().filter(|m| m.id != owner.id).collect();
    let (leaver, stayer) = (others[0], others[1]);
    let mut leaving = Session::open(&lonely, leaver).await;
    let staying = Session::open(&lonely, stayer).await;
    staying.send(stayer.id, chat, "before".into()).await;
    assert_eq!(leaving.messages(1).await[0].text, "before");

    let admin = Session::open(&cluster.urls[0], owner).await;
    admin
        .operate(Operation::RemoveMember(pb::RemoveMember {
            chat_id: chat.to_string(),
            user_id: leaver.id.to_string(),
        }))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // At once, where the database decides.
    refused(&lonely, &mut leaving, leaver, chat).await;
    // Within the time to live, for live delivery and typing.
    tokio::time::sleep(MEMBERSHIP_TTL).await;
    staying.send(stayer.id, chat, "after".into()).await;
    leaving
        .operate(Operation::Typing(pb::Typing {
            chat_id: chat.to_string(),
        }))
        .await;
    assert_eq!(next_error(&mut leaving).await.code, "not_a_member");
    assert!(leaving.is_quiet().await, "nothing after the removal");
}

/// A NATS of the test's own, configured by the repository's
/// `deploy/nats.conf`, with `password` for the cores.
fn nats_as_deployed(port: u16, monitor: u16, password: &str) -> Process {
    let command = nats_command(port, monitor, password);
    Process::start(command, "nats-server (is it installed?)")
}

/// The command of a NATS configured by the repository's `deploy/nats.conf`
/// on `port` (monitoring on `monitor`), with `password` for the cores.
/// A password for the cores' NATS user. It begins with a letter, as
/// `deploy/nats.conf` asks: nats-server reads a value that begins with a
/// digit as a number (`8e3…` fails to parse), even from the environment.
pub(crate) fn nats_password() -> String {
    format!("p{}", Uuid::new_v4().simple())
}

pub(crate) fn nats_command(port: u16, monitor: u16, password: &str) -> std::process::Command {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/nats.conf");
    let mut command = std::process::Command::new("nats-server");
    let (port, monitor) = (port.to_string(), monitor.to_string());
    command
        .args(["-c", config, "-a", "127.0.0.1", "-p", &port, "-m", &monitor])
        .env("NATS_CORE_PASSWORD", password);
    command
}

/// The credential of the cores in `deploy/nats.conf`.
fn core_login(password: &str) -> NatsAccess {
    NatsAccess {
        credentials: NatsCredentials::UserPassword {
            user: "core".into(),
            password: password.into(),
        },
        ..NatsAccess::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_cores_get_into_the_clusters_nats() {
    let password = nats_password();
    let (port, monitor) = (free_port().await, free_port().await);
    let _nats = nats_as_deployed(port, monitor, &password);
    until_listening(port).await;
    let url = format!("nats://127.0.0.1:{port}");
    let connect = |options: async_nats::ConnectOptions| {
        let url = url.clone();
        async move {
            let attempt = options.connect(url.as_str());
            tokio::time::timeout(Duration::from_secs(5), attempt).await
        }
    };
    let anonymous = connect(async_nats::ConnectOptions::new()).await;
    assert!(matches!(anonymous, Ok(Err(_))), "no anonymous access");
    let guess = async_nats::ConnectOptions::with_user_and_password("core".into(), "guess".into());
    assert!(matches!(connect(guess).await, Ok(Err(_))), "no guessing");

    // A core without the credential does not start, and says why.
    let subject = format!("messenger.{}.events", Uuid::new_v4().simple());
    let settings = cluster_settings(&url, &subject);
    let db = core_service::testing::TestDatabase::create().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = core_service::serve(
        db.store(),
        db.with_media(settings.clone()),
        listener,
        async {},
    )
    .await;
    let refused = served.unwrap_err().to_string();
    assert!(refused.contains("NATS"), "{refused}");

    // Cores with it exchange their events.
    let settings = crate::Settings {
        nats_access: core_login(&password),
        ..settings
    };
    let cluster = Cluster::start_with(&group_and_outsider(), settings).await;
    let (members, chat) = group(&cluster);
    let sender = Session::open(&cluster.urls[0], &members[0]).await;
    let mut reader = Session::open(&cluster.urls[1], &members[1]).await;
    sender.send(members[0].id, chat, "across".into()).await;
    assert_eq!(reader.messages(1).await[0].text, "across");
}
