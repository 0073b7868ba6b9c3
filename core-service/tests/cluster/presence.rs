//! Presence across cores: a user is online while any device is connected
//! on any core, their contacts are told once when that changes, and a core
//! found gone takes its users' devices with it.

use crate::events::Session;
use crate::{Cluster, authorized, redis_url, require_redis};
use core_service::demo_data::DemoUser;
use core_service::demo_data::generate::Sizes;
use core_service::ids::{CoreId, UserId};
use core_service::presence::{Change, Presence};
use core_service::testing::make_contacts;
use messenger_proto::v1::client_operation::Operation;
use messenger_proto::v1::messenger_client::MessengerClient;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{self as pb, Login};
use std::time::Duration;

/// Three users in one group; none has a personal chat.
fn three_in_a_group() -> Sizes {
    Sizes {
        users: 3,
        personal_chats: 0,
        groups: 1,
        group_size: 3,
        ..Sizes::default()
    }
}

impl Session {
    /// Asks for presence; the answer: the contacts' presence now.
    async fn watch_presence(&mut self) -> Vec<pb::Presence> {
        self.operate(Operation::WatchPresence(pb::WatchPresence {}))
            .await;
        match self.next().await {
            Event::PresenceList(list) => list.people,
            other => panic!("expected the presence list, got {other:?}"),
        }
    }

    /// The next presence event, skipping anything else.
    async fn presence(&mut self) -> pb::Presence {
        loop {
            if let Event::Presence(presence) = self.next().await {
                return presence;
            }
        }
    }

    /// The presence events that come until none has for a moment.
    async fn presence_for_a_moment(&mut self) -> Vec<pb::Presence> {
        let mut seen = Vec::new();
        loop {
            let wait = tokio::time::timeout(Duration::from_millis(1500), self.next());
            match wait.await {
                Ok(Event::Presence(presence)) => seen.push(presence),
                Ok(_) => {}
                Err(_) => return seen,
            }
        }
    }
}

