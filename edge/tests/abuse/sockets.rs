//! WebSockets that take places without logging in.

use crate::common::{Client, PATIENCE, Stack, World, login_frame};
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
async fn one_address_holds_no_more_connections_than_its_cap() {
    let (stack, _world) = stack(|config| config.max_connections_per_address = 3).await;
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
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while Client::connect_with(&stack.ws_url(), &[]).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the place is freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    let bearer = format!("Bearer {token}");
    let mut with_token = Client::connect_with(&stack.ws_url(), &[("authorization", &bearer)])
        .await
        .unwrap();
    assert_eq!(with_token.recv().await["type"], "auth_success");
    // Once one of them logs in, its anonymous place is free again.
    first.send(login_frame(&world.users[0])).await;
    assert_eq!(first.recv().await["type"], "auth_success");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while Client::connect_with(&stack.ws_url(), &[]).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the place is freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.stop().await;
}
