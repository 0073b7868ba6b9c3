//! Accounts: registration, cookie login and logout, `/me` and `/chats`.

// Tests unwrap freely: a failure is the test failing, with its line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, cookie_login, get_with, post_json, send_frame, stack_with_world};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_creates_an_account_that_can_log_in() {
    let (stack, _world) = stack_with_world().await;
    let body = json!({"name": "Ada Lovelace", "email": "Ada@Example.com", "password": "analytical engine"});
    let (status, _, user) = post_json(&stack, "/users", body, &[]).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["name"], "Ada Lovelace");
    // In its one spelling (docs/protocol.md, "E-mail addresses").
    assert_eq!(user["email"], "ada@example.com");
    assert!(user["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    assert_eq!(
        user.as_object().unwrap().len(),
        3,
        "no password or hash: {user}"
    );

    let mut client = stack.connect().await;
    client
        .send(json!({"email": "ada@example.com", "password": "analytical engine"}))
        .await;
    assert_eq!(client.recv().await["type"], "auth_success");

    let again =
        json!({"name": "Impostor", "email": "ADA@example.com", "password": "something else"});
    let (status, _, body) = post_json(&stack, "/users", again, &[]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        stack
            .db
            .count("SELECT count(*) FROM users WHERE lower(email) = 'ada@example.com'")
            .await,
        1
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_registrations_are_422_and_create_nothing() {
    let (stack, _world) = stack_with_world().await;
    let before = stack.db.count("SELECT count(*) FROM users").await;
    let cases = [
        (
            json!({"name": "A", "email": "not-an-email", "password": "long enough"}),
            "email",
        ),
        (
            json!({"name": "A", "email": "a@example.com", "password": "short"}),
            "password",
        ),
        (
            json!({"name": "  ", "email": "a@example.com", "password": "long enough"}),
            "name",
        ),
        (
            json!({"email": "a@example.com", "password": "long enough"}),
            "name",
        ),
        (
            json!({"name": "A", "email": 7, "password": "long enough"}),
            "email",
        ),
    ];
    for (body, field) in cases {
        let (status, _, reply) = post_json(&stack, "/users", body.clone(), &[]).await;
        assert_eq!(status, 422, "{body}: {reply}");
        assert_eq!(reply["detail"][0]["loc"], json!(["body", field]), "{reply}");
    }
    assert_eq!(stack.db.count("SELECT count(*) FROM users").await, before);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_login_sets_a_protected_cookie_and_authenticates_the_websocket() {
    let (stack, world) = stack_with_world().await;
    let user = &world.users[0];
    let body = json!({"email": user.email, "password": user.password});
    let (status, headers, me) = post_json(&stack, "/auth/login", body, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(me["id"], user.id.to_string());
    let cookie = headers["set-cookie"].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "Secure is off unless configured: {cookie}"
    );
    let pair = cookie.split(';').next().unwrap();

    let (status, me) = get_with(&stack, "/me", &[("cookie", pair)]).await;
    assert_eq!(
        (status, me["email"].as_str()),
        (200, Some(user.email.as_str()))
    );

    // No login frame: the first frame is auth_success, and sending works.
    let mut client = Client::connect_with(&stack.ws_url(), &[("cookie", pair)])
        .await
        .unwrap();
    assert_eq!(
        client.recv().await,
        json!({"type": "auth_success", "detail": null})
    );
    let (_, frame) = send_frame(user, world.personal_chat, "no login frame needed");
    client.send(frame).await;
    assert_eq!(client.recv().await["type"], "message_ack");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_get_401_on_cookie_login() {
    let (stack, world) = stack_with_world().await;
    let body = json!({"email": world.users[0].email, "password": "nope"});
    let (status, headers, reply) = post_json(&stack, "/auth/login", body, &[]).await;
    assert_eq!(status, 401, "{reply}");
    assert!(headers.get("set-cookie").is_none());
    let body = json!({"email": "nobody@example.com", "password": "nope"});
    assert_eq!(post_json(&stack, "/auth/login", body, &[]).await.0, 401);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_cookie_on_rest_and_websocket() {
    let (stack, world) = stack_with_world().await;
    let cookie = cookie_login(&stack, &world.users[0]).await;
    let other_device = cookie_login(&stack, &world.users[0]).await;
    assert_eq!(get_with(&stack, "/me", &[("cookie", &cookie)]).await.0, 200);

    let (status, headers, _) =
        post_json(&stack, "/auth/logout", json!({}), &[("cookie", &cookie)]).await;
    assert_eq!(status, 204);
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );

    assert_eq!(get_with(&stack, "/me", &[("cookie", &cookie)]).await.0, 401);
    let path = format!("/history/{}", world.personal_chat);
    assert_eq!(get_with(&stack, &path, &[("cookie", &cookie)]).await.0, 401);
    let refused = Client::connect_with(&stack.ws_url(), &[("cookie", &cookie)]).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(response)) = refused else {
        panic!("a revoked cookie opened a WebSocket");
    };
    assert_eq!(response.status().as_u16(), 401);
    // Logging out again is refused; the other device's session is untouched.
    let (status, _, _) = post_json(&stack, "/auth/logout", json!({}), &[("cookie", &cookie)]).await;
    assert_eq!(status, 401);
    assert_eq!(
        get_with(&stack, "/me", &[("cookie", &other_device)])
            .await
            .0,
        200
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_and_chats_need_a_credential() {
    let (stack, _world) = stack_with_world().await;
    assert_eq!(get_with(&stack, "/me", &[]).await.0, 401);
    assert_eq!(get_with(&stack, "/chats", &[]).await.0, 401);
    let bogus = [("authorization", "Bearer msa_0000")];
    assert_eq!(get_with(&stack, "/chats", &bogus).await.0, 401);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_lists_members_and_the_last_message_most_recent_first() {
    let (stack, world) = stack_with_world().await;
    let mut sender = stack.login(&world.users[0]).await;
    let (_, frame) = send_frame(&world.users[0], world.personal_chat, "first");
    sender.send(frame).await;
    sender.recv().await;
    let (_, frame) = send_frame(&world.users[0], world.group_chat, "latest");
    sender.send(frame).await;
    let latest_id = sender.recv().await["id"].clone();

    let token = stack.access_token(&world.users[0]).await;
    let bearer = format!("Bearer {token}");
    let (status, chats) = get_with(&stack, "/chats", &[("authorization", &bearer)]).await;
    assert_eq!(status, 200);
    let chats = chats.as_array().unwrap();
    assert_eq!(chats.len(), 2, "user 0 is in two chats");
    assert_eq!(chats[0]["id"], world.group_chat.to_string());
    assert_eq!(chats[0]["type"], 1);
    assert_eq!(chats[0]["last_message"]["id"], latest_id);
    assert_eq!(chats[0]["last_message"]["text"], "latest");
    assert_eq!(chats[0]["members"].as_array().unwrap().len(), 3);
    assert!(
        chats[0]["members"][0]["email"].is_null(),
        "emails stay private"
    );
    assert_eq!(chats[1]["id"], world.personal_chat.to_string());
    assert_eq!(chats[1]["type"], 0);
    assert_eq!(chats[1]["last_message"]["text"], "first");

    // A user with a chat but no messages sees it with no last message.
    let token = stack.access_token(&world.users[4]).await;
    let bearer = format!("Bearer {token}");
    let (_, chats) = get_with(&stack, "/chats", &[("authorization", &bearer)]).await;
    assert_eq!(chats[0]["last_message"], serde_json::Value::Null);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_is_secure_when_configured() {
    let stack = common::Stack::start_configured(core_service::state::Limits::default(), |config| {
        config.cookie_secure = Some(true)
    })
    .await;
    let world = common::World::new();
    stack.load(&world).await;
    let body = json!({"email": world.users[0].email, "password": world.users[0].password});
    let (_, headers, _) = post_json(&stack, "/auth/login", body, &[]).await;
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_closes_the_websockets_opened_with_that_login() {
    let (stack, world) = stack_with_world().await;
    let user = &world.users[0];
    let (this_login, other_login) = (
        cookie_login(&stack, user).await,
        cookie_login(&stack, user).await,
    );
    let url = stack.ws_url();
    let mut doomed = Client::connect_with(&url, &[("cookie", &this_login)])
        .await
        .unwrap();
    let mut other = Client::connect_with(&url, &[("cookie", &other_login)])
        .await
        .unwrap();
    assert_eq!(doomed.recv().await["type"], "auth_success");
    assert_eq!(other.recv().await["type"], "auth_success");
    let mut with_frame = stack.login(user).await;

    let (status, _, _) = post_json(
        &stack,
        "/auth/logout",
        json!({}),
        &[("cookie", &this_login)],
    )
    .await;
    assert_eq!(status, 204);
    let (code, _) = doomed.recv_close().await;
    assert_eq!(code, 4001);
    for client in [&mut other, &mut with_frame] {
        let (_, frame) = send_frame(user, world.personal_chat, "still logged in");
        client.send(frame).await;
        loop {
            let reply = client.recv().await;
            if reply["type"] == "message_ack" {
                break;
            }
        }
    }
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    let sql = "SELECT count(*) FROM connections WHERE end_reason = 'logged_out'";
    while stack.db.count(sql).await != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "logout not recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stack.stop().await;
}
