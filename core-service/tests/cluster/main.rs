//! Several cores over one database, as a cluster runs them: the login
//! throttle shared through Redis (the machine's, at `REDIS_URL` or
//! 127.0.0.1:6379), and events carried between the cores over NATS (at
//! `NATS_URL` or 127.0.0.1:4222): messages, receipts, groups, revocations.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod events;
mod media;
mod presence;
mod revocation;
mod send_rate;
mod throttle;
mod tls;
mod trust;

use core_service::demo_data::generate::{Sizes, generate};
use core_service::demo_data::{DemoData, populate};
use core_service::state::{AuthSettings, Settings};
use core_service::testing::TestDatabase;
use std::time::Duration;
use tokio::sync::watch;

pub(crate) fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A link to the Redis at `url`, without TLS.
pub(crate) fn redis_link(url: &str) -> core_service::redis_link::RedisLink {
    core_service::redis_link::RedisLink::new(url, None).unwrap()
}

pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Fails the test with what is missing when there is no Redis to test on.
async fn require_redis() {
    let url = redis_url();
    let ping = async {
        let client = redis::Client::open(url.as_str())?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(5), ping).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => panic!("these tests need Redis at {url} (REDIS_URL): {error}"),
        Err(_) => panic!("these tests need Redis at {url} (REDIS_URL): no answer"),
    }
}

/// An email no other test run has used (Redis outlives a test run: an
/// email of its own keeps runs apart).
fn fresh_email() -> String {
    format!("{}@throttle.test", uuid::Uuid::new_v4().simple())
}

/// `message` with the bearer `token`.
fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

/// Fails the test with what is missing when there is no NATS to test on.
async fn require_nats() {
    let url = nats_url();
    let connect = tokio::time::timeout(Duration::from_secs(5), async_nats::connect(&url)).await;
    match connect {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => panic!("these tests need NATS at {url} (NATS_URL): {error}"),
        Err(_) => panic!("these tests need NATS at {url} (NATS_URL): no answer"),
    }
}

/// Two cores over one database with demo data, sharing the machine's
/// Redis and a NATS; stopped when dropped.
struct Cluster {
    data: DemoData,
    urls: [String; 2],
    stops: Vec<watch::Sender<bool>>,
    db: TestDatabase,
    /// Where its cores' events go.
    nats: String,
    subject: String,
}

impl Cluster {
    /// On the machine's NATS.
    async fn start(sizes: &Sizes) -> Cluster {
        require_nats().await;
        Cluster::start_on(sizes, &nats_url()).await
    }

    /// On the NATS at `nats`.
    async fn start_on(sizes: &Sizes, nats: &str) -> Cluster {
        let subject = format!("test.{}.events", uuid::Uuid::new_v4().simple());
        Cluster::start_with(sizes, cluster_settings(nats, &subject)).await
    }

    /// With `settings` for both cores.
    async fn start_with(sizes: &Sizes, settings: Settings) -> Cluster {
        require_redis().await;
        let db = TestDatabase::create().await;
        let data = demo_data(&db, sizes).await;
        let nats = settings.nats_url.clone().unwrap();
        let subject = settings.nats_subject.clone();
        let (first, stop_first) = start_core_with(&db, settings.clone()).await;
        let (second, stop_second) = start_core_with(&db, settings).await;
        Cluster {
            data,
            urls: [first, second],
            stops: vec![stop_first, stop_second],
            db,
            nats,
            subject,
        }
    }
}

/// Demo data of `sizes` with fresh emails, loaded into `db`.
async fn demo_data(db: &TestDatabase, sizes: &Sizes) -> DemoData {
    let mut data = generate(&Sizes {
        messages_per_chat: 0,
        ..sizes.clone()
    })
    .unwrap();
    for user in &mut data.users {
        user.email = fresh_email();
    }
    populate::populate(&db.store(), &data).await.unwrap();
    data
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for stop in &self.stops {
            let _ = stop.send(true);
        }
    }
}

/// The settings of a cluster's core on `nats`, exchanging events on
/// `subject`.
fn cluster_settings(nats: &str, subject: &str) -> Settings {
    Settings {
        auth: AuthSettings {
            max_login_failures: 3,
            ..AuthSettings::default()
        },
        redis_url: Some(redis_url()),
        nats_url: Some(nats.to_owned()),
        cluster_secret: Some(core_service::testing::cluster_secret()),
        // Test clusters share the NATS, and their demo data the same ids.
        nats_subject: subject.to_owned(),
        ..Settings::default()
    }
}

/// A core on `db` with `settings`; its URL and its stop switch.
async fn start_core_with(db: &TestDatabase, settings: Settings) -> (String, watch::Sender<bool>) {
    let settings = db.with_media(settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut stopped) = watch::channel(false);
    let store = db.store();
    tokio::spawn(async move {
        let signal = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        core_service::serve(store, settings, listener, signal)
            .await
            .unwrap();
    });
    (url, stop)
}

/// Two users who share a personal chat.
fn two_users() -> Sizes {
    Sizes {
        users: 2,
        personal_chats: 1,
        groups: 0,
        ..Sizes::default()
    }
}
