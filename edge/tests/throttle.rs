//! Throttling of failed logins, on every way to log in.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Stack, World, post_json, token_request};
use core_service::state::{AuthSettings, Settings};
use serde_json::json;
use std::time::Duration;

const WINDOW: Duration = Duration::from_millis(1500);

async fn stack(per_account: usize, per_address: usize) -> (Stack, World) {
    let settings = Settings {
        auth: AuthSettings {
            max_login_failures: per_account,
            max_login_failures_per_address: per_address,
            login_failure_window: WINDOW,
            ..AuthSettings::default()
        },
        ..Settings::default()
    };
    let stack = Stack::start_configured(settings, |_| {}).await;
    let world = World::new();
    stack.load(&world).await;
    (stack, world)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_is_throttled_everywhere_after_the_limit_and_freed_after_the_window() {
    let (stack, world) = stack(3, 100).await;
    let user = &world.users[0];
    let wrong = json!({"email": user.email, "password": "wrong"});
    for _ in 0..3 {
        assert_eq!(
            post_json(&stack, "/auth/login", wrong.clone(), &[]).await.0,
            401
        );
    }
    // Now even the right password is refused, on every way in.
    let right = json!({"email": user.email, "password": user.password});
    let (status, headers, body) = post_json(&stack, "/auth/login", right.clone(), &[]).await;
    assert_eq!(status, 429, "{body}");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(body["retry_after"], retry_after);

    let form = [
        ("grant_type", "password"),
        ("username", user.email.as_str()),
        ("password", user.password.as_str()),
    ];
    let (status, body) = token_request(&stack, &form).await;
    assert_eq!(status, 429, "{body}");

    let mut client = stack.connect().await;
    client.send(common::login_frame(user)).await;
    let detail = client.recv_error("too_many_attempts").await;
    assert!(detail["retry_after"].as_u64().unwrap() >= 1);

    // Another account is not affected.
    let other = json!({"email": world.users[1].email, "password": world.users[1].password});
    assert_eq!(post_json(&stack, "/auth/login", other, &[]).await.0, 200);

    tokio::time::sleep(WINDOW + Duration::from_millis(100)).await;
    assert_eq!(post_json(&stack, "/auth/login", right, &[]).await.0, 200);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_clears_the_accounts_failures() {
    let (stack, world) = stack(3, 100).await;
    let user = &world.users[0];
    let wrong = json!({"email": user.email, "password": "wrong"});
    let right = json!({"email": user.email, "password": user.password});
    for _ in 0..2 {
        assert_eq!(
            post_json(&stack, "/auth/login", wrong.clone(), &[]).await.0,
            401
        );
    }
    assert_eq!(
        post_json(&stack, "/auth/login", right.clone(), &[]).await.0,
        200
    );
    for _ in 0..2 {
        assert_eq!(
            post_json(&stack, "/auth/login", wrong.clone(), &[]).await.0,
            401
        );
    }
    assert_eq!(post_json(&stack, "/auth/login", right, &[]).await.0, 200);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_guessing_across_accounts_is_throttled() {
    let (stack, world) = stack(100, 4).await;
    for n in 0..4 {
        let wrong = json!({"email": world.users[n].email, "password": "wrong"});
        assert_eq!(post_json(&stack, "/auth/login", wrong, &[]).await.0, 401);
    }
    let right = json!({"email": world.users[4].email, "password": world.users[4].password});
    assert_eq!(post_json(&stack, "/auth/login", right, &[]).await.0, 429);
    stack.stop().await;
}
