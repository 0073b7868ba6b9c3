//! WebSockets that take places without logging in.

use crate::common::{Client, PATIENCE, Stack, World, login_frame, send_frame};
use core_service::state::Limits;
use edge::config::EdgeConfig;
use serde_json::json;
use std::time::Duration;

/// A stack whose edge is configured by `configure`, with the small world.
async fn stack(configure: impl FnOnce(&mut EdgeConfig)) -> (Stack, World) {
    let stack = Stack::start_configured(Limits::default(), configure).await;
    let world = World::new();
    stack.load(&world).await;
    (stack, world)
}

/// A WebSocket with `token` on its upgrade: logged in from the start.
async fn connect_with_token(
    stack: &Stack,
    token: &str,
) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
    let bearer = format!("Bearer {token}");
    Client::connect_with(&stack.ws_url(), &[("authorization", &bearer)]).await
}

/// Waits until the edge lets in a new socket from this address again (a
/// place was freed a moment ago).
async fn until_a_new_socket_is_let_in(stack: &Stack) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while Client::connect_with(&stack.ws_url(), &[]).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the place is freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_does_not_log_in_in_time_is_closed() {
    let (stack, world) = stack(|config| config.ws_login_timeout_ms = 500).await;
    let mut idle = stack.connect().await;
    let mut logged_in = stack.login(&world.users[0]).await;
    assert_eq!(idle.recv_close().await.0, 4003);
    // A logged-in socket is not affected, however long it stays.
    tokio::time::sleep(Duration::from_millis(600)).await;
    logged_in.send(json!({"type": "sync"})).await;
    let mut frame = logged_in.recv().await;
    while frame["type"] != "sync_done" {
        frame = logged_in.recv().await;
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_no_more_anonymous_connections_than_its_cap() {
    let (stack, _world) = stack(|config| config.max_anonymous_connections_per_address = 3).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(stack.connect().await);
    }
    let refused = Client::connect_with(&stack.ws_url(), &[]).await;
    assert!(refused.is_err(), "a fourth connection from the address");
    let plain = reqwest::get(stack.http_url("/openapi.json")).await;
    assert!(plain.is_err(), "plain HTTP counts too");
    // A closed one frees its place.
    drop(open.pop());
    until_a_new_socket_is_let_in(&stack).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_sockets_cannot_take_the_places_kept_for_logged_in_ones() {
    let (stack, world) = stack(|config| {
        config.max_connections = 4;
        config.max_anonymous_connections = 2;
    })
    .await;
    let mut first = stack.connect().await;
    let _second = stack.connect().await;
    let refused = Client::connect_with(&stack.ws_url(), &[]).await;
    assert!(refused.is_err(), "a third anonymous socket gets 503");
    // A socket with a credential still gets in.
    let token = stack.access_token(&world.users[1]).await;
    let mut with_token = connect_with_token(&stack, &token).await.unwrap();
    assert_eq!(with_token.recv().await["type"], "auth_success");
    // Once one of them logs in, its anonymous place is free again.
    first.send(login_frame(&world.users[0])).await;
    assert_eq!(first.recv().await["type"], "auth_success");
    until_a_new_socket_is_let_in(&stack).await;
    stack.stop().await;
}

/// The WebSockets of `users` (a token each), `per_user` each from this
/// address, every one logged in on its upgrade.
async fn logged_in_sockets(stack: &Stack, tokens: &[String], per_user: usize) -> Vec<Client> {
    let mut sockets = Vec::new();
    for _ in 0..per_user {
        for token in tokens {
            let mut socket = connect_with_token(stack, token)
                .await
                .expect("a logged-in socket is let in");
            assert_eq!(socket.recv().await["type"], "auth_success");
            sockets.push(socket);
        }
    }
    sockets
}

/// An office or a carrier's NAT: a thousand users' sockets share one
/// address; the address's cap (256 by default) counts only the sockets
/// that have not logged in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_logged_in_sockets_share_an_address_that_refuses_anonymous_ones_past_its_cap() {
    let limits = Limits {
        // Four users of the small world hold the thousand sockets.
        max_sessions_per_user: 250,
        ..Limits::default()
    };
    let stack = Stack::start_configured(limits, |config| config.max_connections = 5_000).await;
    let world = World::new();
    stack.load(&world).await;
    let mut tokens = Vec::new();
    for user in &world.users[..4] {
        tokens.push(stack.access_token(user).await);
    }
    let mut logged_in = logged_in_sockets(&stack, &tokens, 250).await;
    assert_eq!(logged_in.len(), 1_000);

    let mut anonymous = Vec::new();
    let mut refused = 0;
    for _ in 0..1_000 {
        match Client::connect_with(&stack.ws_url(), &[]).await {
            Ok(socket) => anonymous.push(socket),
            Err(_) => refused += 1,
        }
    }
    assert_eq!(anonymous.len(), 256, "the default cap of anonymous ones");
    assert_eq!(refused, 744);

    // Every logged-in socket is still served: a message reaches each of
    // the receiver's 250.
    let (_, frame) = send_frame(&world.users[0], world.personal_chat, "to every device");
    logged_in[0].send(frame).await;
    let mut reached = 0;
    for socket in logged_in.iter_mut().skip(1).step_by(4) {
        let mut frame = socket.recv().await;
        while frame["type"] != "message" {
            frame = socket.recv().await;
        }
        assert_eq!(frame["text"], "to every device");
        reached += 1;
    }
    assert_eq!(reached, 250);
    // A logging-in anonymous socket makes room for another.
    anonymous[0].send(login_frame(&world.users[4])).await;
    assert_eq!(anonymous[0].recv().await["type"], "auth_success");
    until_a_new_socket_is_let_in(&stack).await;
    stack.stop().await;
}

/// One user's sockets are bounded (`MAX_SESSIONS_PER_USER`, per core):
/// past it a login is refused and the socket stays, not logged in; other
/// users are not affected, and a closed socket makes room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_holds_no_more_sockets_than_the_bound() {
    let limits = Limits {
        max_sessions_per_user: 2,
        ..Limits::default()
    };
    let stack = Stack::start_configured(limits, |_| {}).await;
    let world = World::new();
    stack.load(&world).await;
    let user = &world.users[0];
    let first = stack.login(user).await;
    let _second = stack.login(user).await;
    let mut third = stack.connect().await;
    third.send(login_frame(user)).await;
    let detail = third.recv_error("too_many_sessions").await;
    assert!(
        detail["message"].as_str().unwrap().contains('2'),
        "{detail}"
    );
    // A credential on the upgrade meets the same bound.
    let token = stack.access_token(user).await;
    let mut with_token = connect_with_token(&stack, &token).await.unwrap();
    with_token.recv_error("too_many_sessions").await;
    let _other = stack.login(&world.users[1]).await;

    first.close().await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        third.send(login_frame(user)).await;
        let frame = third.recv().await;
        if frame["type"] == "auth_success" {
            break;
        }
        assert_eq!(frame["detail"]["code"], "too_many_sessions", "{frame}");
        assert!(tokio::time::Instant::now() < deadline, "the place is freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.stop().await;
}
