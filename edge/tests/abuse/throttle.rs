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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_spelled_another_way_is_the_same_account_with_the_same_budget() {
    let stack = Stack::start().await;
    // Decomposed "é" and capitals: one spelling is stored and answered.
    let given = "Ivan.Caf\u{65}\u{301}@Example.COM";
    let spelled = "ivan.caf\u{e9}@example.com";
    let account = json!({"name": "Ivan", "email": given, "password": "long enough"});
    let (status, _, body) = post_json(&stack, "/users", account, &[]).await;
    assert_eq!(
        (status, body["email"].as_str()),
        (201, Some(spelled)),
        "{body}"
    );
    let again = json!({"name": "Ivan", "email": spelled, "password": "long enough"});
    assert_eq!(post_json(&stack, "/users", again, &[]).await.0, 409);
    let login = |email: &str, password: &str| json!({"email": email, "password": password});
    let variant = "IVAN.CAF\u{e9}@EXAMPLE.com";
    let (status, _, body) =
        post_json(&stack, "/auth/login", login(variant, "long enough"), &[]).await;
    assert_eq!(
        (status, body["email"].as_str()),
        (200, Some(spelled)),
        "{body}"
    );
    // Letters beyond A–Z keep their case: the dotted capital I is another
    // letter, so another address.
    let dotted = "\u{130}van.caf\u{e9}@example.com";
    let (status, _, _) = post_json(&stack, "/auth/login", login(dotted, "long enough"), &[]).await;
    assert_eq!(status, 401);

    // Five guesses under five spellings are five guesses at one account.
    let spellings = [
        spelled,
        given,
        variant,
        "ivan.CAF\u{e9}@example.com",
        " IVAN.caf\u{e9}@EXAMPLE.com ",
    ];
    for spelling in spellings {
        let (status, _, _) =
            post_json(&stack, "/auth/login", login(spelling, "a guess"), &[]).await;
        assert_eq!(status, 401);
    }
    let (status, _, _) = post_json(&stack, "/auth/login", login(spelled, "long enough"), &[]).await;
    assert_eq!(
        status, 429,
        "the budget is the account's, however it is spelled"
    );
    stack.stop().await;
}
