//! Guessing passwords: a stranger's wrong guesses slow the guessing down
//! without locking the real user out.

use crate::common::{Stack, World, post_json};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_wrong_passwords_cost_the_real_user_a_second_not_a_lockout() {
    let stack = Stack::start().await;
    let world = World::new();
    stack.load(&world).await;
    let user = &world.users[0];
    let wrong = json!({"email": user.email, "password": "a guess"});
    for _ in 0..5 {
        let (status, _, _) = post_json(&stack, "/auth/login", wrong.clone(), &[]).await;
        assert_eq!(status, 401);
    }
    let right = json!({"email": user.email, "password": user.password});
    let (status, headers, _) = post_json(&stack, "/auth/login", right.clone(), &[]).await;
    assert_eq!(status, 429, "guessing is slowed down");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        retry_after <= 2,
        "a short wait, not the window: {retry_after}"
    );
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let (status, _, body) = post_json(&stack, "/auth/login", right, &[]).await;
    assert_eq!(status, 200, "{body}");
    stack.stop().await;
}
