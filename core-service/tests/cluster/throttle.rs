//! The login throttle shared through Redis: counts seen by every core,
//! guesses sent at once cannot pass the limit, a Redis that is down never
//! blocks a login.

use crate::{Cluster, redis_url, require_redis};
use core_service::auth::throttle::{Limits, Throttle};
use core_service::redis_link::RedisLink;
use messenger_proto::v1::Login;
use messenger_proto::v1::messenger_client::MessengerClient;
use std::sync::Arc;
use std::time::Duration;
use tonic::Code;

const LIMITS: Limits = Limits {
    per_account: 5,
    per_address: 50,
    window: Duration::from_secs(60),
};

/// Two cores' throttles on the same Redis.
async fn two_cores() -> (Throttle, Throttle) {
    require_redis().await;
    let url = redis_url();
    (
        Throttle::shared(LIMITS, crate::redis_link(&url)),
        Throttle::shared(LIMITS, crate::redis_link(&url)),
    )
}

/// An address no other test run has used, in its one spelling.
fn fresh_account() -> core_service::email::Email {
    core_service::email::Email::normalize(&crate::fresh_email()).unwrap()
}

#[tokio::test]
async fn attempts_on_one_core_count_on_the_other() {
    let (a, b) = two_cores().await;
    let email = fresh_account();
    for _ in 0..3 {
        a.begin(&email, None).await.unwrap();
    }
    for _ in 0..2 {
        b.begin(&email, None).await.unwrap();
    }
    // Beyond the free attempts, a delay after the newest (a second first).
    let wait = a.begin(&email, None).await.unwrap_err();
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    assert!(b.begin(&email, None).await.is_err());
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    b.begin(&email, None).await.unwrap();
    let wait = a.begin(&email, None).await.unwrap_err();
    assert!(
        wait > Duration::from_secs(1) && wait <= Duration::from_secs(2),
        "{wait:?}"
    );
    assert!(a.begin(&fresh_account(), None).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_sent_at_once_to_two_cores_cannot_pass_the_limit() {
    let (a, b) = two_cores().await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let email = Arc::new(fresh_account());
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
async fn a_success_clears_the_account_on_every_core_and_spares_the_fresh_account() {
    require_redis().await;
    let email = fresh_account();
    let address = format!("test-{}", uuid::Uuid::new_v4().simple());
    let limits = Limits {
        per_address: 3,
        ..LIMITS
    };
    let (a_low, b_low) = (
        Throttle::shared(limits, crate::redis_link(&redis_url())),
        Throttle::shared(limits, crate::redis_link(&redis_url())),
    );
    for _ in 0..2 {
        a_low.begin(&email, Some(&address)).await.unwrap();
    }
    let good = b_low.begin(&email, Some(&address)).await.unwrap();
    assert!(a_low.begin(&fresh_account(), Some(&address)).await.is_err());
    b_low.succeeded(&good).await;
    // The success took its own attempt back from the address: one fits.
    a_low.begin(&fresh_account(), Some(&address)).await.unwrap();
    assert!(a_low.begin(&fresh_account(), Some(&address)).await.is_err());
    // And cleared the account everywhere.
    for _ in 0..LIMITS.per_account {
        a_low.begin(&email, None).await.unwrap();
    }
}

#[tokio::test]
async fn a_redis_that_is_down_never_blocks_a_login_and_the_core_still_counts() {
    // Nothing listens on port 1.
    let throttle = Throttle::shared(LIMITS, crate::redis_link("redis://127.0.0.1:1"));
    let email = fresh_account();
    for _ in 0..LIMITS.per_account {
        let started = std::time::Instant::now();
        throttle.begin(&email, None).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    assert!(throttle.begin(&email, None).await.is_err());
    assert!(RedisLink::new("not a url", None).is_err());
}

/// Demo data with a user of a fresh email (Redis outlives a test run: an

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cores_over_one_database_throttle_an_account_together() {
    let cluster = Cluster::start(&crate::two_users()).await;
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
