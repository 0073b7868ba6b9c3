//! Several cores over one database: the login throttle shared through
//! Redis (the machine's, at `REDIS_URL` or 127.0.0.1:6379) — counts seen by
//! every core, guesses sent at once cannot pass the limit, a Redis that is
//! down never blocks a login — and revocations carried to every core over
//! NATS (at `NATS_URL` or 127.0.0.1:4222).

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use core_service::auth::throttle::{Limits, LoginThrottle};
use core_service::demo_data::generate::{Sizes, generate};
use core_service::demo_data::{DemoData, populate};
use core_service::state::{AuthSettings, Settings};
use core_service::testing::TestDatabase;
use messenger_proto::v1::messenger_client::MessengerClient;
use messenger_proto::v1::server_event::Event;
use messenger_proto::v1::{self as pb, Login};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tonic::Code;

fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn redis_url() -> String {
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

const LIMITS: Limits = Limits {
    per_account: 5,
    per_address: 50,
    window: Duration::from_secs(60),
};

/// An email no other test run has used.
fn fresh_email() -> String {
    format!("{}@throttle.test", uuid::Uuid::new_v4().simple())
}

/// Two cores' throttles on the same Redis.
async fn two_cores() -> (LoginThrottle, LoginThrottle) {
    require_redis().await;
    let url = redis_url();
    (
        LoginThrottle::shared(LIMITS, &url).unwrap(),
        LoginThrottle::shared(LIMITS, &url).unwrap(),
    )
}

#[tokio::test]
async fn attempts_on_one_core_count_on_the_other() {
    let (a, b) = two_cores().await;
    let email = fresh_email();
    for _ in 0..3 {
        a.begin(&email, None).await.unwrap();
    }
    for _ in 0..2 {
        b.begin(&email, None).await.unwrap();
    }
    let wait = a.begin(&email, None).await.unwrap_err();
    assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
    assert!(b.begin(&email, None).await.is_err());
    assert!(a.begin(&fresh_email(), None).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_sent_at_once_to_two_cores_cannot_pass_the_limit() {
    let (a, b) = two_cores().await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let email = Arc::new(fresh_email());
    let guesses: Vec<_> = (0..40)
        .map(|n| {
            let throttle = if n % 2 == 0 { a.clone() } else { b.clone() };
            let email = email.clone();
            tokio::spawn(async move { throttle.begin(&email, None).await.is_ok() })
        })
        .collect();
    let mut let_through = 0;
    for guess in guesses {
        let_through += usize::from(guess.await.unwrap());
    }
    assert_eq!(let_through, LIMITS.per_account);
}

#[tokio::test]
async fn a_success_clears_the_account_on_every_core_and_spares_the_address() {
    require_redis().await;
    let email = fresh_email();
    let address = format!("test-{}", uuid::Uuid::new_v4().simple());
    let limits = Limits {
        per_address: 3,
        ..LIMITS
    };
    let (a_low, b_low) = (
        LoginThrottle::shared(limits, &redis_url()).unwrap(),
        LoginThrottle::shared(limits, &redis_url()).unwrap(),
    );
    for _ in 0..2 {
        a_low.begin(&email, Some(&address)).await.unwrap();
    }
    let good = b_low.begin(&email, Some(&address)).await.unwrap();
    assert!(a_low.begin(&fresh_email(), Some(&address)).await.is_err());
    b_low.succeeded(&good).await;
    // The success took its own attempt back from the address: one fits.
    a_low.begin(&fresh_email(), Some(&address)).await.unwrap();
    assert!(a_low.begin(&fresh_email(), Some(&address)).await.is_err());
    // And cleared the account everywhere.
    for _ in 0..LIMITS.per_account {
        a_low.begin(&email, None).await.unwrap();
    }
}

#[tokio::test]
async fn a_redis_that_is_down_never_blocks_a_login_and_the_core_still_counts() {
    // Nothing listens on port 1.
    let throttle = LoginThrottle::shared(LIMITS, "redis://127.0.0.1:1").unwrap();
    let email = fresh_email();
    for _ in 0..LIMITS.per_account {
        let started = std::time::Instant::now();
        throttle.begin(&email, None).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    assert!(throttle.begin(&email, None).await.is_err());
    assert!(LoginThrottle::shared(LIMITS, "not a url").is_err());
}

/// Demo data with a user of a fresh email (Redis outlives a test run: an
/// email of its own keeps runs apart), loaded into `db`.
async fn one_user(db: &TestDatabase) -> DemoData {
    let mut data = generate(&Sizes {
        users: 2,
        personal_chats: 1,
        groups: 0,
        messages_per_chat: 0,
        ..Sizes::default()
    })
    .unwrap();
    data.users[0].email = fresh_email();
    populate::populate(&db.store(), &data).await.unwrap();
    data
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_core_ends_the_login_on_the_other() {
    let cluster = Cluster::start().await;
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

    on_first
        .revoke(authorized(pb::RevokeRequest {}, &token))
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), events.message())
        .await
        .expect("the session on the other core ends at once");
    assert_eq!(ended.unwrap_err().code(), Code::Unauthenticated);
    let refused = on_second.authenticate(authorized(me, &token)).await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
}

/// Two cores over one database with a user, sharing the machine's Redis
/// and NATS; stopped when dropped.
struct Cluster {
    data: DemoData,
    urls: [String; 2],
    stops: Vec<watch::Sender<bool>>,
    _db: TestDatabase,
}

impl Cluster {
    async fn start() -> Cluster {
        require_redis().await;
        require_nats().await;
        let db = TestDatabase::create().await;
        let data = one_user(&db).await;
        let (first, stop_first) = start_core(&db).await;
        let (second, stop_second) = start_core(&db).await;
        Cluster {
            data,
            urls: [first, second],
            stops: vec![stop_first, stop_second],
            _db: db,
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for stop in &self.stops {
            let _ = stop.send(true);
        }
    }
}

/// A core on `db` with the shared throttle and the bus; its URL and its
/// stop switch.
async fn start_core(db: &TestDatabase) -> (String, watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let settings = Settings {
        auth: AuthSettings {
            max_login_failures: 3,
            ..AuthSettings::default()
        },
        redis_url: Some(redis_url()),
        nats_url: Some(nats_url()),
        ..Settings::default()
    };
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cores_over_one_database_throttle_an_account_together() {
    let cluster = Cluster::start().await;
    let user = &cluster.data.users[0];
    let [first, second] = cluster.urls.clone();
    let login = |url: String, password: String| {
        let email = user.email.clone();
        async move {
            let mut client = MessengerClient::connect(url).await.unwrap();
            let request = Login { email, password };
            client.create_login_session(request).await.map(|_| ())
        }
    };
    let wrong = || "wrong password".to_owned();
    for url in [&first, &second, &first] {
        let refused = login(url.clone(), wrong()).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated);
    }
    // Three wrong guesses across both cores: even the right password waits.
    let throttled = login(second.clone(), user.password.clone()).await;
    assert_eq!(throttled.unwrap_err().code(), Code::ResourceExhausted);
}