/// `user`'s view of their contacts' presence, by REST's call.
async fn presence_seen_by(url: &str, user: &DemoUser) -> Vec<pb::Presence> {
    let mut client = MessengerClient::connect(url.to_owned()).await.unwrap();
    let login = Login {
        email: user.email.clone(),
        password: user.password.clone(),
    };
    let token = client
        .create_login_session(login)
        .await
        .unwrap()
        .into_inner()
        .token;
    client
        .list_presence(authorized(pb::ListPresenceRequest {}, &token))
        .await
        .unwrap()
        .into_inner()
        .people
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_online_while_any_device_is_on_any_core() {
    let cluster = Cluster::start(&three_in_a_group()).await;
    let users = &cluster.data.users;
    let (someone, watcher, other) = (&users[0], &users[1], &users[2]);
    let store = cluster.db.store();
    for (a, b) in [(someone, watcher), (watcher, other), (someone, other)] {
        make_contacts(&store, UserId(a.id), UserId(b.id)).await;
    }
    let [first, second] = cluster.urls.clone();
    let mut not_watching = Session::open(&second, other).await;
    let mut watching = Session::open(&first, watcher).await;
    let now = watching.watch_presence().await;
    assert_eq!(now.len(), 2, "the watcher's contacts, not the watcher");
    let state = |id: uuid::Uuid| {
        let person = now.iter().find(|p| p.user_id == id.to_string()).unwrap();
        (person.online, person.last_seen.is_some())
    };
    assert_eq!(state(someone.id), (false, false), "never connected");
    assert_eq!(state(other.id), (true, false));

    let phone = Session::open(&first, someone).await;
    let online = watching.presence().await;
    assert_eq!(online.user_id, someone.id.to_string());
    assert!(online.online);
    assert_eq!(online.last_seen, None);
    let laptop = Session::open(&second, someone).await;
    assert_eq!(
        watching.presence_for_a_moment().await,
        vec![],
        "a second device on another core changes nothing"
    );
    let people = presence_seen_by(&second, watcher).await;
    let person = |id: uuid::Uuid| people.iter().find(|p| p.user_id == id.to_string());
    assert_eq!(people.len(), 2, "the watcher's contacts, not the watcher");
    assert!(person(someone.id).unwrap().online);
    assert!(person(other.id).unwrap().online);

    drop(phone);
    assert_eq!(
        watching.presence_for_a_moment().await,
        vec![],
        "one device left: still online"
    );
    drop(laptop);
    let offline = watching.presence().await;
    assert!(
        not_watching.is_quiet().await,
        "a session that did not ask gets no presence"
    );
    assert_eq!(offline.user_id, someone.id.to_string());
    assert!(!offline.online);
    assert!(
        offline.last_seen.is_some(),
        "last seen when the last device left"
    );
    assert_eq!(watching.presence_for_a_moment().await, vec![], "told once");
    let people = presence_seen_by(&first, watcher).await;
    let seen = people.iter().find(|p| p.user_id == someone.id.to_string());
    assert_eq!(seen, Some(&offline), "REST says what the event said");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_arriving_at_once_on_two_cores_announce_one_arrival() {
    let cluster = Cluster::start(&three_in_a_group()).await;
    let users = &cluster.data.users;
    let [first, second] = cluster.urls.clone();
    let (a, b) = (UserId(users[0].id), UserId(users[1].id));
    make_contacts(&cluster.db.store(), a, b).await;
    let mut watching = Session::open(&first, &users[1]).await;
    watching.watch_presence().await;
    let (_phone, _laptop) = tokio::join!(
        Session::open(&first, &users[0]),
        Session::open(&second, &users[0])
    );
    let told = watching.presence_for_a_moment().await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].online);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_core_takes_its_devices_with_it() {
    require_redis().await;
    let cluster = format!("test-{}", uuid::Uuid::new_v4().simple());
    let (killed, alive) = (CoreId::random(), CoreId::random());
    let on_killed = Presence::shared(killed, crate::redis_link(&redis_url()), &cluster);
    let on_alive = Presence::shared(alive, crate::redis_link(&redis_url()), &cluster);
    let (both, only_killed) = (UserId::random(), UserId::random());
    assert_eq!(on_killed.arrived(both).await, Some(Change::CameOnline));
    assert_eq!(on_alive.arrived(both).await, None, "already online");
    assert_eq!(
        on_killed.arrived(only_killed).await,
        Some(Change::CameOnline)
    );
    assert_eq!(
        on_alive.online(&[both, only_killed]).await.unwrap(),
        [true, true]
    );

    let offline = on_alive.cores_gone(&[killed]).await;
    assert_eq!(offline, [only_killed], "the other still has a device");
    assert_eq!(
        on_alive.online(&[both, only_killed]).await.unwrap(),
        [true, false]
    );
    assert_eq!(on_alive.left(both).await, Some(Change::WentOffline));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_lost_by_redis_are_written_again_at_the_next_beat() {
    require_redis().await;
    let cluster = format!("test-{}", uuid::Uuid::new_v4().simple());
    let core = CoreId::random();
    let presence = Presence::shared(core, crate::redis_link(&redis_url()), &cluster);
    let user = UserId::random();
    presence.arrived(user).await;
    // As after a Redis restart: the cluster's keys are gone.
    let client = redis::Client::open(redis_url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("messenger:presence:{{{cluster}}}:core:{}", core.0);
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(presence.online(&[user]).await.unwrap(), [false]);
    presence.beat().await;
    assert_eq!(presence.online(&[user]).await.unwrap(), [true]);
    for key in [key, format!("messenger:presence:{{{cluster}}}:cores")] {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} expires unless renewed: {ttl}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_core_without_redis_is_refused_with_what_is_missing() {
    let db = core_service::testing::TestDatabase::create().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let settings = core_service::state::Settings {
        nats_url: Some(crate::nats_url()),
        ..core_service::state::Settings::default()
    };
    let served = core_service::serve(db.store(), settings, listener, async {}).await;
    let error = served.unwrap_err();
    assert!(
        matches!(error, core_service::grpc::ServeError::ClusterWithoutRedis),
        "{error}"
    );
    assert!(error.to_string().contains("REDIS_URL"));
}

/// A Redis of the test's own on `port` that asks for `password`, as the
/// compose file runs it.
fn redis_with_password(port: u16, password: &str) -> core_service::testing::Process {
    let mut command = std::process::Command::new("redis-server");
    command.args(["--bind", "127.0.0.1", "--port", &port.to_string()]);
    command.args([
        "--requirepass",
        password,
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    core_service::testing::Process::start(command, "redis-server (is it installed?)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_shared_through_a_redis_that_asks_for_a_password() {
    let port = crate::events::free_port().await;
    let password = uuid::Uuid::new_v4().simple().to_string();
    let _redis = redis_with_password(port, &password);
    crate::events::until_listening(port).await;
    let cluster = format!("test-{}", uuid::Uuid::new_v4().simple());
    let url = format!("redis://:{password}@127.0.0.1:{port}");
    let presence = Presence::shared(CoreId::random(), crate::redis_link(&url), &cluster);
    let user = UserId::random();
    assert_eq!(presence.arrived(user).await, Some(Change::CameOnline));
    let other = Presence::shared(CoreId::random(), crate::redis_link(&url), &cluster);
    assert_eq!(other.online(&[user]).await.unwrap(), [true]);

    let guess = format!("redis://:guess@127.0.0.1:{port}");
    let outsider = Presence::shared(CoreId::random(), crate::redis_link(&guess), &cluster);
    assert!(outsider.online(&[user]).await.is_err(), "no guessing");
}
