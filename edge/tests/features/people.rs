//! Finding people: contacts by name prefix, anyone by exact email (in any
//! case of its ASCII letters), nothing else; paged; rate-limited.

use crate::common::{Stack, World, get_with, stack_with_world};
use core_service::demo_data::DemoUser;
use core_service::ids::UserId;
use core_service::testing::make_contacts;
use serde_json::Value;

async fn search(stack: &Stack, token: &str, query: &str) -> (u16, Value) {
    let bearer = format!("Bearer {token}");
    let path = format!(
        "/users?{}",
        serde_urlencoded::to_string([("query", query)]).unwrap()
    );
    get_with(stack, &path, &[("authorization", &bearer)]).await
}

fn ids(found: &Value) -> Vec<String> {
    let found = found.as_array().unwrap();
    found
        .iter()
        .map(|user| user["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `blocker` blocks `blocked`, over the WebSocket.
async fn block(stack: &Stack, blocker: &DemoUser, blocked: &DemoUser) {
    let mut client = stack.login(blocker).await;
    client
        .send(serde_json::json!({"type": "block_user", "user_id": blocked.id}))
        .await;
    assert_eq!(client.recv().await["type"], "block_changed");
}

fn id(user: &DemoUser) -> String {
    user.id.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_are_found_among_contacts_and_by_exact_email_only() {
    let (stack, world) = stack_with_world().await;
    let World { users, .. } = &world;
    let token = stack.access_token(&users[0]).await;

    // Sharing a group is not consent: nobody is found by name yet.
    let (status, found) = search(&stack, &token, "User").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&found), Vec::<String>::new());
    // Once both have written in their personal chat, 1 and 2 are user 0's
    // contacts: "user" finds them (not 0 itself), by name; 3 and 4 are
    // strangers.
    for other in [&users[1], &users[2]] {
        make_contacts(&stack.store, UserId(users[0].id), UserId(other.id)).await;
    }
    let (status, found) = search(&stack, &token, "User").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&found), [id(&users[1]), id(&users[2])]);
    assert_eq!(
        found[0],
        serde_json::json!({"id": users[1].id, "name": "User 1"})
    );
    assert_eq!(ids(&search(&stack, &token, "1").await.1), [id(&users[1])]);
    // An address is found whole, never by a prefix, even a contact's: a
    // prefix a character at a time would spell it out.
    let contact = &users[2].email;
    assert_eq!(
        ids(&search(&stack, &token, &contact[..8]).await.1),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&search(&stack, &token, contact).await.1),
        [id(&users[2])]
    );
    let stranger = &users[3].email;
    assert_eq!(
        ids(&search(&stack, &token, &stranger[..10]).await.1),
        Vec::<String>::new()
    );
    let exact = stranger.to_uppercase();
    assert_eq!(
        ids(&search(&stack, &token, &exact).await.1),
        [id(&users[3])]
    );
    // LIKE's wildcards are plain characters here.
    assert!(ids(&search(&stack, &token, "%").await.1).is_empty());
    assert!(ids(&search(&stack, &token, "_").await.1).is_empty());

    let bearer = format!("Bearer {token}");
    let page = "/users?query=user&limit=1&offset=1";
    let (_, second) = get_with(&stack, page, &[("authorization", &bearer)]).await;
    assert_eq!(ids(&second), [id(&users[2])]);

    // Across a block, in either direction, no one is found at all.
    let blocker = stack.access_token(&users[2]).await;
    block(&stack, &users[2], &users[0]).await;
    assert_eq!(
        ids(&search(&stack, &token, "User").await.1),
        [id(&users[1])]
    );
    assert!(ids(&search(&stack, &token, contact).await.1).is_empty());
    assert!(ids(&search(&stack, &blocker, "User").await.1).is_empty());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_are_refused_without_a_credential_a_query_or_beyond_the_rate() {
    let (stack, world) = stack_with_world().await;
    let token = stack.access_token(&world.users[0]).await;
    let (status, _) = get_with(&stack, "/users?query=user", &[]).await;
    assert_eq!(status, 401);
    let bearer = format!("Bearer {token}");
    let (status, body) = get_with(&stack, "/users", &[("authorization", &bearer)]).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"][0]["loc"],
        serde_json::json!(["query", "query"])
    );
    assert_eq!(search(&stack, &token, "   ").await.0, 422);
    assert_eq!(search(&stack, &token, "a\u{7}").await.0, 422);
    assert_eq!(search(&stack, &token, &"a".repeat(255)).await.0, 422);

    // 30 a minute by default (the refused ones above did not count).
    for _ in 0..30 {
        assert_eq!(search(&stack, &token, "user").await.0, 200);
    }
    let (status, body) = search(&stack, &token, "user").await;
    assert_eq!(status, 429);
    assert!(body["retry_after"].as_u64().unwrap() <= 60);
    // Another user has a rate of their own.
    let other = stack.access_token(&world.users[1]).await;
    assert_eq!(search(&stack, &other, "user").await.0, 200);
    stack.stop().await;
}
